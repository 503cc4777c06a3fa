/*
 * OB_SANDBOX's text, "uid:gid:dir": written by the parent into a child's
 * environment, read back by the child before it drops root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

int
sandbox_user_format(const struct sandbox_user *user, char *out,
    size_t outlen)
{
	int n;

	if (user->dir[0] != '/' || memchr(user->dir, '\0',
	    sizeof(user->dir)) == NULL)
		return -1;
	n = snprintf(out, outlen, "%s=%u:%u:%s", SANDBOX_ENV,
	    (unsigned)user->uid, (unsigned)user->gid, user->dir);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* A decimal id, then sep; *sp moves past both. */
static int
parse_id(const char **sp, char sep, unsigned *out)
{
	const char *s = *sp;
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != sep || v > 0xfffffffeUL)
		return -1;	/* (uid_t)-1 means "unchanged" to setresuid */
	*out = (unsigned)v;
	*sp = end + 1;
	return 0;
}

int
sandbox_user_parse(const char *value, struct sandbox_user *user)
{
	unsigned uid, gid;
	size_t len;

	if (parse_id(&value, ':', &uid) == -1 ||
	    parse_id(&value, ':', &gid) == -1)
		return -1;
	len = strlen(value);
	if (value[0] != '/' || len >= sizeof(user->dir))
		return -1;
	memset(user, 0, sizeof(*user));
	user->uid = (uid_t)uid;
	user->gid = (gid_t)gid;
	memcpy(user->dir, value, len + 1);
	return 0;
}

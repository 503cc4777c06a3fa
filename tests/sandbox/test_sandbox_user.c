/*
 * OB_SANDBOX's text (what the parent writes into a child's environment and
 * the child reads back before it drops root) and the parent's resolution
 * of the configured users: numeric "#N", names, and the refusals.
 */
#include <stdio.h>
#include <string.h>

#include "sandbox.h"
#include "sandbox_parent.h"
#include "test.h"

static void
test_format_parse_round_trip(void)
{
	struct sandbox_user u = { .uid = 61001, .gid = 61002 }, back;
	char env[SANDBOX_ENV_MAX];

	snprintf(u.dir, sizeof(u.dir), "/run/onionbalanced/empty");
	CHECK_INT_EQ(sandbox_user_format(&u, env, sizeof(env)), 0);
	CHECK_STR_EQ(env, "OB_SANDBOX=61001:61002:/run/onionbalanced/empty");
	CHECK_INT_EQ(sandbox_user_parse(env + strlen(SANDBOX_ENV) + 1, &back),
	    0);
	CHECK_INT_EQ(back.uid, 61001);
	CHECK_INT_EQ(back.gid, 61002);
	CHECK_STR_EQ(back.dir, u.dir);
	/* Too small a buffer is an error, not a cut string. */
	CHECK_INT_EQ(sandbox_user_format(&u, env, 20), -1);
	/* A relative directory is never written. */
	snprintf(u.dir, sizeof(u.dir), "empty");
	CHECK_INT_EQ(sandbox_user_format(&u, env, sizeof(env)), -1);
}

static void
test_parse_rejects(void)
{
	static const char *const bad[] = {
		"", "1", "1:2", "1:2:", "1:2:relative", "x:2:/d", "1:x:/d",
		"-1:2:/d", "1:-2:/d", " 1:2:/d", "1 :2:/d", "4294967295:1:/d",
		"1:4294967295:/d", "99999999999:1:/d", "1::/d", ":1:/d",
	};
	struct sandbox_user u;
	char longdir[SANDBOX_DIR_MAX + 16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sandbox_user_parse(bad[i], &u) != -1)
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
		CHECK_INT_EQ(sandbox_user_parse(bad[i], &u), -1);
	}
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = '\0';
	memcpy(longdir, "1:2:/", 5);
	CHECK_INT_EQ(sandbox_user_parse(longdir, &u), -1);
}

static void
test_resolve_users(void)
{
	struct sandbox_user u;
	char err[512];

	CHECK_INT_EQ(sandbox_resolve_user("#61001", "/e", &u, err,
	    sizeof(err)), 0);
	CHECK_INT_EQ(u.uid, 61001);
	CHECK_INT_EQ(u.gid, 61001);
	CHECK_STR_EQ(u.dir, "/e");
	CHECK_INT_EQ(sandbox_resolve_user("#0", "/e", &u, err, sizeof(err)),
	    -1);
	CHECK(strstr(err, "root") != NULL);
	CHECK_INT_EQ(sandbox_resolve_user("root", "/e", &u, err, sizeof(err)),
	    -1);
	CHECK_INT_EQ(sandbox_resolve_user("#", "/e", &u, err, sizeof(err)),
	    -1);
	CHECK_INT_EQ(sandbox_resolve_user("#12a", "/e", &u, err, sizeof(err)),
	    -1);
	CHECK_INT_EQ(sandbox_resolve_user("#4294967295", "/e", &u, err,
	    sizeof(err)), -1);
	CHECK_INT_EQ(sandbox_resolve_user("no-such-user-ob", "/e", &u, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "\"no-such-user-ob\" does not exist") != NULL);
	CHECK_INT_EQ(sandbox_resolve_user("#61001", "relative", &u, err,
	    sizeof(err)), -1);
}

TEST_MAIN(
    TEST_CASE(test_format_parse_round_trip),
    TEST_CASE(test_parse_rejects),
    TEST_CASE(test_resolve_users))

/*
 * The parent's side of the sandbox: resolving the children's users while
 * /etc/passwd is still readable to them (it is not after their chroot),
 * the empty directory, and the capabilities the parent keeps when it
 * runs as root.  See docs/sandbox.md.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "ob_config.h"
#include "sandbox_parent.h"
#include "sandbox_private.h"

/*
 * What a root parent keeps, in its own sets and in the bounding set that
 * its children (exec'd as root) start with:
 *   SETUID, SETGID, SYS_CHROOT  for the children's own drop (sandbox.c);
 *   KILL                        to signal children that run as other users;
 *   DAC_OVERRIDE                to open key files and tor's cookie, and to
 *                               connect to tor's control socket, which
 *                               belong to other users (connect needs write
 *                               permission, so DAC_READ_SEARCH is not enough).
 */
static const int parent_caps[] = {
	CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT, CAP_KILL, CAP_DAC_OVERRIDE,
};

const char *
sandbox_user_name(const struct ob_config *cfg, enum sandbox_role role)
{
	switch (role) {
	case SANDBOX_KEYD:
		return cfg->keyd_user;
	case SANDBOX_FETCHD:
		return cfg->fetchd_user;
	case SANDBOX_PUBLISHD:
		return cfg->publishd_user;
	case SANDBOX_NROLES:
		break;
	}
	fatalx("%s: no role %d", __func__, (int)role);
}

/* "#N": uid and gid N, without an entry in the passwd database. */
static int
numeric_user(const char *name, struct sandbox_user *out)
{
	unsigned long v;
	char *end;

	if (name[1] < '0' || name[1] > '9')
		return -1;
	errno = 0;
	v = strtoul(name + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v > 0xfffffffeUL)
		return -1;
	out->uid = (uid_t)v;
	out->gid = (gid_t)v;
	return 0;
}

/*
 * The command that makes a missing user.  Ours come from the one
 * definition the package uses too (packaging/sysusers.d/); a user of the
 * operator's choosing is made like them, by hand.
 */
static const char *
missing_user_remedy(const char *name, char *buf, size_t len)
{
	if (strcmp(name, OB_CONFIG_DEFAULT_KEYD_USER) == 0 ||
	    strcmp(name, OB_CONFIG_DEFAULT_FETCHD_USER) == 0 ||
	    strcmp(name, OB_CONFIG_DEFAULT_PUBLISHD_USER) == 0)
		snprintf(buf, len, "create onionbalanced's users with "
		    "\"systemd-sysusers %s\" (the Debian package does; "
		    "without systemd, see docs/packaging.md)",
		    OB_SYSUSERS_FILE);
	else
		snprintf(buf, len, "create it with \"adduser --system "
		    "--group --no-create-home --home /nonexistent "
		    "--shell /usr/sbin/nologin %s\", or name another user "
		    "in the config", name);
	return buf;
}

int
sandbox_resolve_user(const char *name, const char *dir,
    struct sandbox_user *out, char *err, size_t errlen)
{
	struct passwd *pw;
	char remedy[256];

	memset(out, 0, sizeof(*out));
	if (name[0] == '#') {
		if (numeric_user(name, out) == -1) {
			snprintf(err, errlen, "user \"%s\": not a number "
			    "after '#'", name);
			return -1;
		}
	} else {
		errno = 0;
		if ((pw = getpwnam(name)) == NULL) {
			snprintf(err, errlen, "user \"%s\" does not exist%s%s; "
			    "%s", name, errno != 0 ? ": " : "",
			    errno != 0 ? strerror(errno) : "",
			    missing_user_remedy(name, remedy, sizeof(remedy)));
			return -1;
		}
		out->uid = pw->pw_uid;
		out->gid = pw->pw_gid;
	}
	if (out->uid == 0 || out->gid == 0) {
		snprintf(err, errlen, "user \"%s\" is root, or in group "
		    "root: a child must run as a user of its own", name);
		return -1;
	}
	if (snprintf(out->dir, sizeof(out->dir), "%s", dir) >=
	    (int)sizeof(out->dir) || dir[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path of at most "
		    "%zu bytes", dir, sizeof(out->dir) - 1);
		return -1;
	}
	return 0;
}

static int	make_empty_dir(const char *, char *, size_t);

int
sandbox_child_env(const struct ob_config *cfg, enum sandbox_role role,
    const char *dir, char *out, size_t outlen, char *err, size_t errlen)
{
	struct sandbox_user user;
	const char *name = sandbox_user_name(cfg, role);
	char why[512];

	if (outlen == 0)
		fatalx("%s: no room", __func__);
	out[0] = '\0';
	if (geteuid() != 0)
		return 0;
	if (sandbox_resolve_user(name, dir, &user, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s-user: %s", sandbox_role_name(role),
		    why);
		return -1;
	}
	/* Also for --check, which starts keyd without the setup below. */
	if (make_empty_dir(dir, err, errlen) == -1)
		return -1;
	if (sandbox_user_format(&user, out, outlen) == -1) {
		snprintf(err, errlen, "%s: the sandbox settings do not fit",
		    sandbox_role_name(role));
		return -1;
	}
	return 0;
}

/* The three users exist, are not root, and are three different users. */
static int
check_users(const struct ob_config *cfg, const char *dir, char *err,
    size_t errlen)
{
	struct sandbox_user u[SANDBOX_NROLES];
	char why[512];

	for (int r = 0; r < SANDBOX_NROLES; r++) {
		const char *name = sandbox_user_name(cfg,
		    (enum sandbox_role)r);

		if (sandbox_resolve_user(name, dir, &u[r], why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "%s-user: %s",
			    sandbox_role_name((enum sandbox_role)r), why);
			return -1;
		}
		for (int o = 0; o < r; o++)
			if (u[o].uid == u[r].uid) {
				snprintf(err, errlen, "%s-user and %s-user are "
				    "the same user (uid %u): each child needs "
				    "its own", sandbox_role_name(
				    (enum sandbox_role)o), sandbox_role_name(
				    (enum sandbox_role)r), (unsigned)u[r].uid);
				return -1;
			}
	}
	return 0;
}

/*
 * The empty directory: made if missing (its parent too, as /run is
 * empty after a boot), then checked: root's, writable by nobody else,
 * empty.
 */
static int
make_empty_dir(const char *dir, char *err, size_t errlen)
{
	char up[PATH_MAX];

	if (snprintf(up, sizeof(up), "%s", dir) >= (int)sizeof(up)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (access(dir, F_OK) == -1 && errno == ENOENT) {
		if (mkdir(dirname(up), 0755) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot make %s: %s", up,
			    strerror(errno));
			return -1;
		}
		if (mkdir(dir, 0555) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot make %s: %s", dir,
			    strerror(errno));
			return -1;
		}
	}
	if (sandbox_check_empty_dir(dir, 0) == -1) {
		snprintf(err, errlen, "%s cannot be the children's root: %s",
		    dir, errno == EPERM ? "it must belong to root and be "
		    "writable by nobody else" : strerror(errno));
		return -1;
	}
	return 0;
}

static int
cap_kept(int cap)
{
	for (size_t i = 0; i < sizeof(parent_caps) / sizeof(parent_caps[0]);
	    i++)
		if (parent_caps[i] == cap)
			return 1;
	return 0;
}

/*
 * The bounding set first (dropping from it needs CAP_SETPCAP, which goes
 * next), then the parent's own sets.  Nothing is inheritable or ambient,
 * and no_new_privs: nothing the parent execs can gain more than it has.
 */
static void
drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		if (cap_kept(cap)) {
			data[cap / 32].permitted |= 1U << (cap % 32);
			data[cap / 32].effective |= 1U << (cap % 32);
		} else if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			fatal("dropping capability %d", cap);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		fatal("clearing the ambient capabilities");
	if (syscall(SYS_capset, &hdr, data) == -1)
		fatal("capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	log_debug("root: kept setuid, setgid, sys_chroot, kill, "
	    "dac_override; dropped every other capability");
}

int
sandbox_parent_setup(const struct ob_config *cfg, const char *dir,
    char *err, size_t errlen)
{
	if (geteuid() != 0) {
		log_info("running as uid %u, not root: keyd, fetchd and "
		    "publishd run as this user too, not as their configured "
		    "users, with their seccomp filters on", (unsigned)geteuid());
		return 0;
	}
	if (check_users(cfg, dir, err, errlen) == -1 ||
	    make_empty_dir(dir, err, errlen) == -1)
		return -1;
	drop_capabilities();
	return 0;
}

/*
 * The privilege-drop sequence every child runs once, right before it
 * serves (style.md 2 and 3; docs/sandbox.md):
 *
 *   1. close every fd that reaches the file system (a directory or a
 *      file opened above stderr: the way out of a chroot);
 *   2. hide the file system: as root, chroot into the empty directory
 *      the parent named; as an ordinary user, a new user and mount
 *      namespace with an empty read-only tmpfs as root, if the kernel
 *      allows it;
 *   3. as root: setgroups, setresgid, setresuid to the role's own user,
 *      then check that none of it can be undone;
 *   4. RLIMIT_CORE 0, PR_SET_DUMPABLE 0, PR_SET_NO_NEW_PRIVS;
 *   5. last, the role's seccomp allowlist (sandbox_filter.c): any other
 *      system call kills the process, opens fail with EACCES.
 *
 * Every failure is fatal: a child never goes on unsandboxed.  Libraries
 * that read files or build tables when first used (OpenSSL's provider,
 * the sanitizers' maps) are initialised before step 2, and so must be
 * the libevent base and anything else the process opens for itself.
 *
 * How the parent tells the child whom to become: it resolves the
 * configured user names before it forks (a chrooted child cannot read
 * /etc/passwd) and puts "uid:gid:directory" in the child's environment
 * as OB_SANDBOX (sandbox_user_format()).  A child started as root without
 * it refuses to run.
 */
#ifndef OB_SANDBOX_H
#define OB_SANDBOX_H

#include <sys/types.h>

#include <stddef.h>

enum sandbox_role {
	SANDBOX_KEYD,
	SANDBOX_FETCHD,
	SANDBOX_PUBLISHD,
	SANDBOX_NROLES,
};

/* The environment variable the parent sets for a child it starts as root. */
#define SANDBOX_ENV		"OB_SANDBOX"
#define SANDBOX_DIR_MAX		1024
/* "OB_SANDBOX=" + two ids + two colons + the directory + NUL */
#define SANDBOX_ENV_MAX		(sizeof(SANDBOX_ENV) + 2 * 20 + 2 + \
				    SANDBOX_DIR_MAX)

/* Whom a child started as root becomes, and where it is shut in. */
struct sandbox_user {
	uid_t	 uid;
	gid_t	 gid;
	char	 dir[SANDBOX_DIR_MAX];	/* empty, root-owned, absolute */
};

/* "keyd", "fetchd", "publishd" */
const char *sandbox_role_name(enum sandbox_role role);

/*
 * The whole sequence for role.  user is NULL when the process is not
 * root; then it stays the user it is, and only the namespaces, limits
 * and the filter apply.  Returns only with the filter on.
 */
void	sandbox_enter(enum sandbox_role role, const struct sandbox_user *user);

/*
 * What a child's main() calls: the user from OB_SANDBOX when it runs as
 * root (fatal if missing or malformed), none otherwise, then
 * sandbox_enter().
 */
void	sandbox_enter_child(enum sandbox_role role);

/*
 * The start-up every child makes first (sandbox_child.c): logging as
 * name, the command line (-d, --log-level, --parent-fd; usage and exit 2
 * on anything else), death with the parent (PR_SET_PDEATHSIG), SIGPIPE
 * ignored, libsodium, glibc's malloc thresholds (below).  Returns the
 * parent channel's fd: --parent-fd's, or parent_fd.  Then the child sets
 * up, calls sandbox_enter_child() and runs its loop.
 */
int	sandbox_child_setup(int argc, char *argv[], const char *name,
	    int parent_fd);
/*
 * Fixes glibc's mmap and trim thresholds at 128 KiB, so that a freed
 * consensus goes back to the system (sandbox_child.c says why).
 */
void	sandbox_fix_malloc_thresholds(void);
/* The child's end: _exit(0), so that no atexit hook runs sandboxed. */
void	sandbox_child_exit(void) __attribute__((noreturn));

/* "OB_SANDBOX=uid:gid:dir" into out; -1 if it does not fit. */
int	sandbox_user_format(const struct sandbox_user *user, char *out,
	    size_t outlen);
/* The value of OB_SANDBOX back into user; -1 if malformed. */
int	sandbox_user_parse(const char *value, struct sandbox_user *user);

/*
 * The role's seccomp filter alone (sandbox_filter.c), for the sandbox
 * tests; sandbox_enter() calls it last.  Fatal on failure.
 */
void	sandbox_filter_load(enum sandbox_role role);

#endif

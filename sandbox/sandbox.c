/*
 * The privilege-drop sequence of a child (see sandbox.h for the order and
 * why).  Each step either succeeds or ends the process: there is no
 * "sandbox off" path.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "digest.h"
#include "log.h"
#include "sandbox.h"
#include "sandbox_private.h"

/*
 * Libraries that set themselves up on first use do it now, while the file
 * system is still there and before the filter: OpenSSL 3 builds its
 * default provider's tables the first time an algorithm is fetched, so
 * what common/crypto/digest.c takes from OpenSSL for this role is fetched
 * and used once (its config file is not read, see digest.c): SHA3 in
 * every child, AES-256-CTR in fetchd and publishd, which decrypt and
 * encrypt descriptors (keyd's revision counter has its own AES, see
 * revcounter.c).  glibc reads /etc/localtime once (timegm() asks for
 * it), so tzset() reads it here.
 */
static void
preload_libraries(enum sandbox_role role)
{
	static const uint8_t key[32], iv[16];
	uint8_t out[SHA3_256_LEN];
	struct bytes_ref part = BYTES_STR("sandbox");
	uint8_t text[7];

	digest_init();		/* kept for the process, see digest.c */
	sha3_256(out, part.ptr, part.len);
	shake256_parts(out, sizeof(out), &part, 1);
	explicit_bzero(out, sizeof(out));
	if (role == SANDBOX_FETCHD || role == SANDBOX_PUBLISHD) {
		aes256_ctr_init();
		aes256_ctr(text, part.ptr, sizeof(text), key, iv);
	}
	tzset();
}

/*
 * Whether fd is a file-system object, named into name: its /proc path
 * when /proc is there (sockets, pipes and epoll are "socket:[..]",
 * "pipe:[..]", "anon_inode:[..]"), else by its type.
 */
static int
fd_is_fs_object(int fd, const struct stat *st, char *name, size_t namelen)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, name, namelen - 1)) >= 0) {
		name[n] = '\0';
		return name[0] == '/';
	}
	snprintf(name, namelen, "fd %d", fd);
	return S_ISDIR(st->st_mode) || S_ISREG(st->st_mode) ||
	    S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ||
	    S_ISLNK(st->st_mode);
}

/*
 * The only kernel objects a sandboxed child may use are the sockets,
 * pipes and anonymous inodes (epoll) it already has.  A directory fd left
 * open would undo the chroot and a file fd would be data nobody meant it
 * to have, so anything above stderr that is in the file system goes.
 */
static void
close_fs_fds(void)
{
	char name[PATH_MAX];
	struct rlimit rl;
	struct stat st;
	rlim_t max;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("sandbox: getrlimit");
	max = rl.rlim_cur < 65536 ? rl.rlim_cur : 65536;
	for (int fd = STDERR_FILENO + 1; (rlim_t)fd < max; fd++) {
		if (fstat(fd, &st) == -1) {
			if (errno == EBADF)
				continue;	/* not open */
			fatal("sandbox: fstat %d", fd);
		}
		if (!fd_is_fs_object(fd, &st, name, sizeof(name)))
			continue;
		log_warnx("sandbox: fd %d is %s: closing it", fd, name);
		if (close(fd) == -1)
			fatal("sandbox: close %d", fd);
	}
}

/* Root: the empty directory the parent chose (checked there and here). */
static void
chroot_empty(const char *dir)
{
	if (dir[0] != '/')
		fatalx("sandbox: %s is not an absolute path", dir);
	if (sandbox_check_empty_dir(dir, 0) == -1)
		fatal("sandbox: %s", dir);
	if (chroot(dir) == -1 || chdir("/") == -1)
		fatal("sandbox: chroot %s", dir);
}

/*
 * From root to user, for good: groups first (they need root), then the
 * gid, then the uid, and then proof that root cannot come back.
 */
static void
become_user(const struct sandbox_user *u)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	/*
	 * The parent, while its death still signals us (armed before exec,
	 * spawn.c): if it dies from here on, getppid() changes.
	 */
	pid_t parent = getppid();

	if (u->uid == 0 || u->gid == 0)
		fatalx("sandbox: refusing to run as uid %u gid %u",
		    (unsigned)u->uid, (unsigned)u->gid);
	if (setgroups(1, &u->gid) == -1)
		fatal("sandbox: setgroups");
	if (setresgid(u->gid, u->gid, u->gid) == -1)
		fatal("sandbox: setresgid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) == -1)
		fatal("sandbox: setresuid %u", (unsigned)u->uid);
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		fatal("sandbox: getresuid");
	if (ru != u->uid || eu != u->uid || su != u->uid ||
	    rg != u->gid || eg != u->gid || sg != u->gid)
		fatalx("sandbox: the ids did not change");
	if (setuid(0) != -1 || setgid(0) != -1)
		fatalx("sandbox: root is still reachable after setresuid");
	/*
	 * The kernel clears the parent-death signal when the uid changes
	 * (commit_creds): arm it again, so that a child never outlives its
	 * parent; and if the parent is already gone, nobody needs us.  Gone
	 * means "not the parent we had", not "pid 1": an orphan goes to the
	 * nearest subreaper (systemd --user, a container's init), whose pid
	 * is not 1.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("sandbox: PR_SET_PDEATHSIG");
	if (getppid() != parent)
		fatalx("sandbox: the parent went away");
}

/*
 * No core file (it would hold whatever the process held), no ptrace or
 * /proc/<pid>/mem by processes of the same uid, and nothing exec'd from
 * here on can gain privileges.  Dumpable is set after the uid change,
 * which resets it.
 */
static void
set_limits(void)
{
	struct rlimit zero = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &zero) == -1)
		fatal("sandbox: RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("sandbox: PR_SET_DUMPABLE");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("sandbox: PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatalx("sandbox: the process limits did not hold");
}

#if OB_SANDBOX_TEST_VIOLATION
/*
 * Test builds only (meson option sandbox_test_violation): with
 * OB_SANDBOX_TEST_VIOLATION=<role> in its environment, a child makes one
 * forbidden system call once its filter is on, which must kill it.
 */
static void
test_violation(enum sandbox_role role, int armed)
{
	if (!armed)
		return;
	log_warnx("sandbox: test build: making a forbidden system call");
	(void)socket(AF_INET, SOCK_STREAM, 0);
	fatalx("sandbox: socket() did not kill %s", sandbox_role_name(role));
}
#endif

void
sandbox_enter(enum sandbox_role role, const struct sandbox_user *user)
{
#if OB_SANDBOX_TEST_VIOLATION
	const char *v = getenv("OB_SANDBOX_TEST_VIOLATION");
	int armed = v != NULL && strcmp(v, sandbox_role_name(role)) == 0;
#endif

	if (user == NULL && geteuid() == 0)
		fatalx("sandbox: running as root without a user to become");
	preload_libraries(role);
	sandbox_sanitizer_prepare();
	close_fs_fds();
	if (user != NULL) {
		chroot_empty(user->dir);
		become_user(user);
	} else
		sandbox_hide_fs_unprivileged();
	set_limits();
	sandbox_filter_load(role);
	log_debug("sandbox: %s is in its sandbox", sandbox_role_name(role));
#if OB_SANDBOX_TEST_VIOLATION
	test_violation(role, armed);
#endif
}

void
sandbox_enter_child(enum sandbox_role role)
{
	struct sandbox_user user;
	const char *v = getenv(SANDBOX_ENV);

	/* Not root, it cannot become anyone else: whatever v says. */
	if (geteuid() != 0) {
		sandbox_enter(role, NULL);
		return;
	}
	if (v == NULL)
		fatalx("sandbox: started as root without %s: %s runs only "
		    "as the user onionbalanced gives it", SANDBOX_ENV,
		    sandbox_role_name(role));
	if (sandbox_user_parse(v, &user) == -1)
		fatalx("sandbox: malformed %s", SANDBOX_ENV);
	sandbox_enter(role, &user);
}

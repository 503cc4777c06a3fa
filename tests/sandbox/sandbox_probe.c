/*
 * The sandbox proofs' helper: enters one role's sandbox exactly as a
 * child does (sandbox_enter()), then makes one probe and exits.  The
 * test (test_sandbox.py) checks how it ended: exit 0 for an allowed
 * probe that worked or an open that failed with EACCES, SIGSYS for a
 * forbidden call.
 *
 *   sandbox_probe ROLE PROBE [UID]
 *
 * As root with UID, the probe becomes uid and gid UID, chrooted into
 * $OB_SANDBOX_DIR.  As root with "-UID", it first becomes UID itself
 * and then enters the sandbox as an ordinary user (the user namespace
 * path).  Without root, UID is ignored.
 *
 * Everything the probes use is made before the sandbox, as a daemon
 * does: an epoll fd (libevent's base), a socketpair (a channel) and a
 * pipe (the fd that travels over it); and a directory fd is left open,
 * which the sandbox must close.
 */
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "sandbox.h"

struct probe_env {
	int	 epfd;
	int	 chan[2];
	int	 pipefd[2];
};

static int
fail(const char *what)
{
	fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
	return 1;
}

/* An fd across the channel, as the parent hands a control connection. */
static int
pass_fd(struct probe_env *pe, int fd, int *got)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 'x';
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(pe->chan[0], &mh, 0) != 1)
		return fail("sendmsg");
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(pe->chan[1], &mh, MSG_CMSG_CLOEXEC) != 1 ||
	    (cm = CMSG_FIRSTHDR(&mh)) == NULL || cm->cmsg_type != SCM_RIGHTS)
		return fail("recvmsg");
	memcpy(got, CMSG_DATA(cm), sizeof(int));
	return 0;
}

/* Waits for the received pipe end the way the role's loop does. */
static int
wait_readable(enum sandbox_role role, struct probe_env *pe, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (role == SANDBOX_KEYD)
		return poll(&pfd, 1, 1000) == 1 ? 0 : fail("poll");
	if (epoll_ctl(pe->epfd, EPOLL_CTL_ADD, fd, &ev) == -1 ||
	    epoll_wait(pe->epfd, &ev, 1, 1000) != 1)
		return fail("epoll");
	return 0;
}

/* What every role does all day: channels, memory, clock, randomness. */
static int
probe_allowed(enum sandbox_role role, struct probe_env *pe)
{
	struct timespec ts;
	uint8_t rnd[32];
	char buf[4];
	int rfd = -1;
	void *p;

	if (pass_fd(pe, pe->pipefd[0], &rfd) != 0 ||
	    write(pe->pipefd[1], "ok", 2) != 2 ||
	    wait_readable(role, pe, rfd) != 0 || read(rfd, buf, 2) != 2 ||
	    close(rfd) == -1)
		return fail("a pipe end passed over the channel");
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == -1)
		return fail("clock_gettime");
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return fail("getrandom");
	randombytes_buf(rnd, sizeof(rnd));
	if ((p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0)) == MAP_FAILED ||
	    mprotect(p, 4096, PROT_READ) == -1 || munmap(p, 1 << 20) == -1)
		return fail("memory");
	free(malloc(1 << 22));
	printf("allowed: ok\n");
	return 0;
}

/* Opens must fail softly, with EACCES, and not kill. */
static int
probe_open(void)
{
	if (open("/etc/passwd", O_RDONLY) != -1 || errno != EACCES)
		return fail("open did not fail with EACCES");
	if (openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY) != -1 ||
	    errno != EACCES)
		return fail("openat did not fail with EACCES");
	printf("open: EACCES\n");
	return 0;
}

/* Each of these must kill the process: reaching the return is failure. */
static int
probe_forbidden(const char *name, struct probe_env *pe)
{
	char *const argv[] = { (char *)(uintptr_t)"/bin/true", NULL };
	struct sockaddr sa = { .sa_family = AF_UNIX };

	if (strcmp(name, "socket") == 0)
		(void)socket(AF_INET, SOCK_STREAM, 0);
	else if (strcmp(name, "connect") == 0)
		(void)connect(pe->chan[0], &sa, sizeof(sa));
	else if (strcmp(name, "execve") == 0)
		(void)execve(argv[0], argv, NULL);
	else if (strcmp(name, "mmap-exec") == 0)
		(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
		    MAP_ANONYMOUS, -1, 0);
	else if (strcmp(name, "mprotect-exec") == 0)
		(void)mprotect(pe, 4096, PROT_READ | PROT_EXEC);
	else if (strcmp(name, "fork") == 0)
		(void)fork();
	else if (strcmp(name, "ptrace") == 0)
		(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else if (strcmp(name, "kill-other") == 0)
		(void)kill(1, 0);
	else if (strcmp(name, "epoll") == 0)
		(void)epoll_wait(pe->epfd, NULL, 0, 0);
	else if (strcmp(name, "accept") == 0)
		(void)accept4(pe->chan[0], NULL, NULL, 0);
	else {
		fprintf(stderr, "probe: no probe %s\n", name);
		return 2;
	}
	fprintf(stderr, "probe: %s returned: the filter let it through\n",
	    name);
	return 1;
}

/*
 * Sandboxed, it says so and waits for EOF on stdin, so that the test can
 * read /proc/<pid>/status and look at its root meanwhile.
 */
static int
probe_hold(void)
{
	char c;

	printf("sandboxed\n");
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	return 0;
}

static int
setup(struct probe_env *pe)
{
	if ((pe->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    pe->chan) == -1 || pipe2(pe->pipefd, O_CLOEXEC) == -1)
		return fail("setup");
	if (sodium_init() < 0)
		return fail("sodium_init");
	/* A leaked directory fd, the classic way out of a chroot. */
	if (open("/", O_RDONLY | O_DIRECTORY) == -1)
		return fail("open /");
	return 0;
}

static enum sandbox_role
role_from_name(const char *name)
{
	for (int r = 0; r < SANDBOX_NROLES; r++)
		if (strcmp(name, sandbox_role_name((enum sandbox_role)r)) == 0)
			return (enum sandbox_role)r;
	fatalx("no role %s", name);
}

/* As root: the user to become (UID) or to be before entering (-UID). */
static void
enter(enum sandbox_role role, const char *uidarg)
{
	struct sandbox_user user;
	const char *dir = getenv("OB_SANDBOX_DIR");
	long id = uidarg != NULL ? strtol(uidarg, NULL, 10) : 0;

	if (geteuid() != 0 || id == 0) {
		sandbox_enter(role, NULL);
		return;
	}
	if (id < 0) {
		if (setgroups(0, NULL) == -1 || setresgid((gid_t)-id,
		    (gid_t)-id, (gid_t)-id) == -1 || setresuid((uid_t)-id,
		    (uid_t)-id, (uid_t)-id) == -1)
			fatal("becoming %ld", -id);
		/*
		 * Dropping root made it non-dumpable, which a process started
		 * by that user is not (and its /proc/self files would stay
		 * root's).
		 */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
			fatal("PR_SET_DUMPABLE");
		sandbox_enter(role, NULL);
		return;
	}
	memset(&user, 0, sizeof(user));
	user.uid = (uid_t)id;
	user.gid = (gid_t)id;
	if (dir == NULL || strlen(dir) >= sizeof(user.dir))
		fatalx("OB_SANDBOX_DIR is not set");
	memcpy(user.dir, dir, strlen(dir) + 1);
	sandbox_enter(role, &user);
}

int
main(int argc, char *argv[])
{
	struct probe_env pe;
	enum sandbox_role role;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: sandbox_probe ROLE PROBE [UID]\n");
		return 2;
	}
	log_init("sandbox_probe", LOG_LEVEL_DEBUG);
	role = role_from_name(argv[1]);
	if (setup(&pe) != 0)
		return 1;
	setvbuf(stdout, NULL, _IONBF, 0);
	enter(role, argc == 4 ? argv[3] : NULL);
	if (strcmp(argv[2], "allowed") == 0)
		return probe_allowed(role, &pe);
	if (strcmp(argv[2], "open") == 0)
		return probe_open();
	if (strcmp(argv[2], "hold") == 0)
		return probe_hold();
	return probe_forbidden(argv[2], &pe);
}

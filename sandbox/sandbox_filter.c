/*
 * The seccomp allowlists, one short table per role (style.md 3).
 *
 * Every filter: the architecture is checked first (a system call made
 * through another ABI kills the process), the default action kills the
 * process, opens fail with EACCES (so that a stray open in a library
 * fails like a missing file instead of killing), and no mapping may be
 * executable.  The lists were found with strace on each daemon running
 * its tests and the private network, then trimmed; docs/sandbox.md says
 * what each call is for.
 *
 * Sanitizer builds need more (the runtime's own threads, signals and
 * /proc reads): the meson option sandbox_sanitizer_compat adds one
 * separate list, so the production lists stay what is tested in the
 * build without sanitizers.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "config.h"
#include "log.h"
#include "sandbox.h"
#include "sandbox_private.h"

/* Every role: its channels, memory, the clock, randomness, exit. */
static const int common_allow[] = {
	SCMP_SYS(read),
	SCMP_SYS(write),		/* and stderr, the log */
	SCMP_SYS(recvmsg),		/* channels; fds come in here */
	SCMP_SYS(sendmsg),
	SCMP_SYS(close),
	SCMP_SYS(brk),
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	SCMP_SYS(getrandom),
	SCMP_SYS(clock_gettime),	/* when the vDSO falls back */
	SCMP_SYS(gettimeofday),
	SCMP_SYS(futex),		/* libc locks (stdio) */
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(restart_syscall),
	/* abort() (FORTIFY, stack protector): tgkill is below */
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
};

/* keyd: a blocking poll() on two channels, and libsodium's locked pages. */
static const int keyd_allow[] = {
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(mlock),
	SCMP_SYS(munlock),
};

/* fetchd: libevent on epoll; the control connection's buffers. */
static const int fetchd_allow[] = {
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),
	SCMP_SYS(readv),
	SCMP_SYS(writev),
};

/*
 * publishd: fetchd's, the status socket's connections, and the poll() with
 * which its keyd client waits for each reply (publishd/keyd_client.c).
 * The metrics endpoint (libevent's evhttp, publishd/metrics_http.c)
 * accepts with accept4 too, and ends each connection with
 * shutdown(SHUT_WR) before close.
 */
static const int publishd_allow[] = {
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),
	SCMP_SYS(readv),
	SCMP_SYS(writev),
	SCMP_SYS(accept4),
	SCMP_SYS(shutdown),
};

#if OB_SANDBOX_SANITIZER_COMPAT
/*
 * Only with -Dsandbox_sanitizer_compat=true: what the ASan/UBSan runtime
 * calls on its own.  Seen under strace: sigaltstack (its signal stack,
 * torn down at exit).  For its reports and the abort that follows them:
 * rt_sigaction (resetting the handlers it installs), readlink, fstat and
 * newfstatat (module names), getrlimit and prlimit64 (stack bounds),
 * tgkill (abort from any thread).
 *
 * Not sched_yield (issue 17, the orphan spin): the runtime yields only
 * while it waits for another thread or task, and our children have one.
 * The one wait seen was LeakSanitizer's at exit, when this list still
 * allowed clone: its tracer task, a process of its own, was killed by
 * the filter at getppid(), and the child waited for it forever in
 * StopTheWorld's sched_yield() loop at full CPU; its parent-death signal
 * had been cleared by the uid change, so it outlived the parent.
 * Denied, such a wait ends the child with SIGSYS, which the parent logs.
 */
static const int sanitizer_allow[] = {
	SCMP_SYS(sigaltstack),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(readlink),
	SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),
	SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64),
	SCMP_SYS(tgkill),
};
#endif

struct role_filter {
	const int	*allow;
	size_t		 nallow;
	int		 event_loop;	/* fcntl and ioctl as libevent uses them */
};

#define LIST(a)	(a), sizeof(a) / sizeof((a)[0])

static const struct role_filter role_filters[SANDBOX_NROLES] = {
	[SANDBOX_KEYD] = { LIST(keyd_allow), 0 },
	[SANDBOX_FETCHD] = { LIST(fetchd_allow), 1 },
	[SANDBOX_PUBLISHD] = { LIST(publishd_allow), 1 },
};

static void
allow_list(scmp_filter_ctx ctx, const int *nrs, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nrs[i], 0)) < 0)
			fatalx("sandbox: allowing system call %d: %s", nrs[i],
			    strerror(-rc));
}

/*
 * A comparison of argument arg, spelled out: libseccomp's SCMP_A*()
 * macros leave datum_b to positional defaults that strict warnings flag.
 */
static struct scmp_arg_cmp
arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = op, .datum_a = a,
	    .datum_b = b };

	return c;
}

static void
rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned nargs,
    const struct scmp_arg_cmp *args)
{
	int rc;

	if ((rc = seccomp_rule_add_array(ctx, action, nr, nargs, args)) < 0)
		fatalx("sandbox: rule for system call %d: %s", nr,
		    strerror(-rc));
}

/*
 * Memory, but never executable memory: no code can be written and then
 * run, even by a process whose memory an attacker writes.
 */
static void
allow_memory(scmp_filter_ctx ctx)
{
	const struct scmp_arg_cmp noexec = arg_cmp(2, SCMP_CMP_MASKED_EQ,
	    PROT_EXEC, 0);

	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, &noexec);
	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, &noexec);
}

/* abort() signals its own process with SIGABRT, and nothing else. */
static void
allow_abort(scmp_filter_ctx ctx)
{
	const struct scmp_arg_cmp self_abort[2] = {
		arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0),
		arg_cmp(2, SCMP_CMP_EQ, SIGABRT, 0),
	};

	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2, self_abort);
}

/*
 * libevent: nonblocking mode and close-on-exec on the fds it is given
 * (fcntl), and how much a socket holds before a read (FIONREAD).
 */
static void
allow_event_loop(scmp_filter_ctx ctx)
{
	static const int fcntl_cmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
	struct scmp_arg_cmp cmp;

	for (size_t i = 0; i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]);
	    i++) {
		cmp = arg_cmp(1, SCMP_CMP_EQ, (scmp_datum_t)fcntl_cmds[i], 0);
		rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, &cmp);
	}
	cmp = arg_cmp(1, SCMP_CMP_EQ, (scmp_datum_t)FIONREAD, 0);
	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &cmp);
}

/* A library that tries to open a file gets "permission denied". */
static void
deny_opens(scmp_filter_ctx ctx)
{
	static const int opens[] = {
		SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2),
		SCMP_SYS(creat),
	};

	for (size_t i = 0; i < sizeof(opens) / sizeof(opens[0]); i++)
		rule(ctx, SCMP_ACT_ERRNO(EACCES), opens[i], 0, NULL);
}

void
sandbox_filter_load(enum sandbox_role role)
{
	const struct role_filter *rf;
	scmp_filter_ctx ctx;
	int rc;

	(void)sandbox_role_name(role);	/* fatal for a bad role */
	rf = &role_filters[role];
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		fatalx("sandbox: seccomp_init failed");
	/* Another ABI's system call numbers mean other calls: kill. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0)
		fatalx("sandbox: seccomp bad-arch action: %s", strerror(-rc));
	allow_list(ctx, LIST(common_allow));
	allow_list(ctx, rf->allow, rf->nallow);
	allow_memory(ctx);
	allow_abort(ctx);
	if (rf->event_loop)
		allow_event_loop(ctx);
	deny_opens(ctx);
#if OB_SANDBOX_SANITIZER_COMPAT
	allow_list(ctx, LIST(sanitizer_allow));
#endif
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("sandbox: seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
}

/*
 * The sanitizer runtime reads /proc/self/maps when it reports; it can
 * cache them now, before the chroot hides /proc.  LeakSanitizer's check
 * at exit stops the world with a ptrace()ing thread, which no filter
 * should allow: the check runs now instead, which also turns off the one
 * at exit.  So a sanitizer build checks a sandboxed child for leaks up
 * to its sandbox, not after.  Weak, so that a build without sanitizers
 * links without them.
 */
void	__sanitizer_sandbox_on_notify(void *) __attribute__((weak));
void	__lsan_do_leak_check(void) __attribute__((weak));

void
sandbox_sanitizer_prepare(void)
{
#if OB_SANDBOX_SANITIZER_COMPAT
	if (__lsan_do_leak_check != NULL)
		__lsan_do_leak_check();
	if (__sanitizer_sandbox_on_notify != NULL)
		__sanitizer_sandbox_on_notify(NULL);
#endif
}

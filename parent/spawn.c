/*
 * fork + exec of a child, and the restart policy (see spawn.h).
 *
 * Between fork and exec the child may only call async-signal-safe
 * functions: the parent may have been inside malloc or the logger when it
 * forked.  So the child does nothing there but dup2, close, sigaction,
 * sigprocmask, prctl, getppid, write and exec.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_proto.h"
#include "spawn.h"

/* Says why exec failed, with write(2) only; no stdio after fork. */
static void __attribute__((noreturn))
child_fail(const char *what, const char *path)
{
	const char *e = strerrordesc_np(errno);	/* a static table, no locale */

	if (e == NULL)
		e = "unknown error";

	(void)!write(STDERR_FILENO, "onionbalanced: ", 15);
	(void)!write(STDERR_FILENO, what, strlen(what));
	(void)!write(STDERR_FILENO, " ", 1);
	(void)!write(STDERR_FILENO, path, strlen(path));
	(void)!write(STDERR_FILENO, ": ", 2);
	(void)!write(STDERR_FILENO, e, strlen(e));
	(void)!write(STDERR_FILENO, "\n", 1);
	_exit(127);
}

/*
 * Everything above fd 3 goes, so a child inherits no fd it was not given
 * on purpose, even one some library opened without O_CLOEXEC.
 */
static int
close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return 0;
#endif
	/* Kernels before 5.9: close by number up to the limit. */
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 1 << 20)
		max = 1 << 20;
	for (int fd = lowfd; fd < max; fd++)
		(void)close(fd);
	return 0;
}

static void
reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);	/* EINVAL for some */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * The parent-death signal, armed before exec (it survives the exec of a
 * binary that is not set-id).  Armed only in the child's main(), a parent
 * that died between fork and that prctl() would never send it; so it is
 * armed here, and a parent already gone (getppid() is no longer the pid
 * that forked us: init's, or a subreaper's) means nobody wants the child.
 * The child's main() arms it again, for when it is run by other means.
 */
static void
die_with_parent(pid_t parent, const char *path)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		child_fail("cannot arm the parent-death signal for", path);
	if (getppid() != parent)
		_exit(127);
}

static void __attribute__((noreturn))
exec_child(const char *path, char *const argv[], char *const envp[],
    int channel_fd, pid_t parent)
{
	if (channel_fd == CHILD_PARENT_FD) {
		/* dup2 onto itself would leave FD_CLOEXEC set. */
		if (fcntl(channel_fd, F_SETFD, 0) == -1)
			child_fail("cannot pass the channel to", path);
	} else if (dup2(channel_fd, CHILD_PARENT_FD) == -1)
		child_fail("cannot pass the channel to", path);
	(void)close_from(CHILD_PARENT_FD + 1);
	reset_signals();
	/* After the reset: a SIGTERM now must not run the parent's handler. */
	die_with_parent(parent, path);
	execve(path, argv, envp);
	child_fail("cannot execute", path);
}

/*
 * environ with entry added (and any entry of the same name left out),
 * built before the fork: after it, the child may not call malloc.
 */
static char **
env_with(const char *entry)
{
	const char *eq = strchr(entry, '=');
	size_t n = 0, k = 0, namelen;
	char **envp;

	if (eq == NULL) {
		errno = EINVAL;
		return NULL;
	}
	namelen = (size_t)(eq - entry) + 1;	/* with the '=' */
	while (environ[n] != NULL)
		n++;
	if ((envp = calloc(n + 2, sizeof(*envp))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], entry, namelen) != 0)
			envp[k++] = environ[i];
	envp[k] = (char *)(uintptr_t)entry;	/* execve does not write it */
	return envp;
}

pid_t
spawn_child_env(const char *path, char *const argv[], int channel_fd,
    const char *env_entry)
{
	char **envp = environ;
	pid_t pid, self = getpid();

	if (env_entry != NULL && env_entry[0] != '\0' &&
	    (envp = env_with(env_entry)) == NULL)
		return -1;
	if ((pid = fork()) == 0)
		exec_child(path, argv, envp, channel_fd, self);
	if (envp != environ)
		free(envp);
	return pid;
}

pid_t
spawn_child(const char *path, char *const argv[], int channel_fd)
{
	return spawn_child_env(path, argv, channel_fd, NULL);
}

void
spawn_describe_status(int status, char *out, size_t outlen)
{
	if (WIFEXITED(status))
		snprintf(out, outlen, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outlen, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(out, outlen, "stopped with wait status %#x", status);
}

void
restart_policy_init(struct restart_policy *rp, unsigned min_ms,
    unsigned max_ms)
{
	memset(rp, 0, sizeof(*rp));
	rp->min_ms = min_ms > 0 ? min_ms : 1;
	rp->max_ms = max_ms >= rp->min_ms ? max_ms : rp->min_ms;
	rp->next_ms = rp->min_ms;
}

/* How many of the remembered crashes are within the window before now. */
static size_t
recent_crashes(const struct restart_policy *rp, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < rp->ncrashes; i++)
		if (now_ms - rp->crashes[i] < RESTART_WINDOW_MS)
			n++;
	return n;
}

long
restart_policy_crashed(struct restart_policy *rp, uint64_t now_ms,
    uint64_t ran_ms)
{
	long delay;

	rp->crashes[rp->head] = now_ms;
	rp->head = (rp->head + 1) % RESTART_MAX_CRASHES;
	if (rp->ncrashes < RESTART_MAX_CRASHES)
		rp->ncrashes++;
	if (recent_crashes(rp, now_ms) >= RESTART_MAX_CRASHES)
		return -1;
	/* A child that ran a good while crashed for a new reason. */
	if (ran_ms >= RESTART_STABLE_MS)
		rp->next_ms = rp->min_ms;
	delay = (long)rp->next_ms;
	rp->next_ms = rp->next_ms > rp->max_ms / 2 ? rp->max_ms :
	    rp->next_ms * 2;
	return delay;
}

uint64_t
monotonic_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The parent's pure parts: the restart policy (backoff, reset after a
 * stable run, giving up on a crash loop), the wording of a child's end,
 * and spawn_child's promise to the child (its channel at fd 3, no other
 * inherited fd, default signal dispositions and an empty mask).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "spawn.h"
#include "test.h"

static void
test_backoff_doubles_to_max(void)
{
	struct restart_policy rp;
	uint64_t t = 1000000;

	restart_policy_init(&rp, 1000, 60000);
	/* Spread out so the crash window never fills. */
	CHECK_INT_EQ(restart_policy_crashed(&rp, t, 10), 1000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 20000, 10), 2000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 20000, 10), 4000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 20000, 10), 8000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 20000, 10), 16000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 20000, 10), 32000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 20000, 10), 60000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 20000, 10), 60000);
}

static void
test_backoff_resets_after_stable_run(void)
{
	struct restart_policy rp;
	uint64_t t = 1000000;

	restart_policy_init(&rp, 1000, 60000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t, 10), 1000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 30000, 10), 2000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 30000,
	    RESTART_STABLE_MS - 1), 4000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 70000,
	    RESTART_STABLE_MS), 1000);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 30000, 10), 2000);
}

static void
test_gives_up_on_crash_loop(void)
{
	struct restart_policy rp;
	uint64_t t = 1000000;

	restart_policy_init(&rp, 50, 60000);
	for (int i = 0; i < RESTART_MAX_CRASHES - 1; i++)
		CHECK(restart_policy_crashed(&rp, t += 100, 10) > 0);
	CHECK_INT_EQ(restart_policy_crashed(&rp, t += 100, 10), -1);

	/* The same number of crashes spread over more than the window. */
	restart_policy_init(&rp, 50, 60000);
	for (int i = 0; i < 3 * RESTART_MAX_CRASHES; i++)
		CHECK(restart_policy_crashed(&rp, t += RESTART_WINDOW_MS /
		    (RESTART_MAX_CRASHES - 1) + 1, 10) > 0);
}

static void
test_describe_status(void)
{
	char buf[128];

	spawn_describe_status(1 << 8, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "exited with status 1");
	spawn_describe_status(SIGKILL, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "killed by signal 9 (Killed)");
	spawn_describe_status(SIGSEGV | 0x80, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "killed by signal 11 (Segmentation fault), "
	    "core dumped");
}

/* Runs sh -c script under spawn_child; returns its exit status. */
static int
spawn_sh(const char *script, int channel_fd)
{
	char sh[] = "/bin/sh", c[] = "-c";
	char *s = strdup(script);
	char *argv[] = { sh, c, s, NULL };
	int status;
	pid_t pid;

	pid = spawn_child("/bin/sh", argv, channel_fd);
	CHECK(pid > 0);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	free(s);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void
test_spawn_fds_and_signals(void)
{
	sigset_t mask, old;
	int sv[2], stray;

	CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	/* A stray fd without O_CLOEXEC must not reach the child. */
	stray = open("/dev/null", O_RDONLY);
	CHECK(stray > 3);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	CHECK_INT_EQ(sigprocmask(SIG_BLOCK, &mask, &old), 0);
	signal(SIGUSR2, SIG_IGN);

	/* fd 3 is a socket; nothing above it; nothing blocked or ignored. */
	CHECK_INT_EQ(spawn_sh("[ -S /proc/self/fd/3 ] || exit 3; "
	    "for f in /proc/self/fd/*; do n=${f##*/}; "
	    "[ \"$n\" -le 3 ] || { [ -e \"$f\" ] && exit 4; }; done; "
	    "grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status || exit 5; "
	    "grep -q '^SigIgn:[[:space:]]*0*$' /proc/self/status || exit 6; "
	    "exit 0", sv[1]), 0);
	/* The channel may already be fd 3. */
	CHECK_INT_EQ(dup2(sv[1], 3), 3);
	CHECK_INT_EQ(fcntl(3, F_SETFD, FD_CLOEXEC), 0);
	CHECK_INT_EQ(spawn_sh("[ -S /proc/self/fd/3 ]", 3), 0);
	CHECK_INT_EQ(spawn_sh("exit 7", sv[1]), 7);

	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR2, SIG_DFL);
	close(stray);
	close(sv[0]);
	close(sv[1]);
}

static void
test_spawn_missing_binary(void)
{
	char a[] = "nope";
	char *argv[] = { a, NULL };
	int status, sv[2];
	pid_t pid;

	CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	pid = spawn_child("/nonexistent/onionbalanced-child", argv, sv[1]);
	CHECK(pid > 0);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 127);
	close(sv[0]);
	close(sv[1]);
}

TEST_MAIN(
	TEST_CASE(test_backoff_doubles_to_max),
	TEST_CASE(test_backoff_resets_after_stable_run),
	TEST_CASE(test_gives_up_on_crash_loop),
	TEST_CASE(test_describe_status),
	TEST_CASE(test_spawn_fds_and_signals),
	TEST_CASE(test_spawn_missing_binary),
)

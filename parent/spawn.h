/*
 * Starting a child (fork + exec) and deciding when to start it again.
 * No event loop and no parent state here, so the unit tests drive both.
 */
#ifndef OB_SPAWN_H
#define OB_SPAWN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Forks and execs path with argv, with channel_fd moved to fd 3 and every
 * other fd but 0, 1 and 2 closed, signal handlers and the signal mask back
 * to their defaults, and SIGTERM armed for the caller's death
 * (PR_SET_PDEATHSIG; a child whose parent is already gone exits 127
 * before exec).  The child never returns; if exec fails it says so on
 * stderr and exits 127.  Returns the pid, or -1 (errno set) if fork failed.
 */
pid_t	spawn_child(const char *path, char *const argv[], int channel_fd);
/*
 * The same, with env_entry ("NAME=value"; NULL or "": none) added to the
 * child's environment in place of any entry of that name: how a child
 * started as root learns whom to become (sandbox.h, OB_SANDBOX).
 */
pid_t	spawn_child_env(const char *path, char *const argv[], int channel_fd,
	    const char *env_entry);

/* "exited with status 1", "killed by signal 9 (core dumped)" */
void	spawn_describe_status(int status, char *out, size_t outlen);

/*
 * The restart policy of one child: exponential backoff from min_ms,
 * doubling up to max_ms, back to min_ms after the child ran stable_ms;
 * more than max_crashes crashes within window_ms is a crash loop.
 */
#define RESTART_MAX_CRASHES	5
#define RESTART_WINDOW_MS	(60 * 1000)
#define RESTART_STABLE_MS	(60 * 1000)
#define RESTART_MIN_MS		1000
#define RESTART_MAX_MS		(60 * 1000)

struct restart_policy {
	unsigned	 min_ms;
	unsigned	 max_ms;
	unsigned	 next_ms;	/* the delay before the next restart */
	uint64_t	 crashes[RESTART_MAX_CRASHES];	/* ring of times, ms */
	size_t		 ncrashes;	/* entries in use, at most the max */
	size_t		 head;		/* where the next one goes */
};

void	restart_policy_init(struct restart_policy *rp, unsigned min_ms,
	    unsigned max_ms);
/*
 * A crash at now_ms of a child that had run for ran_ms.  Returns the delay
 * before restarting it, or -1 when this crash makes RESTART_MAX_CRASHES
 * within RESTART_WINDOW_MS: give up.
 */
long	restart_policy_crashed(struct restart_policy *rp, uint64_t now_ms,
	    uint64_t ran_ms);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t monotonic_ms(void);

#endif

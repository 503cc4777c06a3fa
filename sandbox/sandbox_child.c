/*
 * The start-up every child (keyd, fetchd, publishd) makes before its own
 * setup, and its exit: so that a fix to either is made once.  The child
 * then sets up its state, enters its sandbox (sandbox_enter_child()) and
 * runs its loop.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "sandbox.h"

static void
usage(const char *name)
{
	fprintf(stderr, "usage: %s [-d] [--log-level LEVEL] "
	    "[--parent-fd N]\n"
	    "%s is started by onionbalanced, not by hand.\n", name, name);
	exit(2);
}

static int
parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0 || v > INT_MAX)
		fatalx("bad fd number: %s", s);
	return (int)v;
}

/*
 * glibc's malloc raises its mmap threshold to the size of the largest
 * mmapped block freed so far (up to 32 MiB) and its trim threshold to
 * twice that.  So after the first consensus and md/all (2.8 and 3.3 MB on
 * the live network) are freed, every later one is allocated in the heap
 * and stays there: fetchd and publishd each kept about 8 MB dirty
 * between consensuses on the synthetic full-size network, 0.5 MB with
 * the thresholds fixed at glibc's defaults (docs/benchmarks.md,
 * "Memory"; bench/heap_kept.c measures it).  Setting them fixes them:
 * large blocks are mmapped and returned when freed, and the heap is
 * trimmed above 128 KiB.
 */
void
sandbox_fix_malloc_thresholds(void)
{
	/*
	 * Not fatal: only memory is at stake, and a sanitizer's allocator
	 * (ASan's) takes mallopt() and returns 0 without doing anything.
	 */
	if (mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, 128 * 1024) != 1)
		log_debug("mallopt refused: not glibc's allocator, its "
		    "thresholds left as they are");
}

int
sandbox_child_setup(int argc, char *argv[], const char *name, int parent_fd)
{
	static const struct option longopts[] = {
		{ "parent-fd", required_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	log_init(name, LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "dp:v:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'v':	/* the parent's level, till the config's */
			if (log_set_level_name(optarg) == -1)
				fatalx("bad log level: %s", optarg);
			break;
		case 'p':
			parent_fd = parse_fd(optarg);
			break;
		default:
			usage(name);
		}
	}
	if (optind != argc)
		usage(name);
	/* Children die with their parent (style.md 9). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("prctl");
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	sandbox_fix_malloc_thresholds();
	return parent_fd;
}

void
sandbox_child_exit(void)
{
	/*
	 * _exit: nothing registered with atexit (OpenSSL's cleanup, a
	 * sanitizer's exit hooks) may run under the seccomp filter.
	 */
	_exit(0);
}

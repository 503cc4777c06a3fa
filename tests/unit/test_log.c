/* The log line format, and the journald priority prefix. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

/* Runs fn with stderr sent to a temporary file; returns what it wrote. */
static char *
capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/ob-test-log-XXXXXX", *buf;
	int fd, saved;
	FILE *f;
	long n;

	if ((fd = mkstemp(path)) == -1 || (saved = dup(STDERR_FILENO)) == -1)
		abort();
	fflush(stderr);
	if (dup2(fd, STDERR_FILENO) == -1)
		abort();
	fn();
	fflush(stderr);
	if (dup2(saved, STDERR_FILENO) == -1)
		abort();
	close(saved);
	close(fd);
	if ((f = fopen(path, "r")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = calloc(1, (size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	unlink(path);
	return buf;
}

static void
log_some_lines(void)
{
	log_init("keyd", LOG_LEVEL_INFO);
	log_warnx("bad %s", "thing");
	log_info("hello %d", 42);
	log_debug("not shown at info");
	errno = ENOENT;
	log_warn("open %s", "x");
}

static void
test_line_format(void)
{
	char *out;

	unsetenv("JOURNAL_STREAM");
	out = capture_stderr(log_some_lines);
	CHECK_STR_EQ(out,
	    "keyd: [warning] bad thing\n"
	    "keyd: [info] hello 42\n"
	    "keyd: [warning] open x: No such file or directory\n");
	free(out);
}

static void
log_with_journal_stream(void)
{
	struct stat st;
	char env[64];

	/* stderr is the capture file here: make it "the journal". */
	if (fstat(STDERR_FILENO, &st) == -1)
		abort();
	snprintf(env, sizeof(env), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_init("fetchd", LOG_LEVEL_DEBUG);
	log_warnx("w");
	log_debug("d");
	/* Another stream (inherited variable, stderr redirected): no prefix. */
	setenv("JOURNAL_STREAM", "1:1", 1);
	log_init("fetchd", LOG_LEVEL_DEBUG);
	log_info("i");
	unsetenv("JOURNAL_STREAM");
}

static void
test_journal_priority_prefix(void)
{
	char *out = capture_stderr(log_with_journal_stream);

	CHECK_STR_EQ(out,
	    "<4>fetchd: [warning] w\n"
	    "<7>fetchd: [debug] d\n"
	    "fetchd: [info] i\n");
	free(out);
}

static void
test_level_names(void)
{
	CHECK_INT_EQ(log_level_from_name("debug"), LOG_LEVEL_DEBUG);
	CHECK_INT_EQ(log_level_from_name("WARNING"), LOG_LEVEL_WARN);
	CHECK_INT_EQ(log_level_from_name("critical"), LOG_LEVEL_ERROR);
	CHECK_INT_EQ(log_level_from_name("verbose"), -1);
}

TEST_MAIN(
	TEST_CASE(test_line_format),
	TEST_CASE(test_journal_priority_prefix),
	TEST_CASE(test_level_names),
)

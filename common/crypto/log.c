#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <time.h>

#include "log.h"

static const char *log_procname = "onionbalanced";
static enum log_level log_level = LOG_LEVEL_INFO;
static int log_to_journal;

/*
 * systemd sets JOURNAL_STREAM to "<dev>:<inode>" of the stream it connected
 * to stdout/stderr.  If stderr is still that stream, a "<N>" syslog
 * priority in front of each line makes journald (and the syslog daemon it
 * forwards to) record our level instead of a flat "info".
 */
static int
stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *procname, enum log_level level)
{
	log_procname = procname;
	log_level = level;
	log_to_journal = stderr_is_journal();
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_level_from_name(const char *name)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "debug", LOG_LEVEL_DEBUG },
		{ "info", LOG_LEVEL_INFO },
		{ "warning", LOG_LEVEL_WARN },
		{ "warn", LOG_LEVEL_WARN },
		{ "error", LOG_LEVEL_ERROR },
		{ "critical", LOG_LEVEL_ERROR },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return (int)names[i].level;
	return -1;
}

int
log_set_level_name(const char *name)
{
	int level = log_level_from_name(name);

	if (level != -1)
		log_level = (enum log_level)level;
	return level == -1 ? -1 : 0;
}

const char *
log_level_name(enum log_level level)
{
	static const char *const names[] = { "error", "warning", "info",
	    "debug" };

	return (unsigned)level < sizeof(names) / sizeof(names[0]) ?
	    names[level] : "info";
}

/*
 * Formats one whole line first and writes it with a single call, so that
 * lines of processes sharing one stderr do not interleave mid-line.
 */
static void log_emit(enum log_level, int, int, const char *, va_list)
    OB_PRINTF(4, 0);

static void
log_emit(enum log_level level, int with_errno, int saved_errno,
    const char *fmt, va_list ap)
{
	static const char *const tags[] = { "error", "warning", "info", "debug" };
	static const char *const priorities[] = { "<3>", "<4>", "<6>", "<7>" };
	char msg[2048];
	int n;

	if (level > log_level)
		return;
	n = snprintf(msg, sizeof(msg), "%s%s: [%s] ",
	    log_to_journal ? priorities[level] : "", log_procname, tags[level]);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	if (with_errno) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(saved_errno));
	}
	fprintf(stderr, "%s\n", msg);
	fflush(stderr);
}

#define LOG_BODY(level, with_errno) do {				\
	int saved_errno = errno;					\
	va_list ap;							\
	va_start(ap, fmt);						\
	log_emit((level), (with_errno), saved_errno, fmt, ap);		\
	va_end(ap);							\
	errno = saved_errno;						\
} while (0)

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 1);
}

void
log_errorx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
	exit(1);
}

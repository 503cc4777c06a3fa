/*
 * One logging API for every onionbalanced process.
 *
 * Each line is "<process>: <message>" on stderr (children inherit the
 * parent's stderr, or a log fd that the parent reads).  log_warn() and
 * fatal() append strerror(errno); the "x" variants do not.  fatal() and
 * fatalx() are for errors inside our own system (a bug, a broken peer
 * process): they exit, and the parent restarts the child.  Bad input from
 * the network is never fatal: it is logged with log_warnx() and dropped.
 */
#ifndef OB_LOG_H
#define OB_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

#define OB_PRINTF(f, a) __attribute__((format(printf, f, a)))

void	log_init(const char *procname, enum log_level level);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warning"/"warn", "error"; -1 if unknown. */
int	log_level_from_name(const char *name);
/* log_set_level() by name; -1 if unknown. */
int	log_set_level_name(const char *name);
/* "debug", "info", "warning", "error": what log_level_from_name() takes. */
const char *log_level_name(enum log_level level);

/*
 * An error: what makes the process give up, said before it exits with a
 * status (fatal() and fatalx() exit at once), or a state the operator
 * must act on although the process goes on (publishd: every backend
 * unreachable); also shown at "-v error".
 */
void	log_error(const char *fmt, ...) OB_PRINTF(1, 2);
void	log_errorx(const char *fmt, ...) OB_PRINTF(1, 2);
void	log_warn(const char *fmt, ...) OB_PRINTF(1, 2);
void	log_warnx(const char *fmt, ...) OB_PRINTF(1, 2);
void	log_info(const char *fmt, ...) OB_PRINTF(1, 2);
void	log_debug(const char *fmt, ...) OB_PRINTF(1, 2);
void	fatal(const char *fmt, ...) OB_PRINTF(1, 2) __attribute__((noreturn));
void	fatalx(const char *fmt, ...) OB_PRINTF(1, 2) __attribute__((noreturn));

#endif

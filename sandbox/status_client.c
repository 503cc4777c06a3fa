/*
 * onionbalanced status: reads the status socket (JSON, written by
 * publishd; docs/status-socket.md) and prints it for a person, as an
 * indented outline of its keys and values.  The printer knows JSON, not
 * the schema, so a field added to the status never needs a change here.
 * --json prints what the socket sent, unchanged.
 *
 * The socket's content is treated as untrusted text: a malformed document
 * is refused with the byte where it went wrong, nesting is bounded, and
 * control characters are never written to the terminal.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ob_config.h"
#include "parent.h"

#define STATUS_MAX		(4 * 1024 * 1024)
#define STATUS_TIMEOUT_S	5
#define JSON_MAX_DEPTH		32

struct json {
	const char	*p;
	const char	*start;
	const char	*end;
	int		 depth;
	bool		 failed;
};

static void print_value(struct json *j, int indent, bool after_dash);

static void
skip_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
json_accept(struct json *j, char ch)
{
	skip_ws(j);
	if (j->p < j->end && *j->p == ch) {
		j->p++;
		return true;
	}
	return false;
}

static void
fail(struct json *j)
{
	j->failed = true;
	j->p = j->end;
}

/* A string, printed without its quotes; escapes shown, not interpreted. */
static void
print_string(struct json *j)
{
	if (!json_accept(j, '"')) {
		fail(j);
		return;
	}
	while (j->p < j->end && *j->p != '"') {
		unsigned char ch = (unsigned char)*j->p++;

		if (ch == '\\' && j->p < j->end) {
			ch = (unsigned char)*j->p++;
			putchar(ch == 'n' || ch == 't' || ch == 'r' ||
			    ch == 'u' ? ' ' : ch);
			if (ch == 'u')	/* \uXXXX: shown as one space */
				j->p = j->p + 4 <= j->end ? j->p + 4 : j->end;
		} else if (ch < 0x20 || ch == 0x7f)
			fail(j);
		else
			putchar(ch);
	}
	if (!json_accept(j, '"'))
		fail(j);
}

/* Numbers, true, false, null: printed as they are. */
static void
print_word(struct json *j)
{
	const char *s = j->p;

	while (j->p < j->end && (isalnum((unsigned char)*j->p) ||
	    *j->p == '-' || *j->p == '+' || *j->p == '.'))
		j->p++;
	if (j->p == s)
		fail(j);
	else
		fwrite(s, 1, (size_t)(j->p - s), stdout);
}

static void
pad(int indent)
{
	printf("%*s", indent, "");
}

static void
print_object(struct json *j, int indent, bool after_dash)
{
	bool first = true;

	if (json_accept(j, '}')) {
		printf(" (empty)\n");
		return;
	}
	if (!after_dash)
		putchar('\n');
	do {
		if (!(first && after_dash))
			pad(indent);
		skip_ws(j);
		print_string(j);
		putchar(':');
		if (!json_accept(j, ':'))
			fail(j);
		print_value(j, indent + 2, false);
		first = false;
	} while (!j->failed && json_accept(j, ','));
	if (!json_accept(j, '}'))
		fail(j);
}

static void
print_array(struct json *j, int indent)
{
	if (json_accept(j, ']')) {
		printf(" (none)\n");
		return;
	}
	putchar('\n');
	do {
		pad(indent);
		printf("-");
		print_value(j, indent + 2, true);
	} while (!j->failed && json_accept(j, ','));
	if (!json_accept(j, ']'))
		fail(j);
}

static void
print_value(struct json *j, int indent, bool after_dash)
{
	if (++j->depth > JSON_MAX_DEPTH) {
		fail(j);
		return;
	}
	skip_ws(j);
	if (json_accept(j, '{')) {
		if (after_dash)
			putchar(' ');
		print_object(j, indent, after_dash);
	} else if (json_accept(j, '['))
		print_array(j, indent);
	else {
		putchar(' ');
		if (j->p < j->end && *j->p == '"')
			print_string(j);
		else
			print_word(j);
		putchar('\n');
	}
	j->depth--;
}

/* 0 if the whole buffer was one JSON value; -1 and the offset if not. */
static int
print_status(const char *buf, size_t len, size_t *bad)
{
	struct json j = { buf, buf, buf + len, 0, false };

	printf("onionbalanced status:");
	print_value(&j, 2, false);
	skip_ws(&j);
	if (j.failed || j.p != j.end) {
		*bad = (size_t)(j.p - j.start);
		return -1;
	}
	return 0;
}

static int
connect_status(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { STATUS_TIMEOUT_S, 0 };
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Reads to EOF; NULL with errno on error, EFBIG when over the cap. */
static char *
read_all(int fd, size_t *len)
{
	size_t cap = 64 * 1024;
	char *buf = malloc(cap), *nbuf;
	ssize_t n;

	*len = 0;
	while (buf != NULL) {
		if (*len == cap) {
			if (cap >= STATUS_MAX || (nbuf = realloc(buf,
			    cap * 2)) == NULL) {
				free(buf);
				errno = cap >= STATUS_MAX ? EFBIG : ENOMEM;
				return NULL;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			return buf;
		if (n == -1) {
			free(buf);
			return NULL;
		}
		*len += (size_t)n;
	}
	return NULL;
}

/* -s, else $ONIONBALANCE_STATUS_SOCKET_LOCATION or the config's. */
static char *
status_path(const char *given, const char *config_path)
{
	struct ob_config *cfg;
	char err[1024], *path;

	if (given != NULL)
		return strdup(given);
	if (config_path == NULL)
		config_path = ob_config_default_path();
	if (ob_config_load(config_path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "onionbalanced status: %s\n", err);
		return NULL;
	}
	path = cfg->status_socket_path ? strdup(cfg->status_socket_path) :
	    NULL;
	if (path == NULL)
		fprintf(stderr, "onionbalanced status: %s has no "
		    "status-socket-location; give -s PATH\n", config_path);
	ob_config_free(cfg);
	return path;
}

static int
show(const char *path, bool raw)
{
	size_t len, bad;
	char *buf;
	int fd;

	if ((fd = connect_status(path)) == -1) {
		fprintf(stderr, "onionbalanced status: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	buf = read_all(fd, &len);
	close(fd);
	if (buf == NULL) {
		fprintf(stderr, "onionbalanced status: reading %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	if (raw)
		fwrite(buf, 1, len, stdout);
	else if (print_status(buf, len, &bad) == -1) {
		fflush(stdout);
		fprintf(stderr, "\nonionbalanced status: %s sent malformed "
		    "JSON (at byte %zu)\n", path, bad);
		free(buf);
		return 1;
	}
	free(buf);
	return 0;
}

int
status_client_main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given = NULL, *config_path = NULL;
	bool raw = false;
	char *path;
	int ch, rv;

	log_init("onionbalanced status", LOG_LEVEL_ERROR);
	while ((ch = getopt_long(argc, argv, "c:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			given = optarg;
			break;
		case 'j':
			raw = true;
			break;
		default:
			fprintf(stderr, "usage: onionbalanced status "
			    "[-c config.yaml] [-s status-socket] [--json]\n");
			return 2;
		}
	}
	if (optind != argc || (path = status_path(given, config_path)) == NULL)
		return 2;
	rv = show(path, raw);
	free(path);
	return rv;
}

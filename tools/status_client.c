/*
 * onionbalanced status: reads the status socket (JSON, written by
 * publishd; docs/status-socket.md) and prints a summary for a person:
 * tor and the consensus, then per service its instances, and its first
 * and second descriptors with each responsible HSDir.  Fields it does not
 * know are left out (--json shows everything: it prints what the socket
 * sent, unchanged), and fields that are missing print as "?", so an
 * older or newer publishd still gives a readable summary.
 *
 * The socket's content is untrusted text: status_json.c refuses a
 * malformed document with the byte where it went wrong, bounds nesting
 * and size, and makes every string printable.
 *
 * --watch[=SECONDS] shows it again every few seconds, like watch(1): on a
 * terminal each frame replaces the last; a frame that fails (onionbalanced
 * restarting) says why and the next one tries again; SIGINT or SIGTERM
 * ends it with status 0.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ob_config.h"
#include "socket_path.h"
#include "status_client.h"
#include "status_json.h"

#define STATUS_MAX		(4 * 1024 * 1024)
#define STATUS_TIMEOUT_S	5
#define WATCH_DEFAULT_S		2
#define WATCH_MAX_S		3600

static volatile sig_atomic_t watch_stop;

#define T(n, key)	sj_text((n), (key), "?")

/* publishd refuses to publish while the clock is off (docs/deployment.md). */
static void
print_clock(const struct sj_node *consensus)
{
	const char *clock = T(consensus, "clock");
	const char *skew = T(consensus, "clockSkewSeconds");

	if (strcmp(clock, "behind") != 0 && strcmp(clock, "ahead") != 0)
		return;
	printf("clock: %s s or more %s the consensus: NOT publishing; run "
	    "NTP\n", skew[0] == '-' ? skew + 1 : skew,
	    strcmp(clock, "behind") == 0 ? "behind" : "ahead of");
}

static void
print_header(const struct sj_node *doc)
{
	const struct sj_node *c = sj_get(doc, "consensus");

	printf("onionbalanced status at %s UTC\n", T(doc, "timestamp"));
	printf("tor control: %s",
	    strcmp(T(doc, "controlConnected"), "true") == 0 ?
	    "connected" : "NOT connected");
	/* Each loss backs off before the next connection (up to 30 s). */
	if (sj_text(doc, "controlLostReason", NULL) != NULL)
		printf(" (%s loss(es), the last at %s: %s)",
		    T(doc, "controlLosses"), T(doc, "controlLostAt"),
		    T(doc, "controlLostReason"));
	putchar('\n');
	if (c == NULL || c->type != SJ_OBJECT) {
		printf("consensus: none yet\n");
		return;
	}
	printf("consensus: valid after %s, %s; voting interval %s s, "
	    "time period %s min\n", T(c, "validAfter"),
	    strcmp(T(c, "reasonablyLive"), "true") == 0 ? "live" :
	    "NOT live", T(c, "votingIntervalSeconds"),
	    T(c, "timePeriodLengthMinutes"));
	print_clock(c);
}

static size_t
count_where(const struct sj_node *list, const char *key, const char *value)
{
	const struct sj_node *e;
	size_t n = 0;

	if (list == NULL || list->type != SJ_ARRAY)
		return 0;
	for (e = list->child; e != NULL; e = e->next)
		if (strcmp(T(e, key), value) == 0)
			n++;
	return n;
}

static void
print_instance(const struct sj_node *in)
{
	const char *state = T(in, "state");

	printf("    %-12s %s\n", T(in, "name"), T(in, "onionAddress"));
	printf("      %s since %s", state, T(in, "stateSince"));
	if (strcmp(state, "live") == 0 || strcmp(state, "expired") == 0)
		printf(": %s intro points, revision %s, time period %s, "
		    "received %s", T(in, "introPointsNum"),
		    T(in, "revisionCounter"), T(in, "timePeriod"),
		    T(in, "received"));
	if (sj_text(in, "stateDetail", NULL) != NULL)
		printf(": %s", T(in, "stateDetail"));
	putchar('\n');
	/* Liveness (fetchd's probes); absent from an older publishd. */
	if (sj_text(in, "liveness", NULL) == NULL)
		return;
	printf("      liveness: %s since %s", T(in, "liveness"),
	    T(in, "livenessSince"));
	if (sj_text(in, "lastProbe", NULL) != NULL)
		printf("; last probe %s: %s", T(in, "lastProbe"),
		    T(in, "lastProbeOutcome"));
	if (sj_text(in, "droppedReason", NULL) != NULL)
		printf("\n      dropped from the frontend: %s",
		    T(in, "droppedReason"));
	putchar('\n');
}

static void
print_hsdir(const struct sj_node *h, bool distinct)
{
	const char *state = T(h, "state");

	printf("      %s  %-9s", T(h, "fingerprint"), state);
	if (distinct)
		printf(" descriptor %s (%s)", T(h, "variant"),
		    strcmp(T(h, "fetch"), "true") == 0 ? "fetch" : "store");
	if (strcmp(state, "uploaded") == 0)
		printf(" revision %s at %s", T(h, "uploadedRevision"),
		    T(h, "lastResultAt"));
	else if (strcmp(state, "in-flight") == 0)
		printf(" since %s", T(h, "lastAttempt"));
	else if (sj_text(h, "nextTry", NULL) != NULL)
		printf(" next try %s", T(h, "nextTry"));
	if (strcmp(T(h, "failures"), "0") != 0 &&
	    strcmp(T(h, "failures"), "?") != 0)
		printf(", %s failure(s), last %s", T(h, "failures"),
		    T(h, "reason"));
	putchar('\n');
}

/* Distinct descriptors: which instances each holds, and how many points. */
static void
print_variants(const struct sj_node *variants)
{
	const struct sj_node *v, *in, *list;
	const char *sep;

	printf("    %zu distinct descriptors (one per fetch HSDir):\n",
	    sj_count(variants));
	for (v = variants != NULL ? variants->child : NULL; v != NULL;
	    v = v->next) {
		printf("      descriptor %s (replica %s): revision %s, %s intro "
		    "points:", T(v, "variant"), T(v, "replica"),
		    T(v, "revisionCounter"), T(v, "introPointsNum"));
		list = sj_get(v, "instances");
		sep = " ";
		for (in = list != NULL ? list->child : NULL; in != NULL;
		    in = in->next) {
			printf("%s%s (%s)", sep, T(in, "name"),
			    T(in, "introPointsNum"));
			sep = ", ";
		}
		putchar('\n');
	}
}

static void
print_descriptor(const struct sj_node *d)
{
	const struct sj_node *hsdirs = sj_get(d, "hsdirs"), *h;
	bool distinct = strcmp(T(d, "plan"), "distinct") == 0;

	printf("  %s descriptor: ", T(d, "descriptor"));
	if (strcmp(T(d, "active"), "true") != 0) {
		printf("no time period yet (no consensus)\n");
		return;
	}
	if (sj_text(d, "builtAt", NULL) == NULL) {
		printf("time period %s, not built yet%s%s\n",
		    T(d, "timePeriod"), sj_text(d, "lastError", NULL) ?
		    ": " : "", sj_text(d, "lastError", ""));
		return;
	}
	printf("time period %s, revision %s, %s intro points, %s bytes\n",
	    T(d, "timePeriod"), T(d, "revisionCounter"),
	    T(d, "introPointsNum"), T(d, "size"));
	printf("    built %s (%s)", T(d, "builtAt"), T(d, "reason"));
	if (sj_text(d, "lastError", NULL) != NULL)
		printf("; last build failed: %s", T(d, "lastError"));
	printf("; on %zu of %zu HSDirs\n",
	    count_where(hsdirs, "state", "uploaded"), sj_count(hsdirs));
	if (distinct)
		print_variants(sj_get(d, "variants"));
	for (h = hsdirs != NULL ? hsdirs->child : NULL; h != NULL; h = h->next)
		print_hsdir(h, distinct);
}

static void
print_service(const struct sj_node *sv)
{
	const struct sj_node *list, *e;

	printf("\nservice %s\n", T(sv, "onionAddress"));
	if (sj_text(sv, "unreachable", NULL) != NULL)
		printf("  ERROR since %s: %s\n", T(sv, "unreachableSince"),
		    T(sv, "unreachable"));
	list = sj_get(sv, "instances");
	printf("  instances: %zu, %zu live\n", sj_count(list),
	    count_where(list, "state", "live"));
	for (e = list != NULL ? list->child : NULL; e != NULL; e = e->next)
		print_instance(e);
	list = sj_get(sv, "descriptors");
	for (e = list != NULL ? list->child : NULL; e != NULL; e = e->next)
		print_descriptor(e);
}

/* 0 if the whole buffer is a status document; -1 and the offset if not. */
static int
print_status(const char *buf, size_t len, size_t *bad)
{
	struct sj_node *doc;
	const struct sj_node *list, *sv;

	if ((doc = sj_parse(buf, len, bad)) == NULL)
		return -1;
	if (doc->type != SJ_OBJECT) {
		sj_free(doc);
		*bad = 0;
		return -1;
	}
	print_header(doc);
	list = sj_get(doc, "services");
	if (sj_count(list) == 0)
		printf("no services\n");
	for (sv = list != NULL ? list->child : NULL; sv != NULL; sv = sv->next)
		print_service(sv);
	sj_free(doc);
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

/* What is wrong with the socket, and what to do. */
static void
say_connect_error(const char *path, int error)
{
	const char *what = socket_path_problem(path, error);

	if (what != NULL)
		fprintf(stderr, "onionbalanced status: %s is %s; give -s the "
		    "path of status-socket-location\n", path, what);
	else if (error == ECONNREFUSED || error == ENOENT)
		fprintf(stderr, "onionbalanced status: %s: %s (is "
		    "onionbalanced running, with this status-socket-location?)"
		    "\n", path, strerror(error));
	else
		fprintf(stderr, "onionbalanced status: %s: %s\n", path,
		    strerror(error));
}

static int
show(const char *path, bool raw)
{
	size_t len, bad;
	char *buf;
	int fd;

	if ((fd = connect_status(path)) == -1) {
		say_connect_error(path, errno);
		return 1;
	}
	buf = read_all(fd, &len);
	close(fd);
	if (buf == NULL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		fprintf(stderr, "onionbalanced status: %s did not send a whole "
		    "status document within %d s (onionbalanced's status "
		    "socket sends one and closes): is it onionbalanced's "
		    "status socket?\n", path, STATUS_TIMEOUT_S);
		return 1;
	}
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

static void
watch_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* SIGINT and SIGTERM end the watch; without SA_RESTART they cut the sleep. */
static int
watch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1) {
		fprintf(stderr, "onionbalanced status: sigaction: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
watch_frame_header(unsigned int every, const char *path)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	printf("Every %u s: onionbalanced status -s %s    %s UTC\n\n", every,
	    path, when);
}

/*
 * Frames until a signal.  On a terminal each one clears the screen first;
 * elsewhere (a pipe, --json into a script) they follow one another.
 */
static int
watch(const char *path, bool raw, unsigned int every)
{
	bool tty = isatty(STDOUT_FILENO);
	unsigned int left;

	if (watch_signals() == -1)
		return 1;
	while (!watch_stop) {
		if (tty)
			fputs("\033[H\033[2J", stdout);
		if (!raw)
			watch_frame_header(every, path);
		fflush(stdout);
		(void)show(path, raw);
		if (raw)
			putchar('\n');
		fflush(stdout);
		for (left = every; left > 0 && !watch_stop; )
			left = sleep(left);
	}
	return 0;
}

static int
parse_watch(const char *arg, unsigned int *every)
{
	char *end;
	unsigned long v;

	if (arg == NULL) {
		*every = WATCH_DEFAULT_S;
		return 0;
	}
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
	    v == 0 || v > WATCH_MAX_S) {
		fprintf(stderr, "onionbalanced status: --watch=%.80s: not a "
		    "number of seconds from 1 to %d\n", arg, WATCH_MAX_S);
		return -1;
	}
	*every = (unsigned int)v;
	return 0;
}

int
status_client_main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", optional_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given = NULL, *config_path = NULL;
	unsigned int every = 0;
	bool raw = false;
	char *path;
	int ch, rv;

	log_init("onionbalanced status", LOG_LEVEL_ERROR);
	opterr = 0;	/* our own messages, with our name */
	while ((ch = getopt_long(argc, argv, ":c:s:", longopts, NULL)) != -1) {
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
		case 'w':
			if (parse_watch(optarg, &every) == -1)
				return 2;
			break;
		default:
			fprintf(stderr, "onionbalanced status: %s \"%.80s\"\n",
			    ch == ':' ? "a value is missing after" :
			    "unknown option", argv[optind - 1]);
			fprintf(stderr, "usage: onionbalanced status "
			    "[-c config.yaml] [-s status-socket] [--json] "
			    "[--watch[=SECONDS]]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "onionbalanced status: unexpected argument "
		    "\"%.80s\" (see onionbalanced --help)\n", argv[optind]);
		return 2;
	}
	/* A config without the socket's path is not a usage error. */
	if ((path = status_path(given, config_path)) == NULL)
		return 1;
	rv = every > 0 ? watch(path, raw, every) : show(path, raw);
	free(path);
	return rv;
}

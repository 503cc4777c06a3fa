/*
 * One liveness probe on the wire (fetchd_socks.h).  Every message we send
 * is a few dozen bytes on a fresh local connection, so it is written in
 * one write() and a short write is a failed probe.  Every message we read
 * is bounded by its exact size (the SOCKS replies) or by PROBE_IN_MAX (the
 * HTTP status line); anything else from tor or the backend ends the probe
 * as inconclusive or failed, never as an error of fetchd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetchd_socks.h"
#include "log.h"

#define PROBE_IN_MAX	512

enum probe_step {
	STEP_WAIT_FD,		/* PC_SOCKS_REQUEST sent */
	STEP_METHOD,		/* sent the methods; want 05 02 */
	STEP_AUTH,		/* sent the username; want 01 00 */
	STEP_CONNECT,		/* sent CONNECT; want the reply */
	STEP_HTTP,		/* sent GET; want the status line */
};

struct socks_probe {
	struct socks_probes	*sp;
	struct socks_probe	*next;
	uint32_t		 id;
	char			 address[ONION_ADDRESS_LEN + 1];
	struct fetchd_probe_config cfg;
	uint32_t		 isolation;
	enum probe_step		 step;
	int			 fd;
	struct event		*ev_io;
	struct event		*ev_timeout;
	uint8_t			 in[PROBE_IN_MAX];
	size_t			 inlen;
};

struct socks_probes {
	struct event_base	*base;
	struct socks_probe_ops	 ops;
	struct socks_probe	*list;
};

struct socks_probes *
socks_probes_new(struct event_base *base, const struct socks_probe_ops *ops)
{
	struct socks_probes *sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return NULL;
	sp->base = base;
	sp->ops = *ops;
	return sp;
}

static void
probe_free(struct socks_probe *p)
{
	struct socks_probe **pp;

	for (pp = &p->sp->list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->ev_io != NULL)
		event_free(p->ev_io);
	if (p->ev_timeout != NULL)
		event_free(p->ev_timeout);
	if (p->fd != -1 && close(p->fd) == -1)
		log_warn("probe connection: close");
	free(p);
}

void
socks_probes_free(struct socks_probes *sp)
{
	if (sp == NULL)
		return;
	while (sp->list != NULL)
		probe_free(sp->list);
	free(sp);
}

static void
finish(struct socks_probe *p, enum probe_outcome outcome, const char *detail)
{
	struct socks_probes *sp = p->sp;
	uint32_t id = p->id;
	char text[PEER_OUTCOME_MAX + 1];

	snprintf(text, sizeof(text), "%s", detail);
	probe_free(p);
	sp->ops.done(sp->ops.arg, id, outcome, text);
}

static int
send_all(struct socks_probe *p, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = write(p->fd, buf, len);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)len) {
		finish(p, PROBE_INCONCLUSIVE, n == -1 ?
		    "cannot write to tor's SOCKS port" :
		    "short write to tor's SOCKS port");
		return -1;
	}
	return 0;
}

static int
send_methods(struct socks_probe *p)
{
	/* Version 5, one method: username/password (isolation). */
	static const uint8_t methods[] = { 0x05, 0x01, 0x02 };

	p->step = STEP_METHOD;
	return send_all(p, methods, sizeof(methods));
}

static int
send_auth(struct socks_probe *p)
{
	uint8_t msg[3 + 255 + 1];
	char user[64];
	int ulen;

	/* Fresh circuits when the isolation changes (tor's IsolateSOCKSAuth). */
	ulen = snprintf(user, sizeof(user), "onionbalanced-probe-%u-%.16s",
	    p->isolation, p->address);
	if (ulen < 0 || (size_t)ulen >= sizeof(user))
		fatalx("probe username");
	msg[0] = 0x01;
	msg[1] = (uint8_t)ulen;
	memcpy(msg + 2, user, (size_t)ulen);
	msg[2 + ulen] = 1;
	msg[3 + ulen] = 'x';
	p->step = STEP_AUTH;
	return send_all(p, msg, 4 + (size_t)ulen);
}

static int
send_connect(struct socks_probe *p)
{
	uint8_t msg[7 + ONION_ADDRESS_LEN + 6];
	size_t hlen = ONION_ADDRESS_LEN + 6;	/* "<address>.onion" */

	msg[0] = 0x05;		/* version */
	msg[1] = 0x01;		/* CONNECT */
	msg[2] = 0x00;
	msg[3] = 0x03;		/* a domain name */
	msg[4] = (uint8_t)hlen;
	memcpy(msg + 5, p->address, ONION_ADDRESS_LEN);
	memcpy(msg + 5 + ONION_ADDRESS_LEN, ".onion", 6);
	msg[5 + hlen] = (uint8_t)(p->cfg.port >> 8);
	msg[6 + hlen] = (uint8_t)(p->cfg.port & 0xff);
	p->step = STEP_CONNECT;
	return send_all(p, msg, 7 + hlen);
}

static int
send_http(struct socks_probe *p)
{
	char req[PROBE_PATH_MAX + ONION_ADDRESS_LEN + 128];
	int n;

	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s.onion\r\n"
	    "User-Agent: onionbalanced-probe\r\nConnection: close\r\n\r\n",
	    p->cfg.path, p->address);
	if (n < 0 || (size_t)n >= sizeof(req))
		fatalx("probe request");
	p->step = STEP_HTTP;
	p->inlen = 0;
	return send_all(p, req, (size_t)n);
}

/* The length of the CONNECT reply once its first 5 bytes are here. */
static size_t
connect_reply_len(const uint8_t *in)
{
	switch (in[3]) {
	case 0x01:
		return 4 + 4 + 2;
	case 0x04:
		return 4 + 16 + 2;
	case 0x03:
		return 4 + 1 + (size_t)in[4] + 2;
	}
	return 0;
}

/* After tor's CONNECT reply: the verdict, or the health check. */
static void
connect_reply(struct socks_probe *p)
{
	enum probe_outcome outcome;
	const char *text;
	char detail[PEER_OUTCOME_MAX + 1];

	outcome = fetchd_probe_classify_socks(p->in[1], p->cfg.check, &text);
	if (outcome == PROBE_OK && p->cfg.check == PROBE_CHECK_HTTP) {
		(void)send_http(p);
		return;
	}
	if (outcome == PROBE_OK && p->cfg.check == PROBE_CHECK_TCP)
		text = "port accepted the stream";
	if (outcome == PROBE_CHECK_FAILED)
		snprintf(detail, sizeof(detail), "health check: %s", text);
	else
		snprintf(detail, sizeof(detail), "%s", text);
	finish(p, outcome, detail);
}

/* "HTTP/1.x NNN ...": 2xx and 3xx pass. */
static void
http_status(struct socks_probe *p, bool eof)
{
	const char *line = (const char *)p->in;
	char detail[PEER_OUTCOME_MAX + 1];
	int code;

	if (memchr(p->in, '\n', p->inlen) == NULL && !eof &&
	    p->inlen < sizeof(p->in))
		return;		/* not yet the whole line */
	if (p->inlen < 12 || memcmp(line, "HTTP/1.", 7) != 0 ||
	    line[8] != ' ' || line[9] < '1' || line[9] > '5' ||
	    line[10] < '0' || line[10] > '9' || line[11] < '0' ||
	    line[11] > '9') {
		finish(p, PROBE_CHECK_FAILED, p->inlen == 0 ?
		    "health check: connection closed without an answer" :
		    "health check: not an HTTP status line");
		return;
	}
	code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + line[11] - '0';
	snprintf(detail, sizeof(detail), "health check: HTTP %d", code);
	finish(p, code < 400 ? PROBE_OK : PROBE_CHECK_FAILED, detail);
}

/* What has arrived so far; each step knows how much it wants. */
static void
advance(struct socks_probe *p, bool eof)
{
	size_t want;

	switch (p->step) {
	case STEP_WAIT_FD:
		return;
	case STEP_METHOD:
		if (p->inlen < 2)
			break;
		if (p->in[0] != 0x05 || p->in[1] != 0x02) {
			finish(p, PROBE_INCONCLUSIVE, "tor's SOCKS port refused "
			    "username authentication");
			return;
		}
		p->inlen = 0;
		(void)send_auth(p);
		return;
	case STEP_AUTH:
		if (p->inlen < 2)
			break;
		if (p->in[1] != 0x00) {
			finish(p, PROBE_INCONCLUSIVE, "tor's SOCKS port refused "
			    "the username");
			return;
		}
		p->inlen = 0;
		(void)send_connect(p);
		return;
	case STEP_CONNECT:
		if (p->inlen < 5)
			break;
		if (p->in[0] != 0x05 || (want = connect_reply_len(p->in)) == 0) {
			finish(p, PROBE_INCONCLUSIVE, "malformed SOCKS reply");
			return;
		}
		if (p->inlen < want)
			break;
		connect_reply(p);
		return;
	case STEP_HTTP:
		http_status(p, eof);
		return;
	}
	if (eof)
		finish(p, PROBE_INCONCLUSIVE, "tor closed the SOCKS connection");
}

/*
 * How many bytes the current step reads in all: exactly the reply's size
 * for the SOCKS steps (the CONNECT reply's from its first 5 bytes), up to
 * the buffer for the HTTP status line.
 */
static size_t
step_size(const struct socks_probe *p)
{
	switch (p->step) {
	case STEP_METHOD:
	case STEP_AUTH:
		return 2;
	case STEP_CONNECT:
		return p->inlen < 5 ? 5 : connect_reply_len(p->in);
	case STEP_HTTP:
		return sizeof(p->in);
	case STEP_WAIT_FD:
		break;
	}
	return 0;
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct socks_probe *p = arg;
	size_t want = step_size(p);
	ssize_t n;

	/* advance() ends a probe whose reply has an unknown size. */
	if (want <= p->inlen || want > sizeof(p->in)) {
		finish(p, PROBE_INCONCLUSIVE, "malformed SOCKS reply");
		return;
	}
	n = read(fd, p->in + p->inlen, want - p->inlen);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		finish(p, p->step == STEP_HTTP ? PROBE_CHECK_FAILED :
		    PROBE_INCONCLUSIVE, p->step == STEP_HTTP ?
		    "health check: read failed" : "SOCKS read failed");
		return;
	}
	p->inlen += (size_t)n;
	advance(p, n == 0);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct socks_probe *p = arg;
	char detail[64];

	if (p->step == STEP_WAIT_FD) {
		finish(p, PROBE_INCONCLUSIVE, "no SOCKS connection from the "
		    "parent in time");
		return;
	}
	snprintf(detail, sizeof(detail), "no answer in %u s%s",
	    p->cfg.timeout_s, p->step == STEP_HTTP ? " (health check)" : "");
	/* A health check with no answer is a timeout too (fetchd_probe.c). */
	finish(p, PROBE_TIMEOUT, detail);
}

int
socks_probe_start(struct socks_probes *sp, uint32_t id, const char *address,
    const struct fetchd_probe_config *cfg, uint32_t isolation)
{
	struct socks_probe *p;
	struct timeval tv;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->sp = sp;
	p->id = id;
	p->fd = -1;
	snprintf(p->address, sizeof(p->address), "%s", address);
	p->cfg = *cfg;
	p->isolation = isolation;
	p->step = STEP_WAIT_FD;
	if ((p->ev_timeout = evtimer_new(sp->base, on_timeout, p)) == NULL) {
		free(p);
		return -1;
	}
	tv.tv_sec = cfg->timeout_s;
	tv.tv_usec = 0;
	if (evtimer_add(p->ev_timeout, &tv) == -1)
		fatalx("probe timer");
	p->next = sp->list;
	sp->list = p;
	sp->ops.request_fd(sp->ops.arg, id);
	return 0;
}

void
socks_probe_fd(struct socks_probes *sp, uint32_t id, int fd, const char *why)
{
	struct socks_probe *p;
	char detail[PEER_OUTCOME_MAX + 1];
	int flags;

	for (p = sp->list; p != NULL; p = p->next)
		if (p->id == id && p->step == STEP_WAIT_FD)
			break;
	if (p == NULL) {
		/* Timed out meanwhile. */
		if (fd != -1 && close(fd) == -1)
			log_warn("late probe connection: close");
		return;
	}
	if (fd == -1) {
		snprintf(detail, sizeof(detail), "no SOCKS connection: %s", why);
		finish(p, PROBE_INCONCLUSIVE, detail);
		return;
	}
	p->fd = fd;
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("probe connection: fcntl");
	if ((p->ev_io = event_new(sp->base, fd, EV_READ | EV_PERSIST,
	    on_readable, p)) == NULL || event_add(p->ev_io, NULL) == -1)
		fatalx("probe connection: event");
	(void)send_methods(p);
}

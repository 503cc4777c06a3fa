#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <sodium.h>

#include "log.h"
#include "torctl.h"
#include "torctl_events.h"

#define DEFAULT_REPLY_TIMEOUT_MS	120000
#define DEFAULT_BACKOFF_MIN_MS		1000
#define DEFAULT_BACKOFF_MAX_MS		60000
#define CMD_NAME_LEN			24

enum torctl_state {
	TORCTL_DISCONNECTED,
	TORCTL_AUTHENTICATING,	/* connecting, then PROTOCOLINFO ... */
	TORCTL_READY,
};

struct torctl_cmd {
	TAILQ_ENTRY(torctl_cmd)	 entry;
	char			 name[CMD_NAME_LEN];	/* for logs */
	torctl_reply_cb		*cb;
	void			*arg;
};

struct torctl_sub {
	TAILQ_ENTRY(torctl_sub)	 entry;
	char			*keyword;
	torctl_event_cb		*cb;
	void			*arg;
};

struct torctl {
	struct event_base	*base;
	struct torctl_config	 cfg;		/* strings below are copies */
	char			*host;
	char			*unix_path;
	char			*password;
	char			*cookie_path;
	bool			 have_cookie_buf;
	uint8_t			 cookie_buf[TORCTL_COOKIE_LEN];

	enum torctl_state	 state;
	struct bufferevent	*bev;
	struct torctl_parser	 parser;
	TAILQ_HEAD(, torctl_cmd) cmds;
	TAILQ_HEAD(, torctl_sub) subs;
	struct event		*timeout_ev;
	struct event		*retry_ev;
	unsigned		 backoff_ms;
	uint64_t		 ready_ms;	/* monotonic; last authentication */
	/* Bumped whenever a connection goes, so loops notice. */
	unsigned		 generation;
	int			 busy;		/* inside our callbacks */
	bool			 dying;		/* torctl_free() while busy */

	/* Authentication of the current connection. */
	enum torctl_auth_method	 auth_method;
	uint8_t			 cookie[TORCTL_COOKIE_LEN];
	uint8_t			 client_nonce[TORCTL_NONCE_LEN];
};

static void	connect_now(struct torctl *);
static void	conn_lost(struct torctl *, const char *, enum torctl_status);

static bool
have_address(const struct torctl *ctl)
{
	return ctl->unix_path != NULL || ctl->host != NULL;
}

static void
destroy(struct torctl *ctl)
{
	struct torctl_sub *sub;

	while ((sub = TAILQ_FIRST(&ctl->subs)) != NULL) {
		TAILQ_REMOVE(&ctl->subs, sub, entry);
		free(sub->keyword);
		free(sub);
	}
	event_free(ctl->timeout_ev);
	event_free(ctl->retry_ev);
	torctl_parser_clear(&ctl->parser);
	free(ctl->host);
	free(ctl->unix_path);
	if (ctl->password != NULL) {
		sodium_memzero(ctl->password, strlen(ctl->password));
		free(ctl->password);
	}
	free(ctl->cookie_path);
	sodium_memzero(ctl, sizeof(*ctl));
	free(ctl);
}

/* Called on the way out of every entry point that runs user callbacks. */
static void
leave(struct torctl *ctl)
{
	if (--ctl->busy == 0 && ctl->dying)
		destroy(ctl);
}

static void
fail_all(struct torctl *ctl, enum torctl_status first)
{
	struct torctl_cmd *cmd;
	enum torctl_status st = first;

	while ((cmd = TAILQ_FIRST(&ctl->cmds)) != NULL) {
		TAILQ_REMOVE(&ctl->cmds, cmd, entry);
		if (cmd->cb != NULL)
			cmd->cb(ctl, st, NULL, cmd->arg);
		free(cmd);
		st = TORCTL_CLOSED;
	}
}

/* Drops the connection, if any, without telling anyone. */
static void
conn_close(struct torctl *ctl)
{
	if (ctl->bev != NULL) {
		bufferevent_free(ctl->bev);
		ctl->bev = NULL;
	}
	torctl_parser_clear(&ctl->parser);
	evtimer_del(ctl->timeout_ev);
	ctl->generation++;
	ctl->state = TORCTL_DISCONNECTED;
	sodium_memzero(ctl->cookie, sizeof(ctl->cookie));
	sodium_memzero(ctl->client_nonce, sizeof(ctl->client_nonce));
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Half to all of the backoff, at random: clients lost together spread. */
static void
schedule_retry(struct torctl *ctl)
{
	struct timeval tv;
	unsigned half = ctl->backoff_ms / 2, ms;

	ms = half + randombytes_uniform(half + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	log_info("tor control: reconnecting in %u ms", ms);
	evtimer_add(ctl->retry_ev, &tv);
	if (ctl->backoff_ms < ctl->cfg.backoff_max_ms / 2)
		ctl->backoff_ms *= 2;
	else
		ctl->backoff_ms = ctl->cfg.backoff_max_ms;
}

/*
 * The connection is gone (or must go): every command fails, the caller
 * hears it, and we come back later if we know where to.
 */
static void
conn_lost(struct torctl *ctl, const char *reason, enum torctl_status first)
{
	bool was_ready = ctl->state == TORCTL_READY;
	bool tell;

	if (ctl->state == TORCTL_DISCONNECTED)
		return;
	/*
	 * Only a connection that served a while starts the backoff again: a
	 * tor that authenticates and then breaks the protocol or refuses
	 * what we need must not get a new connection at once, every time.
	 */
	if (was_ready && now_ms() - ctl->ready_ms >= ctl->cfg.backoff_max_ms)
		ctl->backoff_ms = ctl->cfg.backoff_min_ms;
	tell = !ctl->dying && (was_ready || !have_address(ctl)) &&
	    ctl->cfg.on_conn != NULL;
	/* an owner we tell logs the loss with what it does about it */
	if (tell)
		log_info("tor control connection lost: %s", reason);
	else
		log_warnx("tor control connection lost: %s", reason);
	conn_close(ctl);
	ctl->busy++;
	fail_all(ctl, first);
	if (tell)
		ctl->cfg.on_conn(ctl, false, reason, ctl->cfg.arg);
	if (!ctl->dying && have_address(ctl) &&
	    ctl->state == TORCTL_DISCONNECTED)
		schedule_retry(ctl);
	leave(ctl);
}

static void
arm_reply_timer(struct torctl *ctl)
{
	struct timeval tv;

	tv.tv_sec = ctl->cfg.reply_timeout_ms / 1000;
	tv.tv_usec = (ctl->cfg.reply_timeout_ms % 1000) * 1000;
	evtimer_add(ctl->timeout_ev, &tv);
}

/*
 * Queues a command whose bytes (with CRLF, and data block if any) are in
 * wire; wire is emptied.
 */
static int
enqueue(struct torctl *ctl, struct evbuffer *wire, torctl_reply_cb *cb,
    void *arg)
{
	struct torctl_cmd *cmd;
	size_t n;

	if (ctl->bev == NULL || (cmd = calloc(1, sizeof(*cmd))) == NULL)
		return -1;
	n = evbuffer_copyout(wire, cmd->name, sizeof(cmd->name) - 1);
	cmd->name[n > 0 ? strcspn(cmd->name, " \r\n") : 0] = '\0';
	if (evbuffer_add_buffer(bufferevent_get_output(ctl->bev), wire) != 0) {
		free(cmd);
		return -1;
	}
	cmd->cb = cb;
	cmd->arg = arg;
	if (TAILQ_EMPTY(&ctl->cmds))
		arm_reply_timer(ctl);
	TAILQ_INSERT_TAIL(&ctl->cmds, cmd, entry);
	log_debug("tor control: sent %s", cmd->name);
	return 0;
}

/* Queues a single-line command built by the caller from valid parts. */
static int
enqueue_line(struct torctl *ctl, const char *line, torctl_reply_cb *cb,
    void *arg)
{
	struct evbuffer *wire;
	int rv = -1;

	if ((wire = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add(wire, line, strlen(line)) == 0 &&
	    evbuffer_add(wire, "\r\n", 2) == 0)
		rv = enqueue(ctl, wire, cb, arg);
	evbuffer_free(wire);
	return rv;
}

static void
wipe_and_free(const void *data, size_t len, void *extra)
{
	sodium_memzero(extra, len);
	free(extra);
}

/*
 * Queues a command that carries a secret: the bytes stay in our own
 * buffer, which libevent hands back for wiping once they are written.
 */
static int
enqueue_secret(struct torctl *ctl, char *line, torctl_reply_cb *cb,
    void *arg)
{
	struct evbuffer *wire;
	size_t len = strlen(line);
	char *copy;
	int rv = -1;

	if ((copy = malloc(len + 2)) == NULL)
		return -1;
	memcpy(copy, line, len);
	memcpy(copy + len, "\r\n", 2);
	if ((wire = evbuffer_new()) == NULL) {
		wipe_and_free(copy, len + 2, copy);
		return -1;
	}
	if (evbuffer_add_reference(wire, copy, len + 2, wipe_and_free,
	    copy) == 0)
		rv = enqueue(ctl, wire, cb, arg);
	else
		wipe_and_free(copy, len + 2, copy);
	evbuffer_free(wire);
	return rv;
}

/* Authentication failed: log why and drop the connection. */
static void
auth_fail(struct torctl *ctl, const char *why, const struct torctl_reply *r)
{
	char reason[256];

	if (r != NULL)
		snprintf(reason, sizeof(reason), "authentication failed: %s: "
		    "%u %s", why, r->code, torctl_reply_message(r));
	else
		snprintf(reason, sizeof(reason), "authentication failed: %s",
		    why);
	conn_lost(ctl, reason, TORCTL_CLOSED);
}

static void
auth_done(struct torctl *ctl, enum torctl_status st,
    const struct torctl_reply *r, void *arg)
{
	if (st == TORCTL_TIMEOUT || st == TORCTL_CLOSED)
		return;
	if (st != TORCTL_OK) {
		auth_fail(ctl, "AUTHENTICATE refused", r);
		return;
	}
	sodium_memzero(ctl->cookie, sizeof(ctl->cookie));
	ctl->state = TORCTL_READY;
	ctl->ready_ms = now_ms();
	log_info("tor control: authenticated (%s)",
	    torctl_auth_method_str(ctl->auth_method));
	if (ctl->cfg.on_conn != NULL)
		ctl->cfg.on_conn(ctl, true, NULL, ctl->cfg.arg);
}

/* "AUTHENTICATE <hex>" of len secret bytes; the temporaries are wiped. */
static int
authenticate_hex(struct torctl *ctl, const uint8_t *secret, size_t len)
{
	char line[sizeof("AUTHENTICATE ") + 2 * TORCTL_HASH_LEN];
	int rv;

	memcpy(line, "AUTHENTICATE ", 13);
	sodium_bin2hex(line + 13, sizeof(line) - 13, secret, len);
	rv = enqueue_secret(ctl, line, auth_done, NULL);
	sodium_memzero(line, sizeof(line));
	return rv;
}

static void
authchallenge_done(struct torctl *ctl, enum torctl_status st,
    const struct torctl_reply *r, void *arg)
{
	uint8_t server_hash[TORCTL_HASH_LEN], server_nonce[TORCTL_NONCE_LEN];
	uint8_t client_hash[TORCTL_HASH_LEN];
	const char *why;

	if (st == TORCTL_TIMEOUT || st == TORCTL_CLOSED)
		return;
	if (torctl_parse_authchallenge(r, server_hash, server_nonce,
	    &why) == -1) {
		auth_fail(ctl, why, st == TORCTL_OK ? NULL : r);
		return;
	}
	/* A tor that cannot prove it knows the cookie gets nothing from us. */
	if (torctl_safecookie_respond(ctl->cookie, ctl->client_nonce,
	    server_nonce, server_hash, client_hash) == -1) {
		auth_fail(ctl, "SAFECOOKIE server hash is wrong (tor does "
		    "not know our cookie)", NULL);
		return;
	}
	if (authenticate_hex(ctl, client_hash, sizeof(client_hash)) == -1)
		auth_fail(ctl, "cannot queue AUTHENTICATE", NULL);
	sodium_memzero(client_hash, sizeof(client_hash));
}

static int
start_safecookie(struct torctl *ctl)
{
	char line[sizeof("AUTHCHALLENGE SAFECOOKIE ") + 2 * TORCTL_NONCE_LEN];

	randombytes_buf(ctl->client_nonce, sizeof(ctl->client_nonce));
	memcpy(line, "AUTHCHALLENGE SAFECOOKIE ", 25);
	sodium_bin2hex(line + 25, sizeof(line) - 25, ctl->client_nonce,
	    sizeof(ctl->client_nonce));
	return enqueue_line(ctl, line, authchallenge_done, NULL);
}

static int
start_password(struct torctl *ctl)
{
	/* Every byte may double when quoted. */
	size_t cap = sizeof("AUTHENTICATE ") + 2 * strlen(ctl->password) + 2;
	char *line;
	int rv = -1;

	if ((line = malloc(cap)) == NULL)
		return -1;
	memcpy(line, "AUTHENTICATE ", 13);
	if (torctl_quote_string(ctl->password, line + 13, cap - 13) == 0)
		rv = enqueue_secret(ctl, line, auth_done, NULL);
	sodium_memzero(line, cap);
	free(line);
	return rv;
}

/* Gets the cookie into ctl->cookie from wherever the config says. */
static bool
load_cookie(struct torctl *ctl, const struct torctl_protocolinfo *pi)
{
	const char *path = ctl->cookie_path;

	if (ctl->have_cookie_buf) {
		memcpy(ctl->cookie, ctl->cookie_buf, sizeof(ctl->cookie));
		return true;
	}
	if (path == NULL && pi->cookie_file[0] != '\0')
		path = pi->cookie_file;
	if (path == NULL)
		return false;
	if (torctl_cookie_read_path(path, ctl->cookie) == -1) {
		log_warn("tor control: cannot read cookie file %s", path);
		return false;
	}
	return true;
}

static void
protocolinfo_done(struct torctl *ctl, enum torctl_status st,
    const struct torctl_reply *r, void *arg)
{
	struct torctl_protocolinfo pi;
	const unsigned cookies = TORCTL_AUTH_SAFECOOKIE | TORCTL_AUTH_COOKIE;
	bool have_cookie = false;
	const char *why;
	int rv = -1;

	if (st == TORCTL_TIMEOUT || st == TORCTL_CLOSED)
		return;
	if (torctl_parse_protocolinfo(r, &pi, &why) == -1) {
		auth_fail(ctl, why, st == TORCTL_OK ? NULL : r);
		return;
	}
	if (pi.methods & ctl->cfg.auth_methods & cookies)
		have_cookie = load_cookie(ctl, &pi);
	ctl->auth_method = torctl_auth_choose(pi.methods,
	    ctl->cfg.auth_methods, have_cookie, ctl->password != NULL);
	log_debug("tor control: tor %s offers methods 0x%x, using %s",
	    pi.version, pi.methods, torctl_auth_method_str(ctl->auth_method));
	switch (ctl->auth_method) {
	case TORCTL_AUTH_SAFECOOKIE:
		rv = start_safecookie(ctl);
		break;
	case TORCTL_AUTH_COOKIE:
		rv = authenticate_hex(ctl, ctl->cookie, sizeof(ctl->cookie));
		break;
	case TORCTL_AUTH_HASHEDPASSWORD:
		rv = start_password(ctl);
		break;
	case TORCTL_AUTH_NULL:
		rv = enqueue_line(ctl, "AUTHENTICATE", auth_done, NULL);
		break;
	case TORCTL_AUTH_NONE:
		auth_fail(ctl, "no authentication method that both tor and "
		    "we accept", NULL);
		return;
	}
	if (rv == -1)
		auth_fail(ctl, "cannot queue the authentication", NULL);
}

/* A new bufferevent (connecting or connected): start with PROTOCOLINFO. */
static int
begin_auth(struct torctl *ctl)
{
	ctl->state = TORCTL_AUTHENTICATING;
	ctl->auth_method = TORCTL_AUTH_NONE;
	return enqueue_line(ctl, "PROTOCOLINFO 1", protocolinfo_done, NULL);
}

static void
dispatch_event(struct torctl *ctl, const struct torctl_reply *r)
{
	struct torctl_sub *sub;
	char keyword[64];
	bool delivered = false;

	if (torctl_event_keyword(r, keyword, sizeof(keyword)) == -1) {
		log_warnx("tor control: event without a keyword, dropped");
		return;
	}
	TAILQ_FOREACH(sub, &ctl->subs, entry) {
		if (ctl->dying)
			return;
		if (strcmp(sub->keyword, keyword) == 0) {
			sub->cb(ctl, r, sub->arg);
			delivered = true;
		}
	}
	if (!delivered)
		log_debug("tor control: no subscriber for %s event", keyword);
}

static void
dispatch_reply(struct torctl *ctl, const struct torctl_reply *r)
{
	struct torctl_cmd *cmd;
	enum torctl_status st;

	if (torctl_reply_is_event(r)) {
		dispatch_event(ctl, r);
		return;
	}
	if ((cmd = TAILQ_FIRST(&ctl->cmds)) == NULL) {
		conn_lost(ctl, "protocol violation: a reply to no command",
		    TORCTL_CLOSED);
		return;
	}
	TAILQ_REMOVE(&ctl->cmds, cmd, entry);
	evtimer_del(ctl->timeout_ev);
	if (!TAILQ_EMPTY(&ctl->cmds))
		arm_reply_timer(ctl);
	st = r->code / 100 == 2 ? TORCTL_OK : TORCTL_REJECTED;
	if (st == TORCTL_REJECTED)
		log_debug("tor control: %s: %u %s", cmd->name, r->code,
		    torctl_reply_message(r));
	if (cmd->cb != NULL)
		cmd->cb(ctl, st, r, cmd->arg);
	free(cmd);
}

/*
 * Feeds what tor sent to the parser and dispatches each reply.  Stops as
 * soon as a callback or a violation ends this connection.
 */
static void
process_input(struct torctl *ctl)
{
	struct evbuffer *in = bufferevent_get_input(ctl->bev);
	unsigned gen = ctl->generation;
	struct torctl_reply *r;
	enum torctl_feed rv;
	char buf[16384], reason[160];
	ev_ssize_t n;
	size_t used;

	while ((n = evbuffer_copyout(in, buf, sizeof(buf))) > 0) {
		rv = torctl_parser_feed(&ctl->parser, buf, (size_t)n, &used,
		    &r);
		evbuffer_drain(in, used);
		if (rv == TORCTL_FEED_ERROR) {
			snprintf(reason, sizeof(reason),
			    "protocol violation: %s",
			    torctl_parser_why(&ctl->parser));
			conn_lost(ctl, reason, TORCTL_CLOSED);
			return;
		}
		if (rv == TORCTL_FEED_REPLY) {
			dispatch_reply(ctl, r);
			torctl_reply_free(r);
			if (gen != ctl->generation || ctl->dying)
				return;
		}
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct torctl *ctl = arg;

	ctl->busy++;
	process_input(ctl);
	leave(ctl);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct torctl *ctl = arg;
	unsigned gen = ctl->generation;
	char reason[160];

	if (what & BEV_EVENT_CONNECTED) {
		log_debug("tor control: connected");
		return;
	}
	ctl->busy++;
	if (what & BEV_EVENT_EOF) {
		process_input(ctl);
		if (gen == ctl->generation && !ctl->dying) {
			if (torctl_parser_finish(&ctl->parser) == -1)
				snprintf(reason, sizeof(reason), "tor closed "
				    "the connection: %s",
				    torctl_parser_why(&ctl->parser));
			else
				snprintf(reason, sizeof(reason),
				    "tor closed the connection");
			conn_lost(ctl, reason, TORCTL_CLOSED);
		}
	} else if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		snprintf(reason, sizeof(reason), "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		conn_lost(ctl, reason, TORCTL_CLOSED);
	}
	leave(ctl);
}

static void
reply_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct torctl *ctl = arg;
	struct torctl_cmd *cmd = TAILQ_FIRST(&ctl->cmds);
	char reason[96];

	snprintf(reason, sizeof(reason), "no reply to %s within %u ms",
	    cmd != NULL ? cmd->name : "?", ctl->cfg.reply_timeout_ms);
	ctl->busy++;
	conn_lost(ctl, reason, TORCTL_TIMEOUT);
	leave(ctl);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct torctl *ctl = arg;

	ctl->busy++;
	connect_now(ctl);
	leave(ctl);
}

static struct bufferevent *
new_bev(struct torctl *ctl, evutil_socket_t fd)
{
	struct bufferevent *bev;

	bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;
	bufferevent_setcb(bev, read_cb, NULL, event_cb, ctl);
	if (bufferevent_enable(bev, EV_READ | EV_WRITE) != 0) {
		bufferevent_free(bev);
		return NULL;
	}
	return bev;
}

static socklen_t
make_sockaddr(const struct torctl *ctl, struct sockaddr_storage *ss)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (ctl->unix_path != NULL) {
		if (strlen(ctl->unix_path) >= sizeof(sun->sun_path))
			return 0;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, ctl->unix_path);
		return sizeof(*sun);
	}
	if (evutil_inet_pton(AF_INET, ctl->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(ctl->cfg.port);
		return sizeof(*sin);
	}
	if (evutil_inet_pton(AF_INET6, ctl->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ctl->cfg.port);
		return sizeof(*sin6);
	}
	return 0;
}

static void
connect_now(struct torctl *ctl)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if ((len = make_sockaddr(ctl, &ss)) == 0)
		fatalx("tor control: bad address");	/* torctl_new checked */
	if ((ctl->bev = new_bev(ctl, -1)) == NULL) {
		log_warnx("tor control: cannot create a bufferevent");
		schedule_retry(ctl);
		return;
	}
	ctl->state = TORCTL_AUTHENTICATING;
	/* A refused connect is reported to event_cb, like any error. */
	if (bufferevent_socket_connect(ctl->bev, (struct sockaddr *)&ss,
	    (int)len) != 0) {
		conn_lost(ctl, "connect failed", TORCTL_CLOSED);
		return;
	}
	if (begin_auth(ctl) == -1)
		conn_lost(ctl, "cannot queue PROTOCOLINFO", TORCTL_CLOSED);
}

static int
copy_config(struct torctl *ctl, const struct torctl_config *cfg)
{
	struct sockaddr_storage ss;

	ctl->cfg = *cfg;
	if (ctl->cfg.auth_methods == 0)
		ctl->cfg.auth_methods = TORCTL_AUTH_ALL;
	if (ctl->cfg.reply_timeout_ms == 0)
		ctl->cfg.reply_timeout_ms = DEFAULT_REPLY_TIMEOUT_MS;
	if (ctl->cfg.backoff_min_ms == 0)
		ctl->cfg.backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
	if (ctl->cfg.backoff_max_ms < ctl->cfg.backoff_min_ms)
		ctl->cfg.backoff_max_ms = ctl->cfg.backoff_min_ms <
		    DEFAULT_BACKOFF_MAX_MS ? DEFAULT_BACKOFF_MAX_MS :
		    ctl->cfg.backoff_min_ms;
	ctl->backoff_ms = ctl->cfg.backoff_min_ms;
	if ((cfg->host != NULL && (ctl->host = strdup(cfg->host)) == NULL) ||
	    (cfg->unix_path != NULL &&
	    (ctl->unix_path = strdup(cfg->unix_path)) == NULL) ||
	    (cfg->password != NULL &&
	    (ctl->password = strdup(cfg->password)) == NULL) ||
	    (cfg->cookie_path != NULL &&
	    (ctl->cookie_path = strdup(cfg->cookie_path)) == NULL))
		return -1;
	/* The copies replace the caller's pointers, which may go away. */
	ctl->cfg.host = ctl->cfg.unix_path = ctl->cfg.password = NULL;
	ctl->cfg.cookie_path = NULL;
	ctl->cfg.cookie = NULL;
	if (cfg->cookie != NULL) {
		memcpy(ctl->cookie_buf, cfg->cookie, TORCTL_COOKIE_LEN);
		ctl->have_cookie_buf = true;
	}
	if (have_address(ctl) && make_sockaddr(ctl, &ss) == 0) {
		log_warnx("tor control: bad address %s",
		    ctl->unix_path ? ctl->unix_path : ctl->host);
		return -1;
	}
	return 0;
}

struct torctl *
torctl_new(struct event_base *base, const struct torctl_config *cfg)
{
	struct torctl *ctl;

	if (sodium_init() < 0 || (ctl = calloc(1, sizeof(*ctl))) == NULL)
		return NULL;
	ctl->base = base;
	TAILQ_INIT(&ctl->cmds);
	TAILQ_INIT(&ctl->subs);
	torctl_parser_init(&ctl->parser, &cfg->limits);
	ctl->timeout_ev = evtimer_new(base, reply_timeout_cb, ctl);
	ctl->retry_ev = evtimer_new(base, retry_cb, ctl);
	if (ctl->timeout_ev == NULL || ctl->retry_ev == NULL ||
	    copy_config(ctl, cfg) == -1) {
		destroy(ctl);
		return NULL;
	}
	return ctl;
}

int
torctl_start(struct torctl *ctl)
{
	if (!have_address(ctl) || ctl->state != TORCTL_DISCONNECTED ||
	    evtimer_pending(ctl->retry_ev, NULL))
		return -1;
	ctl->busy++;
	connect_now(ctl);
	leave(ctl);
	return 0;
}

int
torctl_adopt_fd(struct torctl *ctl, int fd, bool authenticated)
{
	if (ctl->state != TORCTL_DISCONNECTED || ctl->dying ||
	    evutil_make_socket_nonblocking(fd) != 0)
		return -1;
	evtimer_del(ctl->retry_ev);
	if ((ctl->bev = new_bev(ctl, fd)) == NULL)
		return -1;
	ctl->busy++;
	if (authenticated) {
		ctl->state = TORCTL_READY;
		if (ctl->cfg.on_conn != NULL)
			ctl->cfg.on_conn(ctl, true, NULL, ctl->cfg.arg);
	} else if (begin_auth(ctl) == -1)
		conn_lost(ctl, "cannot queue PROTOCOLINFO", TORCTL_CLOSED);
	leave(ctl);
	return 0;
}

void
torctl_free(struct torctl *ctl)
{
	if (ctl == NULL || ctl->dying)
		return;
	ctl->dying = true;
	ctl->busy++;
	conn_close(ctl);
	fail_all(ctl, TORCTL_CLOSED);
	leave(ctl);
}

void
torctl_drop(struct torctl *ctl, const char *reason)
{
	if (ctl == NULL || ctl->dying)
		return;
	ctl->busy++;
	conn_lost(ctl, reason, TORCTL_CLOSED);
	leave(ctl);
}

bool
torctl_is_ready(const struct torctl *ctl)
{
	return ctl->state == TORCTL_READY && !ctl->dying;
}

enum torctl_auth_method
torctl_auth_used(const struct torctl *ctl)
{
	return ctl->auth_method;
}

int
torctl_subscribe(struct torctl *ctl, const char *keyword, torctl_event_cb *cb,
    void *arg)
{
	struct torctl_sub *sub;

	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return -1;
	if ((sub->keyword = strdup(keyword)) == NULL) {
		free(sub);
		return -1;
	}
	sub->cb = cb;
	sub->arg = arg;
	TAILQ_INSERT_TAIL(&ctl->subs, sub, entry);
	return 0;
}

/* Printable ASCII, no CR, LF or other control character. */
static bool
valid_line(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* A word inside a command: printable ASCII without space or quote. */
static bool
valid_word(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s > 0x7e || *s == '"')
			return false;
	return true;
}

int
torctl_command(struct torctl *ctl, const char *line, torctl_reply_cb *cb,
    void *arg)
{
	if (!torctl_is_ready(ctl) || *line == '\0' || !valid_line(line))
		return -1;
	return enqueue_line(ctl, line, cb, arg);
}

/* Appends data as a dot-stuffed data block with CRLF line ends. */
static int
add_data_block(struct evbuffer *wire, const char *data, size_t len)
{
	const char *lf;
	size_t n;

	if (memchr(data, '\r', len) != NULL || memchr(data, '\0', len) != NULL)
		return -1;
	while (len > 0) {
		lf = memchr(data, '\n', len);
		n = lf != NULL ? (size_t)(lf - data) : len;
		if ((n > 0 && data[0] == '.' && evbuffer_add(wire, ".", 1)) ||
		    evbuffer_add(wire, data, n) != 0 ||
		    evbuffer_add(wire, "\r\n", 2) != 0)
			return -1;
		n += lf != NULL;
		data += n;
		len -= n;
	}
	return evbuffer_add(wire, ".\r\n", 3);
}

int
torctl_command_data(struct torctl *ctl, const char *line, const char *data,
    size_t len, torctl_reply_cb *cb, void *arg)
{
	struct evbuffer *wire;
	int rv = -1;

	if (!torctl_is_ready(ctl) || *line == '\0' || !valid_line(line) ||
	    (wire = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add_printf(wire, "+%s\r\n", line) > 0 &&
	    add_data_block(wire, data, len) == 0)
		rv = enqueue(ctl, wire, cb, arg);
	evbuffer_free(wire);
	return rv;
}

bool
torctl_valid_onion(const char *address)
{
	return strlen(address) == 56 &&
	    strspn(address, "abcdefghijklmnopqrstuvwxyz234567") == 56;
}

bool
torctl_valid_server(const char *s)
{
	size_t nick;

	if (*s == '$')
		s++;
	if (strspn(s, "0123456789ABCDEFabcdef") != 40)
		return false;
	s += 40;
	if (*s == '\0')
		return true;
	if (*s != '~' && *s != '=')
		return false;
	nick = strlen(++s);
	return nick >= 1 && nick <= 19 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") == nick;
}

/* "KEYWORD w1 w2 ...", each word prefixed; ends the line with CRLF. */
static int
add_words(struct evbuffer *wire, const char *prefix,
    const char *const *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (evbuffer_add_printf(wire, " %s%s", prefix, words[i]) < 0)
			return -1;
	return 0;
}

static int
send_words(struct torctl *ctl, const char *keyword, const char *const *words,
    size_t n, torctl_reply_cb *cb, void *arg)
{
	struct evbuffer *wire;
	int rv = -1;

	if (!torctl_is_ready(ctl) || (wire = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add(wire, keyword, strlen(keyword)) == 0 &&
	    add_words(wire, "", words, n) == 0 &&
	    evbuffer_add(wire, "\r\n", 2) == 0)
		rv = enqueue(ctl, wire, cb, arg);
	evbuffer_free(wire);
	return rv;
}

int
torctl_getinfo(struct torctl *ctl, const char *const *keys, size_t nkeys,
    torctl_reply_cb *cb, void *arg)
{
	size_t i;

	if (nkeys == 0)
		return -1;
	for (i = 0; i < nkeys; i++)
		if (!valid_word(keys[i]) || strchr(keys[i], '=') != NULL)
			return -1;
	return send_words(ctl, "GETINFO", keys, nkeys, cb, arg);
}

int
torctl_setevents(struct torctl *ctl, const char *const *events,
    size_t nevents, torctl_reply_cb *cb, void *arg)
{
	size_t i;

	for (i = 0; i < nevents; i++)
		if (*events[i] == '\0' || strspn(events[i],
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != strlen(events[i]))
			return -1;
	return send_words(ctl, "SETEVENTS", events, nevents, cb, arg);
}

int
torctl_signal(struct torctl *ctl, const char *signal_name,
    torctl_reply_cb *cb, void *arg)
{
	if (*signal_name == '\0' || strspn(signal_name,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(signal_name))
		return -1;
	return send_words(ctl, "SIGNAL", &signal_name, 1, cb, arg);
}

/*
 * The key travels in a buffer of ours that is wiped once written
 * (enqueue_secret()); the log names only the command.
 */
int
torctl_onion_client_auth_add(struct torctl *ctl, const char *address,
    const uint8_t key[32], torctl_reply_cb *cb, void *arg)
{
	char b64[sodium_base64_ENCODED_LEN(32,
	    sodium_base64_VARIANT_ORIGINAL)];
	char line[sizeof("ONION_CLIENT_AUTH_ADD  x25519:") + 56 + sizeof(b64)];
	int n, rv = -1;

	if (!torctl_is_ready(ctl) || !torctl_valid_onion(address))
		return -1;
	sodium_bin2base64(b64, sizeof(b64), key, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(line, sizeof(line), "ONION_CLIENT_AUTH_ADD %s x25519:%s",
	    address, b64);
	if (n > 0 && (size_t)n < sizeof(line))
		rv = enqueue_secret(ctl, line, cb, arg);
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(line, sizeof(line));
	return rv;
}

int
torctl_onion_client_auth_remove(struct torctl *ctl, const char *address,
    torctl_reply_cb *cb, void *arg)
{
	if (!torctl_valid_onion(address))
		return -1;
	return send_words(ctl, "ONION_CLIENT_AUTH_REMOVE", &address, 1, cb,
	    arg);
}

static bool
valid_servers(const char *const *servers, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!torctl_valid_server(servers[i]))
			return false;
	return true;
}

int
torctl_hsfetch(struct torctl *ctl, const char *address,
    const char *const *servers, size_t nservers, torctl_reply_cb *cb,
    void *arg)
{
	struct evbuffer *wire;
	int rv = -1;

	if (!torctl_is_ready(ctl) || !torctl_valid_onion(address) ||
	    !valid_servers(servers, nservers) ||
	    (wire = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add_printf(wire, "HSFETCH %s", address) > 0 &&
	    add_words(wire, "SERVER=", servers, nservers) == 0 &&
	    evbuffer_add(wire, "\r\n", 2) == 0)
		rv = enqueue(ctl, wire, cb, arg);
	evbuffer_free(wire);
	return rv;
}

int
torctl_hspost(struct torctl *ctl, const char *const *servers,
    size_t nservers, const char *address, const char *desc, size_t desc_len,
    torctl_reply_cb *cb, void *arg)
{
	struct evbuffer *wire;
	int rv = -1;

	if (!torctl_is_ready(ctl) || nservers == 0 ||
	    !valid_servers(servers, nservers) ||
	    !torctl_valid_onion(address) || (wire = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add(wire, "+HSPOST", 7) == 0 &&
	    add_words(wire, "SERVER=", servers, nservers) == 0 &&
	    evbuffer_add_printf(wire, " HSADDRESS=%s\r\n", address) > 0 &&
	    add_data_block(wire, desc, desc_len) == 0)
		rv = enqueue(ctl, wire, cb, arg);
	evbuffer_free(wire);
	return rv;
}

/*
 * The control-port client against a scripted fake tor in this process:
 * the client's end of a socketpair (or of a unix socket, for reconnects)
 * runs on a libevent loop that the test pumps; the test plays tor on the
 * other end, byte by byte where it matters.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "digest.h"
#include "log.h"
#include "torctl.h"
#include "test.h"

#define ADDR "vckzlz6oomfw62y2l4rl36gt2qmeyl4qb6qz633eamuh3wgjceb2myyd"
#define FPR "1DDC42DADEB7938D572E08DB959D65DA89EE836E"

/* What the callbacks saw. */
struct seen {
	int			 up, down;
	char			 reason[256];
	int			 replies;
	enum torctl_status	 status[8];
	uint16_t		 code[8];
	char			 msg[8][128];
	char			 version[32];
	char			 md[128];
	int			 events;
	char			 event[256];
	bool			 free_in_cb;
};

struct fake {
	struct event_base	*base;
	struct torctl		*ctl;
	int			 fd;		/* tor's end */
	char			 in[8192];	/* what the client sent */
	size_t			 inlen;
	struct seen		 seen;
};

static void
on_conn(struct torctl *ctl, bool connected, const char *reason, void *arg)
{
	struct seen *s = arg;

	if (connected)
		s->up++;
	else {
		s->down++;
		snprintf(s->reason, sizeof(s->reason), "%s", reason);
	}
}

static void
on_reply(struct torctl *ctl, enum torctl_status st,
    const struct torctl_reply *r, void *arg)
{
	struct seen *s = arg;
	const char *v;
	size_t len;
	int i = s->replies++;

	if (i >= 8)
		return;
	s->status[i] = st;
	if (r == NULL)
		return;
	s->code[i] = r->code;
	snprintf(s->msg[i], sizeof(s->msg[i]), "%s", torctl_reply_message(r));
	if ((v = torctl_reply_getinfo(r, "version", &len)) != NULL)
		snprintf(s->version, sizeof(s->version), "%.*s", (int)len, v);
	if ((v = torctl_reply_getinfo(r, "md/all", &len)) != NULL)
		snprintf(s->md, sizeof(s->md), "%.*s", (int)len, v);
	if (s->free_in_cb)
		torctl_free(ctl);
}

static void
on_event(struct torctl *ctl, const struct torctl_reply *ev, void *arg)
{
	struct seen *s = arg;

	s->events++;
	snprintf(s->event, sizeof(s->event), "%s", ev->lines[0].text);
}

static void
pump(struct fake *f)
{
	int i;

	for (i = 0; i < 4; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Runs the loop for about ms milliseconds. */
static void
run_for(struct fake *f, int ms)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < ms; i++) {
		pump(f);
		nanosleep(&ts, NULL);
	}
}

/* Collects what the client wrote until want bytes are there (or 2 s). */
static void
fake_fill(struct fake *f, size_t want)
{
	struct pollfd pfd = { f->fd, POLLIN, 0 };
	ssize_t n;
	int i;

	for (i = 0; i < 2000 && f->inlen < want; i++) {
		pump(f);
		if (poll(&pfd, 1, 1) != 1)
			continue;
		n = read(f->fd, f->in + f->inlen, sizeof(f->in) - 1 - f->inlen);
		if (n <= 0)
			break;
		f->inlen += (size_t)n;
	}
	f->in[f->inlen] = '\0';
}

/* The next line the client sent (without CRLF), or "" after 2 s. */
static void
fake_line(struct fake *f, char *out, size_t outlen)
{
	char *crlf;
	size_t n;

	while ((crlf = strstr(f->in, "\r\n")) == NULL) {
		n = f->inlen;
		fake_fill(f, n + 1);
		if (f->inlen == n)
			break;
	}
	if (crlf == NULL) {
		snprintf(out, outlen, "%s", "");
		return;
	}
	n = (size_t)(crlf - f->in);
	snprintf(out, outlen, "%.*s", (int)n, f->in);
	memmove(f->in, crlf + 2, f->inlen - n - 2 + 1);
	f->inlen -= n + 2;
}

static void
expect_line(struct fake *f, const char *want, int line)
{
	char got[1024];

	fake_line(f, got, sizeof(got));
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "line %d: client sent \"%s\", want \"%s\"\n",
		    line, got, want);
		test_failures++;
	}
}
#define EXPECT_LINE(f, want)	expect_line((f), (want), __LINE__)

static void
say(struct fake *f, const char *s)
{
	size_t n = strlen(s);

	if (write(f->fd, s, n) != (ssize_t)n)
		abort();
	pump(f);
}

/* Sends s one byte at a time, running the client's loop after each. */
static void
say_bytewise(struct fake *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (write(f->fd, s, 1) != 1)
			abort();
		pump(f);
	}
}

/* Nothing more from the client, and it is still (or no longer) there. */
static bool
client_silent(struct fake *f)
{
	size_t before = f->inlen;

	run_for(f, 5);
	fake_fill(f, before + 1);
	return f->inlen == before;
}

/* Waits for EOF from the client; what it sent meanwhile goes to f->in. */
static bool
client_closed(struct fake *f)
{
	ssize_t n;
	int i;

	for (i = 0; i < 200; i++) {
		pump(f);
		n = read(f->fd, f->in + f->inlen, sizeof(f->in) - 1 - f->inlen);
		if (n == 0)
			return true;
		if (n > 0) {
			f->inlen += (size_t)n;
			f->in[f->inlen] = '\0';
		}
		run_for(f, 1);
	}
	return false;
}

static void
fake_open(struct fake *f, struct torctl_config *cfg)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	if ((f->base = event_base_new()) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	f->fd = sv[1];
	if (fcntl(f->fd, F_SETFL, O_NONBLOCK) == -1)
		abort();
	cfg->on_conn = on_conn;
	cfg->arg = &f->seen;
	if ((f->ctl = torctl_new(f->base, cfg)) == NULL ||
	    torctl_adopt_fd(f->ctl, sv[0], false) != 0)
		abort();
	if (torctl_subscribe(f->ctl, "STATUS_CLIENT", on_event,
	    &f->seen) != 0)
		abort();
}

static void
fake_close(struct fake *f)
{
	torctl_free(f->ctl);
	close(f->fd);
	event_base_free(f->base);
}

/* PROTOCOLINFO offering methods, then AUTHENTICATE line, then 250 OK. */
static void
handshake(struct fake *f, const char *methods, const char *auth_line)
{
	char reply[256];

	EXPECT_LINE(f, "PROTOCOLINFO 1");
	snprintf(reply, sizeof(reply), "250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=%s\r\n250-VERSION Tor=\"0.4.9.11\"\r\n"
	    "250 OK\r\n", methods);
	say(f, reply);
	EXPECT_LINE(f, auth_line);
	say(f, "250 OK\r\n");
}

static void
connect_null(struct fake *f, struct torctl_config *cfg)
{
	fake_open(f, cfg);
	handshake(f, "NULL", "AUTHENTICATE");
	CHECK_INT_EQ(f->seen.up, 1);
	CHECK(torctl_is_ready(f->ctl));
	CHECK_INT_EQ(torctl_auth_used(f->ctl), TORCTL_AUTH_NULL);
}

static void
test_null_auth_getinfo_split_with_events(void)
{
	struct torctl_config cfg = { 0 };
	const char *keys[] = { "version", "md/all" };
	struct fake f;

	connect_null(&f, &cfg);
	CHECK_INT_EQ(torctl_getinfo(f.ctl, keys, 2, on_reply, &f.seen), 0);
	EXPECT_LINE(&f, "GETINFO version md/all");
	/* Every byte on its own, an event before, inside and after. */
	say_bytewise(&f, "650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n"
	    "250-version=0.4.9.11\r\n"
	    "650 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\r\n"
	    "250+md/all=\r\n"
	    "onion-key\r\n"
	    "..x\r\n"
	    ".\r\n"
	    "250 OK\r\n"
	    "650 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\r\n");
	CHECK_INT_EQ(f.seen.replies, 1);
	CHECK_INT_EQ(f.seen.status[0], TORCTL_OK);
	CHECK_STR_EQ(f.seen.version, "0.4.9.11");
	CHECK_STR_EQ(f.seen.md, "onion-key\n.x\n");
	CHECK_INT_EQ(f.seen.events, 3);
	CHECK_STR_EQ(f.seen.event, "STATUS_CLIENT NOTICE CONSENSUS_ARRIVED");
	fake_close(&f);
}

/* Replies go to commands in order; errors carry tor's text. */
static void
test_queue_order_and_errors(void)
{
	struct torctl_config cfg = { 0 };
	const char *ev[] = { "HS_DESC", "HS_DESC_CONTENT", "STATUS_CLIENT" };
	const char *servers[] = { "$" FPR "~r6" };
	struct fake f;

	connect_null(&f, &cfg);
	CHECK_INT_EQ(torctl_setevents(f.ctl, ev, 3, on_reply, &f.seen), 0);
	CHECK_INT_EQ(torctl_hsfetch(f.ctl, ADDR, servers, 1, on_reply,
	    &f.seen), 0);
	CHECK_INT_EQ(torctl_signal(f.ctl, "NEWNYM", on_reply, &f.seen), 0);
	CHECK_INT_EQ(torctl_hsfetch(f.ctl, ADDR, NULL, 0, on_reply, &f.seen),
	    0);
	EXPECT_LINE(&f, "SETEVENTS HS_DESC HS_DESC_CONTENT STATUS_CLIENT");
	EXPECT_LINE(&f, "HSFETCH " ADDR " SERVER=$" FPR "~r6");
	EXPECT_LINE(&f, "SIGNAL NEWNYM");
	EXPECT_LINE(&f, "HSFETCH " ADDR);
	say(&f, "250 OK\r\n552 Server \"$" FPR "~r6\" not found\r\n"
	    "250 OK\r\n250 OK\r\n");
	CHECK_INT_EQ(f.seen.replies, 4);
	CHECK_INT_EQ(f.seen.status[0], TORCTL_OK);
	CHECK_INT_EQ(f.seen.status[1], TORCTL_REJECTED);
	CHECK_INT_EQ(f.seen.code[1], 552);
	CHECK_STR_EQ(f.seen.msg[1], "Server \"$" FPR "~r6\" not found");
	CHECK_INT_EQ(f.seen.status[2], TORCTL_OK);
	CHECK_INT_EQ(f.seen.status[3], TORCTL_OK);
	CHECK(torctl_is_ready(f.ctl));
	fake_close(&f);
}

static void
test_hspost_wire_format(void)
{
	struct torctl_config cfg = { 0 };
	const char *servers[] = { FPR, "$" FPR "=r6" };
	const char desc[] = "hs-descriptor 3\n.dot line\n\n..\nlast";
	struct fake f;
	const char *want = "+HSPOST SERVER=" FPR " SERVER=$" FPR "=r6 "
	    "HSADDRESS=" ADDR "\r\n"
	    "hs-descriptor 3\r\n..dot line\r\n\r\n...\r\nlast\r\n.\r\n";

	connect_null(&f, &cfg);
	CHECK_INT_EQ(torctl_hspost(f.ctl, servers, 2, ADDR, desc,
	    sizeof(desc) - 1, on_reply, &f.seen), 0);
	fake_fill(&f, strlen(want));
	CHECK_STR_EQ(f.in, want);
	f.inlen = 0;
	say(&f, "250 OK\r\n");
	CHECK_INT_EQ(f.seen.replies, 1);
	CHECK_INT_EQ(f.seen.status[0], TORCTL_OK);
	fake_close(&f);
}

/* Nothing that could inject a command gets through, and nothing is sent. */
static void
test_argument_validation(void)
{
	struct torctl_config cfg = { 0 };
	const char *bad_ev[] = { "HS_DESC\r\nSIGNAL HALT" };
	const char *bad_key[] = { "version md/all" };
	const char *bad_srv[] = { FPR "\r\n" };
	const char *srv[] = { FPR };
	struct fake f;

	connect_null(&f, &cfg);
	CHECK_INT_EQ(torctl_command(f.ctl, "GETINFO x\r\nSIGNAL HALT", NULL,
	    NULL), -1);
	CHECK_INT_EQ(torctl_command(f.ctl, "", NULL, NULL), -1);
	CHECK_INT_EQ(torctl_setevents(f.ctl, bad_ev, 1, NULL, NULL), -1);
	CHECK_INT_EQ(torctl_getinfo(f.ctl, bad_key, 1, NULL, NULL), -1);
	CHECK_INT_EQ(torctl_getinfo(f.ctl, bad_key, 0, NULL, NULL), -1);
	CHECK_INT_EQ(torctl_hsfetch(f.ctl, ADDR ".onion", NULL, 0, NULL,
	    NULL), -1);
	CHECK_INT_EQ(torctl_hsfetch(f.ctl, ADDR, bad_srv, 1, NULL, NULL), -1);
	CHECK_INT_EQ(torctl_hsfetch(f.ctl, ADDR "\r\nSIGNAL HALT", NULL, 0,
	    NULL, NULL), -1);
	CHECK_INT_EQ(torctl_hspost(f.ctl, srv, 0, ADDR, "x\n", 2, NULL,
	    NULL), -1);
	CHECK_INT_EQ(torctl_hspost(f.ctl, srv, 1, ADDR, "x\r\n", 3, NULL,
	    NULL), -1);
	CHECK_INT_EQ(torctl_hspost(f.ctl, srv, 1, ADDR, "x\0y\n", 4, NULL,
	    NULL), -1);
	CHECK_INT_EQ(torctl_signal(f.ctl, "NEWNYM\r\nSIGNAL HALT", NULL,
	    NULL), -1);
	CHECK_INT_EQ(torctl_signal(f.ctl, "newnym", NULL, NULL), -1);
	CHECK(client_silent(&f));
	CHECK(!torctl_valid_server("$" FPR "~"));
	CHECK(!torctl_valid_server("$" FPR "~waytoolongnickname123"));
	CHECK(torctl_valid_server(FPR "~r6"));
	fake_close(&f);
}

static void
test_cookie_and_password(void)
{
	struct torctl_config cfg = { 0 };
	uint8_t cookie[TORCTL_COOKIE_LEN];
	char hex[2 * TORCTL_COOKIE_LEN + 1], line[128];
	struct fake f;

	memset(cookie, 0x5a, sizeof(cookie));
	sodium_bin2hex(hex, sizeof(hex), cookie, sizeof(cookie));
	cfg.cookie = cookie;
	cfg.password = "pa\"ss";
	cfg.auth_methods = TORCTL_AUTH_COOKIE | TORCTL_AUTH_HASHEDPASSWORD;
	fake_open(&f, &cfg);
	snprintf(line, sizeof(line), "AUTHENTICATE %s", hex);
	handshake(&f, "HASHEDPASSWORD,COOKIE,SAFECOOKIE", line);
	CHECK_INT_EQ(torctl_auth_used(f.ctl), TORCTL_AUTH_COOKIE);
	CHECK_INT_EQ(f.seen.up, 1);
	fake_close(&f);

	cfg.auth_methods = 0;
	fake_open(&f, &cfg);
	handshake(&f, "HASHEDPASSWORD,NULL", "AUTHENTICATE \"pa\\\"ss\"");
	CHECK_INT_EQ(torctl_auth_used(f.ctl), TORCTL_AUTH_HASHEDPASSWORD);
	CHECK_INT_EQ(f.seen.up, 1);
	fake_close(&f);

	/* Tor says no: the connection goes, and the caller hears why. */
	fake_open(&f, &cfg);
	EXPECT_LINE(&f, "PROTOCOLINFO 1");
	say(&f, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=HASHEDPASSWORD\r\n"
	    "250 OK\r\n");
	EXPECT_LINE(&f, "AUTHENTICATE \"pa\\\"ss\"");
	say(&f, "515 Authentication failed: Password did not match\r\n");
	CHECK(client_closed(&f));
	CHECK_INT_EQ(f.seen.up, 0);
	CHECK_INT_EQ(f.seen.down, 1);
	CHECK(strstr(f.seen.reason, "Password did not match") != NULL);
	fake_close(&f);

	/* No method in common: nothing is sent but PROTOCOLINFO. */
	cfg.auth_methods = TORCTL_AUTH_SAFECOOKIE;
	fake_open(&f, &cfg);
	EXPECT_LINE(&f, "PROTOCOLINFO 1");
	say(&f, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250 OK\r\n");
	CHECK(client_closed(&f));
	CHECK_INT_EQ(f.inlen, 0);
	CHECK(strstr(f.seen.reason, "no authentication method") != NULL);
	fake_close(&f);
}

/* Plays tor's side of SAFECOOKIE with server_cookie. */
static void
safecookie_session(struct fake *f, const uint8_t *server_cookie,
    bool *authenticate_sent)
{
	uint8_t msg[96], sh[32], ch[32];
	char line[256], hex[65], nonce_hex[65];
	size_t len;

	EXPECT_LINE(f, "PROTOCOLINFO 1");
	say(f, "250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"/nonexistent\"\r\n"
	    "250 OK\r\n");
	fake_line(f, line, sizeof(line));
	CHECK(strncmp(line, "AUTHCHALLENGE SAFECOOKIE ", 25) == 0);
	CHECK_INT_EQ(strlen(line), 25 + 64);
	memcpy(msg, server_cookie, 32);
	if (sodium_hex2bin(msg + 32, 32, line + 25, 64, NULL, &len, NULL) != 0)
		memset(msg + 32, 0, 32);
	memset(msg + 64, 0x77, 32);		/* server nonce */
	hmac_sha256(sh, "Tor safe cookie authentication server-to-controller "
	    "hash", 56, msg, sizeof(msg));
	hmac_sha256(ch, "Tor safe cookie authentication controller-to-server "
	    "hash", 56, msg, sizeof(msg));
	sodium_bin2hex(hex, sizeof(hex), sh, 32);
	sodium_bin2hex(nonce_hex, sizeof(nonce_hex), msg + 64, 32);
	snprintf(line, sizeof(line), "250 AUTHCHALLENGE SERVERHASH=%s "
	    "SERVERNONCE=%s\r\n", hex, nonce_hex);
	say(f, line);
	fake_line(f, line, sizeof(line));
	*authenticate_sent = line[0] != '\0';
	sodium_bin2hex(hex, sizeof(hex), ch, 32);
	if (*authenticate_sent) {
		CHECK(strncmp(line, "AUTHENTICATE ", 13) == 0);
		CHECK_STR_EQ(line + 13, hex);
		say(f, "250 OK\r\n");
	}
}

static void
test_safecookie(void)
{
	struct torctl_config cfg = { 0 };
	uint8_t cookie[32], other[32];
	bool sent;
	struct fake f;

	memset(cookie, 0x11, sizeof(cookie));
	memset(other, 0x12, sizeof(other));
	cfg.cookie = cookie;
	fake_open(&f, &cfg);
	safecookie_session(&f, cookie, &sent);
	CHECK(sent);
	CHECK_INT_EQ(f.seen.up, 1);
	CHECK_INT_EQ(torctl_auth_used(f.ctl), TORCTL_AUTH_SAFECOOKIE);
	fake_close(&f);

	/* A "tor" that does not know the cookie: we never answer it. */
	fake_open(&f, &cfg);
	safecookie_session(&f, other, &sent);
	CHECK(!sent);
	CHECK(client_closed(&f));
	CHECK_INT_EQ(f.seen.up, 0);
	CHECK(strstr(f.seen.reason, "SAFECOOKIE server hash is wrong") !=
	    NULL);
	fake_close(&f);
}

/* The connection drops in the middle of a reply: all commands fail. */
static void
test_drop_mid_reply(void)
{
	struct torctl_config cfg = { 0 };
	const char *keys[] = { "version" };
	struct fake f;

	connect_null(&f, &cfg);
	CHECK_INT_EQ(torctl_getinfo(f.ctl, keys, 1, on_reply, &f.seen), 0);
	CHECK_INT_EQ(torctl_signal(f.ctl, "ACTIVE", on_reply, &f.seen), 0);
	say(&f, "250-version=0.4.9.11\r\n250+md/all=\r\nonion-k");
	shutdown(f.fd, SHUT_RDWR);
	run_for(&f, 20);
	CHECK_INT_EQ(f.seen.replies, 2);
	CHECK_INT_EQ(f.seen.status[0], TORCTL_CLOSED);
	CHECK_INT_EQ(f.seen.status[1], TORCTL_CLOSED);
	CHECK_INT_EQ(f.seen.down, 1);
	CHECK(strstr(f.seen.reason, "inside a line") != NULL);
	CHECK(!torctl_is_ready(f.ctl));
	CHECK_INT_EQ(torctl_signal(f.ctl, "ACTIVE", on_reply, &f.seen), -1);
	fake_close(&f);
}

/* Each violation closes the connection with its reason. */
static void
violation(const char *wire, const char *reason_part,
    enum torctl_status first, int line)
{
	struct torctl_config cfg = { 0 };
	const char *keys[] = { "version" };
	struct fake f;

	cfg.limits.max_line = 64;
	cfg.limits.max_reply = 1024;
	connect_null(&f, &cfg);
	CHECK_INT_EQ(torctl_getinfo(f.ctl, keys, 1, on_reply, &f.seen), 0);
	say(&f, wire);
	if (!client_closed(&f) || f.seen.down != 1 ||
	    f.seen.replies != 1 || f.seen.status[0] != first ||
	    strstr(f.seen.reason, reason_part) == NULL) {
		fprintf(stderr, "line %d: reason \"%s\"\n", line,
		    f.seen.reason);
		test_failures++;
	}
	fake_close(&f);
}

static void
test_protocol_violations(void)
{
	char big[2048];
	size_t i;

	violation("HTTP/1.0 200 OK\r\n", "malformed status line",
	    TORCTL_CLOSED, __LINE__);
	violation("250 OK\n", "CRLF", TORCTL_CLOSED, __LINE__);
	violation("250-version=0.4.9.11\r\n25x OK\r\n", "malformed status",
	    TORCTL_CLOSED, __LINE__);
	memset(big, 'a', sizeof(big));
	memcpy(big, "250 ", 4);
	big[sizeof(big) - 1] = '\0';
	violation(big, "line too long", TORCTL_CLOSED, __LINE__);
	strcpy(big, "250+md/all=\r\n");
	for (i = 0; i < 60; i++)
		strcat(big, "0123456789012345678901234567890\r\n");
	violation(big, "reply too large", TORCTL_CLOSED, __LINE__);
	/* A reply when we asked nothing more. */
	violation("250 OK\r\n250 OK\r\n", "a reply to no command", TORCTL_OK,
	    __LINE__);
}

static void
test_reply_timeout(void)
{
	struct torctl_config cfg = { 0 };
	const char *keys[] = { "version" };
	struct fake f;

	cfg.reply_timeout_ms = 30;
	connect_null(&f, &cfg);
	CHECK_INT_EQ(torctl_getinfo(f.ctl, keys, 1, on_reply, &f.seen), 0);
	CHECK_INT_EQ(torctl_getinfo(f.ctl, keys, 1, on_reply, &f.seen), 0);
	run_for(&f, 10);
	CHECK_INT_EQ(f.seen.replies, 0);
	run_for(&f, 200);
	CHECK_INT_EQ(f.seen.replies, 2);
	CHECK_INT_EQ(f.seen.status[0], TORCTL_TIMEOUT);
	CHECK_INT_EQ(f.seen.status[1], TORCTL_CLOSED);
	CHECK(strstr(f.seen.reason, "no reply to GETINFO") != NULL);
	CHECK(client_closed(&f));
	fake_close(&f);
}

static void
test_free_inside_callback(void)
{
	struct torctl_config cfg = { 0 };
	const char *keys[] = { "version" };
	struct fake f;

	connect_null(&f, &cfg);
	CHECK_INT_EQ(torctl_getinfo(f.ctl, keys, 1, on_reply, &f.seen), 0);
	CHECK_INT_EQ(torctl_getinfo(f.ctl, keys, 1, on_reply, &f.seen), 0);
	f.seen.free_in_cb = true;
	/* Two replies in one read: the second must not touch freed memory. */
	say(&f, "250-version=1\r\n250 OK\r\n250-version=2\r\n250 OK\r\n");
	CHECK_INT_EQ(f.seen.replies, 2);
	CHECK_INT_EQ(f.seen.status[0], TORCTL_OK);
	CHECK_INT_EQ(f.seen.status[1], TORCTL_CLOSED);
	f.ctl = NULL;
	fake_close(&f);
}

static void
test_adopt_authenticated(void)
{
	struct torctl_config cfg = { 0 };
	struct event_base *base = event_base_new();
	struct seen seen = { 0 };
	struct torctl *ctl;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	cfg.on_conn = on_conn;
	cfg.arg = &seen;
	ctl = torctl_new(base, &cfg);
	CHECK(ctl != NULL && torctl_adopt_fd(ctl, sv[0], true) == 0);
	CHECK_INT_EQ(seen.up, 1);
	CHECK(ctl != NULL && torctl_is_ready(ctl));
	/* An fd-only client has nowhere to reconnect to. */
	CHECK(ctl != NULL && torctl_start(ctl) == -1);
	torctl_free(ctl);
	close(sv[1]);
	event_base_free(base);
}

/* A unix-socket "tor" in a new directory, and a torctl started on it. */
struct unix_tor {
	char			 dir[32];
	struct sockaddr_un	 sun;
	int			 lfd;
};

static void
unix_tor_open(struct unix_tor *ut, struct fake *f, unsigned min_ms,
    unsigned max_ms)
{
	struct torctl_config cfg = { 0 };

	snprintf(ut->dir, sizeof(ut->dir), "/tmp/torctl-test-XXXXXX");
	CHECK(mkdtemp(ut->dir) != NULL);
	memset(&ut->sun, 0, sizeof(ut->sun));
	ut->sun.sun_family = AF_UNIX;
	snprintf(ut->sun.sun_path, sizeof(ut->sun.sun_path), "%s/control",
	    ut->dir);
	ut->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(ut->lfd != -1 && bind(ut->lfd, (struct sockaddr *)&ut->sun,
	    sizeof(ut->sun)) == 0 && listen(ut->lfd, 4) == 0);
	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	cfg.unix_path = ut->sun.sun_path;
	cfg.backoff_min_ms = min_ms;
	cfg.backoff_max_ms = max_ms;
	cfg.on_conn = on_conn;
	cfg.arg = &f->seen;
	f->ctl = torctl_new(f->base, &cfg);
	CHECK(f->ctl != NULL && torctl_start(f->ctl) == 0);
}

static void
unix_tor_close(struct unix_tor *ut, struct fake *f)
{
	torctl_free(f->ctl);
	close(ut->lfd);
	unlink(ut->sun.sun_path);
	rmdir(ut->dir);
	event_base_free(f->base);
}

/* Accepts the client's next connection (up to 2 s); -1 if none came. */
static int
accept_next(struct fake *f, int lfd)
{
	struct pollfd pfd;
	int i;

	for (i = 0; i < 2000; i++) {
		pfd = (struct pollfd){ lfd, POLLIN, 0 };
		if (poll(&pfd, 1, 0) == 1)
			break;
		run_for(f, 1);
	}
	if ((f->fd = accept(lfd, NULL, NULL)) == -1)
		return -1;
	CHECK(fcntl(f->fd, F_SETFL, O_NONBLOCK) != -1);
	f->inlen = 0;
	f->in[0] = '\0';
	return 0;
}

/* A unix-socket "tor" that goes away and comes back. */
static void
test_reconnect_with_backoff(void)
{
	struct unix_tor ut;
	struct fake f;
	int round;

	unix_tor_open(&ut, &f, 10, 40);
	for (round = 1; round <= 2 && f.ctl != NULL; round++) {
		CHECK(accept_next(&f, ut.lfd) == 0);
		if (f.fd == -1)
			break;
		handshake(&f, "NULL", "AUTHENTICATE");
		CHECK_INT_EQ(f.seen.up, round);
		close(f.fd);
		run_for(&f, 5);
		CHECK_INT_EQ(f.seen.down, round);
		CHECK(strstr(f.seen.reason, "tor closed the connection") !=
		    NULL);
	}
	unix_tor_close(&ut, &f);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A tor that authenticates and then sends junk: the waits grow (20 ms
 * doubling, each half to all of its step), where a reset at each
 * authentication made them all 20 ms; a connection that served longer
 * than the longest wait starts again from the shortest.
 */
static void
test_backoff_after_authenticated_violations(void)
{
	struct unix_tor ut;
	uint64_t lost = 0, gap[6] = { 0 };
	struct fake f;
	int round;

	/* Long steps, so that a busy machine cannot blur them. */
	unix_tor_open(&ut, &f, 100, 1600);
	for (round = 0; round < 6; round++) {
		if (accept_next(&f, ut.lfd) == -1)
			break;
		gap[round] = round > 0 ? mono_ms() - lost : 0;
		handshake(&f, "NULL", "AUTHENTICATE");
		CHECK_INT_EQ(f.seen.up, round + 1);
		if (round == 4)		/* served longer than the longest wait */
			run_for(&f, 1700);
		/*
		 * Taken before the client can see the junk, so that a gap is
		 * never shorter than the wait it measures (taken after, it
		 * once came out at 399 ms for a wait of 400-800).
		 */
		lost = mono_ms();
		say(&f, "junk\r\n");
		run_for(&f, 2);
		CHECK_INT_EQ(f.seen.down, round + 1);
		CHECK(strstr(f.seen.reason, "protocol violation") != NULL);
		close(f.fd);
	}
	CHECK_INT_EQ(round, 6);
	/*
	 * Waits of 50-100, 100-200, 200-400, 400-800 ms, then 50-100 again,
	 * not 800-1600 (a busy machine only makes the gaps longer).
	 */
	CHECK(gap[3] >= 200);
	CHECK(gap[4] >= 400);
	CHECK(gap[5] < 700);
	unix_tor_close(&ut, &f);
}

/* Nobody listening: refused connects are retried, not fatal. */
static void
test_connect_refused_retries(void)
{
	struct torctl_config cfg = { 0 };
	struct fake f;

	memset(&f, 0, sizeof(f));
	f.base = event_base_new();
	cfg.unix_path = "/nonexistent/torctl-test/control";
	cfg.backoff_min_ms = 5;
	cfg.backoff_max_ms = 10;
	cfg.on_conn = on_conn;
	cfg.arg = &f.seen;
	f.ctl = torctl_new(f.base, &cfg);
	CHECK(f.ctl != NULL && torctl_start(f.ctl) == 0);
	run_for(&f, 50);
	CHECK_INT_EQ(f.seen.up, 0);
	CHECK_INT_EQ(f.seen.down, 0);	/* never connected: nothing to tell */
	CHECK(!torctl_is_ready(f.ctl));
	torctl_free(f.ctl);

	cfg.unix_path = NULL;
	cfg.host = "localhost";		/* numeric addresses only */
	CHECK(torctl_new(f.base, &cfg) == NULL);
	event_base_free(f.base);
}

static void
quiet_logs(void)
{
	log_init("test_torctl_client", LOG_LEVEL_ERROR);
}

TEST_MAIN(
	TEST_CASE(quiet_logs),
	TEST_CASE(test_null_auth_getinfo_split_with_events),
	TEST_CASE(test_queue_order_and_errors),
	TEST_CASE(test_hspost_wire_format),
	TEST_CASE(test_argument_validation),
	TEST_CASE(test_cookie_and_password),
	TEST_CASE(test_safecookie),
	TEST_CASE(test_drop_mid_reply),
	TEST_CASE(test_protocol_violations),
	TEST_CASE(test_reply_timeout),
	TEST_CASE(test_free_inside_callback),
	TEST_CASE(test_adopt_authenticated),
	TEST_CASE(test_reconnect_with_backoff),
	TEST_CASE(test_backoff_after_authenticated_violations),
	TEST_CASE(test_connect_refused_retries),
)

/*
 * Opening an authenticated control connection to tor, in the parent.
 *
 * The parent does PROTOCOLINFO and AUTHENTICATE itself and hands the
 * children a connection that is already authenticated, so no child ever
 * holds the cookie or the password (design.md).  This is a short, blocking
 * conversation with one deadline for all of it: the parent does it at
 * start and when a child asks for a new connection, and a tor that does
 * not answer in time is a tor we retry later.
 *
 * The grammar and the SAFECOOKIE hashes are common/torctl/torctl_parse.c and
 * common/torctl/torctl_auth.c, the same code fetchd and publishd use.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoding.h"
#include "log.h"
#include "parent.h"
#include "socket_path.h"
#include "spawn.h"
#include "torctl_auth.h"
#include "torctl_parse.h"

#define CONTROL_DEFAULT_TIMEOUT_MS	10000
/* Replies during authentication are a few lines. */
#define CONTROL_AUTH_MAX_REPLY		(64 * 1024)

struct conv;
static void	conv_close(struct conv *);

struct conv {
	int			 fd;
	uint64_t		 deadline;
	struct torctl_parser	 parser;
	uint8_t			 buf[4096];	/* read, not yet fed */
	size_t			 off, len;
	char			 where[160];	/* the tor we reached */
};

/* What we know about the cookie when no method could be used. */
struct cookie_state {
	const char	*path;		/* NULL: no cookie method offered */
	int		 read_errno;	/* 0: read fine */
};

void
control_target_from_config(struct control_target *t,
    const struct ob_config *cfg)
{
	memset(t, 0, sizeof(*t));
	t->socket_path = cfg->control_socket;
	t->address = cfg->control_address;
	t->port = cfg->control_port;
	t->password = cfg->control_password;
	t->timeout_ms = CONTROL_DEFAULT_TIMEOUT_MS;
}

static int
remaining_ms(const struct conv *cv)
{
	uint64_t now = monotonic_ms();

	return now >= cv->deadline ? 0 : (int)(cv->deadline - now);
}

/* Waits until fd is ready for events, or the deadline; 0 or -1 (errno). */
static int
wait_fd(const struct conv *cv, short events)
{
	struct pollfd pfd = { .fd = cv->fd, .events = events };
	int n;

	for (;;) {
		n = poll(&pfd, 1, remaining_ms(cv));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		return 0;
	}
}

static int
connect_addr(struct conv *cv, const struct sockaddr *sa, socklen_t salen)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if ((cv->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (connect(cv->fd, sa, salen) == 0)
		return 0;
	if (errno == EINPROGRESS && wait_fd(cv, POLLOUT) == 0 &&
	    getsockopt(cv->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0) {
		if (soerr == 0)
			return 0;
		errno = soerr;
	}
	soerr = errno;
	close(cv->fd);
	cv->fd = -1;
	errno = soerr;
	return -1;
}

static int
connect_unix(struct conv *cv, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	return connect_addr(cv, (struct sockaddr *)&sun, sizeof(sun));
}

static int
connect_tcp(struct conv *cv, const char *address, uint16_t port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, address, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		return connect_addr(cv, (struct sockaddr *)&sin, sizeof(sin));
	}
	if (inet_pton(AF_INET6, address, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(port);
		return connect_addr(cv, (struct sockaddr *)&sin6,
		    sizeof(sin6));
	}
	errno = EINVAL;		/* the config parser let a non-address by */
	return -1;
}

/* Why the control socket failed, for the message in parentheses. */
static void
unix_failure(const char *path, int error, char *buf, size_t len)
{
	const char *what = socket_path_problem(path, error);

	if (what != NULL)
		snprintf(buf, len, "%s; -s or tor-control-socket names the "
		    "socket of tor's ControlSocket line", what);
	else
		snprintf(buf, len, "%s", strerror(error));
}

/* The socket first, then TCP, as Onionbalance does. */
static int
connect_tor(struct conv *cv, const struct control_target *t, char *err,
    size_t errlen)
{
	char why[256];
	int unix_errno = 0;

	if (t->socket_path != NULL) {
		snprintf(cv->where, sizeof(cv->where), "%s", t->socket_path);
		if (connect_unix(cv, t->socket_path) == 0)
			return 0;
		unix_errno = errno;
	}
	snprintf(cv->where, sizeof(cv->where), "%s:%u", t->address,
	    (unsigned)t->port);
	if (connect_tcp(cv, t->address, t->port) == 0)
		return 0;
	if (t->socket_path != NULL) {
		int tcp_errno = errno;

		unix_failure(t->socket_path, unix_errno, why, sizeof(why));
		snprintf(err, errlen, "cannot connect to tor's control socket "
		    "%s (%s) nor to its control port %s:%u (%s)",
		    t->socket_path, why, t->address, (unsigned)t->port,
		    strerror(tcp_errno));
	}
	else
		snprintf(err, errlen, "cannot connect to tor's control port "
		    "%s:%u: %s", t->address, (unsigned)t->port,
		    strerror(errno));
	return -1;
}

static int
send_line(struct conv *cv, const char *line)
{
	size_t len = strlen(line), off = 0;
	ssize_t n;

	while (off < len) {
		n = send(cv->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EAGAIN && wait_fd(cv, POLLOUT) == 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Fills cv->buf when it is empty; -1 on EOF (errno 0), error or timeout. */
static int
fill(struct conv *cv)
{
	ssize_t n;

	while (cv->off == cv->len) {
		n = recv(cv->fd, cv->buf, sizeof(cv->buf), 0);
		if (n > 0) {
			cv->off = 0;
			cv->len = (size_t)n;
			return 0;
		}
		if (n == 0) {
			errno = 0;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || wait_fd(cv, POLLIN) == -1)
			return -1;
	}
	return 0;
}

/* The next synchronous reply; events (there should be none) are skipped. */
static struct torctl_reply *
read_reply(struct conv *cv, const char **why)
{
	struct torctl_reply *r;
	size_t used;

	for (;;) {
		if (fill(cv) == -1) {
			*why = errno == 0 ? "tor closed the connection" :
			    strerror(errno);
			return NULL;
		}
		switch (torctl_parser_feed(&cv->parser, cv->buf + cv->off,
		    cv->len - cv->off, &used, &r)) {
		case TORCTL_FEED_MORE:
			cv->off += used;
			break;
		case TORCTL_FEED_REPLY:
			cv->off += used;
			if (!torctl_reply_is_event(r))
				return r;
			torctl_reply_free(r);
			break;
		case TORCTL_FEED_ERROR:
			*why = torctl_parser_why(&cv->parser);
			return NULL;
		}
	}
}

/* Sends line and reads its reply; NULL with one line in err on failure. */
static struct torctl_reply *
command(struct conv *cv, const char *line, const char *what, char *err,
    size_t errlen)
{
	struct torctl_reply *r;
	const char *why = "no reply";

	if (send_line(cv, line) == -1) {
		snprintf(err, errlen, "tor control: sending %s: %s", what,
		    errno == 0 ? "connection closed" : strerror(errno));
		return NULL;
	}
	if ((r = read_reply(cv, &why)) == NULL)
		snprintf(err, errlen, "tor control: waiting for the reply to "
		    "%s: %s", what, why);
	return r;
}

static void
methods_str(unsigned methods, char *out, size_t outlen)
{
	static const enum torctl_auth_method all[] = {
		TORCTL_AUTH_NULL, TORCTL_AUTH_HASHEDPASSWORD,
		TORCTL_AUTH_COOKIE, TORCTL_AUTH_SAFECOOKIE,
	};
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if ((methods & all[i]) == 0)
			continue;
		off += (size_t)snprintf(out + off, outlen - off, "%s%s",
		    off ? "," : "", torctl_auth_method_str(all[i]));
		if (off >= outlen)
			return;
	}
	if (off == 0)
		snprintf(out, outlen, "none");
}

/* The group that can read path (or, if path is unreachable, its dir). */
static const char *
cookie_group(const char *path)
{
	char dir[4096], *slash;
	struct stat st;
	struct group *gr;

	if (stat(path, &st) == -1) {
		snprintf(dir, sizeof(dir), "%s", path);
		if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
			return NULL;
		*slash = '\0';
		if (stat(dir, &st) == -1)
			return NULL;
	}
	return (gr = getgrgid(st.st_gid)) != NULL ? gr->gr_name : NULL;
}

/*
 * No method both sides can use.  The common case on Debian: tor offers
 * only cookie authentication and the cookie is readable by the group
 * debian-tor, which the service user is not in.  Say exactly that.
 */
static void
no_method(const struct torctl_protocolinfo *pi, const struct cookie_state *cs,
    char *err, size_t errlen)
{
	struct passwd *pw = getpwuid(geteuid());
	const char *user = pw != NULL ? pw->pw_name : "onionbalanced's user";
	const char *group;
	char offered[96];

	methods_str(pi->methods, offered, sizeof(offered));
	if (cs->path != NULL && (cs->read_errno == EACCES ||
	    cs->read_errno == EPERM)) {
		group = cookie_group(cs->path);
		snprintf(err, errlen, "tor control: cannot read tor's cookie "
		    "file %s (%s): add the user %s to the group %s "
		    "(adduser %s %s) and start again, or set "
		    "tor-control-password (tor offers %s)", cs->path,
		    strerror(cs->read_errno), user,
		    group != NULL ? group : "that can read it", user,
		    group != NULL ? group : "GROUP", offered);
	} else if (cs->path != NULL && cs->read_errno != 0)
		snprintf(err, errlen, "tor control: cannot read tor's cookie "
		    "file %s: %s (tor offers %s)", cs->path,
		    cs->read_errno == EINVAL ? "not a 32-byte cookie" :
		    strerror(cs->read_errno), offered);
	else
		snprintf(err, errlen, "tor control: no authentication method "
		    "we can use: tor offers %s%s", offered,
		    pi->methods & TORCTL_AUTH_HASHEDPASSWORD ?
		    "; set tor-control-password" : "");
}

static bool
load_cookie(const struct torctl_protocolinfo *pi,
    uint8_t cookie[TORCTL_COOKIE_LEN], struct cookie_state *cs)
{
	cs->path = pi->cookie_file[0] != '\0' ? pi->cookie_file : NULL;
	cs->read_errno = 0;
	if (cs->path == NULL)
		return false;
	if (torctl_cookie_read_path(cs->path, cookie) == 0)
		return true;
	cs->read_errno = errno;
	return false;
}

/* Sends an AUTHENTICATE line (wiped afterwards by the caller). */
static int
auth_send(struct conv *cv, const char *line, enum torctl_auth_method m,
    char *err, size_t errlen)
{
	struct torctl_reply *r;
	int rv = 0;

	if ((r = command(cv, line, "AUTHENTICATE", err, errlen)) == NULL)
		return -1;
	if (r->code != 250) {
		snprintf(err, errlen, "tor control: tor refused %s "
		    "authentication: %d %s", torctl_auth_method_str(m),
		    r->code, torctl_reply_message(r));
		rv = -1;
	}
	torctl_reply_free(r);
	return rv;
}

static int
auth_hex(struct conv *cv, const uint8_t *secret, size_t len,
    enum torctl_auth_method m, char *err, size_t errlen)
{
	char line[sizeof("AUTHENTICATE \r\n") + 2 * TORCTL_HASH_LEN];
	int rv;

	if (len > TORCTL_HASH_LEN)
		return -1;
	memcpy(line, "AUTHENTICATE ", 13);
	hex_encode(line + 13, secret, len);
	memcpy(line + 13 + 2 * len, "\r\n", 3);
	rv = auth_send(cv, line, m, err, errlen);
	sodium_memzero(line, sizeof(line));
	return rv;
}

static int
auth_password(struct conv *cv, const char *password, char *err,
    size_t errlen)
{
	char quoted[2 * PROTO_PASSWORD_MAX + 3];
	char line[sizeof(quoted) + 16];
	int rv;

	if (torctl_quote_string(password, quoted, sizeof(quoted)) == -1) {
		snprintf(err, errlen, "tor control: tor-control-password is "
		    "too long or has a control character");
		return -1;
	}
	snprintf(line, sizeof(line), "AUTHENTICATE %s\r\n", quoted);
	rv = auth_send(cv, line, TORCTL_AUTH_HASHEDPASSWORD, err, errlen);
	sodium_memzero(quoted, sizeof(quoted));
	sodium_memzero(line, sizeof(line));
	return rv;
}

/* AUTHCHALLENGE; tor must prove it knows the cookie before we answer. */
static int
auth_safecookie(struct conv *cv, const uint8_t cookie[TORCTL_COOKIE_LEN],
    char *err, size_t errlen)
{
	uint8_t cnonce[TORCTL_NONCE_LEN], snonce[TORCTL_NONCE_LEN];
	uint8_t shash[TORCTL_HASH_LEN], chash[TORCTL_HASH_LEN];
	char line[sizeof("AUTHCHALLENGE SAFECOOKIE \r\n") +
	    2 * TORCTL_NONCE_LEN];
	struct torctl_reply *r;
	const char *why;
	int rv = -1;

	randombytes_buf(cnonce, sizeof(cnonce));
	memcpy(line, "AUTHCHALLENGE SAFECOOKIE ", 25);
	hex_encode(line + 25, cnonce, sizeof(cnonce));
	memcpy(line + 25 + 2 * sizeof(cnonce), "\r\n", 3);
	if ((r = command(cv, line, "AUTHCHALLENGE", err, errlen)) == NULL)
		return -1;
	if (torctl_parse_authchallenge(r, shash, snonce, &why) == -1)
		snprintf(err, errlen, "tor control: AUTHCHALLENGE: %s: %s",
		    why, torctl_reply_message(r));
	else if (torctl_safecookie_respond(cookie, cnonce, snonce, shash,
	    chash) == -1)
		snprintf(err, errlen, "tor control: SAFECOOKIE: the server "
		    "hash is wrong (whatever answers does not know tor's "
		    "cookie)");
	else
		rv = auth_hex(cv, chash, sizeof(chash),
		    TORCTL_AUTH_SAFECOOKIE, err, errlen);
	torctl_reply_free(r);
	sodium_memzero(chash, sizeof(chash));
	return rv;
}

static int
protocolinfo(struct conv *cv, struct torctl_protocolinfo *pi, char *err,
    size_t errlen)
{
	struct torctl_reply *r;
	const char *why;
	int rv = 0;

	if ((r = command(cv, "PROTOCOLINFO 1\r\n", "PROTOCOLINFO", err,
	    errlen)) == NULL)
		return -1;
	if (torctl_parse_protocolinfo(r, pi, &why) == -1) {
		snprintf(err, errlen, "tor control: PROTOCOLINFO: %s", why);
		rv = -1;
	}
	torctl_reply_free(r);
	return rv;
}

static int
authenticate(struct conv *cv, const struct control_target *t, char *err,
    size_t errlen)
{
	struct torctl_protocolinfo pi;
	struct cookie_state cs = { NULL, 0 };
	uint8_t cookie[TORCTL_COOKIE_LEN];
	enum torctl_auth_method m;
	bool have_cookie = false;
	int rv = -1;

	if (protocolinfo(cv, &pi, err, errlen) == -1)
		return -1;
	if (pi.methods & (TORCTL_AUTH_SAFECOOKIE | TORCTL_AUTH_COOKIE))
		have_cookie = load_cookie(&pi, cookie, &cs);
	m = torctl_auth_choose(pi.methods, TORCTL_AUTH_ALL, have_cookie,
	    t->password != NULL);
	switch (m) {
	case TORCTL_AUTH_SAFECOOKIE:
		rv = auth_safecookie(cv, cookie, err, errlen);
		break;
	case TORCTL_AUTH_COOKIE:
		rv = auth_hex(cv, cookie, sizeof(cookie), m, err, errlen);
		break;
	case TORCTL_AUTH_HASHEDPASSWORD:
		rv = auth_password(cv, t->password, err, errlen);
		break;
	case TORCTL_AUTH_NULL:
		rv = auth_send(cv, "AUTHENTICATE\r\n", m, err, errlen);
		break;
	case TORCTL_AUTH_NONE:
		no_method(&pi, &cs, err, errlen);
		break;
	}
	sodium_memzero(cookie, sizeof(cookie));
	if (rv == 0)
		log_debug("tor control: authenticated (%s) to %s",
		    torctl_auth_method_str(m), pi.version);
	return rv;
}

/*
 * Once connected, every message says which tor it is about (the socket
 * or the port we reached, since we fall back from one to the other):
 * "tor control: ..." becomes "tor control at WHERE: ...".
 */
static void
name_endpoint(const struct conv *cv, char *err, size_t errlen)
{
	static const char prefix[] = "tor control: ";
	char msg[1024];

	if (strncmp(err, prefix, sizeof(prefix) - 1) != 0)
		return;
	snprintf(msg, sizeof(msg), "%s", err + sizeof(prefix) - 1);
	snprintf(err, errlen, "tor control at %s: %s", cv->where, msg);
}

/* An authenticated conversation, or NULL and one line in err. */
static struct conv *
conv_open(const struct control_target *t, char *err, size_t errlen)
{
	struct torctl_limits limits = { 0, CONTROL_AUTH_MAX_REPLY };
	struct conv *cv;

	if ((cv = calloc(1, sizeof(*cv))) == NULL) {
		snprintf(err, errlen, "tor control: %s", strerror(errno));
		return NULL;
	}
	cv->fd = -1;
	cv->deadline = monotonic_ms() + (t->timeout_ms ? t->timeout_ms :
	    CONTROL_DEFAULT_TIMEOUT_MS);
	torctl_parser_init(&cv->parser, &limits);
	if (connect_tor(cv, t, err, errlen) == 0) {
		if (authenticate(cv, t, err, errlen) == 0)
			return cv;
		name_endpoint(cv, err, errlen);
	}
	conv_close(cv);
	return NULL;
}

static void
conv_close(struct conv *cv)
{
	if (cv->fd != -1)
		close(cv->fd);
	torctl_parser_clear(&cv->parser);
	sodium_memzero(cv->buf, sizeof(cv->buf));
	free(cv);
}

int
control_open(const struct control_target *t, char *err, size_t errlen)
{
	struct conv *cv;
	int fd = -1;

	if ((cv = conv_open(t, err, errlen)) == NULL)
		return -1;
	/* Anything tor sent after the reply would be lost to the child. */
	if (cv->off != cv->len)
		snprintf(err, errlen, "tor control at %s: unexpected "
		    "data after AUTHENTICATE", cv->where);
	else {
		fd = cv->fd;
		cv->fd = -1;
	}
	conv_close(cv);
	return fd;
}

/* Appends v to line; -1 if it does not fit. */
static int
append_str(char *line, size_t linelen, const char *v)
{
	size_t n = strlen(line), m = strlen(v);

	if (n + m >= linelen)
		return -1;
	memcpy(line + n, v, m + 1);
	return 0;
}

/* Appends v to line as a control-spec QuotedString; -1 if it does not fit. */
static int
append_quoted(char *line, size_t linelen, const char *v)
{
	size_t n = strlen(line);

	if (n + 2 >= linelen)
		return -1;
	line[n++] = '"';
	for (; *v != '\0'; v++) {
		if (n + 3 >= linelen)
			return -1;
		if (*v == '"' || *v == '\\')
			line[n++] = '\\';
		line[n++] = *v;
	}
	line[n++] = '"';
	line[n] = '\0';
	return 0;
}

/*
 * True for a SocksPort line that a run of ours added ("127.0.0.1:N" and
 * our flags): replaced, so that restarts do not pile up listeners.
 */
static bool
socks_line_is_ours(const char *v)
{
	size_t n = strlen(v), m = strlen(CONTROL_SOCKS_FLAGS);

	return strncmp(v, "127.0.0.1:", 10) == 0 && n > m &&
	    strcmp(v + n - m, CONTROL_SOCKS_FLAGS) == 0;
}

/* Appends " SocksPort=<v quoted>" to line; -1 if it does not fit. */
static int
append_socks_port(char *line, size_t linelen, const char *v)
{
	if (append_str(line, linelen, " SocksPort=") == -1 ||
	    append_quoted(line, linelen, v) == -1)
		return -1;
	return 0;
}

/*
 * tor's default SocksPort, when none is configured, is only a default: a
 * SETCONF with ours alone would close it.  GETINFO net/listeners/socks
 * names what tor listens on ("127.0.0.1:9050" "unix:/path" ...): keep
 * those.
 */
static int
keep_default_listeners(struct conv *cv, char *line, size_t linelen,
    char *err, size_t errlen)
{
	struct torctl_reply *r;
	const char *v, *q;
	char addr[256];
	size_t len, n;
	int rc = -1;

	if ((r = command(cv, "GETINFO net/listeners/socks\r\n", "GETINFO",
	    err, errlen)) == NULL)
		return -1;
	if (r->code != 250 || (v = torctl_reply_getinfo(r,
	    "net/listeners/socks", &len)) == NULL) {
		snprintf(err, errlen, "tor refused GETINFO net/listeners/socks: "
		    "%s", torctl_reply_message(r));
		goto done;
	}
	while ((v = strchr(v, '"')) != NULL) {
		if ((q = strchr(v + 1, '"')) == NULL ||
		    (n = (size_t)(q - v - 1)) == 0 || n >= sizeof(addr))
			break;
		memcpy(addr, v + 1, n);
		addr[n] = '\0';
		if (append_socks_port(line, linelen, addr) == -1) {
			snprintf(err, errlen, "tor's SOCKS listeners are too "
			    "many to keep beside ours");
			goto done;
		}
		v = q + 1;
	}
	rc = 0;
 done:
	torctl_reply_free(r);
	return rc;
}

/*
 * The start of the SETCONF that keeps every SocksPort the operator has.
 * GETCONF gives one "SocksPort=value" line per configured port, or a bare
 * "SocksPort" when none is configured (then *configured is 0).  "0" (no
 * SOCKS at all) is dropped: it cannot stand beside another port.
 */
static int
socks_setconf_line(const struct torctl_reply *r, char *line, size_t linelen,
    int *configured)
{
	const char *v;
	size_t i;

	snprintf(line, linelen, "SETCONF");
	*configured = 0;
	for (i = 0; i < r->nlines; i++) {
		if (strncmp(r->lines[i].text, "SocksPort=", 10) != 0)
			continue;
		*configured = 1;
		v = r->lines[i].text + 10;
		if (strcmp(v, "0") == 0 || socks_line_is_ours(v))
			continue;
		if (append_socks_port(line, linelen, v) == -1)
			return -1;
	}
	return 0;
}

/* Our listener, and the end of the line. */
static int
append_ours(char *line, size_t linelen, uint16_t port)
{
	char ours[128];
	int n;

	n = snprintf(ours, sizeof(ours), "127.0.0.1:%u%s", port,
	    CONTROL_SOCKS_FLAGS);
	if (n < 0 || (size_t)n >= sizeof(ours) ||
	    append_socks_port(line, linelen, ours) == -1 ||
	    append_str(line, linelen, "\r\n") == -1)
		return -1;
	return 0;
}

int
control_socks_listener(const struct control_target *t, uint16_t port,
    char *err, size_t errlen)
{
	struct torctl_reply *r = NULL;
	struct conv *cv;
	char line[4096];
	int rc = -1, configured;

	if ((cv = conv_open(t, err, errlen)) == NULL)
		return -1;
	if ((r = command(cv, "GETCONF SocksPort\r\n", "GETCONF", err,
	    errlen)) == NULL)
		goto done;
	if (r->code != 250) {
		snprintf(err, errlen, "tor refused GETCONF SocksPort: %s",
		    torctl_reply_message(r));
		goto done;
	}
	if (socks_setconf_line(r, line, sizeof(line), &configured) == -1) {
		snprintf(err, errlen, "tor's SocksPort lines are too long to "
		    "keep beside ours");
		goto done;
	}
	torctl_reply_free(r);
	r = NULL;
	if (!configured && keep_default_listeners(cv, line, sizeof(line), err,
	    errlen) == -1)
		goto done;
	if (append_ours(line, sizeof(line), port) == -1) {
		snprintf(err, errlen, "tor's SocksPort lines are too long to "
		    "keep beside ours");
		goto done;
	}
	if ((r = command(cv, line, "SETCONF", err, errlen)) == NULL)
		goto done;
	if (r->code != 250) {
		snprintf(err, errlen, "tor refused to add a SocksPort for the "
		    "liveness probes: %s", torctl_reply_message(r));
		goto done;
	}
	rc = 0;
 done:
	if (rc == -1)
		name_endpoint(cv, err, errlen);
	if (r != NULL)
		torctl_reply_free(r);
	conv_close(cv);
	return rc;
}

/*
 * The connections of fetchd's liveness probes.  fetchd may not connect
 * anywhere (its sandbox forbids socket and connect), so for each probe it
 * asks the parent, which connects to a SOCKS listener of the management
 * tor and passes the fd on; the SOCKS exchange itself is fetchd's.
 *
 * The listener is our own, added to tor at run time with SETCONF beside
 * the operator's SocksPort lines (control_socks_listener()), because only
 * a port with ExtendedErrors says *why* an onion service could not be
 * reached, and the probes need exactly that.  It binds 127.0.0.1 and
 * carries OnionTrafficOnly.  A tor that restarted has forgotten it: a
 * connect that fails makes us add it again.  After a failure to add it,
 * probes are answered with the reason for PARENT_SOCKS_RETRY_MS, so that a
 * tor that refuses (e.g. one running with Sandbox 1) is not asked again
 * for every probe.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parent.h"

#define PARENT_SOCKS_RETRY_MS	(30 * 1000)
#define PARENT_SOCKS_CONNECT_MS	1000

static int
connect_loopback(uint16_t port)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, soerr = 0, saved;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return fd;
	/* Loopback answers at once; a firewall that drops must not hang us. */
	if (errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, PARENT_SOCKS_CONNECT_MS) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
		    soerr == 0)
			return fd;
		errno = soerr != 0 ? soerr : ETIMEDOUT;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* A loopback port that is free now, for tor to bind. */
static int
free_loopback_port(uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, rc = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0) {
		*port = ntohs(sin.sin_port);
		rc = 0;
	}
	close(fd);
	return rc;
}

/* Our listener is on tor's host: reachable only if that host is ours. */
static bool
tor_is_local(const struct ob_config *cfg)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (cfg->control_socket != NULL)
		return true;	/* tried first; a unix socket is local */
	if (inet_pton(AF_INET, cfg->control_address, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, cfg->control_address, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6);
}

static int
add_listener(struct parent *p, char *err, size_t errlen)
{
	struct control_target t;
	uint16_t port;

	if (!tor_is_local(p->cfg)) {
		snprintf(err, errlen, "liveness probes need the management "
		    "tor on this host (tor-control-address is %s)",
		    p->cfg->control_address);
		return -1;
	}
	if (free_loopback_port(&port) == -1) {
		snprintf(err, errlen, "no free loopback port for the probes' "
		    "SOCKS listener: %s", strerror(errno));
		return -1;
	}
	control_target_from_config(&t, p->cfg);
	if (control_socks_listener(&t, port, err, errlen) == -1)
		return -1;
	log_info("added SOCKS listener 127.0.0.1:%u to tor for liveness "
	    "probes", port);
	p->socks_port = port;
	return 0;
}

int
parent_socks_connect(struct parent *p, char *err, size_t errlen)
{
	uint64_t now = monotonic_ms();
	int fd;

	if (p->socks_port != 0 && (fd = connect_loopback(p->socks_port)) != -1)
		return fd;
	if (p->socks_port != 0)
		log_info("probe SOCKS listener 127.0.0.1:%u: %s; adding it "
		    "again", p->socks_port, strerror(errno));
	p->socks_port = 0;
	if (now < p->socks_retry_ms) {
		snprintf(err, errlen, "%s", p->socks_error);
		return -1;
	}
	if (add_listener(p, p->socks_error, sizeof(p->socks_error)) == -1 ||
	    (fd = connect_loopback(p->socks_port)) == -1) {
		if (p->socks_port != 0)
			snprintf(p->socks_error, sizeof(p->socks_error),
			    "probe SOCKS listener 127.0.0.1:%u: %s",
			    p->socks_port, strerror(errno));
		p->socks_port = 0;
		p->socks_retry_ms = now + PARENT_SOCKS_RETRY_MS;
		log_warnx("liveness probes unavailable: %s; trying again in "
		    "%u s", p->socks_error, PARENT_SOCKS_RETRY_MS / 1000);
		snprintf(err, errlen, "%s", p->socks_error);
		return -1;
	}
	return fd;
}

void
parent_socks_request(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_builder b;
	struct ipc_cursor cur;
	char err[256], reason[PC_SOCKS_REASON_MAX + 1];
	uint32_t id;
	int fd;

	if (c->role != ROLE_FETCHD ||
	    ipc_open_fixed(&cur, msg, PC_SOCKS_REQUEST_LEN) == -1 ||
	    ipc_get_u32(&cur, &id) == -1) {
		child_lost(c, "sent a malformed or unexpected SOCKS_REQUEST");
		return;
	}
	if ((fd = parent_socks_connect(c->parent, err, sizeof(err))) != -1) {
		ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_SOCKS_FD, 0);
		ipc_add_u32(&b, id);
	} else {
		ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_SOCKS_FAILED,
		    0);
		ipc_add_u32(&b, id);
		/* Cut to what the message carries (gcc's format-truncation). */
		snprintf(reason, sizeof(reason), "%.*s",
		    (int)sizeof(reason) - 1, err);
		ipc_add_string(&b, reason);
	}
	if (ipc_builder_finish(&b) == -1)
		fatalx("SOCKS answer does not fit");
	if (ipc_send(&c->ch, &b, fd) == -1)
		log_warn("%s: sending the probe connection", c->name);
	if (fd != -1)
		close(fd);
}

/*
 * A tor control-port client on a libevent bufferevent, shared by fetchd
 * and publishd (not keyd).  See docs/control-port.md.
 *
 * - Connects over TCP (numeric address) or a unix socket, or adopts a
 *   connected fd handed over by the parent (optionally already
 *   authenticated), then authenticates: PROTOCOLINFO, and the strongest
 *   method that tor offers and the caller allows, SAFECOOKIE > COOKIE >
 *   HASHEDPASSWORD > NULL.  For SAFECOOKIE, tor's server hash is checked
 *   before we answer.
 * - Commands are queued; tor answers in order, so each reply goes to the
 *   oldest outstanding command's callback.  Every reply has a deadline: a
 *   command tor never answers (HSPOST without HSADDRESS, digest §9.5)
 *   fails with TORCTL_TIMEOUT instead of wedging the queue, and because
 *   the queue can no longer be trusted after that, the connection is
 *   reset.
 * - Asynchronous 650 events, wherever they arrive, go to the subscribers
 *   of their keyword.  Subscriptions here are local dispatch only: tor's
 *   event set (SETEVENTS) belongs to the connection, and the caller sets
 *   it again from its "connected" callback.
 * - When the connection goes (EOF, error, protocol violation, timeout,
 *   failed authentication) every outstanding command fails with
 *   TORCTL_CLOSED, the caller hears "disconnected", and, if we have an
 *   address, we reconnect with exponential backoff.
 *
 * Callbacks may send commands and may call torctl_free().
 */
#ifndef OB_TORCTL_H
#define OB_TORCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "torctl_auth.h"
#include "torctl_parse.h"

struct event_base;
struct torctl;

enum torctl_status {
	TORCTL_OK,		/* 2yz reply */
	TORCTL_REJECTED,	/* 4yz/5yz; torctl_reply_message() says why */
	TORCTL_TIMEOUT,		/* no reply in time (the connection is reset) */
	TORCTL_CLOSED,		/* connection lost, or torctl_free() */
};

/* reply is NULL unless status is TORCTL_OK or TORCTL_REJECTED. */
typedef void torctl_reply_cb(struct torctl *ctl, enum torctl_status status,
    const struct torctl_reply *reply, void *arg);
typedef void torctl_event_cb(struct torctl *ctl,
    const struct torctl_reply *event, void *arg);
/* connected: authenticated and ready; else reason says what happened. */
typedef void torctl_conn_cb(struct torctl *ctl, bool connected,
    const char *reason, void *arg);

struct torctl_config {
	const char	*host;		/* numeric IPv4 or IPv6 address */
	uint16_t	 port;
	const char	*unix_path;	/* instead of host:port */
	unsigned	 auth_methods;	/* allowed torctl_auth_method bits; 0: all */
	const char	*password;	/* for HASHEDPASSWORD; NULL if none */
	/*
	 * The cookie: given as bytes (the parent read the file or passed its
	 * fd), else read from cookie_path, else from the COOKIEFILE tor
	 * names in PROTOCOLINFO.  The file is re-read on every connection,
	 * because tor writes a new cookie each time it starts.
	 */
	const uint8_t	*cookie;	/* TORCTL_COOKIE_LEN bytes, copied */
	const char	*cookie_path;
	struct torctl_limits limits;	/* zero: defaults */
	unsigned	 reply_timeout_ms;	/* 0: 120 s */
	unsigned	 backoff_min_ms;	/* 0: 1 s */
	unsigned	 backoff_max_ms;	/* 0: 60 s */
	torctl_conn_cb	*on_conn;
	void		*arg;
};

struct torctl *torctl_new(struct event_base *base,
	    const struct torctl_config *cfg);
/* Connects to host:port or unix_path, and keeps reconnecting. */
int	torctl_start(struct torctl *ctl);
/*
 * Uses fd, a connected stream socket (ownership passes).  With
 * authenticated, the parent already did the authentication.  Without an
 * address in the config there is no reconnect: the caller gets
 * "disconnected" and hands over a new fd.
 */
int	torctl_adopt_fd(struct torctl *ctl, int fd, bool authenticated);
void	torctl_free(struct torctl *ctl);
/*
 * Ends the connection as if tor had broken it (a tor that refuses what
 * we need): commands fail, on_conn hears "disconnected" with reason, and
 * a torctl with an address reconnects with backoff.
 */
void	torctl_drop(struct torctl *ctl, const char *reason);
bool	torctl_is_ready(const struct torctl *ctl);
/* The method the current (or last) connection authenticated with. */
enum torctl_auth_method torctl_auth_used(const struct torctl *ctl);

/*
 * Sends a one-line command (no CRLF; printable ASCII only).  Fails (-1)
 * without sending if the line is malformed or we are not ready.  cb may
 * be NULL.
 */
int	torctl_command(struct torctl *ctl, const char *line,
	    torctl_reply_cb *cb, void *arg);
/*
 * Sends "+line" and data as a data block: data uses LF line ends and may
 * not contain CR or NUL; it is dot-stuffed and sent with CRLF.
 */
int	torctl_command_data(struct torctl *ctl, const char *line,
	    const char *data, size_t len, torctl_reply_cb *cb, void *arg);
/* Several subscribers per keyword are fine; they are called in order. */
int	torctl_subscribe(struct torctl *ctl, const char *keyword,
	    torctl_event_cb *cb, void *arg);

/*
 * The commands the daemons use.  Arguments are validated (a word that
 * could smuggle a space, CR or LF into the command is rejected) and the
 * call fails with -1 before anything is sent.
 *
 * GETINFO k1 k2 ...: look the values up with torctl_reply_getinfo().
 */
int	torctl_getinfo(struct torctl *ctl, const char *const *keys,
	    size_t nkeys, torctl_reply_cb *cb, void *arg);
/* SETEVENTS replaces tor's whole event set; nevents may be 0. */
int	torctl_setevents(struct torctl *ctl, const char *const *events,
	    size_t nevents, torctl_reply_cb *cb, void *arg);
/* address: the 56 characters, without ".onion" (tor insists). */
int	torctl_hsfetch(struct torctl *ctl, const char *address,
	    const char *const *servers, size_t nservers, torctl_reply_cb *cb,
	    void *arg);
/*
 * +HSPOST SERVER=... HSADDRESS=address.  At least one server: without
 * SERVER= tor picks HSDirs with the wrong time period (digest §9.5).
 */
int	torctl_hspost(struct torctl *ctl, const char *const *servers,
	    size_t nservers, const char *address, const char *desc,
	    size_t desc_len, torctl_reply_cb *cb, void *arg);
/* SIGNAL NEWNYM, SIGNAL ACTIVE, ... */
int	torctl_signal(struct torctl *ctl, const char *signal_name,
	    torctl_reply_cb *cb, void *arg);

/*
 * ONION_CLIENT_AUTH_ADD address x25519:<key in base64>, without Flags=
 * (ephemeral: tor never writes it to disk; a NEWNYM purges it), and
 * ONION_CLIENT_AUTH_REMOVE address.  address: 56 characters, no
 * ".onion".  The key never reaches a log.
 */
int	torctl_onion_client_auth_add(struct torctl *ctl, const char *address,
	    const uint8_t key[32], torctl_reply_cb *cb, void *arg);
int	torctl_onion_client_auth_remove(struct torctl *ctl,
	    const char *address, torctl_reply_cb *cb, void *arg);

/* Syntax checks the helpers use, exported for callers and tests. */
bool	torctl_valid_onion(const char *address);
/* "$"? 40 hex, then optionally "~nick" or "=nick". */
bool	torctl_valid_server(const char *server);

#endif

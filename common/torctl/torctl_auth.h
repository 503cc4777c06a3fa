/*
 * The pure parts of control-port authentication (control-spec §3.5,
 * §3.21, §3.24; digest §9.2): reading PROTOCOLINFO and AUTHCHALLENGE
 * replies, choosing a method, the SAFECOOKIE hashes, the cookie file and
 * the QuotedString of a password.  The connection layer (torctl.c) drives
 * them; tests drive them directly.
 */
#ifndef OB_TORCTL_AUTH_H
#define OB_TORCTL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "torctl_parse.h"

#define TORCTL_COOKIE_LEN	32
#define TORCTL_NONCE_LEN	32
#define TORCTL_HASH_LEN		32

/* A set of methods is a bitmask of these. */
enum torctl_auth_method {
	TORCTL_AUTH_NONE = 0,
	TORCTL_AUTH_NULL = 1 << 0,
	TORCTL_AUTH_HASHEDPASSWORD = 1 << 1,
	TORCTL_AUTH_COOKIE = 1 << 2,
	TORCTL_AUTH_SAFECOOKIE = 1 << 3,
};
#define TORCTL_AUTH_ALL	(TORCTL_AUTH_NULL | TORCTL_AUTH_HASHEDPASSWORD | \
	TORCTL_AUTH_COOKIE | TORCTL_AUTH_SAFECOOKIE)

struct torctl_protocolinfo {
	unsigned	methods;		/* offered by tor */
	char		cookie_file[4096];	/* unquoted; "" if none */
	char		version[64];		/* Tor="..." */
};

const char *torctl_auth_method_str(enum torctl_auth_method m);
int	torctl_parse_protocolinfo(const struct torctl_reply *r,
	    struct torctl_protocolinfo *pi, const char **why);
/*
 * The strongest method both sides accept: SAFECOOKIE, COOKIE,
 * HASHEDPASSWORD, NULL.  Methods that need a secret count only when we
 * have it (have_cookie: we have the cookie or can read tor's file).
 * TORCTL_AUTH_NONE if there is no common method.
 */
enum torctl_auth_method torctl_auth_choose(unsigned offered, unsigned allowed,
	    bool have_cookie, bool have_password);

/* "250 AUTHCHALLENGE SERVERHASH=<64 hex> SERVERNONCE=<64 hex>". */
int	torctl_parse_authchallenge(const struct torctl_reply *r,
	    uint8_t server_hash[TORCTL_HASH_LEN],
	    uint8_t server_nonce[TORCTL_NONCE_LEN], const char **why);
/*
 * Checks tor's SERVERHASH in constant time and, if it is right, computes
 * the controller-to-server hash to send.  -1 if tor does not know the
 * cookie (or is not tor).  Temporaries are wiped.
 */
int	torctl_safecookie_respond(const uint8_t cookie[TORCTL_COOKIE_LEN],
	    const uint8_t client_nonce[TORCTL_NONCE_LEN],
	    const uint8_t server_nonce[TORCTL_NONCE_LEN],
	    const uint8_t server_hash[TORCTL_HASH_LEN],
	    uint8_t client_hash[TORCTL_HASH_LEN]);
/* Reads exactly 32 bytes from fd (from its current offset); 0 or -1. */
int	torctl_cookie_read_fd(int fd, uint8_t cookie[TORCTL_COOKIE_LEN]);
int	torctl_cookie_read_path(const char *path,
	    uint8_t cookie[TORCTL_COOKIE_LEN]);
/*
 * Writes s as a QuotedString ("...", with \" and \\ escaped) to out.
 * -1 if it does not fit or s has a control character (CR and LF above
 * all: they would end the command).
 */
int	torctl_quote_string(const char *s, char *out, size_t outlen);

#endif

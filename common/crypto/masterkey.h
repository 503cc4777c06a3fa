/*
 * A frontend's master ed25519 key, in the two file formats operators have:
 *
 *  - tor's hs_ed25519_secret_key: "== ed25519v1-secret: type0 ==" padded
 *    with NULs to 32 bytes, then the 64-byte expanded key (a | prefix).
 *  - Onionbalance's PEM: unencrypted PKCS#8 (RFC 8410) "PRIVATE KEY", whose
 *    DER holds the 32-byte seed (a v2 key with an attached public key is
 *    accepted if that key matches).
 *
 * The parser works on a caller's buffer and is strict; it does not use
 * OpenSSL, so that no copy of the secret ends up outside libsodium's
 * guarded, locked memory.  struct masterkey is only ever allocated by
 * masterkey_new() (sodium_malloc) and freed by masterkey_free(), which
 * wipes it.  Callers must have called sodium_init().  A failed parse or
 * read leaves *mk all zero.
 */
#ifndef OB_MASTERKEY_H
#define OB_MASTERKEY_H

#include <stddef.h>
#include <stdint.h>

#include "ed25519_expanded.h"

#define MASTERKEY_FILE_MAX	4096	/* larger files are not key files */
#define TOR_SECRET_KEY_FILE_LEN	96

enum masterkey_format {
	MASTERKEY_FORMAT_TOR = 1,
	MASTERKEY_FORMAT_PEM,
};

enum masterkey_error {
	MASTERKEY_OK = 0,
	MASTERKEY_ERR_FORMAT,		/* neither PEM nor tor's format */
	MASTERKEY_ERR_TOR_HEADER,	/* tor format with a wrong header */
	MASTERKEY_ERR_TOR_LENGTH,	/* tor format, not 96 bytes */
	MASTERKEY_ERR_PEM_ARMOR,	/* missing/garbled BEGIN/END PRIVATE KEY lines */
	MASTERKEY_ERR_PEM_BASE64,
	MASTERKEY_ERR_PKCS8,		/* DER is not an ed25519 PKCS#8 key */
	MASTERKEY_ERR_PEM_ENCRYPTED,	/* an encrypted key: we cannot use it */
	MASTERKEY_ERR_PUBKEY_MISMATCH,	/* attached public key does not match */
	MASTERKEY_ERR_BAD_KEY,		/* does not give a valid public key */
	MASTERKEY_ERR_TOO_LARGE,
	MASTERKEY_ERR_IO,		/* read/write failed; errno is set */
	MASTERKEY_ERR_NOMEM,
	MASTERKEY_ERR_NO_SEED,		/* PEM needs a seed; a tor-format key has none */
};

struct masterkey {
	struct ed25519_expanded	sk;
	uint8_t			pub[ED25519_PUBKEY_LEN];
	int			has_seed;
	uint8_t			seed[ED25519_SEED_LEN];
	enum masterkey_format	format;		/* format it was read from */
};

const char *masterkey_strerror(enum masterkey_error err);

struct masterkey *masterkey_new(void);		/* NULL on failure */
void	masterkey_free(struct masterkey *mk);	/* wipes; NULL is fine */

/* Fills mk from a whole key file's bytes: PEM first, then tor's format. */
enum masterkey_error masterkey_parse(struct masterkey *mk, const uint8_t *buf,
	    size_t len);
/* Reads an fd to EOF (at most MASTERKEY_FILE_MAX) into secure memory, parses it. */
enum masterkey_error masterkey_read_fd(struct masterkey *mk, int fd);
enum masterkey_error masterkey_generate(struct masterkey *mk);

/* Write the key to fd in either format (whole, with write loops). */
enum masterkey_error masterkey_write_tor(int fd, const struct masterkey *mk);
enum masterkey_error masterkey_write_pem(int fd, const struct masterkey *mk);

#endif

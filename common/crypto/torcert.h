/*
 * tor ed25519 certificates, version 1 (cert-spec.txt; tor torcert.c):
 *
 *   version(1)=1 | cert_type(1) | exp_hours(4, BE) | cert_key_type(1)=1 |
 *   certified_key(32) | n_ext(1) | ext* | signature(64)
 *   ext = ext_length(2, BE) | ext_type(1) | ext_flags(1) | ext_data
 *
 * Extension type 4 ("signed-with-key") carries the signer's 32-byte key.
 * Onion service certs always carry it, which makes them 140 bytes.
 */
#ifndef OB_TORCERT_H
#define OB_TORCERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ed25519_expanded.h"

#define TORCERT_TYPE_SIGNING_HS_DESC	0x08	/* blinded key -> desc signing key */
#define TORCERT_TYPE_AUTH_HS_IP_KEY	0x09	/* desc signing key -> intro auth key */
#define TORCERT_TYPE_CROSS_HS_IP_KEYS	0x0B	/* desc signing key -> ed25519 form of enc key */

#define TORCERT_KEY_TYPE_ED25519	0x01
#define TORCERT_EXT_SIGNED_WITH_KEY	0x04
#define TORCERT_EXT_AFFECTS_VALIDATION	0x01

#define TORCERT_BODY_LEN	76	/* everything before the signature, with the signer ext */
#define TORCERT_LEN		140	/* TORCERT_BODY_LEN + 64 */

enum torcert_error {
	TORCERT_OK = 0,
	TORCERT_ERR_TRUNCATED,		/* shorter than its fields say */
	TORCERT_ERR_TRAILING,		/* bytes after the signature */
	TORCERT_ERR_VERSION,
	TORCERT_ERR_KEY_TYPE,
	TORCERT_ERR_EXTENSION,		/* bad or duplicate signed-with-key ext, unknown critical ext */
	TORCERT_ERR_NO_SIGNER,		/* no signed-with-key extension */
	TORCERT_ERR_TYPE,		/* not the expected cert type */
	TORCERT_ERR_SIGNER,		/* signed by another key than expected */
	TORCERT_ERR_SIGNATURE,
	TORCERT_ERR_EXPIRED,
};

const char *torcert_strerror(enum torcert_error err);

struct torcert {
	uint8_t		type;
	uint32_t	exp_hours;		/* expires at exp_hours*3600 */
	uint8_t		certified[32];
	int		has_signer;
	uint8_t		signer[32];		/* from the type-4 extension */
	uint8_t		signature[64];
	size_t		signed_len;		/* bytes covered by the signature */
};

/* Structure only: no signature check. */
enum torcert_error torcert_parse(struct torcert *out, const uint8_t *buf,
	    size_t len);
/*
 * Parse and check everything a descriptor needs: type == expected_type,
 * a signed-with-key extension, if expected_signer is non-NULL that it
 * equals the extension's key, a valid signature by that key, and not
 * expired at now (expired means now > exp_hours*3600, as tor's
 * tor_cert_is_expired).
 */
enum torcert_error torcert_check(struct torcert *out, const uint8_t *buf,
	    size_t len, uint8_t expected_type, const uint8_t *expected_signer,
	    time_t now);

/* The 76 bytes a signer signs, for a cert with a signed-with-key ext. */
void	torcert_build_body(uint8_t body[TORCERT_BODY_LEN], uint8_t type,
	    uint32_t exp_hours, const uint8_t certified[32],
	    const uint8_t signer_pub[32]);
/* Builds and signs a whole cert with an expanded key. */
int	torcert_sign(uint8_t out[TORCERT_LEN], uint8_t type, uint32_t exp_hours,
	    const uint8_t certified[32], const struct ed25519_expanded *signer,
	    const uint8_t signer_pub[32]);
/* tor: CEIL_DIV(now + lifetime_s, 3600). */
uint32_t torcert_exp_hours(time_t now, uint32_t lifetime_s);

#endif

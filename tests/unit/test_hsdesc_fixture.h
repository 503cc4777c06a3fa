/*
 * A test service for the descriptor codec tests: an identity key, its
 * blinded key for a period, a descriptor-signing key and its cert, and
 * the certify/sign callbacks keyd will provide in the daemon.  Also
 * builders that wrap a hand-made middle or inner layer into a signed
 * descriptor, for the malformed-input tests.
 */
#ifndef OB_TEST_HSDESC_FIXTURE_H
#define OB_TEST_HSDESC_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ed25519_expanded.h"
#include "hsdesc.h"

struct fixture {
	struct ed25519_expanded *id_sk, *blinded_sk, *sign_sk;	/* sodium_malloc */
	uint8_t		id_pk[32], blinded_pk[32], sign_pk[32];
	uint8_t		signing_cert[TORCERT_LEN];
	uint8_t		subcred[32];
	uint64_t	tp, tp_len;
	time_t		now;
	char		address[57];
};

/* A fresh identity (or the given expanded key if id_sk is non-NULL). */
void	fixture_init(struct fixture *f, time_t now, uint64_t tp_len);
void	fixture_free(struct fixture *f);
int	fixture_certify(void *arg, uint8_t type, uint32_t exp_hours,
	    const uint8_t key[32], uint8_t out[TORCERT_LEN]);
int	fixture_sign(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64]);
/* Random but well-formed: IPv4, legacy id, ed25519 id, and IPv6 if asked. */
void	fixture_intro_point(struct hsdesc_intro_point *ip, time_t now,
	    int ipv6);
void	fixture_params(struct hsdesc_encode_params *p, const struct fixture *f,
	    const struct hsdesc_intro_point *ips, size_t n);
/* Appends "signature ..." to a body; returns a malloc'd descriptor. */
char   *fixture_sign_body(const struct fixture *f, const char *body,
	    size_t *len);
/* A signed descriptor whose middle layer plaintext is middle. */
char   *fixture_wrap_middle(const struct fixture *f, uint64_t rev,
	    const char *middle, size_t *len);
/* A signed descriptor whose inner layer plaintext is inner. */
char   *fixture_wrap_inner(const struct fixture *f, uint64_t rev,
	    const char *inner, size_t *len);
/* The plaintext of the middle (which=1) or inner (which=2) layer. */
char   *fixture_layer(const struct fixture *f, const char *desc, size_t len,
	    int which);

#endif

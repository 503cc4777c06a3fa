/*
 * The descriptor revision counter, as tor computes it (rend-spec-v3
 * appendix F.2; tor hs_service.c, crypto_ope.c): an order-preserving
 * encryption of the seconds since the start of the SR protocol run, keyed
 * by a secret derived from the blinded key.  Strictly increasing with time
 * for one blinded key, and reveals nothing about the key holder's clock
 * beyond that order.
 */
#ifndef OB_REVCOUNTER_H
#define OB_REVCOUNTER_H

#include <stdint.h>

#include "ed25519_expanded.h"

#define OPE_INPUT_MAX	(1u << 18)

/* K = SHA3-256("rev-counter-generation\0" | blinded a | blinded prefix). */
void	revcounter_key(uint8_t key[32], const struct ed25519_expanded *blinded);
/*
 * Sum over i < plaintext of (LE u16 word i of AES-256-CTR(K, IV=0)) + 1.
 * plaintext must be in 1..OPE_INPUT_MAX; -1 otherwise.
 */
int	ope_encrypt(uint64_t *out, const uint8_t key[32], uint32_t plaintext);
/*
 * The counter for a descriptor signed at now whose SR run started at
 * srv_start: ope_encrypt(now - srv_start + 1).  -1 if now is before
 * srv_start or too far after it.
 */
int	revcounter_at(uint64_t *out, const uint8_t key[32], int64_t now,
	    int64_t srv_start);
/*
 * Whether rev is the counter revcounter_at() gives at some second in
 * from..to (clipped to the counter's range): 0 if so, -1 if not.  The
 * window is at most OPE_WINDOW_MAX seconds.  Exact, not a range check:
 * since the encryption is strictly increasing, each second has its own
 * counter.
 */
#define OPE_WINDOW_MAX	1000
int	revcounter_find(const uint8_t key[32], int64_t srv_start, int64_t from,
	    int64_t to, uint64_t rev);

#endif

/*
 * ed25519 with an *expanded* secret key (scalar a, prefix), as tor stores
 * it, and the key blinding of rend-spec-v3 appendix A.2.
 *
 * tor's hs_ed25519_secret_key holds (a | prefix), not a seed, so signing
 * works on that pair directly (RFC 8032 section 5.1.6 from step 2 on).  The
 * nonce is SHA-512(prefix | M): it depends on the secret prefix, so it can
 * never be recomputed from public data.  Signatures verify with any RFC
 * 8032 verifier.
 *
 * Structures holding secrets must live in libsodium secure memory
 * (sodium_malloc) and are wiped with sodium_memzero / sodium_free.
 */
#ifndef OB_ED25519_EXPANDED_H
#define OB_ED25519_EXPANDED_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define ED25519_PUBKEY_LEN	32
#define ED25519_SIG_LEN		64
#define ED25519_SEED_LEN	32

struct ed25519_expanded {
	uint8_t	scalar[32];	/* a: clamped (master) or reduced (blinded) */
	uint8_t	prefix[32];	/* the nonce-derivation secret */
};

/* RFC 8032 5.1.5: SHA-512(seed), clamp the low half. */
void	ed25519_expand_seed(struct ed25519_expanded *out,
	    const uint8_t seed[ED25519_SEED_LEN]);
/* A = a.B; -1 if the scalar gives no valid point. */
int	ed25519_public_from_expanded(uint8_t pub[ED25519_PUBKEY_LEN],
	    const struct ed25519_expanded *sk);
/* A fresh key from the system RNG (the seed is wiped). */
int	ed25519_keypair_generate(struct ed25519_expanded *sk,
	    uint8_t pub[ED25519_PUBKEY_LEN]);

/*
 * Signs the concatenation of parts.  pub must be the public key of sk; the
 * function checks that and returns -1 otherwise, so a mismatched pair can
 * never produce a signature that leaks the key.
 */
int	ed25519_sign_expanded(uint8_t sig[ED25519_SIG_LEN],
	    const struct bytes_ref *parts, size_t nparts,
	    const struct ed25519_expanded *sk,
	    const uint8_t pub[ED25519_PUBKEY_LEN]);
/* 0 if sig is a valid signature of msg under pub, else -1. */
int	ed25519_verify(const uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg,
	    size_t len, const uint8_t pub[ED25519_PUBKEY_LEN]);
/*
 * 1 if pub is canonical, not of small order and in the main subgroup
 * (tor's ed25519_validate_pubkey), else 0.
 */
int	ed25519_pubkey_is_valid(const uint8_t pub[ED25519_PUBKEY_LEN]);

/*
 * Key blinding for time period tp of tp_len_min minutes (A.2):
 *   h = SHA3-256("Derive temporary signing key\0" | A | B-string |
 *                "key-blind" | INT_8(tp) | INT_8(tp_len_min))
 * hs_blinding_param() returns the raw h (before clamping).
 */
void	hs_blinding_param(uint8_t h[32], const uint8_t pub[ED25519_PUBKEY_LEN],
	    uint64_t tp, uint64_t tp_len_min);
/* A' = h'.A; -1 if pub is not a valid key. */
int	hs_blind_pubkey(uint8_t out[ED25519_PUBKEY_LEN],
	    const uint8_t pub[ED25519_PUBKEY_LEN], uint64_t tp,
	    uint64_t tp_len_min);
/*
 * a' = h'.a mod l, prefix' = SHA-512("Derive temporary signing key hash
 * input" | prefix)[0..31]; out_pub (may be NULL) receives A'.  Checks that
 * a'.B == h'.A; -1 otherwise.
 */
int	hs_blind_secret(struct ed25519_expanded *out,
	    uint8_t out_pub[ED25519_PUBKEY_LEN],
	    const struct ed25519_expanded *sk,
	    const uint8_t pub[ED25519_PUBKEY_LEN], uint64_t tp,
	    uint64_t tp_len_min);
/* The same with a raw (unclamped) param h, for tor's test vectors. */
int	hs_blind_pubkey_with_param(uint8_t out[ED25519_PUBKEY_LEN],
	    const uint8_t pub[ED25519_PUBKEY_LEN], const uint8_t h[32]);
int	hs_blind_secret_with_param(struct ed25519_expanded *out,
	    const struct ed25519_expanded *sk, const uint8_t h[32]);

#endif

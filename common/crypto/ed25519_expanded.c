/*
 * ed25519 over an expanded secret key (a, prefix), and key blinding
 * (rend-spec-v3 appendix A.2; tor hs_common.c build_blinded_key_param and
 * ext/ed25519/ref10/blinding.c), on libsodium's group and scalar
 * primitives.
 *
 * Every secret temporary (hash states, digests, nonces, reduced scalars)
 * lives on the stack only as long as needed and is wiped with
 * sodium_memzero before return, on every path.
 */
#include <string.h>

#include <sodium.h>

#include "digest.h"
#include "ed25519_expanded.h"
#include "log.h"

/* 32 and 64 bytes */
#define SCALAR_LEN	crypto_core_ed25519_SCALARBYTES
#define WIDE_LEN	crypto_core_ed25519_NONREDUCEDSCALARBYTES

/*
 * The blinding strings.  tor hashes BLIND_STRING with sizeof(), so its NUL
 * is part of the hash input (29 bytes); the other two go in with strlen().
 */
static const char blind_string[] = "Derive temporary signing key";
static const char blind_prefix_string[] =
    "Derive temporary signing key hash input";
static const char basepoint_string[] =
    "(15112221349535400772501151409588531511454012693041857206046113283949"
    "847762202, 46316835694926478169428394003475163141307993866256225615783"
    "033603165251855960)";

void
ed25519_expand_seed(struct ed25519_expanded *out,
    const uint8_t seed[ED25519_SEED_LEN])
{
	uint8_t h[crypto_hash_sha512_BYTES];

	if (crypto_hash_sha512(h, seed, ED25519_SEED_LEN) != 0)
		fatalx("%s: crypto_hash_sha512 failed", __func__);
	memcpy(out->scalar, h, SCALAR_LEN);
	out->scalar[0] &= 248;
	out->scalar[31] &= 127;
	out->scalar[31] |= 64;
	memcpy(out->prefix, h + SCALAR_LEN, sizeof(out->prefix));
	sodium_memzero(h, sizeof(h));
}

int
ed25519_public_from_expanded(uint8_t pub[ED25519_PUBKEY_LEN],
    const struct ed25519_expanded *sk)
{
	/*
	 * noclamp: a master scalar is clamped already, a blinded one is
	 * reduced and must not be clamped again.  libsodium fails only when
	 * the result is the identity (a = 0 mod l).
	 */
	if (crypto_scalarmult_ed25519_base_noclamp(pub, sk->scalar) != 0)
		return -1;
	return 0;
}

int
ed25519_keypair_generate(struct ed25519_expanded *sk,
    uint8_t pub[ED25519_PUBKEY_LEN])
{
	uint8_t seed[ED25519_SEED_LEN];
	int ret;

	randombytes_buf(seed, sizeof(seed));
	ed25519_expand_seed(sk, seed);
	sodium_memzero(seed, sizeof(seed));
	if ((ret = ed25519_public_from_expanded(pub, sk)) != 0)
		sodium_memzero(sk, sizeof(*sk));
	return ret;
}

/* out = SHA-512(head | parts) mod l. */
static void
sha512_mod_l(uint8_t out[SCALAR_LEN], const struct bytes_ref *head,
    size_t nhead, const struct bytes_ref *parts, size_t nparts)
{
	crypto_hash_sha512_state st;
	uint8_t h[crypto_hash_sha512_BYTES];
	size_t i;
	int ok;

	ok = crypto_hash_sha512_init(&st) == 0;
	for (i = 0; ok && i < nhead; i++)
		ok = crypto_hash_sha512_update(&st, head[i].ptr,
		    head[i].len) == 0;
	for (i = 0; ok && i < nparts; i++)
		ok = crypto_hash_sha512_update(&st, parts[i].ptr,
		    parts[i].len) == 0;
	ok = ok && crypto_hash_sha512_final(&st, h) == 0;
	if (!ok)
		fatalx("%s: SHA-512 failed", __func__);
	crypto_core_ed25519_scalar_reduce(out, h);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(h, sizeof(h));
}

/* out = in mod l, for a 256-bit little-endian in. */
static void
scalar_reduce32(uint8_t out[SCALAR_LEN], const uint8_t in[SCALAR_LEN])
{
	uint8_t wide[WIDE_LEN] = { 0 };

	memcpy(wide, in, SCALAR_LEN);
	crypto_core_ed25519_scalar_reduce(out, wide);
	sodium_memzero(wide, sizeof(wide));
}

/*
 * The public key must be checked against the secret key.  The nonce r
 * depends only on (prefix, M), but k = H(R | A | M) depends on the A we
 * are told.  Two signatures of the same M under two different A give the
 * same r and two k: S1 - S2 = (k1 - k2) a, which reveals the secret scalar
 * a to anyone who sees both.  A process that may ask keyd to sign must
 * therefore never be able to choose A.
 */
static int
pub_matches_secret(const struct ed25519_expanded *sk,
    const uint8_t pub[ED25519_PUBKEY_LEN])
{
	uint8_t derived[ED25519_PUBKEY_LEN];
	int ok;

	ok = ed25519_public_from_expanded(derived, sk) == 0 &&
	    sodium_memcmp(derived, pub, sizeof(derived)) == 0;
	sodium_memzero(derived, sizeof(derived));
	return ok;
}

int
ed25519_sign_expanded(uint8_t sig[ED25519_SIG_LEN],
    const struct bytes_ref *parts, size_t nparts,
    const struct ed25519_expanded *sk, const uint8_t pub[ED25519_PUBKEY_LEN])
{
	uint8_t a[SCALAR_LEN], r[SCALAR_LEN], k[SCALAR_LEN], ka[SCALAR_LEN];
	struct bytes_ref nonce_head[1], challenge_head[2];
	int ret = -1;

	if (!pub_matches_secret(sk, pub)) {
		log_warnx("%s: public key does not belong to the secret key",
		    __func__);
		return -1;
	}
	/* r = SHA-512(prefix | M) mod l; R = r.B */
	nonce_head[0] = (struct bytes_ref){ sk->prefix, sizeof(sk->prefix) };
	sha512_mod_l(r, nonce_head, 1, parts, nparts);
	if (crypto_scalarmult_ed25519_base_noclamp(sig, r) != 0)
		goto out;	/* r = 0: probability 2^-252 */
	/* k = SHA-512(R | A | M) mod l */
	challenge_head[0] = (struct bytes_ref){ sig, 32 };
	challenge_head[1] = (struct bytes_ref){ pub, ED25519_PUBKEY_LEN };
	sha512_mod_l(k, challenge_head, 2, parts, nparts);
	/* S = r + k.a mod l */
	scalar_reduce32(a, sk->scalar);
	crypto_core_ed25519_scalar_mul(ka, k, a);
	crypto_core_ed25519_scalar_add(sig + 32, ka, r);
	ret = 0;
out:
	sodium_memzero(a, sizeof(a));
	sodium_memzero(r, sizeof(r));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(ka, sizeof(ka));
	if (ret != 0)
		sodium_memzero(sig, ED25519_SIG_LEN);
	return ret;
}

int
ed25519_verify(const uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg,
    size_t len, const uint8_t pub[ED25519_PUBKEY_LEN])
{
	if (crypto_sign_verify_detached(sig, msg, len, pub) != 0)
		return -1;
	return 0;
}

int
ed25519_pubkey_is_valid(const uint8_t pub[ED25519_PUBKEY_LEN])
{
	return crypto_core_ed25519_is_valid_point(pub) == 1;
}

void
hs_blinding_param(uint8_t h[32], const uint8_t pub[ED25519_PUBKEY_LEN],
    uint64_t tp, uint64_t tp_len_min)
{
	uint8_t tp_be[8], len_be[8];
	struct bytes_ref parts[] = {
		{ blind_string, sizeof(blind_string) },	/* with NUL */
		{ pub, ED25519_PUBKEY_LEN },
		BYTES_STR(basepoint_string),
		BYTES_STR("key-blind"),
		BYTES_OF(tp_be),
		BYTES_OF(len_be),
	};

	put_u64_be(tp_be, tp);
	put_u64_be(len_be, tp_len_min);
	sha3_256_parts(h, parts, sizeof(parts) / sizeof(parts[0]));
}

/* h' of A.2: bits 0-2 and 253, 255 cleared, bit 254 set; not reduced. */
static void
clamp_blinding_param(uint8_t out[SCALAR_LEN], const uint8_t h[32])
{
	memcpy(out, h, SCALAR_LEN);
	out[0] &= 248;
	out[31] &= 63;
	out[31] |= 64;
}

int
hs_blind_pubkey_with_param(uint8_t out[ED25519_PUBKEY_LEN],
    const uint8_t pub[ED25519_PUBKEY_LEN], const uint8_t h[32])
{
	uint8_t hc[SCALAR_LEN];
	int ret = 0;

	clamp_blinding_param(hc, h);
	/*
	 * Fails on a non-canonical A, one of small order or outside the
	 * main subgroup, and on an identity result.
	 */
	if (crypto_scalarmult_ed25519_noclamp(out, hc, pub) != 0)
		ret = -1;
	sodium_memzero(hc, sizeof(hc));
	return ret;
}

int
hs_blind_pubkey(uint8_t out[ED25519_PUBKEY_LEN],
    const uint8_t pub[ED25519_PUBKEY_LEN], uint64_t tp, uint64_t tp_len_min)
{
	uint8_t h[32];
	int ret;

	hs_blinding_param(h, pub, tp, tp_len_min);
	ret = hs_blind_pubkey_with_param(out, pub, h);
	sodium_memzero(h, sizeof(h));
	return ret;
}

/* a' = h'.a mod l and prefix' = SHA-512(string | prefix)[0..31]. */
static void
blind_secret_parts(struct ed25519_expanded *out,
    const struct ed25519_expanded *sk, const uint8_t h[32])
{
	uint8_t hc[SCALAR_LEN], hr[SCALAR_LEN], ar[SCALAR_LEN];
	uint8_t digest[crypto_hash_sha512_BYTES];
	crypto_hash_sha512_state st;

	/*
	 * Reduce both factors first: scalar_mul is specified for reduced
	 * inputs, and h' and a are up to 2^255.  The product mod l is the
	 * same as ref10's sc_muladd(a, h', 0).
	 */
	clamp_blinding_param(hc, h);
	scalar_reduce32(hr, hc);
	scalar_reduce32(ar, sk->scalar);
	crypto_core_ed25519_scalar_mul(out->scalar, hr, ar);

	if (crypto_hash_sha512_init(&st) != 0 ||
	    crypto_hash_sha512_update(&st, (const uint8_t *)blind_prefix_string,
	    sizeof(blind_prefix_string) - 1) != 0 ||
	    crypto_hash_sha512_update(&st, sk->prefix,
	    sizeof(sk->prefix)) != 0 ||
	    crypto_hash_sha512_final(&st, digest) != 0)
		fatalx("%s: SHA-512 failed", __func__);
	memcpy(out->prefix, digest, sizeof(out->prefix));

	sodium_memzero(hc, sizeof(hc));
	sodium_memzero(hr, sizeof(hr));
	sodium_memzero(ar, sizeof(ar));
	sodium_memzero(digest, sizeof(digest));
	sodium_memzero(&st, sizeof(st));
}

/*
 * Blinds sk with the raw param h and checks a'.B == h'.A, which also
 * proves that pub belongs to sk.  out is wiped on failure.
 */
static int
blind_secret_checked(struct ed25519_expanded *out,
    uint8_t out_pub[ED25519_PUBKEY_LEN], const struct ed25519_expanded *sk,
    const uint8_t pub[ED25519_PUBKEY_LEN], const uint8_t h[32])
{
	struct ed25519_expanded blinded;	/* out may alias sk */
	uint8_t blinded_pub[ED25519_PUBKEY_LEN];
	uint8_t from_secret[ED25519_PUBKEY_LEN];
	int ok;

	if (hs_blind_pubkey_with_param(blinded_pub, pub, h) != 0) {
		sodium_memzero(out, sizeof(*out));
		return -1;
	}
	blind_secret_parts(&blinded, sk, h);
	ok = ed25519_public_from_expanded(from_secret, &blinded) == 0 &&
	    sodium_memcmp(from_secret, blinded_pub, sizeof(from_secret)) == 0;
	if (ok) {
		memcpy(out, &blinded, sizeof(*out));
		if (out_pub != NULL)
			memcpy(out_pub, blinded_pub, ED25519_PUBKEY_LEN);
	} else
		sodium_memzero(out, sizeof(*out));
	sodium_memzero(&blinded, sizeof(blinded));
	return ok ? 0 : -1;
}

int
hs_blind_secret(struct ed25519_expanded *out,
    uint8_t out_pub[ED25519_PUBKEY_LEN], const struct ed25519_expanded *sk,
    const uint8_t pub[ED25519_PUBKEY_LEN], uint64_t tp, uint64_t tp_len_min)
{
	uint8_t h[32];
	int ret;

	hs_blinding_param(h, pub, tp, tp_len_min);
	ret = blind_secret_checked(out, out_pub, sk, pub, h);
	sodium_memzero(h, sizeof(h));
	return ret;
}

int
hs_blind_secret_with_param(struct ed25519_expanded *out,
    const struct ed25519_expanded *sk, const uint8_t h[32])
{
	uint8_t pub[ED25519_PUBKEY_LEN];

	if (ed25519_public_from_expanded(pub, sk) != 0) {
		sodium_memzero(out, sizeof(*out));
		return -1;
	}
	return blind_secret_checked(out, NULL, sk, pub, h);
}

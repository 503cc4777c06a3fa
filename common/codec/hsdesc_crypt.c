/*
 * Descriptor layer encryption and the restricted-discovery cookie
 * (rend-spec-v3 2.5.1.2 and 2.5.3; tor hs_descriptor.c build_secret_*,
 * build_mac, decrypt_desc_layer, build_descriptor_cookie_keys).
 *
 * Every key, IV and cookie lives on the stack only as long as needed and
 * is wiped before return.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "digest.h"
#include "hsdesc_private.h"

#define KDF_LEN	(AES256_KEY_LEN + AES_CTR_IV_LEN + HSDESC_MAC_LEN)

static void
layer_kdf(uint8_t out[KDF_LEN], const struct hsdesc_layer_keys *k,
    const uint8_t salt[HSDESC_SALT_LEN])
{
	uint8_t rev[8];
	struct bytes_ref parts[6];
	size_t n = 0;

	put_u64_be(rev, k->revision_counter);
	parts[n++] = (struct bytes_ref){ k->blinded_key, 32 };
	if (k->cookie != NULL)
		parts[n++] = (struct bytes_ref){ k->cookie, HSDESC_COOKIE_LEN };
	parts[n++] = (struct bytes_ref){ k->subcredential, 32 };
	parts[n++] = (struct bytes_ref){ rev, sizeof(rev) };
	parts[n++] = (struct bytes_ref){ salt, HSDESC_SALT_LEN };
	parts[n++] = (struct bytes_ref){ k->constant, strlen(k->constant) };
	shake256_parts(out, KDF_LEN, parts, n);
}

/* MAC = H(INT_8(len(mac_key)) | mac_key | INT_8(len(salt)) | salt | ct) */
static void
layer_mac(uint8_t out[HSDESC_MAC_LEN], const uint8_t *mac_key,
    const uint8_t *salt, const uint8_t *ct, size_t ct_len)
{
	uint8_t klen[8], slen[8];
	struct bytes_ref parts[5];

	put_u64_be(klen, HSDESC_MAC_LEN);
	put_u64_be(slen, HSDESC_SALT_LEN);
	parts[0] = (struct bytes_ref){ klen, 8 };
	parts[1] = (struct bytes_ref){ mac_key, HSDESC_MAC_LEN };
	parts[2] = (struct bytes_ref){ slen, 8 };
	parts[3] = (struct bytes_ref){ salt, HSDESC_SALT_LEN };
	parts[4] = (struct bytes_ref){ ct, ct_len };
	sha3_256_parts(out, parts, 5);
}

enum hsdesc_error
hsdesc_layer_encrypt(const struct hsdesc_layer_keys *k, const uint8_t *plain,
    size_t plain_len, size_t pad_multiple, uint8_t **blob, size_t *blob_len)
{
	uint8_t keys[KDF_LEN], *out, *ct;
	size_t ct_len = plain_len;

	if (pad_multiple > 1) {
		if (plain_len > SIZE_MAX / 2)
			return HSDESC_ERR_INVALID_ARGUMENT;
		ct_len = (plain_len + pad_multiple - 1) / pad_multiple *
		    pad_multiple;
	}
	if (ct_len == 0)
		return HSDESC_ERR_INVALID_ARGUMENT;
	if ((out = calloc(1, HSDESC_SALT_LEN + ct_len + HSDESC_MAC_LEN)) == NULL)
		return HSDESC_ERR_NOMEM;
	ct = out + HSDESC_SALT_LEN;
	/* The padding is the calloc'd zeros after the plaintext. */
	memcpy(ct, plain, plain_len);
	randombytes_buf(out, HSDESC_SALT_LEN);
	layer_kdf(keys, k, out);
	aes256_ctr(ct, ct, ct_len, keys, keys + AES256_KEY_LEN);
	layer_mac(ct + ct_len, keys + AES256_KEY_LEN + AES_CTR_IV_LEN, out, ct,
	    ct_len);
	sodium_memzero(keys, sizeof(keys));
	*blob = out;
	*blob_len = HSDESC_SALT_LEN + ct_len + HSDESC_MAC_LEN;
	return HSDESC_OK;
}

enum hsdesc_error
hsdesc_layer_decrypt(const struct hsdesc_layer_keys *k, const uint8_t *blob,
    size_t blob_len, enum hsdesc_error mac_err, enum hsdesc_error empty_err,
    char **plain, size_t *plain_len)
{
	uint8_t keys[KDF_LEN], mac[HSDESC_MAC_LEN];
	const uint8_t *ct;
	size_t ct_len;
	char *out, *nul;
	int mac_ok;

	*plain = NULL;
	if (blob_len <= HSDESC_SALT_LEN + HSDESC_MAC_LEN)
		return HSDESC_ERR_ENCRYPTED_TOO_SHORT;
	ct = blob + HSDESC_SALT_LEN;
	ct_len = blob_len - HSDESC_SALT_LEN - HSDESC_MAC_LEN;
	layer_kdf(keys, k, blob);
	layer_mac(mac, keys + AES256_KEY_LEN + AES_CTR_IV_LEN, blob, ct, ct_len);
	mac_ok = sodium_memcmp(mac, ct + ct_len, HSDESC_MAC_LEN) == 0;
	if (!mac_ok) {
		sodium_memzero(keys, sizeof(keys));
		return mac_err;
	}
	if ((out = malloc(ct_len + 1)) == NULL) {
		sodium_memzero(keys, sizeof(keys));
		return HSDESC_ERR_NOMEM;
	}
	aes256_ctr((uint8_t *)out, ct, ct_len, keys, keys + AES256_KEY_LEN);
	sodium_memzero(keys, sizeof(keys));
	out[ct_len] = '\0';
	/* tor cuts at the first NUL: that removes the padding. */
	if ((nul = memchr(out, '\0', ct_len + 1)) == out) {
		free(out);
		return empty_err;
	}
	*plain = out;
	*plain_len = (size_t)(nul - out);
	return HSDESC_OK;
}

/* KEYS = SHAKE-256(subcredential | X25519(sk, pk)), 40 bytes. */
static int
cookie_keys(uint8_t keys[HSDESC_CLIENT_ID_LEN + 32], const uint8_t subcred[32],
    const uint8_t sk[X25519_KEY_LEN], const uint8_t pk[X25519_KEY_LEN])
{
	uint8_t seed[crypto_scalarmult_BYTES];
	struct bytes_ref parts[2];

	/* Fails on a small-order pk (all-zero shared secret). */
	if (crypto_scalarmult(seed, sk, pk) != 0)
		return -1;
	parts[0] = (struct bytes_ref){ subcred, 32 };
	parts[1] = (struct bytes_ref){ seed, sizeof(seed) };
	shake256_parts(keys, HSDESC_CLIENT_ID_LEN + 32, parts, 2);
	sodium_memzero(seed, sizeof(seed));
	return 0;
}

int
hsdesc_auth_client_build(struct hsdesc_auth_client *out,
    const uint8_t subcred[32], const uint8_t esk[X25519_KEY_LEN],
    const uint8_t client_pk[X25519_KEY_LEN],
    const uint8_t cookie[HSDESC_COOKIE_LEN])
{
	uint8_t keys[HSDESC_CLIENT_ID_LEN + 32];

	if (cookie_keys(keys, subcred, esk, client_pk) != 0)
		return -1;
	memcpy(out->client_id, keys, HSDESC_CLIENT_ID_LEN);
	randombytes_buf(out->iv, sizeof(out->iv));
	aes256_ctr(out->encrypted_cookie, cookie, HSDESC_COOKIE_LEN,
	    keys + HSDESC_CLIENT_ID_LEN, out->iv);
	sodium_memzero(keys, sizeof(keys));
	return 0;
}

void
hsdesc_auth_client_fake(struct hsdesc_auth_client *out)
{
	randombytes_buf(out, sizeof(*out));
}

int
hsdesc_auth_client_open(const struct hsdesc_auth_client *ac,
    const uint8_t subcred[32], const uint8_t client_sk[X25519_KEY_LEN],
    const uint8_t epk[X25519_KEY_LEN], uint8_t cookie[HSDESC_COOKIE_LEN])
{
	uint8_t keys[HSDESC_CLIENT_ID_LEN + 32];
	int ours;

	if (cookie_keys(keys, subcred, client_sk, epk) != 0)
		return -1;
	ours = sodium_memcmp(keys, ac->client_id, HSDESC_CLIENT_ID_LEN) == 0;
	if (ours)
		aes256_ctr(cookie, ac->encrypted_cookie, HSDESC_COOKIE_LEN,
		    keys + HSDESC_CLIENT_ID_LEN, ac->iv);
	sodium_memzero(keys, sizeof(keys));
	return ours ? 0 : -1;
}

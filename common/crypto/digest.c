#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "digest.h"
#include "log.h"

/*
 * The algorithms, fetched from OpenSSL's default library context once per
 * process.  EVP_sha3_256() and friends are legacy handles: OpenSSL 3 looks
 * the provider's implementation up again (EVP_CIPHER_fetch, a locked
 * property query) on every Init that is given one, which was nearly all of
 * aes256_ctr()'s cost.  The fetched objects are public algorithm
 * descriptions, no key material; they live as long as the process (the
 * pointers stay reachable, so LeakSanitizer does not report them).
 *
 * OpenSSL's config file (/etc/ssl/openssl.cnf) is not read: nothing here
 * needs it, and what it can do (load other providers or engines, change
 * the default properties) is not wanted in a process that holds keys.
 * Leaving it out also saves each process the config's parsed tree.  The
 * first fetch sets up OpenSSL's built-in default provider, which
 * allocates its tables; each child calls digest_init() (and, if it uses
 * the cipher, aes256_ctr_init()) before its sandbox's filter is loaded
 * (sandbox.c's preload_libraries() does), and the lazy calls below serve
 * the parent and programs that never enter a sandbox (tests, benchmarks,
 * tools).
 */
static struct {
	EVP_MD		*sha3_256;
	EVP_MD		*shake256;
	EVP_CIPHER	*aes256_ctr;
} algs;

/*
 * The first call decides for the process: no later OpenSSL call loads
 * the config either.
 */
static void
openssl_init_without_config(void)
{
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1)
		fatalx("%s: OPENSSL_init_crypto failed", __func__);
}

void
digest_init(void)
{
	if (algs.shake256 != NULL)
		return;
	openssl_init_without_config();
	if ((algs.sha3_256 = EVP_MD_fetch(NULL, "SHA3-256", NULL)) == NULL ||
	    (algs.shake256 = EVP_MD_fetch(NULL, "SHAKE-256", NULL)) == NULL)
		fatalx("%s: OpenSSL has no SHA3-256 or SHAKE-256", __func__);
}

/*
 * Apart from digest_init(): the first cipher fetch builds OpenSSL's
 * table of every cipher the provider has (about 140 kB of heap), which
 * the parent and keyd, who never use this cipher, need not hold.
 */
void
aes256_ctr_init(void)
{
	if (algs.aes256_ctr != NULL)
		return;
	openssl_init_without_config();
	if ((algs.aes256_ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR",
	    NULL)) == NULL)
		fatalx("%s: OpenSSL has no AES-256-CTR", __func__);
}

static void
digest_parts(const EVP_MD *md, uint8_t *out, size_t outlen, int xof,
    const struct bytes_ref *parts, size_t nparts)
{
	EVP_MD_CTX *ctx;
	unsigned int mdlen = 0;
	size_t i;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("%s: EVP_MD_CTX_new failed", __func__);
	ok = EVP_DigestInit_ex(ctx, md, NULL);
	for (i = 0; ok && i < nparts; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].ptr, parts[i].len);
	if (ok && xof)
		ok = EVP_DigestFinalXOF(ctx, out, outlen);
	else if (ok) {
		ok = EVP_DigestFinal_ex(ctx, out, &mdlen) && mdlen == outlen;
	}
	EVP_MD_CTX_free(ctx);
	if (!ok)
		fatalx("%s: OpenSSL digest failed", __func__);
}

void
sha3_256(uint8_t out[SHA3_256_LEN], const void *in, size_t len)
{
	struct bytes_ref part = { in, len };

	digest_init();
	digest_parts(algs.sha3_256, out, SHA3_256_LEN, 0, &part, 1);
}

void
sha3_256_parts(uint8_t out[SHA3_256_LEN], const struct bytes_ref *parts,
    size_t nparts)
{
	digest_init();
	digest_parts(algs.sha3_256, out, SHA3_256_LEN, 0, parts, nparts);
}

void
shake256_parts(uint8_t *out, size_t outlen, const struct bytes_ref *parts,
    size_t nparts)
{
	digest_init();
	digest_parts(algs.shake256, out, outlen, 1, parts, nparts);
}

void
aes256_ctr(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t key[AES256_KEY_LEN], const uint8_t iv[AES_CTR_IV_LEN])
{
	EVP_CIPHER_CTX *ctx;
	int outl = 0, ok;

	if (len > INT32_MAX)
		fatalx("%s: %zu bytes is too long", __func__, len);
	aes256_ctr_init();
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		fatalx("%s: EVP_CIPHER_CTX_new failed", __func__);
	ok = EVP_EncryptInit_ex(ctx, algs.aes256_ctr, NULL, key, iv) &&
	    EVP_EncryptUpdate(ctx, out, &outl, in, (int)len) &&
	    (size_t)outl == len;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		fatalx("%s: OpenSSL AES-256-CTR failed", __func__);
}

void
hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const void *msg,
    size_t msglen)
{
	crypto_auth_hmacsha256_state st;

	if (crypto_auth_hmacsha256_init(&st, key, keylen) != 0 ||
	    crypto_auth_hmacsha256_update(&st, msg, msglen) != 0 ||
	    crypto_auth_hmacsha256_final(&st, out) != 0)
		fatalx("%s: libsodium HMAC-SHA256 failed", __func__);
	sodium_memzero(&st, sizeof(st));
}

void
put_u64_be(uint8_t out[8], uint64_t x)
{
	int i;

	for (i = 7; i >= 0; i--, x >>= 8)
		out[i] = (uint8_t)x;
}

uint64_t
get_u64_be(const uint8_t in[8])
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < 8; i++)
		x = (x << 8) | in[i];
	return x;
}

void
put_u32_be(uint8_t out[4], uint32_t x)
{
	out[0] = (uint8_t)(x >> 24);
	out[1] = (uint8_t)(x >> 16);
	out[2] = (uint8_t)(x >> 8);
	out[3] = (uint8_t)x;
}

uint32_t
get_u32_be(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
	    (uint32_t)in[2] << 8 | in[3];
}

void
put_u16_be(uint8_t out[2], uint16_t x)
{
	out[0] = (uint8_t)(x >> 8);
	out[1] = (uint8_t)x;
}

uint16_t
get_u16_be(const uint8_t in[2])
{
	return (uint16_t)(in[0] << 8 | in[1]);
}

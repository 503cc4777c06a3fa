/*
 * The hash and stream-cipher primitives of the onion service v3 protocol,
 * over OpenSSL's EVP interface: SHA3-256 ("H" in rend-spec-v3), SHAKE-256
 * ("KDF") and AES-256-CTR ("STREAM", the 16-byte IV is the whole initial
 * big-endian counter block); and HMAC-SHA256 (tor's SAFECOOKIE) by
 * libsodium.
 *
 * Inputs are given as a list of byte ranges, because nearly every protocol
 * hash is a concatenation of constants, keys and integers.  Failure inside
 * OpenSSL can only mean an allocation failure; these functions treat it as
 * fatal rather than make every caller handle an error that cannot be
 * recovered from.
 */
#ifndef OB_DIGEST_H
#define OB_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define SHA3_256_LEN	32
#define AES256_KEY_LEN	32
#define AES_CTR_IV_LEN	16

struct bytes_ref {
	const void	*ptr;
	size_t		 len;
};

/* A bytes_ref for a string constant, without its NUL. */
#define BYTES_STR(s)	((struct bytes_ref){ (s), sizeof(s) - 1 })
#define BYTES_OF(x)	((struct bytes_ref){ &(x), sizeof(x) })

/*
 * Fetch SHA3-256 and SHAKE-256 (digest_init) or AES-256-CTR
 * (aes256_ctr_init) from OpenSSL once for the process, without reading
 * OpenSSL's config file.  The functions below call the one they need, so
 * an explicit call is needed only before a sandbox's filter (the first
 * fetch allocates the provider's tables); calling one again does nothing.
 */
void	digest_init(void);
void	aes256_ctr_init(void);

void	sha3_256(uint8_t out[SHA3_256_LEN], const void *in, size_t len);
void	sha3_256_parts(uint8_t out[SHA3_256_LEN], const struct bytes_ref *parts,
	    size_t nparts);
void	shake256_parts(uint8_t *out, size_t outlen,
	    const struct bytes_ref *parts, size_t nparts);
/* out may equal in. */
void	aes256_ctr(uint8_t *out, const uint8_t *in, size_t len,
	    const uint8_t key[AES256_KEY_LEN], const uint8_t iv[AES_CTR_IV_LEN]);
void	hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
	    const void *msg, size_t msglen);

/* INT_8(x) of the spec: 8 bytes, big-endian. */
void	put_u64_be(uint8_t out[8], uint64_t x);
uint64_t get_u64_be(const uint8_t in[8]);
void	put_u32_be(uint8_t out[4], uint32_t x);
uint32_t get_u32_be(const uint8_t in[4]);
void	put_u16_be(uint8_t out[2], uint16_t x);
uint16_t get_u16_be(const uint8_t in[2]);

#endif

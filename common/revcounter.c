/*
 * Revision counters by order-preserving encryption, as tor makes them
 * (tor crypto_ope.c, hs_service.c generate_ope_cipher_for_desc and
 * set_descriptor_revision_counter).
 *
 * The keystream is AES-256-CTR under K with the counter block starting at
 * zero; each 16-bit little-endian word w_i of it stands for one second,
 * and the ciphertext of T is the sum of (w_i + 1) for i < T.  tor caches
 * partial sums; at most 2^18 words (512 KiB of keystream) per call, we
 * simply recompute them.
 */
#include <string.h>

#include <sodium.h>

#include "digest.h"
#include "revcounter.h"

/* A multiple of 8 words, so that every chunk starts on an AES block. */
#define OPE_CHUNK_WORDS	1024
#define AES_BLOCK_LEN	16

void
revcounter_key(uint8_t key[32], const struct ed25519_expanded *blinded)
{
	/* tor hashes the prefix with sizeof(), so with its NUL. */
	static const char prefix[] = "rev-counter-generation";
	struct bytes_ref parts[] = {
		{ prefix, sizeof(prefix) },
		{ blinded->scalar, sizeof(blinded->scalar) },
		{ blinded->prefix, sizeof(blinded->prefix) },
	};

	sha3_256_parts(key, parts, sizeof(parts) / sizeof(parts[0]));
}

/* Sum of (w_i + 1) for the n words starting at word `first`. */
static uint64_t
sum_keystream_words(const uint8_t key[32], uint64_t first, size_t n)
{
	uint8_t stream[OPE_CHUNK_WORDS * 2], iv[AES_CTR_IV_LEN] = { 0 };
	uint64_t sum = 0;
	size_t i;

	/* The 16-byte IV is the big-endian index of the first block. */
	put_u64_be(iv + 8, first * 2 / AES_BLOCK_LEN);
	memset(stream, 0, n * 2);
	aes256_ctr(stream, stream, n * 2, key, iv);
	for (i = 0; i < n; i++)
		sum += (uint64_t)(stream[2 * i] | stream[2 * i + 1] << 8) + 1;
	sodium_memzero(stream, sizeof(stream));
	return sum;
}

int
ope_encrypt(uint64_t *out, const uint8_t key[32], uint32_t plaintext)
{
	uint64_t sum = 0, done = 0;
	size_t n;

	if (plaintext < 1 || plaintext > OPE_INPUT_MAX)
		return -1;
	while (done < plaintext) {
		n = plaintext - done;
		if (n > OPE_CHUNK_WORDS)
			n = OPE_CHUNK_WORDS;
		sum += sum_keystream_words(key, done, n);
		done += n;
	}
	*out = sum;
	return 0;
}

int
revcounter_at(uint64_t *out, const uint8_t key[32], int64_t now,
    int64_t srv_start)
{
	uint64_t elapsed;

	if (now < srv_start)
		return -1;
	/* Well defined, and exact because now >= srv_start. */
	elapsed = (uint64_t)now - (uint64_t)srv_start;
	/* tor adds 1 so that the plaintext is never 0. */
	if (elapsed >= OPE_INPUT_MAX)
		return -1;
	return ope_encrypt(out, key, (uint32_t)elapsed + 1);
}

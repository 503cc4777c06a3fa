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

/*
 * The n keystream words starting at word `first`, which must start an AES
 * block (a multiple of 8 words), into stream (2 * n bytes).
 */
static void
keystream_words(uint8_t *stream, const uint8_t key[32], uint64_t first,
    size_t n)
{
	uint8_t iv[AES_CTR_IV_LEN] = { 0 };

	/* The 16-byte IV is the big-endian index of the first block. */
	put_u64_be(iv + 8, first * 2 / AES_BLOCK_LEN);
	memset(stream, 0, n * 2);
	aes256_ctr(stream, stream, n * 2, key, iv);
}

static uint64_t
word_at(const uint8_t *stream, size_t i)
{
	return (uint64_t)(stream[2 * i] | stream[2 * i + 1] << 8);
}

/* Sum of (w_i + 1) for the n words starting at word `first`. */
static uint64_t
sum_keystream_words(const uint8_t key[32], uint64_t first, size_t n)
{
	uint8_t stream[OPE_CHUNK_WORDS * 2];
	uint64_t sum = 0;
	size_t i;

	keystream_words(stream, key, first, n);
	for (i = 0; i < n; i++)
		sum += word_at(stream, i) + 1;
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

/*
 * Walks OPE(p) for p = p0 .. p1 (at most OPE_WINDOW_MAX + 1 values): one
 * ope_encrypt for p0, then one keystream word per step.
 */
static int
ope_walk_find(const uint8_t key[32], uint32_t p0, uint32_t p1, uint64_t rev)
{
	uint8_t stream[OPE_CHUNK_WORDS * 2];
	uint64_t sum, base = p0 & ~(uint64_t)7;
	uint32_t p;
	int found = -1;

	if (ope_encrypt(&sum, key, p0) == -1)
		return -1;
	/* Words p0 .. p1 - 1 take the sum from OPE(p0) to OPE(p1). */
	keystream_words(stream, key, base, (size_t)(p1 - base));
	for (p = p0;; p++) {
		if (sum == rev) {
			found = 0;
			break;
		}
		if (sum > rev || p == p1)
			break;
		sum += word_at(stream, p - base) + 1;
	}
	sodium_memzero(stream, sizeof(stream));
	return found;
}

int
revcounter_find(const uint8_t key[32], int64_t srv_start, int64_t from,
    int64_t to, uint64_t rev)
{
	uint64_t p0, p1;

	if (from < srv_start)
		from = srv_start;
	if (to < from || to - from > OPE_WINDOW_MAX)
		return -1;
	p0 = (uint64_t)from - (uint64_t)srv_start + 1;
	p1 = (uint64_t)to - (uint64_t)srv_start + 1;
	if (p1 > OPE_INPUT_MAX)
		p1 = OPE_INPUT_MAX;
	if (p0 > p1)
		return -1;
	return ope_walk_find(key, (uint32_t)p0, (uint32_t)p1, rev);
}

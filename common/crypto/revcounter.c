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
 *
 * K is a secret (keyd's, derived from the blinded key), and so are its
 * AES key schedule and keystream: they live in one libsodium secure
 * allocation per call (locked, guarded, wiped when freed), never in an
 * OpenSSL context on the ordinary heap.  That is why this uses OpenSSL's
 * low-level AES_set_encrypt_key()/AES_encrypt(), deprecated since 3.0 but
 * the only OpenSSL AES whose key schedule is in the caller's memory; the
 * counter mode around it is a few lines here.
 */
/* The low-level AES API: see above. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>

#include <openssl/aes.h>
#include <sodium.h>

#include "digest.h"
#include "log.h"
#include "revcounter.h"

/* A multiple of 8 words, so that every chunk starts on an AES block. */
#define OPE_CHUNK_WORDS	1024
#define AES_BLOCK_LEN	16

/* Everything derived from K, in secure memory. */
struct ope_state {
	AES_KEY		aes;
	uint8_t		ctr[AES_BLOCK_LEN];
	uint8_t		stream[OPE_CHUNK_WORDS * 2];
};

static struct ope_state *
ope_state_new(const uint8_t key[32])
{
	struct ope_state *st;

	if ((st = sodium_malloc(sizeof(*st))) == NULL)
		fatalx("%s: sodium_malloc failed", __func__);
	if (AES_set_encrypt_key(key, 256, &st->aes) != 0)
		fatalx("%s: AES_set_encrypt_key failed", __func__);
	return st;
}

static void
ope_state_free(struct ope_state *st)
{
	sodium_free(st);	/* wipes */
}

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
 * block (a multiple of 8 words), into st->stream: block b of the keystream
 * is AES_K(b as a 128-bit big-endian number).
 */
static void
keystream_words(struct ope_state *st, uint64_t first, size_t n)
{
	uint64_t block = first * 2 / AES_BLOCK_LEN;
	size_t off;

	memset(st->ctr, 0, sizeof(st->ctr));
	for (off = 0; off < n * 2; off += AES_BLOCK_LEN, block++) {
		put_u64_be(st->ctr + 8, block);
		AES_encrypt(st->ctr, st->stream + off, &st->aes);
	}
}

static uint64_t
word_at(const struct ope_state *st, size_t i)
{
	return (uint64_t)(st->stream[2 * i] | st->stream[2 * i + 1] << 8);
}

/* OPE_K(plaintext) with st's key; plaintext in 1..OPE_INPUT_MAX. */
static uint64_t
ope_sum(struct ope_state *st, uint32_t plaintext)
{
	uint64_t sum = 0, done = 0;
	size_t n, i;

	while (done < plaintext) {
		n = plaintext - done;
		if (n > OPE_CHUNK_WORDS)
			n = OPE_CHUNK_WORDS;
		keystream_words(st, done, n);
		for (i = 0; i < n; i++)
			sum += word_at(st, i) + 1;
		done += n;
	}
	return sum;
}

int
ope_encrypt(uint64_t *out, const uint8_t key[32], uint32_t plaintext)
{
	struct ope_state *st;

	if (plaintext < 1 || plaintext > OPE_INPUT_MAX)
		return -1;
	st = ope_state_new(key);
	*out = ope_sum(st, plaintext);
	ope_state_free(st);
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
	struct ope_state *st = ope_state_new(key);
	uint64_t sum, base = p0 & ~(uint64_t)7;
	uint32_t p;
	int found = -1;

	sum = ope_sum(st, p0);
	/* Words p0 .. p1 - 1 take the sum from OPE(p0) to OPE(p1). */
	keystream_words(st, base, (size_t)(p1 - base));
	for (p = p0;; p++) {
		if (sum == rev) {
			found = 0;
			break;
		}
		if (sum > rev || p == p1)
			break;
		sum += word_at(st, p - base) + 1;
	}
	ope_state_free(st);
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

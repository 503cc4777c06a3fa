/*
 * Revision counters: tor's test_crypto_ope.c (its vectors were made by a
 * separate Python implementation), consistency with one straight run of
 * the keystream, order, bounds, and the counter over time.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "digest.h"
#include "revcounter.h"
#include "test.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* tor's OPE_TEST_KEY and OPE_TEST_VECTORS. */
static const char ope_test_key[] =
    "19e05891d55232c08c2cad91d612fdb9cbd6691949a0742434a76c80bc6992fe";
static const struct {
	uint32_t	v;
	uint64_t	r;
} ope_vectors[] = {
	{ 121132, UINT64_C(3971694514) }, { 82283, UINT64_C(2695743564) },
	{ 72661, UINT64_C(2381548866) }, { 72941, UINT64_C(2390408421) },
	{ 123122, UINT64_C(4036781069) }, { 12154, UINT64_C(402067100) },
	{ 121574, UINT64_C(3986197593) }, { 11391, UINT64_C(376696838) },
	{ 65845, UINT64_C(2161801517) }, { 86301, UINT64_C(2828270975) },
	{ 61284, UINT64_C(2013616892) }, { 70505, UINT64_C(2313368870) },
	{ 30438, UINT64_C(1001394664) }, { 60150, UINT64_C(1977329668) },
	{ 114800, UINT64_C(3764946628) }, { 109403, UINT64_C(3585352477) },
	{ 21893, UINT64_C(721388468) }, { 123569, UINT64_C(4051780471) },
	{ 95617, UINT64_C(3134921876) }, { 48561, UINT64_C(1597596985) },
	{ 53334, UINT64_C(1753691710) }, { 92746, UINT64_C(3040874493) },
	{ 7110, UINT64_C(234966492) }, { 9612, UINT64_C(318326551) },
	{ 106958, UINT64_C(3506124249) }, { 46889, UINT64_C(1542219146) },
	{ 87790, UINT64_C(2877361609) }, { 68878, UINT64_C(2260369112) },
	{ 47917, UINT64_C(1576681737) }, { 121128, UINT64_C(3971553290) },
	{ 108602, UINT64_C(3559176081) }, { 28217, UINT64_C(929692460) },
	{ 69498, UINT64_C(2280554161) }, { 63870, UINT64_C(2098322675) },
	{ 57542, UINT64_C(1891698992) }, { 122148, UINT64_C(4004515805) },
	{ 46254, UINT64_C(1521227949) }, { 42850, UINT64_C(1408996941) },
	{ 92661, UINT64_C(3037901517) }, { 57720, UINT64_C(1897369989) },
};

/* tor's test_crypto_ope_vectors: the key, and a key one bit off. */
static void
test_tor_vectors(void)
{
	uint8_t key[32];
	uint64_t out;
	size_t i;

	test_unhex(key, 32, ope_test_key);
	for (i = 0; i < NELEM(ope_vectors); i++) {
		CHECK_INT_EQ(ope_encrypt(&out, key, ope_vectors[i].v), 0);
		CHECK(out == ope_vectors[i].r);
	}
	key[8] += 1;
	for (i = 0; i < NELEM(ope_vectors); i++) {
		CHECK_INT_EQ(ope_encrypt(&out, key, ope_vectors[i].v), 0);
		CHECK(out != ope_vectors[i].r);
	}
}

/* The sum over one AES-256-CTR call of 2n zero bytes from counter 0. */
static uint64_t
straight_sum(const uint8_t key[32], uint32_t n)
{
	static uint8_t stream[2 * OPE_INPUT_MAX];
	uint8_t iv[16] = { 0 };
	uint64_t sum = 0;
	uint32_t i;

	memset(stream, 0, 2 * (size_t)n);
	aes256_ctr(stream, stream, 2 * (size_t)n, key, iv);
	for (i = 0; i < n; i++)
		sum += (uint64_t)stream[2 * i] + 256u * stream[2 * i + 1] + 1;
	return sum;
}

/*
 * tor's test_crypto_ope_consistency: values around the chunk boundaries
 * agree with one straight pass over the keystream, and increase.
 */
static void
test_consistency(void)
{
	static const uint8_t key[32] = {
		'A', ' ', 'f', 'i', 'x', 'e', 'd', ' ', 'k', 'e', 'y', ',',
		' ', 'c', 'h', 'o', 's', 'e', 'n', ' ', 'a', 'r', 'b', 'i',
		't', 'r', 'a', 'r', 'i', 'l', 'y', '.',
	};
	static const uint32_t values[] = { 1, 5, 500, 1023, 1024, 1025, 2046,
	    2047, 2048, 2049, 10000, OPE_INPUT_MAX };
	uint64_t out, last = 0;
	size_t i;

	for (i = 0; i < NELEM(values); i++) {
		CHECK_INT_EQ(ope_encrypt(&out, key, values[i]), 0);
		CHECK(out == straight_sum(key, values[i]));
		CHECK(out > last);
		last = out;
	}
}

/* Each second adds between 1 and 65536; samples across the whole range. */
static void
test_strictly_increasing(void)
{
	uint8_t key[32];
	uint64_t a, b, last = 0;
	uint32_t n;

	test_unhex(key, 32, ope_test_key);
	for (n = 1; n < OPE_INPUT_MAX; n += 4099) {
		CHECK_INT_EQ(ope_encrypt(&a, key, n), 0);
		CHECK_INT_EQ(ope_encrypt(&b, key, n + 1), 0);
		CHECK(b > a && b - a <= 65536);
		CHECK(a > last);
		last = b;
	}
	CHECK_INT_EQ(ope_encrypt(&a, key, 1), 0);
	CHECK(a >= 1 && a <= 65536);
}

/* tor's test_crypto_ope_oob: 1..OPE_INPUT_MAX only. */
static void
test_bounds(void)
{
	uint8_t key[32] = { 0 };
	uint64_t out = 12345;

	CHECK_INT_EQ(ope_encrypt(&out, key, 0), -1);
	CHECK_INT_EQ(ope_encrypt(&out, key, OPE_INPUT_MAX + 1), -1);
	CHECK_INT_EQ(ope_encrypt(&out, key, UINT32_MAX), -1);
	CHECK(out == 12345);
	CHECK_INT_EQ(ope_encrypt(&out, key, 1), 0);
	CHECK_INT_EQ(ope_encrypt(&out, key, 7000), 0);
	CHECK_INT_EQ(ope_encrypt(&out, key, OPE_INPUT_MAX), 0);
}

/*
 * K = SHA3-256("rev-counter-generation\0" | a' | prefix'), for the blinded
 * key of tor's ed25519 vector 0; the expected value is from Python's
 * hashlib.sha3_256 over the same 87 bytes.
 */
static void
test_revcounter_key(void)
{
	struct ed25519_expanded blinded;
	uint8_t key[32];

	test_unhex(blinded.scalar, 32,
	    "293c3acff4e902f6f63ddc5d5caa2a57e771db4f24de65d4c28df3232f47fa01");
	test_unhex(blinded.prefix, 32,
	    "171d43f24e3f53e70ec7ac280044ac77d4942dee5d6807118a59bdf3ee647e89");
	revcounter_key(key, &blinded);
	CHECK_HEX(key, 32,
	    "178eae7ac9dea514d38cd0b97b9f0c4b94f8a253e3d3443e63d8f3389e8630f6");
}

/* The counter at now is OPE(now - srv_start + 1). */
static void
test_revcounter_at(void)
{
	const int64_t srv = 1795315680;	/* 2026-11-22 02:48:00 UTC */
	uint8_t key[32];
	uint64_t at, ope, later;

	test_unhex(key, 32, ope_test_key);
	CHECK_INT_EQ(revcounter_at(&at, key, srv - 1, srv), -1);
	CHECK_INT_EQ(revcounter_at(&at, key, srv, srv), 0);
	CHECK_INT_EQ(ope_encrypt(&ope, key, 1), 0);
	CHECK(at == ope);
	CHECK_INT_EQ(revcounter_at(&at, key, srv + 121131, srv), 0);
	CHECK(at == UINT64_C(3971694514));	/* tor's vector for 121132 */
	CHECK_INT_EQ(revcounter_at(&later, key, srv + 121132, srv), 0);
	CHECK(later > at);
	CHECK_INT_EQ(revcounter_at(&at, key, srv + OPE_INPUT_MAX - 1, srv), 0);
	CHECK_INT_EQ(ope_encrypt(&ope, key, OPE_INPUT_MAX), 0);
	CHECK(at == ope);
	CHECK_INT_EQ(revcounter_at(&at, key, srv + OPE_INPUT_MAX, srv), -1);
	/* Extremes must not overflow. */
	CHECK_INT_EQ(revcounter_at(&at, key, INT64_MAX, INT64_MIN), -1);
	CHECK_INT_EQ(revcounter_at(&at, key, INT64_MIN, INT64_MAX), -1);
	CHECK_INT_EQ(revcounter_at(&at, key, INT64_MAX, INT64_MAX), 0);
}

/*
 * revcounter_find: exactly the counters of the seconds in the window, not
 * the values between them nor those just outside, at any alignment.
 */
static void
test_revcounter_find(void)
{
	const int64_t srv = 1795315680;
	uint8_t key[32];
	uint64_t at;
	int64_t now, t;

	test_unhex(key, 32, ope_test_key);
	for (now = srv + 121131; now < srv + 121131 + 9; now++) {
		for (t = now - 300; t <= now; t += 37) {
			CHECK_INT_EQ(revcounter_at(&at, key, t, srv), 0);
			CHECK_INT_EQ(revcounter_find(key, srv, now - 300, now,
			    at), 0);
			CHECK_INT_EQ(revcounter_find(key, srv, now - 300, now,
			    at + 1), -1);	/* no zero word in this key's stream here */
		}
		CHECK_INT_EQ(revcounter_at(&at, key, now - 301, srv), 0);
		CHECK_INT_EQ(revcounter_find(key, srv, now - 300, now, at), -1);
		CHECK_INT_EQ(revcounter_at(&at, key, now + 1, srv), 0);
		CHECK_INT_EQ(revcounter_find(key, srv, now - 300, now, at), -1);
	}
	/* at the start of the run; a window wider than allowed; past 2^18 */
	CHECK_INT_EQ(revcounter_at(&at, key, srv, srv), 0);
	CHECK_INT_EQ(revcounter_find(key, srv, srv - 300, srv, at), 0);
	CHECK_INT_EQ(revcounter_find(key, srv, srv - 300, srv - 1, at), -1);
	CHECK_INT_EQ(revcounter_find(key, srv, srv, srv + OPE_WINDOW_MAX + 1,
	    at), -1);
	CHECK_INT_EQ(revcounter_find(key, srv, srv + OPE_INPUT_MAX,
	    srv + OPE_INPUT_MAX + 10, at), -1);
	CHECK_INT_EQ(revcounter_find(key, srv, srv, srv + 10, UINT64_MAX), -1);
}

TEST_MAIN(
	TEST_CASE(test_tor_vectors),
	TEST_CASE(test_consistency),
	TEST_CASE(test_strictly_increasing),
	TEST_CASE(test_bounds),
	TEST_CASE(test_revcounter_key),
	TEST_CASE(test_revcounter_at),
	TEST_CASE(test_revcounter_find)
)

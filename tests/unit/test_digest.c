/* Known answers for SHA3-256, SHAKE-256 (FIPS 202) and AES-256-CTR (SP 800-38A). */
#include "digest.h"
#include "test.h"

static void
test_sha3_256_empty_and_abc(void)
{
	uint8_t out[32];
	struct bytes_ref parts[] = { BYTES_STR("a"), BYTES_STR(""), BYTES_STR("bc") };

	sha3_256(out, "", 0);
	CHECK_HEX(out, 32,
	    "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
	sha3_256(out, "abc", 3);
	CHECK_HEX(out, 32,
	    "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
	sha3_256_parts(out, parts, 3);
	CHECK_HEX(out, 32,
	    "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
}

static void
test_shake256(void)
{
	uint8_t out[64];
	struct bytes_ref empty = BYTES_STR("");

	shake256_parts(out, 64, &empty, 1);
	CHECK_HEX(out, 64,
	    "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"
	    "d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be");
}

static void
test_aes256_ctr_sp800_38a(void)
{
	/* SP 800-38A F.5.5, CTR-AES256.Encrypt, blocks 1 and 2. */
	uint8_t key[32], iv[16], pt[32], ct[32];

	test_unhex(key, 32, "603deb1015ca71be2b73aef0857d7781"
	    "1f352c073b6108d72d9810a30914dff4");
	test_unhex(iv, 16, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	test_unhex(pt, 32, "6bc1bee22e409f96e93d7e117393172a"
	    "ae2d8a571e03ac9c9eb76fac45af8e51");
	aes256_ctr(ct, pt, 32, key, iv);
	CHECK_HEX(ct, 32, "601ec313775789a5b7a7f504bbf3d228"
	    "f443e3ca4d62b59aca84e990cacaf5c5");
	/* In place, and decrypting is the same operation. */
	aes256_ctr(ct, ct, 32, key, iv);
	CHECK(memcmp(ct, pt, 32) == 0);
}

static void
test_aes256_ctr_counter_wraps_whole_block(void)
{
	/*
	 * tor uses the 16-byte IV as one 128-bit big-endian counter: the
	 * carry from the low 64 bits must reach the high 64 bits.
	 */
	uint8_t key[32] = { 0 }, iv[16], zero[32] = { 0 }, a[32], b[16];
	uint8_t iv2[16];

	memset(iv, 0, sizeof(iv));
	memset(iv + 8, 0xff, 8);
	aes256_ctr(a, zero, 32, key, iv);
	memset(iv2, 0, sizeof(iv2));
	iv2[7] = 1;
	aes256_ctr(b, zero, 16, key, iv2);
	CHECK(memcmp(a + 16, b, 16) == 0);
}

static void
test_hmac_sha256_rfc4231(void)
{
	uint8_t key[20], out[32];

	memset(key, 0x0b, sizeof(key));
	hmac_sha256(out, key, sizeof(key), "Hi There", 8);
	CHECK_HEX(out, 32,
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void
test_integers_big_endian(void)
{
	uint8_t b[8];

	put_u64_be(b, 0x0102030405060708ULL);
	CHECK_HEX(b, 8, "0102030405060708");
	CHECK(get_u64_be(b) == 0x0102030405060708ULL);
	put_u32_be(b, 0xdeadbeef);
	CHECK_HEX(b, 4, "deadbeef");
	CHECK(get_u32_be(b) == 0xdeadbeef);
	put_u16_be(b, 0x05a0);
	CHECK_HEX(b, 2, "05a0");
	CHECK(get_u16_be(b) == 0x05a0);
}

TEST_MAIN(
	TEST_CASE(test_sha3_256_empty_and_abc),
	TEST_CASE(test_shake256),
	TEST_CASE(test_aes256_ctr_sp800_38a),
	TEST_CASE(test_aes256_ctr_counter_wraps_whole_block),
	TEST_CASE(test_hmac_sha256_rfc4231),
	TEST_CASE(test_integers_big_endian),
)

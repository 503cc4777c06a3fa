/*
 * tor ed25519 certificates: the intro-point certs of tor's
 * test_hs_descriptor.c (test_decode_invalid_intro_point, which is also
 * where test_decode_intro_point takes them from), the descriptor-signing
 * cert of a real descriptor from a tor 0.4.9 test network, round trips,
 * and one negative test per error.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ed25519_expanded.h"
#include "test.h"
#include "torcert.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* auth-key and enc-key-cert of tor's test_hs_descriptor.c. */
static const char auth_key_cert_b64[] =
    "AQkACOhAAQW8ltYZMIWpyrfyE/b4Iyi8CNybCwYs6ADk7XfBaxsFAQAgBAD3/BE4\n"
    "XojGE/N2bW/wgnS9r2qlrkydGyuCKIGayYx3haZ39LD4ZTmSMRxwmplMAqzG/XNP\n"
    "0Kkpg4p2/VnLFJRdU1SMFo1lgQ4P0bqw7Tgx200fulZ4KUM5z5V7m+a/mgY=\n";
static const char enc_key_cert_b64[] =
    "AQsACOhZAUpNvCZ1aJaaR49lS6MCdsVkhVGVrRqoj0Y2T4SzroAtAQAgBABFOcGg\n"
    "lbTt1DF5nKTE/gU3Fr8ZtlCIOhu1A+F5LM7fqCUupfesg0KTHwyIZOYQbJuM5/he\n"
    "/jDNyLy9woPJdjkxywaY2RPUxGjLYtMQV0E8PUxWyICV+7y52fTCYaKpYQw=\n";

/* 2026-11-22 02:48:40 UTC, valid-after of the test network's consensus. */
#define TESTNET_NOW	((time_t)1795315720)

/* The descriptor-signing-key-cert of a descriptor file in tests/data. */
static size_t
descriptor_cert(uint8_t *out, size_t outlen, const char *file)
{
	static const char begin[] =
	    "descriptor-signing-key-cert\n-----BEGIN ED25519 CERT-----\n";
	char *desc, *start, *end;
	size_t len = 0;

	desc = test_read_data(file, NULL);
	if ((start = strstr(desc, begin)) != NULL) {
		start += strlen(begin);
		if ((end = strstr(start, "-----END ED25519 CERT-----")) != NULL)
			len = test_unbase64(out, outlen, start,
			    (size_t)(end - start));
	}
	free(desc);
	return len;
}

static void
decode_cert(uint8_t out[TORCERT_LEN], const char *b64)
{
	CHECK_INT_EQ(test_unbase64(out, TORCERT_LEN, b64, strlen(b64)),
	    TORCERT_LEN);
}

/* tor's cert_type 09: desc signing key -> intro point auth key. */
static void
test_auth_key_cert(void)
{
	uint8_t buf[TORCERT_LEN], signer[32];
	struct torcert c;

	decode_cert(buf, auth_key_cert_b64);
	CHECK_INT_EQ(torcert_parse(&c, buf, sizeof(buf)), TORCERT_OK);
	CHECK_INT_EQ(c.type, TORCERT_TYPE_AUTH_HS_IP_KEY);
	CHECK_INT_EQ(c.exp_hours, 0x0008E840);
	CHECK_HEX(c.certified, 32,
	    "05bc96d6193085a9cab7f213f6f82328bc08dc9b0b062ce800e4ed77c16b1b05");
	CHECK_INT_EQ(c.has_signer, 1);
	CHECK_HEX(c.signer, 32,
	    "f7fc11385e88c613f3766d6ff08274bdaf6aa5ae4c9d1b2b8228819ac98c7785");
	CHECK_INT_EQ(c.signed_len, TORCERT_BODY_LEN);
	CHECK(memcmp(c.signature, buf + TORCERT_BODY_LEN, 64) == 0);

	memcpy(signer, c.signer, 32);
	CHECK_INT_EQ(torcert_check(&c, buf, sizeof(buf),
	    TORCERT_TYPE_AUTH_HS_IP_KEY, signer, TESTNET_NOW), TORCERT_OK);
	CHECK_INT_EQ(torcert_check(&c, buf, sizeof(buf),
	    TORCERT_TYPE_AUTH_HS_IP_KEY, NULL, TESTNET_NOW), TORCERT_OK);
}

/* tor's cert_type 0B: desc signing key -> ed25519 form of the enc key. */
static void
test_enc_key_cert(void)
{
	uint8_t buf[TORCERT_LEN];
	struct torcert c;

	decode_cert(buf, enc_key_cert_b64);
	CHECK_INT_EQ(torcert_check(&c, buf, sizeof(buf),
	    TORCERT_TYPE_CROSS_HS_IP_KEYS, NULL, TESTNET_NOW), TORCERT_OK);
	CHECK_INT_EQ(c.type, TORCERT_TYPE_CROSS_HS_IP_KEYS);
	CHECK_INT_EQ(c.exp_hours, 583769);
	CHECK_HEX(c.certified, 32,
	    "4a4dbc267568969a478f654ba30276c564855195ad1aa88f46364f84b3ae802d");
	CHECK_HEX(c.signer, 32,
	    "4539c1a095b4edd431799ca4c4fe053716bf19b650883a1bb503e1792ccedfa8");
}

/*
 * The descriptor-signing-key cert of a descriptor served by a tor 0.4.9
 * HSDir: type 08, signed by the service's blinded key.  The expected
 * values were read from the same base64 with Python's base64 module.
 */
static void
test_testnet_descriptor_signing_cert(void)
{
	uint8_t buf[TORCERT_LEN + 1];
	struct torcert c;
	time_t expiry;

	CHECK_INT_EQ(descriptor_cert(buf, sizeof(buf),
	    "tor-0.4.9-testnet/backend-descriptor.txt"), TORCERT_LEN);
	CHECK_INT_EQ(torcert_check(&c, buf, TORCERT_LEN,
	    TORCERT_TYPE_SIGNING_HS_DESC, NULL, TESTNET_NOW), TORCERT_OK);
	CHECK_HEX(c.signer, 32,
	    "924399abed76a3ff2ca3e486b24b20abf569fb1dca49e0f96ec9d6a3e09e7319");
	CHECK_HEX(c.certified, 32,
	    "da6bc6f8028d775d1aca302c899c9ec3b894aa30bc596a0b4eef5062edbfa4cf");
	/* 2026-11-24 09:00:00 UTC */
	expiry = (time_t)c.exp_hours * 3600;
	CHECK_INT_EQ(expiry, 1795510800);
	CHECK_INT_EQ(torcert_check(&c, buf, TORCERT_LEN,
	    TORCERT_TYPE_SIGNING_HS_DESC, NULL, expiry), TORCERT_OK);
	CHECK_INT_EQ(torcert_check(&c, buf, TORCERT_LEN,
	    TORCERT_TYPE_SIGNING_HS_DESC, NULL, expiry + 1),
	    TORCERT_ERR_EXPIRED);
	/* The intro-point cert types must not be mistaken for it. */
	CHECK_INT_EQ(torcert_check(&c, buf, TORCERT_LEN,
	    TORCERT_TYPE_AUTH_HS_IP_KEY, NULL, TESTNET_NOW), TORCERT_ERR_TYPE);
}

/* tor's ed25519_vectors.inc, vector 0: it signs our own test certs. */
static struct ed25519_expanded signing_sk;
static uint8_t signing_pub[32];

static void
load_signing_key(void)
{
	uint8_t raw[64];

	test_unhex(raw, 64,
	    "c0a4de23cc64392d85aa1da82b3defddbea946d13bb053bf8489fa9296281f49"
	    "5022f1f7ec0dcf52f07d4c7965c4eaed121d5d88d0a8ff546b06116a20e97755");
	memcpy(signing_sk.scalar, raw, 32);
	memcpy(signing_sk.prefix, raw + 32, 32);
	test_unhex(signing_pub, 32,
	    "c2247870536a192d142d056abefca68d6193158e7c1a59c1654c954eccaff894");
}

/* Appends one extension at p; returns its size. */
static size_t
put_ext(uint8_t *p, uint16_t len, uint8_t type, uint8_t flags,
    const uint8_t *data)
{
	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
	p[2] = type;
	p[3] = flags;
	memcpy(p + 4, data, len);
	return 4 + (size_t)len;
}

#define TEST_EXP_HOURS	500000		/* 2027-01-14 08:00 UTC */

/*
 * A cert with any header bytes and extensions, properly signed by
 * signing_sk, so that only the property under test is wrong.
 */
static size_t
make_cert(uint8_t *out, uint8_t version, uint8_t type, uint8_t key_type,
    uint8_t n_ext, const uint8_t *exts, size_t exts_len)
{
	struct bytes_ref body;
	size_t len;

	out[0] = version;
	out[1] = type;
	out[2] = TEST_EXP_HOURS >> 24;
	out[3] = (TEST_EXP_HOURS >> 16) & 0xff;
	out[4] = (TEST_EXP_HOURS >> 8) & 0xff;
	out[5] = TEST_EXP_HOURS & 0xff;
	out[6] = key_type;
	memset(out + 7, 0x42, 32);
	out[39] = n_ext;
	if (exts_len > 0)
		memcpy(out + 40, exts, exts_len);
	len = 40 + exts_len;
	body = (struct bytes_ref){ out, len };
	CHECK_INT_EQ(ed25519_sign_expanded(out + len, &body, 1, &signing_sk,
	    signing_pub), 0);
	return len + 64;
}

/* make_cert with only the signed-with-key extension: a normal cert. */
static size_t
make_plain_cert(uint8_t *out, uint8_t version, uint8_t type,
    uint8_t key_type)
{
	uint8_t exts[36];

	put_ext(exts, 32, TORCERT_EXT_SIGNED_WITH_KEY, 0, signing_pub);
	return make_cert(out, version, type, key_type, 1, exts, sizeof(exts));
}

static void
test_sign_check_round_trip(void)
{
	uint8_t cert[TORCERT_LEN], body[TORCERT_BODY_LEN], certified[32];
	uint8_t made[256];
	struct torcert c;

	load_signing_key();
	memset(certified, 0x42, sizeof(certified));
	CHECK_INT_EQ(torcert_sign(cert, TORCERT_TYPE_SIGNING_HS_DESC,
	    TEST_EXP_HOURS, certified, &signing_sk, signing_pub), 0);
	torcert_build_body(body, TORCERT_TYPE_SIGNING_HS_DESC, TEST_EXP_HOURS,
	    certified, signing_pub);
	CHECK(memcmp(cert, body, sizeof(body)) == 0);
	/* The same bytes as an independently assembled cert. */
	CHECK_INT_EQ(make_plain_cert(made, 1, TORCERT_TYPE_SIGNING_HS_DESC,
	    TORCERT_KEY_TYPE_ED25519), TORCERT_LEN);
	CHECK(memcmp(cert, made, TORCERT_LEN) == 0);

	CHECK_INT_EQ(torcert_check(&c, cert, sizeof(cert),
	    TORCERT_TYPE_SIGNING_HS_DESC, signing_pub, TESTNET_NOW),
	    TORCERT_OK);
	CHECK_INT_EQ(c.type, TORCERT_TYPE_SIGNING_HS_DESC);
	CHECK_INT_EQ(c.exp_hours, TEST_EXP_HOURS);
	CHECK(memcmp(c.certified, certified, 32) == 0);
	CHECK(memcmp(c.signer, signing_pub, 32) == 0);
	CHECK_INT_EQ(ed25519_verify(c.signature, cert, TORCERT_BODY_LEN,
	    signing_pub), 0);
}

static void
test_sign_refuses_wrong_signer_pub(void)
{
	uint8_t cert[TORCERT_LEN], certified[32] = { 0 }, other[32];

	load_signing_key();
	test_unhex(other, 32,
	    "1519a3b15816a1aafab0b213892026ebf5c0dc232c58b21088d88cb90e9b940d");
	CHECK_INT_EQ(torcert_sign(cert, TORCERT_TYPE_AUTH_HS_IP_KEY,
	    TEST_EXP_HOURS, certified, &signing_sk, other), -1);
}

static void
test_exp_hours(void)
{
	/* CEIL_DIV(now + lifetime, 3600) */
	CHECK_INT_EQ(torcert_exp_hours(36000, 0), 10);
	CHECK_INT_EQ(torcert_exp_hours(36001, 0), 11);
	CHECK_INT_EQ(torcert_exp_hours(36000, 3 * 3600), 13);
	CHECK_INT_EQ(torcert_exp_hours(35999, 1), 10);
	/*
	 * tor gives descriptor-signing certs 54 hours (HS_DESC_CERT_LIFETIME);
	 * the testnet descriptor, made in the hour before the capture, has
	 * exp_hours 498753.
	 */
	CHECK_INT_EQ(torcert_exp_hours(TESTNET_NOW, 54 * 3600), 498753);
	CHECK_INT_EQ(torcert_exp_hours(-5, 0), 0);
	CHECK_INT_EQ(torcert_exp_hours((time_t)UINT32_MAX * 3600, 1),
	    UINT32_MAX);
}

/* Every proper prefix is truncated; one byte more is trailing. */
static void
test_truncation_and_trailing(void)
{
	uint8_t buf[TORCERT_LEN + 1];
	struct torcert c;
	size_t len;

	decode_cert(buf, auth_key_cert_b64);
	for (len = 0; len < TORCERT_LEN; len++)
		CHECK_INT_EQ(torcert_parse(&c, buf, len),
		    TORCERT_ERR_TRUNCATED);
	buf[TORCERT_LEN] = 0;
	CHECK_INT_EQ(torcert_parse(&c, buf, TORCERT_LEN + 1),
	    TORCERT_ERR_TRAILING);
	CHECK_INT_EQ(torcert_check(&c, buf, TORCERT_LEN + 1,
	    TORCERT_TYPE_AUTH_HS_IP_KEY, NULL, TESTNET_NOW),
	    TORCERT_ERR_TRAILING);
}

static void
test_bad_version_and_key_type(void)
{
	uint8_t buf[256];
	struct torcert c;
	size_t len;

	load_signing_key();
	len = make_plain_cert(buf, 0, TORCERT_TYPE_SIGNING_HS_DESC, 1);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_ERR_VERSION);
	len = make_plain_cert(buf, 2, TORCERT_TYPE_SIGNING_HS_DESC, 1);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_ERR_VERSION);
	len = make_plain_cert(buf, 1, TORCERT_TYPE_SIGNING_HS_DESC, 2);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_ERR_KEY_TYPE);
	len = make_plain_cert(buf, 1, TORCERT_TYPE_SIGNING_HS_DESC, 1);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_OK);
}

static void
test_wrong_type_and_signer(void)
{
	uint8_t buf[TORCERT_LEN], other[32];
	struct torcert c;

	decode_cert(buf, enc_key_cert_b64);
	CHECK_INT_EQ(torcert_check(&c, buf, sizeof(buf),
	    TORCERT_TYPE_AUTH_HS_IP_KEY, NULL, TESTNET_NOW), TORCERT_ERR_TYPE);
	/* The auth-key cert's signer did not sign the enc-key cert. */
	test_unhex(other, 32,
	    "f7fc11385e88c613f3766d6ff08274bdaf6aa5ae4c9d1b2b8228819ac98c7785");
	CHECK_INT_EQ(torcert_check(&c, buf, sizeof(buf),
	    TORCERT_TYPE_CROSS_HS_IP_KEYS, other, TESTNET_NOW),
	    TORCERT_ERR_SIGNER);
}

/* Any flipped bit of the signed part or of the signature is caught. */
static void
test_flipped_bits(void)
{
	uint8_t buf[TORCERT_LEN];
	struct torcert c;
	size_t i;

	decode_cert(buf, auth_key_cert_b64);
	for (i = 0; i < TORCERT_LEN; i++) {
		/* Bits that break the structure are other tests' business. */
		if (i == 0 || i == 6 || (i >= 39 && i < 44))
			continue;
		buf[i] ^= 0x10;
		CHECK_INT_EQ(torcert_check(&c, buf, sizeof(buf), buf[1], NULL,
		    TESTNET_NOW), TORCERT_ERR_SIGNATURE);
		buf[i] ^= 0x10;
	}
	buf[TORCERT_LEN - 1] ^= 0x01;
	CHECK_INT_EQ(torcert_check(&c, buf, sizeof(buf),
	    TORCERT_TYPE_AUTH_HS_IP_KEY, NULL, TESTNET_NOW),
	    TORCERT_ERR_SIGNATURE);
}

static void
test_expiry(void)
{
	uint8_t buf[TORCERT_LEN];
	struct torcert c;
	/* 2036-08-04 16:00 UTC */
	time_t end = (time_t)0x0008E840 * 3600;

	decode_cert(buf, auth_key_cert_b64);
	CHECK_INT_EQ(torcert_check(&c, buf, sizeof(buf),
	    TORCERT_TYPE_AUTH_HS_IP_KEY, NULL, end), TORCERT_OK);
	CHECK_INT_EQ(torcert_check(&c, buf, sizeof(buf),
	    TORCERT_TYPE_AUTH_HS_IP_KEY, NULL, end + 1), TORCERT_ERR_EXPIRED);
}

static void
test_extensions(void)
{
	uint8_t exts[128], buf[256], junk[33] = { 0 };
	struct torcert c;
	size_t n, len;

	load_signing_key();
	/* Two signed-with-key extensions. */
	n = put_ext(exts, 32, TORCERT_EXT_SIGNED_WITH_KEY, 0, signing_pub);
	n += put_ext(exts + n, 32, TORCERT_EXT_SIGNED_WITH_KEY, 0, signing_pub);
	len = make_cert(buf, 1, 8, 1, 2, exts, n);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_ERR_EXTENSION);
	/* A signed-with-key extension of 31 or 33 bytes. */
	n = put_ext(exts, 31, TORCERT_EXT_SIGNED_WITH_KEY, 0, junk);
	len = make_cert(buf, 1, 8, 1, 1, exts, n);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_ERR_EXTENSION);
	n = put_ext(exts, 33, TORCERT_EXT_SIGNED_WITH_KEY, 0, junk);
	len = make_cert(buf, 1, 8, 1, 1, exts, n);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_ERR_EXTENSION);
	/* An unknown extension that affects validation. */
	n = put_ext(exts, 32, TORCERT_EXT_SIGNED_WITH_KEY, 0, signing_pub);
	n += put_ext(exts + n, 5, 0x7f, TORCERT_EXT_AFFECTS_VALIDATION, junk);
	len = make_cert(buf, 1, 8, 1, 2, exts, n);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_ERR_EXTENSION);
	/* The same, not critical: skipped, and the cert checks out. */
	n = put_ext(exts, 5, 0x7f, 0x02, junk);
	n += put_ext(exts + n, 32, TORCERT_EXT_SIGNED_WITH_KEY, 0, signing_pub);
	len = make_cert(buf, 1, 8, 1, 2, exts, n);
	CHECK_INT_EQ(torcert_check(&c, buf, len, 8, signing_pub, TESTNET_NOW),
	    TORCERT_OK);
	CHECK_INT_EQ(c.signed_len, len - 64);
	/* An extension longer than what is left. */
	buf[40] = 0x01;
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_ERR_TRUNCATED);
	/* More extensions announced than present. */
	n = put_ext(exts, 32, TORCERT_EXT_SIGNED_WITH_KEY, 0, signing_pub);
	len = make_cert(buf, 1, 8, 1, 3, exts, n);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_ERR_TRUNCATED);
}

/* No signed-with-key extension: parses, but cannot be checked. */
static void
test_no_signer(void)
{
	uint8_t buf[256];
	struct torcert c;
	size_t len;

	load_signing_key();
	len = make_cert(buf, 1, 8, 1, 0, NULL, 0);
	CHECK_INT_EQ(len, TORCERT_LEN - 36);
	CHECK_INT_EQ(torcert_parse(&c, buf, len), TORCERT_OK);
	CHECK_INT_EQ(c.has_signer, 0);
	CHECK_INT_EQ(torcert_check(&c, buf, len, 8, NULL, TESTNET_NOW),
	    TORCERT_ERR_NO_SIGNER);
	CHECK_INT_EQ(torcert_check(&c, buf, len, 8, signing_pub, TESTNET_NOW),
	    TORCERT_ERR_NO_SIGNER);
}

static void
test_strerror(void)
{
	enum torcert_error e;
	const char *seen[TORCERT_ERR_EXPIRED + 1];
	int i;

	for (e = TORCERT_OK; e <= TORCERT_ERR_EXPIRED; e++) {
		seen[e] = torcert_strerror(e);
		CHECK(seen[e] != NULL && *seen[e] != '\0');
		for (i = 0; i < (int)e; i++)
			CHECK(strcmp(seen[i], seen[e]) != 0);
	}
}

TEST_MAIN(
	TEST_CASE(test_auth_key_cert),
	TEST_CASE(test_enc_key_cert),
	TEST_CASE(test_testnet_descriptor_signing_cert),
	TEST_CASE(test_sign_check_round_trip),
	TEST_CASE(test_sign_refuses_wrong_signer_pub),
	TEST_CASE(test_exp_hours),
	TEST_CASE(test_truncation_and_trailing),
	TEST_CASE(test_bad_version_and_key_type),
	TEST_CASE(test_wrong_type_and_signer),
	TEST_CASE(test_flipped_bits),
	TEST_CASE(test_expiry),
	TEST_CASE(test_extensions),
	TEST_CASE(test_no_signer),
	TEST_CASE(test_strerror)
)

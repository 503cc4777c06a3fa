/*
 * Master key files: OpenSSL's output as an independent oracle for PKCS#8
 * and key derivation, RFC 8032 / RFC 8410 / tor vectors, byte-exact
 * writers, and one or more negative tests for each error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "encoding.h"
#include "masterkey.h"
#include "onion_address.h"
#include "test.h"

/* RFC 8032 section 7.1, test 1; its key is the one of the digest's 10.1. */
#define RFC8032_SEED \
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define RFC8032_PUB \
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define RFC8032_ADDR "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid"
/* That seed as OpenSSL 3.0 writes it (`openssl pkey -inform DER`). */
static const char rfc8032_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

/* tor's test_blinding_basics key (digest 10.2). */
#define TOR_EXPANDED \
	"d8c7ff0e31295b66540d789af3e3df992038a9592eea01d8b7cba06d6e66d159" \
	"4d6167696320576f7264733a20737065697373636f62616c742062697669756d"
#define TOR_PUB \
	"833990b085c1a688c1d4c8b1f6b56afaf5a2eca674449e1d704f83765ccb7bc6"
#define TOR_ADDR "qm4zbmefygtirqouzcy7nnlk7l22f3fgorcj4hlqj6bxmxglppdbsuyd"

/* RFC 8410 section 10.3: a v2 key with attributes and its public key. */
static const char rfc8410_v2_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MHICAQEwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
    "oB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJzgSEAGb9ECWmEzf6FQbrB\n"
    "Z9w7lshQhqowtrbLDFw4rXAxZuE=\n"
    "-----END PRIVATE KEY-----\n";
#define RFC8410_PUB \
	"19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"

static const char tor_header[32] = "== ed25519v1-secret: type0 ==";

static struct masterkey *
new_key(void)
{
	struct masterkey *mk;

	if (sodium_init() < 0 || (mk = masterkey_new()) == NULL) {
		fprintf(stderr, "cannot set up libsodium\n");
		abort();
	}
	return mk;
}

static enum masterkey_error
parse_str(struct masterkey *mk, const char *text)
{
	return masterkey_parse(mk, (const uint8_t *)text, strlen(text));
}

static void
make_tor_file(uint8_t file[96], const char *expanded_hex)
{
	memcpy(file, tor_header, 32);
	test_unhex(file + 32, 64, expanded_hex);
}

/* A PEM file around der, written with our (separately tested) base64. */
static void
make_pem(char *out, size_t outsz, const uint8_t *der, size_t len)
{
	size_t n;

	n = (size_t)snprintf(out, outsz, "-----BEGIN PRIVATE KEY-----\n");
	if (base64_encode(out + n, outsz - n, der, len,
	    BASE64_PAD | BASE64_MULTILINE) < 0)
		abort();
	n = strlen(out);
	snprintf(out + n, outsz - n, "-----END PRIVATE KEY-----\n");
}

/* The DER of the RFC 8032 test key, v1; v2 with its public key. */
static size_t
make_der(uint8_t *der, int v2)
{
	static const uint8_t v1_head[] = { 0x30, 0x2e, 0x02, 0x01, 0x00,
	    0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };

	memcpy(der, v1_head, sizeof(v1_head));
	test_unhex(der + 16, 32, RFC8032_SEED);
	if (!v2)
		return 48;
	der[1] = 0x51;
	der[4] = 0x01;
	der[48] = 0x81;
	der[49] = 0x21;
	der[50] = 0x00;
	test_unhex(der + 51, 32, RFC8032_PUB);
	return 83;
}

/* Everything fd has until EOF, NUL-terminated; aborts if it fills buf. */
static size_t
read_all(int fd, char *buf, size_t bufsz)
{
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, bufsz - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len == bufsz - 1)
		abort();
	buf[len] = '\0';
	return len;
}

static int
pipe_with(const void *data, size_t len)
{
	int p[2];

	if (pipe(p) == -1 || write(p[1], data, len) != (ssize_t)len)
		abort();
	close(p[1]);
	return p[0];
}

static void
check_address(const struct masterkey *mk, const char *want)
{
	char addr[ONION_ADDRESS_LEN + 1];

	onion_address_from_pubkey(addr, mk->pub);
	CHECK_STR_EQ(addr, want);
}

/* A key from `openssl genpkey`: we derive the public key OpenSSL does. */
static void
test_openssl_genpkey_fixture(void)
{
	struct masterkey *mk = new_key();
	uint8_t want[32];
	char *pem, *pubhex;
	size_t len;

	pem = test_read_data("keys/openssl-ed25519.pem", &len);
	pubhex = test_read_data("keys/openssl-ed25519.pub.hex", NULL);
	pubhex[64] = '\0';
	test_unhex(want, 32, pubhex);
	CHECK_INT_EQ(masterkey_parse(mk, (uint8_t *)pem, len), MASTERKEY_OK);
	CHECK_INT_EQ(mk->format, MASTERKEY_FORMAT_PEM);
	CHECK(mk->has_seed);
	CHECK(memcmp(mk->pub, want, 32) == 0);
	free(pem);
	free(pubhex);
	masterkey_free(mk);
}

static void
test_rfc8032_seed_pem(void)
{
	struct masterkey *mk = new_key();

	CHECK_INT_EQ(parse_str(mk, rfc8032_pem), MASTERKEY_OK);
	CHECK_HEX(mk->seed, 32, RFC8032_SEED);
	CHECK_HEX(mk->pub, 32, RFC8032_PUB);
	check_address(mk, RFC8032_ADDR);
	masterkey_free(mk);
}

/* The expansion against libsodium's own seed-to-key code. */
static void
test_expansion_matches_libsodium(void)
{
	struct masterkey *mk = new_key();
	uint8_t pk[32], sk[64], x25519[32], h[64];

	CHECK_INT_EQ(parse_str(mk, rfc8032_pem), MASTERKEY_OK);
	CHECK_INT_EQ(crypto_sign_seed_keypair(pk, sk, mk->seed), 0);
	CHECK(memcmp(pk, mk->pub, 32) == 0);
	/* The X25519 secret of an ed25519 key is its clamped scalar. */
	CHECK_INT_EQ(crypto_sign_ed25519_sk_to_curve25519(x25519, sk), 0);
	CHECK(memcmp(x25519, mk->sk.scalar, 32) == 0);
	crypto_hash_sha512(h, mk->seed, 32);
	CHECK(memcmp(h + 32, mk->sk.prefix, 32) == 0);
	masterkey_free(mk);
}

static void
test_tor_format_blinding_key(void)
{
	struct masterkey *mk = new_key();
	uint8_t file[96];

	make_tor_file(file, TOR_EXPANDED);
	CHECK_INT_EQ(masterkey_parse(mk, file, 96), MASTERKEY_OK);
	CHECK_INT_EQ(mk->format, MASTERKEY_FORMAT_TOR);
	CHECK(!mk->has_seed);
	CHECK_HEX(mk->sk.scalar, 32, "d8c7ff0e31295b66540d789af3e3df99"
	    "2038a9592eea01d8b7cba06d6e66d159");
	CHECK_HEX(mk->pub, 32, TOR_PUB);
	check_address(mk, TOR_ADDR);
	masterkey_free(mk);
}

static void
test_rfc8410_v2_with_attributes(void)
{
	struct masterkey *mk = new_key();

	CHECK_INT_EQ(parse_str(mk, rfc8410_v2_pem), MASTERKEY_OK);
	CHECK_HEX(mk->pub, 32, RFC8410_PUB);
	CHECK_HEX(mk->seed, 32, "d4ee72dbf913584ad5b6d8f1f769f8ad"
	    "3afe7c28cbf1d4fbe097a88f44755842");
	masterkey_free(mk);
}

static void
test_v2_public_key(void)
{
	struct masterkey *mk = new_key();
	uint8_t der[83];
	char pem[256], tampered[sizeof(rfc8410_v2_pem)];
	char *p;

	make_der(der, 1);
	make_pem(pem, sizeof(pem), der, 83);
	CHECK_INT_EQ(parse_str(mk, pem), MASTERKEY_OK);
	CHECK_HEX(mk->pub, 32, RFC8032_PUB);

	der[82] ^= 0x01;
	make_pem(pem, sizeof(pem), der, 83);
	CHECK_INT_EQ(parse_str(mk, pem), MASTERKEY_ERR_PUBKEY_MISMATCH);
	CHECK(sodium_is_zero((uint8_t *)mk, sizeof(*mk)));

	/* RFC 8410's example with one character of its public key changed */
	memcpy(tampered, rfc8410_v2_pem, sizeof(tampered));
	p = strstr(tampered, "Z9w7");
	p[3] = '8';
	CHECK_INT_EQ(parse_str(mk, tampered), MASTERKEY_ERR_PUBKEY_MISMATCH);

	/* a public key only in v2 (RFC 5958), exactly 0 unused bits */
	make_der(der, 1);
	der[4] = 0x00;
	make_pem(pem, sizeof(pem), der, 83);
	CHECK_INT_EQ(parse_str(mk, pem), MASTERKEY_ERR_PKCS8);
	make_der(der, 1);
	der[50] = 0x01;
	make_pem(pem, sizeof(pem), der, 83);
	CHECK_INT_EQ(parse_str(mk, pem), MASTERKEY_ERR_PKCS8);
	masterkey_free(mk);
}

/* What we write for the RFC 8032 seed is byte for byte what OpenSSL wrote. */
static void
test_write_pem_matches_openssl(void)
{
	struct masterkey *mk = new_key();
	char text[512];
	int p[2];

	CHECK_INT_EQ(parse_str(mk, rfc8032_pem), MASTERKEY_OK);
	if (pipe(p) == -1)
		abort();
	CHECK_INT_EQ(masterkey_write_pem(p[1], mk), MASTERKEY_OK);
	close(p[1]);
	read_all(p[0], text, sizeof(text));
	close(p[0]);
	CHECK_STR_EQ(text, rfc8032_pem);
	masterkey_free(mk);
}

static void
test_write_tor_is_input(void)
{
	struct masterkey *mk = new_key();
	uint8_t file[96];
	char text[512];
	int p[2];

	make_tor_file(file, TOR_EXPANDED);
	CHECK_INT_EQ(masterkey_parse(mk, file, 96), MASTERKEY_OK);
	if (pipe(p) == -1)
		abort();
	CHECK_INT_EQ(masterkey_write_tor(p[1], mk), MASTERKEY_OK);
	close(p[1]);
	CHECK_INT_EQ(read_all(p[0], text, sizeof(text)), 96);
	close(p[0]);
	CHECK(memcmp(text, file, 96) == 0);
	/* tor's format keeps no seed: no PEM from it */
	CHECK_INT_EQ(masterkey_write_pem(1, mk), MASTERKEY_ERR_NO_SEED);
	masterkey_free(mk);
}

static void
check_same_key(const struct masterkey *a, const struct masterkey *b)
{
	CHECK(sodium_memcmp(&a->sk, &b->sk, sizeof(a->sk)) == 0);
	CHECK(memcmp(a->pub, b->pub, sizeof(a->pub)) == 0);
}

/* generate -> write (both formats, into a file) -> read_fd */
static void
test_generate_round_trips(void)
{
	struct masterkey *a = new_key(), *b = new_key(), *c = new_key();
	FILE *f;

	CHECK_INT_EQ(masterkey_generate(a), MASTERKEY_OK);
	CHECK_INT_EQ(masterkey_generate(c), MASTERKEY_OK);
	CHECK(sodium_memcmp(a->seed, c->seed, 32) != 0);
	CHECK(memcmp(a->pub, c->pub, 32) != 0);
	CHECK(crypto_core_ed25519_is_valid_point(a->pub) == 1);

	if ((f = tmpfile()) == NULL)
		abort();
	CHECK_INT_EQ(masterkey_write_pem(fileno(f), a), MASTERKEY_OK);
	CHECK(lseek(fileno(f), 0, SEEK_SET) == 0);
	CHECK_INT_EQ(masterkey_read_fd(b, fileno(f)), MASTERKEY_OK);
	CHECK_INT_EQ(b->format, MASTERKEY_FORMAT_PEM);
	CHECK(b->has_seed && sodium_memcmp(a->seed, b->seed, 32) == 0);
	check_same_key(a, b);
	fclose(f);

	if ((f = tmpfile()) == NULL)
		abort();
	CHECK_INT_EQ(masterkey_write_tor(fileno(f), a), MASTERKEY_OK);
	CHECK(lseek(fileno(f), 0, SEEK_END) == 96);
	CHECK(lseek(fileno(f), 0, SEEK_SET) == 0);
	CHECK_INT_EQ(masterkey_read_fd(b, fileno(f)), MASTERKEY_OK);
	CHECK_INT_EQ(b->format, MASTERKEY_FORMAT_TOR);
	CHECK(!b->has_seed);
	check_same_key(a, b);
	fclose(f);
	masterkey_free(a);
	masterkey_free(b);
	masterkey_free(c);
}

static void
test_not_a_key_file(void)
{
	struct masterkey *mk = new_key();

	CHECK_INT_EQ(parse_str(mk, ""), MASTERKEY_ERR_FORMAT);
	CHECK_INT_EQ(parse_str(mk, "garbage"), MASTERKEY_ERR_FORMAT);
	CHECK_INT_EQ(parse_str(mk, RFC8032_ADDR), MASTERKEY_ERR_FORMAT);
	/* PEM must start at the first byte */
	CHECK_INT_EQ(parse_str(mk, "\n-----BEGIN PRIVATE KEY-----\n"),
	    MASTERKEY_ERR_FORMAT);
	masterkey_free(mk);
}

static void
test_tor_format_errors(void)
{
	struct masterkey *mk = new_key();
	uint8_t file[200];

	make_tor_file(file, TOR_EXPANDED);
	memcpy(file, "== ed25519v1-public: type0 ==", 29);
	CHECK_INT_EQ(masterkey_parse(mk, file, 96), MASTERKEY_ERR_TOR_HEADER);
	make_tor_file(file, TOR_EXPANDED);
	file[30] = 'x';			/* the NUL padding is part of it */
	CHECK_INT_EQ(masterkey_parse(mk, file, 96), MASTERKEY_ERR_TOR_HEADER);
	make_tor_file(file, TOR_EXPANDED);
	memcpy(file, "== ed25519v1-secret: type1 ==", 29);
	CHECK_INT_EQ(masterkey_parse(mk, file, 96), MASTERKEY_ERR_TOR_HEADER);
	memset(file, 'A', 96);		/* 96 bytes of something else */
	CHECK_INT_EQ(masterkey_parse(mk, file, 96), MASTERKEY_ERR_TOR_HEADER);

	make_tor_file(file, TOR_EXPANDED);
	CHECK_INT_EQ(masterkey_parse(mk, file, 95), MASTERKEY_ERR_TOR_LENGTH);
	CHECK_INT_EQ(masterkey_parse(mk, file, 97), MASTERKEY_ERR_TOR_LENGTH);
	CHECK_INT_EQ(masterkey_parse(mk, file, 32), MASTERKEY_ERR_TOR_LENGTH);
	CHECK_INT_EQ(masterkey_parse(mk, file, 10), MASTERKEY_ERR_TOR_LENGTH);
	CHECK_INT_EQ(masterkey_parse(mk, file, 160), MASTERKEY_ERR_TOR_LENGTH);
	masterkey_free(mk);
}

/* Expanded keys no tor would write: no public key can be derived. */
static void
test_tor_format_bad_scalar(void)
{
	struct masterkey *mk = new_key();
	uint8_t file[96];

	memset(file, 0, sizeof(file));
	memcpy(file, tor_header, 32);
	CHECK_INT_EQ(masterkey_parse(mk, file, 96), MASTERKEY_ERR_BAD_KEY);
	/* the group order l: l.B is the identity */
	test_unhex(file + 32, 32, "edd3f55c1a631258d69cf7a2def9de14"
	    "00000000000000000000000000000010");
	CHECK_INT_EQ(masterkey_parse(mk, file, 96), MASTERKEY_ERR_BAD_KEY);
	/* bit 255 set, which libsodium would drop silently */
	make_tor_file(file, TOR_EXPANDED);
	file[32 + 31] |= 0x80;
	CHECK_INT_EQ(masterkey_parse(mk, file, 96), MASTERKEY_ERR_BAD_KEY);
	masterkey_free(mk);
}

static void
test_pem_armor_errors(void)
{
	struct masterkey *mk = new_key();
	static const char *bad[] = {
		"-----BEGIN RSA PRIVATE KEY-----\nMC4=\n-----END RSA PRIVATE KEY-----\n",
		"-----BEGIN PRIVATE KEY-----\r\n"
		    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\r\n"
		    "-----END PRIVATE KEY-----\r\n",
		"-----BEGIN PRIVATE KEY-----\n"
		    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n",
		"-----BEGIN PRIVATE KEY-----\n"
		    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
		    "-----END PRIVATE KEY-----\nanother key?\n",
		"-----BEGIN PRIVATE KEY-----\n"
		    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
		    "-----END PRIVATE KEY----\n",
		"-----BEGIN PRIVATE KEY-----",
		"-----BEGIN ",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT_EQ(parse_str(mk, bad[i]), MASTERKEY_ERR_PEM_ARMOR);
	/* trailing white space is fine */
	CHECK_INT_EQ(parse_str(mk,
	    "-----BEGIN PRIVATE KEY-----\n"
	    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	    "-----END PRIVATE KEY-----\n\n  \n"), MASTERKEY_OK);
	CHECK_INT_EQ(parse_str(mk,
	    "-----BEGIN PRIVATE KEY-----\n"
	    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	    "-----END PRIVATE KEY-----"), MASTERKEY_OK);
	masterkey_free(mk);
}

static void
test_pem_base64_errors(void)
{
	struct masterkey *mk = new_key();
	static const char *bad[] = {
		/* a character outside the alphabet */
		"-----BEGIN PRIVATE KEY-----\n"
		    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9!\n"
		    "-----END PRIVATE KEY-----\n",
		/* a PEM header line */
		"-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n"
		    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
		    "-----END PRIVATE KEY-----\n",
		/* truncated by one character */
		"-----BEGIN PRIVATE KEY-----\n"
		    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9\n"
		    "-----END PRIVATE KEY-----\n",
		/* bad padding */
		"-----BEGIN PRIVATE KEY-----\n"
		    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g=\n"
		    "-----END PRIVATE KEY-----\n",
		/* spaces inside */
		"-----BEGIN PRIVATE KEY-----\n"
		    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7 rAMcrn9g\n"
		    "-----END PRIVATE KEY-----\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT_EQ(parse_str(mk, bad[i]), MASTERKEY_ERR_PEM_BASE64);
	masterkey_free(mk);
}

static void
check_der_rejected(struct masterkey *mk, const uint8_t *der, size_t len)
{
	char pem[512];

	make_pem(pem, sizeof(pem), der, len);
	CHECK_INT_EQ(parse_str(mk, pem), MASTERKEY_ERR_PKCS8);
}

static void
test_pkcs8_errors(void)
{
	struct masterkey *mk = new_key();
	uint8_t der[128];
	size_t len;

	len = make_der(der, 0);
	der[11] = 0x6e;			/* 1.3.101.110: X25519 */
	check_der_rejected(mk, der, len);
	len = make_der(der, 0);
	der[4] = 0x02;			/* version 3 */
	check_der_rejected(mk, der, len);
	len = make_der(der, 0);
	der[0] = 0x31;			/* SET, not SEQUENCE */
	check_der_rejected(mk, der, len);
	len = make_der(der, 0);
	der[1] = 0x80;			/* indefinite length: BER, not DER */
	check_der_rejected(mk, der, len);
	len = make_der(der, 0);
	der[15] = 0x1f;			/* a 31-byte seed */
	check_der_rejected(mk, der, len);
	len = make_der(der, 0);
	der[1] = 0x2f;			/* a byte after the seed, inside */
	der[13] = 0x23;			/* the privateKey OCTET STRING */
	der[len] = 0x00;
	check_der_rejected(mk, der, len + 1);
	len = make_der(der, 0);
	check_der_rejected(mk, der, len - 1);	/* truncated */
	der[len] = 0x00;
	check_der_rejected(mk, der, len + 1);	/* trailing byte */
	check_der_rejected(mk, der, 0);		/* empty body */
	len = make_der(der, 0);
	der[6] = 0x07;			/* OID with a parameter: 30 07 ... 05 00 */
	memmove(der + 14, der + 12, 36);
	der[12] = 0x05;
	der[13] = 0x00;
	der[1] = 0x30;
	check_der_rejected(mk, der, 50);
	len = make_der(der, 1);
	der[1] = 0x81;			/* a long-form length that fits short */
	memmove(der + 3, der + 2, len - 2);
	der[2] = 0x51;
	check_der_rejected(mk, der, len + 1);
	/* a PKCS#8 RSA key's start (rsaEncryption OID) */
	check_der_rejected(mk, (const uint8_t *)"\x30\x0d\x02\x01\x00\x30\x08"
	    "\x06\x06\x2a\x86\x48\x86\xf7\x0d", 15);
	masterkey_free(mk);
}

static void
test_pem_encrypted(void)
{
	struct masterkey *mk = new_key();
	size_t len;
	char *pem;

	pem = test_read_data("keys/openssl-ed25519-encrypted.pem", &len);
	CHECK_INT_EQ(masterkey_parse(mk, (uint8_t *)pem, len),
	    MASTERKEY_ERR_PEM_ENCRYPTED);
	free(pem);
	masterkey_free(mk);
}

/* A failed parse leaves nothing of an earlier key behind. */
static void
test_failure_wipes(void)
{
	struct masterkey *mk = new_key();

	CHECK_INT_EQ(parse_str(mk, rfc8032_pem), MASTERKEY_OK);
	CHECK(!sodium_is_zero(mk->seed, 32));
	CHECK_INT_EQ(parse_str(mk, "garbage"), MASTERKEY_ERR_FORMAT);
	CHECK(sodium_is_zero((uint8_t *)mk, sizeof(*mk)));
	masterkey_free(mk);
	masterkey_free(NULL);
}

static void
test_read_fd_sizes(void)
{
	struct masterkey *mk = new_key();
	static uint8_t big[MASTERKEY_FILE_MAX + 100];
	int fd;

	memset(big, 'A', sizeof(big));
	CHECK_INT_EQ(masterkey_parse(mk, big, MASTERKEY_FILE_MAX + 1),
	    MASTERKEY_ERR_TOO_LARGE);
	fd = pipe_with(big, sizeof(big));
	CHECK_INT_EQ(masterkey_read_fd(mk, fd), MASTERKEY_ERR_TOO_LARGE);
	close(fd);
	fd = pipe_with(big, MASTERKEY_FILE_MAX + 1);
	CHECK_INT_EQ(masterkey_read_fd(mk, fd), MASTERKEY_ERR_TOO_LARGE);
	close(fd);
	/* exactly the limit is read and parsed (and is no key) */
	fd = pipe_with(big, MASTERKEY_FILE_MAX);
	CHECK_INT_EQ(masterkey_read_fd(mk, fd), MASTERKEY_ERR_FORMAT);
	close(fd);
	fd = pipe_with(rfc8032_pem, strlen(rfc8032_pem));
	CHECK_INT_EQ(masterkey_read_fd(mk, fd), MASTERKEY_OK);
	CHECK_HEX(mk->pub, 32, RFC8032_PUB);
	close(fd);
	masterkey_free(mk);
}

static void
test_io_errors(void)
{
	struct masterkey *mk = new_key();
	int fd;

	CHECK_INT_EQ(masterkey_generate(mk), MASTERKEY_OK);
	errno = 0;
	CHECK_INT_EQ(masterkey_read_fd(mk, -1), MASTERKEY_ERR_IO);
	CHECK_INT_EQ(errno, EBADF);
	CHECK(sodium_is_zero((uint8_t *)mk, sizeof(*mk)));
	CHECK_INT_EQ(masterkey_generate(mk), MASTERKEY_OK);
	if ((fd = open("/dev/null", O_RDONLY)) == -1)
		abort();
	errno = 0;
	CHECK_INT_EQ(masterkey_write_tor(fd, mk), MASTERKEY_ERR_IO);
	CHECK_INT_EQ(errno, EBADF);
	errno = 0;
	CHECK_INT_EQ(masterkey_write_pem(fd, mk), MASTERKEY_ERR_IO);
	CHECK_INT_EQ(errno, EBADF);
	close(fd);
	masterkey_free(mk);
}

static void
test_strerror(void)
{
	int e;

	for (e = MASTERKEY_OK; e <= MASTERKEY_ERR_NO_SEED; e++)
		CHECK(strcmp(masterkey_strerror(e), "unknown error") != 0);
	CHECK_STR_EQ(masterkey_strerror(MASTERKEY_ERR_NO_SEED + 1),
	    "unknown error");
}

TEST_MAIN(
	TEST_CASE(test_openssl_genpkey_fixture),
	TEST_CASE(test_rfc8032_seed_pem),
	TEST_CASE(test_expansion_matches_libsodium),
	TEST_CASE(test_tor_format_blinding_key),
	TEST_CASE(test_rfc8410_v2_with_attributes),
	TEST_CASE(test_v2_public_key),
	TEST_CASE(test_write_pem_matches_openssl),
	TEST_CASE(test_write_tor_is_input),
	TEST_CASE(test_generate_round_trips),
	TEST_CASE(test_not_a_key_file),
	TEST_CASE(test_tor_format_errors),
	TEST_CASE(test_tor_format_bad_scalar),
	TEST_CASE(test_pem_armor_errors),
	TEST_CASE(test_pem_base64_errors),
	TEST_CASE(test_pkcs8_errors),
	TEST_CASE(test_pem_encrypted),
	TEST_CASE(test_failure_wipes),
	TEST_CASE(test_read_fd_sizes),
	TEST_CASE(test_io_errors),
	TEST_CASE(test_strerror),
)

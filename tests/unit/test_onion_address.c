/*
 * v3 onion addresses: tor's test_build_address / test_validate_address
 * vectors (digest section 10.1), a wrong version, keys outside the main
 * subgroup, ".onion" and case, and the addresses of our testnet captures.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "digest.h"
#include "encoding.h"
#include "onion_address.h"
#include "test.h"

#define RFC8032_PUB \
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define RFC8032_ADDR "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid"

static enum onion_address_error
parse(uint8_t pub[32], const char *addr)
{
	return onion_address_to_pubkey(pub, addr, strlen(addr));
}

/*
 * base32(pub | checksum | version) with the checksum computed here, for
 * addresses whose checksum is right but whose content is not.
 */
static void
build_address(char out[ONION_ADDRESS_LEN + 1], const uint8_t pub[32],
    uint8_t version)
{
	uint8_t bin[35], digest[32];
	struct bytes_ref parts[] = {
		BYTES_STR(".onion checksum"), { pub, 32 }, { &version, 1 },
	};

	sha3_256_parts(digest, parts, 3);
	memcpy(bin, pub, 32);
	memcpy(bin + 32, digest, 2);
	bin[34] = version;
	CHECK_INT_EQ(base32_encode(out, ONION_ADDRESS_LEN + 1, bin, 35), 56);
}

static void
test_build_address(void)
{
	uint8_t pub[32], back[32];
	char addr[ONION_ADDRESS_LEN + 1];

	test_unhex(pub, 32, RFC8032_PUB);
	onion_address_from_pubkey(addr, pub);
	CHECK_STR_EQ(addr, RFC8032_ADDR);
	CHECK_INT_EQ(parse(back, addr), ONION_ADDRESS_OK);
	CHECK(memcmp(back, pub, 32) == 0);
}

static void
test_validate_address(void)
{
	uint8_t pub[32];
	char bad[ONION_ADDRESS_LEN + 1];

	CHECK_INT_EQ(parse(pub,
	    "p3xnclpu4mu22dwaurjtsybyqk4xfjmcfz6z62yl24uwmhjatiwnlnadb"),
	    ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(parse(pub,
	    "l5satjgud6gucryazcyvyvhuxhr74u6ygigiuyixe3a6ysis67ororad"),
	    ONION_ADDRESS_ERR_CHECKSUM);
	CHECK_INT_EQ(parse(pub,
	    "btojiu7nu5y5iwut64eufevogqdw4wmqzugnoluw232r4t3ecsfv37ad"),
	    ONION_ADDRESS_ERR_CHECKSUM);
	memset(bad, '?', ONION_ADDRESS_LEN);
	bad[ONION_ADDRESS_LEN] = '\0';
	CHECK_INT_EQ(parse(pub, bad), ONION_ADDRESS_ERR_ALPHABET);
	/* one character off in the valid address: the checksum catches it */
	memcpy(bad, RFC8032_ADDR, sizeof(bad));
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	CHECK_INT_EQ(parse(pub, bad), ONION_ADDRESS_ERR_CHECKSUM);
	CHECK_INT_EQ(parse(pub, ""), ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(onion_address_to_pubkey(pub, RFC8032_ADDR, 55),
	    ONION_ADDRESS_ERR_LENGTH);
	/* padding or NUL inside the 56 characters */
	memcpy(bad, RFC8032_ADDR, sizeof(bad));
	bad[55] = '=';
	CHECK_INT_EQ(parse(pub, bad), ONION_ADDRESS_ERR_ALPHABET);
	bad[20] = '\0';
	CHECK_INT_EQ(onion_address_to_pubkey(pub, bad, 56),
	    ONION_ADDRESS_ERR_ALPHABET);
}

static void
test_wrong_version(void)
{
	uint8_t pub[32], out[32];
	char addr[ONION_ADDRESS_LEN + 1];

	test_unhex(pub, 32, RFC8032_PUB);
	build_address(addr, pub, 3);
	CHECK_STR_EQ(addr, RFC8032_ADDR);	/* the helper agrees with 10.1 */
	build_address(addr, pub, 4);
	CHECK_INT_EQ(parse(out, addr), ONION_ADDRESS_ERR_VERSION);
	build_address(addr, pub, 0);
	CHECK_INT_EQ(parse(out, addr), ONION_ADDRESS_ERR_VERSION);
	build_address(addr, pub, 2);
	CHECK_INT_EQ(parse(out, addr), ONION_ADDRESS_ERR_VERSION);
}

/*
 * A right checksum over a key that is no ed25519 public key: the identity
 * and another small-order point, a point with a torsion component, and a
 * y coordinate that is not on the curve.
 */
static void
test_invalid_key(void)
{
	uint8_t pub[32], torsion[32], mixed[32], out[32];
	char addr[ONION_ADDRESS_LEN + 1];

	memset(pub, 0, 32);
	pub[0] = 1;			/* (0, 1): the identity */
	build_address(addr, pub, 3);
	CHECK_INT_EQ(parse(out, addr), ONION_ADDRESS_ERR_KEY);

	/* a point of order 8 */
	test_unhex(torsion, 32,
	    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa");
	build_address(addr, torsion, 3);
	CHECK_INT_EQ(parse(out, addr), ONION_ADDRESS_ERR_KEY);

	/* A + T: on the curve, not small order, not in the main subgroup */
	test_unhex(pub, 32, RFC8032_PUB);
	CHECK_INT_EQ(crypto_core_ed25519_add(mixed, pub, torsion), 0);
	CHECK(crypto_core_ed25519_is_valid_point(mixed) == 0);
	build_address(addr, mixed, 3);
	CHECK_INT_EQ(parse(out, addr), ONION_ADDRESS_ERR_KEY);

	/* y = 2 gives x^2 = 3 / (4d + 1), which has no square root */
	memset(pub, 0, 32);
	pub[0] = 2;
	build_address(addr, pub, 3);
	CHECK_INT_EQ(parse(out, addr), ONION_ADDRESS_ERR_KEY);
}

/* The pubkey argument is left alone unless the address is valid. */
static void
test_no_output_on_failure(void)
{
	uint8_t pub[32], untouched[32];

	memset(pub, 0xa5, sizeof(pub));
	memset(untouched, 0xa5, sizeof(untouched));
	CHECK_INT_EQ(parse(pub,
	    "l5satjgud6gucryazcyvyvhuxhr74u6ygigiuyixe3a6ysis67ororad"),
	    ONION_ADDRESS_ERR_CHECKSUM);
	CHECK(memcmp(pub, untouched, 32) == 0);
}

static void
test_onion_suffix(void)
{
	uint8_t pub[32], want[32];

	test_unhex(want, 32, RFC8032_PUB);
	memset(pub, 0, 32);
	CHECK_INT_EQ(parse(pub, RFC8032_ADDR ".onion"), ONION_ADDRESS_OK);
	CHECK(memcmp(pub, want, 32) == 0);
	CHECK_INT_EQ(parse(pub, RFC8032_ADDR ".ONION"), ONION_ADDRESS_OK);
	CHECK_INT_EQ(parse(pub, RFC8032_ADDR ".Onion"), ONION_ADDRESS_OK);
	/* only that suffix, only once, and nothing after it */
	CHECK_INT_EQ(parse(pub, RFC8032_ADDR ".oniom"), ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(parse(pub, RFC8032_ADDR "\x0eonion"),
	    ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(parse(pub, RFC8032_ADDR ".onion."), ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(parse(pub, RFC8032_ADDR ".onion.onion"),
	    ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(parse(pub, RFC8032_ADDR "\n"), ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(parse(pub, "www." RFC8032_ADDR ".onion"),
	    ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(parse(pub, ".onion"), ONION_ADDRESS_ERR_LENGTH);
}

/* A v2 address is named as one; 16 other characters are a length error. */
static void
test_v2_address(void)
{
	uint8_t pub[32];

	memset(pub, 0, 32);
	CHECK_INT_EQ(parse(pub, "duskgytldkxiuqc6"), ONION_ADDRESS_ERR_V2);
	CHECK_INT_EQ(parse(pub, "duskgytldkxiuqc6.onion"),
	    ONION_ADDRESS_ERR_V2);
	CHECK_INT_EQ(parse(pub, "DUSKGYTLDKXIUQC6.Onion"),
	    ONION_ADDRESS_ERR_V2);
	CHECK_INT_EQ(parse(pub, "duskgytldkxiuqc!"), ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(parse(pub, "duskgytldkxiuqc6.oniom"),
	    ONION_ADDRESS_ERR_LENGTH);
	CHECK_INT_EQ(parse(pub, "duskgytldkxiuqc"), ONION_ADDRESS_ERR_LENGTH);
	CHECK(sodium_is_zero(pub, 32));
}

/*
 * tor's base32_decode() accepts upper case, so tor accepts such an
 * address; so do we (the checksum still covers every bit), and we always
 * write lower case.
 */
static void
test_upper_case(void)
{
	uint8_t pub[32], want[32];
	char addr[ONION_ADDRESS_LEN + 1];
	size_t i;

	test_unhex(want, 32, RFC8032_PUB);
	for (i = 0; i < ONION_ADDRESS_LEN; i++)
		addr[i] = (char)toupper((unsigned char)RFC8032_ADDR[i]);
	addr[ONION_ADDRESS_LEN] = '\0';
	CHECK_INT_EQ(parse(pub, addr), ONION_ADDRESS_OK);
	CHECK(memcmp(pub, want, 32) == 0);
	for (i = 0; i < ONION_ADDRESS_LEN; i += 2)
		addr[i] = RFC8032_ADDR[i];	/* mixed case */
	CHECK_INT_EQ(parse(pub, addr), ONION_ADDRESS_OK);
	CHECK(memcmp(pub, want, 32) == 0);
	onion_address_from_pubkey(addr, pub);
	CHECK_STR_EQ(addr, RFC8032_ADDR);
}

/* The addresses a real tor 0.4.9 wrote for our test network. */
static void
test_testnet_addresses(void)
{
	static const char *files[] = {
		"tor-0.4.9-testnet/frontend-address.txt",
		"tor-0.4.9-testnet/backend-address.txt",
		"tor-0.4.9-testnet/backend-be2-address.txt",
	};
	char again[ONION_ADDRESS_LEN + 1];
	uint8_t pub[32];
	size_t i, len;
	char *text;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		text = test_read_data(files[i], &len);
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			len--;
		CHECK_INT_EQ(len, ONION_ADDRESS_LEN + strlen(".onion"));
		CHECK_INT_EQ(onion_address_to_pubkey(pub, text, len),
		    ONION_ADDRESS_OK);
		CHECK(crypto_core_ed25519_is_valid_point(pub) == 1);
		onion_address_from_pubkey(again, pub);
		CHECK(strncmp(again, text, ONION_ADDRESS_LEN) == 0);
		free(text);
	}
}

static void
test_strerror(void)
{
	int e;

	for (e = ONION_ADDRESS_OK; e <= ONION_ADDRESS_ERR_V2; e++)
		CHECK(strcmp(onion_address_strerror(e), "unknown error") != 0);
	CHECK_STR_EQ(onion_address_strerror(ONION_ADDRESS_ERR_V2 + 1),
	    "unknown error");
}

static void
test_init(void)
{
	/* libsodium must be initialized before the key check is used. */
	CHECK(sodium_init() >= 0);
}

TEST_MAIN(
	TEST_CASE(test_init),
	TEST_CASE(test_build_address),
	TEST_CASE(test_validate_address),
	TEST_CASE(test_wrong_version),
	TEST_CASE(test_invalid_key),
	TEST_CASE(test_no_output_on_failure),
	TEST_CASE(test_onion_suffix),
	TEST_CASE(test_v2_address),
	TEST_CASE(test_upper_case),
	TEST_CASE(test_testnet_addresses),
	TEST_CASE(test_strerror),
)

/*
 * v3 onion addresses, as tor's hs_build_address() writes them and
 * hs_parse_address_no_log() / hs_address_is_valid() check them.
 *
 * The key check uses libsodium, so callers must have called sodium_init()
 * (every process does so before it sandboxes itself).
 */
#include <string.h>

#include <sodium.h>

#include "digest.h"
#include "encoding.h"
#include "log.h"
#include "onion_address.h"

#define ONION_PUBKEY_LEN	32
#define ONION_CHECKSUM_LEN	2	/* of the 32 bytes of SHA3-256, tor uses 2 */
#define ONION_BINARY_LEN	(ONION_PUBKEY_LEN + ONION_CHECKSUM_LEN + 1)
#define ONION_V2_LEN		16	/* base32 of 10 bytes */
#define ONION_V2_BINARY_LEN	10
#define ONION_SUFFIX		".onion"
#define ONION_SUFFIX_LEN	(sizeof(ONION_SUFFIX) - 1)

const char *
onion_address_strerror(enum onion_address_error err)
{
	switch (err) {
	case ONION_ADDRESS_OK:
		return "valid";
	case ONION_ADDRESS_ERR_LENGTH:
		return "not 56 characters long";
	case ONION_ADDRESS_ERR_ALPHABET:
		return "not base32";
	case ONION_ADDRESS_ERR_VERSION:
		return "not a version 3 address";
	case ONION_ADDRESS_ERR_CHECKSUM:
		return "bad checksum (mistyped?)";
	case ONION_ADDRESS_ERR_KEY:
		return "not a valid ed25519 public key";
	case ONION_ADDRESS_ERR_V2:
		return "a version 2 address (16 characters), and tor removed "
		    "v2 onion services in 0.4.6: give the v3 address (56 "
		    "characters) of the service";
	}
	return "unknown error";
}

/* CHECKSUM = H(".onion checksum" | PUBKEY | VERSION)[0..1] */
static void
onion_checksum(uint8_t out[ONION_CHECKSUM_LEN],
    const uint8_t pubkey[ONION_PUBKEY_LEN], uint8_t version)
{
	uint8_t digest[SHA3_256_LEN];
	struct bytes_ref parts[] = {
		BYTES_STR(".onion checksum"),
		{ pubkey, ONION_PUBKEY_LEN },
		BYTES_OF(version),
	};

	sha3_256_parts(digest, parts, sizeof(parts) / sizeof(parts[0]));
	memcpy(out, digest, ONION_CHECKSUM_LEN);
}

void
onion_address_from_pubkey(char out[ONION_ADDRESS_LEN + 1],
    const uint8_t pubkey[32])
{
	uint8_t bin[ONION_BINARY_LEN];

	memcpy(bin, pubkey, ONION_PUBKEY_LEN);
	onion_checksum(bin + ONION_PUBKEY_LEN, pubkey, ONION_ADDRESS_VERSION);
	bin[ONION_BINARY_LEN - 1] = ONION_ADDRESS_VERSION;
	/* 35 bytes are exactly 56 characters: this cannot fail. */
	if (base32_encode(out, ONION_ADDRESS_LEN + 1, bin, sizeof(bin)) !=
	    ONION_ADDRESS_LEN)
		fatalx("%s: base32_encode failed", __func__);
}

/* True if addr ends in ".onion", in any case; ASCII only, whatever the locale. */
static int
has_onion_suffix(const char *addr, size_t len)
{
	const char *tail;
	size_t i;
	char c;

	if (len < ONION_SUFFIX_LEN)
		return 0;
	tail = addr + len - ONION_SUFFIX_LEN;
	for (i = 0; i < ONION_SUFFIX_LEN; i++) {
		c = tail[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != ONION_SUFFIX[i])
			return 0;
	}
	return 1;
}

/*
 * Upper case is accepted, in the base32 part as by tor's base32_decode()
 * and in the suffix as in any DNS name, because people paste addresses
 * from places that change case.  The checksum still covers every bit.
 */
enum onion_address_error
onion_address_to_pubkey(uint8_t pubkey[32], const char *addr, size_t len)
{
	uint8_t bin[ONION_BINARY_LEN], checksum[ONION_CHECKSUM_LEN];
	const uint8_t *key = bin;
	uint8_t version;

	if ((len == ONION_ADDRESS_LEN + ONION_SUFFIX_LEN ||
	    len == ONION_V2_LEN + ONION_SUFFIX_LEN) &&
	    has_onion_suffix(addr, len))
		len -= ONION_SUFFIX_LEN;
	/* Old guides and old torrcs still have them: say what it is. */
	if (len == ONION_V2_LEN &&
	    base32_decode(bin, sizeof(bin), addr, len) == ONION_V2_BINARY_LEN)
		return ONION_ADDRESS_ERR_V2;
	if (len != ONION_ADDRESS_LEN)
		return ONION_ADDRESS_ERR_LENGTH;
	if (base32_decode(bin, sizeof(bin), addr, len) != ONION_BINARY_LEN)
		return ONION_ADDRESS_ERR_ALPHABET;

	/* tor checks in this order: version, checksum, key. */
	version = bin[ONION_BINARY_LEN - 1];
	if (version != ONION_ADDRESS_VERSION)
		return ONION_ADDRESS_ERR_VERSION;
	onion_checksum(checksum, key, version);
	if (memcmp(checksum, bin + ONION_PUBKEY_LEN, ONION_CHECKSUM_LEN) != 0)
		return ONION_ADDRESS_ERR_CHECKSUM;
	if (crypto_core_ed25519_is_valid_point(key) != 1)
		return ONION_ADDRESS_ERR_KEY;
	memcpy(pubkey, key, ONION_PUBKEY_LEN);
	return ONION_ADDRESS_OK;
}

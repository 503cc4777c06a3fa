/*
 * v3 onion addresses (rend-spec-v3 section 6; tor hs_common.c
 * hs_build_address / hs_parse_address):
 *   base32(PUBKEY(32) | CHECKSUM(2) | VERSION(1)), 56 lower-case chars,
 *   CHECKSUM = SHA3-256(".onion checksum" | PUBKEY | VERSION)[0..1].
 *
 * The key check uses libsodium: callers must have called sodium_init().
 */
#ifndef OB_ONION_ADDRESS_H
#define OB_ONION_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

#define ONION_ADDRESS_LEN	56	/* without ".onion" */
#define ONION_ADDRESS_VERSION	3

enum onion_address_error {
	ONION_ADDRESS_OK = 0,
	ONION_ADDRESS_ERR_LENGTH,	/* not 56 chars (after an optional ".onion") */
	ONION_ADDRESS_ERR_ALPHABET,	/* not base32 */
	ONION_ADDRESS_ERR_VERSION,	/* version byte is not 3 */
	ONION_ADDRESS_ERR_CHECKSUM,
	ONION_ADDRESS_ERR_KEY,		/* not a valid ed25519 point of the main subgroup */
	ONION_ADDRESS_ERR_V2,		/* 16 base32 chars: a v2 address, gone */
};

const char *onion_address_strerror(enum onion_address_error err);

/* out receives 56 chars and a NUL, no ".onion". */
void	onion_address_from_pubkey(char out[ONION_ADDRESS_LEN + 1],
	    const uint8_t pubkey[32]);
/*
 * Parses an address of 56 chars, or 62 with a ".onion" suffix (as people
 * write it in config files).  pubkey is written only on success.
 */
enum onion_address_error onion_address_to_pubkey(uint8_t pubkey[32],
	    const char *addr, size_t len);

#endif

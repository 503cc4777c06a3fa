/*
 * onion_address_to_pubkey() on arbitrary input: in bounds, and whatever it
 * accepts is the address of the key it returns (in either case, with an
 * optional ".onion").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "onion_address.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char addr[ONION_ADDRESS_LEN + 1];
	uint8_t pub[32];
	size_t i;
	char c;

	if (sodium_init() < 0)
		abort();
	if (onion_address_to_pubkey(pub, (const char *)data, size) !=
	    ONION_ADDRESS_OK)
		return 0;
	if (size != ONION_ADDRESS_LEN && size != ONION_ADDRESS_LEN + 6)
		abort();
	onion_address_from_pubkey(addr, pub);
	for (i = 0; i < ONION_ADDRESS_LEN; i++) {
		c = (char)data[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != addr[i])
			abort();
	}
	if (crypto_core_ed25519_is_valid_point(pub) != 1)
		abort();
	return 0;
}

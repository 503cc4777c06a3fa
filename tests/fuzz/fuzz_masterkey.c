/*
 * masterkey_parse() on arbitrary file contents: in bounds, and any key it
 * accepts is consistent (the public key is that of the secret scalar, and
 * a key with a seed has the scalar of that seed).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "masterkey.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct masterkey *mk;

static void
check_key(void)
{
	uint8_t pub[32], pk[32], sk[64];

	if (crypto_scalarmult_ed25519_base_noclamp(pub, mk->sk.scalar) != 0 ||
	    memcmp(pub, mk->pub, 32) != 0)
		abort();
	if (!mk->has_seed)
		return;
	if (crypto_sign_seed_keypair(pk, sk, mk->seed) != 0 ||
	    memcmp(pk, mk->pub, 32) != 0)
		abort();
	sodium_memzero(sk, sizeof(sk));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (mk == NULL && (sodium_init() < 0 || (mk = masterkey_new()) == NULL))
		abort();
	if (masterkey_parse(mk, data, size) == MASTERKEY_OK)
		check_key();
	else if (!sodium_is_zero((const uint8_t *)mk, sizeof(*mk)))
		abort();
	return 0;
}

/*
 * libFuzzer target for the tor certificate parser and checker: certs come
 * from descriptors fetched off the network.  Beyond not crashing, a cert
 * that parses must account for every byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "torcert.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialized;
	struct torcert c;
	enum torcert_error err;

	if (!initialized) {
		if (sodium_init() < 0)
			abort();
		initialized = 1;
	}
	err = torcert_parse(&c, data, size);
	if (err == TORCERT_OK && c.signed_len + 64 != size)
		abort();
	if (err == TORCERT_OK && c.has_signer && c.signed_len < 76)
		abort();
	err = torcert_check(&c, data, size, size > 1 ? data[1] : 0, NULL, 0);
	if (torcert_strerror(err) == NULL)
		abort();
	return 0;
}

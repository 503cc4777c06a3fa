/*
 * keyd's descriptor-body check, the one parser in keyd, on arbitrary
 * bytes.  The expected cert is bytes 0..139 (the seed corpus carries it),
 * so the fuzzer can reach every line of the check.
 */
#include <stdint.h>
#include <stdlib.h>

#include "keyd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t cert[TORCERT_LEN];
	uint64_t rev = 0;
	uint32_t line = 0;
	enum keyd_error err;
	size_t i;

	for (i = 0; i < sizeof(cert); i++)
		cert[i] = (uint8_t)i;
	err = keyd_check_body(data, size, cert, &rev, &line);
	if (err == KEYD_ERR_NONE && (size < 16 || line != 0))
		abort();
	if (err == KEYD_ERR_BODY_FORMAT && line == 0)
		abort();
	return 0;
}

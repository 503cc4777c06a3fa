/*
 * libFuzzer target for the decrypted layers, which random input never
 * reaches through the signature and MACs: the first byte chooses the
 * middle-layer parser (even) or the inner-layer parser (odd), the rest is
 * the plaintext.  The inner parser checks intro certs against the
 * captured backend's descriptor-signing key at capture time, so the seed
 * (that descriptor's own decrypted layers) parses completely.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "encoding.h"
#include "hsdesc_private.h"

/* The backend's descriptor-signing key (from its signing-key cert). */
#define SIGNING_KEY_HEX	\
	"da6bc6f8028d775d1aca302c899c9ec3b894aa30bc596a0b4eef5062edbfa4cf"
#define CAPTURED_AT	1795315746

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t signing_key[32];
	static int initialized;
	struct hsdesc_middle m;
	struct hsdesc *d;
	char *text;

	if (!initialized) {
		if (sodium_init() < 0 || hex_decode(signing_key, 32,
		    SIGNING_KEY_HEX, 64) != 32)
			abort();
		initialized = 1;
	}
	if (size < 1 || (text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	if ((data[0] & 1) == 0) {
		if (hsdesc_middle_parse(&m, text, size - 1, NULL) == HSDESC_OK)
			hsdesc_middle_clear(&m);
	} else if ((d = calloc(1, sizeof(*d))) != NULL) {
		(void)hsdesc_inner_parse(d, text, size - 1, signing_key,
		    CAPTURED_AT, NULL);
		if (d->n_intro_points > HSDESC_MAX_INTRO_POINTS)
			abort();
		hsdesc_free(d);
	}
	free(text);
	return 0;
}

/*
 * libFuzzer target for the whole descriptor decoder, as fetchd runs it on
 * what an HSDir sends.  The identity key, period and clock are those of
 * the captured tor 0.4.9 backend (tests/data/tor-0.4.9-testnet), so the
 * seed decodes completely and mutants exercise every check after it; a
 * mutant that breaks the signature stops at the outer layer, which the
 * hsdesc_layers target covers from the inside.  Also runs the unsigned
 * outer-layer check keyd uses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hs_common.h"
#include "hsdesc.h"
#include "onion_address.h"

#define BACKEND_ADDRESS	"vckzlz6oomfw62y2l4rl36gt2qmeyl4qb6qz633eamuh3wgjceb2myyd"
#define VALID_AFTER	1795315720	/* 2026-11-22 02:48:40, consensus */
#define CAPTURED_AT	1795315746	/* 2026-11-22 02:49:06 */
#define VOTING_INTERVAL	20

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t identity[32];
static struct hs_period_params period;
static uint64_t tp;

static void
init(void)
{
	if (sodium_init() < 0 ||
	    onion_address_to_pubkey(identity, BACKEND_ADDRESS,
	    strlen(BACKEND_ADDRESS)) != ONION_ADDRESS_OK ||
	    hs_period_params_init(&period, VOTING_INTERVAL, 0) != 0)
		abort();
	tp = hs_time_period_num(&period, VALID_AFTER);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialized;
	struct hsdesc_outer outer;
	struct hsdesc *d = NULL;
	struct hsdesc_diag diag;
	char *text;

	if (!initialized) {
		init();
		initialized = 1;
	}
	/* Copy, so that ASan sees any read past the end. */
	if ((text = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	if (hsdesc_decode_near(text, size, identity, tp, period.length_min,
	    CAPTURED_AT, 0, NULL, NULL, &d, &diag) == HSDESC_OK &&
	    d->n_intro_points > HSDESC_MAX_INTRO_POINTS)
		abort();
	hsdesc_free(d);
	if (hsdesc_outer_parse(&outer, text, size, 0, HSDESC_OUTER_UNSIGNED,
	    NULL) == HSDESC_OK)
		hsdesc_outer_clear(&outer);
	free(text);
	return 0;
}

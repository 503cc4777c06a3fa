/*
 * libFuzzer target for the consensus and microdescriptor parsers, and the
 * ring built from what they accept.  The input is a consensus, optionally
 * followed by SEPARATOR and the text of `GETINFO md/all`.  Beyond not
 * crashing: an accepted consensus has its relays in strict identity
 * order, and every ring lookup returns distinct nodes, no more than asked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consensus.h"
#include "hashring.h"
#include "log.h"

#define SEPARATOR	"\n--md--\n"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_relays(const struct consensus *c)
{
	size_t i;

	for (i = 1; i < c->n_relays; i++)
		if (memcmp(c->relays[i - 1].rsa_id, c->relays[i].rsa_id,
		    RSA_ID_LEN) >= 0)
			abort();
	for (i = 0; i < c->n_relays; i++)
		if (memchr(c->relays[i].nickname, '\0',
		    sizeof(c->relays[i].nickname)) == NULL)
			abort();
	if (c->period.length_min == 0 || c->period.voting_interval_s == 0)
		abort();
}

static void
check_ring(const struct consensus *c, enum hashring_use use)
{
	static const uint8_t blinded[32] = { 1, 2, 3 };
	static struct hashring_hsdir out[HASHRING_MAX_RESPONSIBLE];
	struct hashring ring;
	size_t n, i, j;

	if (hashring_build(&ring, c, use, c->valid_after) != HASHRING_OK)
		return;
	if (hashring_responsible(&ring, blinded, out, HASHRING_MAX_RESPONSIBLE,
	    &n) != HASHRING_OK)
		abort();
	if (n > (size_t)ring.n_replicas * ring.spread || n > ring.n_nodes ||
	    n == 0)
		abort();
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (out[i].position == out[j].position)
				abort();
	hashring_clear(&ring);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialized;
	const char *text = (const char *)data, *sep;
	struct consensus *c = NULL;
	struct microdesc_stats st;
	size_t clen = size;

	if (!initialized) {
		if (sodium_init() < 0)
			abort();
		log_init("fuzz", LOG_LEVEL_ERROR);
		initialized = 1;
	}
	sep = memmem(text, size, SEPARATOR, sizeof(SEPARATOR) - 1);
	if (sep != NULL)
		clen = (size_t)(sep - text) + 1;	/* keep its newline */
	if (consensus_parse(text, clen, &c, NULL) != CONSENSUS_OK)
		return 0;
	check_relays(c);
	if (sep != NULL) {
		sep += sizeof(SEPARATOR) - 1;
		if (consensus_add_microdescs(c, sep,
		    size - (size_t)(sep - text), &st) == 0 &&
		    st.n_matched > st.n_microdescs)
			abort();
	}
	check_ring(c, HASHRING_STORE_FIRST);
	check_ring(c, HASHRING_STORE_SECOND);
	check_ring(c, HASHRING_FETCH);
	consensus_free(c);
	return 0;
}

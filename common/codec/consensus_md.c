/*
 * Microdescriptors from `GETINFO md/all` (dir-spec 3.3; tor
 * microdesc_parse.c): we need only each relay's ed25519 identity, and the
 * only way to know which relay a microdescriptor belongs to is its
 * SHA-256 digest, which the consensus lists on the relay's "m" line.  So
 * the bodies are split exactly where tor splits them and hashed exactly
 * as given: a lost final newline (stem's bug, the recipe's gotcha 3) makes
 * the last relay's digest differ and drops it from the ring.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consensus.h"
#include "consensus_private.h"
#include "log.h"

#define MD_START	"onion-key"

/* A relay's "m" digest, for finding relays by microdescriptor. */
struct md_ref {
	uint8_t		digest[MD_DIGEST_LEN];
	size_t		relay;
};

enum md_id_result {
	MD_ID_FOUND,
	MD_ID_NONE,
	MD_ID_MALFORMED,
};

static int
md_ref_cmp(const void *a, const void *b)
{
	const struct md_ref *x = a, *y = b;

	return memcmp(x->digest, y->digest, MD_DIGEST_LEN);
}

/* The relays that have an "m" line, sorted by digest; NULL on ENOMEM. */
static struct md_ref *
build_md_index(const struct consensus *c, size_t *n)
{
	struct md_ref *refs;
	size_t i;

	*n = 0;
	if ((refs = calloc(c->n_relays + 1, sizeof(*refs))) == NULL)
		return NULL;
	for (i = 0; i < c->n_relays; i++) {
		if (!c->relays[i].has_md_digest)
			continue;
		memcpy(refs[*n].digest, c->relays[i].md_digest, MD_DIGEST_LEN);
		refs[*n].relay = i;
		(*n)++;
	}
	qsort(refs, *n, sizeof(*refs), md_ref_cmp);
	return refs;
}

/* Index of the first ref with that digest, or n. */
static size_t
md_index_lower_bound(const struct md_ref *refs, size_t n,
    const uint8_t digest[MD_DIGEST_LEN])
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(refs[mid].digest, digest, MD_DIGEST_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The body's "id ed25519 <key>" line.  tor rejects the microdescriptor
 * for an "id" line with fewer than two arguments, a second ed25519 id or
 * a key that is not base64 of 32 bytes; an all-zero key is a bug in tor's
 * eyes and gives no identity.
 */
static enum md_id_result
md_find_ed25519_id(const char *body, size_t len, uint8_t id[ED25519_ID_LEN])
{
	static const uint8_t zero[ED25519_ID_LEN];
	struct line_reader rd;
	struct line line;
	struct text_ref rest, type, key;
	int r, found = 0;

	line_reader_init(&rd, body, len);
	while ((r = line_reader_next(&rd, &line, CONSENSUS_MAX_LINE)) > 0) {
		if (!text_eq(&line.keyword, "id"))
			continue;
		rest = line.rest;
		if (text_count_args(rest) < 2)
			return MD_ID_MALFORMED;
		text_next_arg(&rest, &type);
		text_next_arg(&rest, &key);
		if (!text_eq(&type, "ed25519"))
			continue;
		if (found || text_base64_exact(&key, id, ED25519_ID_LEN) < 0)
			return MD_ID_MALFORMED;
		found = 1;
	}
	if (r < 0)
		return MD_ID_MALFORMED;
	if (!found || sodium_memcmp(id, zero, ED25519_ID_LEN) == 0)
		return MD_ID_NONE;
	return MD_ID_FOUND;
}

/* Gives the id to every relay whose "m" digest is the body's. */
static void
md_apply(struct consensus *c, const struct md_ref *refs, size_t nrefs,
    const char *body, size_t len, struct microdesc_stats *st)
{
	uint8_t digest[MD_DIGEST_LEN], id[ED25519_ID_LEN];
	struct consensus_relay *relay;
	size_t i;

	st->n_microdescs++;
	crypto_hash_sha256(digest, (const unsigned char *)body, len);
	i = md_index_lower_bound(refs, nrefs, digest);
	if (i == nrefs || memcmp(refs[i].digest, digest, MD_DIGEST_LEN) != 0) {
		st->n_unmatched++;
		return;
	}
	st->n_matched++;
	switch (md_find_ed25519_id(body, len, id)) {
	case MD_ID_FOUND:
		break;
	case MD_ID_NONE:
		st->n_without_id++;
		return;
	case MD_ID_MALFORMED:
		st->n_malformed++;
		return;
	}
	for (; i < nrefs && memcmp(refs[i].digest, digest,
	    MD_DIGEST_LEN) == 0; i++) {
		relay = &c->relays[refs[i].relay];
		memcpy(relay->ed25519_id, id, ED25519_ID_LEN);
		relay->has_ed25519_id = 1;
	}
}

/*
 * The end of the body that starts at pos: the start of the next line
 * beginning with "onion-key" (tor's find_start_of_next_microdesc), or
 * the end of the text.
 */
static size_t
md_body_end(const char *text, size_t len, size_t pos)
{
	const char *nl;
	size_t left;

	for (;;) {
		nl = memchr(text + pos, '\n', len - pos);
		if (nl == NULL)
			return len;
		pos = (size_t)(nl - text) + 1;
		left = len - pos;
		if (left >= sizeof(MD_START) - 1 &&
		    memcmp(text + pos, MD_START, sizeof(MD_START) - 1) == 0)
			return pos;
	}
}

static void
count_relays_with_id(const struct consensus *c, struct microdesc_stats *st)
{
	size_t i;

	st->n_relays_with_id = 0;
	for (i = 0; i < c->n_relays; i++)
		if (c->relays[i].has_ed25519_id)
			st->n_relays_with_id++;
}

int
consensus_add_microdescs(struct consensus *c, const char *text, size_t len,
    struct microdesc_stats *stats)
{
	struct microdesc_stats st;
	struct md_ref *refs;
	size_t nrefs, pos, end;

	memset(&st, 0, sizeof(st));
	if (stats != NULL)
		*stats = st;
	if (len > MICRODESCS_MAX_SIZE || memchr(text, '\0', len) != NULL) {
		log_warnx("microdescriptors: too large or NUL byte");
		return -1;
	}
	if (len > 0 && (len < sizeof(MD_START) - 1 ||
	    memcmp(text, MD_START, sizeof(MD_START) - 1) != 0)) {
		log_warnx("microdescriptors: text does not start with %s",
		    MD_START);
		return -1;
	}
	if ((refs = build_md_index(c, &nrefs)) == NULL) {
		log_warnx("microdescriptors: out of memory");
		return -1;
	}
	for (pos = 0; pos < len; pos = end) {
		end = md_body_end(text, len, pos);
		md_apply(c, refs, nrefs, text + pos, end - pos, &st);
	}
	free(refs);
	count_relays_with_id(c, &st);
	if (stats != NULL)
		*stats = st;
	return 0;
}

/*
 * A synthetic but full-size network for the offline benchmark: a
 * microdesc-flavoured consensus and its microdescriptors (md/all), shaped
 * like the live network's (about 430 bytes per consensus entry and 450
 * per microdescriptor, nine authorities' signatures), made from a seed so
 * that every run -- and the Onionbalance side, which reads the same files
 * -- parses the same documents.  Only valid-after moves (it is the
 * current hour), because both implementations refuse a consensus that is
 * not reasonably live and Onionbalance derives its revision counter from
 * it.
 *
 * Of n_relays relays, n_hsdirs have the HSDir flag and "pr ... HSDir=2";
 * the others list HSDir=2 but lack the flag, as most live relays do.
 * Nothing is signed: neither parser checks authority signatures.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "encoding.h"

#define N_AUTHORITIES	9

/* splitmix64: small, fast and the same everywhere. */
struct rng {
	uint64_t	state;
};

static uint64_t
rng_next(struct rng *r)
{
	uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void
rng_bytes(struct rng *r, uint8_t *out, size_t len)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = rng_next(r);
		out[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

/* A growing text buffer; any failure is fatal (this is a benchmark). */
struct text {
	char	*buf;
	size_t	 len, cap;
};

static void
text_reserve(struct text *t, size_t more)
{
	size_t cap = t->cap != 0 ? t->cap : 1 << 20;

	while (cap - t->len <= more)
		cap *= 2;
	if (cap != t->cap) {
		if ((t->buf = realloc(t->buf, cap)) == NULL) {
			fprintf(stderr, "synth: out of memory\n");
			exit(1);
		}
		t->cap = cap;
	}
}

static void __attribute__((format(printf, 2, 3)))
text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	text_reserve(t, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* base64 of len bytes (tor's unpadded form unless flags say otherwise). */
static const char *
b64(char *out, size_t outsz, const uint8_t *in, size_t len, int flags)
{
	if (base64_encode(out, outsz, in, len, flags) < 0)
		abort();
	return out;
}

static void
text_b64_random(struct text *t, struct rng *r, size_t len, int flags)
{
	uint8_t raw[512];
	char enc[800];

	if (len > sizeof(raw))
		abort();
	rng_bytes(r, raw, len);
	text_printf(t, "%s", b64(enc, sizeof(enc), raw, len, flags));
}

struct relay {
	uint8_t		rsa_id[20];
	uint8_t		ed_id[32];
	uint8_t		md_digest[32];
	int		is_hsdir;
	int		has_ipv6;
	uint32_t	ipv4;
	uint16_t	orport;
	uint32_t	bandwidth;
};

static int
relay_cmp(const void *a, const void *b)
{
	return memcmp(((const struct relay *)a)->rsa_id,
	    ((const struct relay *)b)->rsa_id, 20);
}

/* Which relays are HSDirs: a seeded shuffle of the first n_hsdirs. */
static struct relay *
make_relays(struct rng *r, const struct synth_params *p)
{
	struct relay *rel, tmp;
	size_t i, j;

	if ((rel = calloc(p->n_relays, sizeof(*rel))) == NULL)
		return NULL;
	for (i = 0; i < p->n_relays; i++) {
		rng_bytes(r, rel[i].rsa_id, sizeof(rel[i].rsa_id));
		rng_bytes(r, rel[i].ed_id, sizeof(rel[i].ed_id));
		rel[i].is_hsdir = i < p->n_hsdirs;
		rel[i].has_ipv6 = rng_next(r) % 10 < 3;
		rel[i].ipv4 = (uint32_t)rng_next(r);
		rel[i].orport = (uint16_t)(rng_next(r) % 2 ? 443 : 9001);
		rel[i].bandwidth = (uint32_t)(rng_next(r) % 90000) + 20;
	}
	for (i = p->n_relays - 1; i > 0; i--) {
		j = (size_t)(rng_next(r) % (i + 1));
		tmp = rel[i];
		rel[i] = rel[j];
		rel[j] = tmp;
	}
	qsort(rel, p->n_relays, sizeof(*rel), relay_cmp);
	return rel;
}

/* One microdescriptor; its SHA-256 is the relay's "m" digest. */
static void
append_microdesc(struct text *t, struct rng *r, struct relay *rel)
{
	char enc[64];
	size_t start = t->len;

	text_printf(t, "onion-key\n-----BEGIN RSA PUBLIC KEY-----\n");
	text_b64_random(t, r, 140, BASE64_PAD | BASE64_MULTILINE);
	text_printf(t, "-----END RSA PUBLIC KEY-----\nntor-onion-key ");
	text_b64_random(t, r, 32, 0);
	text_printf(t, "\n");
	if (rng_next(r) % 4 == 0) {
		uint8_t fam[20];
		char hex[41];

		rng_bytes(r, fam, sizeof(fam));
		hex_encode_upper(hex, fam, sizeof(fam));
		text_printf(t, "family $%s\n", hex);
	}
	text_printf(t, "%s\n", rel->is_hsdir && rng_next(r) % 2 ?
	    "p accept 20-23,43,53,79-81,88,110,143,194,220,389,443,464,531" :
	    "p reject 1-65535");
	text_printf(t, "id ed25519 %s\n", b64(enc, sizeof(enc), rel->ed_id,
	    32, 0));
	crypto_hash_sha256(rel->md_digest, (const uint8_t *)t->buf + start,
	    t->len - start);
}

static void
format_time(char out[20], time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm) != 19)
		abort();
}

static void
append_header(struct text *t, struct rng *r, const struct synth_params *p)
{
	char va[20], fu[20], vu[20];
	uint8_t id[20];
	char hex[41];
	int i;

	format_time(va, p->valid_after);
	format_time(fu, p->valid_after + 3600);
	format_time(vu, p->valid_after + 3 * 3600);
	text_printf(t, "network-status-version 3 microdesc\n"
	    "vote-status consensus\nconsensus-method 34\n"
	    "valid-after %s\nfresh-until %s\nvalid-until %s\n"
	    "voting-delay 300 300\n"
	    "client-versions 0.4.8.1-alpha,0.4.8.13,0.4.9.1-alpha,0.4.9.11\n"
	    "server-versions 0.4.8.1-alpha,0.4.8.13,0.4.9.1-alpha,0.4.9.11\n"
	    "known-flags Authority BadExit Exit Fast Guard HSDir "
	    "MiddleOnly NoEdConsensus Running Stable StaleDesc Sybil V2Dir "
	    "Valid\n", va, fu, vu);
	text_printf(t, "recommended-client-protocols Cons=2 Desc=2 "
	    "DirCache=2 HSDir=2 HSIntro=4 HSRend=2 Link=4-5 Microdesc=2 "
	    "Relay=2\nrecommended-relay-protocols Cons=2 Desc=2 DirCache=2 "
	    "HSDir=2 HSIntro=4 HSRend=2 Link=4-5 LinkAuth=3 Microdesc=2 "
	    "Relay=2\nrequired-client-protocols Cons=2 Desc=2 Link=4 "
	    "Microdesc=2 Relay=2\nrequired-relay-protocols Cons=2 Desc=2 "
	    "DirCache=2 HSDir=2 HSIntro=4 HSRend=2 Link=4-5 LinkAuth=3 "
	    "Microdesc=2 Relay=2\n");
	text_printf(t, "params CircuitPriorityHalflifeMsec=30000 "
	    "DoSCircuitCreationEnabled=1 DoSConnectionEnabled=1 "
	    "NumDirectoryGuards=3 NumEntryGuards=1 UseOptimisticData=1 "
	    "bwweightscale=10000 cc_alg=2 cc_sendme_inc=31 "
	    "hsdir_spread_store=4 sendme_emit_min_version=1\n");
	text_printf(t, "shared-rand-previous-value 9 ");
	text_b64_random(t, r, 32, BASE64_PAD);
	text_printf(t, "\nshared-rand-current-value 9 ");
	text_b64_random(t, r, 32, BASE64_PAD);
	text_printf(t, "\n");
	for (i = 0; i < N_AUTHORITIES; i++) {
		rng_bytes(r, id, sizeof(id));
		hex_encode_upper(hex, id, sizeof(id));
		text_printf(t, "dir-source auth%d %s 192.0.2.%d 192.0.2.%d "
		    "80 443\ncontact auth%d <auth%d@example.org>\n", i, hex,
		    i + 1, i + 1, i, i);
		rng_bytes(r, id, sizeof(id));
		hex_encode_upper(hex, id, sizeof(id));
		text_printf(t, "vote-digest %s\n", hex);
	}
}

static void
append_entry(struct text *t, struct rng *r, const struct relay *rel,
    size_t n)
{
	char id[40], md[64];

	text_printf(t, "r relay%05zu %s 2038-01-01 00:00:00 %u.%u.%u.%u %u 0\n",
	    n, b64(id, sizeof(id), rel->rsa_id, 20, 0),
	    rel->ipv4 >> 24, (rel->ipv4 >> 16) & 0xFF, (rel->ipv4 >> 8) & 0xFF,
	    rel->ipv4 & 0xFF, rel->orport);
	if (rel->has_ipv6)
		text_printf(t, "a [2001:db8::%x:%x]:%u\n",
		    (unsigned)(rng_next(r) & 0xFFFF),
		    (unsigned)(rng_next(r) & 0xFFFF), rel->orport);
	text_printf(t, "m %s\n", b64(md, sizeof(md), rel->md_digest, 32, 0));
	text_printf(t, "s %s\n", rel->is_hsdir ?
	    "Fast Guard HSDir Running Stable V2Dir Valid" :
	    "Fast Running V2Dir Valid");
	text_printf(t, "v Tor 0.4.8.13\n");
	text_printf(t, "pr Conflux=1 Cons=1-2 Desc=1-2 DirCache=2 "
	    "FlowCtrl=1-2 HSDir=2 HSIntro=4-5 HSRend=1-2 Link=1-5 "
	    "LinkAuth=1,3 Microdesc=1-2 Padding=2 Relay=1-4\n");
	text_printf(t, "w Bandwidth=%u\n", rel->bandwidth);
}

static void
append_footer(struct text *t, struct rng *r)
{
	uint8_t id[20];
	char hex[41], dig[41];
	int i;

	text_printf(t, "directory-footer\nbandwidth-weights Wbd=0 Wbe=0 "
	    "Wbg=4194 Wbm=10000 Wdb=10000 Web=10000 Wed=10000 Wee=10000 "
	    "Weg=10000 Wem=10000 Wgb=10000 Wgd=0 Wgg=5806 Wgm=5806 Wmb=10000 "
	    "Wmd=0 Wme=0 Wmg=4194 Wmm=10000\n");
	for (i = 0; i < N_AUTHORITIES; i++) {
		rng_bytes(r, id, sizeof(id));
		hex_encode_upper(hex, id, sizeof(id));
		rng_bytes(r, id, sizeof(id));
		hex_encode_upper(dig, id, sizeof(id));
		text_printf(t, "directory-signature sha256 %s %s\n"
		    "-----BEGIN SIGNATURE-----\n", hex, dig);
		text_b64_random(t, r, 384, BASE64_PAD | BASE64_MULTILINE);
		text_printf(t, "-----END SIGNATURE-----\n");
	}
}

int
synth_generate(struct synth *s, const struct synth_params *p)
{
	struct rng r = { p->seed };
	struct text cons = { 0 }, mds = { 0 };
	struct relay *rel;
	uint8_t seed[32], sk[64];
	size_t i;

	memset(s, 0, sizeof(*s));
	if (p->n_hsdirs > p->n_relays ||
	    (rel = make_relays(&r, p)) == NULL)
		return -1;
	/* The microdescriptors first: the consensus carries their digests. */
	for (i = 0; i < p->n_relays; i++)
		append_microdesc(&mds, &r, &rel[i]);
	append_header(&cons, &r, p);
	for (i = 0; i < p->n_relays; i++)
		append_entry(&cons, &r, &rel[i], i);
	append_footer(&cons, &r);
	rng_bytes(&r, seed, sizeof(seed));
	crypto_sign_seed_keypair(s->identity, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	free(rel);
	s->consensus = cons.buf;
	s->consensus_len = cons.len;
	s->microdescs = mds.buf;
	s->microdescs_len = mds.len;
	return 0;
}

void
synth_free(struct synth *s)
{
	free(s->consensus);
	free(s->microdescs);
	memset(s, 0, sizeof(*s));
}

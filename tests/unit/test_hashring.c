/*
 * The HSDir hash ring: the TP/SRV choice of each use, the ring of the
 * captured test network checked against the HSDIR_INDEX values tor's own
 * client reported, the walk on synthetic rings (against hand-worked
 * answers and against a naive model), and a live-network-sized ring.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "consensus.h"
#include "ed25519_expanded.h"
#include "encoding.h"
#include "hashring.h"
#include "onion_address.h"
#include "test.h"

#define CONSENSUS_FILE	"tor-0.4.9-testnet/consensus-microdesc.txt"
#define MD_FILE		"tor-0.4.9-testnet/md-all.txt"

/* 2026-11-22 02:48:40 UTC; TP 3740240 ran 02:44:00-02:52:00. */
#define CAPTURE_VALID_AFTER	1795315720
#define CAPTURE_TP		3740240

#define SRV_PREVIOUS \
	"dd11d310e5d5e4057cc915e3b4f56e7a0baaef2704bcdfc73996c8d174003a77"
#define SRV_CURRENT \
	"62d2b7d650bf7b73e5a0316db9c37f557a06a9ae06f7fe602c3909131c1a2804"
/* H("shared-random-disaster" | INT_8(8) | INT_8(tp)), with Python's hashlib. */
#define DISASTER_3740240 \
	"f2dcb8b1ac5eb4f69a3c64f8153786aa9b1a616380a63c86525821c18cd24b0d"
#define DISASTER_3740241 \
	"5f9ff30f11315af3b5cbab83d0885142f7665c1862f4115b68ebe60860a519f6"

/* From r5's "m" line to its HSDir protocol. */
#define R5_PR_LINE "m w2VBvT3GufrGcxRWWf7RcGEtKGwZgdf7ViBoCCeMOdo\n" \
	"s Exit Fast Guard HSDir Running Stable V2Dir Valid\nv Tor 0.4.9.11\n" \
	"pr Conflux=1 Cons=1-2 Desc=1-4 DirCache=2 FlowCtrl=1-2 "

static char *
replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t head;
	char *out;

	if (at == NULL)
		abort();
	head = (size_t)(at - text);
	if ((out = malloc(strlen(text) - strlen(from) + strlen(to) + 1)) == NULL)
		abort();
	memcpy(out, text, head);
	strcpy(out + head, to);
	strcat(out, at + strlen(from));
	return out;
}

/* The captured consensus with up to two edits, and its microdescriptors. */
static struct consensus *
load(const char *from1, const char *to1, const char *from2, const char *to2)
{
	struct consensus *c = NULL;
	struct microdesc_stats st;
	size_t len, mdlen;
	char *text = test_read_data(CONSENSUS_FILE, &len), *md, *t;

	if (from1 != NULL) {
		t = replace(text, from1, to1);
		free(text);
		text = t;
	}
	if (from2 != NULL) {
		t = replace(text, from2, to2);
		free(text);
		text = t;
	}
	CHECK_INT_EQ(consensus_parse(text, strlen(text), &c, NULL),
	    CONSENSUS_OK);
	if (c == NULL)
		abort();
	md = test_read_data(MD_FILE, &mdlen);
	CHECK_INT_EQ(consensus_add_microdescs(c, md, mdlen, &st), 0);
	CHECK_INT_EQ(st.n_relays_with_id, 8);
	free(md);
	free(text);
	return c;
}

static void
check_period(const struct consensus *c, enum hashring_use use, uint64_t tp,
    const char *srv_hex, int disaster)
{
	struct hashring_period p;

	hashring_period_for(c, use, &p);
	CHECK_INT_EQ(p.tp, tp);
	CHECK_INT_EQ(p.length_min, 8);
	CHECK_HEX(p.srv, 32, srv_hex);
	CHECK_INT_EQ(p.srv_is_disaster, disaster);
}

/*
 * At 02:48:40 the SR run began at 02:48:00 and the next TP starts at
 * 02:52:00: the SRV->TP half.
 */
static void
test_periods_at_capture(void)
{
	struct consensus *c = load(NULL, NULL, NULL, NULL);

	CHECK_INT_EQ(hs_time_period_num(&c->period, c->valid_after),
	    CAPTURE_TP);
	CHECK_INT_EQ(hs_in_period_between_tp_and_srv(&c->period,
	    c->valid_after), 0);
	check_period(c, HASHRING_STORE_FIRST, CAPTURE_TP, SRV_PREVIOUS, 0);
	check_period(c, HASHRING_STORE_SECOND, CAPTURE_TP + 1, SRV_CURRENT, 0);
	check_period(c, HASHRING_FETCH, CAPTURE_TP, SRV_PREVIOUS, 0);
	consensus_free(c);
}

/* The same consensus moved to 02:52:40: TP 3740241 began, same SR run. */
static void
test_periods_tp_to_srv(void)
{
	struct consensus *c = load("valid-after 2026-11-22 02:48:40\n"
	    "fresh-until 2026-11-22 02:49:00\nvalid-until 2026-11-22 02:49:20",
	    "valid-after 2026-11-22 02:52:40\nfresh-until 2026-11-22 02:53:00\n"
	    "valid-until 2026-11-22 02:53:20", NULL, NULL);

	CHECK_INT_EQ(hs_in_period_between_tp_and_srv(&c->period,
	    c->valid_after), 1);
	check_period(c, HASHRING_STORE_FIRST, CAPTURE_TP, SRV_PREVIOUS, 0);
	check_period(c, HASHRING_STORE_SECOND, CAPTURE_TP + 1, SRV_CURRENT, 0);
	check_period(c, HASHRING_FETCH, CAPTURE_TP + 1, SRV_CURRENT, 0);
	consensus_free(c);
}

/*
 * Without SRV lines tor uses the disaster SRV of the TP it computes
 * for: store_first_tp for the first descriptor, store_second_tp for the
 * second, the current TP for fetching.
 */
static void
test_periods_disaster(void)
{
	static const char prev[] = "shared-rand-previous-value 3 "
	    "3RHTEOXV5AV8yRXjtPVueguq7ycEvN/HOZbI0XQAOnc=\n";
	static const char cur[] = "shared-rand-current-value 3 "
	    "YtK31lC/e3PloDFtucN/VXoGqa4G9/5gLDkJExwaKAQ=\n";
	struct consensus *c = load(prev, "", cur, "");

	check_period(c, HASHRING_STORE_FIRST, CAPTURE_TP, DISASTER_3740240, 1);
	check_period(c, HASHRING_STORE_SECOND, CAPTURE_TP + 1,
	    DISASTER_3740241, 1);
	check_period(c, HASHRING_FETCH, CAPTURE_TP, DISASTER_3740240, 1);
	consensus_free(c);

	/* Only the current SRV missing: the first descriptor is unaffected. */
	c = load(cur, "", NULL, NULL);
	check_period(c, HASHRING_STORE_FIRST, CAPTURE_TP, SRV_PREVIOUS, 0);
	check_period(c, HASHRING_STORE_SECOND, CAPTURE_TP + 1,
	    DISASTER_3740241, 1);
	consensus_free(c);
}

/* One "650 HS_DESC REQUESTED" event with HSDIR_INDEX. */
struct requested_event {
	char		address[ONION_ADDRESS_LEN + 1];
	uint8_t		rsa_id[RSA_ID_LEN];
	uint8_t		blinded[32];
	uint8_t		hsdir_index[32];
	time_t		when;		/* 0 if the line has no timestamp */
};

static int
parse_requested(const char *line, struct requested_event *ev)
{
	const char *at = strstr(line, "650 HS_DESC REQUESTED ");
	char fp[41], blinded[44], index[65], stamp[20];
	struct tm tm;

	memset(ev, 0, sizeof(*ev));
	if (at == NULL || sscanf(at, "650 HS_DESC REQUESTED %56s NO_AUTH "
	    "$%40[0-9A-F]~%*s %43s HSDIR_INDEX=%64[0-9A-F]", ev->address, fp,
	    blinded, index) != 4)
		return -1;
	if (hex_decode(ev->rsa_id, RSA_ID_LEN, fp, strlen(fp)) < 0 ||
	    hex_decode(ev->hsdir_index, 32, index, strlen(index)) < 0 ||
	    base64_decode(ev->blinded, 32, blinded, strlen(blinded), 0) != 32)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (at != line && sscanf(line, "%19s", stamp) == 1 &&
	    strptime(stamp, "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
		ev->when = timegm(&tm);
	return 0;
}

struct oracle_counts {
	const struct hs_period_params *period;
	size_t	checked;	/* in our TP: index and membership checked */
	size_t	other_tp;	/* blinded for another TP: not comparable */
};

static int
fetch_set_contains(const struct hashring *ring, const uint8_t blinded[32],
    const uint8_t rsa_id[RSA_ID_LEN])
{
	struct hashring_hsdir out[HASHRING_MAX_RESPONSIBLE];
	size_t n, i;

	CHECK_INT_EQ(hashring_responsible(ring, blinded, out,
	    HASHRING_MAX_RESPONSIBLE, &n), HASHRING_OK);
	CHECK_INT_EQ(n, 6);	/* 2 replicas x hsdir_spread_fetch 3 */
	for (i = 0; i < n; i++)
		if (memcmp(out[i].rsa_id, rsa_id, RSA_ID_LEN) == 0)
			return 1;
	return 0;
}

static void
check_event(const struct hashring *fetch, const struct requested_event *ev,
    struct oracle_counts *counts)
{
	const struct hashring_node *node;
	uint8_t pub[32], blinded[32];

	CHECK_INT_EQ(onion_address_to_pubkey(pub, ev->address,
	    strlen(ev->address)), ONION_ADDRESS_OK);
	CHECK_INT_EQ(hs_blind_pubkey(blinded, pub, fetch->period.tp,
	    fetch->period.length_min), 0);
	if (memcmp(blinded, ev->blinded, 32) != 0) {
		/* A timestamped event of another TP must say so too. */
		CHECK(ev->when != 0);
		CHECK(hs_time_period_num(counts->period, ev->when) !=
		    fetch->period.tp);
		counts->other_tp++;
		return;
	}
	node = hashring_find_node(fetch, ev->rsa_id);
	CHECK(node != NULL);
	if (node == NULL)
		return;
	if (memcmp(node->index, ev->hsdir_index, 32) != 0)
		fprintf(stderr, "HSDIR_INDEX of %s differs\n", node->nickname);
	CHECK(memcmp(node->index, ev->hsdir_index, 32) == 0);
	CHECK(fetch_set_contains(fetch, ev->blinded, ev->rsa_id));
	counts->checked++;
}

static void
check_event_file(const struct hashring *fetch, const char *name,
    struct oracle_counts *counts)
{
	struct requested_event ev;
	size_t len;
	char *text = test_read_data(name, &len), *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "HS_DESC REQUESTED") == NULL)
			continue;
		CHECK_INT_EQ(parse_requested(line, &ev), 0);
		check_event(fetch, &ev, counts);
	}
	free(text);
}

/*
 * The oracle: tor's own client (the management tor, fetching for
 * Onionbalance) reported the fetch index of each HSDir it asked, in
 * "HS_DESC REQUESTED ... HSDIR_INDEX=".  An event whose blinded key is
 * the address blinded for our fetch TP was made during that TP (the
 * other events are from 02:33-02:34, TP 3740238, with SRVs this
 * consensus does not carry, and are only counted).  Within one TP the
 * fetch SRV does not change: it is the SRV that appeared half a TP
 * before the TP began (the current SRV from the TP start, the previous
 * one after the next SRV appears).  The relays did not change either.  So
 * for those events tor used exactly our inputs: its index must be ours,
 * and the HSDir it asked must be in our fetch set for that blinded key.
 */
static void
test_oracle_hsdir_index(void)
{
	struct consensus *c = load(NULL, NULL, NULL, NULL);
	struct oracle_counts counts = { &c->period, 0, 0 };
	struct hashring fetch;

	CHECK_INT_EQ(hashring_build(&fetch, c, HASHRING_FETCH,
	    CAPTURE_VALID_AFTER), HASHRING_OK);
	CHECK_INT_EQ(fetch.n_nodes, 8);
	check_event_file(&fetch, "tor-0.4.9-testnet/hsfetch-events-raw.txt",
	    &counts);
	check_event_file(&fetch,
	    "tor-0.4.9-testnet/control-events-examples.txt", &counts);
	CHECK_INT_EQ(counts.checked, 3);
	CHECK_INT_EQ(counts.other_tp, 3);
	hashring_clear(&fetch);
	consensus_free(c);
}

/* In the SRV->TP half tor copies the fetch index into store_first. */
static void
test_store_rings_at_capture(void)
{
	struct consensus *c = load(NULL, NULL, NULL, NULL);
	struct hashring first, second, fetch;
	size_t i;

	CHECK_INT_EQ(hashring_build(&first, c, HASHRING_STORE_FIRST,
	    CAPTURE_VALID_AFTER), HASHRING_OK);
	CHECK_INT_EQ(hashring_build(&second, c, HASHRING_STORE_SECOND,
	    CAPTURE_VALID_AFTER), HASHRING_OK);
	CHECK_INT_EQ(hashring_build(&fetch, c, HASHRING_FETCH,
	    CAPTURE_VALID_AFTER), HASHRING_OK);
	CHECK_INT_EQ(first.spread, 4);
	CHECK_INT_EQ(fetch.spread, 3);
	CHECK_INT_EQ(first.n_replicas, 2);
	for (i = 0; i < first.n_nodes; i++) {
		CHECK(memcmp(first.nodes[i].index, fetch.nodes[i].index,
		    32) == 0);
		CHECK(memcmp(first.nodes[i].index, second.nodes[i].index,
		    32) != 0);
		if (i > 0)
			CHECK(memcmp(first.nodes[i - 1].index,
			    first.nodes[i].index, 32) < 0);
	}
	hashring_clear(&first);
	hashring_clear(&second);
	hashring_clear(&fetch);
	consensus_free(c);
}

static void
test_build_refusals(void)
{
	struct consensus *c = load(NULL, NULL, NULL, NULL), *bare = NULL;
	struct hashring ring;
	size_t len;
	char *text;

	CHECK_INT_EQ(hashring_build(&ring, c, HASHRING_FETCH,
	    c->valid_until + 24 * 3600 + 1), HASHRING_ERR_NOT_LIVE);
	CHECK_INT_EQ(hashring_build(&ring, c, HASHRING_FETCH,
	    c->valid_after - 24 * 3600 - 1), HASHRING_ERR_NOT_LIVE);
	CHECK(ring.nodes == NULL);
	consensus_free(c);
	/* No microdescriptors: no ed25519 ids, no ring (tor has none either). */
	text = test_read_data(CONSENSUS_FILE, &len);
	CHECK_INT_EQ(consensus_parse(text, len, &bare, NULL), CONSENSUS_OK);
	if (bare != NULL)
		CHECK_INT_EQ(hashring_build(&ring, bare, HASHRING_FETCH,
		    CAPTURE_VALID_AFTER), HASHRING_ERR_NO_HSDIRS);
	consensus_free(bare);
	free(text);
	/* Only flagged HSDirs with HSDir=2 count: r6 loses its flag, r5 HSDir=2. */
	c = load("s Exit Fast Guard HSDir Running", "s Exit Fast Guard Running",
	    R5_PR_LINE "HSDir=2", R5_PR_LINE "HSDir=1");
	CHECK_INT_EQ(hashring_build(&ring, c, HASHRING_FETCH,
	    CAPTURE_VALID_AFTER), HASHRING_OK);
	CHECK_INT_EQ(ring.n_nodes, 6);
	CHECK(hashring_find_node(&ring, c->relays[0].rsa_id) == NULL);
	CHECK(hashring_find_node(&ring, c->relays[1].rsa_id) == NULL);
	CHECK(hashring_find_node(&ring, c->relays[2].rsa_id) != NULL);
	hashring_clear(&ring);
	consensus_free(c);
}

/* A synthetic node whose index starts with byte v (the rest zero). */
static struct hashring_node
node_at(uint8_t v, uint8_t id)
{
	struct hashring_node n;

	memset(&n, 0, sizeof(n));
	n.index[0] = v;
	n.rsa_id[0] = id;
	n.nickname[0] = 'n';
	return n;
}

static const struct hashring_period zero_period;

/* Walks a ring of nodes at 10, 20, 30, 40, 50 (ids 1..5). */
static void
check_walk(unsigned int replicas, unsigned int spread, const uint8_t *starts,
    const char *want)
{
	struct hashring_node nodes[5];
	struct hashring ring;
	struct hashring_hsdir out[16];
	uint8_t sidx[3][32];
	char got[32];
	size_t n, i;

	for (i = 0; i < 5; i++)	/* given out of order: init sorts */
		nodes[i] = node_at((uint8_t)(50 - 10 * i), (uint8_t)(5 - i));
	CHECK_INT_EQ(hashring_init_nodes(&ring, &zero_period, replicas, spread,
	    nodes, 5), HASHRING_OK);
	memset(sidx, 0, sizeof(sidx));
	for (i = 0; i < replicas; i++)
		sidx[i][0] = starts[i];
	CHECK_INT_EQ(hashring_walk(&ring, (const uint8_t (*)[32])sidx, out,
	    16, &n), HASHRING_OK);
	for (i = 0; i < n && i < sizeof(got) - 1; i++)
		got[i] = (char)('0' + out[i].rsa_id[0]);
	got[i] = '\0';
	CHECK_STR_EQ(got, want);
	hashring_clear(&ring);
}

static void
test_walk_synthetic(void)
{
	/* Node k (1..5) sits at 10*k; "321" = nodes 3, 2, 1 in that order. */
	check_walk(1, 2, (const uint8_t[]){ 25 }, "34");
	check_walk(1, 1, (const uint8_t[]){ 0 }, "1");
	/* Wraparound past the last node. */
	check_walk(1, 3, (const uint8_t[]){ 45 }, "512");
	check_walk(1, 3, (const uint8_t[]){ 60 }, "123");
	/* An index equal to a node's starts at that node. */
	check_walk(1, 2, (const uint8_t[]){ 30 }, "34");
	/* Replica 2 skips, without counting, what replica 1 chose. */
	check_walk(2, 2, (const uint8_t[]){ 25, 35 }, "3451");
	check_walk(2, 2, (const uint8_t[]){ 25, 25 }, "3451");
	check_walk(3, 1, (const uint8_t[]){ 10, 10, 10 }, "123");
	/* Fewer nodes than replicas x spread: stop after one turn. */
	check_walk(2, 4, (const uint8_t[]){ 25, 5 }, "34512");
	check_walk(3, 4, (const uint8_t[]){ 25, 5, 45 }, "34512");
	check_walk(1, 4, (const uint8_t[]){ 55 }, "1234");
}

static void
test_walk_small_rings(void)
{
	struct hashring_node nodes[2] = { node_at(200, 1), node_at(100, 2) };
	struct hashring ring;
	struct hashring_hsdir out[8];
	uint8_t sidx[2][32] = { { 150 }, { 250 } };
	size_t n;

	/* One node: one HSDir, however many were asked for. */
	CHECK_INT_EQ(hashring_init_nodes(&ring, &zero_period, 2, 4, nodes, 1),
	    HASHRING_OK);
	CHECK_INT_EQ(hashring_walk(&ring, (const uint8_t (*)[32])sidx, out, 1,
	    &n), HASHRING_OK);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(out[0].replica, 1);
	hashring_clear(&ring);
	/* Two nodes, two replicas of spread 1: both, one per replica. */
	CHECK_INT_EQ(hashring_init_nodes(&ring, &zero_period, 2, 1, nodes, 2),
	    HASHRING_OK);
	CHECK_INT_EQ(hashring_walk(&ring, (const uint8_t (*)[32])sidx, out, 2,
	    &n), HASHRING_OK);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(out[0].rsa_id[0], 1);
	CHECK_INT_EQ(out[1].rsa_id[0], 2);	/* 250 wraps to 100 */
	CHECK_INT_EQ(out[1].replica, 2);
	CHECK_STR_EQ(out[1].fingerprint,
	    "0200000000000000000000000000000000000000");
	/* The output array must hold the answer. */
	CHECK_INT_EQ(hashring_walk(&ring, (const uint8_t (*)[32])sidx, out, 1,
	    &n), HASHRING_ERR_OUTPUT_TOO_SMALL);
	hashring_clear(&ring);
	CHECK_INT_EQ(hashring_init_nodes(&ring, &zero_period, 0, 1, nodes, 2),
	    HASHRING_ERR_INVALID_ARGUMENT);
	CHECK_INT_EQ(hashring_init_nodes(&ring, &zero_period, 1, 129, nodes,
	    2), HASHRING_ERR_INVALID_ARGUMENT);
	CHECK_INT_EQ(hashring_init_nodes(&ring, &zero_period, 1, 1, nodes, 0),
	    HASHRING_ERR_NO_HSDIRS);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
rng_bytes(uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = (uint8_t)rng_next();
}

/*
 * The model: the spec's words done the slow way.  For each replica, list
 * the ring once around from the first node at or after hs_index, and
 * take the first `spread` nodes no replica has taken yet.
 */
static size_t
model_walk(const struct hashring_node *sorted, size_t n,
    uint8_t (*sidx)[32], unsigned int replicas, unsigned int spread,
    size_t *out)
{
	uint8_t *taken = calloc(n, 1);
	size_t nout = 0, start, step, i;
	unsigned int r, added;

	if (taken == NULL)
		abort();

	for (r = 0; r < replicas; r++) {
		for (start = 0; start < n; start++)
			if (memcmp(sorted[start].index, sidx[r], 32) >= 0)
				break;
		start %= n;
		for (step = 0, added = 0; step < n && added < spread; step++) {
			i = (start + step) % n;
			if (!taken[i]) {
				taken[i] = 1;
				out[nout++] = i;
				added++;
			}
		}
	}
	free(taken);
	return nout;
}

static void
test_walk_model(void)
{
	struct hashring_node nodes[64];
	struct hashring ring;
	struct hashring_hsdir out[64];
	uint8_t sidx[3][32];
	size_t want[64], n, nwant, size, i, trial;
	unsigned int replicas, spread;

	for (trial = 0; trial < 2000; trial++) {
		size = 1 + rng_next() % 40;
		replicas = 1 + (unsigned int)(rng_next() % 3);
		spread = 1 + (unsigned int)(rng_next() % 4);
		for (i = 0; i < size; i++) {
			memset(&nodes[i], 0, sizeof(nodes[i]));
			rng_bytes(nodes[i].index, 32);
			/* Close indexes make the lower bound work harder. */
			if (rng_next() % 2)
				nodes[i].index[0] = (uint8_t)(rng_next() % 4);
			nodes[i].rsa_id[0] = (uint8_t)i;
		}
		rng_bytes(&sidx[0][0], sizeof(sidx));
		for (i = 0; i < 3 && rng_next() % 2; i++)	/* hit a node exactly */
			memcpy(sidx[i], nodes[rng_next() % size].index, 32);
		CHECK_INT_EQ(hashring_init_nodes(&ring, &zero_period, replicas,
		    spread, nodes, size), HASHRING_OK);
		CHECK_INT_EQ(hashring_walk(&ring, (const uint8_t (*)[32])sidx,
		    out, 64, &n), HASHRING_OK);
		nwant = model_walk(ring.nodes, ring.n_nodes, sidx, replicas,
		    spread, want);
		CHECK_INT_EQ(n, nwant);
		for (i = 0; i < n && i < nwant; i++)
			CHECK_INT_EQ(out[i].position, want[i]);
		hashring_clear(&ring);
	}
}

/* A consensus entry and microdescriptor for synthetic relay i. */
static void
synthetic_relay(char **cons, size_t *clen, char **mds, size_t *mlen,
    uint32_t i)
{
	uint8_t rsa_id[RSA_ID_LEN] = { 0 }, ed[32], digest[32];
	char id64[64], ed64[64], md64[64], md[256], entry[512];
	int n;

	put_u32_be(rsa_id, i + 1);	/* entries in identity order */
	crypto_hash_sha256(ed, rsa_id, sizeof(rsa_id));
	if (base64_encode(id64, sizeof(id64), rsa_id, RSA_ID_LEN, 0) < 0 ||
	    base64_encode(ed64, sizeof(ed64), ed, 32, 0) < 0)
		abort();
	n = snprintf(md, sizeof(md), "onion-key\nntor-onion-key "
	    "r+Mz3sGvoVUEbG76eb2LvEjHTPsWM8z/DGmtkX5tMDg\nid ed25519 %s\n",
	    ed64);
	crypto_hash_sha256(digest, (const unsigned char *)md, (size_t)n);
	if (base64_encode(md64, sizeof(md64), digest, 32, 0) < 0)
		abort();
	snprintf(entry, sizeof(entry), "r relay%u %s 2038-01-01 00:00:00 "
	    "10.0.0.1 9001 0\nm %s\ns Fast %sRunning Valid\nv Tor 0.4.9.11\n"
	    "pr HSDir=2 Link=4-5\nw Bandwidth=100\n", i, id64, md64,
	    i % 2 == 0 ? "HSDir " : "");
	memcpy(*cons + *clen, entry, strlen(entry));
	*clen += strlen(entry);
	memcpy(*mds + *mlen, md, (size_t)n);
	*mlen += (size_t)n;
}

/*
 * The live network's size: 8000 relays, 4000 HSDirs, and params as the
 * live consensus has them.  Must be quick, and agree with the model.
 */
static void
test_live_sized_ring(void)
{
	const uint32_t nrelays = 8000;
	static const char header[] = "network-status-version 3 microdesc\n"
	    "vote-status consensus\nvalid-after 2026-11-22 12:00:00\n"
	    "fresh-until 2026-11-22 13:00:00\nvalid-until 2026-11-22 15:00:00\n"
	    "params hsdir_n_replicas=2 hsdir_spread_fetch=3 "
	    "hsdir_spread_store=4\n";
	static const char footer[] = "directory-footer\n"
	    "directory-signature sha256 AA BB\n";
	struct hashring_hsdir out[HASHRING_MAX_RESPONSIBLE];
	struct microdesc_stats st;
	struct consensus *c = NULL;
	struct hashring ring;
	uint8_t blinded[32], sidx[2][32];
	size_t clen, mlen = 0, n, want[HASHRING_MAX_RESPONSIBLE], i;
	char *cons = malloc(nrelays * 512 + 1024), *mds = malloc(nrelays * 256);
	clock_t t0 = clock();
	uint32_t r;

	if (cons == NULL || mds == NULL)
		abort();
	memcpy(cons, header, sizeof(header) - 1);
	clen = sizeof(header) - 1;
	for (r = 0; r < nrelays; r++)
		synthetic_relay(&cons, &clen, &mds, &mlen, r);
	memcpy(cons + clen, footer, sizeof(footer) - 1);
	clen += sizeof(footer) - 1;
	CHECK_INT_EQ(consensus_parse(cons, clen, &c, NULL), CONSENSUS_OK);
	if (c == NULL)
		abort();
	CHECK_INT_EQ(c->n_relays, nrelays);
	CHECK_INT_EQ(c->period.length_min, 1440);
	CHECK_INT_EQ(consensus_add_microdescs(c, mds, mlen, &st), 0);
	CHECK_INT_EQ(st.n_matched, nrelays);
	CHECK_INT_EQ(st.n_relays_with_id, nrelays);
	CHECK_INT_EQ(hashring_build(&ring, c, HASHRING_STORE_SECOND,
	    c->valid_after), HASHRING_OK);
	CHECK_INT_EQ(ring.n_nodes, nrelays / 2);
	memset(blinded, 0x42, sizeof(blinded));
	CHECK_INT_EQ(hashring_responsible(&ring, blinded, out,
	    HASHRING_MAX_RESPONSIBLE, &n), HASHRING_OK);
	CHECK_INT_EQ(n, 8);
	for (i = 0; i < 2; i++)
		hs_service_index(sidx[i], blinded, i + 1, 1440, ring.period.tp);
	CHECK_INT_EQ(model_walk(ring.nodes, ring.n_nodes, sidx, 2, 4, want), 8);
	for (i = 0; i < n; i++)
		CHECK_INT_EQ(out[i].position, want[i]);
	CHECK(clock() - t0 < 5 * CLOCKS_PER_SEC);
	hashring_clear(&ring);
	consensus_free(c);
	free(cons);
	free(mds);
}

static void
test_strerror(void)
{
	int e;

	for (e = 0; e < HASHRING_ERR_MAX_; e++)
		CHECK(strcmp(hashring_strerror((enum hashring_error)e),
		    "unknown error") != 0);
}

static void
init(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		test_failures++;
	}
}

TEST_MAIN(
	TEST_CASE(init),
	TEST_CASE(test_periods_at_capture),
	TEST_CASE(test_periods_tp_to_srv),
	TEST_CASE(test_periods_disaster),
	TEST_CASE(test_oracle_hsdir_index),
	TEST_CASE(test_store_rings_at_capture),
	TEST_CASE(test_build_refusals),
	TEST_CASE(test_walk_synthetic),
	TEST_CASE(test_walk_small_rings),
	TEST_CASE(test_walk_model),
	TEST_CASE(test_live_sized_ring),
	TEST_CASE(test_strerror),
)

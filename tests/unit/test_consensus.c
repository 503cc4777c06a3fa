/*
 * Consensus and microdescriptor parsing, on the documents a tor 0.4.9
 * test network handed out (tests/data/tor-0.4.9-testnet), on variants of
 * them that tor would reject, and on the two small grammars (protocol
 * lists, Tor versions) whose rules come from tor's protover.c and
 * versions.c.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consensus.h"
#include "consensus_private.h"
#include "test.h"

/*
 * The first occurrence of this is in r6's "pr" line (the header's
 * protocol lines differ after HSIntro).
 */
#define R6_HSDIR	"HSDir=2 HSIntro=4-5 HSRend=1-2"

#define CONSENSUS_FILE	"tor-0.4.9-testnet/consensus-microdesc.txt"
#define MD_FILE		"tor-0.4.9-testnet/md-all.txt"

/* 2026-11-22 02:48:40 / 02:49:00 / 02:49:20 UTC, checked with date -u. */
#define CAPTURE_VALID_AFTER	1795315720
#define CAPTURE_FRESH_UNTIL	1795315740
#define CAPTURE_VALID_UNTIL	1795315760

/* The text with the first occurrence of from replaced; aborts if absent. */
static char *
replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t head, n;
	char *out;

	if (at == NULL) {
		fprintf(stderr, "replace: \"%s\" not in the text\n", from);
		abort();
	}
	head = (size_t)(at - text);
	n = strlen(text) - strlen(from) + strlen(to);
	if ((out = malloc(n + 1)) == NULL)
		abort();
	memcpy(out, text, head);
	memcpy(out + head, to, strlen(to));
	strcpy(out + head + strlen(to), at + strlen(from));
	return out;
}

static struct consensus *
parse_captured(void)
{
	struct consensus *c = NULL;
	size_t len;
	char *text = test_read_data(CONSENSUS_FILE, &len);

	CHECK_INT_EQ(consensus_parse(text, len, &c, NULL), CONSENSUS_OK);
	free(text);
	if (c == NULL)
		abort();
	return c;
}

/* Parses a variant of the captured consensus, expecting err. */
static void
check_variant(const char *from, const char *to, enum consensus_error want)
{
	struct consensus *c = NULL;
	struct consensus_diag diag;
	size_t len;
	char *text = test_read_data(CONSENSUS_FILE, &len), *v;
	enum consensus_error err;

	v = replace(text, from, to);
	err = consensus_parse(v, strlen(v), &c, &diag);
	if (err != want)
		fprintf(stderr, "variant \"%s\" -> \"%s\": %s (line %zu %s)\n",
		    from, to, consensus_strerror(err), diag.line, diag.keyword);
	CHECK_INT_EQ(err, want);
	CHECK(want == CONSENSUS_OK ? c != NULL : c == NULL);
	consensus_free(c);
	free(v);
	free(text);
}

/* The variant must parse; returns it for further checks. */
static struct consensus *
parse_variant(const char *from, const char *to)
{
	struct consensus *c = NULL;
	size_t len;
	char *text = test_read_data(CONSENSUS_FILE, &len), *v;

	v = replace(text, from, to);
	CHECK_INT_EQ(consensus_parse(v, strlen(v), &c, NULL), CONSENSUS_OK);
	free(v);
	free(text);
	if (c == NULL)
		abort();
	return c;
}

static const struct consensus_relay *
relay_by_nick(const struct consensus *c, const char *nick)
{
	size_t i;

	for (i = 0; i < c->n_relays; i++)
		if (strcmp(c->relays[i].nickname, nick) == 0)
			return &c->relays[i];
	return NULL;
}

static void
test_captured_header(void)
{
	struct consensus *c = parse_captured();

	CHECK_INT_EQ(c->valid_after, CAPTURE_VALID_AFTER);
	CHECK_INT_EQ(c->fresh_until, CAPTURE_FRESH_UNTIL);
	CHECK_INT_EQ(c->valid_until, CAPTURE_VALID_UNTIL);
	CHECK(c->has_srv_previous && c->has_srv_current);
	CHECK_HEX(c->srv_previous, 32,
	    "dd11d310e5d5e4057cc915e3b4f56e7a0baaef2704bcdfc73996c8d174003a77");
	CHECK_HEX(c->srv_current, 32,
	    "62d2b7d650bf7b73e5a0316db9c37f557a06a9ae06f7fe602c3909131c1a2804");
	/* No params line: tor's defaults. */
	CHECK_INT_EQ(c->params.hsdir_n_replicas, 2);
	CHECK_INT_EQ(c->params.hsdir_spread_store, 4);
	CHECK_INT_EQ(c->params.hsdir_spread_fetch, 3);
	CHECK_INT_EQ(c->params.hsv3_max_descriptor_size, 50000);
	CHECK_INT_EQ(c->params.cc_sendme_inc, 31);
	CHECK_INT_EQ(c->params.hsdir_interval, 0);
	/* Voting interval 20 s: periods of 8 min, offset 4 min. */
	CHECK_INT_EQ(c->period.voting_interval_s, 20);
	CHECK_INT_EQ(c->period.length_min, 8);
	CHECK_INT_EQ(c->period.offset_min, 4);
	consensus_free(c);
}

static void
test_captured_relays(void)
{
	struct consensus *c = parse_captured();
	const struct consensus_relay *r6;
	uint8_t id[RSA_ID_LEN];
	size_t i;

	CHECK_INT_EQ(c->n_relays, 8);
	for (i = 0; i < c->n_relays; i++) {
		CHECK(c->relays[i].is_hsdir);
		CHECK(c->relays[i].supports_hsdir_v3);
		CHECK(c->relays[i].has_md_digest);
		CHECK(!c->relays[i].has_ed25519_id);
	}
	r6 = relay_by_nick(c, "r6");
	CHECK(r6 != NULL);
	if (r6 != NULL) {
		CHECK_HEX(r6->rsa_id, RSA_ID_LEN,
		    "1ddc42dadeb7938d572e08db959d65da89ee836e");
		CHECK_HEX(r6->md_digest, MD_DIGEST_LEN,
		    "0cfe8e842f9b4ef9016b63424572c158"
		    "cfff72fad8704206ac1278e000110cde");
	}
	test_unhex(id, sizeof(id), "1DDC42DADEB7938D572E08DB959D65DA89EE836E");
	CHECK(consensus_find_relay(c, id) == r6);
	id[19] ^= 1;
	CHECK(consensus_find_relay(c, id) == NULL);
	consensus_free(c);
}

/* The ed25519 ids, found with Python from md-all.txt and the "m" lines. */
static const struct {
	const char	*nick;
	const char	*ed25519;
} captured_ids[] = {
	{ "r6", "70e217fcb33f1b6591f3382d92a6fd015d8a2ead9d392e37d880c0fed7abff2a" },
	{ "r5", "0f65088a3b015e7bb0f3203c688c0820ba7bfbec268f4b6a5392cab7ae8f2ef4" },
	{ "r3", "d083bb4644073969f1edb33a05e38647a5e5ac1a35a5bf663bc9e5bb27c06a90" },
	{ "r7", "e72b6566fa5ea2f2add739d4bcb56e6c4c8fb23973bcaf632a85ab1f4ab18431" },
	{ "r4", "9c2e93e57ce0e0cac4f9732051a83eb50359e74f6c15b7852dcb40bd51753a70" },
	{ "a2", "28570e10ddde44183334b7e1c1f68652574963af405a45f84a0fa368c4a67c9a" },
	{ "a0", "83215daad125fda8037d306baec22885fe489f4d7434df3280fa5c0865ef27cf" },
	{ "a1", "32512536ba08e9a89bca5e39671f8cc0ff9a6950f33b7f2d5288e3841e9b4331" },
};

static void
test_captured_microdescs(void)
{
	struct consensus *c = parse_captured();
	const struct consensus_relay *r;
	struct microdesc_stats st;
	size_t len, i;
	char *text = test_read_data(MD_FILE, &len);

	CHECK_INT_EQ(consensus_add_microdescs(c, text, len, &st), 0);
	CHECK_INT_EQ(st.n_microdescs, 8);
	CHECK_INT_EQ(st.n_matched, 8);
	CHECK_INT_EQ(st.n_unmatched, 0);
	CHECK_INT_EQ(st.n_without_id, 0);
	CHECK_INT_EQ(st.n_malformed, 0);
	CHECK_INT_EQ(st.n_relays_with_id, 8);
	for (i = 0; i < sizeof(captured_ids) / sizeof(captured_ids[0]); i++) {
		r = relay_by_nick(c, captured_ids[i].nick);
		CHECK(r != NULL && r->has_ed25519_id);
		if (r != NULL)
			CHECK_HEX(r->ed25519_id, 32, captured_ids[i].ed25519);
	}
	consensus_free(c);
	free(text);
}

/*
 * The recipe's gotcha 3: without the final newline (what stem returns)
 * the last microdescriptor hashes differently and its relay is lost.
 */
static void
test_microdescs_final_newline(void)
{
	struct consensus *c = parse_captured();
	struct microdesc_stats st;
	size_t len;
	char *text = test_read_data(MD_FILE, &len);

	CHECK(len > 0 && text[len - 1] == '\n');
	CHECK_INT_EQ(consensus_add_microdescs(c, text, len - 1, &st), 0);
	CHECK_INT_EQ(st.n_microdescs, 8);
	CHECK_INT_EQ(st.n_matched, 7);
	CHECK_INT_EQ(st.n_unmatched, 1);
	CHECK_INT_EQ(st.n_relays_with_id, 7);
	consensus_free(c);
	free(text);
}

#define TWO_IDS	"onion-key\n" \
	"id ed25519 KFcOEN3eRBgzNLfhwfaGUldJY69AWkX4Sg+jaMSmfJo\n" \
	"id ed25519 KFcOEN3eRBgzNLfhwfaGUldJY69AWkX4Sg+jaMSmfJo\n"

/* Microdescriptors that match but whose id tor would not use. */
static void
test_microdescs_bad_ids(void)
{
	static const char *const bodies[] = {
		"onion-key\nntor-onion-key x\n",		/* no id */
		"onion-key\nid ed25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", /* zero */
		TWO_IDS,
		"onion-key\nid ed25519 KFcOEN3eRBgzNLfhwfaGUldJY69AWkX4Sg+jaMSmfJ\n",
		"onion-key\nid ed25519\n",
		"onion-key\nid rsa1024 abc\nid ed25519 KFcOEN3eRBgzNLfhwfaGUldJY69AWkX4Sg+jaMSmfJo\n",
	};
	static const int want_id[] = { 0, 0, 0, 0, 0, 1 };
	struct consensus c;
	struct consensus_relay relay;
	struct microdesc_stats st;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		memset(&c, 0, sizeof(c));
		memset(&relay, 0, sizeof(relay));
		crypto_hash_sha256(relay.md_digest,
		    (const unsigned char *)bodies[i], strlen(bodies[i]));
		relay.has_md_digest = 1;
		c.relays = &relay;
		c.n_relays = 1;
		CHECK_INT_EQ(consensus_add_microdescs(&c, bodies[i],
		    strlen(bodies[i]), &st), 0);
		CHECK_INT_EQ(st.n_matched, 1);
		CHECK_INT_EQ(relay.has_ed25519_id, want_id[i]);
		CHECK_INT_EQ(st.n_without_id + st.n_malformed, !want_id[i]);
	}
	memset(&c, 0, sizeof(c));
	CHECK_INT_EQ(consensus_add_microdescs(&c, "garbage\n", 8, &st), -1);
	CHECK_INT_EQ(consensus_add_microdescs(&c, "onion-key\0\n", 11, &st),
	    -1);
	CHECK_INT_EQ(consensus_add_microdescs(&c, "", 0, &st), 0);
	CHECK_INT_EQ(st.n_microdescs, 0);
}

static void
test_liveness(void)
{
	struct consensus *c = parse_captured();
	const time_t day = 24 * 60 * 60;

	CHECK(consensus_is_reasonably_live(c, CAPTURE_VALID_AFTER));
	CHECK(consensus_is_reasonably_live(c, CAPTURE_VALID_AFTER - day));
	CHECK(!consensus_is_reasonably_live(c, CAPTURE_VALID_AFTER - day - 1));
	CHECK(consensus_is_reasonably_live(c, CAPTURE_VALID_UNTIL + day));
	CHECK(!consensus_is_reasonably_live(c, CAPTURE_VALID_UNTIL + day + 1));
	consensus_free(c);
}

static void
test_params(void)
{
	struct consensus *c;

	/* Out-of-range values are clamped as networkstatus_get_param does. */
	c = parse_variant("known-flags ",
	    "params HSV3MaxDescriptorSize=0 cc_sendme_inc=300 "
	    "hsdir_interval=10 hsdir_n_replicas=3 hsdir_spread_fetch=-5 "
	    "hsdir_spread_store=200 zzz=1\nknown-flags ");
	CHECK_INT_EQ(c->params.hsv3_max_descriptor_size, 1);
	CHECK_INT_EQ(c->params.cc_sendme_inc, 255);
	CHECK_INT_EQ(c->params.hsdir_interval, 30);
	CHECK_INT_EQ(c->params.hsdir_n_replicas, 3);
	CHECK_INT_EQ(c->params.hsdir_spread_fetch, 1);
	CHECK_INT_EQ(c->params.hsdir_spread_store, 128);
	CHECK_INT_EQ(c->period.length_min, 30);
	consensus_free(c);

	c = parse_variant("known-flags ",
	    "params hsdir_interval=1440 hsdir_spread_store=3\nknown-flags ");
	CHECK_INT_EQ(c->params.hsdir_interval, 1440);
	CHECK_INT_EQ(c->params.hsdir_spread_store, 3);
	CHECK_INT_EQ(c->params.hsdir_n_replicas, 2);
	CHECK_INT_EQ(c->period.length_min, 1440);
	consensus_free(c);

	check_variant("known-flags ", "params b=1 a=2\nknown-flags ",
	    CONSENSUS_ERR_PARAMS_ORDER);
	check_variant("known-flags ", "params a=1 a=2\nknown-flags ",
	    CONSENSUS_ERR_PARAMS_ORDER);
	check_variant("known-flags ", "params a=x\nknown-flags ",
	    CONSENSUS_ERR_PARAMS);
	check_variant("known-flags ", "params a\nknown-flags ",
	    CONSENSUS_ERR_PARAMS);
	check_variant("known-flags ", "params a=2147483648\nknown-flags ",
	    CONSENSUS_ERR_PARAMS);
	check_variant("known-flags ", "params a=\nknown-flags ",
	    CONSENSUS_ERR_PARAMS);
	check_variant("known-flags ", "params a=-2147483648\nknown-flags ",
	    CONSENSUS_OK);
	check_variant("known-flags ", "params\nknown-flags ", CONSENSUS_OK);
}

static void
test_srv_lines(void)
{
	struct consensus *c;

	/* A bad value makes tor ignore that SRV (disaster fallback). */
	c = parse_variant("YtK31lC/e3PloDFtucN/VXoGqa4G9/5gLDkJExwaKAQ=",
	    "YtK31lC/e3PloDFtucN/VXoGqa4G9/5gLDkJExwaKA");
	CHECK(!c->has_srv_current && c->has_srv_previous);
	consensus_free(c);
	c = parse_variant("shared-rand-previous-value 3 ",
	    "shared-rand-previous-value x ");
	CHECK(c->has_srv_current && !c->has_srv_previous);
	consensus_free(c);
	c = parse_variant("shared-rand-previous-value 3 "
	    "3RHTEOXV5AV8yRXjtPVueguq7ycEvN/HOZbI0XQAOnc=\n", "");
	CHECK(c->has_srv_current && !c->has_srv_previous);
	consensus_free(c);
	/* A wrong argument count fails tor's tokenizer: the whole document. */
	check_variant("shared-rand-current-value 3 ",
	    "shared-rand-current-value 3 4 ", CONSENSUS_ERR_FIELD_ARGS);
	check_variant("shared-rand-current-value 3 YtK",
	    "shared-rand-current-value YtK", CONSENSUS_ERR_FIELD_ARGS);
}

static void
test_header_errors(void)
{
	check_variant("network-status-version 3 microdesc",
	    "network-status-version 3", CONSENSUS_ERR_VERSION);
	check_variant("network-status-version 3 microdesc",
	    "network-status-version 4 microdesc", CONSENSUS_ERR_VERSION);
	check_variant("network-status-version 3 microdesc\n", "",
	    CONSENSUS_ERR_VERSION);
	check_variant("vote-status consensus", "vote-status vote",
	    CONSENSUS_ERR_VOTE_STATUS);
	check_variant("vote-status consensus\n", "",
	    CONSENSUS_ERR_FIELD_MISSING);
	check_variant("valid-after 2026-11-22 02:48:40\n", "",
	    CONSENSUS_ERR_FIELD_MISSING);
	check_variant("fresh-until", "fresh-until 2026-11-22 02:49:00\n"
	    "fresh-until", CONSENSUS_ERR_FIELD_DUPLICATED);
	check_variant("02:48:40", "02:48:61", CONSENSUS_ERR_TIME);
	check_variant("2026-11-22 02:48:40", "2026-13-22 02:48:40",
	    CONSENSUS_ERR_TIME);
	check_variant("2026-11-22 02:48:40", "2026-11-22  02:48:40",
	    CONSENSUS_ERR_TIME);
	check_variant("2026-11-22 02:48:40", "1969-11-22 02:48:40",
	    CONSENSUS_ERR_TIME);
	check_variant("fresh-until 2026-11-22 02:49:00",
	    "fresh-until 2026-11-22 02:48:40", CONSENSUS_ERR_INTERVALS);
	check_variant("valid-until 2026-11-22 02:49:20",
	    "valid-until 2026-11-22 02:48:59", CONSENSUS_ERR_INTERVALS);
	/* A voting interval below 10 s is absurd (hs_period_params_init). */
	check_variant("fresh-until 2026-11-22 02:49:00",
	    "fresh-until 2026-11-22 02:48:45", CONSENSUS_ERR_INTERVALS);
}

static void
test_entry_errors(void)
{
	check_variant("r r6 HdxC2t63k41XLgjblZ1l2onug24 2038-01-01 00:00:00 "
	    "127.0.0.1 15006 0", "r r6 HdxC2t63k41XLgjblZ1l2onug24 "
	    "2038-01-01 00:00:00 127.0.0.1 15006", CONSENSUS_ERR_ROUTER_ARGS);
	check_variant("r r6 ", "r r6_x ", CONSENSUS_ERR_NICKNAME);
	check_variant("r r6 ", "r r6456789012345678901 ",
	    CONSENSUS_ERR_NICKNAME);
	check_variant("HdxC2t63k41XLgjblZ1l2onug24", "HdxC2t63k41XLgjblZ1l2onug2",
	    CONSENSUS_ERR_IDENTITY);
	check_variant("m DP6OhC+bTvkBa2NCRXLBWM//cvrYcEIGrBJ44AARDN4",
	    "m DP6OhC+bTvkBa2NCRXLBWM//cvrYcEIGrBJ44AARDN", CONSENSUS_ERR_MD_DIGEST);
	check_variant(R6_HSDIR, "HSDir=2, HSIntro=4-5 HSRend=1-2",
	    CONSENSUS_ERR_PROTOCOLS);
	check_variant("v Tor 0.4.9.11\npr Conflux=1 ", "v Tor 0.4.9.11\n",
	    CONSENSUS_ERR_FIELD_MISSING);
	check_variant("s Exit Fast Guard HSDir", "s Exit\ns Fast Guard HSDir",
	    CONSENSUS_ERR_FIELD_DUPLICATED);
	check_variant("v Tor 0.4.9.11\n", "v Tor 0.4.9.11\nv Tor 0.4.9.11\n",
	    CONSENSUS_ERR_FIELD_DUPLICATED);
	/* r5 before r6 breaks the identity order (65... < 1D... reversed). */
	check_variant("r r6 HdxC2t63k41XLgjblZ1l2onug24",
	    "r r6 Zbq/aRxMwr3wfQYoME1xvwAjOpo", CONSENSUS_ERR_NOT_SORTED);
	check_variant("directory-footer\n", "", CONSENSUS_ERR_NO_FOOTER);
	/* Unknown keywords are ignored, as tor ignores them. */
	check_variant("w Bandwidth=131", "future-thing 1 2 3\nw Bandwidth=131",
	    CONSENSUS_OK);
}

static void
test_entry_hsdir_support(void)
{
	struct consensus *c;
	const struct consensus_relay *r;

	c = parse_variant("s Exit Fast Guard HSDir Running",
	    "s Exit Fast Guard Running");
	r = relay_by_nick(c, "r6");
	CHECK(r != NULL && !r->is_hsdir && r->supports_hsdir_v3);
	consensus_free(c);

	c = parse_variant(R6_HSDIR, "HSDir=1 HSIntro=4-5 HSRend=1-2");
	r = relay_by_nick(c, "r6");
	CHECK(r != NULL && r->is_hsdir && !r->supports_hsdir_v3);
	consensus_free(c);

	c = parse_variant(R6_HSDIR, "HSDir=1-2 HSIntro=4-5 HSRend=1-2");
	r = relay_by_nick(c, "r6");
	CHECK(r != NULL && r->supports_hsdir_v3);
	consensus_free(c);

	/* tor bug #22447: versions before 0.3.0.8 do not count. */
	c = parse_variant("v Tor 0.4.9.11", "v Tor 0.3.0.7");
	r = relay_by_nick(c, "r6");
	CHECK(r != NULL && !r->supports_hsdir_v3);
	consensus_free(c);
	c = parse_variant("v Tor 0.4.9.11", "v Tor 0.3.0.8");
	r = relay_by_nick(c, "r6");
	CHECK(r != NULL && r->supports_hsdir_v3);
	consensus_free(c);
	c = parse_variant("v Tor 0.4.9.11\n", "");
	r = relay_by_nick(c, "r6");
	CHECK(r != NULL && r->supports_hsdir_v3);
	consensus_free(c);
}

static void
test_document_limits(void)
{
	struct consensus *c = NULL;
	struct consensus_diag diag;
	size_t len;
	char *text = test_read_data(CONSENSUS_FILE, &len), *big;

	/* Truncated after the footer line, or inside the entries. */
	CHECK_INT_EQ(consensus_parse(text, (size_t)(strstr(text,
	    "directory-footer\n") - text) + 17, &c, &diag),
	    CONSENSUS_ERR_NO_FOOTER);
	CHECK_INT_EQ(consensus_parse(text, (size_t)(strstr(text, "r a1 ") -
	    text), &c, &diag), CONSENSUS_ERR_NO_FOOTER);
	CHECK(c == NULL);
	text[100] = '\0';
	CHECK_INT_EQ(consensus_parse(text, len, &c, &diag), CONSENSUS_ERR_NUL);
	CHECK(c == NULL);
	free(text);

	big = malloc(CONSENSUS_MAX_LINE + 64);
	if (big == NULL)
		abort();
	memset(big, 'a', CONSENSUS_MAX_LINE + 64);
	memcpy(big, "network-status-version 3 microdesc\nx ", 37);
	CHECK_INT_EQ(consensus_parse(big, CONSENSUS_MAX_LINE + 64, &c, &diag),
	    CONSENSUS_ERR_LINE_TOO_LONG);
	CHECK_INT_EQ(diag.line, 2);
	CHECK_INT_EQ(consensus_parse(big, (size_t)CONSENSUS_MAX_SIZE + 1, &c,
	    &diag), CONSENSUS_ERR_TOO_LARGE);
	free(big);
	CHECK_INT_EQ(consensus_parse("", 0, &c, &diag), CONSENSUS_ERR_VERSION);
}

static void
test_protover(void)
{
	static const struct {
		const char	*list;
		int		 want;	/* HSDir=2 */
	} cases[] = {
		{ "HSDir=2", 1 },
		{ "HSDir=1-2", 1 },
		{ "HSDir=1,2", 1 },
		{ "HSDir=1,3", 0 },
		{ "HSDir=0-63", 1 },
		{ "HSDir=02", 1 },
		{ "Link=1-5  HSDir=2", 1 },		/* spaces are skipped */
		{ "HSDir=", 0 },			/* no versions is valid */
		{ "Conflux= HSDir=2", 1 },
		{ "hsdir=2", 0 },			/* names are case-sensitive */
		{ "HSDir=1 HSDir=2", 0 },		/* the first entry counts */
		{ "HSDir=2 HSDir=1", 1 },
		{ "", 0 },
		{ "HSDir=3-1", -1 },
		{ "HSDir=64", -1 },
		{ "HSDir=1,", -1 },
		{ "HSDir=,1", -1 },
		{ "HSDir=1-2-3", -1 },
		{ "HSDir=-2", -1 },
		{ "HSDir=2a", -1 },
		{ "=2", -1 },
		{ "HS_Dir=2", -1 },
		{ "HSDir", -1 },
		{ "HSDir=2\tLink=1", -1 },
		{ "Link=99999999999999999999 HSDir=2", -1 },
	};
	size_t i;
	int got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = protover_list_supports(cases[i].list,
		    strlen(cases[i].list), "HSDir", 2);
		if (got != cases[i].want)
			fprintf(stderr, "protover \"%s\": %d\n", cases[i].list,
			    got);
		CHECK_INT_EQ(got, cases[i].want);
	}
	CHECK_INT_EQ(protover_list_supports("HSDir=0-63", 10, "HSDir", 64), 0);
	CHECK_INT_EQ(protover_list_supports("HSDir=63", 8, "HSDir", 63), 1);
}

static void
test_tor_version(void)
{
	static const struct {
		const char	*v;
		int		 want;	/* >= 0.3.0.8 */
	} cases[] = {
		{ "Tor 0.4.9.11", 1 },
		{ "Tor 0.3.0.8", 1 },
		{ "Tor 0.3.0.7", 0 },
		{ "Tor 0.3.0.8-rc", 1 },		/* same numbers, a tag */
		{ "Tor 0.3.0.7-dev (git-0123456789abcdef)", 0 },
		{ "Tor 0.3.0rc8", 0 },			/* rc sorts before release */
		{ "Tor 0.3.1", 1 },
		{ "Tor 0.3.0", 0 },
		{ "Tor 0.2.9.15", 0 },
		{ "Tor 1.0", 1 },
		{ "Tor 0.3.0-alpha", 0 },
		{ "Tor junk", 1 },			/* unparseable: tor says yes */
		{ "Tor 0.3", 0 },
		{ "Arti 1.0", 1 },			/* not "Tor ": yes */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (tor_version_at_least(cases[i].v, strlen(cases[i].v),
		    0, 3, 0, 8) != cases[i].want)
			fprintf(stderr, "version \"%s\"\n", cases[i].v);
		CHECK_INT_EQ(tor_version_at_least(cases[i].v,
		    strlen(cases[i].v), 0, 3, 0, 8), cases[i].want);
	}
}

static void
test_parse_time(void)
{
	struct text_ref s;
	time_t t;

	s.ptr = "2016-04-13 11:15:01";
	s.len = strlen(s.ptr);
	CHECK_INT_EQ(consensus_parse_time(&s, &t), 0);
	CHECK_INT_EQ(t, 1460546101);	/* rend-spec-v3's example */
	s.ptr = "1970-01-01 00:00:00";
	CHECK_INT_EQ(consensus_parse_time(&s, &t), 0);
	CHECK_INT_EQ(t, 0);
	s.ptr = "2016-04-13T11:15:01";
	CHECK_INT_EQ(consensus_parse_time(&s, &t), -1);
	s.ptr = "2016-04-13 24:15:01";
	CHECK_INT_EQ(consensus_parse_time(&s, &t), -1);
	s.ptr = "2016-04-13 11:15:0x";
	CHECK_INT_EQ(consensus_parse_time(&s, &t), -1);
	s.len--;
	CHECK_INT_EQ(consensus_parse_time(&s, &t), -1);
}

static void
test_strerror(void)
{
	int e;

	for (e = 0; e < CONSENSUS_ERR_MAX_; e++)
		CHECK(strcmp(consensus_strerror((enum consensus_error)e),
		    "unknown error") != 0);
	CHECK_STR_EQ(consensus_strerror(CONSENSUS_ERR_MAX_), "unknown error");
}

TEST_MAIN(
	TEST_CASE(test_captured_header),
	TEST_CASE(test_captured_relays),
	TEST_CASE(test_captured_microdescs),
	TEST_CASE(test_microdescs_final_newline),
	TEST_CASE(test_microdescs_bad_ids),
	TEST_CASE(test_liveness),
	TEST_CASE(test_params),
	TEST_CASE(test_srv_lines),
	TEST_CASE(test_header_errors),
	TEST_CASE(test_entry_errors),
	TEST_CASE(test_entry_hsdir_support),
	TEST_CASE(test_document_limits),
	TEST_CASE(test_protover),
	TEST_CASE(test_tor_version),
	TEST_CASE(test_parse_time),
	TEST_CASE(test_strerror),
)

/*
 * fetchd's logic without a network: captured HS_DESC / HS_DESC_CONTENT
 * events from a tor 0.4.9 test network fed through the control-port
 * parser into fetchd, at the capture time, with that network's 20 s
 * voting interval; forged, expired and failed fetches, each with its
 * exact messages (every result ends with its PEER_INSTANCE_FETCH); the
 * consensus header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_fetchd_util.h"

static const char *const both[] = { BE1, BE2 };

/* A fetchd configured with be1 and be2, connected, with the consensus. */
static struct fetchd *
ready_fetchd(struct fake *f, time_t now)
{
	struct fetchd *fd = util_fetchd(f);
	struct fetchd_consensus c;

	util_configure(fd, 1, 120, both, 2, now);
	util_consensus(&c);
	fetchd_connected(fd, now);
	fetchd_set_consensus(fd, &c, now);
	return fd;
}

static void
check_same_intro_points(const struct peer_desc_msg *d, const char *file,
    const char *address)
{
	struct fetchd_consensus c;
	struct hs_period_params pp;
	struct hsdesc *ref = NULL;
	uint8_t key[32];
	uint64_t tp;
	size_t len, i;
	char *text = test_read_data(file, &len);

	util_consensus(&c);
	util_key(key, address);
	CHECK_INT_EQ(hs_period_params_init(&pp, 20, 0), 0);
	CHECK_INT_EQ(hsdesc_decode_near(text, len, key,
	    hs_time_period_num(&pp, c.valid_after), pp.length_min,
	    util_capture_time(), 0, NULL, &tp, &ref, NULL), HSDESC_OK);
	if (ref == NULL) {
		free(text);
		return;
	}
	CHECK_INT_EQ(d->tp, tp);
	CHECK_INT_EQ(d->revision_counter, ref->revision_counter);
	CHECK_INT_EQ(d->lifetime_min, ref->lifetime_min);
	CHECK_INT_EQ(d->n_intro, ref->n_intro_points);
	CHECK_INT_EQ(d->n_intro, 3);
	for (i = 0; i < d->n_intro && i < ref->n_intro_points; i++)
		CHECK(memcmp(&d->intro[i], &ref->intro_points[i],
		    sizeof(d->intro[i])) == 0);
	CHECK_INT_EQ((d->flags & PEER_DESC_FLAG_FLOW_CONTROL) != 0,
	    ref->has_flow_control);
	if (ref->has_flow_control)
		CHECK_STR_EQ(d->flow_control, ref->flow_control);
	hsdesc_free(ref);
	free(text);
}

/* The first message about instance n after index from. */
static int
find_msg(const struct fake *f, size_t from, uint32_t type, uint32_t inst,
    struct ipc_msg *msg)
{
	size_t i;

	for (i = from; i < f->nsent; i++) {
		if (util_sent_msg(f, i, msg) == -1)
			return -1;
		if (msg->type == type && msg->len >= 8 &&
		    get_u32_be(msg->payload + 4) == inst)
			return (int)i;
	}
	return -1;
}

static void
test_captured_events(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready_fetchd(&f, now);
	struct peer_desc_msg d;
	struct ipc_msg msg;
	size_t len, before;
	char *raw;

	/* The two NO_DESCRIPTOR states of the new configuration. */
	UTIL_CHECK_SENT(&f, 0,
	    { PEER_INSTANCE_STATE, 0, PEER_STATE_NO_DESCRIPTOR },
	    { PEER_INSTANCE_STATE, 1, PEER_STATE_NO_DESCRIPTOR });
	fetchd_tick(fd, now + FETCHD_ROUND_SPREAD_MAX_S);
	CHECK_INT_EQ(f.nfetch, 2);
	CHECK_STR_EQ(f.fetched[0], BE1);
	CHECK_STR_EQ(f.fetched[1], BE2);
	CHECK_INT_EQ(f.nactive, 1);
	before = f.nsent;
	raw = test_read_data(TESTNET "hsfetch-events-raw.txt", &len);
	util_feed_events(fd, raw, len, now);
	/*
	 * be1 twice (same revision from two HSDirs), be2 once: two news,
	 * and three results.
	 */
	UTIL_CHECK_SENT(&f, before,
	    { PEER_INSTANCE_DESC, 0, 0 },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_NEW },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_NOT_NEWER },
	    { PEER_INSTANCE_DESC, 1, 0 },
	    { PEER_INSTANCE_FETCH, 1, PEER_FETCH_NEW });
	CHECK(find_msg(&f, before, PEER_INSTANCE_DESC, 0, &msg) >= 0);
	CHECK_INT_EQ(peer_desc_parse(&msg, &d), 0);
	CHECK_INT_EQ(d.received_at, now);
	check_same_intro_points(&d, TESTNET "backend-descriptor.txt", BE1);
	CHECK(find_msg(&f, before, PEER_INSTANCE_DESC, 1, &msg) >= 0);
	CHECK_INT_EQ(peer_desc_parse(&msg, &d), 0);
	check_same_intro_points(&d, TESTNET "backend-be2-descriptor.txt", BE2);
	/* Both fetches are over; the next ones come a period later. */
	CHECK(!fd->inst[0].in_flight && !fd->inst[1].in_flight);
	CHECK(fd->inst[0].next_fetch >= now + 20);
	free(raw);
	util_fake_clear(&f);
	fetchd_free(fd);
}

/* be2's own, valid descriptor, delivered as if it were be1's. */
static void
test_forged_descriptor(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready_fetchd(&f, now);
	struct peer_state_msg s;
	struct ipc_msg msg;
	size_t len, before = f.nsent;
	char *be2 = test_read_data(TESTNET "backend-be2-descriptor.txt", &len);
	char *ev = util_content_event(BE1, be2, len);

	util_feed_events(fd, ev, strlen(ev), now);
	UTIL_CHECK_SENT(&f, before,
	    { PEER_INSTANCE_STATE, 0, PEER_STATE_INVALID },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_INVALID });
	CHECK(find_msg(&f, before, PEER_INSTANCE_STATE, 0, &msg) >= 0);
	CHECK_INT_EQ(peer_state_parse(&msg, &s), 0);
	CHECK_INT_EQ(s.state, PEER_STATE_INVALID);
	CHECK(strstr(s.detail, hsdesc_strerror(
	    HSDESC_ERR_BLINDED_KEY_MISMATCH)) != NULL);
	CHECK(fd->inst[0].desc == NULL);
	free(ev);
	free(be2);
	util_fake_clear(&f);
	fetchd_free(fd);
}

/*
 * The same bytes again are recognised by their digest and not decoded
 * again; other bytes, and the same bytes once a certificate in them has
 * expired, are.
 */
static void
test_verified_again(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready_fetchd(&f, now);
	struct fetchd_instance *in = &fd->inst[0];
	size_t len1, len2, before = f.nsent;
	char *be1 = test_read_data(TESTNET "backend-descriptor.txt", &len1);
	char *be2 = test_read_data(TESTNET "backend-be2-descriptor.txt", &len2);
	char *ev1 = util_content_event(BE1, be1, len1);
	char *ev2 = util_content_event(BE1, be2, len2);
	time_t until, signing_expiry = 0;

	util_feed_events(fd, ev1, strlen(ev1), now);
	UTIL_CHECK_SENT(&f, before,			/* the news */
	    { PEER_INSTANCE_DESC, 0, 0 },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_NEW });
	CHECK(in->desc != NULL && in->verified != NULL);
	CHECK_INT_EQ(in->verified_hits, 0);
	until = in->verified->valid_until;
	signing_expiry = (time_t)in->verified->desc.signing_cert_exp_hours *
	    3600;
	CHECK(until > now);
	CHECK(until <= (time_t)in->verified->desc.signing_cert_exp_hours * 3600);
	/* Served again, by another HSDir: no decode, and not news. */
	before = f.nsent;
	util_feed_events(fd, ev1, strlen(ev1), now + 1);
	CHECK_INT_EQ(in->verified_hits, 1);
	UTIL_CHECK_SENT(&f, before,
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_NOT_NEWER });
	CHECK_INT_EQ(in->state, 0);
	/*
	 * be2's descriptor as be1's: other bytes, decoded and refused; the
	 * good one held stays, so no state, only the result.
	 */
	util_feed_events(fd, ev2, strlen(ev2), now + 2);
	CHECK_INT_EQ(in->verified_hits, 1);
	CHECK(in->desc != NULL);
	UTIL_CHECK_SENT(&f, before + 1,
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_INVALID });
	/* be1's again: still remembered (only successes are stored). */
	util_feed_events(fd, ev1, strlen(ev1), until);
	CHECK_INT_EQ(in->verified_hits, 2);
	UTIL_CHECK_SENT(&f, before + 2,
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_NOT_NEWER });
	/*
	 * A second after a certificate expired (the intro points', an hour
	 * before the signing key's): decoded again, and the same revision
	 * is still not newer.
	 */
	util_feed_events(fd, ev1, strlen(ev1), until + 1);
	CHECK_INT_EQ(in->verified_hits, 2);
	UTIL_CHECK_SENT(&f, before + 3,
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_NOT_NEWER });
	/* Past the signing-key certificate: refused, and told as expired. */
	util_feed_events(fd, ev1, strlen(ev1), signing_expiry + 1);
	CHECK(in->desc != NULL);
	UTIL_CHECK_SENT(&f, before + 4,
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_EXPIRED });
	free(ev1);
	free(ev2);
	free(be1);
	free(be2);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_empty_content_is_fetch_failed(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready_fetchd(&f, now);
	struct peer_state_msg s;
	struct ipc_msg msg;
	size_t before;
	char *ev = util_content_event(BE1, "", 0);
	const char *failed = "650 HS_DESC FAILED " BE1 " NO_AUTH " R6 " "
	    BE1_BLINDED " REASON=NOT_FOUND\n";

	fetchd_tick(fd, now + FETCHD_ROUND_SPREAD_MAX_S);
	CHECK(fd->inst[0].in_flight);
	before = f.nsent;
	util_feed_events(fd, failed, strlen(failed), now);
	util_feed_events(fd, ev, strlen(ev), now);
	CHECK(!fd->inst[0].in_flight);
	UTIL_CHECK_SENT(&f, before,
	    { PEER_INSTANCE_STATE, 0, PEER_STATE_FETCH_FAILED },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_FAILED });
	CHECK(find_msg(&f, before, PEER_INSTANCE_STATE, 0, &msg) >= 0);
	CHECK_INT_EQ(peer_state_parse(&msg, &s), 0);
	CHECK_INT_EQ(s.state, PEER_STATE_FETCH_FAILED);
	CHECK_STR_EQ(s.detail, "NOT_FOUND");
	/* Not ours (no fetch in flight): an empty body changes nothing. */
	before = f.nsent;
	util_feed_events(fd, ev, strlen(ev), now);
	CHECK_INT_EQ(f.nsent, before);
	free(ev);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_events_of_others_ignored(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready_fetchd(&f, now);
	size_t before = f.nsent;
	const char *uploaded = "650 HS_DESC UPLOADED "
	    "le5tsbi4izbr7pzfxabhcrfwe5jokzdpkvwgucbfh4rhf5r2fi3hgvid UNKNOWN "
	    R6 "\n";
	char *ev = util_content_event(
	    "le5tsbi4izbr7pzfxabhcrfwe5jokzdpkvwgucbfh4rhf5r2fi3hgvid",
	    "junk\n", 5);

	util_feed_events(fd, uploaded, strlen(uploaded), now);
	util_feed_events(fd, ev, strlen(ev), now);
	CHECK_INT_EQ(f.nsent, before);
	free(ev);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_consensus_header(void)
{
	struct fetchd_consensus c;
	const char *why;
	const char *with_params = "network-status-version 3 microdesc\n"
	    "valid-after 2026-11-22 02:48:40\n"
	    "fresh-until 2026-11-22 03:48:40\n"
	    "valid-until 2026-11-22 05:48:40\n"
	    "params CircuitPriorityHalflifeMsec=30000 hsdir_interval=60 "
	    "HSV3MaxDescriptorSize=40000\n"
	    "dir-source a0 x\nvalid-after junk\n";

	util_consensus(&c);
	CHECK_INT_EQ(c.fresh_until - c.valid_after, 20);
	CHECK_INT_EQ(c.valid_until - c.valid_after, 40);
	CHECK_INT_EQ(c.valid_after, util_parse_time("2026-11-22 02:48:40"));
	CHECK_INT_EQ(c.hsdir_interval_min, 0);
	CHECK_INT_EQ(c.max_desc_size, 0);
	CHECK(fetchd_consensus_live(&c, c.valid_after - 24 * 3600));
	CHECK(!fetchd_consensus_live(&c, c.valid_after - 24 * 3600 - 1));
	CHECK(fetchd_consensus_live(&c, c.valid_until + 24 * 3600));
	CHECK(!fetchd_consensus_live(&c, c.valid_until + 24 * 3600 + 1));
	/* The header ends at dir-source: the junk after it is not read. */
	CHECK_INT_EQ(fetchd_consensus_parse(&c, with_params,
	    strlen(with_params), &why), 0);
	CHECK_INT_EQ(c.hsdir_interval_min, 60);
	CHECK_INT_EQ(c.max_desc_size, 40000);
	CHECK_INT_EQ(fetchd_consensus_parse(&c, "network-status-version 3\n"
	    "valid-after 2026-11-22 02:48:40\nfresh-until 2026-11-22 02:48:40\n"
	    "valid-until 2026-11-22 02:49:40\n", 107, &why), -1);
	CHECK_INT_EQ(fetchd_consensus_parse(&c, "network-status-version 3\n"
	    "valid-after 2026-11-22 02:48:4x\n", 57, &why), -1);
	CHECK_STR_EQ(why, "bad valid-after");
	CHECK_INT_EQ(fetchd_consensus_parse(&c, "network-status-version 3\n"
	    "params hsdir_interval=-5\n", 50, &why), -1);
	CHECK_INT_EQ(fetchd_consensus_parse(&c, "hello", 5, &why), -1);
}

TEST_MAIN(
	TEST_CASE(test_captured_events),
	TEST_CASE(test_forged_descriptor),
	TEST_CASE(test_verified_again),
	TEST_CASE(test_empty_content_is_fetch_failed),
	TEST_CASE(test_events_of_others_ignored),
	TEST_CASE(test_consensus_header),
)

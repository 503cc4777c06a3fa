/*
 * fetchd's schedule and staleness rule with a fake clock: rounds, the
 * period and its jitter, rate limiting after consensus bursts, timeouts,
 * liveness of the consensus, expiry of a descriptor whose backend stopped
 * re-uploading, NOT_FOUND in a row, and reloads that keep state; the
 * result of each failed fetch (PEER_INSTANCE_FETCH), in exact sequence.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_fetchd_util.h"

static const char *const both[] = { BE1, BE2 };

static struct fetchd *
ready(struct fake *f, time_t now, uint32_t interval)
{
	struct fetchd *fd = util_fetchd(f);
	struct fetchd_consensus c;

	util_configure(fd, 1, interval, both, 2, now);
	util_consensus(&c);
	fetchd_connected(fd, now);
	fetchd_set_consensus(fd, &c, now);
	return fd;
}

static void
accept_be1(struct fetchd *fd, time_t now)
{
	size_t len;
	char *body = test_read_data(TESTNET "backend-descriptor.txt", &len);
	char *ev = util_content_event(BE1, body, len);

	util_feed_events(fd, ev, strlen(ev), now);
	CHECK(fd->inst[0].desc != NULL && fd->inst[0].state == 0);
	free(ev);
	free(body);
}

static void
test_rounds_and_period(void)
{
	struct fake f;
	time_t now = util_capture_time(), t;
	struct fetchd *fd = ready(&f, now, 120);
	size_t before;

	/* Voting interval 20 s < 120 s: the period is 20 s. */
	CHECK_INT_EQ(fetchd_period(fd), 20);
	/* The round is spread: be1 at once, be2 a few seconds later. */
	fetchd_tick(fd, now);
	CHECK_INT_EQ(f.nfetch, 1);
	CHECK(fetchd_next_wakeup(fd, now) <= now + 10);
	fetchd_tick(fd, now + 10);
	CHECK_INT_EQ(f.nfetch, 2);
	/* In flight: no second fetch of the same instance. */
	fetchd_tick(fd, now + 10);
	CHECK_INT_EQ(f.nfetch, 2);
	/* Never answered: failed after the timeout, then fetched again. */
	t = now + FETCHD_FETCH_TIMEOUT_S;
	before = f.nsent;
	fetchd_tick(fd, t);
	CHECK(!fd->inst[0].in_flight);
	UTIL_CHECK_SENT(&f, before,
	    { PEER_INSTANCE_STATE, 0, PEER_STATE_FETCH_FAILED },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_FAILED });
	CHECK_STR_EQ(fd->inst[0].detail, "tor sent no request");
	CHECK(fd->inst[0].next_fetch >= t + 20);
	CHECK(fd->inst[0].next_fetch <= t + 22);
	fetchd_tick(fd, t + 22);
	CHECK(f.nfetch >= 3);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_consensus_burst_rate_limited(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready(&f, now, 120);
	struct fetchd_consensus c;
	const char *arrived = "650 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\n";
	int i;

	fetchd_tick(fd, now + 10);
	CHECK_INT_EQ(f.nfetch, 2);
	fd->inst[0].in_flight = fd->inst[1].in_flight = false;
	/* Three consensuses in three seconds. */
	util_consensus(&c);
	for (i = 1; i <= 3; i++) {
		util_feed_events(fd, arrived, strlen(arrived), now + 10 + i);
		CHECK_INT_EQ(f.nrefresh, (unsigned)i);
		c.valid_after += 20;
		c.fresh_until += 20;
		c.valid_until += 20;
		fetchd_set_consensus(fd, &c, now + 10 + i);
		fetchd_tick(fd, now + 10 + i);
	}
	/* Nothing before half a period after the last fetch. */
	CHECK_INT_EQ(f.nfetch, 2);
	fetchd_tick(fd, now + 20);
	CHECK_INT_EQ(f.nfetch, 4);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_no_fetch_without_live_consensus(void)
{
	struct fake f;
	time_t now = util_capture_time() + 25 * 3600;
	struct fetchd *fd = ready(&f, now, 120);

	fetchd_tick(fd, now + 60);
	CHECK_INT_EQ(f.nfetch, 0);
	CHECK(fd->said_not_live);
	/* Nor while disconnected. */
	fetchd_disconnected(fd);
	fetchd_tick(fd, util_capture_time());
	CHECK_INT_EQ(f.nfetch, 0);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_expires_without_reupload(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready(&f, now, 120);
	struct peer_state_msg s;
	struct ipc_msg msg;
	time_t stale;

	accept_be1(fd, now);
	stale = fd->inst[0].desc_stale_at;
	/* tor re-uploads within 2 h; we allow grace, but not 3 h. */
	CHECK(stale > now + FETCHD_REUPLOAD_MAX_S - 3600);
	CHECK(stale <= now + FETCHD_REUPLOAD_MAX_S + FETCHD_STALE_GRACE_S +
	    40);
	CHECK(stale < now + 180 * 60);
	/* The same revision fetched again does not make it young. */
	accept_be1(fd, now + 3600);
	CHECK_INT_EQ(fd->inst[0].desc_stale_at, stale);
	util_fake_clear(&f);
	fetchd_tick(fd, stale - 1);
	CHECK_INT_EQ(fd->inst[0].state, 0);
	fetchd_tick(fd, stale);
	CHECK_INT_EQ(fd->inst[0].state, PEER_STATE_EXPIRED);
	CHECK(util_sent_msg(&f, f.nsent - 1, &msg) == 0);
	CHECK_INT_EQ(peer_state_parse(&msg, &s), 0);
	CHECK_INT_EQ(s.state, PEER_STATE_EXPIRED);
	/* Served once more, the expired revision stays expired. */
	{
		size_t len;
		char *body = test_read_data(TESTNET "backend-descriptor.txt",
		    &len);
		char *ev = util_content_event(BE1, body, len);

		util_feed_events(fd, ev, strlen(ev), stale + 5);
		CHECK_INT_EQ(fd->inst[0].state, PEER_STATE_EXPIRED);
		free(ev);
		free(body);
	}
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_not_found_in_a_row_expires(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready(&f, now, 120);
	const char *failed = "650 HS_DESC FAILED " BE1 " NO_AUTH " R6 " "
	    BE1_BLINDED " REASON=NOT_FOUND\n";
	char *empty = util_content_event(BE1, "", 0);
	int i;

	accept_be1(fd, now);
	for (i = 0; i < FETCHD_NOT_FOUND_LIMIT; i++) {
		CHECK_INT_EQ(fd->inst[0].state, 0);
		now += 30;
		fetchd_tick(fd, now);
		CHECK(fd->inst[0].in_flight);
		util_fake_clear(&f);
		util_feed_events(fd, failed, strlen(failed), now);
		util_feed_events(fd, empty, strlen(empty), now);
		/* The descriptor held stays: only the result, until the last. */
		if (i + 1 < FETCHD_NOT_FOUND_LIMIT)
			UTIL_CHECK_SENT(&f, 0,
			    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_FAILED });
	}
	CHECK_INT_EQ(fd->inst[0].state, PEER_STATE_EXPIRED);
	UTIL_CHECK_SENT(&f, 0,
	    { PEER_INSTANCE_STATE, 0, PEER_STATE_EXPIRED },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_FAILED });
	free(empty);
	util_fake_clear(&f);
	fetchd_free(fd);
}

/* tor refused the HSFETCH: a failed fetch, with its result. */
static void
test_refused_fetch_is_a_result(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready(&f, now, 120);

	fetchd_tick(fd, now);
	CHECK(fd->inst[0].in_flight);
	util_fake_clear(&f);
	fetchd_fetch_refused(fd, BE1, "HSFETCH: 552 Unrecognized", now);
	CHECK(!fd->inst[0].in_flight);
	UTIL_CHECK_SENT(&f, 0,
	    { PEER_INSTANCE_STATE, 0, PEER_STATE_FETCH_FAILED },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_FAILED });
	/* None in flight (be2's is not out yet): no result to tell. */
	fetchd_fetch_refused(fd, BE2, "HSFETCH: 552 Unrecognized", now);
	CHECK_INT_EQ(f.nsent, 2);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_reload_keeps_state(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready(&f, now, 120);
	static const char *const be1_only[] = { BE1 };
	struct peer_desc_msg d;
	struct ipc_msg msg;

	accept_be1(fd, now);
	util_fake_clear(&f);
	util_configure(fd, 2, 60, be1_only, 1, now + 5);
	CHECK_INT_EQ(fd->ninst, 1);
	CHECK(fd->inst[0].desc != NULL);
	/* The kept descriptor is re-sent with the new numbering. */
	CHECK_INT_EQ(f.nsent, 1);
	CHECK(util_sent_msg(&f, 0, &msg) == 0);
	CHECK_INT_EQ(peer_desc_parse(&msg, &d), 0);
	CHECK_INT_EQ(d.received_at, now);
	/* An older generation is refused. */
	CHECK_INT_EQ(fetchd_config_begin(fd, 2, 60, 1), -1);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_config_sequence_checked(void)
{
	struct fake f;
	struct fetchd *fd = util_fetchd(&f);
	uint8_t key[32];

	util_key(key, BE1);
	CHECK_INT_EQ(fetchd_config_service(fd, 0, key, 1), -1);
	CHECK_INT_EQ(fetchd_config_begin(fd, 1, 60, 2), 0);
	CHECK_INT_EQ(fetchd_config_service(fd, 1, key, 1), -1);
	CHECK_INT_EQ(fetchd_config_service(fd, 0, key, 1), 0);
	CHECK_INT_EQ(fetchd_config_instance(fd, 0, 1, key, "x"), -1);
	CHECK_INT_EQ(fetchd_config_instance(fd, 0, 0, key, ""), -1);
	CHECK_INT_EQ(fetchd_config_instance(fd, 0, 0, key, "x"), 0);
	CHECK_INT_EQ(fetchd_config_instance(fd, 0, 0, key, "x"), -1);
	/* Service 1 never came. */
	CHECK_INT_EQ(fetchd_config_end(fd, 1, 0), -1);
	fetchd_free(fd);
}

TEST_MAIN(
	TEST_CASE(test_rounds_and_period),
	TEST_CASE(test_consensus_burst_rate_limited),
	TEST_CASE(test_no_fetch_without_live_consensus),
	TEST_CASE(test_expires_without_reupload),
	TEST_CASE(test_not_found_in_a_row_expires),
	TEST_CASE(test_refused_fetch_is_a_result),
	TEST_CASE(test_reload_keeps_state),
	TEST_CASE(test_config_sequence_checked),
)

/*
 * fetchd's liveness logic (fetchd_probe.c) with a fake clock: how tor's
 * SOCKS answers are read, the drop after two failures in a row (the
 * second at once, on fresh circuits), the return after two good probes,
 * failures that do not count while the management tor has no circuits,
 * timeouts that count only when another backend answered meanwhile,
 * the hold-down of a flapping backend, the back-off of probes to a dead
 * one, and the probe a closed rendezvous circuit triggers (and its one
 * retry on fresh circuits).
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_fetchd_util.h"
#include "fetchd_private.h"	/* fetchd_probe_new_descriptor */

static const char *const one[] = { BE1 };

/* Instances of addrs, be1's descriptor accepted at now, circuits up. */
static struct fetchd *
ready_with(struct fake *f, const char *const *addrs, size_t n, time_t now)
{
	struct fetchd *fd = util_fetchd(f);
	struct fetchd_consensus c;
	size_t len;
	char *body, *ev;

	util_configure(fd, 1, 120, addrs, n, now);
	util_consensus(&c);
	fetchd_connected(fd, now);
	fetchd_set_consensus(fd, &c, now);
	fetchd_set_circuits(fd, true, now);
	body = test_read_data(TESTNET "backend-descriptor.txt", &len);
	ev = util_content_event(BE1, body, len);
	util_feed_events(fd, ev, strlen(ev), now);
	free(ev);
	free(body);
	CHECK(fd->inst[0].desc != NULL);
	return fd;
}

static struct fetchd *
ready(struct fake *f, time_t now)
{
	return ready_with(f, one, 1, now);
}

/* The last PEER_INSTANCE_LIVENESS fetchd sent. */
static void
last_liveness(const struct fake *f, struct peer_liveness_msg *l)
{
	struct ipc_msg msg;
	size_t i;

	memset(l, 0, sizeof(*l));
	for (i = f->nsent; i > 0; i--)
		if (util_sent_msg(f, i - 1, &msg) == 0 &&
		    msg.type == PEER_INSTANCE_LIVENESS) {
			CHECK_INT_EQ(peer_liveness_parse(&msg, l), 0);
			return;
		}
	CHECK(!"no liveness message");
}

/* Ends the probe in flight with outcome at now. */
static void
answer(struct fetchd *fd, struct fake *f, enum probe_outcome outcome,
    const char *detail, time_t now)
{
	CHECK(fd->inst[0].probe.in_flight);
	fetchd_probe_result(fd, f->probe_id[f->nprobe - 1], outcome, detail,
	    now);
}

static void
test_classify(void)
{
	static const struct {
		uint8_t			reply;
		enum probe_check	check;
		enum probe_outcome	want;
	} cases[] = {
		{ 0x00, PROBE_CHECK_NONE, PROBE_OK },
		/* The backend's tor answered: alive, unless its port must. */
		{ 0x05, PROBE_CHECK_NONE, PROBE_REFUSED },
		{ 0x05, PROBE_CHECK_TCP, PROBE_CHECK_FAILED },
		{ 0xF2, PROBE_CHECK_NONE, PROBE_UNREACHABLE },
		{ 0xF3, PROBE_CHECK_NONE, PROBE_UNREACHABLE },
		{ 0xF7, PROBE_CHECK_NONE, PROBE_UNREACHABLE },
		{ 0x06, PROBE_CHECK_NONE, PROBE_TIMEOUT },
		/* No descriptor, a general failure, client auth: no verdict. */
		{ 0xF0, PROBE_CHECK_NONE, PROBE_INCONCLUSIVE },
		{ 0x01, PROBE_CHECK_NONE, PROBE_INCONCLUSIVE },
		/* ... but with a check, it is how tor says the port refused. */
		{ 0x01, PROBE_CHECK_TCP, PROBE_CHECK_FAILED },
		{ 0x01, PROBE_CHECK_HTTP, PROBE_CHECK_FAILED },
		{ 0xF4, PROBE_CHECK_NONE, PROBE_INCONCLUSIVE },
		{ 0x99, PROBE_CHECK_NONE, PROBE_INCONCLUSIVE },
	};
	const char *t;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT_EQ(fetchd_probe_classify_socks(cases[i].reply,
		    cases[i].check, &t), cases[i].want);
}

static void
test_drop_and_return(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready(&f, now);
	struct peer_liveness_msg l;

	/* A new descriptor of an unprobed instance: probed at once. */
	fetchd_tick(fd, now);
	CHECK_INT_EQ(f.nprobe, 1);
	CHECK_STR_EQ(f.probed[0], BE1);
	CHECK_INT_EQ(f.probe_cfg.port, 80);
	CHECK_INT_EQ(f.probe_cfg.interval_s, FETCHD_PROBE_INTERVAL_S);
	answer(fd, &f, PROBE_UNREACHABLE, "introduction failed", now + 1);
	last_liveness(&f, &l);
	CHECK_INT_EQ(l.liveness, PEER_LIVENESS_SUSPECT);
	/* Confirmed at once, on fresh circuits. */
	fetchd_tick(fd, now + 1);
	CHECK_INT_EQ(f.nprobe, 2);
	CHECK_INT_EQ(f.probe_isolation[1], f.probe_isolation[0] + 1);
	answer(fd, &f, PROBE_UNREACHABLE, "rendezvous failed (SOCKS 0xF3)",
	    now + 16);
	last_liveness(&f, &l);
	CHECK_INT_EQ(l.liveness, PEER_LIVENESS_DEAD);
	CHECK_STR_EQ(l.reason, "rendezvous failed (SOCKS 0xF3)");
	CHECK_INT_EQ(l.since, now + 16);
	/* Probed again one interval later; one good probe is not enough. */
	fetchd_tick(fd, now + 20);
	CHECK_INT_EQ(f.nprobe, 2);
	fetchd_tick(fd, now + 21);
	CHECK_INT_EQ(f.nprobe, 3);
	answer(fd, &f, PROBE_OK, "stream opened", now + 22);
	last_liveness(&f, &l);
	CHECK_INT_EQ(l.liveness, PEER_LIVENESS_RETURNING);
	CHECK(fetchd_next_wakeup(fd, now + 22) <= now + 22 +
	    FETCHD_PROBE_INTERVAL_S);
	fetchd_tick(fd, now + 27);
	CHECK_INT_EQ(f.nprobe, 4);
	/* A refused port is the backend's tor answering: alive. */
	answer(fd, &f, PROBE_REFUSED, "port refused", now + 28);
	last_liveness(&f, &l);
	CHECK_INT_EQ(l.liveness, PEER_LIVENESS_ALIVE);
	CHECK_STR_EQ(l.reason, "");
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_not_counted_without_circuits(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready(&f, now);
	struct peer_liveness_msg l;
	int i;

	fetchd_set_circuits(fd, false, now);
	for (i = 0; i < 4; i++) {
		fetchd_tick(fd, now + i * 20);
		answer(fd, &f, PROBE_UNREACHABLE, "introduction failed",
		    now + i * 20 + 1);
	}
	last_liveness(&f, &l);
	CHECK_INT_EQ(l.liveness, PEER_LIVENESS_UNKNOWN);
	CHECK(strstr(l.outcome, "not counted") != NULL);
	CHECK(strstr(l.outcome, "no circuits") != NULL);
	/* Inconclusive answers never count either. */
	fetchd_set_circuits(fd, true, now + 100);
	fetchd_tick(fd, now + 100);
	answer(fd, &f, PROBE_INCONCLUSIVE, "tor found no descriptor",
	    now + 101);
	last_liveness(&f, &l);
	CHECK_INT_EQ(l.liveness, PEER_LIVENESS_UNKNOWN);
	util_fake_clear(&f);
	fetchd_free(fd);
}

/* Drops the instance (two failures) at t; returns the time after. */
static time_t
kill_it(struct fetchd *fd, struct fake *f, time_t t)
{
	while (fd->inst[0].probe.liveness != PEER_LIVENESS_DEAD) {
		fetchd_tick(fd, t);
		if (fd->inst[0].probe.in_flight)
			answer(fd, f, PROBE_UNREACHABLE, "introduction failed",
			    t);
		t++;
	}
	return t;
}

/* Good probes until it is back; returns when. */
static time_t
revive(struct fetchd *fd, struct fake *f, time_t t, time_t limit)
{
	while (fd->inst[0].probe.liveness != PEER_LIVENESS_ALIVE && t < limit) {
		fetchd_tick(fd, t);
		if (fd->inst[0].probe.in_flight)
			answer(fd, f, PROBE_OK, "stream opened", t);
		t++;
	}
	return t;
}

static void
test_flap_hold_down(void)
{
	struct fake f;
	time_t now = util_capture_time(), t, back;
	struct fetchd *fd = ready(&f, now);

	t = kill_it(fd, &f, now);
	back = revive(fd, &f, t, t + 600);
	/* First drop: back after two good probes, one interval apart. */
	CHECK(back - t <= 2 * FETCHD_PROBE_INTERVAL_S + 2);
	/* Dropped again soon after: a flap; held back 30 s this time. */
	t = kill_it(fd, &f, back + 10);
	back = revive(fd, &f, t, t + 600);
	CHECK(back - t >= FETCHD_FLAP_HOLD_BASE_S);
	CHECK(back - t <= FETCHD_FLAP_HOLD_BASE_S + 2 *
	    FETCHD_PROBE_INTERVAL_S + 2);
	/* And again: 60 s. */
	t = kill_it(fd, &f, back + 10);
	back = revive(fd, &f, t, t + 600);
	CHECK(back - t >= 2 * FETCHD_FLAP_HOLD_BASE_S);
	/* Up for longer than the window: the next drop is no flap. */
	t = kill_it(fd, &f, back + FETCHD_FLAP_WINDOW_S + 1);
	back = revive(fd, &f, t, t + 600);
	CHECK(back - t <= 2 * FETCHD_PROBE_INTERVAL_S + 2);
	util_fake_clear(&f);
	fetchd_free(fd);
}

/* Ends each probe in flight: instance i's with out[i]. */
static void
answer_each(struct fetchd *fd, struct fake *f, const enum probe_outcome *out,
    time_t t)
{
	size_t i;
	unsigned k;

	fetchd_tick(fd, t);
	for (i = 0; i < fd->ninst; i++) {
		if (!fd->inst[i].probe.in_flight)
			continue;
		for (k = f->nprobe; k > 0; k--)
			if (strcmp(f->probed[k - 1], fd->inst[i].address) == 0)
				break;
		CHECK(k > 0);
		if (k == 0)
			return;
		fetchd_probe_result(fd, f->probe_id[k - 1], out[i],
		    out[i] == PROBE_OK ? "stream opened" :
		    "introduction failed", t);
	}
}

/* Probes with out[] each second until inst[i] has liveness l; when. */
static time_t
until_liveness(struct fetchd *fd, struct fake *f, const enum probe_outcome *out,
    size_t i, uint32_t l, time_t t, time_t limit)
{
	while (fd->inst[i].probe.liveness != l && t < limit)
		answer_each(fd, f, out, t++);
	CHECK_INT_EQ(fd->inst[i].probe.liveness, l);
	return t;
}

/*
 * A drop that every other backend shares (both fail together: a stalled
 * management side, as a loaded CI machine once made) is no flap: the
 * backend comes back after two good probes, with no hold-down, even
 * soon after an earlier drop of its own.
 */
static void
test_shared_failure_no_flap(void)
{
	static const char *const two[] = { BE1, BE2 };
	static const enum probe_outcome ok_ok[] = { PROBE_OK, PROBE_OK },
	    bad_ok[] = { PROBE_UNREACHABLE, PROBE_OK },
	    bad_bad[] = { PROBE_UNREACHABLE, PROBE_UNREACHABLE };
	struct fake f;
	time_t now = util_capture_time(), t, back;
	struct fetchd *fd = ready_with(&f, two, 2, now);
	size_t len;
	char *body = test_read_data(TESTNET "backend-be2-descriptor.txt", &len);
	char *ev = util_content_event(BE2, body, len);

	util_feed_events(fd, ev, strlen(ev), now);
	free(ev);
	free(body);
	CHECK(fd->inst[1].desc != NULL);
	t = until_liveness(fd, &f, ok_ok, 1, PEER_LIVENESS_ALIVE, now,
	    now + 100);
	/* be1 alone dies and comes back: its own drop. */
	t = until_liveness(fd, &f, bad_ok, 0, PEER_LIVENESS_DEAD, t, t + 100);
	t = until_liveness(fd, &f, ok_ok, 0, PEER_LIVENESS_ALIVE, t, t + 600);
	/* Soon after, both fail together: be1's drop is shared. */
	t = until_liveness(fd, &f, bad_bad, 0, PEER_LIVENESS_DEAD, t + 10,
	    t + 110);
	CHECK(fd->inst[1].probe.liveness != PEER_LIVENESS_ALIVE);
	CHECK_INT_EQ(fd->inst[0].probe.flaps, 0);
	back = until_liveness(fd, &f, ok_ok, 0, PEER_LIVENESS_ALIVE, t,
	    t + 600);
	CHECK(back - t <= 2 * FETCHD_PROBE_INTERVAL_S + 2);
	/* Alone again, soon after: a flap after all, held back. */
	t = until_liveness(fd, &f, bad_ok, 0, PEER_LIVENESS_DEAD, back + 10,
	    back + 110);
	CHECK_INT_EQ(fd->inst[0].probe.flaps, 1);
	back = until_liveness(fd, &f, ok_ok, 0, PEER_LIVENESS_ALIVE, t,
	    t + 600);
	CHECK(back - t >= FETCHD_FLAP_HOLD_BASE_S);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_dead_backs_off(void)
{
	struct fake f;
	time_t now = util_capture_time(), t, last;
	struct fetchd *fd = ready(&f, now);
	unsigned n;

	t = kill_it(fd, &f, now);
	/* Probes of a dead backend thin out to one a minute. */
	n = f.nprobe;
	last = t;
	for (; t < now + 600; t++) {
		fetchd_tick(fd, t);
		if (!fd->inst[0].probe.in_flight)
			continue;
		CHECK(t - last <= FETCHD_PROBE_DEAD_MAX_S + 1);
		last = t;
		answer(fd, &f, PROBE_UNREACHABLE, "introduction failed", t);
	}
	CHECK(f.nprobe - n >= 8);
	CHECK(f.nprobe - n <= 14);
	CHECK_INT_EQ(fd->inst[0].probe.dead_backoff, FETCHD_PROBE_DEAD_MAX_S);
	util_fake_clear(&f);
	fetchd_free(fd);
}

/*
 * A dead backend's new descriptor is probed at once; if a probe (to its
 * old intro points) is in flight then, as soon as that one ends, on fresh
 * circuits, not after the dead back-off.
 */
static void
test_new_descriptor_probes_now(void)
{
	struct fake f;
	time_t now = util_capture_time(), t;
	struct fetchd *fd = ready(&f, now);
	struct fetchd_probe *p = &fd->inst[0].probe;
	unsigned n;
	int i;

	t = kill_it(fd, &f, now);
	/* Let the back-off grow past the interval. */
	for (i = 0; i < 3; i++) {
		t = p->next;
		fetchd_tick(fd, t);
		answer(fd, &f, PROBE_UNREACHABLE, "introduction failed", t);
	}
	CHECK(p->dead_backoff > 2 * FETCHD_PROBE_INTERVAL_S);
	/* Idle: the new descriptor is probed at once. */
	fetchd_probe_new_descriptor(fd, &fd->inst[0], t + 1);
	CHECK_INT_EQ(p->next, t + 1);
	n = f.nprobe;
	fetchd_tick(fd, t + 1);
	CHECK_INT_EQ(f.nprobe, n + 1);
	/* In flight: it times out, and the next probe goes out at once. */
	fetchd_probe_new_descriptor(fd, &fd->inst[0], t + 3);
	answer(fd, &f, PROBE_TIMEOUT, "no answer in 10 s", t + 11);
	CHECK_INT_EQ(p->liveness, PEER_LIVENESS_DEAD);
	CHECK_INT_EQ(p->next, t + 11);
	fetchd_tick(fd, t + 11);
	CHECK_INT_EQ(f.nprobe, n + 2);
	CHECK_INT_EQ(f.probe_isolation[n + 1], f.probe_isolation[n] + 1);
	/* Only once: a failure of that probe backs off again. */
	answer(fd, &f, PROBE_UNREACHABLE, "introduction failed", t + 12);
	CHECK(p->next > t + 12 + FETCHD_PROBE_INTERVAL_S);
	util_fake_clear(&f);
	fetchd_free(fd);
}

/*
 * A timeout counts only if another backend answered while the probe ran
 * (a stalled network or tor times every probe out), or once the silence
 * has lasted FETCHD_PROBE_STALL_S (every backend frozen).
 */
static void
test_timeouts_need_corroboration(void)
{
	static const char *const both[] = { BE1, BE2 };
	struct fake f;
	time_t now = util_capture_time(), t;
	struct fetchd *fd = ready_with(&f, both, 2, now);
	struct peer_liveness_msg l;

	/* be2 has no descriptor, so is not probed: the test says when it
	 * answered. */
	fetchd_tick(fd, now);
	answer(fd, &f, PROBE_TIMEOUT, "no answer in 10 s", now + 10);
	last_liveness(&f, &l);
	CHECK_INT_EQ(l.liveness, PEER_LIVENESS_UNKNOWN);
	CHECK(strstr(l.outcome, "no other backend answered") != NULL);
	/* be2 answered while the next probe ran: that timeout counts. */
	fetchd_tick(fd, now + 15);
	CHECK(fd->inst[0].probe.in_flight);
	fd->inst[1].probe.last_ok = now + 17;
	answer(fd, &f, PROBE_TIMEOUT, "no answer in 10 s", now + 25);
	last_liveness(&f, &l);
	CHECK_INT_EQ(l.liveness, PEER_LIVENESS_SUSPECT);
	fetchd_tick(fd, now + 25);
	fd->inst[1].probe.last_ok = now + 26;
	answer(fd, &f, PROBE_TIMEOUT, "no answer in 10 s", now + 35);
	last_liveness(&f, &l);
	CHECK_INT_EQ(l.liveness, PEER_LIVENESS_DEAD);

	/* Back, then silence everywhere: dead only after the stall limit. */
	for (t = now + 40; fd->inst[0].probe.liveness != PEER_LIVENESS_ALIVE;
	    t++) {
		fetchd_tick(fd, t);
		if (fd->inst[0].probe.in_flight)
			answer(fd, &f, PROBE_OK, "stream opened", t);
	}
	for (; fd->inst[0].probe.liveness == PEER_LIVENESS_ALIVE; t++) {
		fetchd_tick(fd, t);
		if (fd->inst[0].probe.in_flight)
			answer(fd, &f, PROBE_TIMEOUT, "no answer in 10 s",
			    t + 10);
	}
	CHECK(t - fd->inst[0].probe.stall_since >= FETCHD_PROBE_STALL_S);
	util_fake_clear(&f);
	fetchd_free(fd);
}

static void
test_closed_rendezvous_probes_now(void)
{
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = ready(&f, now);
	char ev[512];
	unsigned n;

	fetchd_tick(fd, now);
	answer(fd, &f, PROBE_OK, "stream opened", now);
	n = f.nprobe;
	fetchd_tick(fd, now + 1);
	CHECK_INT_EQ(f.nprobe, n);
	/* Another service's circuit, or one still building: nothing. */
	snprintf(ev, sizeof(ev), "650 CIRC 12 CLOSED $AA~a,$BB~b "
	    "PURPOSE=HS_CLIENT_REND HS_STATE=HSCR_JOINED REND_QUERY=%s "
	    "REASON=DESTROYED REMOTE_REASON=CHANNEL_CLOSED\n", BE2);
	util_feed_events(fd, ev, strlen(ev), now + 1);
	snprintf(ev, sizeof(ev), "650 CIRC 13 BUILT $AA~a,$BB~b "
	    "PURPOSE=HS_CLIENT_REND HS_STATE=HSCR_JOINED REND_QUERY=%s\n",
	    BE1);
	util_feed_events(fd, ev, strlen(ev), now + 1);
	fetchd_tick(fd, now + 1);
	CHECK_INT_EQ(f.nprobe, n);
	/* Ours closed: probed at once, not at the next interval. */
	snprintf(ev, sizeof(ev), "650 CIRC 14 CLOSED $AA~a,$BB~b "
	    "PURPOSE=HS_CLIENT_REND HS_STATE=HSCR_JOINED REND_QUERY=%s "
	    "REASON=DESTROYED REMOTE_REASON=CHANNEL_CLOSED\n", BE1);
	util_feed_events(fd, ev, strlen(ev), now + 1);
	fetchd_tick(fd, now + 1);
	CHECK_INT_EQ(f.nprobe, n + 1);
	/*
	 * A stream caught on the circuit being torn down gets a general
	 * failure: once, it is tried again at once on fresh circuits.
	 */
	answer(fd, &f, PROBE_INCONCLUSIVE, "general failure", now + 2);
	fetchd_tick(fd, now + 2);
	CHECK_INT_EQ(f.nprobe, n + 2);
	CHECK_INT_EQ(f.probe_isolation[n + 1], f.probe_isolation[n] + 1);
	answer(fd, &f, PROBE_INCONCLUSIVE, "general failure", now + 3);
	fetchd_tick(fd, now + 3);
	CHECK_INT_EQ(f.nprobe, n + 2);
	util_fake_clear(&f);
	fetchd_free(fd);
}

TEST_MAIN(
	TEST_CASE(test_classify),
	TEST_CASE(test_drop_and_return),
	TEST_CASE(test_not_counted_without_circuits),
	TEST_CASE(test_flap_hold_down),
	TEST_CASE(test_shared_failure_no_flap),
	TEST_CASE(test_dead_backs_off),
	TEST_CASE(test_new_descriptor_probes_now),
	TEST_CASE(test_timeouts_need_corroboration),
	TEST_CASE(test_closed_rendezvous_probes_now),
)

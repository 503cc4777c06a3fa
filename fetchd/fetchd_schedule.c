/*
 * When fetchd fetches: rounds (first consensus, new consensus, new
 * configuration, reconnection), the per-instance period with jitter, one
 * fetch in flight per instance and how it ends (done or failed), and the
 * timers of fetchd_tick(): fetch timeouts, a held descriptor gone stale.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "fetchd_private.h"
#include "log.h"

time_t
fetchd_period(const struct fetchd *fd)
{
	time_t p = fd->fetch_interval_s > 0 ? (time_t)fd->fetch_interval_s :
	    FETCHD_MIN_PERIOD_S;

	/* A new consensus every voting interval can change the HSDirs. */
	if (fd->have_consensus && (time_t)fd->period.voting_interval_s < p)
		p = (time_t)fd->period.voting_interval_s;
	return p < FETCHD_MIN_PERIOD_S ? FETCHD_MIN_PERIOD_S : p;
}

/* Up to a tenth of the period, so instances drift apart. */
static time_t
jitter(const struct fetchd *fd)
{
	time_t p = fetchd_period(fd);

	return (time_t)randombytes_uniform((uint32_t)(p / 10 + 1));
}

static bool
can_fetch(struct fetchd *fd, time_t now)
{
	if (!fd->connected || !fd->have_consensus)
		return false;
	if (!fetchd_consensus_live(&fd->consensus, now)) {
		if (!fd->said_not_live)
			log_warnx("tor's consensus (valid-after %lld, "
			    "valid-until %lld) is not reasonably live: "
			    "not fetching until a new one arrives",
			    (long long)fd->consensus.valid_after,
			    (long long)fd->consensus.valid_until);
		fd->said_not_live = true;
		return false;
	}
	fd->said_not_live = false;
	return true;
}

/*
 * Every instance is due soon, spread over a few seconds in config order,
 * but none is fetched again within half a period of its last fetch: a
 * burst of consensuses makes no burst of fetches.
 */
void
fetchd_schedule_round(struct fetchd *fd, time_t now, const char *why)
{
	time_t period = fetchd_period(fd), spread, at;
	size_t i;

	spread = period / 2 < FETCHD_ROUND_SPREAD_MAX_S ? period / 2 :
	    FETCHD_ROUND_SPREAD_MAX_S;
	log_debug("fetch round: %s", why);
	for (i = 0; i < fd->ninst; i++) {
		struct fetchd_instance *in = &fd->inst[i];

		at = now + (time_t)((i * (size_t)spread) / fd->ninst);
		if (in->last_fetch != 0 && at < in->last_fetch + period / 2)
			at = in->last_fetch + period / 2;
		if (in->next_fetch == 0 || at < in->next_fetch)
			in->next_fetch = at;
	}
}

void
fetchd_fetch_done(struct fetchd *fd, struct fetchd_instance *in, time_t now)
{
	/* A no-op after fetchd_fetch_failed() already told the failure. */
	fetchd_hsdir_result(in, true);
	in->in_flight = false;
	in->fail_reason[0] = '\0';
	in->next_fetch = now + fetchd_period(fd) + jitter(fd);
}

static void
expire(struct fetchd *fd, struct fetchd_instance *in, const char *why,
    time_t now)
{
	log_warnx("%s: dropping descriptor revision %llu: %s", in->name,
	    (unsigned long long)in->desc->revision_counter, why);
	fetchd_report_state(fd, in, PEER_STATE_EXPIRED, why, now);
}

void
fetchd_check_stale(struct fetchd *fd, struct fetchd_instance *in, time_t now)
{
	if (in->state != 0 || in->desc == NULL || now < in->desc_stale_at)
		return;
	expire(fd, in, now >= in->desc_first_seen +
	    (time_t)in->desc->lifetime_min * 60 ?
	    "past its lifetime" : "backend has not re-uploaded in time", now);
}

void
fetchd_fetch_failed(struct fetchd *fd, struct fetchd_instance *in,
    const char *reason, time_t now)
{
	char detail[64];

	/* reason may be in->fail_reason, which fetchd_fetch_done() clears. */
	snprintf(detail, sizeof(detail), "%s", reason);
	/* That HSDir is asked last next time. */
	fetchd_hsdir_result(in, false);
	fetchd_fetch_done(fd, in, now);
	if (strcmp(detail, "NOT_FOUND") == 0)
		in->not_found++;
	log_debug("%s: fetch failed: %s", in->name, detail);
	if (in->state != 0)
		fetchd_report_state(fd, in, PEER_STATE_FETCH_FAILED, detail,
		    now);
	else if (in->not_found >= FETCHD_NOT_FOUND_LIMIT)
		expire(fd, in, "HSDirs no longer have it", now);
	fetchd_report_fetch(fd, in, PEER_FETCH_FAILED);
}

void
fetchd_connected(struct fetchd *fd, time_t now)
{
	fd->connected = true;
	fd->last_active_signal = 0;
	/* The consensus may have changed while we were away. */
	fd->have_consensus = false;
	/* And tor may be a new one, without our client keys. */
	fetchd_client_auth_sync(fd);
}

void
fetchd_disconnected(struct fetchd *fd)
{
	size_t i;

	fd->connected = false;
	fd->circuits = false;
	/* Their results will never come on a new connection. */
	for (i = 0; i < fd->ninst; i++)
		fd->inst[i].in_flight = false;
}

void
fetchd_set_consensus(struct fetchd *fd, const struct fetchd_consensus *c,
    time_t now)
{
	bool first = !fd->have_consensus;
	bool changed = first ||
	    c->valid_after != fd->consensus.valid_after;

	if (hs_period_params_init(&fd->period, (uint64_t)(c->fresh_until -
	    c->valid_after), c->hsdir_interval_min) == -1)
		return;		/* fetchd_consensus_parse() checked it */
	fd->consensus = *c;
	fd->have_consensus = true;
	if (!changed || !fetchd_consensus_live(c, now))
		return;
	log_debug("consensus valid-after %lld, voting interval %llu s, "
	    "time period %llu", (long long)c->valid_after,
	    (unsigned long long)fd->period.voting_interval_s,
	    (unsigned long long)hs_time_period_num(&fd->period,
	    c->valid_after));
	fetchd_schedule_round(fd, now, first ? "live consensus" :
	    "new consensus");
}

static void
start_fetch(struct fetchd *fd, struct fetchd_instance *in, time_t now)
{
	if (fd->last_active_signal == 0 ||
	    now - fd->last_active_signal >= FETCHD_ACTIVE_SIGNAL_S) {
		/* A dormant tor would not fetch (Onionbalance does this too). */
		if (fd->ops.signal_active(fd->ops.arg) == 0)
			fd->last_active_signal = now;
	}
	/* tor alone would ask no HSDir twice in 15 min (fetchd_hsdirs.c). */
	fetchd_hsdir_pick(fd, in);
	if (fd->ops.hsfetch(fd->ops.arg, in->address, in->hsdir[0] != '\0' ?
	    in->hsdir : NULL) == -1) {
		log_debug("%s: cannot send HSFETCH now", in->name);
		in->next_fetch = now + FETCHD_MIN_PERIOD_S;
		return;
	}
	fetchd_hsdir_asked(in, now);
	log_debug("%s: fetching %s from %s", in->name, in->address,
	    in->hsdir[0] != '\0' ? in->hsdir : "an HSDir tor picks");
	in->in_flight = true;
	in->fail_reason[0] = '\0';
	in->last_fetch = now;
	in->fetch_deadline = now + FETCHD_FETCH_TIMEOUT_S;
	/* Until the result, so that a lost one cannot stall the schedule. */
	in->next_fetch = now + fetchd_period(fd) + jitter(fd);
}

void
fetchd_tick(struct fetchd *fd, time_t now)
{
	bool fetching = can_fetch(fd, now);
	size_t i;

	for (i = 0; i < fd->ninst; i++) {
		struct fetchd_instance *in = &fd->inst[i];

		if (in->in_flight && now >= in->fetch_deadline)
			fetchd_fetch_failed(fd, in, in->hsdir_requested ?
			    "no answer in time" : "tor sent no request", now);
		fetchd_check_stale(fd, in, now);
		if (fetching && !in->in_flight && in->next_fetch != 0 &&
		    now >= in->next_fetch)
			start_fetch(fd, in, now);
		fetchd_probe_tick(fd, in, now);
	}
}

static time_t
earliest(time_t a, time_t b)
{
	return b != 0 && b < a ? b : a;
}

time_t
fetchd_next_wakeup(const struct fetchd *fd, time_t now)
{
	time_t t = now + fetchd_period(fd);
	size_t i;

	for (i = 0; i < fd->ninst; i++) {
		const struct fetchd_instance *in = &fd->inst[i];

		if (in->in_flight)
			t = earliest(t, in->fetch_deadline);
		else
			t = earliest(t, in->next_fetch);
		if (in->state == 0)
			t = earliest(t, in->desc_stale_at);
		t = earliest(t, fetchd_probe_wakeup(in));
	}
	return t < now ? now : t;
}

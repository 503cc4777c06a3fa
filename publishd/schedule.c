/*
 * When to build a descriptor.  A slot (first or second descriptor of a
 * service) is built:
 *
 *   first time     no descriptor yet for its period (after fetchd had a
 *                  chance to report every instance, or PD_STARTUP_GRACE_S)
 *   rollover       a new period for the slot (the network moved on)
 *   intro changed  the live instances or their intro points changed:
 *                  PD_DEBOUNCE_S after the change was first seen, and not
 *                  sooner than PD_MIN_REBUILD_S after the last build
 *   refresh        pd_net_refresh_interval() after the last build, or
 *                  when the signing cert nears its end
 *   retry          the last build failed: backoff
 *
 * A build plans the slot's descriptors (plan.c: one, or one per fetch
 * HSDir) and makes those that need it.  A changed HSDir set needs no
 * build: the new HSDirs get a descriptor we have (network.c), and uploads
 * are upload.c's.  Nothing happens without a reasonably live consensus,
 * nor while our clock disagrees with it (pd_clock_check).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "publishd.h"

const char *
pd_reason_str(enum pd_reason r)
{
	switch (r) {
	case PD_R_NONE:
		return "none";
	case PD_R_FIRST:
		return "first";
	case PD_R_INTRO_CHANGED:
		return "intro-changed";
	case PD_R_REFRESH:
		return "refresh";
	case PD_R_ROLLOVER:
		return "rollover";
	case PD_R_RETRY:
		return "retry";
	}
	return "unknown";
}

static void
wake_at(time_t *wake, time_t t)
{
	if (t > 0 && (*wake == 0 || t < *wake))
		*wake = t;
}

static int
any_live(const struct pd_service *sv, time_t now)
{
	size_t i;

	for (i = 0; i < sv->ninstances; i++)
		if (pd_instance_is_live(&sv->instances[i], now))
			return 1;
	return 0;
}

static int
all_reported(const struct pd_service *sv)
{
	size_t i;

	for (i = 0; i < sv->ninstances; i++)
		if (!sv->instances[i].reported)
			return 0;
	return 1;
}

/* The build time of the slot's oldest descriptor in use. */
static time_t
oldest_build(const struct pd_slot *slot)
{
	time_t t = slot->built_at;
	size_t v;

	for (v = 0; v < pd_slot_nvariants(slot); v++)
		if (slot->variant[v].built_at < t)
			t = slot->variant[v].built_at;
	return t;
}

/* When the slot's descriptors are due for a refresh. */
static time_t
refresh_due(const struct pd *pd, const struct pd_slot *slot)
{
	time_t interval = pd_net_refresh_interval(&pd->net);
	time_t t = oldest_build(slot) + interval;
	time_t cert_end = (time_t)slot->signing_cert_exp_hours * 3600;

	/* build.c begins afresh when the cert has less than this left */
	if (slot->begun && cert_end - 2 * interval < t)
		t = cert_end - 2 * interval;
	/* never in a loop, whatever the cert says */
	if (t < slot->built_at + PD_MIN_REBUILD_S)
		t = slot->built_at + PD_MIN_REBUILD_S;
	return t;
}

enum pd_reason
pd_slot_due(const struct pd *pd, const struct pd_service *sv,
    const struct pd_slot *slot, time_t now, time_t *wake)
{
	time_t t;

	if (!slot->active || !any_live(sv, now))
		return PD_R_NONE;
	if (slot->build_failures > 0) {
		if (now >= slot->build_retry_at)
			return PD_R_RETRY;
		wake_at(wake, slot->build_retry_at);
		return PD_R_NONE;
	}
	if (!slot->built && !all_reported(sv) &&
	    now < pd->started + PD_STARTUP_GRACE_S) {
		wake_at(wake, pd->started + PD_STARTUP_GRACE_S);
		return PD_R_NONE;
	}
	if (!slot->built)
		return slot->pending == PD_R_ROLLOVER ? PD_R_ROLLOVER :
		    PD_R_FIRST;
	if (slot->pending != PD_R_NONE)
		return slot->pending;
	if (memcmp(sv->live_digest, slot->intro_digest, 32) != 0) {
		t = sv->change_seen_at + (sv->drop_pending ? 0 : PD_DEBOUNCE_S);
		if (t < slot->built_at + (sv->drop_pending ?
		    PD_MIN_REBUILD_DROP_S : PD_MIN_REBUILD_S))
			t = slot->built_at + (sv->drop_pending ?
			    PD_MIN_REBUILD_DROP_S : PD_MIN_REBUILD_S);
		if (now >= t)
			return PD_R_INTRO_CHANGED;
		wake_at(wake, t);
	}
	t = refresh_due(pd, slot);
	if (now >= t)
		return PD_R_REFRESH;
	wake_at(wake, t);
	return PD_R_NONE;
}

/*
 * Which variants a build makes: every one, except when only the live set
 * changed -- then those whose planned points changed (a change at one
 * backend is a new upload only where that backend is).
 */
static int
variant_needed(const struct pd_variant *va, enum pd_reason why)
{
	if (why != PD_R_INTRO_CHANGED || va->desc == NULL)
		return 1;
	return memcmp(va->plan_digest, va->built_digest, 32) != 0;
}

static int
variant_build(struct pd *pd, struct pd_service *sv, int k, size_t v,
    time_t now, char *err, size_t errlen)
{
	struct pd_slot *slot = &sv->slot[k];
	struct pd_variant *va = &slot->variant[v];

	if (va->npicks == 0) {
		snprintf(err, errlen, "no usable intro point");
		return -1;
	}
	if (pd->ops.build(pd->ops.build_arg, pd, sv, k, v, now, err,
	    errlen) == -1)
		return -1;
	va->gen++;
	va->built_at = now;
	memcpy(va->built_digest, va->plan_digest, 32);
	pd_variant_targets_reset(slot, v, now);
	log_info("%s: built %s descriptor %zu/%zu for period %llu: %zu "
	    "intro points, revision %llu, %zu bytes", sv->address,
	    k == PD_FIRST ? "first" : "second", v + 1,
	    pd_slot_nvariants(slot), (unsigned long long)slot->tp,
	    va->n_intro, (unsigned long long)va->revision, va->desc_len);
	return 0;
}

static void
slot_build(struct pd *pd, struct pd_service *sv, int k, enum pd_reason why,
    time_t now)
{
	struct pd_slot *slot = &sv->slot[k];
	char err[sizeof(slot->last_error)] = "";
	size_t v, nbuilt = 0;

	slot->last_attempt = now;
	pd_plan_slot(pd, sv, k, now);
	for (v = 0; v < pd_slot_nvariants(slot); v++) {
		if (!variant_needed(&slot->variant[v], why))
			continue;
		if (variant_build(pd, sv, k, v, now, err, sizeof(err)) == -1) {
			slot->build_failures++;
			slot->build_retry_at = now + pd_backoff(pd,
			    slot->build_failures);
			snprintf(slot->last_error, sizeof(slot->last_error),
			    "%s", err);
			log_warnx("%s: %s descriptor for period %llu (%s): %s",
			    sv->address, k == PD_FIRST ? "first" : "second",
			    (unsigned long long)slot->tp, pd_reason_str(why),
			    err);
			return;
		}
		nbuilt++;
	}
	slot->built = 1;
	if (nbuilt > 0)
		slot->built_at = now;
	slot->last_reason = why;
	slot->pending = PD_R_NONE;
	slot->build_failures = 0;
	slot->last_error[0] = '\0';
	memcpy(slot->intro_digest, sv->live_digest, 32);
	if (pd_slot_nvariants(slot) > 1)
		log_info("%s: %s descriptor for period %llu (%s): %zu of %zu "
		    "distinct descriptors built", sv->address,
		    k == PD_FIRST ? "first" : "second",
		    (unsigned long long)slot->tp, pd_reason_str(why), nbuilt,
		    pd_slot_nvariants(slot));
}

/* Every active slot was built without the dropped instances. */
static int
drop_published(const struct pd_service *sv)
{
	int k;

	for (k = 0; k < PD_SLOTS; k++)
		if (sv->slot[k].active && sv->slot[k].built &&
		    memcmp(sv->slot[k].intro_digest, sv->live_digest, 32) != 0)
			return 0;
	return 1;
}

/* Instances die by the clock too: look again when the next one would. */
static void
instance_wakes(const struct pd_service *sv, time_t now, time_t *wake)
{
	const struct pd_instance *in;
	size_t i;

	for (i = 0; i < sv->ninstances; i++) {
		in = &sv->instances[i];
		if (pd_instance_is_live(in, now))
			wake_at(wake, in->received_at +
			    (time_t)in->lifetime_min * 60);
	}
}

static void
service_tick(struct pd *pd, struct pd_service *sv, time_t now, time_t *wake)
{
	uint8_t digest[32];
	enum pd_reason why;
	int k;

	pd_service_liveness(sv, now);
	pd_live_digest(sv, now, digest);
	if (memcmp(digest, sv->live_digest, 32) != 0) {
		memcpy(sv->live_digest, digest, 32);
		sv->change_seen_at = now;
	}
	instance_wakes(sv, now, wake);
	for (k = 0; k < PD_SLOTS; k++) {
		why = pd_slot_due(pd, sv, &sv->slot[k], now, wake);
		if (why != PD_R_NONE)
			slot_build(pd, sv, k, why, now);
		/* a failed build has set its retry time */
		(void)pd_slot_due(pd, sv, &sv->slot[k], now, wake);
	}
	if (sv->drop_pending && drop_published(sv))
		sv->drop_pending = 0;
	wake_at(wake, pd_uploads_run(pd, sv, now));
}

/* "YYYY-MM-DD HH:MM:SS" UTC, for the log. */
static const char *
utc(char *buf, size_t len, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* Says once, at error level, that publishing stops for the clock, and why. */
static void
log_clock_refusal(const struct pd *pd, enum pd_clock c, int64_t skew,
    time_t now)
{
	char ours[32], theirs[32];

	utc(ours, sizeof(ours), now);
	if (c == PD_CLOCK_BEHIND)
		log_errorx("clock: our clock (%s UTC) is at least %lld s "
		    "behind the consensus (valid-after %s UTC): not "
		    "publishing until it agrees; run NTP", ours,
		    (long long)-skew, utc(theirs, sizeof(theirs),
		    pd->net.valid_after));
	else
		log_errorx("clock: our clock (%s UTC) is at least %lld s "
		    "ahead of the consensus (valid-until %s UTC when tor "
		    "handed it over), or tor has no fresh consensus: not "
		    "publishing until it agrees; run NTP", ours,
		    (long long)skew, utc(theirs, sizeof(theirs),
		    pd->net.valid_until));
}

/* Whether our clock agrees with the consensus; logs each change. */
static int
clock_agrees(struct pd *pd, time_t now)
{
	int64_t skew;
	enum pd_clock c = pd_clock_check(pd, now, &skew);

	if (c != pd->clock) {
		if (c != PD_CLOCK_OK)
			log_clock_refusal(pd, c, skew, now);
		else
			log_warnx("clock: agrees with the consensus again: "
			    "publishing");
	}
	pd->clock = c;
	pd->clock_skew = skew;
	return c == PD_CLOCK_OK;
}

time_t
pd_tick(struct pd *pd, time_t now)
{
	time_t wake = 0;
	size_t i;

	if (!pd_net_live(&pd->net, now)) {
		if (pd->net.have)
			log_warnx("no reasonably live consensus: not publishing");
		return 0;
	}
	if (!clock_agrees(pd, now))
		return now + PD_CLOCK_RECHECK_S;
	for (i = 0; i < pd->nservices; i++)
		service_tick(pd, &pd->services[i], now, &wake);
	return wake;
}

void
pd_republish(struct pd *pd)
{
	struct pd_slot *slot;
	size_t i;
	int k;

	for (i = 0; i < pd->nservices; i++)
		for (k = 0; k < PD_SLOTS; k++) {
			slot = &pd->services[i].slot[k];
			if (slot->built && slot->pending == PD_R_NONE)
				slot->pending = PD_R_REFRESH;
		}
}

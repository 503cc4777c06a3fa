/*
 * Uploads: every responsible HSDir of every descriptor gets the current
 * descriptor, by HSPOST SERVER=<fpr> HSADDRESS=<frontend>, and its outcome
 * is recorded.
 *
 * tor reports an HSPOST's outcome only as "HS_DESC UPLOADED <address>
 * UNKNOWN <hsdir>", which names neither the descriptor nor its period
 * (digest 9.5).  The address tells our services apart; the HSDir is the
 * rest.  So a service has at most one upload in flight per HSDir (the
 * first and second descriptors often share HSDirs): the next waits until
 * the outcome of the previous one is in, or until it timed out.
 *
 * A failed upload (FAILED event, refused HSPOST, or no event within
 * PD_UPLOAD_TIMEOUT_S) is retried for that HSDir alone, with exponential
 * backoff; a new descriptor starts every HSDir it is for afresh.
 *
 * When a slot has distinct descriptors (plan.c), each HSDir gets its own
 * variant; the generation and revision counter are the variant's, and an
 * HSDir's counter only rises (needs_higher_revision()).
 *
 * Several management hosts may publish one frontend (docs/deployment.md):
 * an HSDir that refuses an upload (UPLOAD_REJECTED: tor's HTTP 400) may
 * hold a newer build of another host, with a higher counter; the retry
 * then waits for a build with now's counter rather than send the same
 * one again.  The backoff goes on across that build, so a descriptor
 * refused for another reason costs a build per retry, not a storm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "publishd.h"
#include "torctl_events.h"

const char *
pd_target_state_str(enum pd_target_state s)
{
	switch (s) {
	case PD_T_PENDING:
		return "pending";
	case PD_T_IN_FLIGHT:
		return "in-flight";
	case PD_T_UPLOADED:
		return "uploaded";
	}
	return "unknown";
}

time_t
pd_backoff(const struct pd *pd, unsigned attempts)
{
	time_t cap = pd_net_backoff_cap(&pd->net), d = PD_BACKOFF_BASE_S;

	while (attempts-- > 1 && d < cap)
		d *= 2;
	return d < cap ? d : cap;
}

void
pd_variant_targets_reset(struct pd_slot *slot, size_t variant, time_t now)
{
	struct pd_target *t;
	size_t i;

	for (i = 0; i < slot->ntargets; i++) {
		t = &slot->targets[i];
		if (pd_target_variant(slot, t) != variant)
			continue;
		t->state = PD_T_PENDING;
		t->gen = slot->variant[variant].gen;
		t->next_try = now;
		if (t->refused_revision == 0)
			t->attempts = 0;	/* else the backoff goes on */
	}
}

struct pd_inflight *
pd_inflight_find(struct pd_service *sv, const char *fpr)
{
	size_t i;

	for (i = 0; i < sv->ninflight; i++)
		if (strcmp(sv->inflight[i].fpr, fpr) == 0)
			return &sv->inflight[i];
	return NULL;
}

static struct pd_target *
target_find(struct pd_slot *slot, const char *fpr)
{
	size_t i;

	for (i = 0; i < slot->ntargets; i++)
		if (strcmp(slot->targets[i].fpr, fpr) == 0)
			return &slot->targets[i];
	return NULL;
}

static void
inflight_add(struct pd_service *sv, const char *fpr, int k, size_t variant,
    const struct pd_variant *va, time_t now)
{
	struct pd_inflight *f;
	size_t cap;

	if (sv->ninflight == sv->inflight_cap) {
		cap = sv->inflight_cap ? sv->inflight_cap * 2 : 16;
		f = reallocarray(sv->inflight, cap, sizeof(*f));
		if (f == NULL)
			fatal("%s", __func__);
		sv->inflight = f;
		sv->inflight_cap = cap;
	}
	f = &sv->inflight[sv->ninflight++];
	memset(f, 0, sizeof(*f));
	snprintf(f->fpr, sizeof(f->fpr), "%s", fpr);
	f->slot = k;
	f->variant = variant;
	f->gen = va->gen;
	f->revision = va->revision;
	f->deadline = now + PD_UPLOAD_TIMEOUT_S;
}

/* The metrics' counters of one outcome (t NULL: its HSDir is gone). */
static void
count_result(struct pd_service *sv, struct pd_target *t, int ok, time_t now)
{
	if (ok)
		sv->uploads_ok++;
	else
		sv->uploads_failed++;
	if (t == NULL)
		return;
	if (ok) {
		t->uploads_ok++;
		t->last_success = now;
	} else
		t->uploads_failed++;
}

static void
target_failed(struct pd *pd, struct pd_target *t, const char *reason,
    time_t now)
{
	t->attempts++;
	t->state = PD_T_PENDING;
	t->next_try = now + pd_backoff(pd, t->attempts);
	t->last_result = PD_RES_FAILED;
	t->last_result_at = now;
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
}

/*
 * An HSDir refuses a revision counter not above the one it has.  A
 * target that now gets another variant (its ring position changed) may
 * hold a higher counter from us than that variant's, and one that refused
 * our upload may hold a higher one from another host: the slot is built
 * again, with now's counter, rather than sending what would be refused.
 */
static int
needs_higher_revision(struct pd_slot *slot, const struct pd_target *t,
    size_t v, time_t now)
{
	const struct pd_variant *va = &slot->variant[v];

	if (t->refused_revision < va->revision &&
	    (t->uploaded_revision < va->revision ||
	    (t->uploaded_variant == v && t->uploaded_gen == va->gen)))
		return 0;
	if (slot->pending == PD_R_NONE && now > va->built_at)
		slot->pending = PD_R_REFRESH;
	return 1;
}

/* Sends the pending uploads of one slot whose HSDir is free. */
static void
slot_send(struct pd *pd, struct pd_service *sv, int k, time_t now,
    time_t *wake)
{
	struct pd_slot *slot = &sv->slot[k];
	struct pd_variant *va;
	struct pd_target *t;
	size_t i, v;

	for (i = 0; i < slot->ntargets; i++) {
		t = &slot->targets[i];
		if (t->state != PD_T_PENDING)
			continue;
		if (t->next_try > now) {
			if (*wake == 0 || t->next_try < *wake)
				*wake = t->next_try;
			continue;
		}
		if (pd_inflight_find(sv, t->fpr) != NULL)
			continue;	/* its outcome, or timeout, wakes us */
		v = pd_target_variant(slot, t);
		va = &slot->variant[v];
		if (va->desc == NULL)
			continue;
		if (needs_higher_revision(slot, t, v, now)) {
			/* built this second: the next one gives a new counter */
			if (*wake == 0 || now + 1 < *wake)
				*wake = now + 1;
			continue;
		}
		t->last_attempt = now;
		t->gen = va->gen;
		if (pd->ops.post(pd->ops.post_arg, pd, sv, k, v, t->fpr) ==
		    -1) {
			count_result(sv, t, 0, now);
			target_failed(pd, t, "HSPOST not sent", now);
			if (*wake == 0 || t->next_try < *wake)
				*wake = t->next_try;
			continue;
		}
		t->state = PD_T_IN_FLIGHT;
		inflight_add(sv, t->fpr, k, v, va, now);
	}
}

time_t
pd_uploads_run(struct pd *pd, struct pd_service *sv, time_t now)
{
	time_t wake = 0;
	size_t i;
	int k;

	/* timeouts first: they free their HSDir for what waits */
	for (i = 0; i < sv->ninflight; ) {
		if (sv->inflight[i].deadline <= now) {
			pd_upload_result(pd, sv, sv->inflight[i].fpr, 0,
			    "TIMEOUT", now);
			continue;	/* the entry was removed */
		}
		i++;
	}
	if (!pd->uploads_enabled)
		return 0;
	for (k = 0; k < PD_SLOTS; k++)
		slot_send(pd, sv, k, now, &wake);
	for (i = 0; i < sv->ninflight; i++)
		if (wake == 0 || sv->inflight[i].deadline < wake)
			wake = sv->inflight[i].deadline;
	return wake;
}

void
pd_upload_result(struct pd *pd, struct pd_service *sv, const char *fpr,
    int ok, const char *reason, time_t now)
{
	struct pd_inflight *f, done;
	struct pd_target *t = NULL;

	if ((f = pd_inflight_find(sv, fpr)) == NULL)
		return;
	/* fpr may point into the entry that is about to be overwritten */
	done = *f;
	fpr = done.fpr;
	*f = sv->inflight[--sv->ninflight];
	if (done.slot >= 0)
		t = target_find(&sv->slot[done.slot], fpr);
	count_result(sv, t, ok, now);
	if (t == NULL)
		return;		/* the slot or HSDir is gone meanwhile */
	log_info("%s: upload of revision %llu (descriptor %zu) to $%s: "
	    "%s%s%s", sv->address, (unsigned long long)done.revision,
	    done.variant, fpr, ok ? "UPLOADED" : "FAILED", ok ? "" : " ",
	    ok ? "" : reason);
	if (t->state != PD_T_IN_FLIGHT || t->gen != done.gen ||
	    pd_target_variant(&sv->slot[done.slot], t) != done.variant) {
		/* a newer descriptor waits for this HSDir: only note it */
		t->last_result = ok ? PD_RES_UPLOADED : PD_RES_FAILED;
		t->last_result_at = now;
		/* the HSDir has this counter now, and refuses any lower */
		if (ok && done.revision > t->uploaded_revision)
			t->uploaded_revision = done.revision;
		return;
	}
	if (!ok) {
		if (strcmp(reason, "UPLOAD_REJECTED") == 0 &&
		    done.revision > t->refused_revision)
			t->refused_revision = done.revision;
		target_failed(pd, t, reason, now);
		return;
	}
	t->state = PD_T_UPLOADED;
	t->attempts = 0;
	t->refused_revision = 0;
	t->last_result = PD_RES_UPLOADED;
	t->last_result_at = now;
	if (done.revision > t->uploaded_revision)
		t->uploaded_revision = done.revision;
	t->uploaded_variant = done.variant;
	t->uploaded_gen = done.gen;
	t->reason[0] = '\0';
}

void
pd_uploads_abort(struct pd *pd, time_t now)
{
	size_t i;

	for (i = 0; i < pd->nservices; i++)
		while (pd->services[i].ninflight > 0)
			pd_upload_result(pd, &pd->services[i],
			    pd->services[i].inflight[0].fpr, 0,
			    "CONTROL_CLOSED", now);
}

/*
 * Reasons tor gives only for a failed fetch (digest 9.6): such an event
 * is someone fetching our address from that HSDir, not our upload.
 */
static int
fetch_only_reason(const char *reason)
{
	static const char *const fetch[] = { "BAD_DESC", "NOT_FOUND",
	    "QUERY_REJECTED", "QUERY_NO_HSDIR", "QUERY_RATE_LIMITED" };
	size_t i;

	for (i = 0; i < sizeof(fetch) / sizeof(fetch[0]); i++)
		if (strcmp(reason, fetch[i]) == 0)
			return 1;
	return 0;
}

int
pd_hs_desc_event(struct pd *pd, const struct torctl_hs_desc *ev, time_t now)
{
	struct pd_service *sv;
	int ok;

	if (ev->action == TORCTL_HS_DESC_UPLOADED)
		ok = 1;
	else if (ev->action == TORCTL_HS_DESC_FAILED)
		ok = 0;
	else
		return 0;
	if (ev->hsdir_fpr[0] == '\0' ||
	    (sv = pd_service_by_address(pd, ev->address)) == NULL ||
	    pd_inflight_find(sv, ev->hsdir_fpr) == NULL)
		return 0;
	if (!ok && fetch_only_reason(ev->reason))
		return 0;
	pd_upload_result(pd, sv, ev->hsdir_fpr, ok,
	    ok ? "" : (ev->reason[0] ? ev->reason : "FAILED"), now);
	return 1;
}

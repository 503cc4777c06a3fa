/*
 * The network as publishd sees it: the consensus values that set the
 * time periods, the HSDir ring, and which period, SRV and HSDirs each of
 * a service's two descriptor slots uses (and clearing a slot).  Every interval is derived from the
 * consensus, so the same binary works on the live network and on a test
 * network.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ed25519_expanded.h"
#include "log.h"
#include "publishd.h"

void
pd_slot_clear(struct pd_slot *slot)
{
	size_t v;

	for (v = 0; v < PD_VARIANTS_MAX; v++)
		free(slot->variant[v].desc);
	free(slot->targets);
	sodium_memzero(slot, sizeof(*slot));
}

size_t
pd_slot_nvariants(const struct pd_slot *slot)
{
	return slot->distinct ? slot->nvariants : 1;
}

size_t
pd_target_variant(const struct pd_slot *slot, const struct pd_target *t)
{
	return slot->distinct ? t->variant : 0;
}

int
pd_net_live(const struct pd_net *net, time_t now)
{
	if (!net->have)
		return 0;
	return now >= net->valid_after - PD_CONSENSUS_SLACK_S &&
	    now <= net->valid_until + PD_CONSENSUS_SLACK_S;
}

/*
 * Revision counters come from the clock (keyd's, within the SR period),
 * so that hosts publishing one frontend in parallel order their builds;
 * a clock far off breaks that, and the consensus is the one clock we can
 * compare with.  No consensus comes from the future, so one whose
 * valid-after is well ahead of now says our clock is behind.  Ahead is
 * less certain: tor fetches a new consensus before its old one expires,
 * so a consensus already expired when it arrives says our clock is ahead
 * (or that tor could get no fresh one); a consensus that only grows old
 * while we hold it, as in an outage of the authorities, is no reason to
 * stop: tor's own services go on publishing on a reasonably live one.
 */
enum pd_clock
pd_clock_check(const struct pd *pd, time_t now, int64_t *skew)
{
	const struct pd_net *net = &pd->net;
	time_t late = net->valid_until + PD_CLOCK_SLACK_S;

	*skew = 0;
	if (!net->have)
		return PD_CLOCK_OK;
	if (now < net->valid_after - PD_CLOCK_SLACK_S) {
		*skew = (int64_t)now - (int64_t)net->valid_after;
		return PD_CLOCK_BEHIND;
	}
	if (pd->consensus_at > late && now > late) {
		*skew = (int64_t)now - (int64_t)net->valid_until;
		return PD_CLOCK_AHEAD;
	}
	return PD_CLOCK_OK;
}

const char *
pd_clock_str(enum pd_clock c)
{
	switch (c) {
	case PD_CLOCK_OK:
		return "ok";
	case PD_CLOCK_BEHIND:
		return "behind";
	case PD_CLOCK_AHEAD:
		return "ahead";
	}
	return "unknown";
}

/*
 * digest 3.3: the first descriptor uses the previous SRV, the second the
 * current one; between a period's start and the next SRV they are for
 * periods cur-1 and cur, otherwise cur and cur+1.  A missing SRV line is
 * replaced by the disaster SRV of the period it is for, as tor does.
 */
int
pd_net_slot_period(const struct pd_net *net, int slot, uint64_t *tp,
    uint8_t srv[HS_SRV_LEN])
{
	uint64_t cur;
	int between, has;
	const uint8_t *value;

	if (!net->have)
		return -1;
	cur = hs_time_period_num(&net->params, net->valid_after);
	between = hs_in_period_between_tp_and_srv(&net->params,
	    net->valid_after);
	if (slot == PD_FIRST) {
		if (between && cur == 0)
			return -1;
		*tp = between ? cur - 1 : cur;
		has = net->has_srv_prev;
		value = net->srv_prev;
	} else {
		*tp = between ? cur : cur + 1;
		has = net->has_srv_cur;
		value = net->srv_cur;
	}
	if (has)
		memcpy(srv, value, HS_SRV_LEN);
	else
		hs_disaster_srv(srv, net->params.length_min, *tp);
	return 0;
}

/*
 * An HSDir drops a descriptor at upload time + lifetime (720 min).  We
 * republish every 60 min, about as often as tor's services (every 60-120
 * min), at least three times a lifetime, and at least twice a period on a
 * network whose periods are short: each upload with a higher counter
 * restarts an HSDir's lifetime, so the HSDirs hold a copy 11-12 h fresh
 * should every management host die (docs/deployment.md).
 */
time_t
pd_net_refresh_interval(const struct pd_net *net)
{
	time_t t = PD_REFRESH_MAX_S;

	if ((time_t)PD_DESC_LIFETIME_MIN * 60 / 3 < t)
		t = (time_t)PD_DESC_LIFETIME_MIN * 60 / 3;
	if (net->have && (time_t)net->params.length_min * 60 / 2 < t)
		t = (time_t)net->params.length_min * 60 / 2;
	return t;
}

/* Retries back off no further than a quarter period (10 min live). */
time_t
pd_net_backoff_cap(const struct pd_net *net)
{
	time_t cap = PD_BACKOFF_MAX_S;

	if (net->have && (time_t)net->params.length_min * 60 / 4 < cap)
		cap = (time_t)net->params.length_min * 60 / 4;
	if (cap < PD_BACKOFF_BASE_S)
		cap = PD_BACKOFF_BASE_S;
	return cap;
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

/* The responsible HSDirs for one spread, with their replicas. */
struct hsdir_list {
	size_t		  n;
	char		(*fpr)[PD_FPR_LEN + 1];
	unsigned	 *replica;
};

static void
hsdir_list_query(const struct pd *pd, const struct pd_slot *slot,
    unsigned spread, struct hsdir_list *l)
{
	struct pd_ring_query q;
	size_t max = (size_t)pd->net.n_replicas * spread;

	memset(l, 0, sizeof(*l));
	if (max == 0)
		return;
	if ((l->fpr = calloc(max, sizeof(*l->fpr))) == NULL ||
	    (l->replica = calloc(max, sizeof(*l->replica))) == NULL)
		fatal("%s", __func__);
	q = (struct pd_ring_query){ slot->blinded_key, slot->tp,
	    slot->params.length_min, slot->srv, pd->net.n_replicas, spread,
	    l->replica };
	l->n = pd->ring.responsible(pd->ring.impl, &q, l->fpr, max);
}

static void
hsdir_list_free(struct hsdir_list *l)
{
	free(l->fpr);
	free(l->replica);
	memset(l, 0, sizeof(*l));
}

static long
hsdir_list_find(const struct hsdir_list *l, const char *fpr)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->fpr[i], fpr) == 0)
			return (long)i;
	return -1;
}

/*
 * One variant per fetch HSDir (at most PD_VARIANTS_MAX), of its replica.
 * Returns 1 if that differs from the slot's layout: the plan starts over.
 */
static int
slot_layout(struct pd_slot *slot, const struct hsdir_list *fetch)
{
	size_t v, n = fetch->n < PD_VARIANTS_MAX ? fetch->n : PD_VARIANTS_MAX;
	int changed = n != slot->nvariants;

	for (v = 0; v < n; v++)
		if (slot->variant[v].replica != fetch->replica[v])
			changed = 1;
	if (!changed)
		return 0;
	for (v = 0; v < PD_VARIANTS_MAX; v++) {
		slot->variant[v].replica = v < n ? fetch->replica[v] : 0;
		slot->variant[v].nshares = 0;
		memset(slot->variant[v].built_digest, 0, 32);
	}
	slot->nvariants = n;
	return 1;
}

/* The nth variant of replica r (cyclically), or -1 if it has none. */
static long
nth_variant(const struct pd_slot *slot, unsigned r, size_t nth)
{
	size_t v, k = 0;

	for (v = 0; v < slot->nvariants; v++)
		k += slot->variant[v].replica == r;
	if (k == 0)
		return -1;
	nth %= k;
	for (v = 0; v < slot->nvariants; v++)
		if (slot->variant[v].replica == r && nth-- == 0)
			return (long)v;
	return -1;
}

/* A variant of replica r that no fetch HSDir holds, or -1. */
static long
unheld_variant(const struct pd_slot *slot, const int *held, unsigned r)
{
	size_t v;

	for (v = 0; v < slot->nvariants; v++)
		if (slot->variant[v].replica == r && !held[v])
			return (long)v;
	return -1;
}

/*
 * Which variant each HSDir gets.  One that keeps its replica keeps its
 * variant (its descriptor need not change); a new fetch HSDir takes a
 * variant of its replica no fetch HSDir holds (the one of the HSDir it
 * replaced); a store-only HSDir, a fallback, one of its replica's.
 */
static void
assign_variants(struct pd_slot *slot, struct pd_target *tset, size_t n,
    int *kept)
{
	int held[PD_VARIANTS_MAX];
	size_t i, nth = 0;
	long v;

	memset(held, 0, sizeof(held));
	for (i = 0; i < n; i++) {
		if (!kept[i] || tset[i].variant >= slot->nvariants ||
		    slot->variant[tset[i].variant].replica != tset[i].replica ||
		    (tset[i].fetch && held[tset[i].variant]))
			kept[i] = 0;
		else if (tset[i].fetch)
			held[tset[i].variant] = 1;
	}
	for (i = 0; i < n; i++) {
		if (kept[i])
			continue;
		v = tset[i].fetch ? unheld_variant(slot, held,
		    tset[i].replica) : -1;
		if (v == -1)
			v = nth_variant(slot, tset[i].replica, nth++);
		if (v == -1)
			v = slot->nvariants > 0 ? (long)(nth++ %
			    slot->nvariants) : 0;
		if (tset[i].fetch)
			held[v] = 1;
		if (tset[i].variant != (size_t)v && slot->distinct) {
			/* another descriptor for this HSDir */
			tset[i].state = PD_T_PENDING;
			tset[i].gen = 0;
		}
		tset[i].variant = (size_t)v;
	}
}

static struct pd_target *
target_add(struct pd_slot *slot, struct pd_target *tset, size_t *n,
    int *kept, const char *fpr, unsigned replica, int fetch, time_t now)
{
	struct pd_target *t = &tset[*n], *old;

	if ((old = target_find(slot, fpr)) != NULL) {
		*t = *old;
		kept[*n] = 1;
	} else {
		memset(t, 0, sizeof(*t));
		memcpy(t->fpr, fpr, sizeof(t->fpr));
		t->state = PD_T_PENDING;
		t->next_try = now;
		kept[*n] = 0;
	}
	t->fetch = fetch;
	if (kept[*n] && t->replica != replica)
		kept[*n] = 0;
	t->replica = replica;
	(*n)++;
	return t;
}

/*
 * The HSDirs of the slot's descriptors: the store HSDirs and (normally
 * among them) the fetch HSDirs.  One that stays keeps its upload state; a
 * new one is pending for the current descriptor ("HSDir set changed": it
 * gets a descriptor we have, no rebuild needed).
 */
size_t
pd_slot_update_hsdirs(struct pd *pd, struct pd_slot *slot, time_t now)
{
	struct hsdir_list store, fetch;
	struct pd_target *tset;
	size_t i, n = 0, added = 0;
	int *kept, relayout;
	long f;

	if (!slot->active || pd->ring.responsible == NULL ||
	    pd->net.n_replicas == 0 || pd->net.spread_store == 0)
		return 0;
	hsdir_list_query(pd, slot, pd->net.spread_store, &store);
	hsdir_list_query(pd, slot, pd->net.spread_fetch ?
	    pd->net.spread_fetch : PD_SPREAD_FETCH_DEFAULT, &fetch);
	if ((tset = calloc(store.n + fetch.n + 1, sizeof(*tset))) == NULL ||
	    (kept = calloc(store.n + fetch.n + 1, sizeof(*kept))) == NULL)
		fatal("%s", __func__);
	relayout = slot_layout(slot, &fetch);
	for (i = 0; i < store.n; i++) {
		f = hsdir_list_find(&fetch, store.fpr[i]);
		target_add(slot, tset, &n, kept, store.fpr[i], f == -1 ?
		    store.replica[i] : fetch.replica[f], f != -1, now);
	}
	/* a fetch HSDir that is not a store one (tor's walks differ) */
	for (i = 0; i < fetch.n; i++)
		if (hsdir_list_find(&store, fetch.fpr[i]) == -1)
			target_add(slot, tset, &n, kept, fetch.fpr[i],
			    fetch.replica[i], 1, now);
	for (i = 0; i < n; i++) {
		if (relayout)
			kept[i] = 0;
		if (target_find(slot, tset[i].fpr) == NULL)
			added++;
	}
	assign_variants(slot, tset, n, kept);
	if (relayout && slot->distinct)
		slot->pending = PD_R_REFRESH;
	hsdir_list_free(&store);
	hsdir_list_free(&fetch);
	free(kept);
	if (n != slot->ntargets || added > 0)
		log_info("%s: period %llu: %zu HSDirs, %zu new, %zu "
		    "descriptors", __func__, (unsigned long long)slot->tp, n,
		    added, pd_slot_nvariants(slot));
	free(slot->targets);
	slot->targets = tset;
	slot->ntargets = n;
	slot->hsdirs_known = 1;
	return added;
}

/* A slot for a period we had no descriptor for. */
static void
slot_activate(struct pd_slot *slot, const struct pd_service *sv,
    const struct pd_net *net, uint64_t tp, const uint8_t srv[HS_SRV_LEN],
    enum pd_reason why)
{
	pd_slot_clear(slot);
	slot->active = 1;
	slot->tp = tp;
	slot->params = net->params;
	memcpy(slot->srv, srv, HS_SRV_LEN);
	if (hs_blind_pubkey(slot->blinded_key, sv->identity, tp,
	    net->params.length_min) == -1)
		fatalx("%s: invalid identity key", __func__);
	slot->pending = why;
}

static int
had_descriptor(const struct pd_service *sv)
{
	return sv->slot[PD_FIRST].built || sv->slot[PD_SECOND].built;
}

/*
 * At the SRV the second descriptor's period becomes the first one's: the
 * slot moves with everything it has (keys, counter, uploads), so nothing
 * is rebuilt or uploaded for it.  A slot whose period is no longer used
 * is dropped; a slot for a period new to us is built ("rollover").
 */
static void
service_move_slots(struct pd_service *sv, const struct pd_net *net)
{
	struct pd_slot fresh[PD_SLOTS];
	int map[PD_SLOTS] = { -1, -1 }, k, j;
	uint8_t srv[HS_SRV_LEN];
	uint64_t tp;
	enum pd_reason why = had_descriptor(sv) ? PD_R_ROLLOVER : PD_R_FIRST;
	size_t i;

	memset(fresh, 0, sizeof(fresh));
	for (k = 0; k < PD_SLOTS; k++) {
		if (pd_net_slot_period(net, k, &tp, srv) == -1)
			continue;
		for (j = 0; j < PD_SLOTS; j++) {
			if (!sv->slot[j].active || sv->slot[j].tp != tp ||
			    sv->slot[j].params.length_min !=
			    net->params.length_min)
				continue;
			fresh[k] = sv->slot[j];
			memset(&sv->slot[j], 0, sizeof(sv->slot[j]));
			memcpy(fresh[k].srv, srv, HS_SRV_LEN);
			fresh[k].params = net->params;
			map[j] = k;
			break;
		}
		if (!fresh[k].active)
			slot_activate(&fresh[k], sv, net, tp, srv, why);
	}
	for (j = 0; j < PD_SLOTS; j++)
		pd_slot_clear(&sv->slot[j]);
	memcpy(sv->slot, fresh, sizeof(fresh));
	/* an upload in flight for a dropped slot still occupies its HSDir */
	for (i = 0; i < sv->ninflight; i++)
		if (sv->inflight[i].slot >= 0)
			sv->inflight[i].slot = map[sv->inflight[i].slot];
}

void
pd_service_network(struct pd *pd, struct pd_service *sv, time_t now)
{
	int k;

	if (!pd->net.have)
		return;
	service_move_slots(sv, &pd->net);
	for (k = 0; k < PD_SLOTS; k++)
		pd_slot_update_hsdirs(pd, &sv->slot[k], now);
}

void
pd_set_network(struct pd *pd, const struct pd_net *net,
    const struct pd_ring *ring, time_t now)
{
	size_t i;

	if (pd->ring.free != NULL)
		pd->ring.free(pd->ring.impl);
	pd->ring = *ring;
	pd->net = *net;
	pd->consensus_at = now;
	for (i = 0; i < pd->nservices; i++)
		pd_service_network(pd, &pd->services[i], now);
}

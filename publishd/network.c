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
	free(slot->desc);
	free(slot->targets);
	sodium_memzero(slot, sizeof(*slot));
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
 * An HSDir drops a descriptor at upload time + lifetime (180 min).  We
 * republish after a third of that at most, as tor's services do every
 * 60-120 min, and at least twice a period on a network whose periods are
 * short, so that the HSDirs never hold a copy near its end.
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

static size_t
ring_capacity(const struct pd_net *net)
{
	return (size_t)net->n_replicas * net->spread_store;
}

/*
 * The HSDirs of the slot's descriptor.  One that stays keeps its upload
 * state; a new one is pending for the current descriptor ("HSDir set
 * changed": it gets the descriptor we have, no rebuild needed).
 */
size_t
pd_slot_update_hsdirs(struct pd *pd, struct pd_slot *slot, time_t now)
{
	struct pd_ring_query q;
	char (*fprs)[PD_FPR_LEN + 1];
	struct pd_target *targets, *old;
	size_t i, n, added = 0, max = ring_capacity(&pd->net);

	if (!slot->active || pd->ring.responsible == NULL || max == 0)
		return 0;
	if ((fprs = calloc(max, sizeof(*fprs))) == NULL)
		fatal("%s", __func__);
	q = (struct pd_ring_query){ slot->blinded_key, slot->tp,
	    slot->params.length_min, slot->srv, pd->net.n_replicas,
	    pd->net.spread_store };
	n = pd->ring.responsible(pd->ring.impl, &q, fprs, max);
	if ((targets = calloc(n ? n : 1, sizeof(*targets))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < n; i++) {
		if ((old = target_find(slot, fprs[i])) != NULL) {
			targets[i] = *old;
			continue;
		}
		memcpy(targets[i].fpr, fprs[i], sizeof(targets[i].fpr));
		targets[i].state = PD_T_PENDING;
		targets[i].gen = slot->gen;
		targets[i].next_try = now;
		added++;
	}
	free(fprs);
	if (n != slot->ntargets || added > 0)
		log_info("%s: period %llu: %zu HSDirs, %zu new", __func__,
		    (unsigned long long)slot->tp, n, added);
	free(slot->targets);
	slot->targets = targets;
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
	return sv->slot[PD_FIRST].desc != NULL ||
	    sv->slot[PD_SECOND].desc != NULL;
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

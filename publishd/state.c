/*
 * publishd's services and instances: the configuration the parent sent,
 * and what fetchd last said about each instance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "log.h"
#include "peer_msg.h"
#include "publishd.h"

void
pd_init(struct pd *pd, const struct pd_ops *ops)
{
	memset(pd, 0, sizeof(*pd));
	pd->ops = *ops;
}

void
pd_keyd_reset(struct pd *pd)
{
	size_t i;
	int k;

	for (i = 0; i < pd->nservices; i++)
		for (k = 0; k < PD_SLOTS; k++)
			pd->services[i].slot[k].begun = 0;
}

static void
service_free(struct pd_service *sv)
{
	int i;

	for (i = 0; i < PD_SLOTS; i++)
		pd_slot_clear(&sv->slot[i]);
	free(sv->instances);
	free(sv->inflight);
	free(sv->auth_clients);
	memset(sv, 0, sizeof(*sv));
}

void
pd_clear(struct pd *pd)
{
	size_t i;

	for (i = 0; i < pd->nservices; i++)
		service_free(&pd->services[i]);
	free(pd->services);
	pd->services = NULL;
	pd->nservices = 0;
	if (pd->ring.free != NULL)
		pd->ring.free(pd->ring.impl);
	memset(&pd->ring, 0, sizeof(pd->ring));
}

static struct pd_service *
service_by_identity(struct pd_service *svs, size_t n, const uint8_t id[32])
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(svs[i].identity, id, 32) == 0)
			return &svs[i];
	return NULL;
}

/* An instance that stays keeps what fetchd told us; its number may change. */
static void
instance_keep(struct pd_instance *to, const struct pd_service *old)
{
	uint32_t index = to->index;
	char name[sizeof(to->name)];
	size_t i;

	for (i = 0; i < old->ninstances; i++) {
		if (memcmp(old->instances[i].key, to->key, 32) != 0)
			continue;
		memcpy(name, to->name, sizeof(name));
		*to = old->instances[i];
		to->index = index;
		memcpy(to->name, name, sizeof(name));
		return;
	}
}

/*
 * A reload numbers the instances afresh: the picks follow their
 * instance's key, and those of an instance that left are dropped (the
 * next plan replaces them).
 */
static void
slot_remap_picks(struct pd_slot *slot, const struct pd_service *from,
    const struct pd_service *to)
{
	struct pd_variant *va;
	size_t v, j, n, i;

	for (v = 0; v < PD_VARIANTS_MAX; v++) {
		va = &slot->variant[v];
		for (j = 0, n = 0; j < va->npicks; j++) {
			if (va->picks[j].instance >= from->ninstances)
				continue;
			for (i = 0; i < to->ninstances; i++)
				if (memcmp(to->instances[i].key, from->instances[
				    va->picks[j].instance].key, 32) == 0)
					break;
			if (i == to->ninstances ||
			    va->picks[j].point >= to->instances[i].n_intro)
				continue;
			va->picks[n] = va->picks[j];
			va->picks[n++].instance = (uint32_t)i;
		}
		va->npicks = n;
	}
}

static int
same_auth_clients(const struct pd_service *a, const struct pd_service *b)
{
	return a->nauth_clients == b->nauth_clients &&
	    (a->nauth_clients == 0 || memcmp(a->auth_clients,
	    b->auth_clients, a->nauth_clients * 32) == 0);
}

/* A service that stays keeps its descriptors and uploads in flight. */
static void
service_keep(struct pd_service *to, struct pd_service *old)
{
	size_t i;

	for (i = 0; i < to->ninstances; i++)
		instance_keep(&to->instances[i], old);
	for (i = 0; i < PD_SLOTS; i++)
		slot_remap_picks(&old->slot[i], old, to);
	memcpy(to->slot, old->slot, sizeof(to->slot));
	memset(old->slot, 0, sizeof(old->slot));
	/*
	 * Another way to publish, or other clients (a removed one must not
	 * read the next descriptor): built again at once.
	 */
	if (to->shared_only != old->shared_only ||
	    to->per_descriptor != old->per_descriptor ||
	    !same_auth_clients(to, old))
		for (i = 0; i < PD_SLOTS; i++)
			if (to->slot[i].built &&
			    to->slot[i].pending == PD_R_NONE)
				to->slot[i].pending = PD_R_REFRESH;
	to->inflight = old->inflight;
	to->ninflight = old->ninflight;
	to->inflight_cap = old->inflight_cap;
	to->uploads_ok = old->uploads_ok;
	to->uploads_failed = old->uploads_failed;
	old->inflight = NULL;
	old->ninflight = old->inflight_cap = 0;
	/* The instance set may differ: let the schedule compare afresh. */
	memcpy(to->live_digest, old->live_digest, 32);
}

int
pd_configure(struct pd *pd, struct pd_service *services, size_t nservices,
    uint32_t generation, time_t now)
{
	struct pd_service *old;
	size_t i;

	for (i = 0; i < nservices; i++) {
		onion_address_from_pubkey(services[i].address,
		    services[i].identity);
		old = service_by_identity(pd->services, pd->nservices,
		    services[i].identity);
		if (old != NULL)
			service_keep(&services[i], old);
	}
	for (i = 0; i < pd->nservices; i++)
		service_free(&pd->services[i]);
	free(pd->services);
	pd->services = services;
	pd->nservices = nservices;
	pd->generation = generation;
	if (pd->started == 0)
		pd->started = now;
	/* new services get their slots now, the others keep theirs */
	for (i = 0; i < nservices; i++)
		pd_service_network(pd, &services[i], now);
	return 0;
}

struct pd_service *
pd_service_by_address(struct pd *pd, const char *addr)
{
	size_t i;

	for (i = 0; i < pd->nservices; i++)
		if (strcmp(pd->services[i].address, addr) == 0)
			return &pd->services[i];
	return NULL;
}

/*
 * fetchd numbers services and instances as the parent's configuration
 * does; the key guards against a message that crossed a reload.
 */
struct pd_instance *
pd_instance_lookup(struct pd *pd, uint32_t service, uint32_t instance,
    const uint8_t key[32])
{
	struct pd_service *sv;

	if (service >= pd->nservices)
		return NULL;
	sv = &pd->services[service];
	if (instance >= sv->ninstances ||
	    memcmp(sv->instances[instance].key, key, 32) != 0)
		return NULL;
	return &sv->instances[instance];
}

int
pd_instance_usable(const struct pd_instance *in, time_t now)
{
	if (!in->has_desc || in->n_intro == 0)
		return 0;
	return now < in->received_at + (time_t)in->lifetime_min * 60;
}

int
pd_instance_dropped(const struct pd_instance *in)
{
	return in->liveness == PEER_LIVENESS_DEAD ||
	    in->liveness == PEER_LIVENESS_RETURNING;
}

int
pd_instance_is_live(const struct pd_instance *in, time_t now)
{
	return pd_instance_usable(in, now) &&
	    (!pd_instance_dropped(in) || in->kept);
}

void
pd_service_liveness(struct pd_service *sv, time_t now)
{
	struct pd_instance *in;
	size_t i, usable = 0, up = 0;

	for (i = 0; i < sv->ninstances; i++) {
		in = &sv->instances[i];
		if (!pd_instance_usable(in, now))
			continue;
		usable++;
		if (!pd_instance_dropped(in))
			up++;
	}
	if (up > 0 || usable == 0) {
		if (sv->all_dead && up > 0)
			log_warnx("%s: instances answer again; publishing the "
			    "live ones", sv->address);
		sv->all_dead = 0;
		for (i = 0; i < sv->ninstances; i++) {
			in = &sv->instances[i];
			in->kept = 0;
			if (up > 0)
				in->in_last_set = pd_instance_usable(in, now) &&
				    !pd_instance_dropped(in);
		}
		return;
	}
	if (!sv->all_dead) {
		sv->all_dead_since = now;
		log_errorx("%s: every instance is unreachable; keeping "
		    "the last published introduction points", sv->address);
	}
	sv->all_dead = 1;
	for (i = 0; i < sv->ninstances; i++)
		sv->instances[i].kept = sv->instances[i].in_last_set;
}

int
pd_instance_liveness(struct pd *pd, const struct peer_liveness_msg *l,
    time_t now)
{
	struct pd_instance *in;
	int was_dropped;

	if ((in = pd_instance_lookup(pd, l->service, l->instance,
	    l->instance_key)) == NULL)
		return -1;
	was_dropped = pd_instance_dropped(in);
	in->liveness = l->liveness;
	in->liveness_since = (time_t)l->since;
	in->last_probe = (time_t)l->last_probe;
	snprintf(in->probe_outcome, sizeof(in->probe_outcome), "%s",
	    l->outcome);
	snprintf(in->drop_reason, sizeof(in->drop_reason), "%s", l->reason);
	if (!was_dropped && pd_instance_dropped(in)) {
		pd->services[l->service].drop_pending = 1;
		log_warnx("%s: instance %s dropped: %s", pd->services[
		    l->service].address, in->name, l->reason);
	} else if (was_dropped && !pd_instance_dropped(in))
		log_info("%s: instance %s is back", pd->services[
		    l->service].address, in->name);
	pd_service_liveness(&pd->services[l->service], now);
	return 0;
}

static int
cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* The digest of an intro set: its auth keys, sorted, so order does not count. */
static void
intro_digest(const struct hsdesc_intro_point *ip, size_t n, uint8_t out[32])
{
	uint8_t keys[HSDESC_MAX_INTRO_POINTS][32];
	size_t i;

	for (i = 0; i < n; i++)
		memcpy(keys[i], ip[i].auth_key, 32);
	qsort(keys, n, 32, cmp_key);
	sha3_256(out, keys, n * 32);
}

int
pd_instance_desc(struct pd *pd, uint32_t service, uint32_t instance,
    const uint8_t key[32], const struct pd_instance *desc, time_t now)
{
	struct pd_instance *in;
	uint8_t digest[32];

	if ((in = pd_instance_lookup(pd, service, instance, key)) == NULL)
		return -1;
	if (desc->n_intro > HSDESC_MAX_INTRO_POINTS)
		return -1;
	intro_digest(desc->intro, desc->n_intro, digest);
	in->reports[0]++;
	if (!in->has_desc || memcmp(digest, in->intro_digest, 32) != 0)
		in->intro_modified = now;
	memcpy(in->intro_digest, digest, 32);
	in->reported = 1;
	in->has_desc = 1;
	in->state_since = now;
	in->detail[0] = '\0';
	in->tp = desc->tp;
	in->received_at = desc->received_at;
	in->revision = desc->revision;
	in->lifetime_min = desc->lifetime_min;
	in->flags = desc->flags;
	memcpy(in->flow_control, desc->flow_control, sizeof(in->flow_control));
	in->n_intro = desc->n_intro;
	memcpy(in->intro, desc->intro, desc->n_intro * sizeof(desc->intro[0]));
	return 0;
}

int
pd_instance_state(struct pd *pd, uint32_t service, uint32_t instance,
    const uint8_t key[32], enum peer_instance_state state, time_t since,
    const char *detail, time_t now)
{
	struct pd_instance *in;

	if ((in = pd_instance_lookup(pd, service, instance, key)) == NULL)
		return -1;
	if (state >= PEER_STATE_NO_DESCRIPTOR && state <= PEER_STATE_EXPIRED)
		in->reports[state]++;
	/*
	 * NO_DESCRIPTOR only says that fetchd has not fetched one yet: a
	 * fetchd that just started, or was restarted, says it of every
	 * instance.  That is no news about the backend: a descriptor we hold
	 * stays (until its own lifetime, or fetchd's verdict on a real
	 * fetch), and it does not count as a report, so the first build
	 * still waits for real fetch results (or the start-up grace) instead
	 * of publishing whichever instance happened to be fetched first.
	 */
	if (state == PEER_STATE_NO_DESCRIPTOR) {
		if (!in->has_desc) {
			in->state = state;
			in->state_since = since;
			in->detail[0] = '\0';
		}
		return 0;
	}
	in->reported = 1;
	if (in->has_desc)
		in->intro_modified = now;	/* its points leave the set */
	in->has_desc = 0;
	in->n_intro = 0;
	in->state = state;
	in->state_since = since;
	snprintf(in->detail, sizeof(in->detail), "%s", detail);
	return 0;
}

void
pd_live_digest(const struct pd_service *sv, time_t now, uint8_t out[32])
{
	struct bytes_ref parts[3];
	uint8_t index[4];
	size_t i;

	/*
	 * A chain over the live instances, in configuration order: it moves
	 * when an instance becomes live or dead or when its intro set
	 * changes, and at nothing else.
	 */
	memset(out, 0, 32);
	for (i = 0; i < sv->ninstances; i++) {
		if (!pd_instance_is_live(&sv->instances[i], now))
			continue;
		put_u32_be(index, (uint32_t)i);
		parts[0] = (struct bytes_ref){ out, 32 };
		parts[1] = BYTES_OF(index);
		parts[2] = (struct bytes_ref){ sv->instances[i].intro_digest, 32 };
		sha3_256_parts(out, parts, 3);
	}
}

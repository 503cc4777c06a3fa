/*
 * The real HSDir ring behind struct pd_ring: tor's consensus and
 * microdescriptors (common/codec/consensus.h) and the ring walk
 * (common/codec/hashring.h), one ring per stored descriptor (first, second).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus.h"
#include "hashring.h"
#include "log.h"
#include "publishd.h"

struct pd_hashring {
	struct hashring		 ring[PD_SLOTS];
	int			 have[PD_SLOTS];
	struct hashring_hsdir	*out;		/* HASHRING_MAX_RESPONSIBLE */
};

static void
hashring_impl_free(void *impl)
{
	struct pd_hashring *hr = impl;
	int k;

	if (hr == NULL)
		return;
	for (k = 0; k < PD_SLOTS; k++)
		if (hr->have[k])
			hashring_clear(&hr->ring[k]);
	free(hr->out);
	free(hr);
}

/* The ring built for exactly this period and SRV, if any. */
static const struct hashring *
ring_for(const struct pd_hashring *hr, const struct pd_ring_query *q)
{
	const struct hashring *r;
	int k;

	for (k = 0; k < PD_SLOTS; k++) {
		r = &hr->ring[k];
		if (hr->have[k] && r->period.tp == q->tp &&
		    r->period.length_min == q->length_min &&
		    memcmp(r->period.srv, q->srv, HS_SRV_LEN) == 0)
			return r;
	}
	return NULL;
}

static size_t
hashring_impl_responsible(void *impl, const struct pd_ring_query *q,
    char (*fprs)[PD_FPR_LEN + 1], size_t max)
{
	struct pd_hashring *hr = impl;
	const struct hashring *r;
	struct hashring walk;
	enum hashring_error err;
	size_t i, n;

	if ((r = ring_for(hr, q)) == NULL) {
		log_warnx("no HSDir ring for period %llu",
		    (unsigned long long)q->tp);
		return 0;
	}
	/* the same ring, walked for this query's spread (store or fetch) */
	walk = *r;
	walk.n_replicas = q->n_replicas;
	walk.spread = q->spread;
	err = hashring_responsible(&walk, q->blinded_key, hr->out,
	    HASHRING_MAX_RESPONSIBLE, &n);
	if (err != HASHRING_OK) {
		log_warnx("HSDir ring: %s", hashring_strerror(err));
		return 0;
	}
	for (i = 0; i < n && i < max; i++) {
		snprintf(fprs[i], PD_FPR_LEN + 1, "%s", hr->out[i].fingerprint);
		if (q->replica != NULL)
			q->replica[i] = hr->out[i].replica;
	}
	return i;
}

static void
net_from_consensus(struct pd_net *net, const struct consensus *c)
{
	memset(net, 0, sizeof(*net));
	net->have = 1;
	net->valid_after = c->valid_after;
	net->fresh_until = c->fresh_until;
	net->valid_until = c->valid_until;
	net->hsdir_interval_min = (uint64_t)c->params.hsdir_interval;
	net->params = c->period;
	net->n_replicas = (unsigned)c->params.hsdir_n_replicas;
	net->spread_store = (unsigned)c->params.hsdir_spread_store;
	net->spread_fetch = (unsigned)c->params.hsdir_spread_fetch;
	net->cc_sendme_inc = (unsigned)c->params.cc_sendme_inc;
	net->max_desc_size = (size_t)c->params.hsv3_max_descriptor_size;
	net->has_srv_cur = c->has_srv_current;
	net->has_srv_prev = c->has_srv_previous;
	memcpy(net->srv_cur, c->srv_current, HS_SRV_LEN);
	memcpy(net->srv_prev, c->srv_previous, HS_SRV_LEN);
}

static int
build_rings(struct pd_hashring *hr, const struct consensus *c, time_t now,
    char *why, size_t whylen)
{
	static const enum hashring_use use[PD_SLOTS] = {
		HASHRING_STORE_FIRST, HASHRING_STORE_SECOND };
	enum hashring_error err;
	int k;

	for (k = 0; k < PD_SLOTS; k++) {
		if ((err = hashring_build(&hr->ring[k], c, use[k], now)) !=
		    HASHRING_OK) {
			snprintf(why, whylen, "HSDir ring: %s",
			    hashring_strerror(err));
			return -1;
		}
		hr->have[k] = 1;
	}
	return 0;
}

int
pd_network_from_tor(const char *cons, size_t cons_len, const char *md,
    size_t md_len, time_t now, struct pd_net *net, struct pd_ring *ring,
    char *why, size_t whylen)
{
	struct consensus *c = NULL;
	struct consensus_diag diag;
	struct microdesc_stats st;
	struct pd_hashring *hr;
	enum consensus_error err;
	int rc = -1;

	if ((err = consensus_parse(cons, cons_len, &c, &diag)) !=
	    CONSENSUS_OK) {
		snprintf(why, whylen, "consensus: line %zu: %s: %s", diag.line,
		    diag.keyword, consensus_strerror(err));
		return -1;
	}
	if (!consensus_is_reasonably_live(c, now)) {
		snprintf(why, whylen, "consensus not reasonably live");
		goto out;
	}
	if (consensus_add_microdescs(c, md, md_len, &st) == -1) {
		snprintf(why, whylen, "md/all unusable");
		goto out;
	}
	if ((hr = calloc(1, sizeof(*hr))) == NULL ||
	    (hr->out = calloc(HASHRING_MAX_RESPONSIBLE,
	    sizeof(*hr->out))) == NULL)
		fatal("%s", __func__);
	if (build_rings(hr, c, now, why, whylen) == -1) {
		hashring_impl_free(hr);
		goto out;
	}
	log_info("consensus valid-after %lld: %zu relays, %zu with an "
	    "ed25519 id", (long long)c->valid_after, c->n_relays,
	    st.n_relays_with_id);
	net_from_consensus(net, c);
	ring->responsible = hashring_impl_responsible;
	ring->free = hashring_impl_free;
	ring->impl = hr;
	rc = 0;
 out:
	consensus_free(c);
	return rc;
}

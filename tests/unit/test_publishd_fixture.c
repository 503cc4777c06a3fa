/*
 * The publishd test fixture (test_publishd_fixture.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "test_hsdesc_fixture.h"
#include "test_publishd_fixture.h"

unsigned tpd_ring_shift;

void
tpd_fpr(char out[PD_FPR_LEN + 1], unsigned n)
{
	snprintf(out, PD_FPR_LEN + 1, "%040X", n + 0xA0u);
}

static size_t
stub_responsible(void *impl, const struct pd_ring_query *q,
    char (*fprs)[PD_FPR_LEN + 1], size_t max)
{
	size_t i;

	size_t n = (size_t)q->n_replicas * q->spread;

	(void)impl;
	/*
	 * Replica r's HSDirs are its spread_store ring positions; a fetch
	 * query (a smaller spread) gets the first of each, as tor's walk.
	 */
	for (i = 0; i < TPD_RING_N && i < n && i < max; i++) {
		size_t r = i / q->spread, pos = r * (TPD_RING_N /
		    q->n_replicas) + i % q->spread;

		tpd_fpr(fprs[i], (unsigned)((q->tp * 3 + tpd_ring_shift +
		    pos) % TPD_RING_POOL));
		if (q->replica != NULL)
			q->replica[i] = (unsigned)r + 1;
	}
	return i;
}

void
tpd_ring(struct pd_ring *ring)
{
	memset(ring, 0, sizeof(*ring));
	ring->responsible = stub_responsible;
}

void
tpd_net(struct pd_net *net, time_t valid_after)
{
	memset(net, 0, sizeof(*net));
	net->have = 1;
	net->valid_after = valid_after;
	net->fresh_until = valid_after + TPD_LIVE_VI;
	net->valid_until = valid_after + 3 * TPD_LIVE_VI;
	if (hs_period_params_init(&net->params, TPD_LIVE_VI, 0) == -1)
		abort();
	net->n_replicas = PD_N_REPLICAS_DEFAULT;
	net->spread_store = PD_SPREAD_STORE_DEFAULT;
	net->spread_fetch = PD_SPREAD_FETCH_DEFAULT;
	net->cc_sendme_inc = PD_CC_SENDME_INC_DEFAULT;
	net->max_desc_size = HSDESC_DEFAULT_MAX_SIZE;
	net->has_srv_cur = net->has_srv_prev = 1;
	memset(net->srv_cur, 0xCC, HS_SRV_LEN);
	memset(net->srv_prev, 0x99, HS_SRV_LEN);
}

void
tpd_instance_desc(struct pd *pd, size_t i, size_t npoints, time_t now)
{
	static struct pd_instance d;
	size_t j;

	memset(&d, 0, sizeof(d));
	d.tp = TPD_TP_SECOND;
	d.received_at = now;
	d.revision = 1000 + (uint64_t)now;
	d.lifetime_min = 180;
	d.flags = PEER_DESC_FLAG_FLOW_CONTROL;
	snprintf(d.flow_control, sizeof(d.flow_control), "1-2 31");
	d.n_intro = npoints;
	for (j = 0; j < npoints; j++)
		fixture_intro_point(&d.intro[j], now, 0);
	if (pd_instance_desc(pd, 0, (uint32_t)i,
	    pd->services[0].instances[i].key, &d, now) == -1)
		abort();
}

void
tpd_configure(struct pd *pd, const uint8_t *id, size_t ninst, size_t npoints,
    time_t now)
{
	struct pd_service *sv;
	uint8_t sk[64];
	size_t i;

	if (sodium_init() < 0 || (sv = calloc(1, sizeof(*sv))) == NULL ||
	    (sv->instances = calloc(ninst, sizeof(*sv->instances))) == NULL)
		abort();
	if (id != NULL)
		memcpy(sv->identity, id, 32);
	else
		crypto_sign_keypair(sv->identity, sk);
	sv->ninstances = ninst;
	for (i = 0; i < ninst; i++) {
		crypto_sign_keypair(sv->instances[i].key, sk);
		sv->instances[i].index = (uint32_t)i;
		snprintf(sv->instances[i].name, sizeof(sv->instances[i].name),
		    "backend \"%zu\"\n", i);
		onion_address_from_pubkey(sv->instances[i].address,
		    sv->instances[i].key);
	}
	if (pd_configure(pd, sv, 1, pd->generation + 1, now) == -1)
		abort();
	for (i = 0; i < ninst; i++)
		if (npoints > 0)
			tpd_instance_desc(pd, i, npoints, now);
}

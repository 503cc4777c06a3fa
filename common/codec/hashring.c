/*
 * The HSDir hash ring (see hashring.h).  Building a ring costs one
 * SHA3-256 per qualifying relay and a sort; a lookup costs n_replicas
 * SHA3-256s, binary searches and a walk that visits each node at most
 * once per replica, with an O(1) "already chosen" test.  Nothing is
 * quadratic in the number of relays.
 */
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "hashring.h"
#include "log.h"

static const char *const error_strings[HASHRING_ERR_MAX_] = {
	[HASHRING_OK] = "no error",
	[HASHRING_ERR_NOMEM] = "out of memory",
	[HASHRING_ERR_NOT_LIVE] = "consensus is not reasonably live",
	[HASHRING_ERR_NO_HSDIRS] = "no relay qualifies as a v3 HSDir",
	[HASHRING_ERR_INVALID_ARGUMENT] = "replicas or spread out of range",
	[HASHRING_ERR_OUTPUT_TOO_SMALL] = "output array too small",
};

const char *
hashring_strerror(enum hashring_error err)
{
	if ((unsigned int)err >= HASHRING_ERR_MAX_ ||
	    error_strings[err] == NULL)
		return "unknown error";
	return error_strings[err];
}

/*
 * tor's hs_get_previous_srv / hs_get_current_srv: the consensus value,
 * or the disaster SRV of the TP being computed for.
 */
static void
choose_srv(const struct consensus *c, int current,
    struct hashring_period *out)
{
	int has = current ? c->has_srv_current : c->has_srv_previous;

	out->srv_is_disaster = !has;
	if (has)
		memcpy(out->srv, current ? c->srv_current : c->srv_previous,
		    HS_SRV_LEN);
	else
		hs_disaster_srv(out->srv, out->length_min, out->tp);
}

void
hashring_period_for(const struct consensus *c, enum hashring_use use,
    struct hashring_period *out)
{
	uint64_t cur = hs_time_period_num(&c->period, c->valid_after);
	int tp_to_srv = hs_in_period_between_tp_and_srv(&c->period,
	    c->valid_after);

	memset(out, 0, sizeof(*out));
	out->length_min = c->period.length_min;
	switch (use) {
	case HASHRING_STORE_FIRST:
		/*
		 * The first descriptor always uses the previous SRV.  (cur
		 * is 0 only in 1970; tor would wrap around there.)
		 */
		out->tp = tp_to_srv && cur > 0 ? cur - 1 : cur;
		choose_srv(c, 0, out);
		break;
	case HASHRING_STORE_SECOND:
		/* The second descriptor always uses the current SRV. */
		out->tp = tp_to_srv ? cur : cur + 1;
		choose_srv(c, 1, out);
		break;
	case HASHRING_FETCH:
		/* Clients stay in TP cur and switch SRV at the TP start. */
		out->tp = cur;
		choose_srv(c, tp_to_srv, out);
		break;
	}
}

static int
node_cmp(const void *a, const void *b)
{
	const struct hashring_node *x = a, *y = b;
	int r = memcmp(x->index, y->index, HASHRING_INDEX_LEN);

	/*
	 * Equal indexes need equal ed25519 ids, which authorities do not
	 * let into a consensus; tor's order is then unspecified, ours is
	 * by RSA identity so that it is at least deterministic.
	 */
	if (r == 0)
		r = memcmp(x->rsa_id, y->rsa_id, RSA_ID_LEN);
	return r;
}

static int
relay_qualifies(const struct consensus_relay *r)
{
	return r->is_hsdir && r->supports_hsdir_v3 && r->has_ed25519_id;
}

enum hashring_error
hashring_init_nodes(struct hashring *ring, const struct hashring_period *period,
    unsigned int n_replicas, unsigned int spread,
    const struct hashring_node *nodes, size_t n)
{
	memset(ring, 0, sizeof(*ring));
	if (n_replicas < 1 || n_replicas > 16 || spread < 1 || spread > 128)
		return HASHRING_ERR_INVALID_ARGUMENT;
	if (n == 0)
		return HASHRING_ERR_NO_HSDIRS;
	if ((ring->nodes = calloc(n, sizeof(*ring->nodes))) == NULL)
		return HASHRING_ERR_NOMEM;
	memcpy(ring->nodes, nodes, n * sizeof(*nodes));
	qsort(ring->nodes, n, sizeof(*ring->nodes), node_cmp);
	ring->n_nodes = n;
	ring->period = *period;
	ring->n_replicas = n_replicas;
	ring->spread = spread;
	return HASHRING_OK;
}

/* One node per qualifying relay, with its hsdir_index for the period. */
static struct hashring_node *
collect_nodes(const struct consensus *c, const struct hashring_period *p,
    size_t *n)
{
	const struct consensus_relay *r;
	struct hashring_node *nodes;
	size_t i;

	*n = 0;
	if ((nodes = calloc(c->n_relays + 1, sizeof(*nodes))) == NULL)
		return NULL;
	for (i = 0; i < c->n_relays; i++) {
		r = &c->relays[i];
		if (!relay_qualifies(r))
			continue;
		hs_hsdir_index(nodes[*n].index, r->ed25519_id, p->srv, p->tp,
		    p->length_min);
		memcpy(nodes[*n].rsa_id, r->rsa_id, RSA_ID_LEN);
		memcpy(nodes[*n].nickname, r->nickname, sizeof(r->nickname));
		(*n)++;
	}
	return nodes;
}

enum hashring_error
hashring_build(struct hashring *ring, const struct consensus *c,
    enum hashring_use use, time_t now)
{
	struct hashring_period period;
	struct hashring_node *nodes;
	enum hashring_error err;
	unsigned int spread;
	size_t n;

	memset(ring, 0, sizeof(*ring));
	if (!consensus_is_reasonably_live(c, now))
		return HASHRING_ERR_NOT_LIVE;
	hashring_period_for(c, use, &period);
	if ((nodes = collect_nodes(c, &period, &n)) == NULL)
		return HASHRING_ERR_NOMEM;
	spread = (unsigned int)(use == HASHRING_FETCH ?
	    c->params.hsdir_spread_fetch : c->params.hsdir_spread_store);
	err = hashring_init_nodes(ring, &period,
	    (unsigned int)c->params.hsdir_n_replicas, spread, nodes, n);
	free(nodes);
	if (err == HASHRING_OK)
		ring->use = use;
	return err;
}

void
hashring_clear(struct hashring *ring)
{
	free(ring->nodes);
	memset(ring, 0, sizeof(*ring));
}

/* The first node whose index is >= key, or n_nodes (smartlist_bsearch_idx). */
static size_t
ring_lower_bound(const struct hashring *ring, const uint8_t *key)
{
	size_t lo = 0, hi = ring->n_nodes, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(ring->nodes[mid].index, key, HASHRING_INDEX_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
fill_hsdir(struct hashring_hsdir *out, const struct hashring *ring,
    size_t pos, unsigned int replica)
{
	const struct hashring_node *node = &ring->nodes[pos];

	memset(out, 0, sizeof(*out));
	memcpy(out->rsa_id, node->rsa_id, RSA_ID_LEN);
	hex_encode_upper(out->fingerprint, node->rsa_id, RSA_ID_LEN);
	memcpy(out->nickname, node->nickname, sizeof(out->nickname));
	out->replica = replica;
	out->position = pos;
}

/* One replica's part of the walk; chosen marks nodes taken by any replica. */
static void
walk_replica(const struct hashring *ring, const uint8_t *service_index,
    unsigned int replica, uint8_t *chosen, struct hashring_hsdir *out,
    size_t *nout)
{
	size_t start, idx;
	unsigned int added = 0;

	start = idx = ring_lower_bound(ring, service_index);
	if (idx == ring->n_nodes)
		start = idx = 0;
	while (added < ring->spread) {
		if (!chosen[idx]) {
			chosen[idx] = 1;
			fill_hsdir(&out[(*nout)++], ring, idx, replica);
			added++;
		}
		if (++idx == ring->n_nodes)
			idx = 0;
		if (idx == start)
			break;	/* the whole ring is walked: small network */
	}
}

enum hashring_error
hashring_walk(const struct hashring *ring,
    const uint8_t (*service_index)[HASHRING_INDEX_LEN],
    struct hashring_hsdir *out, size_t outcap, size_t *nout)
{
	size_t need = (size_t)ring->n_replicas * ring->spread;
	uint8_t *chosen;
	unsigned int replica;

	*nout = 0;
	if (ring->n_nodes == 0)
		return HASHRING_ERR_NO_HSDIRS;
	if (need > ring->n_nodes)
		need = ring->n_nodes;
	if (outcap < need)
		return HASHRING_ERR_OUTPUT_TOO_SMALL;
	if ((chosen = calloc(ring->n_nodes, 1)) == NULL)
		return HASHRING_ERR_NOMEM;
	for (replica = 1; replica <= ring->n_replicas; replica++)
		walk_replica(ring, service_index[replica - 1], replica, chosen,
		    out, nout);
	free(chosen);
	return HASHRING_OK;
}

enum hashring_error
hashring_responsible(const struct hashring *ring, const uint8_t blinded[32],
    struct hashring_hsdir *out, size_t outcap, size_t *nout)
{
	uint8_t service_index[16][HASHRING_INDEX_LEN];
	unsigned int replica;

	*nout = 0;
	if (ring->n_replicas < 1 || ring->n_replicas > 16)
		return HASHRING_ERR_INVALID_ARGUMENT;
	for (replica = 1; replica <= ring->n_replicas; replica++)
		hs_service_index(service_index[replica - 1], blinded, replica,
		    ring->period.length_min, ring->period.tp);
	return hashring_walk(ring,
	    (const uint8_t (*)[HASHRING_INDEX_LEN])service_index, out, outcap,
	    nout);
}

const struct hashring_node *
hashring_find_node(const struct hashring *ring,
    const uint8_t rsa_id[RSA_ID_LEN])
{
	size_t i;

	for (i = 0; i < ring->n_nodes; i++)
		if (memcmp(ring->nodes[i].rsa_id, rsa_id, RSA_ID_LEN) == 0)
			return &ring->nodes[i];
	return NULL;
}

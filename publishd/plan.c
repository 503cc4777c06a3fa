/*
 * Distinct descriptors: which intro points each responsible HSDir serves.
 *
 * A tor client rejects a descriptor with more than 20 intro points, so one
 * descriptor serves at most 20.  But a client fetches the descriptor from
 * one HSDir, chosen at random among the first hsdir_spread_fetch of each
 * of the hsdir_n_replicas replicas (6 on the live network), and each HSDir
 * keeps what we upload to it.  So each of those HSDirs gets a descriptor of
 * its own (a variant), and together they carry up to 6 x 20 points.
 *
 * The plan, per replica (so that each replica alone reaches every
 * backend when there is room): every live instance gets the same number
 * of points in the replica's variants, give or take one -- its share of
 * clients, since a client picks an HSDir and then a point uniformly --
 * spread over as many variants as it allows; the variants are filled
 * evenly.  A new plan starts from the previous one and moves only what
 * must move, so that a change at one backend changes only the variants
 * it is in (each changed variant is a new upload).  When there are more
 * instances than one replica has room for, the second replica starts
 * where the first left off.
 *
 * Below the per-descriptor limit, everything is as with one descriptor:
 * every HSDir gets the same one (intro.c).  The remaining store HSDirs
 * (fallbacks: a client whose consensus differs a little fetches from them)
 * get a variant of their replica.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "digest.h"
#include "log.h"
#include "publishd.h"

#define AT(c, i, v)	((c)[(i) * k + (v)])

/* Equal quotas of the k * cap points, the first ones (by rank) one more. */
static void
group_quotas(const unsigned *npoints, const size_t *rank, size_t n,
    size_t k, unsigned cap, unsigned *quota)
{
	size_t i, room = k * cap, surplus = 0;
	int progress;

	for (i = 0; i < n; i++) {
		quota[i] = (unsigned)(room / n + (rank[i] < room % n));
		/* an instance has each point at most once per variant */
		if (quota[i] > k * npoints[i]) {
			surplus += quota[i] - k * npoints[i];
			quota[i] = (unsigned)(k * npoints[i]);
		}
	}
	/* what the small ones cannot use goes to the others, by rank */
	do {
		progress = 0;
		for (size_t r = 0; r < n && surplus > 0; r++)
			for (i = 0; i < n && surplus > 0; i++)
				if (rank[i] == r && quota[i] < k * npoints[i]) {
					quota[i]++;
					surplus--;
					progress = 1;
				}
	} while (progress && surplus > 0);
}

/* The variant for one more point of instance i, or -1 if none has room. */
static long
best_variant(const unsigned *count, const unsigned *load, size_t i,
    size_t k, unsigned cap, unsigned maxper, size_t start)
{
	long best = -1;
	size_t j, v;

	for (j = 0; j < k; j++) {
		v = (start + j) % k;
		if (AT(count, i, v) >= maxper || load[v] >= cap)
			continue;
		if (best == -1 || AT(count, i, v) < AT(count, i, best) ||
		    (AT(count, i, v) == AT(count, i, best) &&
		    load[v] < load[best]))
			best = (long)v;
	}
	return best;
}

/* Moves points from the fullest variant to the emptiest while it helps. */
static void
group_balance(unsigned *count, unsigned *load, const unsigned *maxper,
    size_t n, size_t k)
{
	size_t i, v, hi, lo;

	for (;;) {
		hi = lo = 0;
		for (v = 1; v < k; v++) {
			if (load[v] > load[hi])
				hi = v;
			if (load[v] < load[lo])
				lo = v;
		}
		if (load[hi] <= load[lo] + 1)
			return;
		for (i = 0; i < n; i++)
			if (AT(count, i, hi) > 0 && AT(count, i, lo) < maxper[i])
				break;
		if (i == n)
			return;
		AT(count, i, hi)--;
		AT(count, i, lo)++;
		load[hi]--;
		load[lo]++;
	}
}

void
pd_plan_group(const unsigned *npoints, const size_t *rank, size_t n,
    size_t k, unsigned cap, unsigned *count)
{
	unsigned *quota, *maxper, *placed, *prev, load[PD_VARIANTS_MAX];
	size_t i, v, r;
	unsigned keep;
	long best;
	int progress;

	if (n == 0 || k == 0 || k > PD_VARIANTS_MAX)
		return;
	if ((quota = calloc(n, sizeof(*quota))) == NULL ||
	    (maxper = calloc(n, sizeof(*maxper))) == NULL ||
	    (placed = calloc(n, sizeof(*placed))) == NULL ||
	    (prev = reallocarray(NULL, n * k, sizeof(*prev))) == NULL)
		fatal("%s", __func__);
	memcpy(prev, count, n * k * sizeof(*count));
	memset(count, 0, n * k * sizeof(*count));
	memset(load, 0, sizeof(load));
	group_quotas(npoints, rank, n, k, cap, quota);
	for (i = 0; i < n; i++) {
		/* spread: no more in one variant than an even split needs */
		maxper[i] = (unsigned)((quota[i] + k - 1) / k);
		if (maxper[i] > npoints[i])
			maxper[i] = npoints[i];
		/* keep what the previous plan had, where it still fits */
		for (v = 0; v < k && placed[i] < quota[i]; v++) {
			keep = AT(prev, i, v);
			if (keep > maxper[i])
				keep = maxper[i];
			if (keep > quota[i] - placed[i])
				keep = quota[i] - placed[i];
			if (keep > cap - load[v])
				keep = cap - load[v];
			AT(count, i, v) = keep;
			load[v] += keep;
			placed[i] += keep;
		}
	}
	/* the rest one point at a time, by rank, where there is most room */
	do {
		progress = 0;
		for (r = 0; r < n; r++)
			for (i = 0; i < n; i++) {
				if (rank[i] != r || placed[i] >= quota[i])
					continue;
				best = best_variant(count, load, i, k, cap,
				    maxper[i], r % k);
				if (best == -1)
					continue;
				AT(count, i, (size_t)best)++;
				load[best]++;
				placed[i]++;
				progress = 1;
			}
	} while (progress);
	group_balance(count, load, maxper, n, k);
	free(prev);
	free(placed);
	free(maxper);
	free(quota);
}

/* The usable points of an instance, by index. */
static size_t
usable_points(const struct pd_instance *in, time_t now, uint32_t *idx)
{
	size_t j, n = 0;

	for (j = 0; j < in->n_intro; j++)
		if (pd_intro_usable(&in->intro[j], now))
			idx[n++] = (uint32_t)j;
	return n;
}

static int
cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* SHA3-256 of the picks' auth keys, sorted: the order does not count. */
static void
picks_digest(const struct pd_service *sv, const struct pd_variant *va,
    uint8_t out[32])
{
	uint8_t keys[HSDESC_MAX_INTRO_POINTS][32];
	size_t i;

	for (i = 0; i < va->npicks; i++)
		memcpy(keys[i], sv->instances[va->picks[i].instance].intro[
		    va->picks[i].point].auth_key, 32);
	qsort(keys, va->npicks, 32, cmp_key);
	sha3_256(out, keys, va->npicks * 32);
}

static unsigned
per_descriptor(const struct pd_service *sv)
{
	if (sv->per_descriptor == 0 ||
	    sv->per_descriptor > HSDESC_MAX_INTRO_POINTS)
		return HSDESC_MAX_INTRO_POINTS;
	return sv->per_descriptor;
}

/* The live instances with usable points; their total. */
struct live_set {
	size_t		 n;
	uint32_t	*inst;			/* instance index */
	unsigned	*npoints;
	uint32_t	(*points)[HSDESC_MAX_INTRO_POINTS];
	uint64_t	*order;			/* a stable hash of the key */
	size_t		 total;
};

static void
live_set_free(struct live_set *ls)
{
	free(ls->inst);
	free(ls->npoints);
	free(ls->points);
	free(ls->order);
	memset(ls, 0, sizeof(*ls));
}

static void
live_set_make(const struct pd_service *sv, time_t now, struct live_set *ls)
{
	const struct pd_instance *in;
	size_t i, m = sv->ninstances ? sv->ninstances : 1;
	uint8_t h[8];

	memset(ls, 0, sizeof(*ls));
	if ((ls->inst = calloc(m, sizeof(*ls->inst))) == NULL ||
	    (ls->npoints = calloc(m, sizeof(*ls->npoints))) == NULL ||
	    (ls->points = calloc(m, sizeof(*ls->points))) == NULL ||
	    (ls->order = calloc(m, sizeof(*ls->order))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < sv->ninstances; i++) {
		in = &sv->instances[i];
		if (!pd_instance_is_live(in, now))
			continue;
		ls->npoints[ls->n] = (unsigned)usable_points(in, now,
		    ls->points[ls->n]);
		if (ls->npoints[ls->n] == 0)
			continue;
		/* an order no one can choose, and that stays across builds */
		crypto_generichash(h, sizeof(h), in->key, 32, sv->identity, 32);
		ls->order[ls->n] = get_u64_be(h);
		ls->inst[ls->n] = (uint32_t)i;
		ls->total += ls->npoints[ls->n];
		ls->n++;
	}
}

/*
 * Each instance's rank in a replica: the stable order, rotated by what
 * the replicas before it had room for, so that when not everyone fits in
 * one replica the next one takes those the previous left out.
 */
static void
group_ranks(const struct live_set *ls, size_t offset, size_t *rank)
{
	size_t i, j, pos;

	for (i = 0; i < ls->n; i++) {
		pos = 0;
		for (j = 0; j < ls->n; j++)
			if (ls->order[j] < ls->order[i] ||
			    (ls->order[j] == ls->order[i] && j < i))
				pos++;
		rank[i] = (pos + ls->n - offset % ls->n) % ls->n;
	}
}

/* What a variant held of instance i in the previous plan. */
static unsigned
previous_share(const struct pd_variant *va, const uint8_t key[32])
{
	size_t s;

	for (s = 0; s < va->nshares; s++)
		if (memcmp(va->shares[s].key, key, 32) == 0)
			return va->shares[s].count;
	return 0;
}

/*
 * The picks of variant va from the counts: count points of instance i,
 * going on from where its picks in the variants before stopped (used[i]),
 * so that its points in different variants differ while it has more, and
 * the variants' sets differ when they must share points.
 */
static void
variant_fill(const struct pd_service *sv, const struct live_set *ls,
    const unsigned *count, size_t k, size_t pos, unsigned *used,
    struct pd_variant *va)
{
	size_t i, c;
	unsigned n, start;

	va->npicks = va->nshares = 0;
	for (i = 0; i < ls->n; i++) {
		n = AT(count, i, pos);
		if (n == 0)
			continue;
		memcpy(va->shares[va->nshares].key,
		    sv->instances[ls->inst[i]].key, 32);
		va->shares[va->nshares++].count = n;
		/*
		 * Each time round its points, one further on: otherwise the
		 * variants would repeat each other's sets exactly.
		 */
		start = used[i] + used[i] / ls->npoints[i];
		for (c = 0; c < n; c++) {
			va->picks[va->npicks].instance = ls->inst[i];
			va->picks[va->npicks++].point = ls->points[i][
			    (start + c) % ls->npoints[i]];
		}
		used[i] += n;
	}
	pd_shuffle_picks(va->picks, va->npicks);
}

/* The variants of one replica, in slot order; returns how many. */
static size_t
group_members(const struct pd_slot *slot, unsigned replica, size_t *vs)
{
	size_t v, k = 0;

	for (v = 0; v < slot->nvariants; v++)
		if (slot->variant[v].replica == replica)
			vs[k++] = v;
	return k;
}

static void
plan_distinct(const struct pd_service *sv, struct pd_slot *slot,
    const struct live_set *ls, unsigned cap)
{
	size_t vs[PD_VARIANTS_MAX], *rank, k, i, j, offset = 0;
	unsigned *count, *used, replica, done = 0;

	if ((rank = calloc(ls->n, sizeof(*rank))) == NULL ||
	    (used = calloc(ls->n, sizeof(*used))) == NULL ||
	    (count = reallocarray(NULL, ls->n * PD_VARIANTS_MAX,
	    sizeof(*count))) == NULL)
		fatal("%s", __func__);
	for (replica = 1; replica <= PD_N_REPLICAS_MAX &&
	    done < slot->nvariants; replica++) {
		if ((k = group_members(slot, replica, vs)) == 0)
			continue;
		done += (unsigned)k;
		for (i = 0; i < ls->n; i++)
			for (j = 0; j < k; j++)
				AT(count, i, j) = previous_share(
				    &slot->variant[vs[j]],
				    sv->instances[ls->inst[i]].key);
		group_ranks(ls, offset, rank);
		pd_plan_group(ls->npoints, rank, ls->n, k, cap, count);
		for (j = 0; j < k; j++)
			variant_fill(sv, ls, count, k, j, used,
			    &slot->variant[vs[j]]);
		offset += k * cap;
	}
	free(count);
	free(used);
	free(rank);
}

static void
plan_shared(const struct pd_service *sv, struct pd_slot *slot, time_t now,
    unsigned cap)
{
	struct pd_variant *va = &slot->variant[0];

	va->npicks = pd_choose_picks(sv, now, cap, va->picks);
	va->nshares = 0;
}

/* Every variant is built again from nothing (the plan's shape changed). */
static void
forget_plan(struct pd_slot *slot)
{
	size_t v;

	for (v = 0; v < PD_VARIANTS_MAX; v++) {
		slot->variant[v].nshares = 0;
		memset(slot->variant[v].built_digest, 0, 32);
	}
}

void
pd_plan_slot(const struct pd *pd, struct pd_service *sv, int k, time_t now)
{
	struct pd_slot *slot = &sv->slot[k];
	struct live_set ls;
	unsigned cap = per_descriptor(sv);
	size_t v;
	int distinct;

	(void)pd;
	live_set_make(sv, now, &ls);
	distinct = !sv->shared_only && ls.total > cap && slot->nvariants >= 2;
	if (distinct != slot->distinct) {
		log_info("%s: %s descriptor: %zu live intro points, %s",
		    sv->address, k == PD_FIRST ? "first" : "second", ls.total,
		    distinct ? "a distinct descriptor per HSDir" :
		    "one descriptor for every HSDir");
		forget_plan(slot);
		slot->distinct = distinct;
	}
	if (distinct)
		plan_distinct(sv, slot, &ls, cap);
	else
		plan_shared(sv, slot, now, cap);
	for (v = 0; v < pd_slot_nvariants(slot); v++)
		picks_digest(sv, &slot->variant[v],
		    slot->variant[v].plan_digest);
	live_set_free(&ls);
}

/* --- The slot as a whole, for the status and the metrics ------------- */

uint64_t
pd_slot_revision(const struct pd_slot *slot)
{
	uint64_t r = 0;
	size_t v;

	for (v = 0; v < pd_slot_nvariants(slot); v++)
		if (slot->variant[v].desc != NULL &&
		    slot->variant[v].revision > r)
			r = slot->variant[v].revision;
	return r;
}

size_t
pd_slot_size(const struct pd_slot *slot)
{
	size_t v, n = 0;

	for (v = 0; v < pd_slot_nvariants(slot); v++)
		if (slot->variant[v].desc != NULL &&
		    slot->variant[v].desc_len > n)
			n = slot->variant[v].desc_len;
	return n;
}

int
pd_slot_flow_control(const struct pd_slot *slot)
{
	size_t v;

	for (v = 0; v < pd_slot_nvariants(slot); v++)
		if (slot->variant[v].desc != NULL &&
		    slot->variant[v].flow_control)
			return 1;
	return 0;
}

static int
pick_seen(const struct pd_slot *slot, size_t v, size_t j)
{
	const struct pd_pick *p = &slot->variant[v].picks[j];
	size_t w, i;

	for (w = 0; w <= v; w++)
		for (i = 0; i < (w == v ? j : slot->variant[w].npicks); i++)
			if (slot->variant[w].picks[i].instance == p->instance &&
			    slot->variant[w].picks[i].point == p->point)
				return 1;
	return 0;
}

size_t
pd_slot_intro_published(const struct pd_slot *slot)
{
	size_t v, j, n = 0;

	if (!slot->distinct)
		return slot->variant[0].desc != NULL ?
		    slot->variant[0].n_intro : 0;
	for (v = 0; v < slot->nvariants; v++)
		if (slot->variant[v].desc != NULL)
			for (j = 0; j < slot->variant[v].npicks; j++)
				n += !pick_seen(slot, v, j);
	return n;
}

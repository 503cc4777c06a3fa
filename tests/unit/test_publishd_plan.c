/*
 * Distinct descriptors (publishd/plan.c): the share-out of one replica,
 * and a whole slot planned over the stub ring of 8 store HSDirs (2
 * replicas of 4), of which the first 3 of each replica are fetch HSDirs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_publishd_fixture.h"

#define MAX_POSTS	1024

static struct {
	int	builds[PD_SLOTS][PD_VARIANTS_MAX];
	size_t	nposts;
} rec;

static int
fake_build(void *arg, struct pd *pd, struct pd_service *sv, int k,
    size_t v, time_t now, char *why, size_t whylen)
{
	struct pd_variant *va = &sv->slot[k].variant[v];
	char *d;

	rec.builds[k][v]++;
	if ((d = strdup("descriptor")) == NULL)
		abort();
	free(va->desc);
	va->desc = d;
	va->desc_len = strlen(d);
	va->revision = (uint64_t)now;	/* rises with time, as keyd's */
	va->n_intro = va->npicks;
	return 0;
}

static int
fake_post(void *arg, struct pd *pd, struct pd_service *sv, int k,
    size_t v, const char *fpr)
{
	rec.nposts++;
	return 0;
}

static void
setup(struct pd *pd, size_t ninst, size_t npoints, unsigned per_desc,
    time_t now)
{
	static const struct pd_ops ops = { fake_build, fake_post, NULL, NULL };
	struct pd_net net;
	struct pd_ring ring;

	memset(&rec, 0, sizeof(rec));
	tpd_ring_shift = 0;
	pd_init(pd, &ops);
	pd->uploads_enabled = 1;
	tpd_configure(pd, NULL, ninst, npoints, now);
	pd->services[0].per_descriptor = per_desc;
	tpd_net(&net, TPD_VA);
	tpd_ring(&ring);
	pd_set_network(pd, &net, &ring, now);
}

static void
all_uploaded(struct pd *pd, time_t now)
{
	struct pd_service *sv = &pd->services[0];

	while (sv->ninflight > 0)
		pd_upload_result(pd, sv, sv->inflight[0].fpr, 1, "", now);
}

/* Points of instance i in variant v. */
static unsigned
count_in(const struct pd_slot *slot, size_t v, size_t i)
{
	const struct pd_variant *va = &slot->variant[v];
	unsigned n = 0;
	size_t j;

	for (j = 0; j < va->npicks; j++)
		n += va->picks[j].instance == i;
	return n;
}

/* No point twice in one variant (a client would see a duplicate). */
static int
picks_distinct(const struct pd_variant *va)
{
	size_t a, b;

	for (a = 0; a < va->npicks; a++)
		for (b = a + 1; b < va->npicks; b++)
			if (va->picks[a].instance == va->picks[b].instance &&
			    va->picks[a].point == va->picks[b].point)
				return 0;
	return 1;
}

/*
 * Everything the issue asks of a plan: each descriptor within the limit,
 * each instance in a fetch descriptor of each replica, equal shares
 * within one point, and the fetch HSDirs each with a variant of their own.
 */
static void
check_plan(const struct pd_service *sv, const struct pd_slot *slot,
    unsigned cap)
{
	unsigned total[128], lo = ~0u, hi = 0;
	size_t v, i, t, held;
	unsigned r;

	CHECK(slot->distinct);
	CHECK_INT_EQ(slot->nvariants, 6);
	for (v = 0; v < slot->nvariants; v++) {
		CHECK(slot->variant[v].npicks <= cap);
		CHECK(picks_distinct(&slot->variant[v]));
	}
	for (i = 0; i < sv->ninstances; i++) {
		total[i] = 0;
		for (r = 1; r <= 2; r++) {
			held = 0;
			for (v = 0; v < slot->nvariants; v++)
				if (slot->variant[v].replica == r)
					held += count_in(slot, v, i);
			CHECK(held > 0);
			total[i] += (unsigned)held;
		}
		if (total[i] < lo)
			lo = total[i];
		if (total[i] > hi)
			hi = total[i];
	}
	CHECK(hi <= lo + 1);
	/* every fetch HSDir its own variant, of its replica */
	for (t = 0; t < slot->ntargets; t++) {
		const struct pd_target *a = &slot->targets[t];

		CHECK(a->variant < slot->nvariants);
		CHECK_INT_EQ(slot->variant[a->variant].replica, a->replica);
		for (i = 0; a->fetch && i < t; i++)
			CHECK(!slot->targets[i].fetch ||
			    slot->targets[i].variant != a->variant);
	}
}

/* 60 backends x 3 intro points: 6 descriptors of 20, each backend once per replica. */
static void
test_sixty_backends(void)
{
	struct pd pd;
	struct pd_service *sv;
	struct pd_slot *slot;
	unsigned before[60][PD_VARIANTS_MAX];
	int builds_before[PD_VARIANTS_MAX];
	time_t t = TPD_VA + 60;
	size_t i, v, nfetch = 0, with5;

	setup(&pd, 60, 3, 0, t);
	pd_tick(&pd, t);
	sv = &pd.services[0];
	slot = &sv->slot[PD_FIRST];
	check_plan(sv, slot, 20);
	for (v = 0; v < slot->nvariants; v++)
		CHECK_INT_EQ(slot->variant[v].npicks, 20);
	for (i = 0; i < slot->ntargets; i++)
		nfetch += slot->targets[i].fetch;
	CHECK_INT_EQ(slot->ntargets, 8);
	CHECK_INT_EQ(nfetch, 6);
	check_plan(sv, &sv->slot[PD_SECOND], 20);
	CHECK_INT_EQ(pd_slot_intro_published(slot), 120);
	all_uploaded(&pd, t);

	/* backend 5 gets new intro points: only its own points move */
	for (i = 0; i < 60; i++)
		for (v = 0; v < slot->nvariants; v++)
			before[i][v] = count_in(slot, v, i);
	memcpy(builds_before, rec.builds[PD_FIRST], sizeof(builds_before));
	tpd_instance_desc(&pd, 5, 3, t + 100);
	pd_tick(&pd, t + 100);
	pd_tick(&pd, t + 100 + PD_DEBOUNCE_S);
	check_plan(sv, slot, 20);
	for (i = 0; i < 60; i++)
		for (v = 0; v < slot->nvariants; v++)
			CHECK_INT_EQ(count_in(slot, v, i), before[i][v]);
	/* and only the descriptors it is in are built and uploaded again */
	for (v = 0, with5 = 0; v < slot->nvariants; v++) {
		CHECK_INT_EQ(rec.builds[PD_FIRST][v] - builds_before[v],
		    before[5][v] > 0);
		with5 += before[5][v] > 0;
	}
	CHECK_INT_EQ(with5, 2);
	all_uploaded(&pd, t + 103);

	/* backend 7 dies: it leaves; the others stay where they were */
	for (i = 0; i < 60; i++)
		for (v = 0; v < slot->nvariants; v++)
			before[i][v] = count_in(slot, v, i);
	pd_instance_state(&pd, 0, 7, sv->instances[7].key,
	    PEER_STATE_FETCH_FAILED, t + 200, "gone", t + 200);
	pd_tick(&pd, t + 200);
	pd_tick(&pd, t + 200 + PD_DEBOUNCE_S);
	for (v = 0; v < slot->nvariants; v++) {
		CHECK_INT_EQ(count_in(slot, v, 7), 0);
		CHECK(slot->variant[v].npicks <= 20);
	}
	for (i = 0; i < 60; i++)
		for (v = 0; v < slot->nvariants && i != 7; v++)
			CHECK(count_in(slot, v, i) >= before[i][v]);
	pd_clear(&pd);
}

/* Below the limit nothing changes: one descriptor for every HSDir. */
static void
test_below_the_limit(void)
{
	struct pd pd;
	struct pd_slot *slot;
	time_t t = TPD_VA + 60;
	size_t i;

	setup(&pd, 6, 3, 0, t);
	pd_tick(&pd, t);
	slot = &pd.services[0].slot[PD_FIRST];
	CHECK(!slot->distinct);
	CHECK_INT_EQ(pd_slot_nvariants(slot), 1);
	CHECK_INT_EQ(slot->variant[0].npicks, 18);
	for (i = 0; i < slot->ntargets; i++)
		CHECK_INT_EQ(pd_target_variant(slot, &slot->targets[i]), 0);
	/* a seventh backend: 21 points, so distinct */
	pd_clear(&pd);
	setup(&pd, 7, 3, 0, t);
	pd_tick(&pd, t);
	slot = &pd.services[0].slot[PD_FIRST];
	CHECK(slot->distinct);
	check_plan(&pd.services[0], slot, 20);
	/* unless the service says shared: 20 of the 21, as before */
	pd_clear(&pd);
	setup(&pd, 7, 3, 0, t);
	pd.services[0].shared_only = 1;
	pd_tick(&pd, t);
	slot = &pd.services[0].slot[PD_FIRST];
	CHECK(!slot->distinct);
	CHECK_INT_EQ(slot->variant[0].npicks, 20);
	pd_clear(&pd);
	/* three per descriptor, as a tor-made one: 9 points, 6 of 3 */
	setup(&pd, 3, 3, 3, t);
	pd_tick(&pd, t);
	slot = &pd.services[0].slot[PD_FIRST];
	check_plan(&pd.services[0], slot, 3);
	for (i = 0; i < slot->nvariants; i++)
		CHECK_INT_EQ(slot->variant[i].npicks, 3);
	pd_clear(&pd);
}

/*
 * 4 backends x 10 points over 6 descriptors of 20: each backend 5 points
 * in every variant; the variants still differ from each other.
 */
static void
test_variants_differ(void)
{
	struct pd pd;
	struct pd_slot *slot;
	time_t t = TPD_VA + 60;
	size_t a, b;

	setup(&pd, 4, 10, 0, t);
	pd_tick(&pd, t);
	slot = &pd.services[0].slot[PD_FIRST];
	check_plan(&pd.services[0], slot, 20);
	for (a = 0; a < slot->nvariants; a++) {
		CHECK_INT_EQ(slot->variant[a].npicks, 20);
		CHECK_INT_EQ(count_in(slot, a, 0), 5);
		for (b = 0; b < a; b++)
			CHECK(memcmp(slot->variant[a].plan_digest,
			    slot->variant[b].plan_digest, 32) != 0);
	}
	pd_clear(&pd);
}

/* One replica's share-out, alone. */
static void
test_group(void)
{
	unsigned np[4] = { 1, 10, 10, 10 }, count[4 * 3], load[3], tot[4];
	size_t rank[4] = { 0, 1, 2, 3 }, i, v;
	unsigned np61[61], *c61;
	size_t rank61[61], in_any;

	/* a backend with one point is not starved: in every variant */
	memset(count, 0, sizeof(count));
	pd_plan_group(np, rank, 4, 3, 20, count);
	memset(load, 0, sizeof(load));
	for (i = 0; i < 4; i++) {
		tot[i] = 0;
		for (v = 0; v < 3; v++) {
			load[v] += count[i * 3 + v];
			tot[i] += count[i * 3 + v];
			CHECK(count[i * 3 + v] <= np[i]);
		}
	}
	for (v = 0; v < 3; v++)
		CHECK_INT_EQ(count[0 * 3 + v], 1);
	CHECK_INT_EQ(tot[1], 19);
	CHECK_INT_EQ(load[0] + load[1] + load[2], 60);
	for (v = 0; v < 3; v++)
		CHECK_INT_EQ(load[v], 20);
	/* more backends than room: 60 get one point, the last by rank none */
	if ((c61 = calloc(61 * 3, sizeof(*c61))) == NULL)
		abort();
	for (i = 0; i < 61; i++) {
		np61[i] = 3;
		rank61[i] = i;
	}
	pd_plan_group(np61, rank61, 61, 3, 20, c61);
	for (i = 0, in_any = 0; i < 61; i++)
		in_any += c61[i * 3] + c61[i * 3 + 1] + c61[i * 3 + 2] > 0;
	CHECK_INT_EQ(in_any, 60);
	CHECK_INT_EQ(c61[60 * 3] + c61[60 * 3 + 1] + c61[60 * 3 + 2], 0);
	free(c61);
}

/* 120 one-point backends over 2 replicas of 60: everyone somewhere. */
static void
test_more_than_one_replica_holds(void)
{
	struct pd pd;
	struct pd_slot *slot;
	time_t t = TPD_VA + 60;
	size_t i, v, missing = 0;

	setup(&pd, 120, 1, 0, t);
	pd_tick(&pd, t);
	slot = &pd.services[0].slot[PD_FIRST];
	CHECK(slot->distinct);
	for (i = 0; i < 120; i++) {
		unsigned n = 0;

		for (v = 0; v < slot->nvariants; v++)
			n += count_in(slot, v, i);
		missing += n == 0;
	}
	CHECK_INT_EQ(missing, 0);
	pd_clear(&pd);
}

/*
 * The ring moves by one HSDir: the HSDirs that keep their replica and
 * role keep their variant (and their upload); the plan is not redone.
 */
static void
test_ring_change(void)
{
	struct pd pd;
	struct pd_slot *slot;
	struct pd_net net;
	struct pd_ring ring;
	char fpr[8][PD_FPR_LEN + 1];
	size_t variant[8], i, j, kept = 0;
	time_t t = TPD_VA + 60;

	setup(&pd, 60, 3, 0, t);
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	slot = &pd.services[0].slot[PD_FIRST];
	for (i = 0; i < 8; i++) {
		memcpy(fpr[i], slot->targets[i].fpr, sizeof(fpr[i]));
		variant[i] = slot->targets[i].variant;
	}
	memset(rec.builds, 0, sizeof(rec.builds));
	tpd_ring_shift = 1;
	tpd_net(&net, TPD_VA);
	tpd_ring(&ring);
	pd_set_network(&pd, &net, &ring, t + 10);
	pd_tick(&pd, t + 10);
	for (i = 0; i < slot->ntargets; i++) {
		const struct pd_target *a = &slot->targets[i];

		for (j = 0; j < 8 && strcmp(fpr[j], a->fpr) != 0; j++)
			;
		if (j == 8 || a->state != PD_T_UPLOADED)
			continue;
		CHECK_INT_EQ(a->variant, variant[j]);
		kept++;
	}
	/* positions 1-3 of replica 1 and 5-7 of replica 2 stay */
	CHECK(kept >= 4);
	for (i = 0; i < PD_VARIANTS_MAX; i++)
		CHECK_INT_EQ(rec.builds[PD_FIRST][i], 0);
	check_plan(&pd.services[0], slot, 20);
	pd_clear(&pd);
}

/*
 * An HSDir that gets another variant holding a lower counter than the one
 * it took from us would refuse it: the period is built again first, and
 * what it gets is above what it has.
 */
static void
test_counter_only_rises(void)
{
	struct pd pd;
	struct pd_service *sv;
	struct pd_slot *slot;
	struct pd_target *a;
	time_t t = TPD_VA + 60;
	size_t i, other;
	uint64_t had;

	setup(&pd, 60, 3, 0, t);
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	sv = &pd.services[0];
	slot = &sv->slot[PD_FIRST];
	/* backend 5 changes: the variants it is in get a higher counter */
	tpd_instance_desc(&pd, 5, 3, t + 100);
	pd_tick(&pd, t + 100);
	pd_tick(&pd, t + 100 + PD_DEBOUNCE_S);
	all_uploaded(&pd, t + 103);
	for (i = 0; i < slot->ntargets; i++)
		if (slot->variant[slot->targets[i].variant].revision ==
		    (uint64_t)(t + 103))
			break;
	CHECK(i < slot->ntargets);
	a = &slot->targets[i];
	had = a->uploaded_revision;
	CHECK_INT_EQ(had, t + 103);
	/* give it a variant built at t (as a ring change can) */
	for (other = 0; other < slot->nvariants; other++)
		if (slot->variant[other].revision == (uint64_t)t)
			break;
	CHECK(other < slot->nvariants);
	a->variant = other;
	a->state = PD_T_PENDING;
	a->next_try = t + 110;
	memset(rec.builds, 0, sizeof(rec.builds));
	pd_tick(&pd, t + 110);
	CHECK(rec.builds[PD_FIRST][other] == 0);	/* not sent either */
	CHECK_INT_EQ(a->state, PD_T_PENDING);
	pd_tick(&pd, t + 111);		/* built again, then sent */
	CHECK(rec.builds[PD_FIRST][other] == 1);
	CHECK(slot->variant[other].revision > had);
	for (i = 0; i < 4; i++) {
		all_uploaded(&pd, t + 112 + (time_t)i);
		pd_tick(&pd, t + 112 + (time_t)i);
	}
	CHECK_INT_EQ(a->state, PD_T_UPLOADED);
	CHECK_INT_EQ(a->uploaded_variant, other);
	CHECK(a->uploaded_revision > had);
	pd_clear(&pd);
}

TEST_MAIN(
	TEST_CASE(test_group),
	TEST_CASE(test_sixty_backends),
	TEST_CASE(test_below_the_limit),
	TEST_CASE(test_variants_differ),
	TEST_CASE(test_more_than_one_replica_holds),
	TEST_CASE(test_ring_change),
	TEST_CASE(test_counter_only_rises)
)

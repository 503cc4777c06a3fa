/*
 * publishd's publish decisions and upload bookkeeping, with a fake clock,
 * the stub ring of test_publishd_fixture.h, a build that only counts and
 * an HSPOST that only records: every trigger builds or uploads when it
 * should and not before, failed uploads back off per HSDir, an HSDir
 * never has two uploads of one service in flight, and the HS_DESC lines
 * tor really sends are matched to their uploads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_msg.h"
#include "test.h"
#include "test_publishd_fixture.h"
#include "torctl_events.h"
#include "torctl_parse.h"

#define MAX_POSTS	256

struct post {
	int	slot;
	size_t	variant;
	char	fpr[PD_FPR_LEN + 1];
	uint64_t revision;
};

static struct {
	int		builds[PD_SLOTS];
	enum pd_reason	last_reason;
	int		fail_builds;
	int		fail_posts;
	struct post	posts[MAX_POSTS];
	size_t		nposts;
} rec;

static int
fake_build(void *arg, struct pd *pd, struct pd_service *sv, int k,
    size_t v, time_t now, char *why, size_t whylen)
{
	struct pd_variant *va = &sv->slot[k].variant[v];
	char *d;

	if (rec.fail_builds) {
		snprintf(why, whylen, "test failure");
		return -1;
	}
	rec.builds[k]++;
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
	struct post *p;

	if (rec.fail_posts || rec.nposts == MAX_POSTS)
		return -1;
	p = &rec.posts[rec.nposts++];
	p->slot = k;
	p->variant = v;
	snprintf(p->fpr, sizeof(p->fpr), "%s", fpr);
	p->revision = sv->slot[k].variant[v].revision;
	return 0;
}

static void
setup(struct pd *pd, size_t ninst, time_t now)
{
	static const struct pd_ops ops = { fake_build, fake_post, NULL, NULL };
	struct pd_net net;
	struct pd_ring ring;

	memset(&rec, 0, sizeof(rec));
	tpd_ring_shift = 0;
	pd_init(pd, &ops);
	pd->uploads_enabled = 1;
	tpd_configure(pd, NULL, ninst, 3, now);
	tpd_net(&net, TPD_VA);
	tpd_ring(&ring);
	pd_set_network(pd, &net, &ring, now);
}

static size_t
posts_to(const char *fpr)
{
	size_t i, n = 0;

	for (i = 0; i < rec.nposts; i++)
		if (strcmp(rec.posts[i].fpr, fpr) == 0)
			n++;
	return n;
}

static struct pd_target *
target(struct pd *pd, int k, const char *fpr)
{
	struct pd_slot *slot = &pd->services[0].slot[k];
	size_t i;

	for (i = 0; i < slot->ntargets; i++)
		if (strcmp(slot->targets[i].fpr, fpr) == 0)
			return &slot->targets[i];
	return NULL;
}

/* Every in-flight upload succeeds. */
static void
all_uploaded(struct pd *pd, time_t now)
{
	struct pd_service *sv = &pd->services[0];

	while (sv->ninflight > 0)
		pd_upload_result(pd, sv, sv->inflight[0].fpr, 1, "", now);
}

/* No HSDir has two uploads of the service in flight. */
static int
inflight_distinct(const struct pd_service *sv)
{
	size_t i, j;

	for (i = 0; i < sv->ninflight; i++)
		for (j = i + 1; j < sv->ninflight; j++)
			if (strcmp(sv->inflight[i].fpr, sv->inflight[j].fpr) == 0)
				return 0;
	return 1;
}

/* The stub ring: first = HSDirs 6..11,0,1 (tp 19674), second 9..11,0..4. */
static void
test_first_publish_and_shared_hsdirs(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60;
	char fpr[PD_FPR_LEN + 1];
	size_t n;

	setup(&pd, 3, t);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].tp, TPD_TP_FIRST);
	CHECK_INT_EQ(pd.services[0].slot[PD_SECOND].tp, TPD_TP_SECOND);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].ntargets, TPD_RING_N);
	pd_tick(&pd, t);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	CHECK_INT_EQ(rec.builds[PD_SECOND], 1);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].last_reason, PD_R_FIRST);
	/* 8 for the first; of the second's 8, the 5 shared ones wait */
	CHECK_INT_EQ(rec.nposts, 8 + 3);
	CHECK(inflight_distinct(&pd.services[0]));
	tpd_fpr(fpr, 9);	/* shared */
	CHECK_INT_EQ(posts_to(fpr), 1);
	CHECK_INT_EQ(target(&pd, PD_SECOND, fpr)->state, PD_T_PENDING);
	/* its first upload's outcome frees it for the second descriptor */
	pd_upload_result(&pd, &pd.services[0], fpr, 1, "", t + 1);
	CHECK_INT_EQ(target(&pd, PD_FIRST, fpr)->state, PD_T_UPLOADED);
	n = rec.nposts;
	pd_tick(&pd, t + 1);
	CHECK_INT_EQ(rec.nposts, n + 1);
	CHECK_INT_EQ(rec.posts[n].slot, PD_SECOND);
	CHECK_STR_EQ(rec.posts[n].fpr, fpr);
	/* nothing is built twice */
	pd_tick(&pd, t + 2);
	CHECK_INT_EQ(rec.builds[PD_FIRST] + rec.builds[PD_SECOND], 2);
	pd_clear(&pd);
}

static void
test_startup_grace(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60;

	setup(&pd, 3, t);
	pd_clear(&pd);
	/* one instance has not been reported by fetchd yet */
	setup(&pd, 3, t);
	pd.services[0].instances[2].reported = 0;
	pd.services[0].slot[PD_FIRST].built = 0;
	CHECK(pd_tick(&pd, t) == t + PD_STARTUP_GRACE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 0);
	pd_tick(&pd, t + PD_STARTUP_GRACE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	pd_clear(&pd);
	/*
	 * fetchd starts by saying NO_DESCRIPTOR of every instance: that is
	 * not a report, so the first build still waits for the others.
	 */
	setup(&pd, 3, t);
	pd.services[0].instances[2].reported = 0;
	pd.services[0].instances[2].has_desc = 0;
	pd.services[0].slot[PD_FIRST].built = 0;
	pd_instance_state(&pd, 0, 2, pd.services[0].instances[2].key,
	    PEER_STATE_NO_DESCRIPTOR, t, "", t);
	CHECK(pd_tick(&pd, t) == t + PD_STARTUP_GRACE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 0);
	/* its first real fetch result ends the wait */
	tpd_instance_desc(&pd, 2, 3, t + 5);
	pd_tick(&pd, t + 5);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	pd_clear(&pd);
}

static void
test_intro_change_debounce_and_rate_limit(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60, w;

	setup(&pd, 3, t);
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	/* an unchanged set is no reason */
	pd_tick(&pd, t + 100);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	/* a change at t+100: built PD_DEBOUNCE_S later, not sooner */
	tpd_instance_desc(&pd, 1, 3, t + 100);
	w = pd_tick(&pd, t + 100);
	CHECK(w == t + 100 + PD_DEBOUNCE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	pd_tick(&pd, t + 100 + PD_DEBOUNCE_S - 1);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	pd_tick(&pd, t + 100 + PD_DEBOUNCE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	CHECK_INT_EQ(rec.builds[PD_SECOND], 2);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].last_reason,
	    PD_R_INTRO_CHANGED);
	all_uploaded(&pd, t + 104);
	/* a second change right after: rate-limited to PD_MIN_REBUILD_S */
	tpd_instance_desc(&pd, 0, 2, t + 105);
	w = pd_tick(&pd, t + 110);
	CHECK(w == t + 100 + PD_DEBOUNCE_S + PD_MIN_REBUILD_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	pd_tick(&pd, w);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 3);
	/* an instance that dies (fetchd says so) changes the set too */
	all_uploaded(&pd, w);
	pd_instance_state(&pd, 0, 2, pd.services[0].instances[2].key,
	    PEER_STATE_FETCH_FAILED, w + 200, "NOT_FOUND", w + 200);
	pd_tick(&pd, w + 200);
	pd_tick(&pd, w + 200 + PD_DEBOUNCE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 4);
	pd_clear(&pd);
}

/* fetchd's probes say instance i is (liveness) at now. */
static void
set_liveness(struct pd *pd, uint32_t i, uint32_t liveness, time_t now)
{
	struct peer_liveness_msg l;

	memset(&l, 0, sizeof(l));
	l.service = 0;
	l.instance = i;
	memcpy(l.instance_key, pd->services[0].instances[i].key, 32);
	l.liveness = liveness;
	l.since = (uint64_t)now;
	l.last_probe = (uint64_t)now;
	snprintf(l.reason, sizeof(l.reason), "%s",
	    liveness == PEER_LIVENESS_DEAD ? "introduction failed" : "");
	CHECK_INT_EQ(pd_instance_liveness(pd, &l, now), 0);
}

/* Instances whose points pd_choose_intro() takes, as a bit set. */
static unsigned
chosen_instances(const struct pd *pd, time_t now)
{
	struct hsdesc_intro_point ip[HSDESC_MAX_INTRO_POINTS];
	uint32_t from[HSDESC_MAX_INTRO_POINTS];
	unsigned set = 0;
	size_t i, n;

	n = pd_choose_intro(&pd->services[0], now, 20, ip, from);
	for (i = 0; i < n; i++)
		set |= 1u << from[i];
	return set;
}

/*
 * A dead instance (fetchd's probes) leaves at once: no debounce, and only
 * PD_MIN_REBUILD_DROP_S after the last build.  Suspect and unknown ones
 * stay.  When every instance is dead the last non-empty set is kept, and
 * an instance that comes back is published with the usual debounce.
 */
static void
test_dead_instance_leaves_at_once(void)
{
	struct pd pd;
	struct pd_service *sv;
	time_t t = TPD_VA + 60;

	setup(&pd, 3, t);
	sv = &pd.services[0];
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	set_liveness(&pd, 0, PEER_LIVENESS_ALIVE, t + 50);
	set_liveness(&pd, 2, PEER_LIVENESS_SUSPECT, t + 50);
	pd_tick(&pd, t + 50);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	CHECK_INT_EQ(chosen_instances(&pd, t + 50), 7);

	set_liveness(&pd, 1, PEER_LIVENESS_DEAD, t + 100);
	CHECK(!pd_instance_is_live(&sv->instances[1], t + 100));
	CHECK_INT_EQ(chosen_instances(&pd, t + 100), 5);
	pd_tick(&pd, t + 100);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	CHECK_INT_EQ(rec.builds[PD_SECOND], 2);
	all_uploaded(&pd, t + 100);
	/* The next drop a second later: held to PD_MIN_REBUILD_DROP_S. */
	set_liveness(&pd, 2, PEER_LIVENESS_DEAD, t + 101);
	CHECK(pd_tick(&pd, t + 101) == t + 100 + PD_MIN_REBUILD_DROP_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	pd_tick(&pd, t + 100 + PD_MIN_REBUILD_DROP_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 3);
	CHECK_INT_EQ(chosen_instances(&pd, t + 102), 1);
	all_uploaded(&pd, t + 102);

	/* The last one dies: its points stay, nothing is rebuilt. */
	set_liveness(&pd, 0, PEER_LIVENESS_DEAD, t + 200);
	pd_tick(&pd, t + 200);
	CHECK(sv->all_dead);
	CHECK_INT_EQ(sv->all_dead_since, t + 200);
	CHECK_INT_EQ(chosen_instances(&pd, t + 200), 1);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 3);
	/* Returning is not back yet; alive is, with the usual debounce. */
	set_liveness(&pd, 1, PEER_LIVENESS_RETURNING, t + 300);
	pd_tick(&pd, t + 300);
	CHECK(sv->all_dead);
	set_liveness(&pd, 1, PEER_LIVENESS_ALIVE, t + 305);
	pd_tick(&pd, t + 305);
	CHECK(!sv->all_dead);
	CHECK_INT_EQ(chosen_instances(&pd, t + 305), 2);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 3);
	pd_tick(&pd, t + 305 + PD_DEBOUNCE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 4);
	pd_clear(&pd);
}

/*
 * A restarted fetchd reports NO_DESCRIPTOR for every instance before its
 * first fetches: that must not empty the frontend's descriptor.  A real
 * verdict (INVALID, EXPIRED, FETCH_FAILED) still removes the instance.
 */
static void
test_fetchd_restart_keeps_instances(void)
{
	struct pd pd;
	struct pd_instance *in;
	time_t t = TPD_VA + 60;
	int i;

	setup(&pd, 3, t);
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	for (i = 0; i < 3; i++) {
		in = &pd.services[0].instances[i];
		CHECK_INT_EQ(pd_instance_state(&pd, 0, (uint32_t)i, in->key,
		    PEER_STATE_NO_DESCRIPTOR, t + 100, "", t + 100), 0);
		CHECK(pd_instance_is_live(in, t + 100));
	}
	pd_tick(&pd, t + 100);
	pd_tick(&pd, t + 100 + PD_DEBOUNCE_S + PD_MIN_REBUILD_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	in = &pd.services[0].instances[1];
	pd_instance_state(&pd, 0, 1, in->key, PEER_STATE_INVALID, t + 200,
	    "bad signature", t + 200);
	CHECK(!pd_instance_is_live(in, t + 200));
	pd_tick(&pd, t + 200);
	pd_tick(&pd, t + 200 + PD_DEBOUNCE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	pd_clear(&pd);
}

static void
test_instance_expiry_by_clock(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60, w;

	setup(&pd, 2, t);
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	tpd_instance_desc(&pd, 1, 3, t + 600);
	pd_tick(&pd, t + 600);
	pd_tick(&pd, t + 600 + PD_DEBOUNCE_S);
	all_uploaded(&pd, t + 600 + PD_DEBOUNCE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	/* instance 0's descriptor (received at t, 180 min) runs out */
	w = pd_tick(&pd, t + 1000);
	CHECK(w <= t + 180 * 60);
	CHECK(pd_instance_is_live(&pd.services[0].instances[0], t + 180 * 60 - 1));
	CHECK(!pd_instance_is_live(&pd.services[0].instances[0], t + 180 * 60));
	pd.net.valid_until = t + 100000;	/* keep the consensus live */
	pd_tick(&pd, t + 180 * 60);
	pd_tick(&pd, t + 180 * 60 + PD_DEBOUNCE_S);
	CHECK(rec.builds[PD_FIRST] >= 3);
	/* what was built last is the set without instance 0 */
	CHECK(memcmp(pd.services[0].slot[PD_FIRST].intro_digest,
	    pd.services[0].live_digest, 32) == 0);
	CHECK(pd.services[0].slot[PD_FIRST].built_at >= t + 180 * 60);
	pd_clear(&pd);
}

static void
test_refresh(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60, refresh, w;

	setup(&pd, 3, t);
	refresh = pd_net_refresh_interval(&pd.net);
	CHECK_INT_EQ(refresh, 60 * 60);		/* live: 60 min */
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	pd_tick(&pd, t + 10);	/* the second's uploads to shared HSDirs */
	all_uploaded(&pd, t + 10);
	w = pd_tick(&pd, t + 20);
	CHECK(w == t + refresh);
	/* keep the instances (same sets) and the consensus alive meanwhile */
	for (size_t i = 0; i < 3; i++)
		pd.services[0].instances[i].received_at = t + refresh;
	pd.net.valid_until = t + 100000;
	pd_tick(&pd, t + refresh - 1);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	pd_tick(&pd, t + refresh);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].last_reason, PD_R_REFRESH);
	/* the new descriptor goes to every HSDir again */
	CHECK_INT_EQ(target(&pd, PD_FIRST, pd.services[0].slot[PD_FIRST].targets[0].fpr)->state,
	    PD_T_IN_FLIGHT);
	pd_clear(&pd);
}

static void
test_upload_failure_backoff(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60;
	char fpr[PD_FPR_LEN + 1];
	struct pd_target *tg;

	setup(&pd, 3, t);
	pd_tick(&pd, t);
	tpd_fpr(fpr, 6);	/* first descriptor only */
	CHECK_INT_EQ(posts_to(fpr), 1);
	pd_upload_result(&pd, &pd.services[0], fpr, 0, "UNEXPECTED", t);
	tg = target(&pd, PD_FIRST, fpr);
	CHECK_INT_EQ(tg->last_result, PD_RES_FAILED);
	CHECK_STR_EQ(tg->reason, "UNEXPECTED");
	CHECK(tg->next_try == t + PD_BACKOFF_BASE_S);
	pd_tick(&pd, t + PD_BACKOFF_BASE_S - 1);
	CHECK_INT_EQ(posts_to(fpr), 1);
	pd_tick(&pd, t + PD_BACKOFF_BASE_S);
	CHECK_INT_EQ(posts_to(fpr), 2);
	/* again: twice the wait */
	pd_upload_result(&pd, &pd.services[0], fpr, 0, "UNEXPECTED",
	    t + PD_BACKOFF_BASE_S);
	CHECK(tg->next_try == t + 3 * PD_BACKOFF_BASE_S);
	/* the other HSDirs are not held back */
	CHECK_INT_EQ(target(&pd, PD_FIRST, pd.services[0].slot[PD_FIRST].targets[1].fpr)->state,
	    PD_T_IN_FLIGHT);
	/* the cap: a quarter period, at most PD_BACKOFF_MAX_S */
	CHECK_INT_EQ(pd_backoff(&pd, 30), PD_BACKOFF_MAX_S);
	pd_tick(&pd, t + 3 * PD_BACKOFF_BASE_S);
	CHECK_INT_EQ(posts_to(fpr), 3);
	pd_upload_result(&pd, &pd.services[0], fpr, 1, "", t + 20);
	CHECK_INT_EQ(tg->state, PD_T_UPLOADED);
	CHECK_INT_EQ(tg->attempts, 0);
	pd_clear(&pd);
}

/*
 * Another management host's newer build at an HSDir: it refuses ours
 * (UPLOAD_REJECTED), and the retry carries a new counter, after the
 * backoff, which goes on across the build.
 */
static void
test_upload_rejected_rebuilds(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60, u;
	char fpr[PD_FPR_LEN + 1];
	struct pd_target *tg;
	uint64_t refused;

	setup(&pd, 3, t);
	pd_tick(&pd, t);
	tpd_fpr(fpr, 6);	/* first descriptor only */
	CHECK_INT_EQ(posts_to(fpr), 1);
	refused = rec.posts[rec.nposts - 1].revision;
	pd_upload_result(&pd, &pd.services[0], fpr, 0, "UPLOAD_REJECTED", t);
	tg = target(&pd, PD_FIRST, fpr);
	CHECK(tg->refused_revision == refused);
	pd_tick(&pd, t + PD_BACKOFF_BASE_S - 1);
	CHECK_INT_EQ(posts_to(fpr), 1);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	/* due: not the same counter again, but a build with now's */
	u = t + PD_BACKOFF_BASE_S;
	pd_tick(&pd, u);
	CHECK_INT_EQ(posts_to(fpr), 1);
	pd_tick(&pd, u + 1);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	CHECK_INT_EQ(posts_to(fpr), 2);
	CHECK(rec.posts[rec.nposts - 1].revision > refused);
	/* refused again: the backoff has gone on (twice the wait) */
	pd_upload_result(&pd, &pd.services[0], fpr, 0, "UPLOAD_REJECTED",
	    u + 1);
	CHECK_INT_EQ(tg->attempts, 2);
	CHECK(tg->next_try == u + 1 + 2 * PD_BACKOFF_BASE_S);
	pd_tick(&pd, u + 2 * PD_BACKOFF_BASE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	/* taken at last: the slate is clean */
	pd_tick(&pd, u + 1 + 2 * PD_BACKOFF_BASE_S);
	pd_tick(&pd, u + 2 + 2 * PD_BACKOFF_BASE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 3);
	CHECK_INT_EQ(posts_to(fpr), 3);
	pd_upload_result(&pd, &pd.services[0], fpr, 1, "",
	    u + 2 + 2 * PD_BACKOFF_BASE_S);
	CHECK_INT_EQ(tg->state, PD_T_UPLOADED);
	CHECK_INT_EQ(tg->attempts, 0);
	CHECK(tg->refused_revision == 0);
	pd_clear(&pd);
}

static void
test_upload_timeout(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60;
	char fpr[PD_FPR_LEN + 1];

	setup(&pd, 3, t);
	CHECK(pd_tick(&pd, t) <= t + PD_UPLOAD_TIMEOUT_S);
	tpd_fpr(fpr, 6);
	pd_tick(&pd, t + PD_UPLOAD_TIMEOUT_S - 1);
	CHECK_INT_EQ(posts_to(fpr), 1);
	pd_tick(&pd, t + PD_UPLOAD_TIMEOUT_S);
	CHECK_STR_EQ(target(&pd, PD_FIRST, fpr)->reason, "TIMEOUT");
	pd_tick(&pd, t + PD_UPLOAD_TIMEOUT_S + PD_BACKOFF_BASE_S);
	CHECK_INT_EQ(posts_to(fpr), 2);
	CHECK(inflight_distinct(&pd.services[0]));
	pd_clear(&pd);
}

static void
test_hsdir_set_change(void)
{
	struct pd pd;
	struct pd_net net;
	struct pd_ring ring;
	time_t t = TPD_VA + 60;
	char fpr[PD_FPR_LEN + 1];
	size_t n;

	setup(&pd, 3, t);
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	n = rec.nposts;
	/* a new consensus moves the first descriptor's ring by one */
	tpd_ring_shift = 1;
	tpd_net(&net, TPD_VA);
	tpd_ring(&ring);
	pd_set_network(&pd, &net, &ring, t + 30);
	pd_tick(&pd, t + 30);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);	/* no rebuild */
	/* first: 7..11,0..2, 2 is new; second: 10,11,0..5, 5 is new */
	CHECK_INT_EQ(rec.nposts, n + 2);
	tpd_fpr(fpr, 2);
	CHECK_INT_EQ(target(&pd, PD_FIRST, fpr)->state, PD_T_IN_FLIGHT);
	tpd_fpr(fpr, 5);
	CHECK_INT_EQ(target(&pd, PD_SECOND, fpr)->state, PD_T_IN_FLIGHT);
	tpd_fpr(fpr, 6);
	CHECK(target(&pd, PD_FIRST, fpr) == NULL);
	tpd_fpr(fpr, 7);
	CHECK_INT_EQ(target(&pd, PD_FIRST, fpr)->state, PD_T_UPLOADED);
	pd_clear(&pd);
}

static void
test_period_rollover(void)
{
	struct pd pd;
	struct pd_net net;
	struct pd_ring ring;
	time_t t = TPD_VA + 60, srv = TPD_VA + 2 * 3600;
	uint64_t rev;

	setup(&pd, 3, t);
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	pd_tick(&pd, t);
	all_uploaded(&pd, t);
	rev = pd.services[0].slot[PD_SECOND].variant[0].revision;
	/* 00:00 UTC: the SRV; period 19675 is now the first descriptor's */
	tpd_instance_desc(&pd, 0, 3, srv);
	tpd_instance_desc(&pd, 1, 3, srv);
	tpd_instance_desc(&pd, 2, 3, srv);
	pd_tick(&pd, srv - 200);
	pd_tick(&pd, srv - 100);	/* the changed sets are built */
	all_uploaded(&pd, srv - 100);
	pd_tick(&pd, srv - 90);
	all_uploaded(&pd, srv - 90);
	rev = pd.services[0].slot[PD_SECOND].variant[0].revision;
	tpd_net(&net, srv);
	memset(net.srv_prev, 0xCC, HS_SRV_LEN);	/* yesterday's current */
	memset(net.srv_cur, 0x33, HS_SRV_LEN);
	tpd_ring(&ring);
	pd_set_network(&pd, &net, &ring, srv);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].tp, TPD_TP_SECOND);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].variant[0].revision, rev);
	CHECK_INT_EQ(pd.services[0].slot[PD_SECOND].tp, TPD_TP_SECOND + 1);
	CHECK(!pd.services[0].slot[PD_SECOND].built);
	pd_tick(&pd, srv);
	/* the moved one is not rebuilt; the new period is */
	CHECK_INT_EQ(rec.builds[PD_FIRST], 2);
	CHECK_INT_EQ(pd.services[0].slot[PD_SECOND].last_reason,
	    PD_R_ROLLOVER);
	pd_clear(&pd);
}

static void
test_no_live_consensus(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60;

	setup(&pd, 3, t);
	CHECK(!pd_net_live(&pd.net, pd.net.valid_until + PD_CONSENSUS_SLACK_S + 1));
	CHECK(pd_net_live(&pd.net, pd.net.valid_until + PD_CONSENSUS_SLACK_S));
	CHECK_INT_EQ(pd_tick(&pd,
	    pd.net.valid_until + PD_CONSENSUS_SLACK_S + 1), 0);
	CHECK_INT_EQ(rec.builds[PD_FIRST] + rec.builds[PD_SECOND], 0);
	CHECK_INT_EQ(rec.nposts, 0);
	pd_clear(&pd);
}

/*
 * Our clock against the consensus: behind its valid-after by more than
 * the slack, nothing is built or uploaded; ahead of a consensus that had
 * expired when it arrived, likewise; a consensus that only grew old while
 * we held it is no reason to stop.  Publishing resumes when they agree.
 */
static void
test_clock_refusal(void)
{
	struct pd pd;
	struct pd_net net;
	struct pd_ring ring;
	time_t va = TPD_VA, late;
	int64_t skew;

	/* 10 min behind: valid-after is ahead of us */
	setup(&pd, 3, va - 600);
	CHECK_INT_EQ(pd_clock_check(&pd, va - 600, &skew), PD_CLOCK_BEHIND);
	CHECK(skew == -600);
	CHECK(pd_tick(&pd, va - 600) == va - 600 + PD_CLOCK_RECHECK_S);
	CHECK_INT_EQ(pd.clock, PD_CLOCK_BEHIND);
	pd_tick(&pd, va - 600 + PD_STARTUP_GRACE_S + PD_DEBOUNCE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST] + rec.builds[PD_SECOND], 0);
	CHECK_INT_EQ(rec.nposts, 0);
	/* within the slack (a cache may have it DistSeconds early): fine */
	CHECK_INT_EQ(pd_clock_check(&pd, va - PD_CLOCK_SLACK_S, &skew),
	    PD_CLOCK_OK);
	CHECK(skew == 0);
	CHECK_INT_EQ(pd_clock_check(&pd, va - PD_CLOCK_SLACK_S - 1, &skew),
	    PD_CLOCK_BEHIND);
	/* the clock put right: it publishes */
	pd_tick(&pd, va + 60);
	CHECK_INT_EQ(pd.clock, PD_CLOCK_OK);
	CHECK(rec.builds[PD_FIRST] == 1 && rec.nposts > 0);
	pd_clear(&pd);

	/* 10 min ahead: the consensus arrives expired by our clock */
	tpd_net(&net, va);
	late = net.valid_until + 600;
	setup(&pd, 3, late);
	CHECK_INT_EQ(pd_clock_check(&pd, late, &skew), PD_CLOCK_AHEAD);
	CHECK(skew == 600);
	pd_tick(&pd, late);
	pd_tick(&pd, late + PD_STARTUP_GRACE_S + PD_DEBOUNCE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST] + rec.builds[PD_SECOND], 0);
	CHECK_INT_EQ(rec.nposts, 0);
	CHECK_INT_EQ(pd.clock, PD_CLOCK_AHEAD);
	/* a fresh consensus that agrees: it publishes */
	tpd_net(&net, late - 60);
	tpd_ring(&ring);
	pd_set_network(&pd, &net, &ring, late);
	pd_tick(&pd, late + 1);
	CHECK_INT_EQ(pd.clock, PD_CLOCK_OK);
	CHECK(rec.builds[PD_FIRST] == 1 && rec.nposts > 0);
	pd_clear(&pd);

	/* arrived in time, then grew old (no new consensus): still publish */
	setup(&pd, 3, va + 60);
	pd_tick(&pd, va + 60);
	late = pd.net.valid_until + 2 * PD_CLOCK_SLACK_S;
	CHECK_INT_EQ(pd_clock_check(&pd, late, &skew), PD_CLOCK_OK);
	pd_tick(&pd, late);
	CHECK_INT_EQ(pd.clock, PD_CLOCK_OK);
	pd_clear(&pd);
}

static void
test_build_failure_backoff(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60;

	setup(&pd, 3, t);
	rec.fail_builds = 1;
	pd_tick(&pd, t);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].build_failures, 1);
	CHECK_STR_EQ(pd.services[0].slot[PD_FIRST].last_error, "test failure");
	CHECK(pd_tick(&pd, t + 1) == t + PD_BACKOFF_BASE_S);
	rec.fail_builds = 0;
	pd_tick(&pd, t + PD_BACKOFF_BASE_S);
	CHECK_INT_EQ(rec.builds[PD_FIRST], 1);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].last_reason, PD_R_RETRY);
	pd_clear(&pd);
}

static void
test_control_loss(void)
{
	struct pd pd;
	time_t t = TPD_VA + 60;
	int i, n;

	setup(&pd, 3, t);
	pd.uploads_enabled = 0;
	pd_tick(&pd, t);
	CHECK_INT_EQ(rec.nposts, 0);
	pd.uploads_enabled = 1;
	pd_tick(&pd, t + 1);
	CHECK_INT_EQ(rec.nposts, 11);
	pd_uploads_abort(&pd, t + 2);
	CHECK_INT_EQ(pd.services[0].ninflight, 0);
	/* all uploaded, then a new connection: every HSDir gets it again */
	for (i = 0; i < 4; i++) {
		pd_tick(&pd, t + 2 + 600 + i);
		all_uploaded(&pd, t + 2 + 600 + i);
	}
	pd_tick(&pd, t + 700);
	CHECK_INT_EQ(pd.services[0].ninflight, 0);
	n = rec.builds[PD_FIRST] + rec.builds[PD_SECOND];
	/* rebuilt (an HSDir refuses a revision it has), then uploaded */
	pd_republish(&pd);
	pd_tick(&pd, t + 700);
	CHECK_INT_EQ(rec.builds[PD_FIRST] + rec.builds[PD_SECOND], n + 2);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].last_reason, PD_R_REFRESH);
	CHECK_INT_EQ(pd.services[0].ninflight, 11);
	pd_clear(&pd);
}

/* --- HS_DESC events, as tor 0.4.9 sends them ----------------------------- */

static int
hs_desc_of(const char *line, struct torctl_hs_desc *ev)
{
	struct torctl_parser p;
	struct torctl_reply *r = NULL;
	char wire[512];
	const char *why;
	size_t used;
	int rv = -1;

	snprintf(wire, sizeof(wire), "%s\r\n", line);
	torctl_parser_init(&p, NULL);
	if (torctl_parser_feed(&p, wire, strlen(wire), &used, &r) ==
	    TORCTL_FEED_REPLY)
		rv = torctl_parse_hs_desc(r, ev, &why);
	torctl_reply_free(r);
	torctl_parser_clear(&p);
	return rv;
}

/* The UPLOADED lines of control-events-examples.txt, against our uploads. */
static void
test_event_matching(void)
{
	static const char *const frontend =
	    "le5tsbi4izbr7pzfxabhcrfwe5jokzdpkvwgucbfh4rhf5r2fi3hgvid";
	struct pd pd;
	struct pd_service *sv;
	struct torctl_hs_desc ev;
	char *text, *line, *save = NULL;
	time_t t = TPD_VA + 60;
	int matched = 0, lines = 0;

	setup(&pd, 2, t);
	sv = &pd.services[0];
	/* pretend our frontend is the captured one, with uploads in flight */
	snprintf(sv->address, sizeof(sv->address), "%s", frontend);
	free(sv->slot[PD_FIRST].targets);
	sv->slot[PD_FIRST].targets = calloc(2, sizeof(struct pd_target));
	sv->slot[PD_FIRST].ntargets = 2;
	snprintf(sv->slot[PD_FIRST].targets[0].fpr, PD_FPR_LEN + 1, "%s",
	    "1DDC42DADEB7938D572E08DB959D65DA89EE836E");
	snprintf(sv->slot[PD_FIRST].targets[1].fpr, PD_FPR_LEN + 1, "%s",
	    "F785C60C99E8C2C670F997B1BBA45F3B29498ADA");
	free(sv->slot[PD_SECOND].targets);
	sv->slot[PD_SECOND].targets = NULL;
	sv->slot[PD_SECOND].ntargets = 0;
	pd_tick(&pd, t);
	CHECK_INT_EQ(sv->ninflight, 2);

	text = test_read_data("tor-0.4.9-testnet/control-events-examples.txt",
	    NULL);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *sp = strchr(line, ' ');

		if (line[0] == '#' || sp == NULL ||
		    strncmp(sp + 1, "650 HS_DESC ", 12) != 0)
			continue;
		lines++;
		CHECK_INT_EQ(hs_desc_of(sp + 1, &ev), 0);
		matched += pd_hs_desc_event(&pd, &ev, t + 5);
	}
	free(text);
	/* REQUESTED/RECEIVED and other HSDirs are not ours; a1 twice: once */
	CHECK(lines >= 9);
	CHECK_INT_EQ(matched, 2);
	CHECK_INT_EQ(sv->slot[PD_FIRST].targets[0].state, PD_T_UPLOADED);
	CHECK_INT_EQ(sv->slot[PD_FIRST].targets[1].state, PD_T_UPLOADED);
	CHECK_INT_EQ(sv->ninflight, 0);

	/* FAILED, as digest 9.5 gives it; and a fetch failure is not ours */
	pd_tick(&pd, t + 5);
	sv->slot[PD_FIRST].targets[0].state = PD_T_PENDING;
	pd_tick(&pd, t + 6);
	CHECK_INT_EQ(sv->ninflight, 1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC FAILED le5tsbi4izbr7pzfxabhcrfwe5"
	    "jokzdpkvwgucbfh4rhf5r2fi3hgvid NO_AUTH $1DDC42DADEB7938D572E08DB9"
	    "59D65DA89EE836E~r6 bY1/DY34BesT2b9lPB8lCqkwweBmovP9UxMuYLAXiA0 "
	    "REASON=NOT_FOUND", &ev), 0);
	CHECK_INT_EQ(pd_hs_desc_event(&pd, &ev, t + 7), 0);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC FAILED le5tsbi4izbr7pzfxabhcrfwe5"
	    "jokzdpkvwgucbfh4rhf5r2fi3hgvid NO_AUTH $1DDC42DADEB7938D572E08DB9"
	    "59D65DA89EE836E~r6 bY1/DY34BesT2b9lPB8lCqkwweBmovP9UxMuYLAXiA0 "
	    "REASON=UPLOAD_REJECTED", &ev), 0);
	CHECK_INT_EQ(pd_hs_desc_event(&pd, &ev, t + 7), 1);
	CHECK_INT_EQ(sv->slot[PD_FIRST].targets[0].last_result, PD_RES_FAILED);
	CHECK_STR_EQ(sv->slot[PD_FIRST].targets[0].reason, "UPLOAD_REJECTED");
	/* another service's address is not ours */
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC UPLOADED vckzlz6oomfw62y2l4rl36gt"
	    "2qmeyl4qb6qz633eamuh3wgjceb2myyd UNKNOWN $F785C60C99E8C2C670F997B"
	    "1BBA45F3B29498ADA~a1", &ev), 0);
	CHECK_INT_EQ(pd_hs_desc_event(&pd, &ev, t + 8), 0);
	pd_clear(&pd);
}

TEST_MAIN(
	TEST_CASE(test_first_publish_and_shared_hsdirs),
	TEST_CASE(test_startup_grace),
	TEST_CASE(test_intro_change_debounce_and_rate_limit),
	TEST_CASE(test_dead_instance_leaves_at_once),
	TEST_CASE(test_fetchd_restart_keeps_instances),
	TEST_CASE(test_instance_expiry_by_clock),
	TEST_CASE(test_refresh),
	TEST_CASE(test_upload_failure_backoff),
	TEST_CASE(test_upload_rejected_rebuilds),
	TEST_CASE(test_upload_timeout),
	TEST_CASE(test_hsdir_set_change),
	TEST_CASE(test_period_rollover),
	TEST_CASE(test_no_live_consensus),
	TEST_CASE(test_clock_refusal),
	TEST_CASE(test_build_failure_backoff),
	TEST_CASE(test_control_loss),
	TEST_CASE(test_event_matching)
)

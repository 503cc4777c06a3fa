/*
 * Building superdescriptors: the intro point choice (balanced over live
 * instances, at most 20, shuffled), the flow-control rule, a whole build
 * through keyd's own request handler (keyd_lib, in-process, same fake
 * clock) whose result our decoder accepts under the frontend's identity,
 * and the real HSDir ring from a tor 0.4.9 test network's consensus.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hashring.h"
#include "keyd.h"
#include "masterkey.h"
#include "test.h"
#include "test_publishd_fixture.h"

static int
null_build(void *arg, struct pd *pd, struct pd_service *sv, int k,
    size_t v, time_t now, char *why, size_t whylen)
{
	return -1;
}

static int
null_post(void *arg, struct pd *pd, struct pd_service *sv, int k,
    size_t v, const char *fpr)
{
	return -1;
}

static const struct pd_ops null_ops = { null_build, null_post, NULL, NULL };

static size_t
count_from(const uint32_t *from, size_t n, uint32_t inst)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += from[i] == inst;
	return c;
}

/* 11 instances of 3: 20 points, every instance 1 or 2 of them. */
static void
test_intro_balanced_and_capped(void)
{
	struct pd pd;
	struct hsdesc_intro_point ip[HSDESC_MAX_INTRO_POINTS];
	uint32_t from[HSDESC_MAX_INTRO_POINTS];
	size_t n, i, c, short_one[11] = { 0 };
	int rounds;
	time_t t = TPD_VA;

	pd_init(&pd, &null_ops);
	tpd_configure(&pd, NULL, 11, 3, t);
	for (rounds = 0; rounds < 50; rounds++) {
		n = pd_choose_intro(&pd.services[0], t, 20, ip, from);
		CHECK_INT_EQ(n, 20);
		for (i = 0; i < 11; i++) {
			c = count_from(from, n, (uint32_t)i);
			CHECK(c == 1 || c == 2);
			short_one[i] += c == 1;
		}
		/* each point really is that instance's */
		for (i = 0; i < n; i++) {
			const struct pd_instance *in =
			    &pd.services[0].instances[from[i]];

			CHECK(memcmp(ip[i].auth_key, in->intro[0].auth_key, 32) == 0 ||
			    memcmp(ip[i].auth_key, in->intro[1].auth_key, 32) == 0);
		}
	}
	/* the instance left one short is not always the same */
	for (i = 0, c = 0; i < 11; i++)
		c += short_one[i] > 0;
	CHECK(c > 2);
	pd_clear(&pd);
}

static void
test_intro_only_live_and_shuffled(void)
{
	struct pd pd;
	struct hsdesc_intro_point a[HSDESC_MAX_INTRO_POINTS];
	struct hsdesc_intro_point b[HSDESC_MAX_INTRO_POINTS];
	uint32_t from[HSDESC_MAX_INTRO_POINTS];
	size_t n, i;
	int differ = 0, rounds;
	time_t t = TPD_VA;

	pd_init(&pd, &null_ops);
	tpd_configure(&pd, NULL, 3, 4, t);
	pd_instance_state(&pd, 0, 1, pd.services[0].instances[1].key,
	    PEER_STATE_INVALID, t, "bad signature", t);
	n = pd_choose_intro(&pd.services[0], t, 20, a, from);
	CHECK_INT_EQ(n, 8);
	CHECK_INT_EQ(count_from(from, n, 1), 0);
	CHECK_INT_EQ(count_from(from, n, 0), 4);
	/* an expired instance gives nothing either */
	CHECK_INT_EQ(pd_choose_intro(&pd.services[0], t + 180 * 60, 20, a,
	    from), 0);
	/* a point whose cert expired is skipped */
	pd.services[0].instances[0].intro[0].auth_key_exp_hours =
	    (uint32_t)(t / 3600);
	CHECK_INT_EQ(pd_choose_intro(&pd.services[0], t, 20, a, from), 7);
	/* a limit below the total */
	CHECK_INT_EQ(pd_choose_intro(&pd.services[0], t, 5, a, from), 5);
	/* the order differs between calls */
	for (rounds = 0; rounds < 10 && !differ; rounds++) {
		n = pd_choose_intro(&pd.services[0], t, 20, a, NULL);
		CHECK_INT_EQ(pd_choose_intro(&pd.services[0], t, 20, b, NULL), n);
		for (i = 0; i < n; i++)
			differ |= memcmp(a[i].auth_key, b[i].auth_key, 32) != 0;
	}
	CHECK(differ);
	pd_clear(&pd);
}

static void
test_flow_control_choice(void)
{
	struct pd pd;
	struct pd_service *sv;
	uint32_t from[3] = { 0, 1, 2 };

	pd_init(&pd, &null_ops);
	tpd_configure(&pd, NULL, 3, 1, TPD_VA);
	sv = &pd.services[0];
	CHECK_STR_EQ(pd_choose_flow_control(sv, from, 3, 31), "1-2 31");
	/* tor's clients accept sendme_inc within 1 of the consensus' */
	CHECK_STR_EQ(pd_choose_flow_control(sv, from, 3, 32), "1-2 31");
	CHECK(pd_choose_flow_control(sv, from, 3, 33) == NULL);
	CHECK(pd_choose_flow_control(sv, from, 3, 29) == NULL);
	/* all must advertise the same line */
	snprintf(sv->instances[2].flow_control, HSDESC_FLOW_CONTROL_MAX, "2 31");
	CHECK(pd_choose_flow_control(sv, from, 3, 31) == NULL);
	CHECK_STR_EQ(pd_choose_flow_control(sv, from, 2, 31), "1-2 31");
	sv->instances[1].flags = 0;
	CHECK(pd_choose_flow_control(sv, from, 2, 31) == NULL);
	snprintf(sv->instances[0].flow_control, HSDESC_FLOW_CONTROL_MAX, "1-2 x");
	CHECK(pd_choose_flow_control(sv, from, 1, 31) == NULL);
	pd_clear(&pd);
}

/* --- a whole build through keyd's request handler ------------------------ */

static time_t fake_now;

static time_t
fake_time(void)
{
	return fake_now;
}

struct inproc {
	struct keyd		*kd;
	struct ipc_channel	 req_ch;	/* for ipc_parse only */
	struct ipc_channel	 rep_ch;
	uint8_t			 rbuf[IPC_HDR_LEN + KEYD_REPLY_MAX];
};

/* keyd_handle_request() in-process, as keyd.c would serve it. */
static int
inproc_transact(struct keyd_client *kc, struct ipc_builder *req,
    struct ipc_msg *reply)
{
	struct inproc *ip = kc->arg;
	struct ipc_builder rb;
	struct ipc_msg m;

	ipc_builder_init(&rb, ip->rbuf, sizeof(ip->rbuf), 0, 0);
	if (ipc_parse(&ip->req_ch, &m, req->buf, req->len) != IPC_OK ||
	    keyd_handle_request(ip->kd, &m, &rb) == -1)
		return -1;
	return ipc_parse(&ip->rep_ch, reply, rb.buf, rb.len) == IPC_OK ? 0 : -1;
}

static void
inproc_open(struct inproc *ip, struct keyd_client *kc, uint8_t id[32])
{
	struct masterkey *mk;

	if ((mk = masterkey_new()) == NULL ||
	    masterkey_generate(mk) != MASTERKEY_OK)
		abort();
	memcpy(id, mk->pub, 32);
	if ((ip->kd = keyd_new(fake_time)) == NULL ||
	    keyd_add_service_key(ip->kd, 0, mk) != KEYD_ERR_NONE)
		abort();
	ip->kd->config_done = 1;
	if (ipc_channel_init(&ip->req_ch, -1, "req", KEYD_REQUEST_CAP,
	    keyd_request_types, keyd_request_ntypes) == -1 ||
	    ipc_channel_init(&ip->rep_ch, -1, "rep", KEYD_REQUEST_CAP,
	    pd_keyd_types, pd_keyd_ntypes) == -1)
		abort();
	keyd_client_init(kc);
	kc->transact = inproc_transact;
	kc->arg = ip;
}

static void
inproc_close(struct inproc *ip)
{
	keyd_free(ip->kd);
	ipc_channel_close(&ip->req_ch);
	ipc_channel_close(&ip->rep_ch);
}

static void
check_decodes(const struct pd *pd, const struct pd_service *sv, int k,
    time_t now, size_t want_intro)
{
	const struct pd_slot *slot = &sv->slot[k];
	const struct pd_variant *va = &slot->variant[0];
	struct hsdesc *d = NULL;
	struct hsdesc_diag diag;
	enum hsdesc_error err;

	err = hsdesc_decode(va->desc, va->desc_len, sv->identity, slot->tp,
	    slot->params.length_min, now, 0, NULL, &d, &diag);
	CHECK_INT_EQ(err, HSDESC_OK);
	if (d == NULL)
		return;
	CHECK_INT_EQ(d->n_intro_points, want_intro);
	CHECK_INT_EQ(d->revision_counter, va->revision);
	CHECK_INT_EQ(d->lifetime_min, PD_DESC_LIFETIME_MIN);
	CHECK_INT_EQ(d->lifetime_min, 720);	/* the most tor accepts */
	CHECK(memcmp(d->blinded_key, slot->blinded_key, 32) == 0);
	CHECK(d->has_flow_control);
	CHECK_STR_EQ(d->flow_control, "1-2 31");
	CHECK(!d->has_pow_params);
	/* intro certs were clamped to the signing cert's expiry */
	CHECK(d->intro_points[0].auth_key_exp_hours <=
	    d->signing_cert_exp_hours);
	hsdesc_free(d);
}

static void
test_build_through_keyd(void)
{
	struct inproc ip;
	struct keyd_client kc;
	struct pd_builder bld = { &kc };
	struct pd_ops ops = { pd_build_variant, null_post, &bld, NULL };
	struct pd pd;
	struct pd_net net;
	struct pd_ring ring;
	uint8_t id[32];
	uint64_t rev_first;
	time_t t = TPD_VA + 60;

	fake_now = t;
	inproc_open(&ip, &kc, id);
	pd_init(&pd, &ops);
	tpd_configure(&pd, id, 3, 3, t);
	tpd_net(&net, TPD_VA);
	tpd_ring(&ring);
	pd_set_network(&pd, &net, &ring, t);
	pd_tick(&pd, t);
	CHECK(pd.services[0].slot[PD_FIRST].built);
	CHECK(pd.services[0].slot[PD_SECOND].built);
	CHECK_STR_EQ(pd.services[0].slot[PD_FIRST].last_error, "");
	check_decodes(&pd, &pd.services[0], PD_FIRST, t, 9);
	check_decodes(&pd, &pd.services[0], PD_SECOND, t, 9);
	rev_first = pd.services[0].slot[PD_FIRST].variant[0].revision;

	/* a rebuild later: same signing key, a higher revision counter */
	fake_now = t + 100;
	tpd_instance_desc(&pd, 0, 2, t + 100);
	pd_tick(&pd, t + 100);
	pd_tick(&pd, t + 100 + PD_DEBOUNCE_S);
	CHECK(pd.services[0].slot[PD_FIRST].variant[0].revision > rev_first);
	check_decodes(&pd, &pd.services[0], PD_FIRST, t + 103, 8);

	/*
	 * keyd replaced the period's signing key (a BEGIN from a restarted
	 * publishd does that): the next build is refused, forgets the
	 * period, and the retry begins it again.
	 */
	fake_now = t + 200;
	{
		struct pd_slot *slot = &pd.services[0].slot[PD_FIRST];
		struct keyd_begin_reply r;

		CHECK_INT_EQ(kc_begin(&kc, 0, slot->tp, &slot->params, 0, &r),
		    KEYD_ERR_NONE);
		slot->pending = PD_R_REFRESH;
		pd_tick(&pd, t + 200);
		CHECK_INT_EQ(slot->build_failures, 1);
		CHECK(strstr(slot->last_error, "no period begun") != NULL);
		CHECK(!slot->begun);
		fake_now = t + 200 + PD_BACKOFF_BASE_S;
		pd_tick(&pd, fake_now);
		CHECK_INT_EQ(slot->build_failures, 0);
		CHECK(slot->begun);
		check_decodes(&pd, &pd.services[0], PD_FIRST, fake_now, 8);
	}
	/* a period keyd's clock does not allow is refused, not signed */
	fake_now = t + 5 * 86400;
	pd.services[0].slot[PD_SECOND].begun = 0;
	pd.services[0].slot[PD_SECOND].pending = PD_R_REFRESH;
	pd.services[0].slot[PD_SECOND].build_failures = 0;
	pd_tick(&pd, t + 300);
	CHECK(strstr(pd.services[0].slot[PD_SECOND].last_error,
	    "not allowed now") != NULL);
	inproc_close(&ip);
	pd_clear(&pd);
}

/*
 * A reload of service 0 as it is, with these authorized clients (the
 * parent's PC_AUTH_CLIENTs): its instances keep their descriptors.
 */
static void
reload_with_clients(struct pd *pd, uint8_t (*pks)[32], size_t n, time_t now)
{
	const struct pd_service *old = &pd->services[0];
	struct pd_service *sv;

	if ((sv = calloc(1, sizeof(*sv))) == NULL ||
	    (sv->instances = calloc(old->ninstances,
	    sizeof(*sv->instances))) == NULL ||
	    (n > 0 && (sv->auth_clients = calloc(n, 32)) == NULL))
		abort();
	memcpy(sv->identity, old->identity, 32);
	sv->ninstances = old->ninstances;
	for (size_t i = 0; i < old->ninstances; i++) {
		memcpy(sv->instances[i].key, old->instances[i].key, 32);
		sv->instances[i].index = (uint32_t)i;
		memcpy(sv->instances[i].name, old->instances[i].name,
		    sizeof(sv->instances[i].name));
		memcpy(sv->instances[i].address, old->instances[i].address,
		    sizeof(sv->instances[i].address));
	}
	if (n > 0)
		memcpy(sv->auth_clients, pks, n * 32);
	sv->nauth_clients = n;
	if (pd_configure(pd, sv, 1, pd->generation + 1, now) == -1)
		abort();
}

/* What a client with x25519 secret key sk gets from variant 0 of slot k. */
static enum hsdesc_error
client_decodes(const struct pd_service *sv, int k, time_t now,
    const uint8_t sk[32], size_t *n_auth_lines)
{
	const struct pd_slot *slot = &sv->slot[k];
	const struct pd_variant *va = &slot->variant[0];
	struct hsdesc *d = NULL;
	struct hsdesc_diag diag;
	enum hsdesc_error err;

	err = hsdesc_decode(va->desc, va->desc_len, sv->identity, slot->tp,
	    slot->params.length_min, now, 0, sk, &d, &diag);
	if (d != NULL) {
		*n_auth_lines = d->n_auth_clients;
		CHECK(err != HSDESC_OK || d->used_client_auth == (sk != NULL));
		CHECK(err != HSDESC_OK || d->n_intro_points == 9);
		hsdesc_free(d);
	}
	return err;
}

/*
 * Restricted discovery: the descriptors are encrypted to the configured
 * clients (17: padded to 32 auth-client lines, as tor pads), each of them
 * reads it, anyone else does not; a reload that removes a client builds
 * at once, and the removed client cannot read the new descriptor.
 */
static void
test_build_for_authorized_clients(void)
{
	struct inproc ip;
	struct keyd_client kc;
	struct pd_builder bld = { &kc };
	struct pd_ops ops = { pd_build_variant, null_post, &bld, NULL };
	struct pd pd;
	struct pd_net net;
	struct pd_ring ring;
	uint8_t id[32], sks[18][32], pks[18][32];
	size_t i, lines = 0;
	time_t t = TPD_VA + 60;
	uint64_t rev;

	for (i = 0; i < 18; i++) {
		randombytes_buf(sks[i], 32);
		crypto_scalarmult_base(pks[i], sks[i]);
	}
	fake_now = t;
	inproc_open(&ip, &kc, id);
	pd_init(&pd, &ops);
	tpd_configure(&pd, id, 3, 3, t);
	reload_with_clients(&pd, pks, 17, t);
	tpd_net(&net, TPD_VA);
	tpd_ring(&ring);
	pd_set_network(&pd, &net, &ring, t);
	pd_tick(&pd, t);
	CHECK(pd.services[0].slot[PD_FIRST].built);
	for (i = 0; i < 17; i++)
		CHECK_INT_EQ(client_decodes(&pd.services[0], PD_FIRST, t,
		    sks[i], &lines), HSDESC_OK);
	CHECK_INT_EQ(lines, 32);
	CHECK_INT_EQ(client_decodes(&pd.services[0], PD_SECOND, t, sks[3],
	    &lines), HSDESC_OK);
	CHECK_INT_EQ(client_decodes(&pd.services[0], PD_FIRST, t, sks[17],
	    &lines), HSDESC_ERR_CLIENT_NOT_AUTHORIZED);
	CHECK(client_decodes(&pd.services[0], PD_FIRST, t, NULL, &lines) !=
	    HSDESC_OK);

	/* SIGHUP without client 0: built again at once, 0 is out */
	rev = pd.services[0].slot[PD_FIRST].variant[0].revision;
	fake_now = t + 30;
	reload_with_clients(&pd, pks + 1, 16, t + 30);
	CHECK_INT_EQ(pd.services[0].slot[PD_FIRST].pending, PD_R_REFRESH);
	pd_tick(&pd, t + 30);
	CHECK(pd.services[0].slot[PD_FIRST].variant[0].revision > rev);
	CHECK_INT_EQ(client_decodes(&pd.services[0], PD_FIRST, t + 30,
	    sks[0], &lines), HSDESC_ERR_CLIENT_NOT_AUTHORIZED);
	CHECK_INT_EQ(client_decodes(&pd.services[0], PD_FIRST, t + 30,
	    sks[16], &lines), HSDESC_OK);
	CHECK_INT_EQ(lines, 16);
	CHECK_INT_EQ(client_decodes(&pd.services[0], PD_SECOND, t + 30,
	    sks[0], &lines), HSDESC_ERR_CLIENT_NOT_AUTHORIZED);

	/* and without clients: for everyone again */
	fake_now = t + 60;
	reload_with_clients(&pd, NULL, 0, t + 60);
	pd_tick(&pd, t + 60);
	CHECK_INT_EQ(client_decodes(&pd.services[0], PD_FIRST, t + 60, NULL,
	    &lines), HSDESC_OK);
	CHECK_INT_EQ(lines, 16);	/* fakes, as tor writes */
	inproc_close(&ip);
	pd_clear(&pd);
	sodium_memzero(sks, sizeof(sks));
}

/* The real ring from the captured testnet consensus. */
static void
test_real_ring_from_testnet(void)
{
	struct pd_net net;
	struct pd_ring ring;
	struct consensus *c;
	struct hashring_period hp;
	char *cons, *md, why[128];
	char (*fprs)[PD_FPR_LEN + 1];
	uint8_t srv[HS_SRV_LEN], id[32], blinded[32], sk[64];
	size_t cons_len, md_len, n;
	uint64_t tp;
	time_t now = 1795315745;	/* 2026-11-22 02:49:05 UTC, the capture */
	int k;

	cons = test_read_data("tor-0.4.9-testnet/consensus-microdesc.txt",
	    &cons_len);
	md = test_read_data("tor-0.4.9-testnet/md-all.txt", &md_len);
	CHECK_INT_EQ(pd_network_from_tor(cons, cons_len, md, md_len, now,
	    &net, &ring, why, sizeof(why)), 0);
	CHECK_INT_EQ(net.params.voting_interval_s, 20);
	CHECK_INT_EQ(net.params.length_min, 8);
	CHECK_INT_EQ(net.n_replicas, 2);	/* no params line: defaults */
	CHECK_INT_EQ(net.spread_store, 4);
	CHECK_INT_EQ(net.cc_sendme_inc, 31);
	/* our slot periods are hashring's */
	CHECK_INT_EQ(consensus_parse(cons, cons_len, &c, NULL), CONSENSUS_OK);
	for (k = 0; k < PD_SLOTS; k++) {
		CHECK_INT_EQ(pd_net_slot_period(&net, k, &tp, srv), 0);
		hashring_period_for(c, k == PD_FIRST ? HASHRING_STORE_FIRST :
		    HASHRING_STORE_SECOND, &hp);
		CHECK_INT_EQ(tp, hp.tp);
		CHECK(memcmp(srv, hp.srv, HS_SRV_LEN) == 0);
		/* 8 HSDirs in the network, 2 replicas of 4: all 8 */
		crypto_sign_keypair(id, sk);
		CHECK_INT_EQ(hs_blind_pubkey(blinded, id, tp, 8), 0);
		fprs = calloc(8, sizeof(*fprs));
		n = ring.responsible(ring.impl, &(struct pd_ring_query){
		    blinded, tp, 8, srv, 2, 4, NULL }, fprs, 8);
		CHECK_INT_EQ(n, 8);
		CHECK_INT_EQ(strlen(fprs[0]), 40);
		free(fprs);
	}
	/* a period the ring was not built for gives nothing */
	fprs = calloc(8, sizeof(*fprs));
	CHECK_INT_EQ(ring.responsible(ring.impl, &(struct pd_ring_query){
	    blinded, tp + 5, 8, srv, 2, 4, NULL }, fprs, 8), 0);
	free(fprs);
	consensus_free(c);
	ring.free(ring.impl);
	/* stale by more than a day: refused */
	CHECK_INT_EQ(pd_network_from_tor(cons, cons_len, md, md_len,
	    now + 2 * 86400, &net, &ring, why, sizeof(why)), -1);
	CHECK_STR_EQ(why, "consensus not reasonably live");
	free(cons);
	free(md);
}

TEST_MAIN(
	TEST_CASE(test_intro_balanced_and_capped),
	TEST_CASE(test_intro_only_live_and_shuffled),
	TEST_CASE(test_flow_control_choice),
	TEST_CASE(test_build_through_keyd),
	TEST_CASE(test_build_for_authorized_clients),
	TEST_CASE(test_real_ring_from_testnet)
)

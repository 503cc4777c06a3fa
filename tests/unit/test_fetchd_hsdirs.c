/*
 * fetchd names the HSDir of each fetch (fetchd_hsdirs.c), with a fake
 * clock and a model of tor's client (hs_client.c pick_hsdir_v3,
 * hs_common.c hs_pick_hsdir at tor 3cb6a690be): without SERVER= tor asks
 * one of the responsible HSDirs it has not asked for that blinded key in
 * the last REND_HID_SERV_DIR_REQUERY_PERIOD (15 min) and records the
 * time; with none left it answers 250 OK and sends nothing, no event at
 * all.  With SERVER= it asks that HSDir, without the check and without
 * recording the time.
 *
 * Fetches of one instance every two minutes on the captured test network
 * (8 HSDirs, 2 x 3 responsible for fetching), with the live network's
 * 15 min rule: with fetchd's SERVER= all seven of 14 minutes go out;
 * without, the seventh does not, and fetchd counts it as failed after
 * FETCHD_FETCH_TIMEOUT_S.
 */
#include <stdlib.h>
#include <string.h>

#include "consensus.h"
#include "ed25519_expanded.h"
#include "hashring.h"
#include "test.h"
#include "test_fetchd_util.h"

#define REQUERY_S	(15 * 60)	/* REND_HID_SERV_DIR_REQUERY_PERIOD */
#define EVERY_S		120		/* the live network's fetch period */
#define NRESP_MAX	16

enum answer { ANSWER_DESC, ANSWER_NOT_FOUND, ANSWER_NONE };

/* tor's client, as far as HSFETCH of one address goes. */
struct model {
	char		 resp[NRESP_MAX][FETCHD_HSDIR_ID_LEN + 1];
	size_t		 nresp;
	time_t		 last[NRESP_MAX];	/* last_hid_serv_requests_ */
	time_t		 now;
	/* Every request that went out, and the HSFETCHes that did not. */
	char		 to[MAX_SENT][FETCHD_HSDIR_ID_LEN + 1];
	unsigned	 nout;
	unsigned	 nsilent;
	bool		 went_out;	/* by the last HSFETCH */
	bool		 not_responsible;	/* a SERVER= off the list */
};

struct texts {
	char		*cons, *md;
	size_t		 cons_len, md_len;
};

static void
texts_read(struct texts *t)
{
	t->cons = test_read_data(TESTNET "consensus-microdesc.txt",
	    &t->cons_len);
	t->md = test_read_data(TESTNET "md-all.txt", &t->md_len);
}

static void
texts_free(struct texts *t)
{
	free(t->cons);
	free(t->md);
}

/* hs_get_responsible_hsdirs(blinded, current tp, 0, for_fetching=1). */
static void
model_init(struct model *m, const struct texts *t, time_t now)
{
	struct hashring_hsdir out[NRESP_MAX];
	struct consensus *c = NULL;
	struct hashring ring;
	uint8_t key[32], blinded[32];
	size_t i, n = 0;

	memset(m, 0, sizeof(*m));
	util_key(key, BE1);
	if (consensus_parse(t->cons, t->cons_len, &c, NULL) != CONSENSUS_OK ||
	    consensus_add_microdescs(c, t->md, t->md_len, NULL) == -1 ||
	    hashring_build(&ring, c, HASHRING_FETCH, now) != HASHRING_OK)
		abort();
	if (hs_blind_pubkey(blinded, key, ring.period.tp,
	    ring.period.length_min) == -1 || hashring_responsible(&ring,
	    blinded, out, NRESP_MAX, &n) != HASHRING_OK)
		abort();
	for (i = 0; i < n; i++)
		snprintf(m->resp[i], sizeof(m->resp[i]), "$%s",
		    out[i].fingerprint);
	m->nresp = n;
	hashring_clear(&ring);
	consensus_free(c);
}

static bool
model_responsible(const struct model *m, const char *hsdir)
{
	size_t i;

	for (i = 0; i < m->nresp; i++)
		if (strcmp(m->resp[i], hsdir) == 0)
			return true;
	return false;
}

static void
model_send(struct model *m, const char *hsdir)
{
	size_t len = strlen(hsdir);

	if (len > FETCHD_HSDIR_ID_LEN)
		abort();
	if (m->nout < MAX_SENT)
		memcpy(m->to[m->nout], hsdir, len + 1);
	m->nout++;
	m->went_out = true;
}

/* handle_control_hsfetch(): 250 OK, then hs_client_launch_v3_desc_fetch. */
static void
model_hsfetch(struct fake *f, const char *address, const char *server)
{
	struct model *m = f->hook_arg;
	size_t i;

	m->went_out = false;
	if (strcmp(address, BE1) != 0)
		abort();
	if (server != NULL) {
		/* directory_launch_v3_desc_fetch(): no check, no record. */
		if (!model_responsible(m, server))
			m->not_responsible = true;
		model_send(m, server);
		return;
	}
	/* hs_pick_hsdir(): "last + requery_period >= now" is excluded. */
	for (i = 0; i < m->nresp; i++) {
		if (m->last[i] != 0 && m->last[i] + REQUERY_S >= m->now)
			continue;
		m->last[i] = m->now;
		model_send(m, m->resp[i]);
		return;
	}
	/* HS_CLIENT_FETCH_NO_HSDIRS: ignored; no HS_DESC event. */
	m->nsilent++;
}

static struct fetchd *
start(struct fake *f, struct model *m, const struct texts *t, time_t now,
    bool ring)
{
	static const char *const be1[] = { BE1 };
	struct fetchd *fd = util_fetchd(f);
	struct fetchd_consensus c;

	f->hsfetch_hook = model_hsfetch;
	f->hook_arg = m;
	util_configure(fd, 1, EVERY_S, be1, 1, now);
	util_consensus(&c);
	fetchd_connected(fd, now);
	/* As tor answers GETINFO md/all before it has any: "". */
	fetchd_set_hsdirs(fd, t->cons, t->cons_len, ring ? t->md : "",
	    ring ? t->md_len : 0, now);
	fetchd_set_consensus(fd, &c, now);
	return fd;
}

static void
answer(struct fetchd *fd, enum answer a, time_t now)
{
	const char *failed = "650 HS_DESC FAILED " BE1 " NO_AUTH " R6 " "
	    BE1_BLINDED " REASON=NOT_FOUND\n";
	char *body = NULL, *ev;
	size_t len = 0;

	if (a == ANSWER_NONE)
		return;
	if (a == ANSWER_DESC)
		body = test_read_data(TESTNET "backend-descriptor.txt", &len);
	else
		util_feed_events(fd, failed, strlen(failed), now);
	ev = util_content_event(BE1, body != NULL ? body : "", len);
	util_feed_events(fd, ev, strlen(ev), now);
	free(ev);
	free(body);
}

/* directory_launch_v3_desc_fetch(): hs_control_desc_event_requested(). */
static void
requested(struct fetchd *fd, const char *hsdir, time_t now)
{
	char ev[256];

	snprintf(ev, sizeof(ev), "650 HS_DESC REQUESTED %s NO_AUTH %s %s "
	    "HSDIR_INDEX=073EA9B3DDEB1E228EE5213586966F141EB4BD9C94AD62D26F"
	    "DFF3BAE52AB78B\n", BE1, hsdir, BE1_BLINDED);
	util_feed_events(fd, ev, strlen(ev), now);
}

/* One fetch at t, answered at t + 1; whether it went out. */
static bool
fetch_once(struct fetchd *fd, struct fake *f, struct model *m, time_t t,
    enum answer a)
{
	unsigned before = f->nfetch;

	m->now = t;
	fetchd_tick(fd, t);
	CHECK_INT_EQ(f->nfetch, before + 1);
	CHECK(fd->inst[0].in_flight);
	if (!m->went_out)
		return false;
	requested(fd, m->to[m->nout - 1], t);
	answer(fd, a, t + 1);
	return true;
}

static void
test_seven_fetches_all_go_out(void)
{
	struct fake f;
	struct model m;
	struct texts t;
	time_t now = util_capture_time();
	struct fetchd *fd;
	size_t i, j;

	texts_read(&t);
	model_init(&m, &t, now);
	CHECK_INT_EQ(m.nresp, 6);
	/* tor's own picks in the capture (hsfetch-events-raw.txt) are. */
	CHECK(model_responsible(&m, "$1DDC42DADEB7938D572E08DB959D65DA89EE836E"));
	CHECK(model_responsible(&m, "$684BE696866D95D220F109A83E15CF5701F7AE25"));
	fd = start(&f, &m, &t, now, true);
	CHECK(fd->hsdirs != NULL);
	CHECK(!fd->said_no_hsdirs);
	for (i = 0; i < 7; i++) {
		CHECK(fetch_once(fd, &f, &m, now + (time_t)i * EVERY_S,
		    ANSWER_DESC));
		CHECK(!fd->inst[0].in_flight);
		CHECK(f.server[i][0] == '$');
	}
	/* 0, 2, ..., 12 min: all seven out, none silently dropped. */
	CHECK_INT_EQ(m.nout, 7);
	CHECK_INT_EQ(m.nsilent, 0);
	CHECK(!m.not_responsible);
	CHECK_INT_EQ(fd->inst[0].state, 0);
	/* The first six are the six responsible HSDirs, each once. */
	for (i = 0; i < 6; i++)
		for (j = 0; j < i; j++)
			CHECK(strcmp(m.to[i], m.to[j]) != 0);
	/* Then round again: the one asked longest ago. */
	CHECK_STR_EQ(m.to[6], m.to[0]);
	util_fake_clear(&f);
	fetchd_free(fd);
	texts_free(&t);
}

/*
 * The same without SERVER= (no microdescriptors, so no ring): tor asks
 * six HSDirs, and the seventh HSFETCH gets nothing.  fetchd must count
 * that as a failed fetch once its timeout is over, and say so.
 */
static void
test_without_server_seventh_is_lost(void)
{
	struct fake f;
	struct model m;
	struct texts t;
	time_t now = util_capture_time(), t7 = now + 6 * EVERY_S;
	struct fetchd *fd;
	size_t i;

	texts_read(&t);
	model_init(&m, &t, now);
	fd = start(&f, &m, &t, now, false);
	CHECK(fd->hsdirs == NULL);
	CHECK(fd->said_no_hsdirs);
	for (i = 0; i < 6; i++) {
		CHECK(fetch_once(fd, &f, &m, now + (time_t)i * EVERY_S,
		    ANSWER_NOT_FOUND));
		CHECK_STR_EQ(f.server[i], "");
	}
	CHECK_INT_EQ(fd->inst[0].state, PEER_STATE_FETCH_FAILED);
	CHECK_STR_EQ(fd->inst[0].detail, "NOT_FOUND");
	/* The seventh: HSFETCH sent and accepted, nothing goes out. */
	CHECK(!fetch_once(fd, &f, &m, t7, ANSWER_NONE));
	CHECK_INT_EQ(m.nout, 6);
	CHECK_INT_EQ(m.nsilent, 1);
	fetchd_tick(fd, t7 + FETCHD_FETCH_TIMEOUT_S - 1);
	CHECK(fd->inst[0].in_flight);
	fetchd_tick(fd, t7 + FETCHD_FETCH_TIMEOUT_S);
	CHECK(!fd->inst[0].in_flight);
	CHECK_INT_EQ(fd->inst[0].state, PEER_STATE_FETCH_FAILED);
	CHECK_STR_EQ(fd->inst[0].detail, "tor sent no request");
	/* Microdescriptors arrive: the next fetch names its HSDir. */
	fetchd_set_hsdirs(fd, t.cons, t.cons_len, t.md, t.md_len, t7 + 100);
	CHECK(fd->hsdirs != NULL && !fd->said_no_hsdirs);
	CHECK(fetch_once(fd, &f, &m, t7 + 120, ANSWER_DESC));
	CHECK_INT_EQ(fd->inst[0].state, 0);
	util_fake_clear(&f);
	fetchd_free(fd);
	texts_free(&t);
}

/* NOT_FOUND and no answer at all: those HSDirs are asked last. */
static void
test_failed_hsdir_asked_last(void)
{
	struct fake f;
	struct model m;
	struct texts t;
	time_t now = util_capture_time(), at = now;
	struct fetchd *fd;
	size_t i;

	texts_read(&t);
	model_init(&m, &t, now);
	fd = start(&f, &m, &t, now, true);
	CHECK(fetch_once(fd, &f, &m, at, ANSWER_NOT_FOUND));
	at += EVERY_S;
	CHECK(fetch_once(fd, &f, &m, at, ANSWER_NONE));
	fetchd_tick(fd, at + FETCHD_FETCH_TIMEOUT_S);
	CHECK(!fd->inst[0].in_flight);
	/* Requested, but never answered. */
	CHECK_STR_EQ(fd->inst[0].detail, "no answer in time");
	/* The other four, then the good ones again before the bad two. */
	for (i = 2; i < 8; i++) {
		at += EVERY_S;
		CHECK(fetch_once(fd, &f, &m, at, ANSWER_DESC));
		CHECK(strcmp(m.to[i], m.to[0]) != 0);
		CHECK(strcmp(m.to[i], m.to[1]) != 0);
		CHECK(strcmp(m.to[i], m.to[i - 1]) != 0);
	}
	CHECK_STR_EQ(m.to[6], m.to[2]);
	CHECK_STR_EQ(m.to[7], m.to[3]);
	/* All four good ones fail too: back to the failed one asked first. */
	for (i = 8; i < 12; i++) {
		at += EVERY_S;
		CHECK(fetch_once(fd, &f, &m, at, ANSWER_NOT_FOUND));
	}
	at += EVERY_S;
	CHECK(fetch_once(fd, &f, &m, at, ANSWER_DESC));
	CHECK_STR_EQ(m.to[12], m.to[0]);
	CHECK_INT_EQ(m.nsilent, 0);
	util_fake_clear(&f);
	fetchd_free(fd);
	texts_free(&t);
}

TEST_MAIN(
	TEST_CASE(test_seven_fetches_all_go_out),
	TEST_CASE(test_without_server_seventh_is_lost),
	TEST_CASE(test_failed_hsdir_asked_last),
)

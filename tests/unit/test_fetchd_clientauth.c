/*
 * Restricted backends (docs/configuration.md, "Restricted backends"):
 * fetchd decrypts an instance's descriptor with the client key the parent
 * gave it (PC_CLIENT_KEY), says "client authorization required" or
 * "wrong client key" when it cannot, and gives tor the key for the
 * liveness probes: on a new connection, a new configuration and after a
 * NEWNYM (which purges tor's ephemeral client keys), and takes it back
 * when the configuration drops it.  The descriptors are made here by the
 * codec's encoder for a test identity, at the captured network's time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "test.h"
#include "test_fetchd_util.h"
#include "test_hsdesc_fixture.h"

/* Set-up that cannot go wrong unless the test itself is broken. */
#define CHECKED(x) do {							\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: set-up: %s failed\n",		\
		    __FILE__, __LINE__, #x);				\
		abort();						\
	}								\
} while (0)

struct restricted {
	struct fixture	 fx;
	uint8_t		 client_sk[32], client_pk[32];
	uint8_t		 other_sk[32];
	char		*desc;		/* for client_pk alone */
	size_t		 len;
};

static void
restricted_init(struct restricted *r, time_t now)
{
	struct fetchd_consensus c;
	struct hs_period_params pp;
	struct hsdesc_intro_point ips[2];
	struct hsdesc_encode_params p;

	util_consensus(&c);
	CHECKED(hs_period_params_init(&pp, (uint64_t)(c.fresh_until -
	    c.valid_after), c.hsdir_interval_min) == 0);
	fixture_init(&r->fx, now, pp.length_min);
	randombytes_buf(r->client_sk, 32);
	randombytes_buf(r->other_sk, 32);
	CHECKED(crypto_scalarmult_base(r->client_pk, r->client_sk) == 0);
	fixture_intro_point(&ips[0], now, 0);
	fixture_intro_point(&ips[1], now, 0);
	fixture_params(&p, &r->fx, ips, 2);
	p.client_pubkeys = (const uint8_t (*)[32])r->client_pk;
	p.n_clients = 1;
	CHECKED(hsdesc_encode(&p, &r->desc, &r->len, NULL) == HSDESC_OK);
}

static void
restricted_free(struct restricted *r)
{
	free(r->desc);
	fixture_free(&r->fx);
}

/* One service, the restricted instance and BE1; key may be NULL. */
static void
configure(struct fetchd *fd, uint32_t gen, const struct restricted *r,
    const uint8_t *key, time_t now)
{
	uint8_t skey[32], be1[32];

	memset(skey, 7, sizeof(skey));
	util_key(be1, BE1);
	CHECKED(fetchd_config_begin(fd, gen, 120, 1) == 0);
	CHECKED(fetchd_config_service(fd, 0, skey, 2) == 0);
	CHECKED(fetchd_config_instance(fd, 0, 0, r->fx.id_pk,
	    "restricted") == 0);
	if (key != NULL)
		CHECKED(fetchd_config_client_key(fd, 0, 0, key) == 0);
	CHECKED(fetchd_config_instance(fd, 0, 1, be1, "be1") == 0);
	CHECKED(fetchd_config_end(fd, gen, now) == 0);
}

static struct fetchd *
ready_fetchd(struct fake *f, const struct restricted *r, const uint8_t *key,
    time_t now)
{
	struct fetchd *fd = util_fetchd(f);
	struct fetchd_consensus c;

	configure(fd, 1, r, key, now);
	util_consensus(&c);
	fetchd_connected(fd, now);
	fetchd_set_consensus(fd, &c, now);
	return fd;
}

/* Delivers the descriptor; the last PEER_INSTANCE_STATE's detail, or "". */
static void
deliver(struct fetchd *fd, struct fake *f, const struct restricted *r,
    time_t now, char *detail, size_t size)
{
	struct peer_state_msg s;
	struct ipc_msg msg;
	size_t before = f->nsent, i;
	char *ev = util_content_event(r->fx.address, r->desc, r->len);

	util_feed_events(fd, ev, strlen(ev), now);
	free(ev);
	detail[0] = '\0';
	for (i = before; i < f->nsent; i++)
		if (util_sent_msg(f, i, &msg) == 0 &&
		    msg.type == PEER_INSTANCE_STATE &&
		    peer_state_parse(&msg, &s) == 0)
			snprintf(detail, size, "%s", s.detail);
}

static void
test_no_key(void)
{
	struct restricted r;
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd;
	char detail[PEER_DETAIL_MAX + 1];
	size_t before;

	restricted_init(&r, now);
	fd = ready_fetchd(&f, &r, NULL, now);
	before = f.nsent;
	deliver(fd, &f, &r, now, detail, sizeof(detail));
	UTIL_CHECK_SENT(&f, before,
	    { PEER_INSTANCE_STATE, 0, PEER_STATE_INVALID },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_INVALID });
	CHECK_STR_EQ(detail, "client authorization required");
	CHECK(fd->inst[0].desc == NULL);
	CHECK_INT_EQ(f.nauth_add, 0);	/* nothing to give tor */
	util_fake_clear(&f);
	fetchd_free(fd);
	restricted_free(&r);
}

static void
test_wrong_key(void)
{
	struct restricted r;
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd;
	char detail[PEER_DETAIL_MAX + 1];
	size_t before;

	restricted_init(&r, now);
	fd = ready_fetchd(&f, &r, r.other_sk, now);
	before = f.nsent;
	deliver(fd, &f, &r, now, detail, sizeof(detail));
	UTIL_CHECK_SENT(&f, before,
	    { PEER_INSTANCE_STATE, 0, PEER_STATE_INVALID },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_INVALID });
	CHECK_STR_EQ(detail, "wrong client key");
	CHECK(fd->inst[0].desc == NULL);
	util_fake_clear(&f);
	fetchd_free(fd);
	restricted_free(&r);
}

static void
test_right_key(void)
{
	struct restricted r;
	struct fake f;
	time_t now = util_capture_time();
	struct peer_desc_msg d;
	struct ipc_msg msg;
	struct fetchd *fd;
	char detail[PEER_DETAIL_MAX + 1];
	size_t before;

	restricted_init(&r, now);
	fd = ready_fetchd(&f, &r, r.client_sk, now);
	before = f.nsent;
	deliver(fd, &f, &r, now, detail, sizeof(detail));
	UTIL_CHECK_SENT(&f, before,
	    { PEER_INSTANCE_DESC, 0, 0 },
	    { PEER_INSTANCE_FETCH, 0, PEER_FETCH_NEW });
	CHECK_INT_EQ(util_sent_msg(&f, before, &msg), 0);
	CHECK_INT_EQ(peer_desc_parse(&msg, &d), 0);
	CHECK_INT_EQ(d.n_intro, 2);
	CHECK(fd->inst[0].desc != NULL);
	util_fake_clear(&f);
	fetchd_free(fd);
	restricted_free(&r);
}

static void
check_added(const struct fake *f, unsigned n, const struct restricted *r)
{
	CHECK_INT_EQ(f->nauth_add, n);
	if (n == 0 || n > MAX_SENT)
		return;
	CHECK_STR_EQ(f->auth_added[n - 1], r->fx.address);
	CHECK(memcmp(f->auth_key[n - 1], r->client_sk, 32) == 0);
}

/*
 * tor gets the key once the connection is up (not before: the
 * configuration came first), again on a new connection and after a
 * NEWNYM, not after other signals; a configuration without it takes it
 * back, once.
 */
static void
test_tor_gets_the_key(void)
{
	static const char newnym[] = "650 SIGNAL NEWNYM\n";
	static const char reload[] = "650 SIGNAL RELOAD\n";
	struct restricted r;
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd;

	restricted_init(&r, now);
	fd = ready_fetchd(&f, &r, r.client_sk, now);
	check_added(&f, 1, &r);
	util_feed_events(fd, newnym, strlen(newnym), now);
	check_added(&f, 2, &r);
	util_feed_events(fd, reload, strlen(reload), now);
	check_added(&f, 2, &r);
	fetchd_disconnected(fd);
	fetchd_connected(fd, now + 1);
	check_added(&f, 3, &r);
	CHECK_INT_EQ(f.nauth_remove, 0);
	/* The same again: given again, nothing taken back. */
	configure(fd, 2, &r, r.client_sk, now + 2);
	check_added(&f, 4, &r);
	CHECK_INT_EQ(f.nauth_remove, 0);
	/* Without the key: taken back, and not given after a NEWNYM. */
	configure(fd, 3, &r, NULL, now + 3);
	CHECK_INT_EQ(f.nauth_remove, 1);
	CHECK_STR_EQ(f.auth_removed[0], r.fx.address);
	util_feed_events(fd, newnym, strlen(newnym), now + 4);
	configure(fd, 4, &r, NULL, now + 5);
	CHECK_INT_EQ(f.nauth_add, 4);
	CHECK_INT_EQ(f.nauth_remove, 1);
	util_fake_clear(&f);
	fetchd_free(fd);
	restricted_free(&r);
}

/* The parent is one of ours, but a second key or an all-zero one is a bug. */
static void
test_config_refusals(void)
{
	struct restricted r;
	struct fake f;
	time_t now = util_capture_time();
	struct fetchd *fd = util_fetchd(&f);
	uint8_t skey[32], zero[32];

	restricted_init(&r, now);
	memset(skey, 7, sizeof(skey));
	memset(zero, 0, sizeof(zero));
	CHECK_INT_EQ(fetchd_config_client_key(fd, 0, 0, r.client_sk), -1);
	CHECKED(fetchd_config_begin(fd, 1, 120, 1) == 0);
	CHECKED(fetchd_config_service(fd, 0, skey, 1) == 0);
	/* before its PC_INSTANCE */
	CHECK_INT_EQ(fetchd_config_client_key(fd, 0, 0, r.client_sk), -1);
	CHECKED(fetchd_config_instance(fd, 0, 0, r.fx.id_pk, "r") == 0);
	CHECK_INT_EQ(fetchd_config_client_key(fd, 0, 0, zero), -1);
	CHECK_INT_EQ(fetchd_config_client_key(fd, 0, 1, r.client_sk), -1);
	CHECK_INT_EQ(fetchd_config_client_key(fd, 0, 0, r.client_sk), 0);
	CHECK_INT_EQ(fetchd_config_client_key(fd, 0, 0, r.client_sk), -1);
	util_fake_clear(&f);
	fetchd_free(fd);
	restricted_free(&r);
}

TEST_MAIN(
	TEST_CASE(test_no_key),
	TEST_CASE(test_wrong_key),
	TEST_CASE(test_right_key),
	TEST_CASE(test_tor_gets_the_key),
	TEST_CASE(test_config_refusals),
)

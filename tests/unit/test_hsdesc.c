/*
 * The descriptor codec against real descriptors (tor 0.4.9 services and
 * an Onionbalance 0.2.2 superdescriptor captured on a private network),
 * round trips through our encoder and decoder, restricted discovery, and
 * the size and padding layout compared with what tor publishes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "encoding.h"
#include "hs_common.h"
#include "hsdesc_private.h"
#include "onion_address.h"
#include "test.h"
#include "test_hsdesc_fixture.h"

#define TESTNET	"tor-0.4.9-testnet/"
#define RESTRICTED	"tor-0.4.9-restricted/"

/* "YYYY-MM-DD?HH:MM:SS" with any separator in the middle. */
static time_t
parse_time(const char *s)
{
	struct tm tm;
	char sep;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%d%c%d:%d:%d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &sep, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7)
		abort();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* valid-after and voting interval of the captured consensus. */
static void
testnet_period(struct hs_period_params *pp, uint64_t *tp, time_t *now)
{
	char *cons = test_read_data(TESTNET "consensus-microdesc.txt", NULL);
	char *meta = test_read_data(TESTNET "meta.json", NULL);
	char *va = strstr(cons, "\nvalid-after "), *fu = strstr(cons,
	    "\nfresh-until "), *cap = strstr(meta, "\"captured_at_utc\": \"");
	time_t valid_after, fresh_until;

	if (va == NULL || fu == NULL || cap == NULL)
		abort();
	valid_after = parse_time(va + 13);
	fresh_until = parse_time(fu + 13);
	*now = parse_time(cap + 20);
	CHECK_INT_EQ(fresh_until - valid_after, 20);
	CHECK_INT_EQ(hs_period_params_init(pp,
	    (uint64_t)(fresh_until - valid_after), 0), 0);
	CHECK_INT_EQ(pp->length_min, 8);
	*tp = hs_time_period_num(pp, valid_after);
	free(cons);
	free(meta);
}

static struct hsdesc *
decode_capture(const char *desc_file, const char *addr_file, uint64_t *tp_out)
{
	struct hs_period_params pp;
	struct hsdesc *d = NULL;
	struct hsdesc_diag diag;
	uint8_t id[32];
	uint64_t tp;
	time_t now;
	size_t len, alen;
	char *text = test_read_data(desc_file, &len);
	char *addr = test_read_data(addr_file, &alen), buf[160];
	enum hsdesc_error err;

	while (alen > 0 && (addr[alen - 1] == '\n' || addr[alen - 1] == ' '))
		alen--;
	testnet_period(&pp, &tp, &now);
	CHECK_INT_EQ(onion_address_to_pubkey(id, addr, alen), ONION_ADDRESS_OK);
	err = hsdesc_decode_near(text, len, id, tp, pp.length_min, now, 0, NULL,
	    tp_out, &d, &diag);
	if (err != HSDESC_OK)
		fprintf(stderr, "%s: %s\n", desc_file,
		    hsdesc_diag_format(buf, sizeof(buf), err, &diag));
	CHECK_INT_EQ(err, HSDESC_OK);
	/* The exact period must also work through hsdesc_decode(). */
	if (d != NULL) {
		struct hsdesc *d2 = NULL;

		CHECK_INT_EQ(hsdesc_decode(text, len, id, *tp_out,
		    pp.length_min, now, 0, NULL, &d2, NULL), HSDESC_OK);
		hsdesc_free(d2);
		/* ... and a period off by two must not. */
		CHECK_INT_EQ(hsdesc_decode(text, len, id, *tp_out + 2,
		    pp.length_min, now, 0, NULL, &d2, NULL),
		    HSDESC_ERR_BLINDED_KEY_MISMATCH);
	}
	free(text);
	free(addr);
	return d;
}

static void
check_intro_point_sane(const struct hsdesc_intro_point *ip)
{
	CHECK(ip->lspec_len > 0);
	CHECK(hsdesc_lspec_valid(ip->lspec, ip->lspec_len));
	CHECK_INT_EQ(ip->auth_key_cert_type, TORCERT_TYPE_AUTH_HS_IP_KEY);
	CHECK(ip->auth_key_exp_hours > 0);
	CHECK(ip->enc_key_cert_exp_hours > 0);
}

static void
test_decode_tor_backends(void)
{
	static const char *const files[][2] = {
		{ TESTNET "backend-descriptor.txt", TESTNET "backend-address.txt" },
		{ TESTNET "backend-be2-descriptor.txt",
		    TESTNET "backend-be2-address.txt" },
	};
	struct hsdesc *d;
	uint64_t tp = 0;
	size_t i, j;

	for (i = 0; i < 2; i++) {
		if ((d = decode_capture(files[i][0], files[i][1], &tp)) == NULL)
			continue;
		CHECK_INT_EQ(d->lifetime_min, 180);
		CHECK(d->create2_ntor);
		CHECK(!d->single_onion);
		CHECK(!d->has_pow_params);
		CHECK(d->has_flow_control);
		CHECK_STR_EQ(d->flow_control, "1-2 31");
		CHECK_INT_EQ(d->flow_control_sendme_inc, 31);
		CHECK_INT_EQ(d->n_auth_clients, 16);
		CHECK_INT_EQ(d->n_intro_points, 3);
		CHECK_INT_EQ(d->n_intro_dropped, 0);
		for (j = 0; j < d->n_intro_points; j++)
			check_intro_point_sane(&d->intro_points[j]);
		hsdesc_free(d);
	}
	d = decode_capture(files[0][0], files[0][1], &tp);
	if (d != NULL)
		CHECK_INT_EQ(d->revision_counter, 688523);
	hsdesc_free(d);
}

/* stem pads the middle layer wrongly; we must still decode it. */
static void
test_decode_onionbalance_superdescriptor(void)
{
	struct hsdesc *d;
	uint64_t tp = 0;
	size_t j;

	d = decode_capture(TESTNET "frontend-descriptor.txt",
	    TESTNET "frontend-address.txt", &tp);
	if (d == NULL)
		return;
	CHECK_INT_EQ(d->revision_counter, 16570687);
	CHECK_INT_EQ(d->n_intro_points, 4);
	CHECK(!d->has_flow_control);
	for (j = 0; j < d->n_intro_points; j++)
		check_intro_point_sane(&d->intro_points[j]);
	hsdesc_free(d);
}

static void
check_same_intro_point(const struct hsdesc_intro_point *a,
    const struct hsdesc_intro_point *b)
{
	CHECK_INT_EQ(a->lspec_len, b->lspec_len);
	CHECK(memcmp(a->lspec, b->lspec, a->lspec_len) == 0);
	CHECK(memcmp(a->onion_key, b->onion_key, 32) == 0);
	CHECK(memcmp(a->auth_key, b->auth_key, 32) == 0);
	CHECK_INT_EQ(a->auth_key_exp_hours, b->auth_key_exp_hours);
	CHECK(memcmp(a->enc_key, b->enc_key, 32) == 0);
	CHECK(memcmp(a->enc_key_cert_key, b->enc_key_cert_key, 32) == 0);
	CHECK_INT_EQ(a->enc_key_cert_exp_hours, b->enc_key_cert_exp_hours);
}

/* Ciphertext length of the middle layer (the padded plaintext length). */
static size_t
padded_middle_len(const char *text, size_t len)
{
	struct hsdesc_outer outer;
	size_t n = 0;

	if (hsdesc_outer_parse(&outer, text, len, 0, 0, NULL) == HSDESC_OK)
		n = outer.superencrypted_len - HSDESC_SALT_LEN - HSDESC_MAC_LEN;
	hsdesc_outer_clear(&outer);
	return n;
}

static void
round_trip(const struct fixture *f, struct hsdesc_intro_point *ips, size_t n)
{
	struct hsdesc_encode_params p;
	struct hsdesc_encode_report rep;
	struct hsdesc *d = NULL;
	struct hsdesc_diag diag;
	size_t len, i, expect_pad;
	char *text = NULL, buf[160];
	enum hsdesc_error err;

	fixture_params(&p, f, ips, n);
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, &rep), HSDESC_OK);
	if (text == NULL)
		return;
	CHECK_INT_EQ(rep.n_intro_used, n);
	CHECK_INT_EQ(rep.n_dropped_count + rep.n_dropped_size, 0);
	CHECK_INT_EQ(strlen(text), len);
	CHECK(len < HSDESC_DEFAULT_MAX_SIZE);
	/* Digest section 8.1: 1-8 -> 10000, 9-18 -> 20000, 19-20 -> 30000. */
	expect_pad = n <= 8 ? 10000 : n <= 18 ? 20000 : 30000;
	CHECK_INT_EQ(padded_middle_len(text, len), expect_pad);
	err = hsdesc_decode(text, len, f->id_pk, f->tp, f->tp_len, f->now, 0,
	    NULL, &d, &diag);
	if (err != HSDESC_OK)
		fprintf(stderr, "n=%zu: %s\n", n,
		    hsdesc_diag_format(buf, sizeof(buf), err, &diag));
	CHECK_INT_EQ(err, HSDESC_OK);
	if (d != NULL) {
		CHECK_INT_EQ(d->n_intro_points, n);
		CHECK_INT_EQ(d->revision_counter, 1234567);
		CHECK_INT_EQ(d->lifetime_min, 180);
		CHECK_STR_EQ(d->flow_control, "1-2 31");
		CHECK_INT_EQ(d->n_auth_clients, 16);
		CHECK(!d->used_client_auth);
		CHECK(memcmp(d->signing_key, f->sign_pk, 32) == 0);
		CHECK(memcmp(d->blinded_key, f->blinded_pk, 32) == 0);
		for (i = 0; i < d->n_intro_points && i < n; i++)
			check_same_intro_point(&d->intro_points[i], &ips[i]);
	}
	hsdesc_free(d);
	free(text);
}

static void
test_round_trip_1_to_20(void)
{
	struct hsdesc_intro_point ips[HSDESC_MAX_INTRO_POINTS];
	struct fixture f;
	size_t n;

	fixture_init(&f, time(NULL), 1440);
	for (n = 0; n < HSDESC_MAX_INTRO_POINTS; n++)
		fixture_intro_point(&ips[n], f.now, n % 3 == 0);
	for (n = 1; n <= HSDESC_MAX_INTRO_POINTS; n++)
		round_trip(&f, ips, n);
	fixture_free(&f);
}

/* 21 in: 20 out, and the 21st is reported. */
static void
test_encode_caps_at_20(void)
{
	struct hsdesc_intro_point ips[21];
	struct hsdesc_encode_params p;
	struct hsdesc_encode_report rep;
	struct hsdesc *d = NULL;
	struct fixture f;
	char *text = NULL;
	size_t len, n;

	fixture_init(&f, time(NULL), 1440);
	for (n = 0; n < 21; n++)
		fixture_intro_point(&ips[n], f.now, 1);
	fixture_params(&p, &f, ips, 21);
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, &rep), HSDESC_OK);
	CHECK_INT_EQ(rep.n_intro_used, 20);
	CHECK_INT_EQ(rep.n_dropped_count, 1);
	CHECK_INT_EQ(rep.n_dropped_size, 0);
	CHECK_INT_EQ(hsdesc_decode(text, len, f.id_pk, f.tp, f.tp_len, f.now,
	    0, NULL, &d, NULL), HSDESC_OK);
	if (d != NULL)
		CHECK_INT_EQ(d->n_intro_points, 20);
	hsdesc_free(d);
	free(text);
	/* A smaller size limit drops more, and says so. */
	p.max_size = 20000;
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, &rep), HSDESC_OK);
	CHECK(len < 20000);
	CHECK_INT_EQ(rep.n_dropped_count, 1);
	CHECK(rep.n_dropped_size > 0);
	CHECK_INT_EQ(rep.n_intro_used + rep.n_dropped_size, 20);
	free(text);
	p.max_size = 5000;
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, &rep),
	    HSDESC_ERR_ENCODE_SIZE);
	CHECK(text == NULL);
	p.n_intro_points = 0;
	p.max_size = 0;
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, &rep),
	    HSDESC_ERR_NO_INTRO_POINTS);
	fixture_free(&f);
}

/*
 * Same layout as tor: our 3-intro-point superdescriptor, with tor's
 * flow-control line, has the captured tor 0.4.9 descriptor's padded middle
 * layer and exactly its length, up to the digits of the revision counter.
 */
static void
test_layout_matches_tor(void)
{
	struct hsdesc_intro_point ips[3];
	struct hsdesc_encode_params p;
	struct fixture f;
	char *text = NULL, *tor;
	size_t len, tor_len, i;
	char *middle;

	tor = test_read_data(TESTNET "backend-descriptor.txt", &tor_len);
	fixture_init(&f, time(NULL), 1440);
	for (i = 0; i < 3; i++)
		fixture_intro_point(&ips[i], f.now, 0);
	fixture_params(&p, &f, ips, 3);
	p.revision_counter = 688523;	/* as many digits as the capture's */
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL), HSDESC_OK);
	CHECK_INT_EQ(padded_middle_len(tor, tor_len), 10000);
	CHECK_INT_EQ(padded_middle_len(text, len), 10000);
	CHECK_INT_EQ(len, tor_len);
	/* The middle layer ends in "-----END MESSAGE-----" without "\n". */
	middle = fixture_layer(&f, text, len, 1);
	CHECK(strlen(middle) > 21 &&
	    strcmp(middle + strlen(middle) - 21, "-----END MESSAGE-----") == 0);
	free(middle);
	/* The superencrypted object's base64: 64-char lines. */
	CHECK(strstr(text, "-----BEGIN MESSAGE-----\n") != NULL);
	free(text);
	free(tor);
	fixture_free(&f);
}

/* Restricted discovery: encode for clients, decode with a client key. */
static void
test_client_auth(void)
{
	/* tor's padding: a multiple of 16 lines, 16 at least */
	static const size_t steps[][2] = { { 1, 16 }, { 16, 16 }, { 17, 32 },
	    { 100, 112 } };
	uint8_t sks[100][32], pks[100][32], other_sk[32];
	struct hsdesc_intro_point ips[2];
	struct hsdesc_encode_params p;
	struct hsdesc *d = NULL;
	struct fixture f;
	char *text = NULL;
	size_t len, i, k;

	fixture_init(&f, time(NULL), 1440);
	for (i = 0; i < 100; i++) {
		randombytes_buf(sks[i], 32);
		CHECK_INT_EQ(crypto_scalarmult_base(pks[i], sks[i]), 0);
	}
	randombytes_buf(other_sk, 32);
	fixture_intro_point(&ips[0], f.now, 0);
	fixture_intro_point(&ips[1], f.now, 1);
	fixture_params(&p, &f, ips, 2);
	p.client_pubkeys = (const uint8_t (*)[32])pks;
	p.n_clients = 1;
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL), HSDESC_OK);
	CHECK_INT_EQ(hsdesc_decode(text, len, f.id_pk, f.tp, f.tp_len, f.now,
	    0, sks[0], &d, NULL), HSDESC_OK);
	if (d != NULL) {
		CHECK(d->used_client_auth);
		CHECK_INT_EQ(d->n_auth_clients, 16);
		CHECK_INT_EQ(d->n_intro_points, 2);
		check_same_intro_point(&d->intro_points[1], &ips[1]);
	}
	hsdesc_free(d);
	CHECK_INT_EQ(hsdesc_decode(text, len, f.id_pk, f.tp, f.tp_len, f.now,
	    0, NULL, &d, NULL), HSDESC_ERR_NEED_CLIENT_AUTH);
	CHECK(d == NULL);
	CHECK_INT_EQ(hsdesc_decode(text, len, f.id_pk, f.tp, f.tp_len, f.now,
	    0, other_sk, &d, NULL), HSDESC_ERR_CLIENT_NOT_AUTHORIZED);
	free(text);
	/* 17 clients: padded to 32 lines; the last one still decrypts. */
	p.n_clients = 17;
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL), HSDESC_OK);
	CHECK_INT_EQ(hsdesc_decode(text, len, f.id_pk, f.tp, f.tp_len, f.now,
	    0, sks[16], &d, NULL), HSDESC_OK);
	if (d != NULL)
		CHECK_INT_EQ(d->n_auth_clients, 32);
	hsdesc_free(d);
	free(text);
	/* Each padding step; the first and the last client decrypt. */
	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		p.n_clients = steps[k][0];
		CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL), HSDESC_OK);
		for (i = 0; i < steps[k][0]; i += steps[k][0] - 1) {
			CHECK_INT_EQ(hsdesc_decode(text, len, f.id_pk, f.tp,
			    f.tp_len, f.now, 0, sks[i], &d, NULL), HSDESC_OK);
			if (d != NULL)
				CHECK_INT_EQ(d->n_auth_clients, steps[k][1]);
			hsdesc_free(d);
			d = NULL;
			if (steps[k][0] == 1)
				break;
		}
		free(text);
		text = NULL;
	}
	/* A key on a descriptor without client auth is harmless. */
	p.n_clients = 0;
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL), HSDESC_OK);
	CHECK_INT_EQ(hsdesc_decode(text, len, f.id_pk, f.tp, f.tp_len, f.now,
	    0, other_sk, &d, NULL), HSDESC_OK);
	if (d != NULL)
		CHECK(!d->used_client_auth);
	hsdesc_free(d);
	free(text);
	fixture_free(&f);
}

/* keyd's view: the body before signing passes the unsigned outer check. */
static void
test_outer_unsigned_body(void)
{
	struct hsdesc_intro_point ip;
	struct hsdesc_encode_params p;
	struct hsdesc_outer outer;
	struct fixture f;
	char *text = NULL, *sig;
	size_t len;

	fixture_init(&f, time(NULL), 1440);
	fixture_intro_point(&ip, f.now, 0);
	fixture_params(&p, &f, &ip, 1);
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL), HSDESC_OK);
	CHECK_INT_EQ(hsdesc_outer_parse(&outer, text, len, 0, 0, NULL),
	    HSDESC_OK);
	CHECK_INT_EQ(outer.revision_counter, 1234567);
	CHECK(memcmp(outer.signing_cert, f.signing_cert, TORCERT_LEN) == 0);
	hsdesc_outer_clear(&outer);
	sig = strstr(text, "\nsignature ");
	CHECK_INT_EQ(hsdesc_outer_parse(&outer, text, len, 0,
	    HSDESC_OUTER_UNSIGNED, NULL), HSDESC_ERR_SIGNATURE_PRESENT);
	if (sig != NULL) {
		CHECK_INT_EQ(hsdesc_outer_parse(&outer, text,
		    (size_t)(sig + 1 - text), 0, HSDESC_OUTER_UNSIGNED, NULL),
		    HSDESC_OK);
		CHECK_INT_EQ(outer.signed_len, (size_t)(sig + 1 - text));
		hsdesc_outer_clear(&outer);
	}
	free(text);
	fixture_free(&f);
}

static void
test_strerror_complete(void)
{
	int e;

	for (e = 0; e < HSDESC_ERR_MAX_; e++)
		CHECK(strcmp(hsdesc_strerror((enum hsdesc_error)e),
		    "unknown error") != 0);
	CHECK_STR_EQ(hsdesc_strerror(HSDESC_ERR_MAX_), "unknown error");
}

/* The key of an .auth_private line; its address in addr (57 bytes). */
static void
read_auth_private(const char *file, char addr[57], uint8_t key[32])
{
	size_t len;
	char *text = test_read_data(file, &len), *b32;
	static const char mid[] = ":descriptor:x25519:";

	if (len < 56 + sizeof(mid) - 1 + 52 ||
	    memcmp(text + 56, mid, sizeof(mid) - 1) != 0)
		abort();
	memcpy(addr, text, 56);
	addr[56] = '\0';
	b32 = text + 56 + sizeof(mid) - 1;
	CHECK_INT_EQ(base32_decode(key, 32, b32, 52), 32);
	sodium_memzero(text, len);
	free(text);
}

/*
 * A descriptor tor made for a restricted service (a backend with
 * HiddenServiceDir/authorized_clients/, captured from an HSDir on a
 * private network by tests/testnet/test_clientauth.py with
 * OB_CAPTURE_DIR): the matching client key finds tor's cookie and opens
 * the inner layer; no key and a key tor does not list do not.
 */
static void
test_decode_tor_restricted(void)
{
	struct hs_period_params pp;
	struct hsdesc *d = NULL;
	struct hsdesc_diag diag;
	char addr[57], buf[160], *meta, *cap;
	uint8_t id[32], key[32], other[32];
	uint64_t tp, tp_out;
	time_t now;
	size_t len, i;
	char *text = test_read_data(RESTRICTED "restricted-descriptor.txt",
	    &len);
	enum hsdesc_error err;

	meta = test_read_data(RESTRICTED "meta.json", NULL);
	if ((cap = strstr(meta, "\"captured_at_utc\": \"")) == NULL)
		abort();
	now = parse_time(cap + 20);
	CHECK(strstr(meta, "\"voting_interval_s\": 20") != NULL);
	CHECK_INT_EQ(hs_period_params_init(&pp, 20, 0), 0);
	tp = hs_time_period_num(&pp, now);
	read_auth_private(RESTRICTED "restricted.auth_private", addr, key);
	CHECK_INT_EQ(onion_address_to_pubkey(id, addr, 56), ONION_ADDRESS_OK);
	err = hsdesc_decode_near(text, len, id, tp, pp.length_min, now, 0, key,
	    &tp_out, &d, &diag);
	if (err != HSDESC_OK)
		fprintf(stderr, "restricted: %s\n",
		    hsdesc_diag_format(buf, sizeof(buf), err, &diag));
	CHECK_INT_EQ(err, HSDESC_OK);
	if (d != NULL) {
		CHECK(d->used_client_auth);
		CHECK_INT_EQ(d->n_auth_clients, 16);	/* tor's padding */
		CHECK_INT_EQ(d->n_intro_points, 3);
		for (i = 0; i < d->n_intro_points; i++)
			check_intro_point_sane(&d->intro_points[i]);
	}
	hsdesc_free(d);
	d = NULL;
	CHECK_INT_EQ(hsdesc_decode_near(text, len, id, tp, pp.length_min, now,
	    0, NULL, &tp_out, &d, NULL), HSDESC_ERR_NEED_CLIENT_AUTH);
	CHECK(d == NULL);
	memcpy(other, key, sizeof(other));
	other[0] ^= 0x40;
	CHECK_INT_EQ(hsdesc_decode_near(text, len, id, tp, pp.length_min, now,
	    0, other, &tp_out, &d, NULL), HSDESC_ERR_CLIENT_NOT_AUTHORIZED);
	CHECK(d == NULL);
	sodium_memzero(key, sizeof(key));
	free(meta);
	free(text);
}

TEST_MAIN(
	TEST_CASE(test_decode_tor_backends),
	TEST_CASE(test_decode_tor_restricted),
	TEST_CASE(test_decode_onionbalance_superdescriptor),
	TEST_CASE(test_round_trip_1_to_20),
	TEST_CASE(test_encode_caps_at_20),
	TEST_CASE(test_layout_matches_tor),
	TEST_CASE(test_client_auth),
	TEST_CASE(test_outer_unsigned_body),
	TEST_CASE(test_strerror_complete)
)

/*
 * keyd's handlers, driven directly with a generated master key and an
 * injected clock: every rule of keyd/PROTOCOL.md accepted where it should
 * be and refused where it must be, and everything keyd hands out verified
 * with the public keys alone.
 */
#include <sodium.h>
#include <stdlib.h>

#include "digest.h"
#include "ed25519_expanded.h"
#include "encoding.h"
#include "hs_common.h"
#include "ipc.h"
#include "keyd.h"
#include "masterkey.h"
#include "revcounter.h"
#include "test.h"
#include "torcert.h"

/*
 * 2023-11-14 22:13:20 UTC: live parameters give period 19675, between its
 * start (12:00) and the next SRV (00:00), so its first descriptor is 19674
 * and its second 19675.  Three hours later (01:13) the second is 19676.
 */
#define T_EVENING	((time_t)1700000000)
#define T_NIGHT		((time_t)1700010800)
#define TP_CUR		19675ULL
#define LIVE_VI		3600

static time_t fake_now;

static time_t
fake_time(void)
{
	return fake_now;
}

struct fixture {
	struct keyd		*kd;
	uint8_t			 master_pub[32];
	struct ipc_channel	 ch;		/* for ipc_parse only */
	uint8_t			 rbuf[IPC_HDR_LEN + KEYD_REPLY_MAX];
	uint8_t			 qbuf[IPC_HDR_LEN + KEYD_REQUEST_CAP];
	struct ipc_builder	 q;
	struct ipc_msg		 reply;
};

static void
fixture_open(struct fixture *f)
{
	struct masterkey *mk;

	if (sodium_init() < 0 || (mk = masterkey_new()) == NULL ||
	    masterkey_generate(mk) != MASTERKEY_OK)
		abort();
	memcpy(f->master_pub, mk->pub, 32);
	fake_now = T_EVENING;
	if ((f->kd = keyd_new(fake_time)) == NULL ||
	    keyd_add_service_key(f->kd, 0, mk) != KEYD_ERR_NONE)
		abort();
	f->kd->config_done = 1;
	if (ipc_channel_init(&f->ch, -1, "test", KEYD_REQUEST_CAP,
	    keyd_request_types, keyd_request_ntypes) == -1)
		abort();
}

static void
fixture_close(struct fixture *f)
{
	keyd_free(f->kd);
	ipc_channel_close(&f->ch);
}

static struct ipc_builder *
req(struct fixture *f, enum keyd_req_msg type)
{
	ipc_builder_init(&f->q, f->qbuf, sizeof(f->qbuf), (uint32_t)type, 4242);
	return &f->q;
}

/* Runs the request; returns the reply's type, or -1 if keyd called it malformed. */
static int
run(struct fixture *f)
{
	struct ipc_builder r;
	struct ipc_msg m;

	if (ipc_builder_finish(&f->q) == -1 ||
	    ipc_parse(&f->ch, &m, f->qbuf, f->q.len) != IPC_OK)
		abort();
	ipc_builder_init(&r, f->rbuf, sizeof(f->rbuf), 0, 0);
	if (keyd_handle_request(f->kd, &m, &r) == -1)
		return -1;
	if (ipc_parse(&f->ch, &f->reply, f->rbuf, r.len) != IPC_OK)
		abort();
	CHECK_INT_EQ(f->reply.id, 4242);
	return (int)f->reply.type;
}

/* The code of an ERROR reply, or 0 for an OK reply. */
static uint32_t
error_code(const struct fixture *f)
{
	if (f->reply.type != KEYD_R_ERROR || f->reply.len != KEYD_ERROR_LEN)
		return 0;
	return get_u32_be(f->reply.payload);
}

struct period {
	uint8_t		signing_pub[32];
	uint8_t		blinded_pub[32];
	uint32_t	length_min;
	uint8_t		cert[TORCERT_LEN];
};

static uint32_t
begin(struct fixture *f, uint64_t tp, uint32_t vi, uint32_t hsdir,
    struct period *out)
{
	struct ipc_builder *b = req(f, KEYD_R_BEGIN);

	ipc_add_u32(b, 0);
	ipc_add_u64(b, tp);
	ipc_add_u32(b, vi);
	ipc_add_u32(b, hsdir);
	if (run(f) == KEYD_R_ERROR)
		return error_code(f);
	CHECK_INT_EQ(f->reply.type, KEYD_R_BEGIN_REPLY);
	CHECK_INT_EQ(f->reply.len, KEYD_BEGIN_REPLY_LEN);
	if (out != NULL && f->reply.len == KEYD_BEGIN_REPLY_LEN) {
		memcpy(out->signing_pub, f->reply.payload, 32);
		memcpy(out->blinded_pub, f->reply.payload + 32, 32);
		out->length_min = get_u32_be(f->reply.payload + 64);
		memcpy(out->cert, f->reply.payload + 68, TORCERT_LEN);
	}
	return 0;
}

static uint32_t
certify(struct fixture *f, const struct period *p, uint8_t type,
    uint32_t exp_hours, uint8_t cert[TORCERT_LEN])
{
	static const uint8_t key[32] = { 7, 7, 7 };
	struct ipc_builder *b = req(f, KEYD_R_CERTIFY);

	ipc_add_u32(b, 0);
	ipc_add_bytes(b, p->signing_pub, 32);
	ipc_add_u8(b, type);
	ipc_add_u32(b, exp_hours);
	ipc_add_bytes(b, key, 32);
	if (run(f) == KEYD_R_ERROR)
		return error_code(f);
	CHECK_INT_EQ(f->reply.type, KEYD_R_CERTIFY_REPLY);
	CHECK_INT_EQ(f->reply.len, TORCERT_LEN);
	if (cert != NULL)
		memcpy(cert, f->reply.payload, TORCERT_LEN);
	return 0;
}

static uint32_t
revision(struct fixture *f, const struct period *p, uint64_t *rev)
{
	struct ipc_builder *b = req(f, KEYD_R_REVISION);

	ipc_add_u32(b, 0);
	ipc_add_bytes(b, p->signing_pub, 32);
	if (run(f) == KEYD_R_ERROR)
		return error_code(f);
	CHECK_INT_EQ(f->reply.type, KEYD_R_REVISION_REPLY);
	CHECK_INT_EQ(f->reply.len, 8);
	*rev = get_u64_be(f->reply.payload);
	return 0;
}

/* The counter keyd gives now: the one an honest publishd puts in its body. */
static uint64_t
rev_now(struct fixture *f, const struct period *p)
{
	uint64_t rev = 0;

	CHECK_INT_EQ(revision(f, p, &rev), 0);
	return rev;
}

static uint32_t
sign(struct fixture *f, const struct period *p, const char *body, size_t len,
    uint8_t sig[64])
{
	struct ipc_builder *b = req(f, KEYD_R_SIGN);

	ipc_add_u32(b, 0);
	ipc_add_bytes(b, p->signing_pub, 32);
	ipc_add_u32(b, 3);			/* variant: only logged */
	ipc_add_u32(b, (uint32_t)len);
	ipc_add_bytes(b, body, len);
	if (run(f) == KEYD_R_ERROR)
		return error_code(f);
	CHECK_INT_EQ(f->reply.type, KEYD_R_SIGN_REPLY);
	CHECK_INT_EQ(f->reply.len, 64);
	if (sig != NULL)
		memcpy(sig, f->reply.payload, 64);
	return 0;
}

#define BODY_MAX	60000

/*
 * A body as publishd writes it: cert may be NULL (no cert section at all);
 * msg_b64 is the superencrypted blob's base64 length.
 */
static size_t
make_body(char *out, size_t outsz, const uint8_t *cert, unsigned lifetime,
    uint64_t rev, size_t msg_b64)
{
	char certb64[256];
	size_t n, i;

	n = (size_t)snprintf(out, outsz, "hs-descriptor 3\n"
	    "descriptor-lifetime %u\n", lifetime);
	if (cert != NULL) {
		if (base64_encode(certb64, sizeof(certb64), cert, TORCERT_LEN,
		    BASE64_PAD | BASE64_MULTILINE) < 0)
			abort();
		n += (size_t)snprintf(out + n, outsz - n,
		    "descriptor-signing-key-cert\n"
		    "-----BEGIN ED25519 CERT-----\n%s"
		    "-----END ED25519 CERT-----\n", certb64);
	}
	n += (size_t)snprintf(out + n, outsz - n, "revision-counter %llu\n"
	    "superencrypted\n-----BEGIN MESSAGE-----\n",
	    (unsigned long long)rev);
	for (i = 0; i < msg_b64; i++) {
		out[n++] = "ABCDEFGHabcdefgh0123456789+/"[i % 28];
		if (i % 64 == 63 || i + 1 == msg_b64)
			out[n++] = '\n';
	}
	n += (size_t)snprintf(out + n, outsz - n, "-----END MESSAGE-----\n");
	if (n >= outsz)
		abort();
	return n;
}

static int
desc_sig_verifies(const uint8_t sig[64], const char *body, size_t len,
    const uint8_t pub[32])
{
	static const char prefix[] = "Tor onion service descriptor sig v3";
	char *msg = malloc(sizeof(prefix) - 1 + len);
	int ok;

	if (msg == NULL)
		abort();
	memcpy(msg, prefix, sizeof(prefix) - 1);
	memcpy(msg + sizeof(prefix) - 1, body, len);
	ok = ed25519_verify(sig, (const uint8_t *)msg,
	    sizeof(prefix) - 1 + len, pub) == 0;
	free(msg);
	return ok;
}

static void
test_identity(void)
{
	struct fixture f;
	struct ipc_builder *b;

	fixture_open(&f);
	b = req(&f, KEYD_R_IDENTITY);
	ipc_add_u32(b, 0);
	CHECK_INT_EQ(run(&f), KEYD_R_IDENTITY_REPLY);
	CHECK_INT_EQ(f.reply.len, 32);
	CHECK(memcmp(f.reply.payload, f.master_pub, 32) == 0);

	b = req(&f, KEYD_R_IDENTITY);
	ipc_add_u32(b, 1);			/* only service 0 exists */
	CHECK_INT_EQ(run(&f), KEYD_R_ERROR);
	CHECK_INT_EQ(error_code(&f), KEYD_ERR_SERVICE);
	fixture_close(&f);
}

static void
test_begin_period_window(void)
{
	struct fixture f;

	fixture_open(&f);
	/* 22:13: previous and current only; next would start in 14 h */
	CHECK_INT_EQ(begin(&f, TP_CUR - 1, LIVE_VI, 0, NULL), 0);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, NULL), 0);
	CHECK_INT_EQ(begin(&f, TP_CUR + 1, LIVE_VI, 0, NULL), KEYD_ERR_PERIOD);
	CHECK_INT_EQ(begin(&f, TP_CUR + 2, LIVE_VI, 0, NULL), KEYD_ERR_PERIOD);
	CHECK_INT_EQ(begin(&f, TP_CUR - 2, LIVE_VI, 0, NULL), KEYD_ERR_PERIOD);
	/* 01:13, after the SRV: tor builds the next period's descriptor now */
	fake_now = T_NIGHT;
	CHECK_INT_EQ(begin(&f, TP_CUR + 1, LIVE_VI, 0, NULL), 0);
	CHECK_INT_EQ(begin(&f, TP_CUR + 2, LIVE_VI, 0, NULL), KEYD_ERR_PERIOD);
	CHECK_INT_EQ(begin(&f, TP_CUR - 2, LIVE_VI, 0, NULL), KEYD_ERR_PERIOD);
	fixture_close(&f);
}

static void
test_begin_false_voting_interval(void)
{
	struct fixture f;

	fixture_open(&f);
	fake_now = T_NIGHT;
	/*
	 * A 10 s voting interval with the live period length moves the
	 * rotation offset to 2 minutes, so by that reckoning "current" is
	 * already 19676 and "next" 19677 -- two ahead of the real period.
	 * keyd must still refuse it.
	 */
	CHECK_INT_EQ(begin(&f, TP_CUR + 2, 10, 1440, NULL), KEYD_ERR_PERIOD);
	/* absurd parameters */
	CHECK_INT_EQ(begin(&f, TP_CUR, 0, 0, NULL), KEYD_ERR_PARAMS);
	CHECK_INT_EQ(begin(&f, TP_CUR, 1000000, 0, NULL), KEYD_ERR_PARAMS);
	fixture_close(&f);
}

static void
test_begin_certs_verify(void)
{
	struct fixture f;
	struct period p;
	struct torcert tc;
	uint8_t blinded[32], cert[TORCERT_LEN];

	fixture_open(&f);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &p), 0);
	CHECK_INT_EQ(p.length_min, 1440);
	CHECK_INT_EQ(hs_blind_pubkey(blinded, f.master_pub, TP_CUR, 1440), 0);
	CHECK(memcmp(blinded, p.blinded_pub, 32) == 0);
	/* the 0x08 cert: blinded key -> signing key, 54 h as tor */
	CHECK_INT_EQ(torcert_check(&tc, p.cert, TORCERT_LEN,
	    TORCERT_TYPE_SIGNING_HS_DESC, blinded, fake_now), TORCERT_OK);
	CHECK(memcmp(tc.certified, p.signing_pub, 32) == 0);
	CHECK_INT_EQ(tc.exp_hours, torcert_exp_hours(fake_now, 54 * 3600));

	/* intro-point certs: signing key -> certified key */
	CHECK_INT_EQ(certify(&f, &p, TORCERT_TYPE_AUTH_HS_IP_KEY,
	    tc.exp_hours, cert), 0);
	CHECK_INT_EQ(torcert_check(&tc, cert, TORCERT_LEN,
	    TORCERT_TYPE_AUTH_HS_IP_KEY, p.signing_pub, fake_now), TORCERT_OK);
	CHECK_INT_EQ(certify(&f, &p, TORCERT_TYPE_CROSS_HS_IP_KEYS,
	    tc.exp_hours, cert), 0);
	CHECK_INT_EQ(torcert_check(&tc, cert, TORCERT_LEN,
	    TORCERT_TYPE_CROSS_HS_IP_KEYS, p.signing_pub, fake_now),
	    TORCERT_OK);
	CHECK_INT_EQ(tc.certified[0], 7);
	fixture_close(&f);
}

static void
test_certify_refusals(void)
{
	struct fixture f;
	struct period p, unknown;
	uint32_t exp, now_h;

	fixture_open(&f);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &p), 0);
	exp = torcert_exp_hours(fake_now, 54 * 3600);
	now_h = (uint32_t)(fake_now / 3600);
	CHECK_INT_EQ(certify(&f, &p, TORCERT_TYPE_SIGNING_HS_DESC, exp, NULL),
	    KEYD_ERR_CERT_TYPE);
	CHECK_INT_EQ(certify(&f, &p, 0x04, exp, NULL), KEYD_ERR_CERT_TYPE);
	CHECK_INT_EQ(certify(&f, &p, 0x0A, exp, NULL), KEYD_ERR_CERT_TYPE);
	/* expiry after the signing key's own, or already past */
	CHECK_INT_EQ(certify(&f, &p, TORCERT_TYPE_AUTH_HS_IP_KEY, exp + 1,
	    NULL), KEYD_ERR_EXPIRY);
	CHECK_INT_EQ(certify(&f, &p, TORCERT_TYPE_AUTH_HS_IP_KEY, now_h - 1,
	    NULL), KEYD_ERR_EXPIRY);
	CHECK_INT_EQ(certify(&f, &p, TORCERT_TYPE_AUTH_HS_IP_KEY, 0, NULL),
	    KEYD_ERR_EXPIRY);
	CHECK_INT_EQ(certify(&f, &p, TORCERT_TYPE_AUTH_HS_IP_KEY, now_h + 1,
	    NULL), 0);
	memset(&unknown, 0x55, sizeof(unknown));
	CHECK_INT_EQ(certify(&f, &unknown, TORCERT_TYPE_AUTH_HS_IP_KEY, exp,
	    NULL), KEYD_ERR_SIGNING_KEY);
	fixture_close(&f);
}

static void
test_sign_accepts_and_verifies(void)
{
	static char body[BODY_MAX];
	struct fixture f;
	struct period p;
	uint8_t sig[64];
	size_t len;

	fixture_open(&f);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &p), 0);
	len = make_body(body, sizeof(body), p.cert, 180, rev_now(&f, &p), 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, sig), 0);
	CHECK(desc_sig_verifies(sig, body, len, p.signing_pub));
	/* the signature covers the body: one changed byte fails */
	body[len - 30] ^= 1;
	CHECK(!desc_sig_verifies(sig, body, len, p.signing_pub));
	body[len - 30] ^= 1;
	/* an equal revision counter is allowed ("never goes down") */
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), 0);
	/* a message of exactly 64-char lines, a second later */
	fake_now++;
	len = make_body(body, sizeof(body), p.cert, 720, rev_now(&f, &p), 128);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), 0);
	fixture_close(&f);
}

static void
test_sign_refusals(void)
{
	static char body[BODY_MAX];
	struct fixture f;
	struct period p, other;
	uint64_t r;
	size_t len;

	fixture_open(&f);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &p), 0);
	CHECK_INT_EQ(begin(&f, TP_CUR - 1, LIVE_VI, 0, &other), 0);
	r = rev_now(&f, &p);

	/* without the cert */
	len = make_body(body, sizeof(body), NULL, 180, r, 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_BODY_FORMAT);
	CHECK_INT_EQ(get_u32_be(f.reply.payload + 4), 3);	/* the line */
	/* with another period's cert */
	len = make_body(body, sizeof(body), other.cert, 180, r, 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_BODY_CERT);
	/* lifetime out of range */
	len = make_body(body, sizeof(body), p.cert, 721, r, 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_BODY_LIFETIME);
	len = make_body(body, sizeof(body), p.cert, 0, r, 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_BODY_LIFETIME);

	/* a lower revision counter than the last signed: the floor */
	fake_now += 10;
	len = make_body(body, sizeof(body), p.cert, 180, rev_now(&f, &p), 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), 0);
	len = make_body(body, sizeof(body), p.cert, 180, r, 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_REVISION);
	CHECK_INT_EQ(get_u32_be(f.reply.payload + 4), 0);
	r = rev_now(&f, &p);

	/* trailing data after END MESSAGE (e.g. a signature line) */
	len = make_body(body, sizeof(body), p.cert, 180, r, 200);
	memcpy(body + len, "signature x\n", 12);
	CHECK_INT_EQ(sign(&f, &p, body, len + 12, NULL), KEYD_ERR_BODY_FORMAT);
	/* unterminated last line */
	CHECK_INT_EQ(sign(&f, &p, body, len - 1, NULL), KEYD_ERR_BODY_FORMAT);

	/* the size cap, at the byte: the largest body passes, the next not */
	{
		size_t n = 48000, prev = 0;

		while ((len = make_body(body, sizeof(body), p.cert, 180, r,
		    n)) <= KEYD_BODY_MAX) {
			prev = n;
			n++;
		}
		CHECK(len <= KEYD_BODY_MAX + 2);
		CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_BODY_SIZE);
		len = make_body(body, sizeof(body), p.cert, 180, r, prev);
		CHECK_INT_EQ(sign(&f, &p, body, len, NULL), 0);
	}
	fixture_close(&f);
}

static void
test_body_check_is_strict(void)
{
	static char body[BODY_MAX];
	struct fixture f;
	struct period p;
	uint64_t r;
	size_t len;
	char *at, c;

	fixture_open(&f);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &p), 0);
	r = rev_now(&f, &p);
	len = make_body(body, sizeof(body), p.cert, 180, r, 200);
	/* not v3 */
	body[14] = '2';
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_BODY_FORMAT);
	body[14] = '3';
	/* a leading zero in the revision counter */
	at = strstr(body, "revision-counter ");
	c = at[17];
	at[17] = '0';
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_BODY_FORMAT);
	at[17] = c;
	/* a NUL in the message block */
	at = strstr(body, "-----BEGIN MESSAGE-----\n") + 24;
	*at = '\0';
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_BODY_FORMAT);
	*at = 'A';
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), 0);
	/* an empty superencrypted block */
	len = make_body(body, sizeof(body), p.cert, 180, r, 0);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_BODY_FORMAT);
	fixture_close(&f);
}

static void
test_begin_again_replaces_key_keeps_floor(void)
{
	static char body[BODY_MAX];
	struct fixture f;
	struct period p1, p2;
	uint64_t r;
	size_t len;

	fixture_open(&f);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &p1), 0);
	r = rev_now(&f, &p1);
	fake_now += 5;
	len = make_body(body, sizeof(body), p1.cert, 180, rev_now(&f, &p1),
	    200);
	CHECK_INT_EQ(sign(&f, &p1, body, len, NULL), 0);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &p2), 0);
	CHECK(memcmp(p1.signing_pub, p2.signing_pub, 32) != 0);
	/* the old key is gone */
	CHECK_INT_EQ(sign(&f, &p1, body, len, NULL), KEYD_ERR_SIGNING_KEY);
	/*
	 * the new key may not go below what the old one signed, although
	 * r (five seconds old) is inside the window
	 */
	len = make_body(body, sizeof(body), p2.cert, 180, r, 200);
	CHECK_INT_EQ(sign(&f, &p2, body, len, NULL), KEYD_ERR_REVISION);
	CHECK_INT_EQ(get_u32_be(f.reply.payload + 4), 0);
	fake_now++;
	len = make_body(body, sizeof(body), p2.cert, 180, rev_now(&f, &p2),
	    200);
	CHECK_INT_EQ(sign(&f, &p2, body, len, NULL), 0);
	fixture_close(&f);
}

static void
test_revision_counter(void)
{
	struct fixture f;
	struct period first, second;
	struct hs_period_params hp;
	struct ed25519_expanded *blinded;
	struct masterkey *mk;
	uint64_t r1 = 0, r2 = 0, r3 = 0, want = 0;
	uint8_t key[32];
	time_t va;

	fixture_open(&f);
	CHECK_INT_EQ(begin(&f, TP_CUR - 1, LIVE_VI, 0, &first), 0);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &second), 0);
	CHECK_INT_EQ(revision(&f, &second, &r1), 0);
	fake_now += 1;
	CHECK_INT_EQ(revision(&f, &second, &r2), 0);
	fake_now += 3600;
	CHECK_INT_EQ(revision(&f, &second, &r3), 0);
	CHECK(r1 < r2 && r2 < r3);

	/*
	 * tor's rule: the second descriptor counts from the current SR run,
	 * the first from the previous one (both found from the consensus
	 * valid-after, a multiple of the voting interval), with the key from
	 * the blinded secret.
	 */
	va = fake_now - fake_now % LIVE_VI;
	CHECK_INT_EQ(hs_period_params_init(&hp, LIVE_VI, 0), 0);
	mk = f.kd->services[0].mk;
	blinded = sodium_malloc(sizeof(*blinded));
	CHECK(blinded != NULL);
	CHECK_INT_EQ(hs_blind_secret(blinded, NULL, &mk->sk, mk->pub, TP_CUR,
	    1440), 0);
	revcounter_key(key, blinded);
	CHECK_INT_EQ(revcounter_at(&want, key, fake_now,
	    hs_sr_run_start(&hp, va)), 0);
	CHECK(want == r3);
	CHECK_INT_EQ(hs_blind_secret(blinded, NULL, &mk->sk, mk->pub,
	    TP_CUR - 1, 1440), 0);
	revcounter_key(key, blinded);
	CHECK_INT_EQ(revcounter_at(&want, key, fake_now,
	    hs_sr_previous_run_start(&hp, va)), 0);
	CHECK_INT_EQ(revision(&f, &first, &r1), 0);
	CHECK(want == r1);
	sodium_free(blinded);

	/* the clock went back behind what was signed */
	{
		static char body[BODY_MAX];
		size_t len = make_body(body, sizeof(body), second.cert, 180,
		    r3, 200);

		CHECK_INT_EQ(sign(&f, &second, body, len, NULL), 0);
		fake_now -= 10;
		CHECK_INT_EQ(revision(&f, &second, &r1), KEYD_ERR_CLOCK);
	}
	fixture_close(&f);
}

/*
 * What a compromised publishd could put in a body: the largest counter
 * (HSDirs would refuse every later descriptor of the period), one an hour
 * ahead, one from before the window, one between two seconds' counters.
 */
static void
test_sign_only_counters_keyd_gives(void)
{
	static char body[BODY_MAX];
	struct fixture f;
	struct period p;
	uint64_t r_old, r_ahead, r_prev, r;
	size_t len;

	fixture_open(&f);
	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &p), 0);
	r_old = rev_now(&f, &p);
	fake_now += 3600;
	r_ahead = rev_now(&f, &p);
	fake_now -= 3600 - (KEYD_REVISION_WINDOW + 1);
	r = rev_now(&f, &p);
	CHECK(r_old < r && r < r_ahead);

	len = make_body(body, sizeof(body), p.cert, 180, UINT64_MAX, 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_REVISION);
	CHECK_INT_EQ(get_u32_be(f.reply.payload + 4), KEYD_REVISION_NOT_NOW);
	len = make_body(body, sizeof(body), p.cert, 180, r_ahead, 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_REVISION);
	/* one second ahead is already too far */
	fake_now++;
	len = make_body(body, sizeof(body), p.cert, 180, rev_now(&f, &p), 200);
	fake_now--;
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_REVISION);
	/* KEYD_REVISION_WINDOW + 1 seconds old: too old (and nothing signed) */
	len = make_body(body, sizeof(body), p.cert, 180, r_old, 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_REVISION);
	CHECK_INT_EQ(get_u32_be(f.reply.payload + 4), KEYD_REVISION_NOT_NOW);
	/* not any second's counter, though between two of them */
	fake_now--;
	r_prev = rev_now(&f, &p);
	fake_now++;
	if (r - r_prev > 1) {		/* a keystream word of 0 has no gap */
		len = make_body(body, sizeof(body), p.cert, 180, r_prev + 1,
		    200);
		CHECK_INT_EQ(sign(&f, &p, body, len, NULL), KEYD_ERR_REVISION);
	}
	/* exactly KEYD_REVISION_WINDOW seconds old: still accepted */
	fake_now--;
	len = make_body(body, sizeof(body), p.cert, 180, r_old, 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), 0);
	/* and now's own counter, of course */
	len = make_body(body, sizeof(body), p.cert, 180, rev_now(&f, &p), 200);
	CHECK_INT_EQ(sign(&f, &p, body, len, NULL), 0);
	fixture_close(&f);
}

static void
test_malformed_requests_are_violations(void)
{
	struct fixture f;
	struct ipc_builder *b;
	struct period p;

	fixture_open(&f);
	b = req(&f, KEYD_R_IDENTITY);
	ipc_add_u32(b, 0);
	ipc_add_u8(b, 0);			/* one byte too many */
	CHECK_INT_EQ(run(&f), -1);
	b = req(&f, KEYD_R_BEGIN);
	ipc_add_u32(b, 0);			/* too short */
	CHECK_INT_EQ(run(&f), -1);
	b = req(&f, KEYD_R_IDENTITY_REPLY);	/* a reply is not a request */
	ipc_add_bytes(b, f.master_pub, 32);
	CHECK_INT_EQ(run(&f), -1);

	CHECK_INT_EQ(begin(&f, TP_CUR, LIVE_VI, 0, &p), 0);
	b = req(&f, KEYD_R_SIGN);		/* body_len beyond the payload */
	ipc_add_u32(b, 0);
	ipc_add_bytes(b, p.signing_pub, 32);
	ipc_add_u32(b, 0);
	ipc_add_u32(b, 10);
	ipc_add_bytes(b, "hs-desc", 7);
	CHECK_INT_EQ(run(&f), -1);
	b = req(&f, KEYD_R_SIGN);		/* bytes after the body */
	ipc_add_u32(b, 0);
	ipc_add_bytes(b, p.signing_pub, 32);
	ipc_add_u32(b, 0);
	ipc_add_u32(b, 1);
	ipc_add_bytes(b, "hs", 2);
	CHECK_INT_EQ(run(&f), -1);
	fixture_close(&f);
}

/* An honest SIGN in period p now: the counter REVISION gives. */
static uint32_t
sign_now(struct fixture *f, const struct period *p)
{
	static char body[BODY_MAX];
	uint64_t rev = 0;
	uint32_t err;
	size_t len;

	if ((err = revision(f, p, &rev)) != 0)
		return err;
	len = make_body(body, sizeof(body), p->cert, 180, rev, 200);
	return sign(f, p, body, len, NULL);
}

/* The current period for a period length, by the fake clock. */
static uint64_t
cur_tp(uint32_t vi, uint32_t hsdir)
{
	struct hs_period_params hp;

	if (hs_period_params_init(&hp, vi, hsdir) == -1)
		abort();
	return hs_time_period_num(&hp, fake_now);
}

static void
test_period_slots_do_not_evict_live_periods(void)
{
	struct fixture f;
	struct period p[6];
	uint64_t cur;
	int i, refused = 0;

	fixture_open(&f);
	fake_now = T_NIGHT;
	/* three live periods for each of three lengths: more than the slots */
	for (i = 0; i < 3; i++) {
		refused += begin(&f, TP_CUR - 1, LIVE_VI, 0, &p[0]) != 0;
		refused += begin(&f, TP_CUR, LIVE_VI, 0, &p[1]) != 0;
		refused += begin(&f, TP_CUR + 1, LIVE_VI, 0, &p[2]) != 0;
	}
	CHECK_INT_EQ(refused, 0);	/* the same three slots, replaced */
	/* a second period length: three more live periods */
	cur = cur_tp(LIVE_VI, 720);
	CHECK_INT_EQ(begin(&f, cur - 1, LIVE_VI, 720, &p[3]), 0);
	CHECK_INT_EQ(begin(&f, cur, LIVE_VI, 720, &p[4]), 0);
	CHECK_INT_EQ(begin(&f, cur + 1, LIVE_VI, 720, &p[5]), 0);
	CHECK_INT_EQ(begin(&f, cur - 2, LIVE_VI, 720, NULL), KEYD_ERR_PERIOD);
	/* all six signed: each holds a revision floor */
	for (i = 0; i < 6; i++)
		CHECK_INT_EQ(sign_now(&f, &p[i]), 0);
	/* a seventh live period finds no slot */
	CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, 360), LIVE_VI, 360, NULL),
	    KEYD_ERR_PERIOD_FULL);
	/* and the six are all still there */
	for (i = 0; i < 6; i++)
		CHECK_INT_EQ(sign_now(&f, &p[i]), 0);
	/* two days later the old ones have left the window */
	fake_now += 2 * 86400;
	CHECK_INT_EQ(begin(&f, TP_CUR + 2, LIVE_VI, 0, NULL), 0);
	fixture_close(&f);
}

/*
 * BEGINs a compromised publishd could send to hold period slots for
 * weeks: parameters tor cannot have are refused, not clamped.
 */
static void
test_begin_params_out_of_tor_ranges(void)
{
	struct fixture f;

	fixture_open(&f);
	fake_now = T_NIGHT;
	/* no hsdir_interval and a 24-hour voting interval: 34560 min */
	CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, 0), 86400, 0, NULL),
	    KEYD_ERR_PARAMS);
	/* with no hsdir_interval, 10 h voting intervals: 14400 min, tor's max */
	CHECK_INT_EQ(begin(&f, fake_now / 60 / 14400, 36000, 0, NULL),
	    KEYD_ERR_NONE);
	CHECK_INT_EQ(begin(&f, fake_now / 60 / 14424, 36060, 0, NULL),
	    KEYD_ERR_PARAMS);
	/* hsdir_interval below 30 or above 14400 is refused, not clamped */
	CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, 30), LIVE_VI, 29, NULL),
	    KEYD_ERR_PARAMS);
	CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, 14400), LIVE_VI, 14401, NULL),
	    KEYD_ERR_PARAMS);
	CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, 14400), LIVE_VI, 34560, NULL),
	    KEYD_ERR_PARAMS);
	/* the voting interval: 10 s .. 24 h */
	CHECK_INT_EQ(begin(&f, TP_CUR, 9, 1440, NULL), KEYD_ERR_PARAMS);
	CHECK_INT_EQ(begin(&f, TP_CUR, 86401, 1440, NULL), KEYD_ERR_PARAMS);
	CHECK_INT_EQ(begin(&f, TP_CUR, UINT32_MAX, 1440, NULL),
	    KEYD_ERR_PARAMS);
	/* the edges tor allows are accepted */
	CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, 30), LIVE_VI, 30, NULL), 0);
	CHECK_INT_EQ(begin(&f, cur_tp(10, 1440), 10, 1440, NULL), 0);
	/* a test network: 20 s voting intervals, no hsdir_interval: 8 min */
	CHECK_INT_EQ(begin(&f, cur_tp(20, 0), 20, 0, NULL), 0);
	CHECK_INT_EQ(f.reply.len, KEYD_BEGIN_REPLY_LEN);
	if (f.reply.len == KEYD_BEGIN_REPLY_LEN)
		CHECK_INT_EQ(get_u32_be(f.reply.payload + 64), 8);
	CHECK_INT_EQ(begin(&f, cur_tp(10, 0), 10, 0, NULL), 0);
	fixture_close(&f);
}

/*
 * Six BEGINs for bogus periods (lengths the network does not use) fill
 * every slot; an honest BEGIN from the restarted publishd still gets one.
 * If the bogus periods also signed, they hold their slots until their
 * signing certs expire, and no longer.  The lengths all divide 14400
 * minutes, and the clock is an hour into a period of each: all six are
 * live for days, and all can sign (revision counters reach 72 h).
 */
static const uint32_t bogus_len[6] = { 14400, 7200, 4800, 3600, 2880, 2400 };
#define T_BOGUS	((time_t)1967 * 14400 * 60 + 720 * 60 + 3600)

static void
test_bogus_begins_do_not_jam_slots(void)
{
	struct fixture f;
	struct period bogus[6], honest;
	uint64_t tp[6];
	int i;

	fixture_open(&f);
	fake_now = T_BOGUS;
	for (i = 0; i < 6; i++)
		CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, bogus_len[i]), LIVE_VI,
		    bogus_len[i], &bogus[i]), 0);
	CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, 0), LIVE_VI, 0, &honest), 0);
	CHECK_INT_EQ(sign_now(&f, &honest), 0);
	/* the oldest bogus one made room; the others are still there */
	CHECK_INT_EQ(sign_now(&f, &bogus[0]), KEYD_ERR_SIGNING_KEY);
	for (i = 1; i < 6; i++)
		CHECK_INT_EQ(sign_now(&f, &bogus[i]), 0);
	fixture_close(&f);

	/* six bogus periods that signed: full until their certs expire */
	fixture_open(&f);
	fake_now = T_BOGUS;
	for (i = 0; i < 6; i++) {
		tp[i] = cur_tp(LIVE_VI, bogus_len[i]);
		CHECK_INT_EQ(begin(&f, tp[i], LIVE_VI, bogus_len[i],
		    &bogus[i]), 0);
		CHECK_INT_EQ(sign_now(&f, &bogus[i]), 0);
	}
	CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, 0), LIVE_VI, 0, NULL),
	    KEYD_ERR_PERIOD_FULL);
	/* their periods are all still in the window, but their certs expired */
	fake_now += KEYD_SIGNING_CERT_LIFETIME + 3600;
	for (i = 0; i < 6; i++)
		CHECK(cur_tp(LIVE_VI, bogus_len[i]) <= tp[i] + 1);
	CHECK_INT_EQ(begin(&f, cur_tp(LIVE_VI, 0), LIVE_VI, 0, &honest), 0);
	CHECK_INT_EQ(sign_now(&f, &honest), 0);
	fixture_close(&f);
}

TEST_MAIN(
    TEST_CASE(test_identity),
    TEST_CASE(test_begin_period_window),
    TEST_CASE(test_begin_false_voting_interval),
    TEST_CASE(test_begin_certs_verify),
    TEST_CASE(test_certify_refusals),
    TEST_CASE(test_sign_accepts_and_verifies),
    TEST_CASE(test_sign_refusals),
    TEST_CASE(test_body_check_is_strict),
    TEST_CASE(test_begin_again_replaces_key_keeps_floor),
    TEST_CASE(test_revision_counter),
    TEST_CASE(test_sign_only_counters_keyd_gives),
    TEST_CASE(test_malformed_requests_are_violations),
    TEST_CASE(test_period_slots_do_not_evict_live_periods),
    TEST_CASE(test_begin_params_out_of_tor_ranges),
    TEST_CASE(test_bogus_begins_do_not_jam_slots))

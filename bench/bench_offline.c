/*
 * bench_offline: how long onionbalanced takes for the work it repeats on
 * the live network, on full-size inputs, without a network (bench.h).
 *
 *   ring.*     a new consensus: parse it, match the microdescriptors,
 *              build the HSDir rings of the first and second descriptor
 *              and pick the responsible HSDirs of one service in each
 *              (publishd, on every consensus);
 *   decode.*   verify and decrypt a real tor-made backend descriptor
 *              (fetchd, on every fetch); and the bound that its eight
 *              ed25519 verifications alone set (ed25519_verify*);
 *   encode.*   build a 20-intro-point superdescriptor through keyd:
 *              REVISION, 40 CERTIFY, SIGN and both encryption layers
 *              (publishd, on every build).
 *
 * usage: bench_offline --data DIR [--keyd PATH] [--out DIR]
 *                      [--min-seconds S] [--only PREFIX]
 *
 * --out writes the synthetic consensus, md/all and the service identity
 * there, for bench_onionbalance.py to parse the very same documents.
 * Each figure runs at least --min-seconds (default 1) and 3 iterations;
 * the measured loop is run_timed(), which callgrind can isolate with
 * --toggle-collect=run_timed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "bench.h"
#include "consensus.h"
#include "digest.h"
#include "ed25519_expanded.h"
#include "encoding.h"
#include "hashring.h"
#include "hs_common.h"
#include "hsdesc.h"
#include "keyd.h"
#include "log.h"
#include "onion_address.h"
#include "torcert.h"

#define ENCODE_INTROS	20

struct options {
	const char	*data_dir;
	const char	*keyd_path;
	const char	*out_dir;
	const char	*only;
	double		 min_seconds;
};

typedef void (*bench_op)(void *arg);

/* Runs op until min_seconds and 3 runs have passed; seconds per run. */
static double __attribute__((noinline))
run_timed(bench_op op, void *arg, double min_seconds, unsigned long *iters)
{
	double start = bench_now(), elapsed;
	unsigned long n = 0;

	do {
		op(arg);
		n++;
		elapsed = bench_now() - start;
	} while (elapsed < min_seconds || n < 3);
	*iters = n;
	return elapsed / (double)n;
}

static int
selected(const struct options *o, const char *name)
{
	return o->only == NULL || strncmp(name, o->only, strlen(o->only)) == 0;
}

/* --- ring: a new consensus ----------------------------------------------- */

struct ring_work {
	const struct synth	*s;
	time_t			 now;
	uint8_t			 blinded[2][32];	/* first, second */
	struct consensus	*c;	/* kept by ring_parse for the next steps */
	size_t			 n_responsible[2];
	struct hashring_hsdir	 responsible[2][HASHRING_MAX_RESPONSIBLE];
};

static void
ring_parse(void *arg)
{
	struct ring_work *w = arg;
	struct consensus_diag diag;
	enum consensus_error err;

	consensus_free(w->c);
	err = consensus_parse(w->s->consensus, w->s->consensus_len, &w->c,
	    &diag);
	if (err != CONSENSUS_OK)
		fatalx("synthetic consensus: line %zu: %s", diag.line,
		    consensus_strerror(err));
}

static void
ring_match(void *arg)
{
	struct ring_work *w = arg;
	struct microdesc_stats st;

	if (consensus_add_microdescs(w->c, w->s->microdescs,
	    w->s->microdescs_len, &st) == -1 ||
	    st.n_relays_with_id != SYNTH_RELAYS)
		fatalx("synthetic md/all: %zu of %d relays matched",
		    st.n_relays_with_id, SYNTH_RELAYS);
}

/* Both rings and one service's responsible HSDirs in each. */
static void
ring_build(void *arg)
{
	static const enum hashring_use use[2] = {
		HASHRING_STORE_FIRST, HASHRING_STORE_SECOND
	};
	struct ring_work *w = arg;
	struct hashring ring;
	enum hashring_error err;
	int k;

	for (k = 0; k < 2; k++) {
		if ((err = hashring_build(&ring, w->c, use[k], w->now)) !=
		    HASHRING_OK ||
		    (err = hashring_responsible(&ring, w->blinded[k],
		    w->responsible[k], HASHRING_MAX_RESPONSIBLE,
		    &w->n_responsible[k])) != HASHRING_OK)
			fatalx("hash ring: %s", hashring_strerror(err));
		if (ring.n_nodes != SYNTH_HSDIRS)
			fatalx("hash ring of %zu nodes", ring.n_nodes);
		hashring_clear(&ring);
	}
}

static void
ring_all(void *arg)
{
	ring_parse(arg);
	ring_match(arg);
	ring_build(arg);
}

/* The blinded keys of the first and second descriptor. */
static void
ring_blind(struct ring_work *w)
{
	struct hashring_period hp;
	int k;

	ring_parse(w);
	for (k = 0; k < 2; k++) {
		hashring_period_for(w->c, k == 0 ? HASHRING_STORE_FIRST :
		    HASHRING_STORE_SECOND, &hp);
		if (hs_blind_pubkey(w->blinded[k], w->s->identity, hp.tp,
		    hp.length_min) == -1)
			fatalx("blinding failed");
	}
}

/* The responsible HSDirs, for the cross-check with Onionbalance. */
static void
print_responsible(const struct ring_work *w)
{
	char line[HASHRING_MAX_RESPONSIBLE * (RSA_ID_HEX_LEN + 1)];
	size_t i, off;
	int k;

	for (k = 0; k < 2; k++) {
		for (i = 0, off = 0; i < w->n_responsible[k]; i++) {
			memcpy(line + off, w->responsible[k][i].fingerprint,
			    RSA_ID_HEX_LEN);
			off += RSA_ID_HEX_LEN;
			line[off++] = ',';
		}
		line[off > 0 ? off - 1 : 0] = '\0';
		bench_info(k == 0 ? "responsible_first" : "responsible_second",
		    "%s", line);
	}
}

struct blind_work {
	const uint8_t	*identity;
	uint64_t	 tp;
};

static void
blind_once(void *arg)
{
	struct blind_work *b = arg;
	uint8_t out[32];

	if (hs_blind_pubkey(out, b->identity, b->tp++, 1440) == -1)
		fatalx("blinding failed");
}

static void
bench_ring(const struct options *o, const struct synth *s)
{
	struct ring_work *w;
	struct blind_work bw = { s->identity, 20000 };
	unsigned long n;
	double t;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("calloc");
	w->s = s;
	w->now = time(NULL);
	ring_blind(w);
	if (selected(o, "ring.parse")) {
		t = run_timed(ring_parse, w, o->min_seconds, &n);
		bench_figure("ring.parse", t * 1e3, "ms", n,
		    "consensus_parse, 8000 relays");
	}
	ring_parse(w);
	if (selected(o, "ring.md_match")) {
		t = run_timed(ring_match, w, o->min_seconds, &n);
		bench_figure("ring.md_match", t * 1e3, "ms", n,
		    "consensus_add_microdescs, 8000 microdescriptors");
	}
	ring_match(w);
	if (selected(o, "ring.build_responsible")) {
		t = run_timed(ring_build, w, o->min_seconds, &n);
		bench_figure("ring.build_responsible", t * 1e3, "ms", n,
		    "rings of the first and second descriptor (4000 HSDirs) "
		    "and one service's responsible HSDirs in each");
	}
	if (selected(o, "ring.total")) {
		t = run_timed(ring_all, w, o->min_seconds, &n);
		bench_figure("ring.total", t * 1e3, "ms", n,
		    "parse + match + both rings + responsible HSDirs");
	}
	ring_build(w);
	print_responsible(w);
	if (selected(o, "blind_pubkey")) {
		t = run_timed(blind_once, &bw, o->min_seconds, &n);
		bench_figure("blind_pubkey", t * 1e6, "us", n,
		    "blinded public key for one time period");
	}
	consensus_free(w->c);
	free(w);
}

/* --- decode: tor-made backend descriptors -------------------------------- */

struct capture {
	char		*text;
	size_t		 len;
	uint8_t		 identity[32];
};

struct decode_work {
	struct capture	 desc[2];
	uint64_t	 tp, length_min;
	time_t		 now;		/* the moment of the capture */
	unsigned long	 n;
};

static char *
data_path(const struct options *o, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", o->data_dir, name) == -1)
		fatal("asprintf");
	return p;
}

static void
load_capture(const struct options *o, struct capture *c, const char *desc,
    const char *addr)
{
	char *p, *a;
	size_t alen;

	p = data_path(o, desc);
	if ((c->text = bench_read_file(p, &c->len)) == NULL)
		exit(1);
	free(p);
	p = data_path(o, addr);
	if ((a = bench_read_file(p, &alen)) == NULL)
		exit(1);
	free(p);
	while (alen > 0 && (a[alen - 1] == '\n' || a[alen - 1] == ' '))
		alen--;
	if (alen > 6 && strncmp(a + alen - 6, ".onion", 6) == 0)
		alen -= 6;
	if (onion_address_to_pubkey(c->identity, a, alen) != ONION_ADDRESS_OK)
		fatalx("%s: not an onion address", addr);
	free(a);
}

/* The period of the captured consensus (20 s voting, 8 min periods). */
static void
capture_period(const struct options *o, struct decode_work *w)
{
	struct hs_period_params pp;
	struct consensus *c;
	char *p, *text;
	size_t len;

	p = data_path(o, "consensus-microdesc.txt");
	if ((text = bench_read_file(p, &len)) == NULL)
		exit(1);
	free(p);
	if (consensus_parse(text, len, &c, NULL) != CONSENSUS_OK)
		fatalx("captured consensus does not parse");
	pp = c->period;
	w->tp = hs_time_period_num(&pp, c->valid_after);
	w->length_min = pp.length_min;
	/* The capture was taken 26 s after this consensus' valid-after. */
	w->now = c->valid_after + 26;
	consensus_free(c);
	free(text);
}

static struct hsdesc *
decode_one(struct decode_work *w, const struct capture *c)
{
	struct hsdesc *d = NULL;
	struct hsdesc_diag diag;
	enum hsdesc_error err;
	uint64_t tp_out;
	char buf[160];

	err = hsdesc_decode_near(c->text, c->len, c->identity, w->tp,
	    w->length_min, w->now, 0, NULL, &tp_out, &d, &diag);
	if (err != HSDESC_OK)
		fatalx("captured descriptor: %s",
		    hsdesc_diag_format(buf, sizeof(buf), err, &diag));
	return d;
}

/* fetchd's call, alternating between the two backends. */
static void
decode_next(void *arg)
{
	struct decode_work *w = arg;

	hsdesc_free(decode_one(w, &w->desc[w->n++ % 2]));
}

static void
bench_decode(const struct options *o, struct decode_work *w)
{
	unsigned long n;
	double t;

	if (!selected(o, "decode.tor_descriptor"))
		return;
	t = run_timed(decode_next, w, o->min_seconds, &n);
	bench_figure("decode.tor_descriptor", 1.0 / t, "desc/s", n,
	    "hsdesc_decode_near: outer parse, cert chain, signature, both "
	    "layers decrypted, 3 intro points (tor 0.4.9 backend, 14107 B)");
}

/* --- the bound that a decode's signatures set ---------------------------- */

/*
 * A decode verifies eight ed25519 signatures: the descriptor's, its
 * signing-key certificate's and two certificates per intro point (three
 * in the captures).  However fast the rest, no decoder that verifies them
 * all exceeds 1 / (8 x one verification) descriptors a second.  One
 * verification is timed with libsodium (ed25519_verify(), what the
 * decoder calls) and with OpenSSL's EVP, the other library the project
 * may use, its key object made once (the most favourable case for it).
 */
#define DECODE_VERIFICATIONS	8

struct verify_work {
	uint8_t		 pk[32];
	uint8_t		 sig[ED25519_SIG_LEN];
	uint8_t		 msg[TORCERT_BODY_LEN];	/* a certificate's body */
	EVP_PKEY	*pkey;
};

static void
verify_sodium_once(void *arg)
{
	struct verify_work *w = arg;

	if (ed25519_verify(w->sig, w->msg, sizeof(w->msg), w->pk) != 0)
		fatalx("ed25519_verify refused a good signature");
}

static void
verify_openssl_once(void *arg)
{
	struct verify_work *w = arg;
	EVP_MD_CTX *ctx;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new failed");
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, w->pkey) == 1 &&
	    EVP_DigestVerify(ctx, w->sig, sizeof(w->sig), w->msg,
	    sizeof(w->msg)) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		fatalx("OpenSSL refused a good ed25519 signature");
}

static void
bench_verify(const struct options *o)
{
	static const uint8_t seed[crypto_sign_SEEDBYTES] = { 22 };
	struct verify_work w;
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	unsigned long n;
	double t;
	int sodium, openssl;

	sodium = selected(o, "ed25519_verify") ||
	    selected(o, "decode.verify_bound");
	openssl = selected(o, "ed25519_verify.openssl");
	if (!sodium && !openssl)
		return;
	memset(w.msg, 0x5a, sizeof(w.msg));
	if (crypto_sign_seed_keypair(w.pk, sk, seed) != 0 ||
	    crypto_sign_detached(w.sig, NULL, w.msg, sizeof(w.msg), sk) != 0)
		fatalx("ed25519 key or signature failed");
	sodium_memzero(sk, sizeof(sk));
	if ((w.pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
	    w.pk, sizeof(w.pk))) == NULL)
		fatalx("EVP_PKEY_new_raw_public_key failed");

	if (sodium) {
		t = run_timed(verify_sodium_once, &w, o->min_seconds, &n);
		bench_figure("ed25519_verify", t * 1e6, "us", n,
		    "one ed25519 verification, libsodium (the decoder's)");
		bench_figure("decode.verify_bound",
		    1.0 / (DECODE_VERIFICATIONS * t), "desc/s", n,
		    "the most descriptors a second with 8 libsodium "
		    "verifications each and nothing else");
	}
	if (openssl) {
		t = run_timed(verify_openssl_once, &w, o->min_seconds, &n);
		bench_figure("ed25519_verify.openssl", t * 1e6, "us", n,
		    "one ed25519 verification, OpenSSL EVP, key object "
		    "reused");
	}
	EVP_PKEY_free(w.pkey);
}

/* --- encode: a superdescriptor through keyd ------------------------------ */

struct encode_work {
	struct keyd_client	*kc;
	const uint8_t		*identity;
	struct hsdesc_intro_point ip[ENCODE_INTROS];
	struct keyd_begin_reply	 begun;
	uint8_t			 subcred[32];
	enum keyd_error		 err;
	size_t			 last_len;
};

static int
cb_certify(void *arg, uint8_t type, uint32_t exp_hours, const uint8_t key[32],
    uint8_t cert[TORCERT_LEN])
{
	struct encode_work *w = arg;

	w->err = kc_certify(w->kc, 0, w->begun.signing_key, type, exp_hours,
	    key, cert);
	return w->err == KEYD_ERR_NONE ? 0 : -1;
}

static int
cb_sign(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	struct encode_work *w = arg;

	w->err = kc_sign(w->kc, 0, w->begun.signing_key, 0, msg, len, sig);
	return w->err == KEYD_ERR_NONE ? 0 : -1;
}

/* publishd's per-build work (publishd/build.c): REVISION, then encode. */
static void
encode_once(void *arg)
{
	struct encode_work *w = arg;
	struct hsdesc_encode_params p;
	struct hsdesc_encode_report rep;
	enum hsdesc_error err;
	char *out;

	memset(&p, 0, sizeof(p));
	if ((w->err = kc_revision(w->kc, 0, w->begun.signing_key,
	    &p.revision_counter)) != KEYD_ERR_NONE)
		fatalx("keyd REVISION: %s", kc_strerror(w->err));
	p.blinded_key = w->begun.blinded_key;
	p.subcredential = w->subcred;
	p.signing_key = w->begun.signing_key;
	p.signing_cert = w->begun.cert;
	p.intro_points = w->ip;
	p.n_intro_points = ENCODE_INTROS;
	p.flow_control = "1-2 31";
	p.certify = cb_certify;
	p.sign = cb_sign;
	p.cb_arg = w;
	if ((err = hsdesc_encode(&p, &out, &w->last_len, &rep)) != HSDESC_OK)
		fatalx("encode: %s (keyd: %s)", hsdesc_strerror(err),
		    kc_strerror(w->err));
	if (rep.n_intro_used != ENCODE_INTROS)
		fatalx("encode used %zu intro points", rep.n_intro_used);
	free(out);
}

/*
 * The 6 intro points of the two captured backend descriptors, repeated
 * up to 20; their cert expiries set to the signing cert's, as publishd
 * clamps them (the captured ones expired long ago by the real clock).
 */
static void
encode_intro_points(struct encode_work *w, struct decode_work *dw)
{
	struct hsdesc *d[2];
	size_t i, k;

	d[0] = decode_one(dw, &dw->desc[0]);
	d[1] = decode_one(dw, &dw->desc[1]);
	for (i = 0; i < ENCODE_INTROS; i++) {
		k = i % 2;
		w->ip[i] = d[k]->intro_points[(i / 2) % d[k]->n_intro_points];
	}
	hsdesc_free(d[0]);
	hsdesc_free(d[1]);
}

static void
encode_begin(struct encode_work *w, struct bench_keyd *bk)
{
	struct hs_period_params pp;
	struct torcert cert;
	uint64_t tp;
	size_t i;

	w->kc = bench_keyd_client(bk);
	w->identity = bench_keyd_identity(bk);
	if (hs_period_params_init(&pp, 3600, 0) == -1)
		fatalx("period params");
	tp = hs_time_period_num(&pp, time(NULL));
	if ((w->err = kc_begin(w->kc, 0, tp, &pp, 0, &w->begun)) !=
	    KEYD_ERR_NONE)
		fatalx("keyd BEGIN: %s", kc_strerror(w->err));
	if (torcert_check(&cert, w->begun.cert, TORCERT_LEN,
	    TORCERT_TYPE_SIGNING_HS_DESC, w->begun.blinded_key,
	    time(NULL)) != TORCERT_OK)
		fatalx("keyd BEGIN: bad cert");
	for (i = 0; i < ENCODE_INTROS; i++)
		w->ip[i].auth_key_exp_hours = w->ip[i].enc_key_cert_exp_hours =
		    cert.exp_hours;
	hs_subcredential(w->subcred, w->identity, w->begun.blinded_key);
}

/* One more build, decoded under the frontend identity: a real result. */
static void
encode_check(struct encode_work *w)
{
	struct hs_period_params pp;
	struct hsdesc *d = NULL;
	struct hsdesc_encode_params p;
	struct hsdesc_encode_report rep;
	enum hsdesc_error err;
	uint64_t tp_out;
	char *out;
	size_t len;

	hs_period_params_init(&pp, 3600, 0);
	memset(&p, 0, sizeof(p));
	if (kc_revision(w->kc, 0, w->begun.signing_key,
	    &p.revision_counter) != KEYD_ERR_NONE)
		fatalx("keyd REVISION");
	p.blinded_key = w->begun.blinded_key;
	p.subcredential = w->subcred;
	p.signing_key = w->begun.signing_key;
	p.signing_cert = w->begun.cert;
	p.intro_points = w->ip;
	p.n_intro_points = ENCODE_INTROS;
	p.certify = cb_certify;
	p.sign = cb_sign;
	p.cb_arg = w;
	if (hsdesc_encode(&p, &out, &len, &rep) != HSDESC_OK)
		fatalx("encode failed");
	err = hsdesc_decode_near(out, len, w->identity,
	    hs_time_period_num(&pp, time(NULL)), pp.length_min, time(NULL), 0,
	    NULL, &tp_out, &d, NULL);
	if (err != HSDESC_OK || d->n_intro_points != ENCODE_INTROS)
		fatalx("our superdescriptor does not decode: %s",
		    hsdesc_strerror(err));
	bench_info("superdescriptor_bytes", "%zu", len);
	hsdesc_free(d);
	free(out);
}

static void
bench_encode_with(const struct options *o, struct decode_work *dw,
    const char *name, struct bench_keyd *bk, const char *note)
{
	struct encode_work *w;
	unsigned long n;
	double t;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("calloc");
	encode_intro_points(w, dw);
	encode_begin(w, bk);
	encode_check(w);
	t = run_timed(encode_once, w, o->min_seconds, &n);
	bench_figure(name, 1.0 / t, "desc/s", n, note);
	free(w);
	bench_keyd_free(bk);
}

static void
bench_encode(const struct options *o, struct decode_work *dw)
{
	if (selected(o, "encode.keyd_inproc"))
		bench_encode_with(o, dw, "encode.keyd_inproc",
		    bench_keyd_inproc(), "20 intro points: keyd REVISION, 40 "
		    "CERTIFY, SIGN (keyd's handler in-process) + both layers");
	if (o->keyd_path != NULL && selected(o, "encode.keyd_exec"))
		bench_encode_with(o, dw, "encode.keyd_exec",
		    bench_keyd_exec(o->keyd_path), "the same through the "
		    "keyd binary over its socketpair (42 round trips)");
}

/* --- main ---------------------------------------------------------------- */

static void
write_inputs(const struct options *o, const struct synth *s)
{
	char *p, hex[65];

	if (asprintf(&p, "%s/consensus-microdesc.txt", o->out_dir) == -1 ||
	    bench_write_file(p, s->consensus, s->consensus_len) == -1)
		exit(1);
	free(p);
	if (asprintf(&p, "%s/md-all.txt", o->out_dir) == -1 ||
	    bench_write_file(p, s->microdescs, s->microdescs_len) == -1)
		exit(1);
	free(p);
	hex_encode(hex, s->identity, 32);
	hex[64] = '\n';
	if (asprintf(&p, "%s/identity.hex", o->out_dir) == -1 ||
	    bench_write_file(p, hex, 65) == -1)
		exit(1);
	free(p);
}

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: bench_offline --data DIR [--keyd PATH] "
	    "[--out DIR] [--min-seconds S] [--only PREFIX]\n");
	exit(2);
}

static void
parse_options(int argc, char *argv[], struct options *o)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "keyd", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "min-seconds", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->min_seconds = 1.0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->data_dir = optarg; break;
		case 'k': o->keyd_path = optarg; break;
		case 'o': o->out_dir = optarg; break;
		case 's': o->min_seconds = strtod(optarg, NULL); break;
		case 'O': o->only = optarg; break;
		default: usage();
		}
	}
	if (o->data_dir == NULL || optind != argc || o->min_seconds < 0)
		usage();
}

int
main(int argc, char *argv[])
{
	struct options o;
	struct synth s;
	struct synth_params sp = { SYNTH_SEED, SYNTH_RELAYS, SYNTH_HSDIRS, 0 };
	struct decode_work dw;

	parse_options(argc, argv, &o);
	log_init("bench", LOG_LEVEL_WARN);
	if (sodium_init() < 0)
		fatalx("sodium_init");
	/* OpenSSL's algorithms, fetched as each child does before its sandbox
	 * (sandbox.c), so that no figure counts their one-time setup. */
	digest_init();
	aes256_ctr_init();
	sp.valid_after = time(NULL) / 3600 * 3600;
	if (synth_generate(&s, &sp) == -1)
		fatalx("synthetic network");
	bench_info("consensus_bytes", "%zu", s.consensus_len);
	bench_info("microdescs_bytes", "%zu", s.microdescs_len);
	if (o.out_dir != NULL)
		write_inputs(&o, &s);
	bench_ring(&o, &s);
	memset(&dw, 0, sizeof(dw));
	load_capture(&o, &dw.desc[0], "backend-descriptor.txt",
	    "backend-address.txt");
	load_capture(&o, &dw.desc[1], "backend-be2-descriptor.txt",
	    "backend-be2-address.txt");
	capture_period(&o, &dw);
	bench_decode(&o, &dw);
	bench_verify(&o);
	bench_encode(&o, &dw);
	free(dw.desc[0].text);
	free(dw.desc[1].text);
	synth_free(&s);
	return 0;
}

/*
 * The malformed-descriptor corpus: every kind of damage at every layer is
 * rejected with its own error code, never a crash (this suite runs under
 * ASan and UBSan, leaks included).  Damage to an inner layer is made by
 * re-wrapping a hand-edited plaintext into a correctly encrypted and
 * signed descriptor, so that the check under test is the one that fires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "encoding.h"
#include "hsdesc_private.h"
#include "test.h"
#include "test_hsdesc_fixture.h"

static struct fixture F;
static struct hsdesc_intro_point IPS[3];
static char *GOOD;		/* a valid descriptor with 3 intro points */
static size_t GOOD_LEN;

static void
setup(void)
{
	struct hsdesc_encode_params p;
	size_t i;

	if (GOOD != NULL)
		return;
	fixture_init(&F, time(NULL), 1440);
	for (i = 0; i < 3; i++)
		fixture_intro_point(&IPS[i], F.now, i == 1);
	fixture_params(&p, &F, IPS, 3);
	if (hsdesc_encode(&p, &GOOD, &GOOD_LEN, NULL) != HSDESC_OK)
		abort();
}

static enum hsdesc_error
decode_full(const char *text, size_t len, time_t now, size_t max,
    struct hsdesc **out, struct hsdesc_diag *diag)
{
	return hsdesc_decode(text, len, F.id_pk, F.tp, F.tp_len, now, max, NULL,
	    out, diag);
}

/* Decode; expect err (and, if kw is non-NULL, that diag names kw). */
static void
expect(const char *what, const char *text, size_t len, enum hsdesc_error err,
    const char *kw)
{
	struct hsdesc *d = NULL;
	struct hsdesc_diag diag;
	enum hsdesc_error got;
	char buf[160];

	got = decode_full(text, len, F.now, 0, &d, &diag);
	if (got != err)
		fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", what,
		    hsdesc_diag_format(buf, sizeof(buf), got, &diag),
		    hsdesc_strerror(err));
	CHECK_INT_EQ(got, err);
	if (kw != NULL && got == err)
		CHECK_STR_EQ(diag.keyword, kw);
	CHECK((d != NULL) == (err == HSDESC_OK));
	hsdesc_free(d);
}

/* Replace the first occurrence of from by to; malloc'd result. */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out;

	if (at == NULL) {
		fprintf(stderr, "replace: \"%s\" not found\n", from);
		abort();
	}
	if (asprintf(&out, "%.*s%s%s", (int)(at - s), s, to,
	    at + strlen(from)) < 0)
		abort();
	return out;
}

/* Edit the outer text, re-sign it, and expect err. */
static void
expect_outer_edit(const char *from, const char *to, enum hsdesc_error err,
    const char *kw)
{
	char *body, *edited, *desc;
	size_t len;

	body = strndup(GOOD, (size_t)(strstr(GOOD, "\nsignature ") + 1 - GOOD));
	edited = replace(body, from, to);
	desc = fixture_sign_body(&F, edited, &len);
	expect(to, desc, len, err, kw);
	free(body);
	free(edited);
	free(desc);
}

static void
test_good_descriptor_decodes(void)
{
	setup();
	expect("good", GOOD, GOOD_LEN, HSDESC_OK, NULL);
}

/* Truncation at (nearly) every offset of the outer text. */
static void
test_truncation_everywhere(void)
{
	struct hsdesc *d;
	size_t cut;

	setup();
	/* Only the final newline may go: tor accepts that too. */
	for (cut = 0; cut < GOOD_LEN - 1; cut += (cut < 1200 || cut >
	    GOOD_LEN - 1200) ? 1 : 37) {
		d = NULL;
		CHECK(decode_full(GOOD, cut, F.now, 0, &d, NULL) != HSDESC_OK);
		CHECK(d == NULL);
	}
}

static void
test_outer_structure(void)
{
	setup();
	expect_outer_edit("hs-descriptor 3", "hs-descriptor 4",
	    HSDESC_ERR_VERSION, "hs-descriptor");
	expect_outer_edit("hs-descriptor 3\n", "",
	    HSDESC_ERR_FIELD_MISSING, "hs-descriptor");
	expect_outer_edit("hs-descriptor 3\ndescriptor-lifetime 180",
	    "descriptor-lifetime 180\nhs-descriptor 3",
	    HSDESC_ERR_FIELD_NOT_FIRST, "hs-descriptor");
	expect_outer_edit("descriptor-lifetime 180",
	    "descriptor-lifetime 721", HSDESC_ERR_LIFETIME,
	    "descriptor-lifetime");
	expect_outer_edit("descriptor-lifetime 180",
	    "descriptor-lifetime 71582789", HSDESC_ERR_LIFETIME,
	    "descriptor-lifetime");
	expect_outer_edit("descriptor-lifetime 180",
	    "descriptor-lifetime 180 180", HSDESC_ERR_TOO_MANY_ARGS,
	    "descriptor-lifetime");
	expect_outer_edit("descriptor-lifetime 180\n",
	    "descriptor-lifetime 180\ndescriptor-lifetime 180\n",
	    HSDESC_ERR_FIELD_DUPLICATED, "descriptor-lifetime");
	expect_outer_edit("revision-counter 1234567",
	    "revision-counter 99999999999999999999999",
	    HSDESC_ERR_REVISION_COUNTER, "revision-counter");
	expect_outer_edit("revision-counter 1234567", "revision-counter -1",
	    HSDESC_ERR_REVISION_COUNTER, "revision-counter");
	expect_outer_edit("revision-counter 1234567", "revision-counter",
	    HSDESC_ERR_TOO_FEW_ARGS, "revision-counter");
	expect_outer_edit("revision-counter 1234567\n", "",
	    HSDESC_ERR_FIELD_MISSING, "revision-counter");
	expect_outer_edit("BEGIN ED25519 CERT", "BEGIN ED25519 CERTS",
	    HSDESC_ERR_OBJECT_END, "descriptor-signing-key-cert");
	expect_outer_edit("-----BEGIN MESSAGE-----", "-----BEGIN MESSAGE----",
	    HSDESC_ERR_OBJECT_BEGIN, "superencrypted");
	expect_outer_edit("-----END MESSAGE-----", "-----END MESSAGE-----x",
	    HSDESC_ERR_OBJECT_END, "superencrypted");
	expect_outer_edit("-----BEGIN MESSAGE-----\n",
	    "-----BEGIN MESSAGE-----\n!!!!", HSDESC_ERR_OBJECT_BASE64,
	    "superencrypted");
	expect_outer_edit("revision-counter 1234567",
	    "revision-counter 1234567\n-----BEGIN MESSAGE-----\nAAAA\n"
	    "-----END MESSAGE-----", HSDESC_ERR_OBJECT_UNEXPECTED,
	    "revision-counter");
	/* unknown keywords are ignored, as tor ignores them */
	expect_outer_edit("revision-counter 1234567",
	    "revision-counter 1234567\nunknown-thing 1 2 3", HSDESC_OK, NULL);
	expect_outer_edit("revision-counter", "opt revision-counter",
	    HSDESC_OK, NULL);
	/* comment lines are skipped, as tor skips them */
	expect_outer_edit("hs-descriptor 3\n", "hs-descriptor 3\n# note\n\n",
	    HSDESC_OK, NULL);
}

static void
test_nul_and_size(void)
{
	struct hsdesc *d = NULL;
	char *copy;

	setup();
	copy = strdup(GOOD);
	copy[100] = '\0';
	expect("nul", copy, GOOD_LEN, HSDESC_ERR_NUL, NULL);
	free(copy);
	/* Size limit: strictly below max_size. */
	CHECK_INT_EQ(decode_full(GOOD, GOOD_LEN, F.now, GOOD_LEN, &d, NULL),
	    HSDESC_ERR_TOO_LARGE);
	CHECK_INT_EQ(decode_full(GOOD, GOOD_LEN, F.now, GOOD_LEN + 1, &d,
	    NULL), HSDESC_OK);
	hsdesc_free(d);
}

static void
test_signature_and_cert(void)
{
	struct hsdesc *d = NULL;
	struct fixture other;
	struct hsdesc_diag diag;
	char *copy, *sig;
	size_t len;

	setup();
	/* A flipped signature character. */
	copy = strdup(GOOD);
	sig = strstr(copy, "\nsignature ") + 11;
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	expect("bad signature", copy, GOOD_LEN, HSDESC_ERR_SIGNATURE,
	    "signature");
	/* A signature of the wrong length. */
	sig[85] = '\n';
	expect("short signature", copy, GOOD_LEN,
	    HSDESC_ERR_SIGNATURE_FORMAT, "signature");
	free(copy);
	/* A signed byte changed (lifetime 180 -> 170 keeps the length). */
	copy = replace(GOOD, "descriptor-lifetime 180", "descriptor-lifetime 170");
	expect("tampered", copy, GOOD_LEN, HSDESC_ERR_SIGNATURE, "signature");
	free(copy);
	/* Expired signing cert: decode 60 h later. */
	CHECK_INT_EQ(decode_full(GOOD, GOOD_LEN, F.now + 60 * 3600, 0, &d,
	    &diag), HSDESC_ERR_SIGNING_CERT_EXPIRED);
	CHECK_INT_EQ(diag.cert_error, TORCERT_ERR_EXPIRED);
	/* The right address but another period: another blinded key. */
	CHECK_INT_EQ(hsdesc_decode(GOOD, GOOD_LEN, F.id_pk, F.tp + 1, F.tp_len,
	    F.now, 0, NULL, &d, &diag), HSDESC_ERR_BLINDED_KEY_MISMATCH);
	/*
	 * A forged, self-consistent descriptor: signed with another blinded
	 * key, decoded as ours.
	 */
	fixture_init(&other, F.now, 1440);
	{
		struct hsdesc_encode_params p;
		char *forged = NULL;

		fixture_params(&p, &other, IPS, 3);
		CHECK_INT_EQ(hsdesc_encode(&p, &forged, &len, NULL), HSDESC_OK);
		expect("forged", forged, len, HSDESC_ERR_BLINDED_KEY_MISMATCH,
		    "descriptor-signing-key-cert");
		CHECK_INT_EQ(hsdesc_decode_near(forged, len, F.id_pk, F.tp,
		    F.tp_len, F.now, 0, NULL, NULL, &d, NULL),
		    HSDESC_ERR_BLINDED_KEY_MISMATCH);
		free(forged);
	}
	fixture_free(&other);
}

static void
test_wrong_cert_type_and_content(void)
{
	uint8_t cert[TORCERT_LEN];
	char b64[256], *body, *edited, *desc, *old;
	size_t len;

	setup();
	/* A type 0x09 cert in place of the signing-key cert. */
	if (torcert_sign(cert, TORCERT_TYPE_AUTH_HS_IP_KEY,
	    torcert_exp_hours(F.now, 3600), F.sign_pk, F.blinded_sk,
	    F.blinded_pk) != 0)
		abort();
	CHECK(base64_encode(b64, sizeof(b64), cert, sizeof(cert),
	    BASE64_PAD | BASE64_MULTILINE) > 0);
	CHECK(base64_encode((old = malloc(256)), 256, F.signing_cert,
	    TORCERT_LEN, BASE64_PAD | BASE64_MULTILINE) > 0);
	body = strndup(GOOD, (size_t)(strstr(GOOD, "\nsignature ") + 1 - GOOD));
	edited = replace(body, old, b64);
	desc = fixture_sign_body(&F, edited, &len);
	expect("cert type", desc, len, HSDESC_ERR_SIGNING_CERT_TYPE,
	    "descriptor-signing-key-cert");
	free(desc);
	free(edited);
	/* A truncated cert. */
	edited = replace(body, old, "AQgA\n");
	desc = fixture_sign_body(&F, edited, &len);
	expect("cert short", desc, len, HSDESC_ERR_SIGNING_CERT,
	    "descriptor-signing-key-cert");
	free(desc);
	free(edited);
	free(body);
	free(old);
}

static void
test_superencrypted_damage(void)
{
	char *copy, *p;

	setup();
	/* Flip a base64 char in the middle of the superencrypted blob. */
	copy = strdup(GOOD);
	p = strstr(copy, "-----BEGIN MESSAGE-----\n") + 24 + 200;
	*p = *p == 'A' ? 'B' : 'A';
	{
		char *body = strndup(copy, (size_t)(strstr(copy,
		    "\nsignature ") + 1 - copy));
		size_t len;
		char *desc = fixture_sign_body(&F, body, &len);

		expect("bad mac", desc, len, HSDESC_ERR_SUPERENC_MAC,
		    "superencrypted");
		free(desc);
		free(body);
	}
	free(copy);
	/* A blob of only salt and MAC. */
	copy = strndup(strstr(GOOD, "-----BEGIN MESSAGE-----"),
	    (size_t)(strstr(GOOD, "\nsignature ") -
	    strstr(GOOD, "-----BEGIN MESSAGE-----")));
	expect_outer_edit(copy, "-----BEGIN MESSAGE-----\n"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	    "-----END MESSAGE-----", HSDESC_ERR_ENCRYPTED_TOO_SHORT,
	    "superencrypted");
	free(copy);
}

static void
expect_middle(const char *middle, enum hsdesc_error err, const char *kw)
{
	size_t len;
	char *desc = fixture_wrap_middle(&F, 42, middle, &len);

	expect(middle, desc, len, err, kw);
	free(desc);
}

static void
expect_middle_edit(const char *from, const char *to, enum hsdesc_error err,
    const char *kw)
{
	char *middle = fixture_layer(&F, GOOD, GOOD_LEN, 1);
	char *edited = replace(middle, from, to);
	size_t len;
	char *desc;

	/* Keep the original revision counter: the inner keys depend on it. */
	desc = fixture_wrap_middle(&F, 1234567, edited, &len);
	expect(to, desc, len, err, kw);
	free(desc);
	free(edited);
	free(middle);
}

static void
test_middle_layer_damage(void)
{
	setup();
	expect_middle_edit("desc-auth-type x25519", "desc-auth-type ed25519",
	    HSDESC_ERR_AUTH_TYPE, "desc-auth-type");
	expect_middle_edit("desc-auth-type x25519\n", "",
	    HSDESC_ERR_FIELD_MISSING, "desc-auth-type");
	expect_middle_edit("desc-auth-ephemeral-key ",
	    "desc-auth-ephemeral-key AAAA", HSDESC_ERR_EPHEMERAL_KEY,
	    "desc-auth-ephemeral-key");
	expect_middle_edit("auth-client ", "auth-client A",
	    HSDESC_ERR_AUTH_CLIENT, "auth-client");
	expect_middle_edit("auth-client ", "auth-client\nauth-client ",
	    HSDESC_ERR_TOO_FEW_ARGS, "auth-client");
	expect_middle_edit("encrypted\n", "encrypted\nencrypted\n",
	    HSDESC_ERR_OBJECT_MISSING, "encrypted");
	expect_middle_edit("-----BEGIN MESSAGE-----\n",
	    "-----BEGIN MESSAGE-----\nAAAA", HSDESC_ERR_NEED_CLIENT_AUTH,
	    "encrypted");
	expect_middle_edit("BEGIN MESSAGE", "BEGIN MASSAGE",
	    HSDESC_ERR_OBJECT_END, "encrypted");
	/* Not the revision counter the inner keys were made with. */
	{
		char *middle = fixture_layer(&F, GOOD, GOOD_LEN, 1);

		expect_middle(middle, HSDESC_ERR_NEED_CLIENT_AUTH, "encrypted");
		free(middle);
	}
	expect_middle("", HSDESC_ERR_SUPERENC_EMPTY, "superencrypted");
	expect_middle("\n\n", HSDESC_ERR_FIELD_MISSING, NULL);
	/* absurd counts: 2000 auth-client lines */
	{
		char *middle = fixture_layer(&F, GOOD, GOOD_LEN, 1), *many;
		const char *line = strstr(middle, "auth-client ");
		size_t ll = (size_t)(strchr(line, '\n') + 1 - line), i;
		size_t pre = (size_t)(line - middle);

		many = malloc(strlen(middle) + 200 * ll + 1);
		memcpy(many, middle, pre);
		for (i = 0; i < 200; i++)
			memcpy(many + pre + i * ll, line, ll);
		strcpy(many + pre + 200 * ll, line);
		expect_middle(many, HSDESC_ERR_TOO_MANY_AUTH_CLIENTS,
		    "auth-client");
		free(many);
		free(middle);
	}
}

static void
expect_inner(const char *inner, enum hsdesc_error err, const char *kw,
    size_t n_ip, size_t n_dropped, enum hsdesc_error drop0)
{
	struct hsdesc *d = NULL;
	struct hsdesc_diag diag;
	enum hsdesc_error got;
	size_t len;
	char *desc = fixture_wrap_inner(&F, 7, inner, &len), buf[160];

	got = decode_full(desc, len, F.now, 0, &d, &diag);
	if (got != err)
		fprintf(stderr, "inner: got \"%s\", want \"%s\"\n",
		    hsdesc_diag_format(buf, sizeof(buf), got, &diag),
		    hsdesc_strerror(err));
	CHECK_INT_EQ(got, err);
	if (kw != NULL && got == err)
		CHECK_STR_EQ(diag.keyword, kw);
	if (d != NULL) {
		CHECK_INT_EQ(d->n_intro_points, n_ip);
		CHECK_INT_EQ(d->n_intro_dropped, n_dropped);
		if (n_dropped > 0)
			CHECK_INT_EQ(d->intro_drop_reasons[0], drop0);
	}
	hsdesc_free(d);
	free(desc);
}

static void
expect_inner_edit(const char *from, const char *to, enum hsdesc_error err,
    const char *kw, size_t n_ip, size_t n_dropped, enum hsdesc_error drop0)
{
	char *inner = fixture_layer(&F, GOOD, GOOD_LEN, 2);
	char *edited = replace(inner, from, to);

	expect_inner(edited, err, kw, n_ip, n_dropped, drop0);
	free(edited);
	free(inner);
}

static void
test_inner_layer_damage(void)
{
	setup();
	expect_inner_edit("create2-formats 2", "create2-formats 1 3",
	    HSDESC_ERR_CREATE2_FORMATS, "create2-formats", 0, 0, 0);
	expect_inner_edit("create2-formats 2", "create2-formats 1 2 x",
	    HSDESC_OK, NULL, 3, 0, 0);
	expect_inner_edit("create2-formats 2\n", "",
	    HSDESC_ERR_FIELD_MISSING, "create2-formats", 0, 0, 0);
	expect_inner_edit("flow-control 1-2 31", "flow-control 1-2 0",
	    HSDESC_ERR_FLOW_CONTROL, "flow-control", 0, 0, 0);
	expect_inner_edit("flow-control 1-2 31", "flow-control 1-2 256",
	    HSDESC_ERR_FLOW_CONTROL, "flow-control", 0, 0, 0);
	expect_inner_edit("flow-control 1-2 31\n",
	    "flow-control 1-2 31\nflow-control 1-2 31\n",
	    HSDESC_ERR_FIELD_DUPLICATED, "flow-control", 0, 0, 0);
	expect_inner_edit("flow-control 1-2 31\n",
	    "flow-control 1-2 31\nintro-auth-required foo\n",
	    HSDESC_ERR_INTRO_AUTH_TYPE, "intro-auth-required", 0, 0, 0);
	expect_inner_edit("flow-control 1-2 31\n",
	    "flow-control 1-2 31\nsingle-onion-service\nunknown-kw x\n",
	    HSDESC_OK, NULL, 3, 0, 0);
	expect_inner_edit("flow-control 1-2 31\n", "flow-control 1-2 31\n"
	    "pow-params v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 100 "
	    "2030-01-01T00:00:00\n", HSDESC_OK, NULL, 3, 0, 0);
	expect_inner_edit("flow-control 1-2 31\n", "flow-control 1-2 31\n"
	    "pow-params v2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 100 "
	    "2030-01-01T00:00:00\n", HSDESC_ERR_POW_PARAMS, "pow-params",
	    0, 0, 0);
	expect_inner_edit("flow-control 1-2 31\n", "flow-control 1-2 31\n"
	    "pow-params v1 AAAA 100 2030-01-01T00:00:00\n",
	    HSDESC_ERR_POW_PARAMS, "pow-params", 0, 0, 0);
	expect_inner_edit("flow-control 1-2 31\n", "flow-control 1-2 31\n"
	    "pow-params v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 100 "
	    "2030-13-01T00:00:00\n", HSDESC_ERR_POW_PARAMS, "pow-params",
	    0, 0, 0);
	/* Intro points that tor drops silently: we drop them and say why. */
	expect_inner_edit("introduction-point ", "introduction-point !!",
	    HSDESC_OK, NULL, 2, 1, HSDESC_ERR_INTRO_LINK_SPECIFIERS);
	expect_inner_edit("introduction-point ", "introduction-point AQAA ",
	    HSDESC_OK, NULL, 2, 1, HSDESC_ERR_TOO_MANY_ARGS);
	expect_inner_edit("onion-key ntor ", "onion-key ntor AAAA",
	    HSDESC_OK, NULL, 2, 1, HSDESC_ERR_INTRO_ONION_KEY);
	expect_inner_edit("onion-key ntor ", "onion-key tap ",
	    HSDESC_OK, NULL, 2, 1, HSDESC_ERR_INTRO_ONION_KEY);
	expect_inner_edit("enc-key ntor ", "enc-key tap ",
	    HSDESC_OK, NULL, 2, 1, HSDESC_ERR_INTRO_ENC_KEY);
	expect_inner_edit("auth-key\n", "auth-key\nauth-key\n",
	    HSDESC_OK, NULL, 2, 1, HSDESC_ERR_OBJECT_MISSING);
	expect_inner_edit("enc-key-cert\n", "legacy-key\nenc-key-cert\n",
	    HSDESC_OK, NULL, 2, 1, HSDESC_ERR_INTRO_LEGACY_KEY);
	expect_inner_edit("enc-key-cert\n", "enc-key-cert\nenc-key-cert\n",
	    HSDESC_OK, NULL, 2, 1, HSDESC_ERR_FIELD_DUPLICATED);
	/* The whole layer must still tokenize, as in tor. */
	expect_inner_edit("-----END ED25519 CERT-----",
	    "-----END ED25519 CERTX-----", HSDESC_ERR_OBJECT_END, NULL,
	    0, 0, 0);
	expect_inner("\n", HSDESC_ERR_FIELD_MISSING, NULL, 0, 0, 0);
}

/* A cert by another key in an intro point, and an expired one. */
static void
test_intro_cert_damage(void)
{
	uint8_t cert[TORCERT_LEN];
	char b64[256], *inner, *edited, *start, *end, *old;
	struct fixture other;

	setup();
	fixture_init(&other, F.now, 1440);
	if (torcert_sign(cert, TORCERT_TYPE_AUTH_HS_IP_KEY,
	    torcert_exp_hours(F.now, 3600), IPS[0].auth_key, other.sign_sk,
	    other.sign_pk) != 0)
		abort();
	CHECK(base64_encode(b64, sizeof(b64), cert, sizeof(cert),
	    BASE64_PAD | BASE64_MULTILINE) > 0);
	inner = fixture_layer(&F, GOOD, GOOD_LEN, 2);
	start = strstr(inner, "auth-key\n-----BEGIN ED25519 CERT-----\n") + 38;
	end = strstr(start, "-----END");
	old = strndup(start, (size_t)(end - start));
	edited = replace(inner, old, b64);
	expect_inner(edited, HSDESC_OK, NULL, 2, 1,
	    HSDESC_ERR_INTRO_AUTH_KEY_CERT);
	free(edited);
	/* Expired: signed by the right key, expiring an hour ago. */
	if (torcert_sign(cert, TORCERT_TYPE_AUTH_HS_IP_KEY,
	    (uint32_t)(F.now / 3600 - 1), IPS[0].auth_key, F.sign_sk,
	    F.sign_pk) != 0)
		abort();
	CHECK(base64_encode(b64, sizeof(b64), cert, sizeof(cert),
	    BASE64_PAD | BASE64_MULTILINE) > 0);
	edited = replace(inner, old, b64);
	expect_inner(edited, HSDESC_OK, NULL, 2, 1,
	    HSDESC_ERR_INTRO_AUTH_KEY_CERT);
	free(edited);
	free(old);
	free(inner);
	fixture_free(&other);
}

/* 21 valid intro points: the client rejects the whole layer, so do we. */
static void
test_21_intro_points_refused(void)
{
	struct hsdesc_intro_point ips[20];
	struct hsdesc_encode_params p;
	char *desc, *inner, *first, *second, *more;
	size_t len, i;

	setup();
	for (i = 0; i < 20; i++)
		fixture_intro_point(&ips[i], F.now, 0);
	fixture_params(&p, &F, ips, 20);
	CHECK_INT_EQ(hsdesc_encode(&p, &desc, &len, NULL), HSDESC_OK);
	inner = fixture_layer(&F, desc, len, 2);
	first = strstr(inner, "introduction-point ");
	second = strstr(first + 1, "introduction-point ");
	if (asprintf(&more, "%.*s%s", (int)(second - inner), inner, first) < 0)
		abort();
	expect_inner(more, HSDESC_ERR_TOO_MANY_INTRO_POINTS,
	    "introduction-point", 0, 0, 0);
	expect_inner(inner, HSDESC_OK, NULL, 20, 0, 0);
	free(more);
	free(inner);
	free(desc);
}

static const struct hsdesc_kw any_kw[] = {
	{ "a", 0, 1000, 0, 0, 1000, OBJ_OPTIONAL, 0, 0 },
};

static enum hsdesc_error
tokenize(const char *s, struct hsdesc_tokens *toks)
{
	return hsdesc_tokenize(toks, s, strlen(s), any_kw, 1,
	    HSDESC_LAYER_INNER, NULL);
}

static void
test_tokenizer_limits(void)
{
	struct hsdesc_tokens toks;
	char *line;
	size_t i;

	/* 600 arguments: more than tor's 512. */
	line = malloc(2 + 600 * 2 + 1);
	strcpy(line, "a");
	for (i = 0; i < 600; i++)
		strcat(line, " x");
	CHECK_INT_EQ(tokenize(line, &toks), HSDESC_ERR_TOO_MANY_ARGS);
	free(line);
	/* BEGIN without a newline is no object (tor's rule). */
	CHECK_INT_EQ(tokenize("a\n-----BEGIN X-----", &toks), HSDESC_OK);
	CHECK_INT_EQ(toks.n, 2);
	hsdesc_tokens_clear(&toks);
	CHECK_INT_EQ(tokenize("a\n-----BEGIN X-----\nAAAA\n-----END X-----",
	    &toks), HSDESC_OK);
	CHECK_INT_EQ(toks.n, 1);
	if (toks.n == 1)
		CHECK_INT_EQ(toks.tok[0].obj_len, 3);
	hsdesc_tokens_clear(&toks);
	CHECK_INT_EQ(tokenize("a\n-----BEGIN X-----\nAAAA\n-----END Y-----",
	    &toks), HSDESC_ERR_OBJECT_END);
	CHECK_INT_EQ(tokenize("a\n-----BEGIN X-----\nAAAA\n", &toks),
	    HSDESC_ERR_OBJECT_END);
	CHECK_INT_EQ(tokenize("a\n-----BEGIN X-----\nAA!A\n-----END X-----",
	    &toks), HSDESC_ERR_OBJECT_BASE64);
	CHECK_INT_EQ(tokenize("a\n-----BEGIN -----\n-----END -----", &toks),
	    HSDESC_ERR_OBJECT_BEGIN);
	CHECK_INT_EQ(tokenize("   \n\n", &toks), HSDESC_ERR_FIELD_MISSING);
}

static void
test_link_specifier_syntax(void)
{
	static const uint8_t ok[] = { 2, 0, 6, 1, 2, 3, 4, 0, 80, 9, 1, 0xff };
	static const uint8_t bad_len[] = { 1, 0, 5, 1, 2, 3, 4, 0 };
	static const uint8_t trailing[] = { 1, 9, 0, 0 };
	static const uint8_t truncated[] = { 2, 9, 0 };
	static const uint8_t overrun[] = { 1, 9, 4, 1 };

	CHECK(hsdesc_lspec_valid(ok, sizeof(ok)));
	CHECK(hsdesc_lspec_valid((const uint8_t *)"\0", 1));
	CHECK(!hsdesc_lspec_valid(ok, 0));
	CHECK(!hsdesc_lspec_valid(bad_len, sizeof(bad_len)));
	CHECK(!hsdesc_lspec_valid(trailing, sizeof(trailing)));
	CHECK(!hsdesc_lspec_valid(truncated, sizeof(truncated)));
	CHECK(!hsdesc_lspec_valid(overrun, sizeof(overrun)));
}

static void
test_encoder_refuses_bad_input(void)
{
	struct hsdesc_encode_params p;
	struct hsdesc_intro_point ip;
	struct fixture other;
	char *text = NULL;
	size_t len;

	setup();
	ip = IPS[0];
	fixture_params(&p, &F, &ip, 1);
	p.flow_control = "1-2\n31";
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL),
	    HSDESC_ERR_INVALID_ARGUMENT);
	p.flow_control = NULL;
	ip.lspec[0] = 7;
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL),
	    HSDESC_ERR_INVALID_ARGUMENT);
	ip = IPS[0];
	/* A signing cert by another blinded key. */
	fixture_init(&other, F.now, 1440);
	p.signing_cert = other.signing_cert;
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL),
	    HSDESC_ERR_INVALID_ARGUMENT);
	/* Callbacks with the wrong key are caught. */
	p.signing_cert = F.signing_cert;
	p.cb_arg = &other;
	CHECK_INT_EQ(hsdesc_encode(&p, &text, &len, NULL), HSDESC_ERR_CERTIFY);
	CHECK(text == NULL);
	fixture_free(&other);
}

static void
teardown(void)
{
	free(GOOD);
	GOOD = NULL;
	fixture_free(&F);
}

TEST_MAIN(
	TEST_CASE(test_good_descriptor_decodes),
	TEST_CASE(test_truncation_everywhere),
	TEST_CASE(test_outer_structure),
	TEST_CASE(test_nul_and_size),
	TEST_CASE(test_signature_and_cert),
	TEST_CASE(test_wrong_cert_type_and_content),
	TEST_CASE(test_superencrypted_damage),
	TEST_CASE(test_middle_layer_damage),
	TEST_CASE(test_inner_layer_damage),
	TEST_CASE(test_intro_cert_damage),
	TEST_CASE(test_21_intro_points_refused),
	TEST_CASE(test_tokenizer_limits),
	TEST_CASE(test_link_specifier_syntax),
	TEST_CASE(test_encoder_refuses_bad_input),
	TEST_CASE(teardown)
)

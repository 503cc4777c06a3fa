/*
 * The superdescriptor encoder.  The text is laid out byte for byte as
 * tor's desc_encode_v3 lays out a descriptor it publishes itself
 * (hs_descriptor.c: encode_intro_point, get_inner_encrypted_layer_plaintext,
 * get_outer_encrypted_layer_plaintext, desc_encode_v3), so that the size
 * and structure of ours differ from a tor service's only by the number of
 * introduction points:
 *
 * - the middle layer is NUL-padded up to the next multiple of 10000 bytes
 *   (stem, hence Onionbalance, pads differently and stands out);
 * - 16 auth-client lines of random bytes, or the real ones padded up to a
 *   multiple of 16 with fakes and shuffled;
 * - a fresh ephemeral x25519 key per build;
 * - the middle layer's "-----END MESSAGE-----" has no final newline;
 * - pow-params is never written: a client's PoW challenge binds the
 *   frontend's blinded key, which no backend can verify.
 *
 * The secret keys stay with the caller (keyd): intro point certificates
 * and the body signature come from callbacks, and are verified here.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ed25519_expanded.h"
#include "encoding.h"
#include "hsdesc_private.h"

#define CERT_BEGIN	"-----BEGIN ED25519 CERT-----\n"
#define CERT_END	"-----END ED25519 CERT-----"
#define MSG_BEGIN	"-----BEGIN MESSAGE-----\n"
#define MSG_END		"-----END MESSAGE-----"
/* "signature " + 86 base64 chars + "\n" */
#define SIG_LINE_LEN	(10 + 86 + 1)

struct recert {
	uint8_t	auth_cert[TORCERT_LEN];
	uint8_t	enc_cert[TORCERT_LEN];
};

struct encoder {
	const struct hsdesc_encode_params *p;
	struct recert	*certs;
	size_t		 n;		/* intro points in this build */
};

static void
add_cert(struct hsdesc_buf *b, const uint8_t cert[TORCERT_LEN])
{
	hsdesc_buf_addstr(b, CERT_BEGIN);
	hsdesc_buf_base64(b, cert, TORCERT_LEN, BASE64_PAD | BASE64_MULTILINE);
	hsdesc_buf_addstr(b, CERT_END);
}

static void
add_key_line(struct hsdesc_buf *b, const char *keyword,
    const uint8_t key[32])
{
	hsdesc_buf_printf(b, "%s ntor ", keyword);
	hsdesc_buf_base64(b, key, 32, BASE64_PAD);
	hsdesc_buf_addstr(b, "\n");
}

static void
add_intro_point(struct hsdesc_buf *b, const struct hsdesc_intro_point *ip,
    const struct recert *rc)
{
	hsdesc_buf_addstr(b, "introduction-point ");
	hsdesc_buf_base64(b, ip->lspec, ip->lspec_len, BASE64_PAD);
	hsdesc_buf_addstr(b, "\n");
	add_key_line(b, "onion-key", ip->onion_key);
	hsdesc_buf_addstr(b, "auth-key\n");
	add_cert(b, rc->auth_cert);
	hsdesc_buf_addstr(b, "\n");
	add_key_line(b, "enc-key", ip->enc_key);
	hsdesc_buf_addstr(b, "enc-key-cert\n");
	add_cert(b, rc->enc_cert);
	hsdesc_buf_addstr(b, "\n");
}

static void
build_inner(struct hsdesc_buf *b, const struct encoder *e)
{
	size_t i;

	hsdesc_buf_addstr(b, "create2-formats 2\n");
	if (e->p->flow_control != NULL)
		hsdesc_buf_printf(b, "flow-control %s\n", e->p->flow_control);
	for (i = 0; i < e->n; i++)
		add_intro_point(b, &e->p->intro_points[i], &e->certs[i]);
}

static void
add_message(struct hsdesc_buf *b, const uint8_t *blob, size_t len)
{
	hsdesc_buf_addstr(b, MSG_BEGIN);
	hsdesc_buf_base64(b, blob, len, BASE64_PAD | BASE64_MULTILINE);
	hsdesc_buf_addstr(b, MSG_END);
}

static void
add_auth_client(struct hsdesc_buf *b, const struct hsdesc_auth_client *ac)
{
	hsdesc_buf_addstr(b, "auth-client ");
	hsdesc_buf_base64(b, ac->client_id, sizeof(ac->client_id), 0);
	hsdesc_buf_addstr(b, " ");
	hsdesc_buf_base64(b, ac->iv, sizeof(ac->iv), 0);
	hsdesc_buf_addstr(b, " ");
	hsdesc_buf_base64(b, ac->encrypted_cookie, sizeof(ac->encrypted_cookie),
	    0);
	hsdesc_buf_addstr(b, "\n");
}

static void
shuffle_clients(struct hsdesc_auth_client *ac, size_t n)
{
	struct hsdesc_auth_client tmp;
	size_t i, j;

	for (i = n; i > 1; i--) {
		j = randombytes_uniform((uint32_t)i);
		tmp = ac[i - 1];
		ac[i - 1] = ac[j];
		ac[j] = tmp;
	}
}

/*
 * The auth-client entries: one per authorized client, fakes up to the next
 * multiple of 16 (16 fakes without client auth), shuffled.
 */
static enum hsdesc_error
make_auth_clients(struct hsdesc_auth_client *ac, size_t total,
    const struct hsdesc_encode_params *p, const uint8_t esk[32],
    const uint8_t cookie[HSDESC_COOKIE_LEN])
{
	size_t i;

	for (i = 0; i < total; i++) {
		if (i >= p->n_clients)
			hsdesc_auth_client_fake(&ac[i]);
		else if (hsdesc_auth_client_build(&ac[i], p->subcredential, esk,
		    p->client_pubkeys[i], cookie) != 0)
			return HSDESC_ERR_INVALID_ARGUMENT;
	}
	shuffle_clients(ac, total);
	return HSDESC_OK;
}

static size_t
auth_client_total(size_t n_clients)
{
	size_t m = HSDESC_AUTH_CLIENT_MULTIPLE;

	return n_clients == 0 ? m : (n_clients + m - 1) / m * m;
}

static enum hsdesc_error
build_middle(struct hsdesc_buf *b, const struct hsdesc_encode_params *p,
    const uint8_t esk[32], const uint8_t cookie[HSDESC_COOKIE_LEN],
    const uint8_t *inner_blob, size_t inner_len)
{
	struct hsdesc_auth_client ac[HSDESC_MAX_AUTH_CLIENTS];
	uint8_t epk[32];
	size_t i, total = auth_client_total(p->n_clients);
	enum hsdesc_error err;

	if (crypto_scalarmult_base(epk, esk) != 0)
		return HSDESC_ERR_INVALID_ARGUMENT;
	if ((err = make_auth_clients(ac, total, p, esk, cookie)) != HSDESC_OK)
		return err;
	hsdesc_buf_addstr(b, "desc-auth-type x25519\n");
	hsdesc_buf_addstr(b, "desc-auth-ephemeral-key ");
	hsdesc_buf_base64(b, epk, sizeof(epk), BASE64_PAD);
	hsdesc_buf_addstr(b, "\n");
	for (i = 0; i < total; i++)
		add_auth_client(b, &ac[i]);
	hsdesc_buf_addstr(b, "encrypted\n");
	add_message(b, inner_blob, inner_len);
	sodium_memzero(ac, sizeof(ac));
	return HSDESC_OK;
}

static enum hsdesc_error
encrypt_buf(const struct hsdesc_layer_keys *k, const struct hsdesc_buf *b,
    size_t pad, uint8_t **blob, size_t *blob_len)
{
	if (b->failed)
		return HSDESC_ERR_NOMEM;
	return hsdesc_layer_encrypt(k, (const uint8_t *)b->s, b->len, pad, blob,
	    blob_len);
}

/* Inner layer, encrypted, then the middle layer around it, encrypted. */
static enum hsdesc_error
build_superencrypted(const struct encoder *e, uint8_t **blob, size_t *len)
{
	const struct hsdesc_encode_params *p = e->p;
	uint8_t cookie[HSDESC_COOKIE_LEN], esk[32], *inner_blob = NULL;
	struct hsdesc_layer_keys k = { p->blinded_key, NULL, p->subcredential,
	    p->revision_counter, HSDESC_CONST_ENC };
	struct hsdesc_buf inner = { 0 }, middle = { 0 };
	size_t inner_len = 0;
	enum hsdesc_error err;

	randombytes_buf(cookie, sizeof(cookie));
	randombytes_buf(esk, sizeof(esk));
	if (p->n_clients > 0)
		k.cookie = cookie;
	build_inner(&inner, e);
	err = encrypt_buf(&k, &inner, 0, &inner_blob, &inner_len);
	if (err == HSDESC_OK)
		err = build_middle(&middle, p, esk, cookie, inner_blob,
		    inner_len);
	if (err == HSDESC_OK) {
		k.cookie = NULL;
		k.constant = HSDESC_CONST_SUPERENC;
		err = encrypt_buf(&k, &middle, HSDESC_SUPERENC_PAD_MULTIPLE,
		    blob, len);
	}
	free(inner_blob);
	hsdesc_buf_free(&inner);
	hsdesc_buf_free(&middle);
	sodium_memzero(cookie, sizeof(cookie));
	sodium_memzero(esk, sizeof(esk));
	return err;
}

static enum hsdesc_error
build_body(const struct encoder *e, struct hsdesc_buf *b)
{
	const struct hsdesc_encode_params *p = e->p;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	enum hsdesc_error err;

	if ((err = build_superencrypted(e, &blob, &blob_len)) != HSDESC_OK)
		return err;
	hsdesc_buf_addstr(b, "hs-descriptor 3\n");
	hsdesc_buf_printf(b, "descriptor-lifetime %u\n",
	    (unsigned)(p->lifetime_min ? p->lifetime_min :
	    HSDESC_DEFAULT_LIFETIME_MIN));
	hsdesc_buf_addstr(b, "descriptor-signing-key-cert\n");
	add_cert(b, p->signing_cert);
	hsdesc_buf_printf(b, "\nrevision-counter %llu\n",
	    (unsigned long long)p->revision_counter);
	hsdesc_buf_addstr(b, "superencrypted\n");
	add_message(b, blob, blob_len);
	hsdesc_buf_addstr(b, "\n");
	free(blob);
	return b->failed ? HSDESC_ERR_NOMEM : HSDESC_OK;
}

static enum hsdesc_error
sign_body(const struct hsdesc_encode_params *p, struct hsdesc_buf *b)
{
	static const char prefix[] = HSDESC_SIG_PREFIX;
	uint8_t sig[64], *msg;
	int ok;

	if (p->sign(p->cb_arg, (const uint8_t *)b->s, b->len, sig) != 0)
		return HSDESC_ERR_SIGN;
	if ((msg = malloc(sizeof(prefix) - 1 + b->len)) == NULL)
		return HSDESC_ERR_NOMEM;
	memcpy(msg, prefix, sizeof(prefix) - 1);
	memcpy(msg + sizeof(prefix) - 1, b->s, b->len);
	ok = ed25519_verify(sig, msg, sizeof(prefix) - 1 + b->len,
	    p->signing_key) == 0;
	free(msg);
	if (!ok)
		return HSDESC_ERR_SIGN;
	hsdesc_buf_addstr(b, "signature ");
	hsdesc_buf_base64(b, sig, sizeof(sig), 0);
	hsdesc_buf_addstr(b, "\n");
	return b->failed ? HSDESC_ERR_NOMEM : HSDESC_OK;
}

static int
certify_one(const struct hsdesc_encode_params *p, uint8_t type,
    uint32_t exp_hours, const uint8_t key[32], uint8_t out[TORCERT_LEN])
{
	struct torcert cert;

	if (p->certify(p->cb_arg, type, exp_hours, key, out) != 0)
		return -1;
	/* now = 0: the expiry is the backend's and is checked by clients. */
	if (torcert_check(&cert, out, TORCERT_LEN, type, p->signing_key, 0) !=
	    TORCERT_OK)
		return -1;
	if (memcmp(cert.certified, key, 32) != 0 || cert.exp_hours != exp_hours)
		return -1;
	return 0;
}

/* Onionbalance's recertification: same keys and expiry, our signer. */
static enum hsdesc_error
recertify(struct encoder *e)
{
	const struct hsdesc_intro_point *ip;
	size_t i;

	for (i = 0; i < e->n; i++) {
		ip = &e->p->intro_points[i];
		if (certify_one(e->p, TORCERT_TYPE_AUTH_HS_IP_KEY,
		    ip->auth_key_exp_hours, ip->auth_key,
		    e->certs[i].auth_cert) != 0 ||
		    certify_one(e->p, TORCERT_TYPE_CROSS_HS_IP_KEYS,
		    ip->enc_key_cert_exp_hours, ip->enc_key_cert_key,
		    e->certs[i].enc_cert) != 0)
			return HSDESC_ERR_CERTIFY;
	}
	return HSDESC_OK;
}

/* flow-control arguments: "<FlowCtrl range> <sendme_inc>", no line breaks. */
static int
flow_control_valid(const char *fc)
{
	size_t i, len = strlen(fc), spaces = 0;

	if (len == 0 || len >= HSDESC_FLOW_CONTROL_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (fc[i] == ' ')
			spaces++;
		else if (!((fc[i] >= '0' && fc[i] <= '9') || fc[i] == '-' ||
		    fc[i] == ','))
			return 0;
	}
	return spaces == 1 && fc[0] != ' ' && fc[len - 1] != ' ';
}

static enum hsdesc_error
check_params(const struct hsdesc_encode_params *p)
{
	struct torcert cert;
	size_t i;

	if (p->blinded_key == NULL || p->subcredential == NULL ||
	    p->signing_key == NULL || p->signing_cert == NULL ||
	    p->certify == NULL || p->sign == NULL ||
	    (p->n_intro_points > 0 && p->intro_points == NULL) ||
	    (p->n_clients > 0 && p->client_pubkeys == NULL) ||
	    p->n_clients > HSDESC_MAX_AUTH_CLIENTS ||
	    p->lifetime_min > HSDESC_MAX_LIFETIME_MIN ||
	    (p->flow_control != NULL && !flow_control_valid(p->flow_control)))
		return HSDESC_ERR_INVALID_ARGUMENT;
	if (torcert_check(&cert, p->signing_cert, TORCERT_LEN,
	    TORCERT_TYPE_SIGNING_HS_DESC, p->blinded_key, 0) != TORCERT_OK ||
	    memcmp(cert.certified, p->signing_key, 32) != 0)
		return HSDESC_ERR_INVALID_ARGUMENT;
	for (i = 0; i < p->n_intro_points; i++)
		if (p->intro_points[i].lspec_len < 1 ||
		    p->intro_points[i].lspec_len > HSDESC_LSPEC_MAX ||
		    !hsdesc_lspec_valid(p->intro_points[i].lspec,
		    p->intro_points[i].lspec_len))
			return HSDESC_ERR_INVALID_ARGUMENT;
	if (p->n_intro_points == 0)
		return HSDESC_ERR_NO_INTRO_POINTS;
	return HSDESC_OK;
}

/* Build with e->n intro points, fewer while the result is too large. */
static enum hsdesc_error
build_fitting(struct encoder *e, size_t max_size, struct hsdesc_buf *b,
    struct hsdesc_encode_report *rep)
{
	enum hsdesc_error err;

	for (;;) {
		if ((err = build_body(e, b)) != HSDESC_OK)
			return err;
		if (b->len + SIG_LINE_LEN < max_size)
			return HSDESC_OK;
		hsdesc_buf_free(b);
		if (e->n == 1)
			return HSDESC_ERR_ENCODE_SIZE;
		e->n--;
		rep->n_dropped_size++;
	}
}

enum hsdesc_error
hsdesc_encode(const struct hsdesc_encode_params *p, char **out, size_t *outlen,
    struct hsdesc_encode_report *report)
{
	struct hsdesc_encode_report rep = { 0, 0, 0 };
	struct encoder e = { p, NULL, 0 };
	struct hsdesc_buf b = { 0 };
	enum hsdesc_error err;

	*out = NULL;
	if ((err = check_params(p)) != HSDESC_OK)
		return err;
	e.n = p->n_intro_points;
	if (e.n > HSDESC_MAX_INTRO_POINTS) {
		rep.n_dropped_count = e.n - HSDESC_MAX_INTRO_POINTS;
		e.n = HSDESC_MAX_INTRO_POINTS;
	}
	if ((e.certs = calloc(e.n, sizeof(*e.certs))) == NULL)
		return HSDESC_ERR_NOMEM;
	if ((err = recertify(&e)) == HSDESC_OK &&
	    (err = build_fitting(&e, p->max_size ? p->max_size :
	    HSDESC_DEFAULT_MAX_SIZE, &b, &rep)) == HSDESC_OK)
		err = sign_body(p, &b);
	free(e.certs);
	if (err != HSDESC_OK) {
		hsdesc_buf_free(&b);
		return err;
	}
	rep.n_intro_used = e.n;
	if (report != NULL)
		*report = rep;
	*out = b.s;
	*outlen = b.len;
	return HSDESC_OK;
}

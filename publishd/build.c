/*
 * Building one superdescriptor (one variant of a slot) through keyd:
 *
 *   BEGIN     a descriptor-signing key and its cert for the slot's period
 *             (once per period, again when keyd lost it or the cert nears
 *             its end); the reply is checked against the blinded key we
 *             computed ourselves
 *   points    the variant's planned intro points (plan.c, intro.c);
 *             their cert expiries clamped to the signing cert's, which
 *             keyd requires (a client would not accept them past it)
 *   REVISION  the counter for now
 *   encode    hsdesc_encode(), whose certify and sign callbacks are keyd's
 *             CERTIFY and SIGN
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "publishd.h"

struct build_ctx {
	struct keyd_client	*kc;
	uint32_t		 service;
	uint32_t		 variant;	/* for keyd's audit line */
	const uint8_t		*signing_key;
	enum keyd_error		 err;
};

static int
cb_certify(void *arg, uint8_t cert_type, uint32_t exp_hours,
    const uint8_t key[32], uint8_t cert[TORCERT_LEN])
{
	struct build_ctx *ctx = arg;

	ctx->err = kc_certify(ctx->kc, ctx->service, ctx->signing_key,
	    cert_type, exp_hours, key, cert);
	return ctx->err == KEYD_ERR_NONE ? 0 : -1;
}

static int
cb_sign(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	struct build_ctx *ctx = arg;

	ctx->err = kc_sign(ctx->kc, ctx->service, ctx->signing_key,
	    ctx->variant, msg, len, sig);
	return ctx->err == KEYD_ERR_NONE ? 0 : -1;
}

/*
 * keyd's BEGIN reply must be what anyone can compute from the public key:
 * a type 0x08 cert of the signing key, signed by our blinded key for the
 * slot's period.  Anything else is a broken keyd (inside is fatal).
 */
static void
check_begin(const struct pd_slot *slot, const struct keyd_begin_reply *r,
    time_t now, uint32_t *exp_hours)
{
	struct torcert cert;
	enum torcert_error err;

	if (r->tp_len_min != slot->params.length_min ||
	    memcmp(r->blinded_key, slot->blinded_key, 32) != 0)
		fatalx("keyd: BEGIN for another period or key");
	err = torcert_check(&cert, r->cert, TORCERT_LEN,
	    TORCERT_TYPE_SIGNING_HS_DESC, slot->blinded_key, now);
	if (err != TORCERT_OK || memcmp(cert.certified, r->signing_key, 32))
		fatalx("keyd: BEGIN cert: %s", err != TORCERT_OK ?
		    torcert_strerror(err) : "certifies another key");
	*exp_hours = cert.exp_hours;
}

static int
ensure_begun(struct keyd_client *kc, const struct pd *pd,
    const struct pd_service *sv, struct pd_slot *slot, time_t now,
    char *why, size_t whylen)
{
	struct keyd_begin_reply r;
	enum keyd_error err;
	time_t margin = 2 * pd_net_refresh_interval(&pd->net);

	if (slot->begun &&
	    (time_t)slot->signing_cert_exp_hours * 3600 - margin > now)
		return 0;
	err = kc_begin(kc, sv->index, slot->tp, &slot->params,
	    pd->net.hsdir_interval_min, &r);
	if (err != KEYD_ERR_NONE) {
		snprintf(why, whylen, "keyd BEGIN: %s", kc_strerror(err));
		return -1;
	}
	check_begin(slot, &r, now, &slot->signing_cert_exp_hours);
	memcpy(slot->signing_key, r.signing_key, 32);
	memcpy(slot->signing_cert, r.cert, TORCERT_LEN);
	slot->begun = 1;
	return 0;
}

/* keyd refuses certs that outlive the signing cert: clamp. */
static void
clamp_expiry(struct hsdesc_intro_point *ip, size_t n, uint32_t exp_hours)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ip[i].auth_key_exp_hours > exp_hours)
			ip[i].auth_key_exp_hours = exp_hours;
		if (ip[i].enc_key_cert_exp_hours > exp_hours)
			ip[i].enc_key_cert_exp_hours = exp_hours;
	}
}

/* After these, the next build begins the period afresh. */
static void
forget_period_if_lost(struct pd_slot *slot, enum keyd_error err)
{
	if (err == KEYD_ERR_SIGNING_KEY || err == KEYD_ERR_EXPIRED ||
	    err == KEYD_ERR_INTERNAL)
		slot->begun = 0;
}

static int
encode(struct build_ctx *ctx, const struct pd *pd,
    const struct pd_service *sv, struct pd_slot *slot, struct pd_variant *va,
    struct hsdesc_encode_params *p, char *why, size_t whylen)
{
	struct hsdesc_encode_report rep;
	enum hsdesc_error herr;
	char *out;
	size_t outlen;

	herr = hsdesc_encode(p, &out, &outlen, &rep);
	if (herr != HSDESC_OK) {
		snprintf(why, whylen, "encode: %s%s%s", hsdesc_strerror(herr),
		    ctx->err != KEYD_ERR_NONE ? ": keyd: " : "",
		    ctx->err != KEYD_ERR_NONE ? kc_strerror(ctx->err) : "");
		forget_period_if_lost(slot, ctx->err);
		return -1;
	}
	if (rep.n_dropped_size > 0)
		log_warnx("%s: %zu intro points dropped to stay below %zu "
		    "bytes", sv->address, rep.n_dropped_size,
		    pd->net.max_desc_size);
	free(va->desc);
	va->desc = out;
	va->desc_len = outlen;
	va->revision = p->revision_counter;
	va->n_intro = rep.n_intro_used;
	va->flow_control = p->flow_control != NULL;
	return 0;
}

/* The variant's picks as intro points, and the instance of each. */
static size_t
picked_points(const struct pd_service *sv, const struct pd_variant *va,
    struct hsdesc_intro_point *ip, uint32_t *from)
{
	size_t i;

	for (i = 0; i < va->npicks; i++) {
		ip[i] = sv->instances[va->picks[i].instance].intro[
		    va->picks[i].point];
		from[i] = va->picks[i].instance;
	}
	return va->npicks;
}

int
pd_build_variant(void *arg, struct pd *pd, struct pd_service *sv, int k,
    size_t v, time_t now, char *why, size_t whylen)
{
	struct pd_builder *bld = arg;
	struct pd_slot *slot = &sv->slot[k];
	struct pd_variant *va = &slot->variant[v];
	struct hsdesc_intro_point ip[HSDESC_MAX_INTRO_POINTS];
	uint32_t from[HSDESC_MAX_INTRO_POINTS];
	struct build_ctx ctx = { bld->kc, sv->index, (uint32_t)v, NULL,
	    KEYD_ERR_NONE };
	struct hsdesc_encode_params p;
	uint8_t subcred[32];
	enum keyd_error err;
	size_t n;

	if (ensure_begun(bld->kc, pd, sv, slot, now, why, whylen) == -1)
		return -1;
	if ((n = picked_points(sv, va, ip, from)) == 0) {
		snprintf(why, whylen, "no usable intro point");
		return -1;
	}
	clamp_expiry(ip, n, slot->signing_cert_exp_hours);
	memset(&p, 0, sizeof(p));
	if ((err = kc_revision(bld->kc, sv->index, slot->signing_key,
	    &p.revision_counter)) != KEYD_ERR_NONE) {
		snprintf(why, whylen, "keyd REVISION: %s", kc_strerror(err));
		forget_period_if_lost(slot, err);
		return -1;
	}
	hs_subcredential(subcred, sv->identity, slot->blinded_key);
	ctx.signing_key = slot->signing_key;
	p.blinded_key = slot->blinded_key;
	p.subcredential = subcred;
	p.signing_key = slot->signing_key;
	p.signing_cert = slot->signing_cert;
	p.lifetime_min = PD_DESC_LIFETIME_MIN;
	p.intro_points = ip;
	p.n_intro_points = n;
	p.flow_control = pd_choose_flow_control(sv, from, n,
	    pd->net.cc_sendme_inc);
	p.max_size = pd->net.max_desc_size;
	p.client_pubkeys = (const uint8_t (*)[X25519_KEY_LEN])sv->auth_clients;
	p.n_clients = sv->nauth_clients;
	p.certify = cb_certify;
	p.sign = cb_sign;
	p.cb_arg = &ctx;
	return encode(&ctx, pd, sv, slot, va, &p, why, whylen);
}

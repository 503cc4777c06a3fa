#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "encoding.h"
#include "hs_common.h"
#include "hsdesc_private.h"
#include "onion_address.h"
#include "test_hsdesc_fixture.h"
#include "torcert.h"

#define CHECKED(x) do {							\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: fixture: %s failed\n",		\
		    __FILE__, __LINE__, #x);				\
		abort();						\
	}								\
} while (0)

static struct ed25519_expanded *
secure_key(void)
{
	struct ed25519_expanded *k = sodium_malloc(sizeof(*k));

	CHECKED(k != NULL);
	return k;
}

void
fixture_init(struct fixture *f, time_t now, uint64_t tp_len)
{
	struct hs_period_params pp;

	CHECKED(sodium_init() >= 0);
	memset(f, 0, sizeof(*f));
	f->now = now;
	f->tp_len = tp_len;
	CHECKED(hs_period_params_init(&pp, tp_len == 1440 ? 3600 :
	    tp_len * 60 / 24, tp_len == 1440 ? 1440 : 0) == 0);
	f->tp = hs_time_period_num(&pp, now);
	f->id_sk = secure_key();
	f->blinded_sk = secure_key();
	f->sign_sk = secure_key();
	CHECKED(ed25519_keypair_generate(f->id_sk, f->id_pk) == 0);
	CHECKED(hs_blind_secret(f->blinded_sk, f->blinded_pk, f->id_sk,
	    f->id_pk, f->tp, tp_len) == 0);
	CHECKED(ed25519_keypair_generate(f->sign_sk, f->sign_pk) == 0);
	CHECKED(torcert_sign(f->signing_cert, TORCERT_TYPE_SIGNING_HS_DESC,
	    torcert_exp_hours(now, 54 * 3600), f->sign_pk, f->blinded_sk,
	    f->blinded_pk) == 0);
	hs_subcredential(f->subcred, f->id_pk, f->blinded_pk);
	onion_address_from_pubkey(f->address, f->id_pk);
}

void
fixture_free(struct fixture *f)
{
	sodium_free(f->id_sk);
	sodium_free(f->blinded_sk);
	sodium_free(f->sign_sk);
	memset(f, 0, sizeof(*f));
}

int
fixture_certify(void *arg, uint8_t type, uint32_t exp_hours,
    const uint8_t key[32], uint8_t out[TORCERT_LEN])
{
	const struct fixture *f = arg;

	return torcert_sign(out, type, exp_hours, key, f->sign_sk, f->sign_pk);
}

int
fixture_sign(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	const struct fixture *f = arg;
	struct bytes_ref parts[2] = { BYTES_STR(HSDESC_SIG_PREFIX), { msg, len } };

	return ed25519_sign_expanded(sig, parts, 2, f->sign_sk, f->sign_pk);
}

void
fixture_intro_point(struct hsdesc_intro_point *ip, time_t now, int ipv6)
{
	struct ed25519_expanded *sk = secure_key();
	uint8_t *p = ip->lspec;

	memset(ip, 0, sizeof(*ip));
	*p++ = ipv6 ? 4 : 3;
	*p++ = 0; *p++ = 6;
	randombytes_buf(p, 6); p += 6;
	*p++ = 2; *p++ = 20;
	randombytes_buf(p, 20); p += 20;
	*p++ = 3; *p++ = 32;
	randombytes_buf(p, 32); p += 32;
	if (ipv6) {
		*p++ = 1; *p++ = 18;
		randombytes_buf(p, 18); p += 18;
	}
	ip->lspec_len = (size_t)(p - ip->lspec);
	randombytes_buf(ip->onion_key, 32);
	randombytes_buf(ip->enc_key, 32);
	CHECKED(ed25519_keypair_generate(sk, ip->auth_key) == 0);
	CHECKED(ed25519_keypair_generate(sk, ip->enc_key_cert_key) == 0);
	sodium_free(sk);
	ip->auth_key_cert_type = TORCERT_TYPE_AUTH_HS_IP_KEY;
	ip->auth_key_exp_hours = torcert_exp_hours(now, 54 * 3600);
	ip->enc_key_cert_exp_hours = torcert_exp_hours(now, 54 * 3600) + 1;
}

void
fixture_params(struct hsdesc_encode_params *p, const struct fixture *f,
    const struct hsdesc_intro_point *ips, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->blinded_key = f->blinded_pk;
	p->subcredential = f->subcred;
	p->signing_key = f->sign_pk;
	p->signing_cert = f->signing_cert;
	p->revision_counter = 1234567;
	p->lifetime_min = HSDESC_DEFAULT_LIFETIME_MIN;
	p->intro_points = ips;
	p->n_intro_points = n;
	p->flow_control = "1-2 31";
	p->certify = fixture_certify;
	p->sign = fixture_sign;
	p->cb_arg = (void *)(uintptr_t)f;
}

char *
fixture_sign_body(const struct fixture *f, const char *body, size_t *len)
{
	struct hsdesc_buf b = { 0 };
	uint8_t sig[64];

	hsdesc_buf_addstr(&b, body);
	CHECKED(fixture_sign((void *)(uintptr_t)f, (const uint8_t *)b.s, b.len,
	    sig) == 0);
	hsdesc_buf_addstr(&b, "signature ");
	hsdesc_buf_base64(&b, sig, 64, 0);
	hsdesc_buf_addstr(&b, "\n");
	CHECKED(!b.failed);
	*len = b.len;
	return b.s;
}

static void
add_message(struct hsdesc_buf *b, const char *keyword, const uint8_t *blob,
    size_t len)
{
	hsdesc_buf_printf(b, "%s\n-----BEGIN MESSAGE-----\n", keyword);
	hsdesc_buf_base64(b, blob, len, BASE64_PAD | BASE64_MULTILINE);
	hsdesc_buf_addstr(b, "-----END MESSAGE-----");
}

char *
fixture_wrap_middle(const struct fixture *f, uint64_t rev, const char *middle,
    size_t *len)
{
	struct hsdesc_layer_keys k = { f->blinded_pk, NULL, f->subcred, rev,
	    HSDESC_CONST_SUPERENC };
	struct hsdesc_buf b = { 0 };
	uint8_t *blob;
	size_t blob_len;
	char *out;

	/* An empty middle becomes all padding (one NUL, padded). */
	CHECKED(hsdesc_layer_encrypt(&k, (const uint8_t *)middle,
	    strlen(middle) > 0 ? strlen(middle) : 1,
	    HSDESC_SUPERENC_PAD_MULTIPLE, &blob, &blob_len) == HSDESC_OK);
	hsdesc_buf_printf(&b, "hs-descriptor 3\ndescriptor-lifetime 180\n"
	    "descriptor-signing-key-cert\n-----BEGIN ED25519 CERT-----\n");
	hsdesc_buf_base64(&b, f->signing_cert, TORCERT_LEN,
	    BASE64_PAD | BASE64_MULTILINE);
	hsdesc_buf_printf(&b, "-----END ED25519 CERT-----\n"
	    "revision-counter %llu\n", (unsigned long long)rev);
	add_message(&b, "superencrypted", blob, blob_len);
	hsdesc_buf_addstr(&b, "\n");
	free(blob);
	CHECKED(!b.failed);
	out = fixture_sign_body(f, b.s, len);
	hsdesc_buf_free(&b);
	return out;
}

char *
fixture_wrap_inner(const struct fixture *f, uint64_t rev, const char *inner,
    size_t *len)
{
	struct hsdesc_layer_keys k = { f->blinded_pk, NULL, f->subcred, rev,
	    HSDESC_CONST_ENC };
	struct hsdesc_buf b = { 0 };
	uint8_t *blob, epk[32];
	size_t blob_len, i;
	char *out;

	CHECKED(hsdesc_layer_encrypt(&k, (const uint8_t *)inner, strlen(inner),
	    0, &blob, &blob_len) == HSDESC_OK);
	randombytes_buf(epk, sizeof(epk));
	hsdesc_buf_addstr(&b, "desc-auth-type x25519\ndesc-auth-ephemeral-key ");
	hsdesc_buf_base64(&b, epk, 32, BASE64_PAD);
	hsdesc_buf_addstr(&b, "\n");
	for (i = 0; i < 16; i++)
		hsdesc_buf_addstr(&b, "auth-client AAAAAAAAAAA "
		    "AAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAA\n");
	add_message(&b, "encrypted", blob, blob_len);
	free(blob);
	CHECKED(!b.failed);
	out = fixture_wrap_middle(f, rev, b.s, len);
	hsdesc_buf_free(&b);
	return out;
}

char *
fixture_layer(const struct fixture *f, const char *desc, size_t len, int which)
{
	struct hsdesc_layer_keys k = { f->blinded_pk, NULL, f->subcred, 0,
	    HSDESC_CONST_SUPERENC };
	struct hsdesc_outer outer;
	struct hsdesc_middle m;
	char *middle, *inner;
	size_t mlen, ilen;

	CHECKED(hsdesc_outer_parse(&outer, desc, len, 0, 0, NULL) == HSDESC_OK);
	k.revision_counter = outer.revision_counter;
	CHECKED(hsdesc_layer_decrypt(&k, outer.superencrypted,
	    outer.superencrypted_len, HSDESC_ERR_SUPERENC_MAC,
	    HSDESC_ERR_SUPERENC_EMPTY, &middle, &mlen) == HSDESC_OK);
	hsdesc_outer_clear(&outer);
	if (which == 1)
		return middle;
	CHECKED(hsdesc_middle_parse(&m, middle, mlen, NULL) == HSDESC_OK);
	free(middle);
	k.constant = HSDESC_CONST_ENC;
	CHECKED(hsdesc_layer_decrypt(&k, m.encrypted, m.encrypted_len,
	    HSDESC_ERR_NEED_CLIENT_AUTH, HSDESC_ERR_ENCRYPTED_EMPTY, &inner,
	    &ilen) == HSDESC_OK);
	hsdesc_middle_clear(&m);
	return inner;
}

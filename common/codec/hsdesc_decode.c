/*
 * Decoding and verification of v3 onion service descriptors, for
 * descriptors fetched from HSDirs: hostile input.  The keyword tables and
 * checks follow tor's hs_descriptor.c (hs_desc_v3_token_table and
 * friends, desc_decode_plaintext_v3, desc_decode_superencrypted_v3,
 * desc_decode_encrypted_v3, decode_introduction_point); where tor is
 * lenient by accident (a lifetime that overflows when multiplied by 60) we
 * are strict, and where tor silently drops an introduction point we drop it
 * too but record why.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ed25519_expanded.h"
#include "encoding.h"
#include "hs_common.h"
#include "hsdesc_private.h"

#define ARGS_ANY	INT_MAX
#define COUNT_ANY	INT_MAX
#define CERT_OBJECT	"ED25519 CERT"
#define MESSAGE_OBJECT	"MESSAGE"
#define SIG_B64_LEN	86

/* Outer layer (tor hs_desc_v3_token_table). */
enum { O_VERSION, O_LIFETIME, O_CERT, O_REVISION, O_SUPERENC, O_SIGNATURE };
static const struct hsdesc_kw outer_table[] = {
	[O_VERSION] = { "hs-descriptor", 1, 1, 0, 1, 1, OBJ_NONE, 1, 0 },
	[O_LIFETIME] = { "descriptor-lifetime", 1, 1, 0, 1, 1, OBJ_NONE, 0, 0 },
	[O_CERT] = { "descriptor-signing-key-cert", 0, 0, 0, 1, 1, OBJ_NEEDED, 0, 0 },
	[O_REVISION] = { "revision-counter", 1, 1, 0, 1, 1, OBJ_NONE, 0, 0 },
	[O_SUPERENC] = { "superencrypted", 0, 0, 0, 1, 1, OBJ_NEEDED, 0, 0 },
	[O_SIGNATURE] = { "signature", 1, 1, 0, 1, 1, OBJ_NONE, 0, 1 },
};
/* The same, for a body that is still to be signed: no signature line. */
static const struct hsdesc_kw outer_unsigned_table[] = {
	[O_VERSION] = { "hs-descriptor", 1, 1, 0, 1, 1, OBJ_NONE, 1, 0 },
	[O_LIFETIME] = { "descriptor-lifetime", 1, 1, 0, 1, 1, OBJ_NONE, 0, 0 },
	[O_CERT] = { "descriptor-signing-key-cert", 0, 0, 0, 1, 1, OBJ_NEEDED, 0, 0 },
	[O_REVISION] = { "revision-counter", 1, 1, 0, 1, 1, OBJ_NONE, 0, 0 },
	[O_SUPERENC] = { "superencrypted", 0, 0, 0, 1, 1, OBJ_NEEDED, 0, 1 },
	[O_SIGNATURE] = { "signature", 1, 1, 0, 0, 0, OBJ_NONE, 0, 0 },
};

/* Middle layer (tor hs_desc_superencrypted_v3_token_table). */
enum { M_AUTH_TYPE, M_EPHEMERAL, M_CLIENT, M_ENCRYPTED };
static const struct hsdesc_kw middle_table[] = {
	[M_AUTH_TYPE] = { "desc-auth-type", 1, ARGS_ANY, 0, 1, 1, OBJ_NONE, 1, 0 },
	[M_EPHEMERAL] = { "desc-auth-ephemeral-key", 1, ARGS_ANY, 0, 1, 1, OBJ_NONE, 0, 0 },
	[M_CLIENT] = { "auth-client", 3, ARGS_ANY, 0, 1, COUNT_ANY, OBJ_NONE, 0, 0 },
	[M_ENCRYPTED] = { "encrypted", 0, 0, 0, 1, 1, OBJ_NEEDED, 0, 0 },
};

/* Inner layer (tor hs_desc_encrypted_v3_token_table). */
enum { I_CREATE2, I_AUTH_REQUIRED, I_SINGLE_ONION, I_FLOW_CONTROL, I_POW };
static const struct hsdesc_kw inner_table[] = {
	[I_CREATE2] = { "create2-formats", 0, 1, 1, 1, 1, OBJ_NONE, 1, 0 },
	[I_AUTH_REQUIRED] = { "intro-auth-required", 1, ARGS_ANY, 0, 0, 1, OBJ_NONE, 0, 0 },
	[I_SINGLE_ONION] = { "single-onion-service", 0, ARGS_ANY, 0, 0, 1, OBJ_NONE, 0, 0 },
	[I_FLOW_CONTROL] = { "flow-control", 2, ARGS_ANY, 0, 0, 1, OBJ_NONE, 0, 0 },
	[I_POW] = { "pow-params", 4, ARGS_ANY, 0, 0, 1, OBJ_NONE, 0, 0 },
};

/* One introduction point (tor hs_desc_intro_point_v3_token_table). */
enum { P_INTRO, P_ONION_KEY, P_AUTH_KEY, P_ENC_KEY, P_ENC_CERT, P_LEGACY,
    P_LEGACY_CERT };
static const struct hsdesc_kw intro_table[] = {
	[P_INTRO] = { "introduction-point", 1, 1, 0, 1, 1, OBJ_NONE, 1, 0 },
	[P_ONION_KEY] = { "onion-key", 2, ARGS_ANY, 0, 1, COUNT_ANY, OBJ_OPTIONAL, 0, 0 },
	[P_AUTH_KEY] = { "auth-key", 0, 0, 0, 1, 1, OBJ_NEEDED, 0, 0 },
	[P_ENC_KEY] = { "enc-key", 2, ARGS_ANY, 0, 1, 1, OBJ_OPTIONAL, 0, 0 },
	[P_ENC_CERT] = { "enc-key-cert", 0, ARGS_ANY, 0, 1, 1, OBJ_OPTIONAL, 0, 0 },
	[P_LEGACY] = { "legacy-key", 0, ARGS_ANY, 0, 0, 1, OBJ_OPTIONAL, 0, 0 },
	[P_LEGACY_CERT] = { "legacy-key-cert", 0, ARGS_ANY, 0, 0, 1, OBJ_OPTIONAL, 0, 0 },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const error_text[HSDESC_ERR_MAX_] = {
	[HSDESC_OK] = "no error",
	[HSDESC_ERR_NOMEM] = "out of memory",
	[HSDESC_ERR_INVALID_ARGUMENT] = "invalid argument (caller bug)",
	[HSDESC_ERR_TOO_LARGE] = "descriptor reaches the size limit",
	[HSDESC_ERR_NUL] = "NUL byte in the text",
	[HSDESC_ERR_LINE_TOO_LONG] = "line too long",
	[HSDESC_ERR_TOO_FEW_ARGS] = "too few arguments",
	[HSDESC_ERR_TOO_MANY_ARGS] = "too many arguments",
	[HSDESC_ERR_OBJECT_BEGIN] = "malformed object begin line",
	[HSDESC_ERR_OBJECT_END] = "missing or mismatched object end line",
	[HSDESC_ERR_OBJECT_BASE64] = "bad base64 in object",
	[HSDESC_ERR_OBJECT_TOO_LARGE] = "object too large",
	[HSDESC_ERR_OBJECT_UNEXPECTED] = "unexpected object",
	[HSDESC_ERR_OBJECT_MISSING] = "missing object",
	[HSDESC_ERR_OBJECT_TYPE] = "wrong object type",
	[HSDESC_ERR_FIELD_MISSING] = "missing field",
	[HSDESC_ERR_FIELD_DUPLICATED] = "duplicated field",
	[HSDESC_ERR_FIELD_NOT_FIRST] = "field must come first",
	[HSDESC_ERR_FIELD_NOT_LAST] = "field must come last",
	[HSDESC_ERR_VERSION] = "unsupported descriptor version",
	[HSDESC_ERR_LIFETIME] = "invalid descriptor lifetime",
	[HSDESC_ERR_SIGNING_CERT] = "unparseable signing-key certificate",
	[HSDESC_ERR_SIGNING_CERT_TYPE] = "signing-key certificate has the wrong type",
	[HSDESC_ERR_SIGNING_CERT_NO_SIGNER] = "signing-key certificate lacks the signed-with-key extension",
	[HSDESC_ERR_BLINDED_KEY_MISMATCH] = "signing-key certificate is not signed by the expected blinded key",
	[HSDESC_ERR_SIGNING_CERT_SIGNATURE] = "signing-key certificate signature is invalid",
	[HSDESC_ERR_SIGNING_CERT_EXPIRED] = "signing-key certificate has expired",
	[HSDESC_ERR_REVISION_COUNTER] = "invalid revision counter",
	[HSDESC_ERR_SIGNATURE_FORMAT] = "malformed descriptor signature",
	[HSDESC_ERR_SIGNATURE] = "descriptor signature is invalid",
	[HSDESC_ERR_SIGNATURE_PRESENT] = "unsigned body carries a signature",
	[HSDESC_ERR_ENCRYPTED_TOO_SHORT] = "encrypted blob too short",
	[HSDESC_ERR_SUPERENC_MAC] = "superencrypted layer MAC mismatch",
	[HSDESC_ERR_SUPERENC_EMPTY] = "superencrypted layer is empty",
	[HSDESC_ERR_ENCRYPTED_EMPTY] = "encrypted layer is empty",
	[HSDESC_ERR_NEED_CLIENT_AUTH] = "descriptor needs client authorization",
	[HSDESC_ERR_CLIENT_NOT_AUTHORIZED] = "our client key is not authorized",
	[HSDESC_ERR_BAD_CLIENT_AUTH] = "client authorization cookie does not decrypt",
	[HSDESC_ERR_AUTH_TYPE] = "unknown desc-auth-type",
	[HSDESC_ERR_EPHEMERAL_KEY] = "bad desc-auth-ephemeral-key",
	[HSDESC_ERR_AUTH_CLIENT] = "malformed auth-client line",
	[HSDESC_ERR_TOO_MANY_AUTH_CLIENTS] = "too many auth-client lines",
	[HSDESC_ERR_CREATE2_FORMATS] = "create2-formats lacks ntor",
	[HSDESC_ERR_INTRO_AUTH_TYPE] = "intro-auth-required has no known type",
	[HSDESC_ERR_FLOW_CONTROL] = "invalid flow-control",
	[HSDESC_ERR_POW_PARAMS] = "invalid pow-params",
	[HSDESC_ERR_TOO_MANY_INTRO_POINTS] = "more than 20 introduction points",
	[HSDESC_ERR_INTRO_LINK_SPECIFIERS] = "invalid link specifiers",
	[HSDESC_ERR_INTRO_ONION_KEY] = "missing or invalid ntor onion-key",
	[HSDESC_ERR_INTRO_AUTH_KEY_CERT] = "invalid auth-key certificate",
	[HSDESC_ERR_INTRO_ENC_KEY] = "missing or invalid ntor enc-key",
	[HSDESC_ERR_INTRO_ENC_KEY_CERT] = "invalid enc-key-cert",
	[HSDESC_ERR_INTRO_LEGACY_KEY] = "obsolete legacy-key",
	[HSDESC_ERR_NO_INTRO_POINTS] = "no introduction point to publish",
	[HSDESC_ERR_CERTIFY] = "certify callback failed or returned a bad cert",
	[HSDESC_ERR_SIGN] = "sign callback failed or returned a bad signature",
	[HSDESC_ERR_ENCODE_SIZE] = "descriptor too large even with one introduction point",
};

const char *
hsdesc_strerror(enum hsdesc_error err)
{
	if ((unsigned)err >= HSDESC_ERR_MAX_ || error_text[err] == NULL)
		return "unknown error";
	return error_text[err];
}

const char *
hsdesc_layer_name(enum hsdesc_layer layer)
{
	switch (layer) {
	case HSDESC_LAYER_NONE:
		return "descriptor";
	case HSDESC_LAYER_OUTER:
		return "outer layer";
	case HSDESC_LAYER_MIDDLE:
		return "superencrypted layer";
	case HSDESC_LAYER_INNER:
		return "encrypted layer";
	case HSDESC_LAYER_INTRO_POINT:
		return "introduction point";
	}
	return "descriptor";
}

const char *
hsdesc_diag_format(char *buf, size_t bufsz, enum hsdesc_error err,
    const struct hsdesc_diag *diag)
{
	const char *layer = hsdesc_layer_name(diag ? diag->layer :
	    HSDESC_LAYER_NONE);

	if (diag != NULL && diag->keyword[0] != '\0')
		snprintf(buf, bufsz, "%s: %s: %s", layer, diag->keyword,
		    hsdesc_strerror(err));
	else
		snprintf(buf, bufsz, "%s: %s", layer, hsdesc_strerror(err));
	return buf;
}

static enum hsdesc_error
fail(struct hsdesc_diag *diag, enum hsdesc_layer layer, const char *kw,
    enum hsdesc_error err)
{
	hsdesc_diag_set(diag, layer, kw, kw != NULL ? strlen(kw) : 0);
	return err;
}

static int
object_is(const struct hsdesc_token *t, const char *type)
{
	return t->has_obj && hsdesc_str_eq(&t->obj_type, type);
}

/* --- outer layer --- */

static enum hsdesc_error
outer_header(struct hsdesc_outer *out, const struct hsdesc_tokens *toks,
    const struct hsdesc_kw *table, struct hsdesc_diag *diag)
{
	const struct hsdesc_token *t;
	uint64_t v;

	t = hsdesc_find(toks, &table[O_VERSION]);
	if (hsdesc_parse_u64(&t->args[0], UINT32_MAX, &v) != 0 || v != 3)
		return fail(diag, HSDESC_LAYER_OUTER, t->kw->name,
		    HSDESC_ERR_VERSION);
	out->version = (uint32_t)v;
	t = hsdesc_find(toks, &table[O_LIFETIME]);
	if (hsdesc_parse_u64(&t->args[0], HSDESC_MAX_LIFETIME_MIN, &v) != 0)
		return fail(diag, HSDESC_LAYER_OUTER, t->kw->name,
		    HSDESC_ERR_LIFETIME);
	out->lifetime_min = (uint32_t)v;
	t = hsdesc_find(toks, &table[O_REVISION]);
	if (hsdesc_parse_u64(&t->args[0], UINT64_MAX,
	    &out->revision_counter) != 0)
		return fail(diag, HSDESC_LAYER_OUTER, t->kw->name,
		    HSDESC_ERR_REVISION_COUNTER);
	return HSDESC_OK;
}

static enum hsdesc_error
outer_objects(struct hsdesc_outer *out, const struct hsdesc_tokens *toks,
    const struct hsdesc_kw *table, struct hsdesc_diag *diag)
{
	const struct hsdesc_token *t;

	t = hsdesc_find(toks, &table[O_CERT]);
	if (!object_is(t, CERT_OBJECT))
		return fail(diag, HSDESC_LAYER_OUTER, t->kw->name,
		    HSDESC_ERR_OBJECT_TYPE);
	if (t->obj_len > sizeof(out->signing_cert)) {
		if (diag != NULL)
			diag->cert_error = TORCERT_ERR_TRAILING;
		return fail(diag, HSDESC_LAYER_OUTER, t->kw->name,
		    HSDESC_ERR_SIGNING_CERT);
	}
	memcpy(out->signing_cert, t->obj, t->obj_len);
	out->signing_cert_len = t->obj_len;
	t = hsdesc_find(toks, &table[O_SUPERENC]);
	if (!object_is(t, MESSAGE_OBJECT))
		return fail(diag, HSDESC_LAYER_OUTER, t->kw->name,
		    HSDESC_ERR_OBJECT_TYPE);
	if (t->obj_len <= HSDESC_SALT_LEN + HSDESC_MAC_LEN)
		return fail(diag, HSDESC_LAYER_OUTER, t->kw->name,
		    HSDESC_ERR_ENCRYPTED_TOO_SHORT);
	if ((out->superencrypted = malloc(t->obj_len)) == NULL)
		return HSDESC_ERR_NOMEM;
	memcpy(out->superencrypted, t->obj, t->obj_len);
	out->superencrypted_len = t->obj_len;
	return HSDESC_OK;
}

/*
 * tor verifies the signature over everything before the first
 * "\nsignature " (plus the "\n").  The signature token is the last one,
 * so that is where it starts, provided it begins a line and is followed
 * by a space (an "opt signature" line would not be found by tor).
 */
static enum hsdesc_error
outer_signature(struct hsdesc_outer *out, const struct hsdesc_tokens *toks,
    const char *text, struct hsdesc_diag *diag)
{
	const struct hsdesc_token *t;
	size_t off;

	t = hsdesc_find(toks, &outer_table[O_SIGNATURE]);
	off = t->kw_offset;
	if (off == 0 || text[off - 1] != '\n' ||
	    text[off + strlen("signature")] != ' ' ||
	    t->args[0].len != SIG_B64_LEN ||
	    base64_decode(out->signature, sizeof(out->signature),
	    t->args[0].ptr, t->args[0].len, 0) != 64)
		return fail(diag, HSDESC_LAYER_OUTER, "signature",
		    HSDESC_ERR_SIGNATURE_FORMAT);
	out->signed_len = off;
	return HSDESC_OK;
}

static enum hsdesc_error
outer_unsigned_end(struct hsdesc_outer *out, const char *text, size_t len,
    struct hsdesc_diag *diag)
{
	static const char end[] = "\n-----END MESSAGE-----\n";

	if (len < sizeof(end) - 1 ||
	    memcmp(text + len - (sizeof(end) - 1), end, sizeof(end) - 1) != 0)
		return fail(diag, HSDESC_LAYER_OUTER, "superencrypted",
		    HSDESC_ERR_FIELD_NOT_LAST);
	out->signed_len = len;
	return HSDESC_OK;
}

enum hsdesc_error
hsdesc_outer_parse(struct hsdesc_outer *out, const char *text, size_t len,
    size_t max_size, int flags, struct hsdesc_diag *diag)
{
	const struct hsdesc_kw *table = (flags & HSDESC_OUTER_UNSIGNED) ?
	    outer_unsigned_table : outer_table;
	struct hsdesc_diag where;
	struct hsdesc_tokens toks;
	enum hsdesc_error err;

	memset(out, 0, sizeof(*out));
	memset(&where, 0, sizeof(where));
	if (max_size == 0)
		max_size = HSDESC_DEFAULT_MAX_SIZE;
	if (len >= max_size)
		return fail(diag, HSDESC_LAYER_OUTER, NULL, HSDESC_ERR_TOO_LARGE);
	err = hsdesc_tokenize(&toks, text, len, table, NELEM(outer_table),
	    HSDESC_LAYER_OUTER, &where);
	if (err == HSDESC_ERR_FIELD_DUPLICATED &&
	    (flags & HSDESC_OUTER_UNSIGNED) &&
	    strcmp(where.keyword, "signature") == 0)
		err = HSDESC_ERR_SIGNATURE_PRESENT;
	if (err != HSDESC_OK) {
		if (diag != NULL)
			*diag = where;
		return err;
	}
	if ((err = outer_header(out, &toks, table, diag)) == HSDESC_OK &&
	    (err = outer_objects(out, &toks, table, diag)) == HSDESC_OK) {
		if (flags & HSDESC_OUTER_UNSIGNED)
			err = outer_unsigned_end(out, text, len, diag);
		else
			err = outer_signature(out, &toks, text, diag);
	}
	hsdesc_tokens_clear(&toks);
	if (err != HSDESC_OK)
		hsdesc_outer_clear(out);
	return err;
}

void
hsdesc_outer_clear(struct hsdesc_outer *outer)
{
	free(outer->superencrypted);
	memset(outer, 0, sizeof(*outer));
}

/* --- middle layer --- */

static enum hsdesc_error
middle_auth_clients(struct hsdesc_middle *out, const struct hsdesc_tokens *toks,
    struct hsdesc_diag *diag)
{
	struct hsdesc_auth_client *ac;
	const struct hsdesc_token *t;
	size_t i, n = 0;

	for (i = 0; i < toks->n; i++)
		n += toks->tok[i].kw == &middle_table[M_CLIENT];
	if (n > HSDESC_MAX_AUTH_CLIENTS)
		return fail(diag, HSDESC_LAYER_MIDDLE, "auth-client",
		    HSDESC_ERR_TOO_MANY_AUTH_CLIENTS);
	if ((out->clients = calloc(n, sizeof(*out->clients))) == NULL)
		return HSDESC_ERR_NOMEM;
	for (i = 0; i < toks->n; i++) {
		t = &toks->tok[i];
		if (t->kw != &middle_table[M_CLIENT])
			continue;
		ac = &out->clients[out->n_clients++];
		if (base64_decode(ac->client_id, sizeof(ac->client_id),
		    t->args[0].ptr, t->args[0].len, 0) != HSDESC_CLIENT_ID_LEN ||
		    base64_decode(ac->iv, sizeof(ac->iv), t->args[1].ptr,
		    t->args[1].len, 0) != sizeof(ac->iv) ||
		    base64_decode(ac->encrypted_cookie,
		    sizeof(ac->encrypted_cookie), t->args[2].ptr, t->args[2].len,
		    0) != HSDESC_COOKIE_LEN)
			return fail(diag, HSDESC_LAYER_MIDDLE, "auth-client",
			    HSDESC_ERR_AUTH_CLIENT);
	}
	return HSDESC_OK;
}

static enum hsdesc_error
middle_fields(struct hsdesc_middle *out, const struct hsdesc_tokens *toks,
    struct hsdesc_diag *diag)
{
	const struct hsdesc_token *t;
	enum hsdesc_error err;

	t = hsdesc_find(toks, &middle_table[M_AUTH_TYPE]);
	if (!hsdesc_str_eq(&t->args[0], "x25519"))
		return fail(diag, HSDESC_LAYER_MIDDLE, t->kw->name,
		    HSDESC_ERR_AUTH_TYPE);
	t = hsdesc_find(toks, &middle_table[M_EPHEMERAL]);
	if (hsdesc_parse_key32(&t->args[0], out->ephemeral_key) != 0)
		return fail(diag, HSDESC_LAYER_MIDDLE, t->kw->name,
		    HSDESC_ERR_EPHEMERAL_KEY);
	if ((err = middle_auth_clients(out, toks, diag)) != HSDESC_OK)
		return err;
	t = hsdesc_find(toks, &middle_table[M_ENCRYPTED]);
	if (!object_is(t, MESSAGE_OBJECT))
		return fail(diag, HSDESC_LAYER_MIDDLE, t->kw->name,
		    HSDESC_ERR_OBJECT_TYPE);
	if (t->obj_len <= HSDESC_SALT_LEN + HSDESC_MAC_LEN)
		return fail(diag, HSDESC_LAYER_MIDDLE, t->kw->name,
		    HSDESC_ERR_ENCRYPTED_TOO_SHORT);
	if ((out->encrypted = malloc(t->obj_len)) == NULL)
		return HSDESC_ERR_NOMEM;
	memcpy(out->encrypted, t->obj, t->obj_len);
	out->encrypted_len = t->obj_len;
	return HSDESC_OK;
}

enum hsdesc_error
hsdesc_middle_parse(struct hsdesc_middle *out, const char *text, size_t len,
    struct hsdesc_diag *diag)
{
	struct hsdesc_tokens toks;
	enum hsdesc_error err;

	memset(out, 0, sizeof(*out));
	err = hsdesc_tokenize(&toks, text, len, middle_table,
	    NELEM(middle_table), HSDESC_LAYER_MIDDLE, diag);
	if (err != HSDESC_OK)
		return err;
	err = middle_fields(out, &toks, diag);
	hsdesc_tokens_clear(&toks);
	if (err != HSDESC_OK)
		hsdesc_middle_clear(out);
	return err;
}

void
hsdesc_middle_clear(struct hsdesc_middle *m)
{
	free(m->clients);
	free(m->encrypted);
	memset(m, 0, sizeof(*m));
}

/* --- inner layer --- */

/* tor decode_create2_list: space-separated numbers, unknown ones ignored. */
static int
create2_has_ntor(const struct hsdesc_str *list)
{
	struct hsdesc_str item;
	const char *p = list->ptr, *end = list->ptr + list->len, *e;
	uint64_t v;

	while (p < end) {
		for (e = p; e < end && *e != ' '; e++)
			;
		item.ptr = p;
		item.len = (size_t)(e - p);
		if (hsdesc_parse_u64(&item, UINT16_MAX, &v) == 0 && v == 2)
			return 1;
		p = e < end ? e + 1 : e;
	}
	return 0;
}

static enum hsdesc_error
inner_flow_control(struct hsdesc *desc, const struct hsdesc_token *t)
{
	uint64_t inc;
	int n;

	/*
	 * tor rejects a sendme_inc of 0 or one more than a factor 2 away
	 * from the client's consensus value; the consensus is not ours to
	 * know here, so only 0 and values that do not fit a byte go.
	 */
	if (hsdesc_parse_u64(&t->args[1], UINT8_MAX, &inc) != 0 || inc == 0)
		return HSDESC_ERR_FLOW_CONTROL;
	n = snprintf(desc->flow_control, sizeof(desc->flow_control),
	    "%.*s %.*s", (int)t->args[0].len, t->args[0].ptr,
	    (int)t->args[1].len, t->args[1].ptr);
	if (n < 0 || (size_t)n >= sizeof(desc->flow_control))
		return HSDESC_ERR_FLOW_CONTROL;
	desc->has_flow_control = 1;
	desc->flow_control_sendme_inc = (uint8_t)inc;
	return HSDESC_OK;
}

static int
parse_digits(const char *p, size_t n, int min, int max, int *out)
{
	struct hsdesc_str s = { p, n };
	uint64_t v;

	if (hsdesc_parse_u64(&s, (uint64_t)max, &v) != 0 || v < (uint64_t)min)
		return -1;
	*out = (int)v;
	return 0;
}

/* tor parse_iso_time_nospace: "YYYY-MM-DDTHH:MM:SS". */
static int
parse_iso_time_nospace(const struct hsdesc_str *s, time_t *out)
{
	const char *p = s->ptr;
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (s->len != 19 || p[4] != '-' || p[7] != '-' || p[10] != 'T' ||
	    p[13] != ':' || p[16] != ':')
		return -1;
	if (parse_digits(p, 4, 1970, 9999, &tm.tm_year) != 0 ||
	    parse_digits(p + 5, 2, 1, 12, &tm.tm_mon) != 0 ||
	    parse_digits(p + 8, 2, 1, 31, &tm.tm_mday) != 0 ||
	    parse_digits(p + 11, 2, 0, 23, &tm.tm_hour) != 0 ||
	    parse_digits(p + 14, 2, 0, 59, &tm.tm_min) != 0 ||
	    parse_digits(p + 17, 2, 0, 60, &tm.tm_sec) != 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* tor decode_pow_params; the values are kept only to be reported. */
static enum hsdesc_error
inner_pow_params(struct hsdesc *desc, const struct hsdesc_token *t)
{
	uint8_t seed[33];
	uint64_t effort;

	/* tor compares only strlen("v1") bytes of the type. */
	if (t->args[0].len < 2 || memcmp(t->args[0].ptr, "v1", 2) != 0)
		return HSDESC_ERR_POW_PARAMS;
	if (base64_decode(seed, sizeof(seed), t->args[1].ptr, t->args[1].len,
	    0) != 32)
		return HSDESC_ERR_POW_PARAMS;
	if (hsdesc_parse_u64(&t->args[2], UINT32_MAX, &effort) != 0)
		return HSDESC_ERR_POW_PARAMS;
	if (parse_iso_time_nospace(&t->args[3], &desc->pow_expiration) != 0)
		return HSDESC_ERR_POW_PARAMS;
	desc->pow_suggested_effort = (uint32_t)effort;
	desc->has_pow_params = 1;
	return HSDESC_OK;
}

/* tor decode_auth_type: at least one known type, compared by prefix. */
static int
auth_type_known(const struct hsdesc_str *type)
{
	return type->len >= 7 && memcmp(type->ptr, "ed25519", 7) == 0;
}

static enum hsdesc_error
inner_header(struct hsdesc *desc, const struct hsdesc_tokens *toks,
    struct hsdesc_diag *diag)
{
	const struct hsdesc_token *t;
	enum hsdesc_error err;

	t = hsdesc_find(toks, &inner_table[I_CREATE2]);
	if (!(desc->create2_ntor = create2_has_ntor(&t->args[0])))
		return fail(diag, HSDESC_LAYER_INNER, t->kw->name,
		    HSDESC_ERR_CREATE2_FORMATS);
	if ((t = hsdesc_find(toks, &inner_table[I_AUTH_REQUIRED])) != NULL) {
		if (!auth_type_known(&t->args[0]))
			return fail(diag, HSDESC_LAYER_INNER, t->kw->name,
			    HSDESC_ERR_INTRO_AUTH_TYPE);
		desc->intro_auth_required = 1;
	}
	desc->single_onion =
	    hsdesc_find(toks, &inner_table[I_SINGLE_ONION]) != NULL;
	if ((t = hsdesc_find(toks, &inner_table[I_FLOW_CONTROL])) != NULL &&
	    (err = inner_flow_control(desc, t)) != HSDESC_OK)
		return fail(diag, HSDESC_LAYER_INNER, t->kw->name, err);
	if ((t = hsdesc_find(toks, &inner_table[I_POW])) != NULL &&
	    (err = inner_pow_params(desc, t)) != HSDESC_OK)
		return fail(diag, HSDESC_LAYER_INNER, t->kw->name, err);
	return HSDESC_OK;
}

/*
 * trunnel link_specifier_list: n_spec, then n_spec x {type, len, body};
 * the known types must have their exact length, and nothing may follow.
 */
int
hsdesc_lspec_valid(const uint8_t *buf, size_t len)
{
	static const uint8_t known_len[] = { 6, 18, 20, 32 };
	size_t off = 1, n, i;

	if (len < 1)
		return 0;
	n = buf[0];
	for (i = 0; i < n; i++) {
		if (len - off < 2)
			return 0;
		if (buf[off] < sizeof(known_len) &&
		    buf[off + 1] != known_len[buf[off]])
			return 0;
		if (len - off - 2 < buf[off + 1])
			return 0;
		off += 2 + (size_t)buf[off + 1];
	}
	return off == len;
}

static enum hsdesc_error
intro_link_specifiers(struct hsdesc_intro_point *ip,
    const struct hsdesc_token *t)
{
	uint8_t buf[HSDESC_LSPEC_MAX + 3];
	ssize_t n;

	if (t->args[0].len > base64_encoded_len(HSDESC_LSPEC_MAX, BASE64_PAD))
		return HSDESC_ERR_INTRO_LINK_SPECIFIERS;
	n = base64_decode(buf, sizeof(buf), t->args[0].ptr, t->args[0].len, 0);
	if (n < 0 || (size_t)n > HSDESC_LSPEC_MAX ||
	    !hsdesc_lspec_valid(buf, (size_t)n))
		return HSDESC_ERR_INTRO_LINK_SPECIFIERS;
	memcpy(ip->lspec, buf, (size_t)n);
	ip->lspec_len = (size_t)n;
	return HSDESC_OK;
}

/* Several onion-key lines may appear; the (last) ntor one is used. */
static enum hsdesc_error
intro_onion_key(struct hsdesc_intro_point *ip, const struct hsdesc_tokens *toks)
{
	const struct hsdesc_token *t;
	size_t i;
	int found = 0;

	for (i = 0; i < toks->n; i++) {
		t = &toks->tok[i];
		if (t->kw != &intro_table[P_ONION_KEY] ||
		    !hsdesc_str_eq(&t->args[0], "ntor"))
			continue;
		if (hsdesc_parse_key32(&t->args[1], ip->onion_key) != 0)
			return HSDESC_ERR_INTRO_ONION_KEY;
		found = 1;
	}
	return found ? HSDESC_OK : HSDESC_ERR_INTRO_ONION_KEY;
}

static int
intro_cert(const struct hsdesc_token *t, uint8_t type,
    const uint8_t signing_key[32], time_t now, struct torcert *cert)
{
	if (!object_is(t, CERT_OBJECT))
		return -1;
	return torcert_check(cert, t->obj, t->obj_len, type, signing_key,
	    now) == TORCERT_OK ? 0 : -1;
}

static enum hsdesc_error
intro_keys(struct hsdesc_intro_point *ip, const struct hsdesc_tokens *toks,
    const uint8_t signing_key[32], time_t now)
{
	const struct hsdesc_token *t;
	struct torcert cert;

	t = hsdesc_find(toks, &intro_table[P_AUTH_KEY]);
	if (intro_cert(t, TORCERT_TYPE_AUTH_HS_IP_KEY, signing_key, now,
	    &cert) != 0)
		return HSDESC_ERR_INTRO_AUTH_KEY_CERT;
	memcpy(ip->auth_key, cert.certified, 32);
	ip->auth_key_exp_hours = cert.exp_hours;
	ip->auth_key_cert_type = cert.type;
	t = hsdesc_find(toks, &intro_table[P_ENC_KEY]);
	if (!hsdesc_str_eq(&t->args[0], "ntor") ||
	    hsdesc_parse_key32(&t->args[1], ip->enc_key) != 0)
		return HSDESC_ERR_INTRO_ENC_KEY;
	t = hsdesc_find(toks, &intro_table[P_ENC_CERT]);
	if (intro_cert(t, TORCERT_TYPE_CROSS_HS_IP_KEYS, signing_key, now,
	    &cert) != 0)
		return HSDESC_ERR_INTRO_ENC_KEY_CERT;
	memcpy(ip->enc_key_cert_key, cert.certified, 32);
	ip->enc_key_cert_exp_hours = cert.exp_hours;
	return HSDESC_OK;
}

static enum hsdesc_error
intro_point_parse(struct hsdesc_intro_point *ip, const char *text, size_t len,
    const uint8_t signing_key[32], time_t now)
{
	struct hsdesc_tokens toks;
	enum hsdesc_error err;

	memset(ip, 0, sizeof(*ip));
	err = hsdesc_tokenize(&toks, text, len, intro_table, NELEM(intro_table),
	    HSDESC_LAYER_INTRO_POINT, NULL);
	if (err != HSDESC_OK)
		return err;
	if (hsdesc_find(&toks, &intro_table[P_LEGACY]) != NULL)
		err = HSDESC_ERR_INTRO_LEGACY_KEY;
	if (err == HSDESC_OK)
		err = intro_link_specifiers(ip,
		    hsdesc_find(&toks, &intro_table[P_INTRO]));
	if (err == HSDESC_OK)
		err = intro_onion_key(ip, &toks);
	if (err == HSDESC_OK)
		err = intro_keys(ip, &toks, signing_key, now);
	hsdesc_tokens_clear(&toks);
	return err;
}

static void
record_drop(struct hsdesc *desc, enum hsdesc_error why)
{
	if (desc->n_intro_dropped < HSDESC_MAX_DROPS_RECORDED)
		desc->intro_drop_reasons[desc->n_intro_dropped] = why;
	desc->n_intro_dropped++;
}

/*
 * As tor: split at each "\nintroduction-point ", parse every chunk on its
 * own, drop the malformed ones, and reject the layer if more than 20 are
 * left.
 */
static enum hsdesc_error
inner_intro_points(struct hsdesc *desc, const char *text, size_t len,
    const uint8_t signing_key[32], time_t now, struct hsdesc_diag *diag)
{
	static const char sep[] = "\nintroduction-point ";
	const size_t seplen = sizeof(sep) - 1;
	struct hsdesc_intro_point ip;
	const char *p, *next, *end = text + len;
	enum hsdesc_error err;

	p = memmem(text, len, sep, seplen);
	while (p != NULL) {
		p++;				/* the chunk starts at the keyword */
		next = memmem(p, (size_t)(end - p), sep, seplen);
		err = intro_point_parse(&ip, p, (size_t)((next ? next : end) - p),
		    signing_key, now);
		if (err != HSDESC_OK)
			record_drop(desc, err);
		else if (desc->n_intro_points == HSDESC_MAX_INTRO_POINTS)
			return fail(diag, HSDESC_LAYER_INNER,
			    "introduction-point",
			    HSDESC_ERR_TOO_MANY_INTRO_POINTS);
		else
			desc->intro_points[desc->n_intro_points++] = ip;
		p = next;
	}
	sodium_memzero(&ip, sizeof(ip));
	return HSDESC_OK;
}

enum hsdesc_error
hsdesc_inner_parse(struct hsdesc *desc, const char *text, size_t len,
    const uint8_t signing_key[32], time_t now, struct hsdesc_diag *diag)
{
	struct hsdesc_tokens toks;
	enum hsdesc_error err;

	/* The whole layer must tokenize, intro points included (as in tor). */
	err = hsdesc_tokenize(&toks, text, len, inner_table, NELEM(inner_table),
	    HSDESC_LAYER_INNER, diag);
	if (err != HSDESC_OK)
		return err;
	err = inner_header(desc, &toks, diag);
	hsdesc_tokens_clear(&toks);
	if (err != HSDESC_OK)
		return err;
	return inner_intro_points(desc, text, len, signing_key, now, diag);
}

/* --- the whole descriptor --- */

static enum hsdesc_error
cert_error(enum torcert_error e)
{
	switch (e) {
	case TORCERT_ERR_TYPE:
		return HSDESC_ERR_SIGNING_CERT_TYPE;
	case TORCERT_ERR_NO_SIGNER:
		return HSDESC_ERR_SIGNING_CERT_NO_SIGNER;
	case TORCERT_ERR_SIGNER:
		return HSDESC_ERR_BLINDED_KEY_MISMATCH;
	case TORCERT_ERR_SIGNATURE:
		return HSDESC_ERR_SIGNING_CERT_SIGNATURE;
	case TORCERT_ERR_EXPIRED:
		return HSDESC_ERR_SIGNING_CERT_EXPIRED;
	case TORCERT_OK:
	case TORCERT_ERR_TRUNCATED:
	case TORCERT_ERR_TRAILING:
	case TORCERT_ERR_VERSION:
	case TORCERT_ERR_KEY_TYPE:
	case TORCERT_ERR_EXTENSION:
		break;
	}
	return HSDESC_ERR_SIGNING_CERT;
}

static enum hsdesc_error
verify_outer(struct hsdesc *desc, const struct hsdesc_outer *outer,
    const char *text, const uint8_t blinded[32], time_t now,
    struct hsdesc_diag *diag)
{
	static const char prefix[] = HSDESC_SIG_PREFIX;
	struct torcert cert;
	enum torcert_error cerr;
	uint8_t *msg;
	int ok;

	cerr = torcert_check(&cert, outer->signing_cert, outer->signing_cert_len,
	    TORCERT_TYPE_SIGNING_HS_DESC, blinded, now);
	if (cerr != TORCERT_OK) {
		if (diag != NULL)
			diag->cert_error = cerr;
		return fail(diag, HSDESC_LAYER_OUTER,
		    "descriptor-signing-key-cert", cert_error(cerr));
	}
	if ((msg = malloc(sizeof(prefix) - 1 + outer->signed_len)) == NULL)
		return HSDESC_ERR_NOMEM;
	memcpy(msg, prefix, sizeof(prefix) - 1);
	memcpy(msg + sizeof(prefix) - 1, text, outer->signed_len);
	ok = ed25519_verify(outer->signature, msg,
	    sizeof(prefix) - 1 + outer->signed_len, cert.certified) == 0;
	free(msg);
	if (!ok)
		return fail(diag, HSDESC_LAYER_OUTER, "signature",
		    HSDESC_ERR_SIGNATURE);
	desc->lifetime_min = outer->lifetime_min;
	desc->revision_counter = outer->revision_counter;
	desc->signing_cert_exp_hours = cert.exp_hours;
	memcpy(desc->signing_key, cert.certified, 32);
	memcpy(desc->blinded_key, blinded, 32);
	return HSDESC_OK;
}

/* Find our cookie among the auth-client lines; 0 if found. */
static int
find_cookie(const struct hsdesc_middle *m, const uint8_t subcred[32],
    const uint8_t *client_sk, uint8_t cookie[HSDESC_COOKIE_LEN])
{
	size_t i;

	for (i = 0; client_sk != NULL && i < m->n_clients; i++)
		if (hsdesc_auth_client_open(&m->clients[i], subcred, client_sk,
		    m->ephemeral_key, cookie) == 0)
			return 0;
	return -1;
}

static enum hsdesc_error
decrypt_inner(struct hsdesc *desc, const struct hsdesc_middle *m,
    const uint8_t subcred[32], const uint8_t *client_sk, char **plain,
    size_t *plain_len, struct hsdesc_diag *diag)
{
	struct hsdesc_layer_keys k = { desc->blinded_key, NULL, subcred,
	    desc->revision_counter, HSDESC_CONST_ENC };
	uint8_t cookie[HSDESC_COOKIE_LEN];
	enum hsdesc_error mac_err, err;

	if (find_cookie(m, subcred, client_sk, cookie) == 0) {
		k.cookie = cookie;
		desc->used_client_auth = 1;
		mac_err = HSDESC_ERR_BAD_CLIENT_AUTH;
	} else if (client_sk != NULL)
		mac_err = HSDESC_ERR_CLIENT_NOT_AUTHORIZED;
	else
		mac_err = HSDESC_ERR_NEED_CLIENT_AUTH;
	/*
	 * Without a cookie a MAC failure most likely means restricted
	 * discovery (tor says the same); it cannot be told apart from a
	 * corrupted layer.
	 */
	err = hsdesc_layer_decrypt(&k, m->encrypted, m->encrypted_len, mac_err,
	    HSDESC_ERR_ENCRYPTED_EMPTY, plain, plain_len);
	sodium_memzero(cookie, sizeof(cookie));
	if (err != HSDESC_OK)
		return fail(diag, HSDESC_LAYER_MIDDLE, "encrypted", err);
	return HSDESC_OK;
}

static enum hsdesc_error
decode_layers(struct hsdesc *desc, const struct hsdesc_outer *outer,
    const uint8_t subcred[32], const uint8_t *client_sk, time_t now,
    struct hsdesc_diag *diag)
{
	struct hsdesc_layer_keys k = { desc->blinded_key, NULL, subcred,
	    desc->revision_counter, HSDESC_CONST_SUPERENC };
	struct hsdesc_middle m;
	char *middle = NULL, *inner = NULL;
	size_t middle_len, inner_len = 0;
	enum hsdesc_error err;

	err = hsdesc_layer_decrypt(&k, outer->superencrypted,
	    outer->superencrypted_len, HSDESC_ERR_SUPERENC_MAC,
	    HSDESC_ERR_SUPERENC_EMPTY, &middle, &middle_len);
	if (err != HSDESC_OK)
		return fail(diag, HSDESC_LAYER_OUTER, "superencrypted", err);
	err = hsdesc_middle_parse(&m, middle, middle_len, diag);
	free(middle);
	if (err != HSDESC_OK)
		return err;
	desc->n_auth_clients = m.n_clients;
	err = decrypt_inner(desc, &m, subcred, client_sk, &inner, &inner_len,
	    diag);
	hsdesc_middle_clear(&m);
	if (err == HSDESC_OK)
		err = hsdesc_inner_parse(desc, inner, inner_len,
		    desc->signing_key, now, diag);
	free(inner);
	return err;
}

static enum hsdesc_error
decode_parsed(struct hsdesc_outer *outer, const char *text,
    const uint8_t identity[32], const uint8_t blinded[32], time_t now,
    const uint8_t *client_sk, struct hsdesc **out, struct hsdesc_diag *diag)
{
	struct hsdesc *desc;
	uint8_t subcred[32];
	enum hsdesc_error err;

	if ((desc = calloc(1, sizeof(*desc))) == NULL) {
		hsdesc_outer_clear(outer);
		return HSDESC_ERR_NOMEM;
	}
	hs_subcredential(subcred, identity, blinded);
	err = verify_outer(desc, outer, text, blinded, now, diag);
	if (err == HSDESC_OK)
		err = decode_layers(desc, outer, subcred, client_sk, now, diag);
	hsdesc_outer_clear(outer);
	sodium_memzero(subcred, sizeof(subcred));
	if (err != HSDESC_OK) {
		hsdesc_free(desc);
		return err;
	}
	*out = desc;
	return HSDESC_OK;
}

/* The outer layer parsed, then everything decode_parsed() checks. */
static enum hsdesc_error
decode_with_blinded(const char *text, size_t len,
    const uint8_t identity[32], const uint8_t blinded[32], time_t now,
    size_t max_size, const uint8_t *client_sk, struct hsdesc **out,
    struct hsdesc_diag *diag)
{
	struct hsdesc_outer outer;
	enum hsdesc_error err;

	if ((err = hsdesc_outer_parse(&outer, text, len, max_size, 0, diag)) !=
	    HSDESC_OK)
		return err;
	return decode_parsed(&outer, text, identity, blinded, now, client_sk,
	    out, diag);
}

static void
diag_init(struct hsdesc_diag *diag)
{
	if (diag != NULL)
		memset(diag, 0, sizeof(*diag));
}

/*
 * The blinded keys derived last: fetchd decodes the descriptors of the
 * same few instances in the same time periods over and over, and a
 * blinding is a scalar multiplication (about 10 % of a decode).  Public
 * keys only (identity, period, blinded key), so plain memory is fine;
 * only successful derivations are kept.  Processes are single-threaded.
 */
#define BLIND_CACHE_SIZE	8

static struct blind_cache_entry {
	uint8_t		 identity[32];
	uint64_t	 tp, tp_len_min;
	uint8_t		 blinded[32];
	int		 used;
} blind_cache[BLIND_CACHE_SIZE];
static size_t	blind_cache_next;

static int
blind_pubkey_cached(uint8_t out[32], const uint8_t identity[32], uint64_t tp,
    uint64_t tp_len_min)
{
	struct blind_cache_entry *e;
	size_t i;

	for (i = 0; i < BLIND_CACHE_SIZE; i++) {
		e = &blind_cache[i];
		if (e->used && e->tp == tp && e->tp_len_min == tp_len_min &&
		    memcmp(e->identity, identity, 32) == 0) {
			memcpy(out, e->blinded, 32);
			return 0;
		}
	}
	if (hs_blind_pubkey(out, identity, tp, tp_len_min) != 0)
		return -1;
	e = &blind_cache[blind_cache_next];
	blind_cache_next = (blind_cache_next + 1) % BLIND_CACHE_SIZE;
	memcpy(e->identity, identity, 32);
	e->tp = tp;
	e->tp_len_min = tp_len_min;
	memcpy(e->blinded, out, 32);
	e->used = 1;
	return 0;
}

enum hsdesc_error
hsdesc_decode(const char *text, size_t len, const uint8_t identity_pubkey[32],
    uint64_t tp, uint64_t tp_len_min, time_t now, size_t max_size,
    const uint8_t *client_x25519_sk, struct hsdesc **out,
    struct hsdesc_diag *diag)
{
	uint8_t blinded[32];

	diag_init(diag);
	*out = NULL;
	if (text == NULL || identity_pubkey == NULL)
		return HSDESC_ERR_INVALID_ARGUMENT;
	if (blind_pubkey_cached(blinded, identity_pubkey, tp, tp_len_min) != 0)
		return HSDESC_ERR_INVALID_ARGUMENT;
	return decode_with_blinded(text, len, identity_pubkey, blinded, now,
	    max_size, client_x25519_sk, out, diag);
}

/* The signer in the signing-key cert, read without trusting it. */
static enum hsdesc_error
claimed_blinded_key(const struct hsdesc_outer *outer, uint8_t signer[32],
    struct hsdesc_diag *diag)
{
	struct torcert cert;
	enum torcert_error cerr;

	cerr = torcert_parse(&cert, outer->signing_cert,
	    outer->signing_cert_len);
	if (cerr == TORCERT_OK && !cert.has_signer)
		cerr = TORCERT_ERR_NO_SIGNER;
	if (cerr != TORCERT_OK) {
		if (diag != NULL)
			diag->cert_error = cerr;
		return fail(diag, HSDESC_LAYER_OUTER,
		    "descriptor-signing-key-cert", cert_error(cerr));
	}
	memcpy(signer, cert.signer, 32);
	return HSDESC_OK;
}

enum hsdesc_error
hsdesc_decode_near(const char *text, size_t len,
    const uint8_t identity_pubkey[32], uint64_t tp, uint64_t tp_len_min,
    time_t now, size_t max_size, const uint8_t *client_x25519_sk,
    uint64_t *tp_out, struct hsdesc **out, struct hsdesc_diag *diag)
{
	const uint64_t candidates[3] = { tp, tp - 1, tp + 1 };
	struct hsdesc_outer outer;
	uint8_t signer[32], blinded[32];
	enum hsdesc_error err;
	size_t i;

	diag_init(diag);
	*out = NULL;
	if (text == NULL || identity_pubkey == NULL || tp == 0 ||
	    tp == UINT64_MAX)
		return HSDESC_ERR_INVALID_ARGUMENT;
	/* Parsed once: read for the claimed signer, then verified. */
	if ((err = hsdesc_outer_parse(&outer, text, len, max_size, 0, diag)) !=
	    HSDESC_OK)
		return err;
	if ((err = claimed_blinded_key(&outer, signer, diag)) != HSDESC_OK) {
		hsdesc_outer_clear(&outer);
		return err;
	}
	for (i = 0; i < 3; i++) {
		if (blind_pubkey_cached(blinded, identity_pubkey,
		    candidates[i], tp_len_min) != 0) {
			hsdesc_outer_clear(&outer);
			return HSDESC_ERR_INVALID_ARGUMENT;
		}
		if (memcmp(blinded, signer, 32) != 0)
			continue;
		if (tp_out != NULL)
			*tp_out = candidates[i];
		return decode_parsed(&outer, text, identity_pubkey, blinded,
		    now, client_x25519_sk, out, diag);
	}
	hsdesc_outer_clear(&outer);
	return fail(diag, HSDESC_LAYER_OUTER, "descriptor-signing-key-cert",
	    HSDESC_ERR_BLINDED_KEY_MISMATCH);
}

void
hsdesc_free(struct hsdesc *desc)
{
	if (desc == NULL)
		return;
	sodium_memzero(desc, sizeof(*desc));
	free(desc);
}

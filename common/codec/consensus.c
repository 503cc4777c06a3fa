/*
 * Microdesc-flavoured consensus parser (dir-spec 3.4.1; tor ns_parse.c
 * networkstatus_parse_vote_from_string, routerstatus_parse_entry_from_string).
 *
 * The document is read line by line in three parts, as tor splits it: the
 * header (up to the first "r " line), the router entries (each from an
 * "r " line to the next one or to the footer), and the footer.  Only the
 * fields an onion service needs are interpreted.  For those we apply
 * tor's rules, including the ones that make tor reject the whole document
 * (a malformed "pr" or "m" line, entries out of identity order, unsorted
 * params), so that we never place descriptors with a relay list tor would
 * not have.  Fields we do not use (addresses, ports, bandwidths) are not
 * checked; unknown keywords are ignored, as tor ignores them.
 *
 * The authority signatures are not verified (see consensus.h): tor did
 * that before it gave us the document.  We only require the footer and a
 * signature line to be present, which catches a truncated reply.
 *
 * Base64 is decoded strictly (canonical trailing bits) where tor's
 * decoder is lenient; authorities only ever write canonical base64.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus.h"
#include "consensus_private.h"
#include "encoding.h"
#include "log.h"

#define RELAYS_INITIAL_CAP	1024
/* sr_parse_srv: SR_SRV_VALUE_BASE64_LEN, of which tor decodes all but the '='. */
#define SRV_BASE64_LEN		44

/* tor's HS_DEFAULT_HSDIR_N_REPLICAS etc. (hs_common.h, hs_cache.h, ...) */
#define PARAM_N_REPLICAS_DEFAULT	2
#define PARAM_SPREAD_STORE_DEFAULT	4
#define PARAM_SPREAD_FETCH_DEFAULT	3
#define PARAM_MAX_DESC_SIZE_DEFAULT	50000
#define PARAM_SENDME_INC_DEFAULT	31	/* TLS_RECORD_MAX_CELLS */

/* The header fields we read; each may appear at most once. */
enum header_field {
	HDR_VOTE_STATUS,
	HDR_VALID_AFTER,
	HDR_FRESH_UNTIL,
	HDR_VALID_UNTIL,
	HDR_PARAMS,
	HDR_SRV_PREVIOUS,
	HDR_SRV_CURRENT,
	HDR_N_
};

static const char *const header_keywords[HDR_N_] = {
	[HDR_VOTE_STATUS] = "vote-status",
	[HDR_VALID_AFTER] = "valid-after",
	[HDR_FRESH_UNTIL] = "fresh-until",
	[HDR_VALID_UNTIL] = "valid-until",
	[HDR_PARAMS] = "params",
	[HDR_SRV_PREVIOUS] = "shared-rand-previous-value",
	[HDR_SRV_CURRENT] = "shared-rand-current-value",
};

/* Entry fields tor allows at most once (T1/T01 in rtrstatus_token_table). */
enum entry_field {
	ENT_S,
	ENT_V,
	ENT_PR,
	ENT_W,
	ENT_P,
	ENT_N_
};

static const char *const entry_keywords[ENT_N_] = {
	[ENT_S] = "s",
	[ENT_V] = "v",
	[ENT_PR] = "pr",
	[ENT_W] = "w",
	[ENT_P] = "p",
};

/* A consensus param we use: its place in consensus_params and tor's range. */
struct param_rule {
	const char	*name;
	size_t		 offset;
	int32_t		 dflt, min, max;
};

#define PARAM_RULE(name, field, dflt, min, max) \
	{ name, offsetof(struct consensus_params, field), dflt, min, max }

static const struct param_rule param_rules[] = {
	PARAM_RULE("hsdir_n_replicas", hsdir_n_replicas,
	    PARAM_N_REPLICAS_DEFAULT, 1, 16),
	PARAM_RULE("hsdir_spread_store", hsdir_spread_store,
	    PARAM_SPREAD_STORE_DEFAULT, 1, 128),
	PARAM_RULE("hsdir_spread_fetch", hsdir_spread_fetch,
	    PARAM_SPREAD_FETCH_DEFAULT, 1, 128),
	PARAM_RULE("HSV3MaxDescriptorSize", hsv3_max_descriptor_size,
	    PARAM_MAX_DESC_SIZE_DEFAULT, 1, INT32_MAX),
	PARAM_RULE("cc_sendme_inc", cc_sendme_inc,
	    PARAM_SENDME_INC_DEFAULT, 1, 255),
	/* 0 = absent; hs_period_params_init() knows the default. */
	PARAM_RULE("hsdir_interval", hsdir_interval, 0, 30, 14400),
};

#define N_PARAM_RULES	(sizeof(param_rules) / sizeof(param_rules[0]))

struct parser {
	struct line_reader	 rd;
	struct line		 line;		/* the current line */
	int			 have_line;	/* line is valid */
	struct consensus	*c;
	size_t			 relays_cap;
	struct consensus_diag	*diag;
};

/* One router entry while it is read. */
struct entry_fields {
	int		count[ENT_N_];
	struct text_ref	version;	/* "v" */
	struct text_ref	protocols;	/* "pr" */
};

static const char *const error_strings[CONSENSUS_ERR_MAX_] = {
	[CONSENSUS_OK] = "no error",
	[CONSENSUS_ERR_NOMEM] = "out of memory",
	[CONSENSUS_ERR_TOO_LARGE] = "document too large",
	[CONSENSUS_ERR_NUL] = "NUL byte in the document",
	[CONSENSUS_ERR_LINE_TOO_LONG] = "line too long",
	[CONSENSUS_ERR_VERSION] =
	    "not a \"network-status-version 3 microdesc\" document",
	[CONSENSUS_ERR_VOTE_STATUS] = "vote-status is not \"consensus\"",
	[CONSENSUS_ERR_FIELD_MISSING] = "required field missing",
	[CONSENSUS_ERR_FIELD_DUPLICATED] = "field appears more than once",
	[CONSENSUS_ERR_FIELD_ARGS] = "wrong number of arguments",
	[CONSENSUS_ERR_TIME] = "malformed time",
	[CONSENSUS_ERR_INTERVALS] =
	    "valid-after, fresh-until and valid-until are inconsistent",
	[CONSENSUS_ERR_PARAMS] = "malformed params element",
	[CONSENSUS_ERR_PARAMS_ORDER] = "params not sorted or duplicated",
	[CONSENSUS_ERR_ROUTER_ARGS] = "\"r\" line has too few arguments",
	[CONSENSUS_ERR_NICKNAME] = "invalid nickname",
	[CONSENSUS_ERR_IDENTITY] = "identity is not base64 of 20 bytes",
	[CONSENSUS_ERR_MD_DIGEST] =
	    "microdescriptor digest is not base64 of 32 bytes",
	[CONSENSUS_ERR_PROTOCOLS] = "malformed protocol list",
	[CONSENSUS_ERR_NOT_SORTED] = "entries not sorted by identity",
	[CONSENSUS_ERR_TOO_MANY_RELAYS] = "too many router entries",
	[CONSENSUS_ERR_NO_FOOTER] =
	    "no directory-footer or signature (truncated?)",
};

const char *
consensus_strerror(enum consensus_error err)
{
	if ((unsigned int)err >= CONSENSUS_ERR_MAX_ ||
	    error_strings[err] == NULL)
		return "unknown error";
	return error_strings[err];
}

/* Records where the parser stopped, for the caller's log line. */
static enum consensus_error
reject(struct parser *ps, enum consensus_error err)
{
	size_t n = 0;

	if (ps->diag == NULL)
		return err;
	ps->diag->line = ps->have_line ? ps->line.lineno : ps->rd.lineno;
	if (ps->have_line && ps->line.keyword.len < sizeof(ps->diag->keyword)) {
		n = ps->line.keyword.len;
		memcpy(ps->diag->keyword, ps->line.keyword.ptr, n);
	}
	ps->diag->keyword[n] = '\0';
	return err;
}

/* Makes the next line current: 1, 0 at the end of the text, -1 too long. */
static int
advance(struct parser *ps)
{
	int r;

	ps->have_line = 0;
	r = line_reader_next(&ps->rd, &ps->line, CONSENSUS_MAX_LINE);
	if (r > 0)
		ps->have_line = 1;
	return r;
}

static int
at_keyword(const struct parser *ps, const char *kw)
{
	return ps->have_line && text_eq(&ps->line.keyword, kw);
}

/* tor's tor_parse_long(s, 10, INT32_MIN, INT32_MAX): optional sign, digits. */
static int
parse_int32(const char *p, size_t len, int32_t *out)
{
	int64_t v = 0;
	int neg = 0;
	size_t k = 0;

	if (len > 0 && (p[0] == '-' || p[0] == '+')) {
		neg = p[0] == '-';
		k++;
	}
	if (k == len)
		return -1;
	for (; k < len; k++) {
		if (p[k] < '0' || p[k] > '9')
			return -1;
		v = v * 10 + (p[k] - '0');
		if (v > (int64_t)INT32_MAX + 1)
			return -1;
	}
	if (neg)
		v = -v;
	if (v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int32_t)v;
	return 0;
}

/* strcmp() order of two arguments. */
static int
text_cmp(const struct text_ref *a, const struct text_ref *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->ptr, b->ptr, n);

	if (r != 0)
		return r;
	return (a->len > b->len) - (a->len < b->len);
}

static void
params_set_defaults(struct consensus_params *p)
{
	size_t i;

	for (i = 0; i < N_PARAM_RULES; i++)
		*(int32_t *)(void *)((char *)p + param_rules[i].offset) =
		    param_rules[i].dflt;
}

/* networkstatus_get_param(): the value clamped into tor's range. */
static void
params_store(struct consensus_params *p, const struct text_ref *name,
    int32_t value)
{
	const struct param_rule *rule;
	size_t i;

	for (i = 0; i < N_PARAM_RULES; i++) {
		rule = &param_rules[i];
		if (!text_eq(name, rule->name))
			continue;
		if (value < rule->min) {
			log_info("consensus param %s=%d raised to %d",
			    rule->name, value, rule->min);
			value = rule->min;
		} else if (value > rule->max) {
			log_info("consensus param %s=%d capped to %d",
			    rule->name, value, rule->max);
			value = rule->max;
		}
		*(int32_t *)(void *)((char *)p + rule->offset) = value;
	}
}

/*
 * "params" (ns_parse.c): every element is name=int32, the elements are
 * in strcmp order and no name repeats; otherwise tor rejects the
 * consensus.  With names unique, the first value is the only one.
 */
static enum consensus_error
parse_params(struct consensus_params *p, struct text_ref rest)
{
	struct text_ref arg, prev = { NULL, 0 }, name, prev_name = { NULL, 0 };
	const char *eq;
	int32_t value;

	while (text_next_arg(&rest, &arg)) {
		eq = memchr(arg.ptr, '=', arg.len);
		if (eq == NULL)
			return CONSENSUS_ERR_PARAMS;
		name.ptr = arg.ptr;
		name.len = (size_t)(eq - arg.ptr);
		if (parse_int32(eq + 1, arg.len - name.len - 1, &value) < 0)
			return CONSENSUS_ERR_PARAMS;
		if (prev.ptr != NULL && (text_cmp(&prev, &arg) >= 0 ||
		    text_cmp(&prev_name, &name) == 0))
			return CONSENSUS_ERR_PARAMS_ORDER;
		params_store(p, &name, value);
		prev = arg;
		prev_name = name;
	}
	return CONSENSUS_OK;
}

/*
 * "shared-rand-*-value NumReveals Value" (sr_parse_srv).  The argument
 * count is checked by tor's tokenizer, which rejects the consensus; a bad
 * value only makes tor ignore that SRV (and fall back to the disaster
 * SRV), so it does here too.
 */
static enum consensus_error
parse_srv(struct text_ref rest, const char *kw, int *has, uint8_t *value)
{
	struct text_ref reveals, b64, val;
	uint64_t n = 0;
	size_t k;

	if (text_count_args(rest) != 2)
		return CONSENSUS_ERR_FIELD_ARGS;
	text_next_arg(&rest, &reveals);
	text_next_arg(&rest, &b64);
	for (k = 0; k < reveals.len; k++) {
		if (reveals.ptr[k] < '0' || reveals.ptr[k] > '9' ||
		    n > (UINT64_MAX - 9) / 10)
			goto bad;
		n = n * 10 + (uint64_t)(reveals.ptr[k] - '0');
	}
	if (b64.len != SRV_BASE64_LEN)
		goto bad;
	val.ptr = b64.ptr;
	val.len = SRV_BASE64_LEN - 1;
	if (text_base64_exact(&val, value, HS_SRV_LEN) < 0)
		goto bad;
	*has = 1;
	return CONSENSUS_OK;
bad:
	log_warnx("consensus: unparseable %s; treating it as absent", kw);
	return CONSENSUS_OK;
}

static enum consensus_error
parse_header_field(struct parser *ps, enum header_field f)
{
	struct consensus *c = ps->c;
	struct text_ref rest = ps->line.rest, arg;

	switch (f) {
	case HDR_VOTE_STATUS:
		if (!text_next_arg(&rest, &arg) || !text_eq(&arg, "consensus"))
			return CONSENSUS_ERR_VOTE_STATUS;
		return CONSENSUS_OK;
	case HDR_VALID_AFTER:
		return consensus_parse_time(&rest, &c->valid_after) < 0 ?
		    CONSENSUS_ERR_TIME : CONSENSUS_OK;
	case HDR_FRESH_UNTIL:
		return consensus_parse_time(&rest, &c->fresh_until) < 0 ?
		    CONSENSUS_ERR_TIME : CONSENSUS_OK;
	case HDR_VALID_UNTIL:
		return consensus_parse_time(&rest, &c->valid_until) < 0 ?
		    CONSENSUS_ERR_TIME : CONSENSUS_OK;
	case HDR_PARAMS:
		return parse_params(&c->params, rest);
	case HDR_SRV_PREVIOUS:
		return parse_srv(rest, header_keywords[f], &c->has_srv_previous,
		    c->srv_previous);
	case HDR_SRV_CURRENT:
		return parse_srv(rest, header_keywords[f], &c->has_srv_current,
		    c->srv_current);
	case HDR_N_:
		break;
	}
	return CONSENSUS_ERR_FIELD_MISSING;
}

/* "network-status-version 3 microdesc", first (T1_START). */
static enum consensus_error
parse_version_line(struct parser *ps)
{
	struct text_ref rest = ps->line.rest, version, flavor;

	if (!at_keyword(ps, "network-status-version") ||
	    !text_next_arg(&rest, &version) || !text_eq(&version, "3") ||
	    !text_next_arg(&rest, &flavor) || !text_eq(&flavor, "microdesc"))
		return CONSENSUS_ERR_VERSION;
	return CONSENSUS_OK;
}

/* Everything up to the first "r " line (or the footer). */
static enum consensus_error
parse_header(struct parser *ps)
{
	int seen[HDR_N_] = { 0 };
	enum consensus_error err;
	int r, f;

	if (advance(ps) < 0)
		return CONSENSUS_ERR_LINE_TOO_LONG;
	if ((err = parse_version_line(ps)) != CONSENSUS_OK)
		return err;
	while ((r = advance(ps)) > 0 && !at_keyword(ps, "r") &&
	    !at_keyword(ps, "directory-footer")) {
		for (f = 0; f < HDR_N_; f++)
			if (text_eq(&ps->line.keyword, header_keywords[f]))
				break;
		if (f == HDR_N_)
			continue;
		if (seen[f]++)
			return CONSENSUS_ERR_FIELD_DUPLICATED;
		if ((err = parse_header_field(ps, f)) != CONSENSUS_OK)
			return err;
	}
	if (r < 0)
		return CONSENSUS_ERR_LINE_TOO_LONG;
	for (f = HDR_VOTE_STATUS; f <= HDR_VALID_UNTIL; f++)
		if (!seen[f])
			return CONSENSUS_ERR_FIELD_MISSING;
	return CONSENSUS_OK;
}

/* tor's is_legal_nickname: 1..19 letters and digits. */
static int
copy_nickname(char out[NICKNAME_MAX_LEN + 1], const struct text_ref *s)
{
	size_t k;
	char ch;

	if (s->len == 0 || s->len > NICKNAME_MAX_LEN)
		return -1;
	for (k = 0; k < s->len; k++) {
		ch = s->ptr[k];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z')))
			return -1;
	}
	memcpy(out, s->ptr, s->len);
	out[s->len] = '\0';
	return 0;
}

/*
 * "r nickname identity published-date published-time IP ORPort DirPort"
 * (7 arguments in the microdesc flavour; more are allowed).
 */
static enum consensus_error
parse_r_line(struct parser *ps, struct consensus_relay *relay)
{
	struct text_ref rest = ps->line.rest, nick, id;

	if (text_count_args(rest) < 7)
		return CONSENSUS_ERR_ROUTER_ARGS;
	text_next_arg(&rest, &nick);
	text_next_arg(&rest, &id);
	if (copy_nickname(relay->nickname, &nick) < 0)
		return CONSENSUS_ERR_NICKNAME;
	if (text_base64_exact(&id, relay->rsa_id, RSA_ID_LEN) < 0)
		return CONSENSUS_ERR_IDENTITY;
	return CONSENSUS_OK;
}

/* The "s" flags: only HSDir matters here. */
static void
parse_flags(struct consensus_relay *relay, struct text_ref rest)
{
	struct text_ref flag;

	while (text_next_arg(&rest, &flag))
		if (text_eq(&flag, "HSDir"))
			relay->is_hsdir = 1;
}

/* One line inside a router entry. */
static enum consensus_error
parse_entry_line(struct parser *ps, struct consensus_relay *relay,
    struct entry_fields *ef)
{
	int f;

	if (at_keyword(ps, "m")) {
		/* tor uses the first "m" line of a microdesc consensus entry. */
		if (relay->has_md_digest)
			return CONSENSUS_OK;
		if (text_base64_exact(&ps->line.rest, relay->md_digest,
		    MD_DIGEST_LEN) < 0)
			return CONSENSUS_ERR_MD_DIGEST;
		relay->has_md_digest = 1;
		return CONSENSUS_OK;
	}
	for (f = 0; f < ENT_N_; f++)
		if (text_eq(&ps->line.keyword, entry_keywords[f]))
			break;
	if (f == ENT_N_)
		return CONSENSUS_OK;
	if (ef->count[f]++)
		return CONSENSUS_ERR_FIELD_DUPLICATED;
	if (f == ENT_S)
		parse_flags(relay, ps->line.rest);
	else if (f == ENT_V)
		ef->version = ps->line.rest;
	else if (f == ENT_PR)
		ef->protocols = ps->line.rest;
	return CONSENSUS_OK;
}

/*
 * tor's summarize_protover_flags() for supports_v3_hsdir: the "pr" list
 * has HSDir=2, and a "Tor" version older than 0.3.0.8 overrides it.
 */
static enum consensus_error
derive_hsdir_support(struct consensus_relay *relay,
    const struct entry_fields *ef)
{
	int r;

	r = protover_list_supports(ef->protocols.ptr, ef->protocols.len,
	    "HSDir", 2);
	if (r < 0)
		return CONSENSUS_ERR_PROTOCOLS;
	if (r > 0 && ef->count[ENT_V] > 0 && !tor_version_at_least(
	    ef->version.ptr, ef->version.len, 0, 3, 0, 8))
		r = 0;
	relay->supports_hsdir_v3 = r > 0;
	return CONSENSUS_OK;
}

static enum consensus_error
append_relay(struct parser *ps, const struct consensus_relay *relay)
{
	struct consensus *c = ps->c;
	struct consensus_relay *grown;
	size_t cap;

	if (c->n_relays > 0 && memcmp(c->relays[c->n_relays - 1].rsa_id,
	    relay->rsa_id, RSA_ID_LEN) >= 0)
		return CONSENSUS_ERR_NOT_SORTED;
	if (c->n_relays == CONSENSUS_MAX_RELAYS)
		return CONSENSUS_ERR_TOO_MANY_RELAYS;
	if (c->n_relays == ps->relays_cap) {
		cap = ps->relays_cap == 0 ? RELAYS_INITIAL_CAP :
		    ps->relays_cap * 2;
		if (cap > CONSENSUS_MAX_RELAYS)
			cap = CONSENSUS_MAX_RELAYS;
		grown = reallocarray(c->relays, cap, sizeof(*grown));
		if (grown == NULL)
			return CONSENSUS_ERR_NOMEM;
		c->relays = grown;
		ps->relays_cap = cap;
	}
	c->relays[c->n_relays++] = *relay;
	return CONSENSUS_OK;
}

/*
 * One entry, from its "r" line (current on entry) to the line after it
 * (current on return): the next "r", the footer, or the end.
 */
static enum consensus_error
parse_entry(struct parser *ps)
{
	struct consensus_relay relay;
	struct entry_fields ef;
	enum consensus_error err;
	int r;

	memset(&relay, 0, sizeof(relay));
	memset(&ef, 0, sizeof(ef));
	if ((err = parse_r_line(ps, &relay)) != CONSENSUS_OK)
		return err;
	while ((r = advance(ps)) > 0 && !at_keyword(ps, "r") &&
	    !at_keyword(ps, "directory-footer") &&
	    !at_keyword(ps, "directory-signature"))
		if ((err = parse_entry_line(ps, &relay, &ef)) != CONSENSUS_OK)
			return err;
	if (r < 0)
		return CONSENSUS_ERR_LINE_TOO_LONG;
	if (ef.count[ENT_S] == 0 || ef.count[ENT_PR] == 0)
		return CONSENSUS_ERR_FIELD_MISSING;
	if ((err = derive_hsdir_support(&relay, &ef)) != CONSENSUS_OK)
		return err;
	return append_relay(ps, &relay);
}

/* "directory-footer", then at least one "directory-signature". */
static enum consensus_error
parse_footer(struct parser *ps)
{
	int r;

	if (!at_keyword(ps, "directory-footer"))
		return CONSENSUS_ERR_NO_FOOTER;
	while ((r = advance(ps)) > 0)
		if (at_keyword(ps, "directory-signature"))
			return CONSENSUS_OK;
	return r < 0 ? CONSENSUS_ERR_LINE_TOO_LONG : CONSENSUS_ERR_NO_FOOTER;
}

/*
 * The voting interval is fresh-until - valid-after (tor's
 * get_voting_interval with a live consensus); hs_period_params_init()
 * refuses an absurd one.
 */
static enum consensus_error
derive_period(struct consensus *c)
{
	if (c->fresh_until <= c->valid_after ||
	    c->valid_until < c->fresh_until)
		return CONSENSUS_ERR_INTERVALS;
	if (hs_period_params_init(&c->period,
	    (uint64_t)(c->fresh_until - c->valid_after),
	    (uint64_t)c->params.hsdir_interval) < 0)
		return CONSENSUS_ERR_INTERVALS;
	return CONSENSUS_OK;
}

static enum consensus_error
parse_document(struct parser *ps)
{
	enum consensus_error err;

	if ((err = parse_header(ps)) != CONSENSUS_OK)
		return err;
	while (at_keyword(ps, "r"))
		if ((err = parse_entry(ps)) != CONSENSUS_OK)
			return err;
	if ((err = parse_footer(ps)) != CONSENSUS_OK)
		return err;
	ps->have_line = 0;
	return derive_period(ps->c);
}

enum consensus_error
consensus_parse(const char *text, size_t len, struct consensus **out,
    struct consensus_diag *diag)
{
	struct parser ps;
	enum consensus_error err;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.diag = diag;
	if (diag != NULL)
		memset(diag, 0, sizeof(*diag));
	if (len > CONSENSUS_MAX_SIZE)
		return reject(&ps, CONSENSUS_ERR_TOO_LARGE);
	if (memchr(text, '\0', len) != NULL)
		return reject(&ps, CONSENSUS_ERR_NUL);
	if ((ps.c = calloc(1, sizeof(*ps.c))) == NULL)
		return reject(&ps, CONSENSUS_ERR_NOMEM);
	params_set_defaults(&ps.c->params);
	line_reader_init(&ps.rd, text, len);
	if ((err = parse_document(&ps)) != CONSENSUS_OK) {
		consensus_free(ps.c);
		return reject(&ps, err);
	}
	*out = ps.c;
	return CONSENSUS_OK;
}

void
consensus_free(struct consensus *c)
{
	if (c == NULL)
		return;
	free(c->relays);
	free(c);
}

int
consensus_is_reasonably_live(const struct consensus *c, time_t now)
{
	return now >= c->valid_after - CONSENSUS_REASONABLY_LIVE_SLACK &&
	    now <= c->valid_until + CONSENSUS_REASONABLY_LIVE_SLACK;
}

static int
relay_id_cmp(const void *key, const void *elem)
{
	const struct consensus_relay *r = elem;

	return memcmp(key, r->rsa_id, RSA_ID_LEN);
}

const struct consensus_relay *
consensus_find_relay(const struct consensus *c,
    const uint8_t rsa_id[RSA_ID_LEN])
{
	if (c->n_relays == 0)
		return NULL;
	return bsearch(rsa_id, c->relays, c->n_relays, sizeof(c->relays[0]),
	    relay_id_cmp);
}

/*
 * The descriptor tokenizer: keyword lines with optional armored objects,
 * following the rules of tor's parsecommon.c (tokenize_string,
 * get_next_token) so that we accept and reject what tor does.  Counts,
 * first/last positions, argument counts and object presence are checked
 * against a per-layer keyword table, as tor's token_rule_t tables do.
 *
 * Tokens point into the caller's text; only decoded object bodies are
 * allocated.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "encoding.h"
#include "hsdesc_private.h"

#define BEGIN_PREFIX	"-----BEGIN "
#define END_PREFIX	"-----END "
#define DASHES		"-----"

struct cursor {
	const char	*p;
	const char	*end;
};

/* tor's eat_whitespace_eos: blanks, line ends and '#' comments. */
static const char *
skip_space_and_comments(const char *p, const char *end)
{
	while (p < end) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		else if (*p == '#') {
			while (p < end && *p != '\n')
				p++;
		} else
			break;
	}
	return p;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static const char *
skip_blanks(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	return p;
}

static const char *
find_blank(const char *p, const char *end)
{
	while (p < end && !is_blank(*p) && *p != '\n' && *p != '#')
		p++;
	return p;
}

static const char *
find_eol(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? nl : end;
}

int
hsdesc_str_eq(const struct hsdesc_str *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->ptr, lit, n) == 0;
}

static const struct hsdesc_kw *
lookup_keyword(const struct hsdesc_str *word, const struct hsdesc_kw *table,
    size_t ntable)
{
	size_t i;

	for (i = 0; i < ntable; i++)
		if (hsdesc_str_eq(word, table[i].name))
			return &table[i];
	return NULL;
}

/* Split [p, eol) on blanks; count all, store the first few. */
static enum hsdesc_error
split_args(struct hsdesc_token *t, const char *p, const char *eol)
{
	const char *e;

	t->n_args = 0;
	p = skip_blanks(p, eol);
	while (p < eol) {
		if (t->n_args == HSDESC_MAX_TOKEN_ARGS)
			return HSDESC_ERR_TOO_MANY_ARGS;
		for (e = p; e < eol && !is_blank(*e); e++)
			;
		if (t->n_args < HSDESC_TOK_MAX_ARGS) {
			t->args[t->n_args].ptr = p;
			t->args[t->n_args].len = (size_t)(e - p);
		}
		t->n_args++;
		p = skip_blanks(e, eol);
	}
	return HSDESC_OK;
}

static enum hsdesc_error
parse_keyword_line(struct hsdesc_token *t, struct cursor *c,
    const char *start, const struct hsdesc_kw *table, size_t ntable)
{
	const char *eol, *next, *p = start;

	eol = find_eol(p, c->end);
	if (eol - p > HSDESC_MAX_LINE)
		return HSDESC_ERR_LINE_TOO_LONG;
	next = find_blank(p, eol);
	if (next - p == 3 && memcmp(p, "opt", 3) == 0) {
		p = skip_blanks(next, eol);
		next = find_blank(p, eol);
	}
	t->kw_offset = (size_t)(p - start);	/* fixed up by the caller */
	t->keyword.ptr = p;
	t->keyword.len = (size_t)(next - p);
	t->kw = lookup_keyword(&t->keyword, table, ntable);
	if (t->kw != NULL && t->kw->concat_args) {
		p = skip_blanks(next, eol);
		t->args[0].ptr = p;
		t->args[0].len = (size_t)(eol - p);
		t->n_args = 1;
	} else if (split_args(t, next, eol) != HSDESC_OK)
		return HSDESC_ERR_TOO_MANY_ARGS;
	if (t->kw != NULL && t->n_args < t->kw->min_args)
		return HSDESC_ERR_TOO_FEW_ARGS;
	if (t->kw != NULL && t->n_args > t->kw->max_args)
		return HSDESC_ERR_TOO_MANY_ARGS;
	c->p = eol;
	return HSDESC_OK;
}

static enum hsdesc_error
decode_object_body(struct hsdesc_token *t, const char *body, size_t len)
{
	size_t max = base64_decoded_maxlen(len) + 1;
	ssize_t n;

	if (len > HSDESC_MAX_OBJECT)
		return HSDESC_ERR_OBJECT_TOO_LARGE;
	if ((t->obj = malloc(max)) == NULL)
		return HSDESC_ERR_NOMEM;
	/* Descriptor text is public: the table-driven decoder. */
	n = base64_decode(t->obj, max, body, len,
	    BASE64_MULTILINE | BASE64_PUBLIC);
	if (n < 0)
		return HSDESC_ERR_OBJECT_BASE64;
	t->obj_len = (size_t)n;
	t->has_obj = 1;
	return HSDESC_OK;
}

/*
 * An object starts on the next non-blank line with "-----BEGIN " and a
 * line of more than 16 chars ending in "-----"; its end line must be
 * exactly "-----END <same type>-----".  As in tor, a "-----BEGIN " without
 * a following newline is no object at all.
 */
static enum hsdesc_error
parse_object(struct hsdesc_token *t, struct cursor *c)
{
	const char *s, *eol, *end_line, *end_eol;
	size_t tlen;

	s = skip_space_and_comments(c->p, c->end);
	eol = memchr(s, '\n', (size_t)(c->end - s));
	if (eol == NULL || eol - s < 11 ||
	    memcmp(s, BEGIN_PREFIX, strlen(BEGIN_PREFIX)) != 0)
		return HSDESC_OK;
	if (eol - s <= 16 || memcmp(eol - 5, DASHES, 5) != 0 ||
	    eol - s > HSDESC_MAX_OBJECT)
		return HSDESC_ERR_OBJECT_BEGIN;
	tlen = (size_t)(eol - s) - 16;
	t->obj_type.ptr = s + 11;
	t->obj_type.len = tlen;
	s = eol + 1;
	end_line = memmem(s, (size_t)(c->end - s), END_PREFIX,
	    strlen(END_PREFIX));
	if (end_line == NULL)
		return HSDESC_ERR_OBJECT_END;
	end_eol = find_eol(end_line, c->end);
	if ((size_t)(end_eol - end_line) != 9 + tlen + 5 ||
	    memcmp(end_line + 9, t->obj_type.ptr, tlen) != 0 ||
	    memcmp(end_eol - 5, DASHES, 5) != 0)
		return HSDESC_ERR_OBJECT_END;
	c->p = end_eol;
	return decode_object_body(t, s, (size_t)(end_line - s));
}

static enum hsdesc_error
check_object_rule(const struct hsdesc_token *t)
{
	if (t->kw == NULL)
		return HSDESC_OK;
	if (t->kw->obj == OBJ_NONE && t->has_obj)
		return HSDESC_ERR_OBJECT_UNEXPECTED;
	if (t->kw->obj == OBJ_NEEDED && !t->has_obj)
		return HSDESC_ERR_OBJECT_MISSING;
	return HSDESC_OK;
}

static enum hsdesc_error
tokens_grow(struct hsdesc_tokens *toks)
{
	struct hsdesc_token *n;
	size_t cap;

	if (toks->n < toks->cap)
		return HSDESC_OK;
	cap = toks->cap ? toks->cap * 2 : 16;
	if ((n = reallocarray(toks->tok, cap, sizeof(*n))) == NULL)
		return HSDESC_ERR_NOMEM;
	toks->tok = n;
	toks->cap = cap;
	return HSDESC_OK;
}

static enum hsdesc_error
next_token(struct hsdesc_tokens *toks, struct cursor *c, const char *text,
    const struct hsdesc_kw *table, size_t ntable, struct hsdesc_diag *diag,
    enum hsdesc_layer layer)
{
	struct hsdesc_token *t;
	const char *start;
	enum hsdesc_error err;

	if ((err = tokens_grow(toks)) != HSDESC_OK)
		return err;
	t = &toks->tok[toks->n++];
	memset(t, 0, sizeof(*t));
	start = c->p;
	if ((err = parse_keyword_line(t, c, start, table, ntable)) == HSDESC_OK) {
		t->kw_offset += (size_t)(start - text);
		if ((err = parse_object(t, c)) == HSDESC_OK)
			err = check_object_rule(t);
	}
	if (err != HSDESC_OK)
		hsdesc_diag_set(diag, layer, t->keyword.ptr, t->keyword.len);
	return err;
}

/* Counts first (a missing or extra field), then positions. */
static enum hsdesc_error
check_counts(const struct hsdesc_tokens *toks, const struct hsdesc_kw *table,
    size_t ntable, struct hsdesc_diag *diag, enum hsdesc_layer layer)
{
	enum hsdesc_error err = HSDESC_OK;
	size_t i, j;
	int count;

	for (i = 0; i < ntable && err == HSDESC_OK; i++) {
		for (count = 0, j = 0; j < toks->n; j++)
			count += toks->tok[j].kw == &table[i];
		if (count < table[i].min_count)
			err = HSDESC_ERR_FIELD_MISSING;
		else if (count > table[i].max_count)
			err = HSDESC_ERR_FIELD_DUPLICATED;
		if (err != HSDESC_OK)
			hsdesc_diag_set(diag, layer, table[i].name,
			    strlen(table[i].name));
	}
	for (i = 0; i < ntable && err == HSDESC_OK; i++) {
		if (table[i].at_start && toks->tok[0].kw != &table[i])
			err = HSDESC_ERR_FIELD_NOT_FIRST;
		else if (table[i].at_end &&
		    toks->tok[toks->n - 1].kw != &table[i])
			err = HSDESC_ERR_FIELD_NOT_LAST;
		if (err != HSDESC_OK)
			hsdesc_diag_set(diag, layer, table[i].name,
			    strlen(table[i].name));
	}
	return err;
}

enum hsdesc_error
hsdesc_tokenize(struct hsdesc_tokens *out, const char *text, size_t len,
    const struct hsdesc_kw *table, size_t ntable, enum hsdesc_layer layer,
    struct hsdesc_diag *diag)
{
	struct cursor c = { text, text + len };
	enum hsdesc_error err = HSDESC_OK;

	memset(out, 0, sizeof(*out));
	if (memchr(text, '\0', len) != NULL) {
		hsdesc_diag_set(diag, layer, NULL, 0);
		return HSDESC_ERR_NUL;
	}
	c.p = skip_space_and_comments(c.p, c.end);
	while (err == HSDESC_OK && c.p < c.end) {
		err = next_token(out, &c, text, table, ntable, diag, layer);
		c.p = skip_space_and_comments(c.p, c.end);
	}
	if (err == HSDESC_OK && out->n == 0) {
		hsdesc_diag_set(diag, layer, NULL, 0);
		err = HSDESC_ERR_FIELD_MISSING;
	}
	if (err == HSDESC_OK)
		err = check_counts(out, table, ntable, diag, layer);
	if (err != HSDESC_OK)
		hsdesc_tokens_clear(out);
	return err;
}

void
hsdesc_tokens_clear(struct hsdesc_tokens *toks)
{
	size_t i;

	for (i = 0; i < toks->n; i++) {
		if (toks->tok[i].obj != NULL) {
			sodium_memzero(toks->tok[i].obj, toks->tok[i].obj_len);
			free(toks->tok[i].obj);
		}
	}
	free(toks->tok);
	memset(toks, 0, sizeof(*toks));
}

const struct hsdesc_token *
hsdesc_find(const struct hsdesc_tokens *toks, const struct hsdesc_kw *kw)
{
	size_t i;

	for (i = 0; i < toks->n; i++)
		if (toks->tok[i].kw == kw)
			return &toks->tok[i];
	return NULL;
}

int
hsdesc_parse_u64(const struct hsdesc_str *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s->len == 0 || s->len > 20)
		return -1;
	for (i = 0; i < s->len; i++) {
		unsigned d = (unsigned char)s->ptr[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
hsdesc_parse_key32(const struct hsdesc_str *s, uint8_t out[32])
{
	uint8_t buf[33];

	if (s->len != 43 && s->len != 44)
		return -1;
	if (base64_decode(buf, sizeof(buf), s->ptr, s->len, 0) != 32)
		return -1;
	memcpy(out, buf, 32);
	return 0;
}

void
hsdesc_diag_set(struct hsdesc_diag *diag, enum hsdesc_layer layer,
    const char *keyword, size_t kwlen)
{
	if (diag == NULL)
		return;
	diag->layer = layer;
	if (kwlen >= sizeof(diag->keyword))
		kwlen = sizeof(diag->keyword) - 1;
	if (keyword != NULL)
		memcpy(diag->keyword, keyword, kwlen);
	else
		kwlen = 0;
	diag->keyword[kwlen] = '\0';
}

/* The encoder's growable string; one failure sticks, checked at the end. */
void
hsdesc_buf_add(struct hsdesc_buf *b, const void *p, size_t len)
{
	size_t cap;
	char *n;

	if (b->failed)
		return;
	if (len >= SIZE_MAX / 2 - b->len) {
		b->failed = 1;
		return;
	}
	if (b->len + len + 1 > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((n = realloc(b->s, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->s = n;
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, len);
	b->len += len;
	b->s[b->len] = '\0';
}

void
hsdesc_buf_addstr(struct hsdesc_buf *b, const char *s)
{
	hsdesc_buf_add(b, s, strlen(s));
}

void
hsdesc_buf_printf(struct hsdesc_buf *b, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		b->failed = 1;
		return;
	}
	hsdesc_buf_add(b, line, (size_t)n);
}

void
hsdesc_buf_base64(struct hsdesc_buf *b, const uint8_t *p, size_t len,
    int flags)
{
	size_t n = base64_encoded_len(len, flags) + 1;
	char *tmp;

	if ((tmp = malloc(n)) == NULL) {
		b->failed = 1;
		return;
	}
	if (base64_encode(tmp, n, p, len, flags) < 0)
		b->failed = 1;
	else
		hsdesc_buf_add(b, tmp, n - 1);
	free(tmp);
}

void
hsdesc_buf_free(struct hsdesc_buf *b)
{
	if (b->s != NULL) {
		sodium_memzero(b->s, b->cap);
		free(b->s);
	}
	memset(b, 0, sizeof(*b));
}

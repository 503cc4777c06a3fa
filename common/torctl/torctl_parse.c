#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torctl_parse.h"

/* No limit may exceed this, so that "limit + 2" never overflows. */
#define TORCTL_LIMIT_CEILING	((size_t)1 << 30)

void
torctl_parser_init(struct torctl_parser *p, const struct torctl_limits *limits)
{
	memset(p, 0, sizeof(*p));
	p->limits.max_line = TORCTL_DEFAULT_MAX_LINE;
	p->limits.max_reply = TORCTL_DEFAULT_MAX_REPLY;
	if (limits != NULL && limits->max_line != 0)
		p->limits.max_line = limits->max_line;
	if (limits != NULL && limits->max_reply != 0)
		p->limits.max_reply = limits->max_reply;
	if (p->limits.max_line > TORCTL_LIMIT_CEILING)
		p->limits.max_line = TORCTL_LIMIT_CEILING;
	if (p->limits.max_reply > TORCTL_LIMIT_CEILING)
		p->limits.max_reply = TORCTL_LIMIT_CEILING;
}

void
torctl_reply_free(struct torctl_reply *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nlines; i++) {
		free(r->lines[i].text);
		free(r->lines[i].data);
	}
	free(r->lines);
	free(r);
}

void
torctl_parser_clear(struct torctl_parser *p)
{
	struct torctl_limits limits = p->limits;

	free(p->line);
	free(p->data);
	torctl_reply_free(p->sync);
	torctl_reply_free(p->async);
	torctl_parser_init(p, &limits);
}

const char *
torctl_parse_error_str(enum torctl_parse_error e)
{
	switch (e) {
	case TORCTL_PARSE_OK:
		return "no error";
	case TORCTL_PARSE_LINE_TOO_LONG:
		return "line too long";
	case TORCTL_PARSE_REPLY_TOO_LARGE:
		return "reply too large";
	case TORCTL_PARSE_BARE_LF:
		return "line not ended by CRLF";
	case TORCTL_PARSE_NUL:
		return "NUL byte in a status line";
	case TORCTL_PARSE_BAD_STATUS:
		return "malformed status line";
	case TORCTL_PARSE_TRUNCATED:
		return "stream ended inside a reply";
	case TORCTL_PARSE_NOMEM:
		return "out of memory";
	}
	return "unknown error";
}

const char *
torctl_parser_why(const struct torctl_parser *p)
{
	if (p->why[0] != '\0')
		return p->why;
	return torctl_parse_error_str(p->error);
}

static int
parse_fail(struct torctl_parser *p, enum torctl_parse_error e,
    const char *detail)
{
	p->error = e;
	if (detail != NULL)
		snprintf(p->why, sizeof(p->why), "%s (%s)",
		    torctl_parse_error_str(e), detail);
	else
		snprintf(p->why, sizeof(p->why), "%s",
		    torctl_parse_error_str(e));
	return -1;
}

/* Charges n more bytes to reply r, or fails if that passes the limit. */
static int
charge(struct torctl_parser *p, struct torctl_reply *r, size_t n)
{
	char detail[48];

	if (n > p->limits.max_reply || r->mem > p->limits.max_reply - n) {
		snprintf(detail, sizeof(detail), "more than %zu bytes",
		    p->limits.max_reply);
		return parse_fail(p, TORCTL_PARSE_REPLY_TOO_LARGE, detail);
	}
	r->mem += n;
	return 0;
}

/* Grows *buf to hold at least need bytes, never past ceiling. */
static int
grow(char **buf, size_t *cap, size_t need, size_t ceiling)
{
	size_t ncap;
	char *nbuf;

	if (need <= *cap)
		return 0;
	ncap = *cap < 256 ? 256 : *cap * 2;
	if (ncap < need)
		ncap = need;
	if (ncap > ceiling)
		ncap = ceiling;
	if (ncap < need || (nbuf = realloc(*buf, ncap)) == NULL)
		return -1;
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/* Appends seg (part of one line, possibly ending in its LF) to the line. */
static int
append_to_line(struct torctl_parser *p, const char *seg, size_t n,
    bool has_lf)
{
	/* The line may carry its CR and LF beyond max_line. */
	size_t max = p->limits.max_line + (has_lf ? 2 : 1);
	char detail[48];

	if (p->line_len > max || n > max - p->line_len) {
		snprintf(detail, sizeof(detail), "more than %zu bytes",
		    p->limits.max_line);
		return parse_fail(p, TORCTL_PARSE_LINE_TOO_LONG, detail);
	}
	if (grow(&p->line, &p->line_cap, p->line_len + n,
	    p->limits.max_line + 2) == -1)
		return parse_fail(p, TORCTL_PARSE_NOMEM, NULL);
	memcpy(p->line + p->line_len, seg, n);
	p->line_len += n;
	return 0;
}

/* Adds one line of a data block, unstuffed, with a LF, to the block. */
static int
add_data_line(struct torctl_parser *p, const char *s, size_t n)
{
	if (n > 0 && s[0] == '.') {
		s++;
		n--;
	}
	if (charge(p, p->data_owner, n + 1) == -1)
		return -1;
	/* +1 for the LF, +1 to keep a NUL after the block. */
	if (grow(&p->data, &p->data_cap, p->data_len + n + 2,
	    p->limits.max_reply + 2) == -1)
		return parse_fail(p, TORCTL_PARSE_NOMEM, NULL);
	memcpy(p->data + p->data_len, s, n);
	p->data_len += n;
	p->data[p->data_len++] = '\n';
	return 0;
}

/* The "." line: the block belongs to the last line of its reply. */
static int
end_data_block(struct torctl_parser *p)
{
	struct torctl_reply *r = p->data_owner;
	struct torctl_line *l = &r->lines[r->nlines - 1];

	if (p->data == NULL) {
		/* An empty block: still give the caller a string. */
		if ((p->data = calloc(1, 1)) == NULL)
			return parse_fail(p, TORCTL_PARSE_NOMEM, NULL);
	}
	p->data[p->data_len] = '\0';
	l->data = p->data;
	l->data_len = p->data_len;
	p->data = NULL;
	p->data_len = p->data_cap = 0;
	p->data_owner = NULL;
	return 0;
}

static int
check_status_line(struct torctl_parser *p, const char *s, size_t n)
{
	char detail[24];
	size_t i;

	if (n < 4 || s[0] < '2' || s[0] > '6' || s[0] == '3' ||
	    s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' ||
	    (s[3] != ' ' && s[3] != '-' && s[3] != '+')) {
		for (i = 0; i < n && i < 8; i++)
			detail[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
		detail[i] = '\0';
		return parse_fail(p, TORCTL_PARSE_BAD_STATUS, detail);
	}
	if (memchr(s, '\0', n) != NULL)
		return parse_fail(p, TORCTL_PARSE_NUL, NULL);
	return 0;
}

/* Appends a status line to the reply of its kind; *rp is that reply. */
static int
add_status_line(struct torctl_parser *p, const char *s, size_t n,
    struct torctl_reply **rp)
{
	struct torctl_line *l, *nl;
	size_t ncap;

	if (*rp == NULL && (*rp = calloc(1, sizeof(**rp))) == NULL)
		return parse_fail(p, TORCTL_PARSE_NOMEM, NULL);
	if (charge(p, *rp, sizeof(*l) + n - 4 + 1) == -1)
		return -1;
	if ((*rp)->nlines == (*rp)->cap) {
		ncap = (*rp)->cap ? (*rp)->cap * 2 : 4;
		nl = reallocarray((*rp)->lines, ncap, sizeof(*nl));
		if (nl == NULL)
			return parse_fail(p, TORCTL_PARSE_NOMEM, NULL);
		(*rp)->lines = nl;
		(*rp)->cap = ncap;
	}
	l = &(*rp)->lines[(*rp)->nlines];
	memset(l, 0, sizeof(*l));
	if ((l->text = malloc(n - 4 + 1)) == NULL)
		return parse_fail(p, TORCTL_PARSE_NOMEM, NULL);
	memcpy(l->text, s + 4, n - 4);
	l->text[n - 4] = '\0';
	l->text_len = n - 4;
	l->code = (uint16_t)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
	    (s[2] - '0'));
	l->sep = s[3];
	(*rp)->nlines++;
	return 0;
}

/*
 * A whole line (with CRLF) is in p->line.  Sets *done to a reply that the
 * line completed, if any.
 */
static int
take_line(struct torctl_parser *p, struct torctl_reply **done)
{
	const char *s = p->line;
	size_t n = p->line_len;
	struct torctl_reply **rp;
	struct torctl_line *l;

	p->line_len = 0;
	if (n < 2 || s[n - 2] != '\r')
		return parse_fail(p, TORCTL_PARSE_BARE_LF, NULL);
	n -= 2;
	if (p->data_owner != NULL) {
		if (n == 1 && s[0] == '.')
			return end_data_block(p);
		return add_data_line(p, s, n);
	}
	if (check_status_line(p, s, n) == -1)
		return -1;
	rp = s[0] == '6' ? &p->async : &p->sync;
	if (add_status_line(p, s, n, rp) == -1)
		return -1;
	l = &(*rp)->lines[(*rp)->nlines - 1];
	if (l->sep == '+')
		p->data_owner = *rp;
	else if (l->sep == ' ') {
		(*rp)->code = l->code;
		*done = *rp;
		*rp = NULL;
	}
	return 0;
}

enum torctl_feed
torctl_parser_feed(struct torctl_parser *p, const void *buf, size_t len,
    size_t *used, struct torctl_reply **out)
{
	const char *in = buf, *lf;
	size_t off = 0, n;

	*used = 0;
	*out = NULL;
	while (p->error == TORCTL_PARSE_OK && off < len) {
		lf = memchr(in + off, '\n', len - off);
		n = lf != NULL ? (size_t)(lf - (in + off)) + 1 : len - off;
		if (append_to_line(p, in + off, n, lf != NULL) == -1)
			break;
		off += n;
		*used = off;
		if (lf == NULL)
			break;
		if (take_line(p, out) == -1)
			break;
		if (*out != NULL)
			return TORCTL_FEED_REPLY;
	}
	if (p->error != TORCTL_PARSE_OK)
		return TORCTL_FEED_ERROR;
	return TORCTL_FEED_MORE;
}

int
torctl_parser_finish(struct torctl_parser *p)
{
	if (p->error != TORCTL_PARSE_OK)
		return -1;
	if (p->line_len != 0)
		return parse_fail(p, TORCTL_PARSE_TRUNCATED, "inside a line");
	if (p->data_owner != NULL)
		return parse_fail(p, TORCTL_PARSE_TRUNCATED,
		    "inside a data block");
	if (p->sync != NULL || p->async != NULL)
		return parse_fail(p, TORCTL_PARSE_TRUNCATED,
		    "before the end line");
	return 0;
}

bool
torctl_reply_is_event(const struct torctl_reply *r)
{
	return r->code / 100 == 6;
}

const char *
torctl_reply_message(const struct torctl_reply *r)
{
	if (r->nlines == 0)
		return "";
	return r->lines[r->nlines - 1].text;
}

const char *
torctl_reply_getinfo(const struct torctl_reply *r, const char *key,
    size_t *len)
{
	const struct torctl_line *l;
	size_t i, klen = strlen(key);

	for (i = 0; i < r->nlines; i++) {
		l = &r->lines[i];
		if (l->text_len <= klen || memcmp(l->text, key, klen) != 0 ||
		    l->text[klen] != '=')
			continue;
		if (l->sep == '+') {
			/* "key=" then the block; anything after '=' is odd. */
			if (l->text_len != klen + 1 || l->data == NULL)
				return NULL;
			*len = l->data_len;
			return l->data;
		}
		*len = l->text_len - klen - 1;
		return l->text + klen + 1;
	}
	return NULL;
}

/*
 * Finds the next space-separated word at *pp; a quoted part ("...", with
 * backslash escapes) may contain spaces.  -1 at the end or on an
 * unterminated quote.
 */
static int
next_word(const char **pp, const char **start, size_t *len)
{
	const char *s = *pp;
	int quoted = 0;

	while (*s == ' ')
		s++;
	if (*s == '\0')
		return -1;
	*start = s;
	for (; *s != '\0' && (quoted || *s != ' '); s++) {
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '"')
			quoted = !quoted;
	}
	if (quoted)
		return -1;
	*len = (size_t)(s - *start);
	*pp = s;
	return 0;
}

int
torctl_word(const char *text, size_t n, char *out, size_t outlen)
{
	const char *w;
	size_t wlen, i;

	for (i = 0; next_word(&text, &w, &wlen) == 0; i++) {
		if (i != n)
			continue;
		if (wlen >= outlen)
			return -1;
		memcpy(out, w, wlen);
		out[wlen] = '\0';
		return 0;
	}
	return -1;
}

static int
unescape_char(const char **sp, unsigned char *c)
{
	const char *s = *sp;
	unsigned v = 0;
	int i;

	switch (*s) {
	case 'n': v = '\n'; s++; break;
	case 'r': v = '\r'; s++; break;
	case 't': v = '\t'; s++; break;
	case '\\': case '"': case '\'': v = (unsigned char)*s++; break;
	case 'x':
		for (i = 0, s++; i < 2; i++, s++) {
			if (*s >= '0' && *s <= '9')
				v = v * 16 + (unsigned)(*s - '0');
			else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
				v = v * 16 + (unsigned)((*s | 0x20) - 'a' + 10);
			else
				return -1;
		}
		break;
	default:
		for (i = 0; i < 3 && *s >= '0' && *s <= '7'; i++, s++)
			v = v * 8 + (unsigned)(*s - '0');
		if (i == 0 || v > 0xff)
			return -1;
	}
	if (v == 0)
		return -1;
	*c = (unsigned char)v;
	*sp = s;
	return 0;
}

/* Unquotes the QuotedString q (with its quotes, qlen bytes) into out. */
static int
unquote(const char *q, size_t qlen, char *out, size_t outlen)
{
	const char *s = q + 1, *end = q + qlen - 1;
	size_t o = 0;
	unsigned char c;

	if (qlen < 2 || q[0] != '"' || *end != '"')
		return -1;
	while (s < end) {
		if (*s == '"')
			return -1;
		if (*s == '\\') {
			s++;
			if (s >= end || unescape_char(&s, &c) == -1 || s > end)
				return -1;
		} else
			c = (unsigned char)*s++;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
torctl_kv_get(const char *text, const char *key, char *out, size_t outlen)
{
	const char *w, *v;
	size_t wlen, klen = strlen(key), vlen;

	while (next_word(&text, &w, &wlen) == 0) {
		if (wlen <= klen || memcmp(w, key, klen) != 0 || w[klen] != '=')
			continue;
		v = w + klen + 1;
		vlen = wlen - klen - 1;
		if (v[0] == '"')
			return unquote(v, vlen, out, outlen);
		if (vlen >= outlen || memchr(v, '"', vlen) != NULL)
			return -1;
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		return 0;
	}
	return -1;
}

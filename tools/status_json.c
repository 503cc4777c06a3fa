/*
 * The status document as a tree (status_json.h).  A recursive-descent
 * reader of RFC 8259 JSON with bounded depth and size; it keeps scalars
 * as text because the printer only shows them.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "status_json.h"

struct sj_reader {
	const char	*p;
	const char	*start;
	const char	*end;
	int		 depth;
	size_t		 nodes;
	bool		 failed;
};

static struct sj_node	*read_value(struct sj_reader *);

static void
skip_ws(struct sj_reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
	    *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool
eat(struct sj_reader *r, char ch)
{
	skip_ws(r);
	if (r->p < r->end && *r->p == ch) {
		r->p++;
		return true;
	}
	return false;
}

static void *
fail(struct sj_reader *r)
{
	r->failed = true;
	return NULL;
}

static struct sj_node *
new_node(struct sj_reader *r, enum sj_type type)
{
	struct sj_node *n;

	if (++r->nodes > SJ_MAX_NODES || (n = calloc(1, sizeof(*n))) == NULL)
		return fail(r);
	n->type = type;
	return n;
}

static int
hex4(const char *p)
{
	int v = 0, i;

	for (i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		v = v * 16 + (isdigit((unsigned char)p[i]) ? p[i] - '0' :
		    tolower((unsigned char)p[i]) - 'a' + 10);
	}
	return v;
}

/* One escape after the backslash; the printable character it stands for. */
static int
read_escape(struct sj_reader *r)
{
	static const char plain[] = "\"\\/", ctl[] = "bfnrt";
	int v;

	if (r->p >= r->end)
		return -1;
	if (strchr(plain, *r->p) != NULL && *r->p != '\0')
		return *r->p++;
	if (strchr(ctl, *r->p) != NULL && *r->p != '\0') {
		r->p++;
		return '?';
	}
	if (*r->p != 'u' || r->end - r->p < 5 || (v = hex4(r->p + 1)) == -1)
		return -1;
	r->p += 5;
	return v >= 0x20 && v < 0x7f ? v : '?';
}

/* A string, decoded and made printable; NULL on a syntax error. */
static char *
read_string(struct sj_reader *r)
{
	const char *s;
	char *out;
	size_t n = 0;
	int ch;

	if (!eat(r, '"'))
		return fail(r);
	s = r->p;
	while (s < r->end && *s != '"')
		s += *s == '\\' ? 2 : 1;
	if ((out = malloc((size_t)(s - r->p) + 1)) == NULL)
		return fail(r);
	while (r->p < r->end && *r->p != '"') {
		ch = (unsigned char)*r->p++;
		if (ch < 0x20) {
			free(out);
			return fail(r);
		}
		if (ch == '\\' && (ch = read_escape(r)) == -1) {
			free(out);
			return fail(r);
		}
		out[n++] = ch >= 0x7f ? '?' : (char)ch;
	}
	out[n] = '\0';
	if (!eat(r, '"')) {
		free(out);
		return fail(r);
	}
	return out;
}

/* Loosely: a sign or digit, then only characters that numbers have. */
static bool
is_number(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (*s != '-' && !isdigit((unsigned char)*s)))
		return false;
	for (i = 1; i < len; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    (s[i] == '\0' || strchr("+-.eE", s[i]) == NULL))
			return false;
	return true;
}

/* true, false, null or a number, kept as its text. */
static struct sj_node *
read_word(struct sj_reader *r)
{
	const char *s = r->p;
	struct sj_node *n;
	size_t len;

	while (r->p < r->end && (isalnum((unsigned char)*r->p) ||
	    *r->p == '-' || *r->p == '+' || *r->p == '.'))
		r->p++;
	len = (size_t)(r->p - s);
	if (len == 4 && memcmp(s, "null", 4) == 0)
		n = new_node(r, SJ_NULL);
	else if ((len == 4 && memcmp(s, "true", 4) == 0) ||
	    (len == 5 && memcmp(s, "false", 5) == 0))
		n = new_node(r, SJ_BOOL);
	else if (is_number(s, len))
		n = new_node(r, SJ_NUMBER);
	else
		return fail(r);
	if (n != NULL && (n->text = strndup(s, len)) == NULL) {
		free(n);
		return fail(r);
	}
	return n;
}

/* The elements of an array or the members of an object, after the '['/'{'. */
static struct sj_node *
read_container(struct sj_reader *r, enum sj_type type)
{
	struct sj_node *n, **tail, *e;
	char *key = NULL;
	char close = type == SJ_OBJECT ? '}' : ']';

	if ((n = new_node(r, type)) == NULL)
		return NULL;
	if (eat(r, close))
		return n;
	tail = &n->child;
	do {
		if (type == SJ_OBJECT && ((key = read_string(r)) == NULL ||
		    !eat(r, ':'))) {
			free(key);
			break;
		}
		if ((e = read_value(r)) == NULL) {
			free(key);
			break;
		}
		e->key = key;
		key = NULL;
		*tail = e;
		tail = &e->next;
	} while (eat(r, ','));
	if (r->failed || !eat(r, close)) {
		sj_free(n);
		return fail(r);
	}
	return n;
}

static struct sj_node *
read_value(struct sj_reader *r)
{
	struct sj_node *n;
	char *s;

	if (++r->depth > SJ_MAX_DEPTH)
		return fail(r);
	skip_ws(r);
	if (eat(r, '{'))
		n = read_container(r, SJ_OBJECT);
	else if (eat(r, '['))
		n = read_container(r, SJ_ARRAY);
	else if (r->p < r->end && *r->p == '"') {
		if ((s = read_string(r)) == NULL)
			n = NULL;
		else if ((n = new_node(r, SJ_STRING)) == NULL)
			free(s);
		else
			n->text = s;
	} else
		n = read_word(r);
	r->depth--;
	return n;
}

struct sj_node *
sj_parse(const char *buf, size_t len, size_t *bad)
{
	struct sj_reader r = { buf, buf, buf + len, 0, 0, false };
	struct sj_node *n;

	n = read_value(&r);
	skip_ws(&r);
	if (n == NULL || r.failed || r.p != r.end) {
		sj_free(n);
		*bad = (size_t)(r.p - r.start);
		return NULL;
	}
	return n;
}

void
sj_free(struct sj_node *n)
{
	struct sj_node *next;

	while (n != NULL) {
		next = n->next;
		sj_free(n->child);
		free(n->key);
		free(n->text);
		free(n);
		n = next;
	}
}

const struct sj_node *
sj_get(const struct sj_node *n, const char *key)
{
	const struct sj_node *e;

	if (n == NULL || n->type != SJ_OBJECT)
		return NULL;
	for (e = n->child; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

const char *
sj_text(const struct sj_node *n, const char *key, const char *dflt)
{
	const struct sj_node *e = sj_get(n, key);

	if (e == NULL || e->type == SJ_NULL || e->text == NULL)
		return dflt;
	return e->text;
}

size_t
sj_count(const struct sj_node *n)
{
	const struct sj_node *e;
	size_t count = 0;

	if (n == NULL || n->type != SJ_ARRAY)
		return 0;
	for (e = n->child; e != NULL; e = e->next)
		count++;
	return count;
}

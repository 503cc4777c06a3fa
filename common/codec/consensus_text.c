/*
 * Text helpers of the consensus and microdescriptor readers, and the two
 * small grammars tor applies to router entries: protocol lists
 * (protover.c parse_protocol_list) and Tor version strings (versions.c
 * tor_version_parse).
 */
#include <stdint.h>
#include <string.h>

#include "consensus.h"
#include "consensus_private.h"
#include "encoding.h"

/* protover.c: MAX_PROTOCOL_VERSION and MAX_PROTOCOL_NAME_LENGTH. */
#define PROTOVER_MAX_VERSION	63
#define PROTOVER_MAX_NAME_LEN	100

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void
line_reader_init(struct line_reader *rd, const char *text, size_t len)
{
	rd->text = text;
	rd->len = len;
	rd->pos = 0;
	rd->lineno = 0;
}

static void
trim_blanks(struct text_ref *s)
{
	while (s->len > 0 && is_blank(s->ptr[0])) {
		s->ptr++;
		s->len--;
	}
	while (s->len > 0 && is_blank(s->ptr[s->len - 1]))
		s->len--;
}

static void
split_line(struct line *line)
{
	size_t k = 0;

	while (k < line->whole.len && !is_blank(line->whole.ptr[k]))
		k++;
	line->keyword.ptr = line->whole.ptr;
	line->keyword.len = k;
	line->rest.ptr = line->whole.ptr + k;
	line->rest.len = line->whole.len - k;
	trim_blanks(&line->rest);
}

int
line_reader_next(struct line_reader *rd, struct line *line, size_t maxlen)
{
	const char *start, *nl;
	size_t left, n;

	while (rd->pos < rd->len) {
		start = rd->text + rd->pos;
		left = rd->len - rd->pos;
		nl = memchr(start, '\n', left);
		n = nl != NULL ? (size_t)(nl - start) : left;
		rd->lineno++;
		if (n > maxlen)
			return -1;
		rd->pos += nl != NULL ? n + 1 : n;
		line->whole.ptr = start;
		line->whole.len = n;
		line->lineno = rd->lineno;
		trim_blanks(&line->whole);
		if (line->whole.len == 0 || line->whole.ptr[0] == '#')
			continue;
		split_line(line);
		return 1;
	}
	return 0;
}

int
text_next_arg(struct text_ref *rest, struct text_ref *arg)
{
	size_t k = 0;

	while (rest->len > 0 && is_blank(rest->ptr[0])) {
		rest->ptr++;
		rest->len--;
	}
	if (rest->len == 0)
		return 0;
	while (k < rest->len && !is_blank(rest->ptr[k]))
		k++;
	arg->ptr = rest->ptr;
	arg->len = k;
	rest->ptr += k;
	rest->len -= k;
	return 1;
}

size_t
text_count_args(struct text_ref rest)
{
	struct text_ref arg;
	size_t n = 0;

	while (text_next_arg(&rest, &arg))
		n++;
	return n;
}

int
text_eq(const struct text_ref *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->ptr, lit, n) == 0;
}

int
text_has_prefix(const struct text_ref *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len >= n && memcmp(s->ptr, lit, n) == 0;
}

int
text_base64_exact(const struct text_ref *s, uint8_t *out, size_t outlen)
{
	uint8_t buf[64];
	ssize_t n;

	if (outlen > sizeof(buf) || s->len > base64_encoded_len(outlen,
	    BASE64_PAD))
		return -1;
	n = base64_decode(buf, sizeof(buf), s->ptr, s->len, 0);
	if (n < 0 || (size_t)n != outlen)
		return -1;
	memcpy(out, buf, outlen);
	return 0;
}

/*
 * Reads a decimal number that starts at *p, as tor_parse_ulong does after
 * the digit check: digits only, overflow past max is an error.
 */
static int
parse_small_uint(const char **p, const char *end, unsigned int max,
    unsigned int *out)
{
	uint64_t v = 0;

	if (*p >= end || !is_digit(**p))
		return -1;
	while (*p < end && is_digit(**p)) {
		v = v * 10 + (uint64_t)(**p - '0');
		if (v > max)
			return -1;
		(*p)++;
	}
	*out = (unsigned int)v;
	return 0;
}

/* One "low[-high]" range that must end exactly at end. */
static int
parse_version_range(const char *p, const char *end, uint64_t *mask)
{
	unsigned int low, high;

	if (parse_small_uint(&p, end, PROTOVER_MAX_VERSION, &low) < 0)
		return -1;
	high = low;
	if (p < end) {
		if (*p != '-')
			return -1;
		p++;
		if (parse_small_uint(&p, end, PROTOVER_MAX_VERSION, &high) < 0)
			return -1;
		if (p != end || low > high)
			return -1;
	}
	/* bits low..high; high <= 63 so the shift stays in range. */
	*mask |= (~(uint64_t)0 >> (63 - high)) & (~(uint64_t)0 << low);
	return 0;
}

/*
 * "Name=ranges" of one entry (tor's parse_single_entry): a non-empty name
 * of letters, digits and '-', then comma-separated ranges, possibly none.
 */
static int
parse_protover_entry(const char *p, const char *end, struct text_ref *name,
    uint64_t *mask)
{
	const char *eq, *comma;
	size_t k;

	eq = memchr(p, '=', (size_t)(end - p));
	if (eq == NULL || eq == p || eq - p > PROTOVER_MAX_NAME_LEN)
		return -1;
	for (k = 0; k < (size_t)(eq - p); k++)
		if (!is_alnum(p[k]) && p[k] != '-')
			return -1;
	name->ptr = p;
	name->len = (size_t)(eq - p);
	*mask = 0;
	p = eq + 1;
	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		if (parse_version_range(p, comma, mask) < 0)
			return -1;
		/* A trailing comma is an error: the next range is empty. */
		p = comma < end - 1 ? comma + 1 : comma;
	}
	return 0;
}

int
protover_list_supports(const char *list, size_t len, const char *name,
    unsigned int version)
{
	const char *p = list, *end = list + len, *sp;
	struct text_ref ent_name;
	uint64_t mask;
	int found = 0;

	while (p < end) {
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp == NULL)
			sp = end;
		if (parse_protover_entry(p, sp, &ent_name, &mask) < 0)
			return -1;
		/* tor's find_entry_by_name takes the first entry of a name. */
		if (!found && text_eq(&ent_name, name)) {
			found = 1;
			if (version <= PROTOVER_MAX_VERSION &&
			    (mask & ((uint64_t)1 << version)) != 0)
				found = 2;
		}
		p = sp;
		while (p < end && *p == ' ')
			p++;
	}
	return found == 2;
}

struct tor_version {
	unsigned int	major, minor, micro, patchlevel;
	int		status;		/* tor: 0 pre, 1 rc, 2 release */
};

/*
 * tor_version_parse() up to the patch level: NUM.NUM[.NUM[(.|pre|rc)NUM]]
 * followed by the end, '-' or a blank (the status tag, which cannot make
 * a version older than our cutoffs since theirs is empty).
 */
static int
parse_tor_version(const char *p, const char *end, struct tor_version *v)
{
	memset(v, 0, sizeof(*v));
	v->status = 2;
	if (parse_small_uint(&p, end, INT32_MAX, &v->major) < 0 ||
	    p >= end || *p++ != '.' ||
	    parse_small_uint(&p, end, INT32_MAX, &v->minor) < 0)
		return -1;
	if (p == end || *p == '-' || is_blank(*p))
		return 0;
	if (*p++ != '.' || parse_small_uint(&p, end, INT32_MAX, &v->micro) < 0)
		return -1;
	if (p == end || *p == '-' || is_blank(*p))
		return 0;
	if (*p == '.')
		p++;
	else if (end - p >= 3 && memcmp(p, "pre", 3) == 0) {
		v->status = 0;
		p += 3;
	} else if (end - p >= 2 && memcmp(p, "rc", 2) == 0) {
		v->status = 1;
		p += 2;
	} else
		return -1;
	return parse_small_uint(&p, end, INT32_MAX, &v->patchlevel);
}

/* tor_version_compare() on the fields our cutoffs have: < 0, 0 or > 0. */
static int
tor_version_cmp(const struct tor_version *a, const struct tor_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->micro != b->micro)
		return a->micro < b->micro ? -1 : 1;
	if (a->status != b->status)
		return a->status < b->status ? -1 : 1;
	if (a->patchlevel != b->patchlevel)
		return a->patchlevel < b->patchlevel ? -1 : 1;
	return 0;
}

int
tor_version_at_least(const char *platform, size_t len, int major, int minor,
    int micro, int patchlevel)
{
	struct text_ref s = { platform, len }, word;
	struct tor_version v, cutoff;

	/* Not "Tor <version>", or unparseable: tor says yes. */
	if (!text_has_prefix(&s, "Tor "))
		return 1;
	s.ptr += 4;
	s.len -= 4;
	if (!text_next_arg(&s, &word) ||
	    parse_tor_version(word.ptr, word.ptr + word.len, &v) < 0)
		return 1;
	memset(&cutoff, 0, sizeof(cutoff));
	cutoff.major = (unsigned int)major;
	cutoff.minor = (unsigned int)minor;
	cutoff.micro = (unsigned int)micro;
	cutoff.status = 2;
	cutoff.patchlevel = (unsigned int)patchlevel;
	return tor_version_cmp(&v, &cutoff) >= 0;
}

int
consensus_parse_time(const struct text_ref *s, time_t *out)
{
	static const char layout[] = "0000-00-00 00:00:00";
	struct tm tm;
	int v[6] = { 0 }, n = 0;
	size_t k;

	if (s->len != sizeof(layout) - 1)
		return -1;
	for (k = 0; k < s->len; k++) {
		if (layout[k] != '0') {
			if (s->ptr[k] != layout[k])
				return -1;
			n++;
		} else if (!is_digit(s->ptr[k]))
			return -1;
		else
			v[n] = v[n] * 10 + (s->ptr[k] - '0');
	}
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 ||
	    v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/*
 * The few consensus header lines fetchd needs: the times (liveness, the
 * voting interval and so the time period) and two params.  The rest of
 * the document (relays, signatures) is publishd's business; we stop at
 * the first "dir-source" or "r" line.  The text comes from tor: every
 * field is checked, and a header we cannot read is refused, not guessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd.h"

/* "YYYY-MM-DD HH:MM:SS", exactly. */
static int
parse_iso_time(const char *s, size_t len, time_t *out)
{
	struct tm tm;
	char buf[20];
	int n = 0;

	if (len != 19)
		return -1;
	memcpy(buf, s, 19);
	buf[19] = '\0';
	memset(&tm, 0, sizeof(tm));
	if (sscanf(buf, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19 || buf[4] != '-' || buf[7] != '-' || buf[10] != ' ')
		return -1;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* A decimal param value in [0, max]. */
static int
parse_param_value(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* "params k=v k=v ...": picks the two we use; others are ignored. */
static int
parse_params(struct fetchd_consensus *c, const char *s, size_t len)
{
	const char *end = s + len, *w, *eq;
	uint64_t v;

	while (s < end) {
		while (s < end && *s == ' ')
			s++;
		for (w = s; s < end && *s != ' '; s++)
			;
		if (w == s)
			break;
		if ((eq = memchr(w, '=', (size_t)(s - w))) == NULL)
			return -1;
		/* tor's values are int32; negative ones do not apply here. */
		if ((size_t)(eq - w) == 14 && memcmp(w, "hsdir_interval", 14) == 0) {
			if (parse_param_value(eq + 1, (size_t)(s - eq - 1),
			    INT32_MAX, &v) == -1)
				return -1;
			c->hsdir_interval_min = v;
		} else if ((size_t)(eq - w) == 21 &&
		    memcmp(w, "HSV3MaxDescriptorSize", 21) == 0) {
			if (parse_param_value(eq + 1, (size_t)(s - eq - 1),
			    INT32_MAX, &v) == -1)
				return -1;
			c->max_desc_size = (size_t)v;
		}
	}
	return 0;
}

static int
keyword_is(const char *line, size_t len, const char *kw, const char **rest,
    size_t *rest_len)
{
	size_t kwlen = strlen(kw);

	if (len < kwlen + 1 || memcmp(line, kw, kwlen) != 0 ||
	    line[kwlen] != ' ')
		return 0;
	*rest = line + kwlen + 1;
	*rest_len = len - kwlen - 1;
	return 1;
}

/* One header line; 1 at the end of the header, 0 to go on, -1 bad. */
static int
header_line(struct fetchd_consensus *c, const char *line, size_t len,
    const char **why)
{
	const char *v;
	size_t vlen;

	if (keyword_is(line, len, "dir-source", &v, &vlen) ||
	    keyword_is(line, len, "r", &v, &vlen))
		return 1;
	if (keyword_is(line, len, "valid-after", &v, &vlen))
		return parse_iso_time(v, vlen, &c->valid_after) == -1 ?
		    (*why = "bad valid-after", -1) : 0;
	if (keyword_is(line, len, "fresh-until", &v, &vlen))
		return parse_iso_time(v, vlen, &c->fresh_until) == -1 ?
		    (*why = "bad fresh-until", -1) : 0;
	if (keyword_is(line, len, "valid-until", &v, &vlen))
		return parse_iso_time(v, vlen, &c->valid_until) == -1 ?
		    (*why = "bad valid-until", -1) : 0;
	if (keyword_is(line, len, "params", &v, &vlen))
		return parse_params(c, v, vlen) == -1 ?
		    (*why = "bad params line", -1) : 0;
	return 0;
}

int
fetchd_consensus_parse(struct fetchd_consensus *c, const char *text,
    size_t len, const char **why)
{
	const char *p = text, *end = text + len, *nl;
	struct hs_period_params pp;
	int r = 0;

	memset(c, 0, sizeof(*c));
	*why = "no consensus header";
	if (len < 26 || memcmp(text, "network-status-version 3", 24) != 0)
		return -1;
	while (p < end && r == 0) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		r = header_line(c, p, (size_t)(nl - p), why);
		p = nl + 1;
	}
	if (r == -1)
		return -1;
	*why = "missing or inconsistent valid-after/fresh-until/valid-until";
	if (c->valid_after == 0 || c->fresh_until <= c->valid_after ||
	    c->valid_until < c->fresh_until)
		return -1;
	*why = "voting interval out of range";
	if (hs_period_params_init(&pp, (uint64_t)(c->fresh_until -
	    c->valid_after), c->hsdir_interval_min) == -1)
		return -1;
	*why = NULL;
	return 0;
}

bool
fetchd_consensus_live(const struct fetchd_consensus *c, time_t now)
{
	return now >= c->valid_after - FETCHD_CONSENSUS_SLACK_S &&
	    now <= c->valid_until + FETCHD_CONSENSUS_SLACK_S;
}

/*
 * The control-port reply parser: framing, data blocks rebuilt
 * byte-exactly, events between a reply's lines, every split of the
 * stream giving the same replies, limits, garbage and truncation.
 */
#include <stdlib.h>
#include <string.h>

#include "torctl_parse.h"
#include "test.h"

/* Replies rendered as text, so that two parses can be compared. */
struct render {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

static void
render_add(struct render *out, const char *s, size_t n)
{
	if (out->len + n + 1 > out->cap) {
		out->cap = (out->len + n + 1) * 2;
		if ((out->buf = realloc(out->buf, out->cap)) == NULL)
			abort();
	}
	memcpy(out->buf + out->len, s, n);
	out->len += n;
	out->buf[out->len] = '\0';
}

static void
render_reply(struct render *out, const struct torctl_reply *r)
{
	char head[64];
	size_t i;

	snprintf(head, sizeof(head), "reply %u\n", r->code);
	render_add(out, head, strlen(head));
	for (i = 0; i < r->nlines; i++) {
		snprintf(head, sizeof(head), "%u%c", r->lines[i].code,
		    r->lines[i].sep);
		render_add(out, head, strlen(head));
		render_add(out, r->lines[i].text, r->lines[i].text_len);
		render_add(out, "\n", 1);
		if (r->lines[i].data == NULL)
			continue;
		snprintf(head, sizeof(head), "[%zu]", r->lines[i].data_len);
		render_add(out, head, strlen(head));
		render_add(out, r->lines[i].data, r->lines[i].data_len);
	}
}

/*
 * Feeds in[0..len) in pieces cut at the offsets in cuts (ascending);
 * renders every reply; returns the final verdict (0, or the error).
 */
static int
parse_pieces(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    const struct torctl_limits *limits, struct render *out)
{
	struct torctl_parser p;
	struct torctl_reply *r;
	enum torctl_feed rv = TORCTL_FEED_MORE;
	size_t off = 0, end, used, i;
	int verdict;

	torctl_parser_init(&p, limits);
	for (i = 0; i <= ncuts && rv != TORCTL_FEED_ERROR; i++) {
		end = i < ncuts ? cuts[i] : len;
		while (off < end) {
			rv = torctl_parser_feed(&p, in + off, end - off, &used,
			    &r);
			off += used;
			if (rv != TORCTL_FEED_REPLY)
				break;
			render_reply(out, r);
			torctl_reply_free(r);
		}
	}
	if (rv == TORCTL_FEED_ERROR)
		verdict = (int)p.error;
	else
		verdict = torctl_parser_finish(&p) == 0 ? 0 :
		    (int)p.error;
	torctl_parser_clear(&p);
	return verdict;
}

static int
parse_whole(const char *in, size_t len, const struct torctl_limits *limits,
    struct render *out)
{
	return parse_pieces(in, len, NULL, 0, limits, out);
}

/* A session: replies, events between their lines, dot-stuffed blocks. */
static const char stream[] =
    "250-PROTOCOLINFO 1\r\n"
    "250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"/run/tor/a b\"\r\n"
    "650 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\r\n"
    "250-VERSION Tor=\"0.4.9.11\"\r\n"
    "250 OK\r\n"
    "250-version=0.4.9.11\r\n"
    "250+md/all=\r\n"
    "onion-key\r\n"
    "..leading dot\r\n"
    ".\r\n"
    "650+HS_DESC_CONTENT x y z\r\n"
    "hs-descriptor 3\r\n"
    "\r\n"
    "...\r\n"
    ".\r\n"
    "250 OK\r\n"
    "650 OK\r\n"
    "552 Unrecognized key \"nope\"\r\n";

static const char stream_rendered[] =
    "reply 650\n"
    "650 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\n"
    "reply 250\n"
    "250-PROTOCOLINFO 1\n"
    "250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"/run/tor/a b\"\n"
    "250-VERSION Tor=\"0.4.9.11\"\n"
    "250 OK\n"
    "reply 250\n"
    "250-version=0.4.9.11\n"
    "250+md/all=\n"
    "[23]onion-key\n"
    ".leading dot\n"
    "250 OK\n"
    "reply 650\n"
    "650+HS_DESC_CONTENT x y z\n"
    "[20]hs-descriptor 3\n"
    "\n"
    "..\n"
    "650 OK\n"
    "reply 552\n"
    "552 Unrecognized key \"nope\"\n";

static void
test_session_rendered(void)
{
	struct render out = { 0 };

	CHECK_INT_EQ(parse_whole(stream, sizeof(stream) - 1, NULL, &out), 0);
	CHECK_STR_EQ(out.buf, stream_rendered);
	free(out.buf);
}

static void
test_every_split_point(void)
{
	struct render out;
	size_t len = sizeof(stream) - 1, i, j, cuts[2];
	int bad = 0;

	/* One cut anywhere, and two cuts anywhere. */
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			memset(&out, 0, sizeof(out));
			cuts[0] = i;
			cuts[1] = j;
			if (parse_pieces(stream, len, cuts, 2, NULL, &out) !=
			    0 || strcmp(out.buf, stream_rendered) != 0)
				bad++;
			free(out.buf);
		}
	}
	CHECK_INT_EQ(bad, 0);
}

static void
test_byte_at_a_time(void)
{
	struct render out = { 0 };
	size_t len = sizeof(stream) - 1, i;
	size_t *cuts;

	if ((cuts = calloc(len, sizeof(*cuts))) == NULL)
		abort();
	for (i = 0; i < len; i++)
		cuts[i] = i;
	CHECK_INT_EQ(parse_pieces(stream, len, cuts, len, NULL, &out), 0);
	CHECK_STR_EQ(out.buf, stream_rendered);
	free(out.buf);
	free(cuts);
}

/* md/all from the test network, rebuilt with its final newline. */
static void
test_md_all_byte_exact(void)
{
	struct torctl_parser p;
	struct torctl_reply *r;
	struct render wire = { 0 };
	char *md, *line, *save;
	const char *v;
	size_t mdlen, used, vlen = 0;

	md = test_read_data("tor-0.4.9-testnet/md-all.txt", &mdlen);
	CHECK(mdlen > 0 && md[mdlen - 1] == '\n');
	render_add(&wire, "250+md/all=\r\n", 13);
	for (line = strtok_r(md, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		render_add(&wire, line, strlen(line));
		render_add(&wire, "\r\n", 2);
	}
	render_add(&wire, ".\r\n250 OK\r\n", 11);
	free(md);
	md = test_read_data("tor-0.4.9-testnet/md-all.txt", &mdlen);

	torctl_parser_init(&p, NULL);
	CHECK_INT_EQ(torctl_parser_feed(&p, wire.buf, wire.len, &used, &r),
	    TORCTL_FEED_REPLY);
	CHECK_INT_EQ(used, wire.len);
	if (r != NULL) {
		v = torctl_reply_getinfo(r, "md/all", &vlen);
		CHECK(v != NULL && vlen == mdlen && memcmp(v, md, mdlen) == 0);
		CHECK(torctl_reply_getinfo(r, "md/al", &vlen) == NULL);
		CHECK(torctl_reply_getinfo(r, "md", &vlen) == NULL);
	}
	CHECK_INT_EQ(torctl_parser_finish(&p), 0);
	torctl_reply_free(r);
	torctl_parser_clear(&p);
	free(wire.buf);
	free(md);
}

static int
verdict_of_n(const char *in, size_t len, const struct torctl_limits *limits)
{
	struct render out = { 0 };
	int v = parse_whole(in, len, limits, &out);

	free(out.buf);
	return v;
}

static int
verdict_of(const char *in, const struct torctl_limits *limits)
{
	return verdict_of_n(in, strlen(in), limits);
}

static void
test_garbage(void)
{
	CHECK_INT_EQ(verdict_of("hello\r\n", NULL), TORCTL_PARSE_BAD_STATUS);
	CHECK_INT_EQ(verdict_of("250\r\n", NULL), TORCTL_PARSE_BAD_STATUS);
	CHECK_INT_EQ(verdict_of("25 OK\r\n", NULL), TORCTL_PARSE_BAD_STATUS);
	CHECK_INT_EQ(verdict_of("2x0 OK\r\n", NULL), TORCTL_PARSE_BAD_STATUS);
	CHECK_INT_EQ(verdict_of("250*OK\r\n", NULL), TORCTL_PARSE_BAD_STATUS);
	CHECK_INT_EQ(verdict_of("350 OK\r\n", NULL), TORCTL_PARSE_BAD_STATUS);
	CHECK_INT_EQ(verdict_of("750 OK\r\n", NULL), TORCTL_PARSE_BAD_STATUS);
	CHECK_INT_EQ(verdict_of("\r\n", NULL), TORCTL_PARSE_BAD_STATUS);
	CHECK_INT_EQ(verdict_of("250 OK\n", NULL), TORCTL_PARSE_BARE_LF);
	CHECK_INT_EQ(verdict_of("250+x=\r\nab\n.\r\n250 OK\r\n", NULL),
	    TORCTL_PARSE_BARE_LF);
	CHECK_INT_EQ(verdict_of_n("250 O\0K\r\n", 9, NULL), TORCTL_PARSE_NUL);
	/* Fine: the empty end line, CR inside a line, 4yz, high bytes. */
	CHECK_INT_EQ(verdict_of("250 \r\n", NULL), 0);
	CHECK_INT_EQ(verdict_of("250 a\rb\r\n", NULL), 0);
	CHECK_INT_EQ(verdict_of("451 Resource exhausted\r\n", NULL), 0);
	CHECK_INT_EQ(verdict_of("250 \xff\xfe\r\n", NULL), 0);
}

static void
test_error_is_sticky(void)
{
	struct torctl_parser p;
	struct torctl_reply *r;
	size_t used;

	torctl_parser_init(&p, NULL);
	CHECK_INT_EQ(torctl_parser_feed(&p, "xyz\r\n250 OK\r\n", 13, &used,
	    &r), TORCTL_FEED_ERROR);
	CHECK(r == NULL);
	CHECK_INT_EQ(torctl_parser_feed(&p, "250 OK\r\n", 8, &used, &r),
	    TORCTL_FEED_ERROR);
	CHECK_INT_EQ(used, 0);
	CHECK_INT_EQ(torctl_parser_finish(&p), -1);
	CHECK(strstr(torctl_parser_why(&p), "malformed status line") != NULL);
	torctl_parser_clear(&p);
}

static void
test_truncated(void)
{
	CHECK_INT_EQ(verdict_of("250-a\r\n", NULL), TORCTL_PARSE_TRUNCATED);
	CHECK_INT_EQ(verdict_of("250 O", NULL), TORCTL_PARSE_TRUNCATED);
	CHECK_INT_EQ(verdict_of("250 OK\r", NULL), TORCTL_PARSE_TRUNCATED);
	CHECK_INT_EQ(verdict_of("250+md/all=\r\nabc\r\n", NULL),
	    TORCTL_PARSE_TRUNCATED);
	CHECK_INT_EQ(verdict_of("250+md/all=\r\nabc\r\n.\r\n", NULL),
	    TORCTL_PARSE_TRUNCATED);
	CHECK_INT_EQ(verdict_of("650+HS_DESC_CONTENT a b c\r\n\r\n.\r\n",
	    NULL), TORCTL_PARSE_TRUNCATED);
	/* An event in progress does not hide a truncated reply, nor back. */
	CHECK_INT_EQ(verdict_of("650-X\r\n250 OK\r\n", NULL),
	    TORCTL_PARSE_TRUNCATED);
	CHECK_INT_EQ(verdict_of("250-X\r\n650 OK\r\n", NULL),
	    TORCTL_PARSE_TRUNCATED);
	CHECK_INT_EQ(verdict_of("250-X\r\n650 OK\r\n250 OK\r\n", NULL), 0);
}

/* A status line of exactly max_line bytes passes; one more does not. */
static void
test_line_limit(void)
{
	const struct torctl_limits lim = { 16, 0 };

	CHECK_INT_EQ(verdict_of("250 0123456789ab\r\n", &lim), 0);
	CHECK_INT_EQ(verdict_of("250 0123456789abc\r\n", &lim),
	    TORCTL_PARSE_LINE_TOO_LONG);
	/* Detected before the end of the line arrives. */
	CHECK_INT_EQ(verdict_of("250 0123456789abcdefgh", &lim),
	    TORCTL_PARSE_LINE_TOO_LONG);
	/* Data lines are bounded the same way (the dot counts). */
	CHECK_INT_EQ(verdict_of("250+k=\r\n.123456789abcdef\r\n.\r\n250 OK\r\n",
	    &lim), 0);
	CHECK_INT_EQ(verdict_of("250+k=\r\n0123456789abcdefg\r\n.\r\n"
	    "250 OK\r\n", &lim), TORCTL_PARSE_LINE_TOO_LONG);
}

/* The default limits hold for a long line fed in small pieces too. */
static void
test_default_line_limit(void)
{
	size_t n = TORCTL_DEFAULT_MAX_LINE + 8, i;
	size_t cuts[64];
	struct render out = { 0 };
	char *big;

	if ((big = malloc(n)) == NULL)
		abort();
	memcpy(big, "250 ", 4);
	memset(big + 4, 'a', n - 4);
	for (i = 0; i < 64; i++)
		cuts[i] = i * 1024;
	CHECK_INT_EQ(parse_pieces(big, n, cuts, 64, NULL, &out),
	    TORCTL_PARSE_LINE_TOO_LONG);
	free(out.buf);
	free(big);
}

static void
test_reply_limit(void)
{
	const struct torctl_limits lim = { 64, 200 };
	struct render wire = { 0 };
	size_t i;

	/* A data block that grows past the limit. */
	render_add(&wire, "250+k=\r\n", 8);
	for (i = 0; i < 20; i++)
		render_add(&wire, "0123456789\r\n", 12);
	CHECK_INT_EQ(verdict_of_n(wire.buf, wire.len, &lim), TORCTL_PARSE_REPLY_TOO_LARGE);
	free(wire.buf);

	/* Many short lines: the bookkeeping of each line counts too. */
	memset(&wire, 0, sizeof(wire));
	for (i = 0; i < 20; i++)
		render_add(&wire, "250-\r\n", 6);
	CHECK_INT_EQ(verdict_of_n(wire.buf, wire.len, &lim), TORCTL_PARSE_REPLY_TOO_LARGE);
	free(wire.buf);

	/* The limit is per reply: many small replies are fine. */
	memset(&wire, 0, sizeof(wire));
	for (i = 0; i < 100; i++)
		render_add(&wire, "250 OK\r\n", 8);
	CHECK_INT_EQ(verdict_of(wire.buf, &lim), 0);
	free(wire.buf);
}

static void
test_kv_and_words(void)
{
	char out[64];
	const char *auth = "AUTH METHODS=COOKIE,SAFECOOKIE "
	    "COOKIEFILE=\"/a b/\\\"c\\\\d\\n\\101\\x42\"";

	CHECK_INT_EQ(torctl_kv_get(auth, "METHODS", out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "COOKIE,SAFECOOKIE");
	CHECK_INT_EQ(torctl_kv_get(auth, "COOKIEFILE", out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "/a b/\"c\\d\nAB");
	CHECK_INT_EQ(torctl_kv_get(auth, "COOKIE", out, sizeof(out)), -1);
	CHECK_INT_EQ(torctl_kv_get(auth, "METHODS", out, 5), -1);
	CHECK_INT_EQ(torctl_kv_get("K=\"open", "K", out, sizeof(out)), -1);
	CHECK_INT_EQ(torctl_kv_get("K=\"a\"b\"", "K", out, sizeof(out)), -1);
	CHECK_INT_EQ(torctl_kv_get("K=\"\\0\"", "K", out, sizeof(out)), -1);
	CHECK_INT_EQ(torctl_kv_get("K=\"\\q\"", "K", out, sizeof(out)), -1);
	CHECK_INT_EQ(torctl_kv_get("K=a\"b", "K", out, sizeof(out)), -1);
	CHECK_INT_EQ(torctl_kv_get("K=", "K", out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "");
	CHECK_INT_EQ(torctl_word(auth, 2, out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "COOKIEFILE=\"/a b/\\\"c\\\\d\\n\\101\\x42\"");
	CHECK_INT_EQ(torctl_word(auth, 3, out, sizeof(out)), -1);
	CHECK_INT_EQ(torctl_word("  a   b ", 1, out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "b");
}

static void
test_getinfo_lookup(void)
{
	static const char in[] = "250-version=0.4.9.11\r\n"
	    "250-md/all=\r\n"
	    "250+config-text=\r\n"
	    "A 1\r\n"
	    ".\r\n"
	    "250 OK\r\n";
	struct torctl_parser p;
	struct torctl_reply *r;
	const char *v;
	size_t used, len = 99;

	torctl_parser_init(&p, NULL);
	CHECK_INT_EQ(torctl_parser_feed(&p, in, sizeof(in) - 1, &used, &r),
	    TORCTL_FEED_REPLY);
	if (r == NULL)
		return;
	v = torctl_reply_getinfo(r, "version", &len);
	CHECK(v != NULL && len == 8 && memcmp(v, "0.4.9.11", 8) == 0);
	v = torctl_reply_getinfo(r, "md/all", &len);
	CHECK(v != NULL && len == 0);
	v = torctl_reply_getinfo(r, "config-text", &len);
	CHECK(v != NULL && len == 4 && strcmp(v, "A 1\n") == 0);
	CHECK(torctl_reply_getinfo(r, "OK", &len) == NULL);
	CHECK(!torctl_reply_is_event(r));
	CHECK_STR_EQ(torctl_reply_message(r), "OK");
	torctl_reply_free(r);
	torctl_parser_clear(&p);
}

TEST_MAIN(
	TEST_CASE(test_session_rendered),
	TEST_CASE(test_every_split_point),
	TEST_CASE(test_byte_at_a_time),
	TEST_CASE(test_md_all_byte_exact),
	TEST_CASE(test_garbage),
	TEST_CASE(test_error_is_sticky),
	TEST_CASE(test_truncated),
	TEST_CASE(test_line_limit),
	TEST_CASE(test_default_line_limit),
	TEST_CASE(test_reply_limit),
	TEST_CASE(test_kv_and_words),
	TEST_CASE(test_getinfo_lookup),
)

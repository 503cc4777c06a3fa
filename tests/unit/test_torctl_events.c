/*
 * HS_DESC, HS_DESC_CONTENT and STATUS_CLIENT parsers, on lines captured
 * from a tor 0.4.9.11 test network (tests/data/tor-0.4.9-testnet), and on
 * malformed variants of them.
 */
#include <stdlib.h>
#include <string.h>

#include "torctl_events.h"
#include "torctl_parse.h"
#include "test.h"

#define BE1 "vckzlz6oomfw62y2l4rl36gt2qmeyl4qb6qz633eamuh3wgjceb2myyd"
#define BE1_BLINDED "kkOZq+12o/8so+SGsksgq/Vp+x3KSeD5bsnWo+Cecxk"
#define R6 "$1DDC42DADEB7938D572E08DB959D65DA89EE836E~r6"

/* Parses one complete reply from a string; NULL if it is not one. */
static struct torctl_reply *
reply_of(const char *wire)
{
	struct torctl_parser p;
	struct torctl_reply *r = NULL;
	size_t used;

	torctl_parser_init(&p, NULL);
	if (torctl_parser_feed(&p, wire, strlen(wire), &used, &r) !=
	    TORCTL_FEED_REPLY || used != strlen(wire)) {
		torctl_reply_free(r);
		r = NULL;
	}
	torctl_parser_clear(&p);
	return r;
}

static int
hs_desc_of(const char *wire, struct torctl_hs_desc *ev)
{
	struct torctl_reply *r = reply_of(wire);
	const char *why;
	int rv;

	if (r == NULL)
		return -2;
	rv = torctl_parse_hs_desc(r, ev, &why);
	torctl_reply_free(r);
	return rv;
}

/* The raw capture has LF line ends (the capture tool dropped the CRs). */
static char *
capture_as_wire(const char *name, size_t *len)
{
	char *raw = test_read_data(name, NULL), *wire, *o;
	const char *s;

	if ((wire = malloc(2 * strlen(raw) + 1)) == NULL)
		abort();
	for (s = raw, o = wire; *s != '\0'; s++) {
		if (*s == '\n')
			*o++ = '\r';
		*o++ = *s;
	}
	*len = (size_t)(o - wire);
	free(raw);
	return wire;
}

static void
test_capture_hs_desc_content_is_byte_exact(void)
{
	struct torctl_parser p;
	struct torctl_reply *r;
	struct torctl_hs_desc hd;
	struct torctl_hs_desc_content hc;
	char *wire, *want;
	const char *why;
	size_t len, off = 0, used, wantlen, ndesc = 0, ncontent = 0;

	wire = capture_as_wire("tor-0.4.9-testnet/hsfetch-events-raw.txt",
	    &len);
	want = test_read_data("tor-0.4.9-testnet/backend-descriptor.txt",
	    &wantlen);
	torctl_parser_init(&p, NULL);
	while (torctl_parser_feed(&p, wire + off, len - off, &used, &r) ==
	    TORCTL_FEED_REPLY) {
		off += used;
		CHECK(torctl_reply_is_event(r));
		if (torctl_parse_hs_desc(r, &hd, &why) == 0)
			ndesc++;
		else if (torctl_parse_hs_desc_content(r, &hc, &why) == 0) {
			if (ncontent++ == 0) {
				CHECK_STR_EQ(hc.address, BE1);
				CHECK_STR_EQ(hc.blinded, BE1_BLINDED);
				CHECK_STR_EQ(hc.hsdir, R6);
				CHECK_STR_EQ(hc.hsdir_fpr,
				    "1DDC42DADEB7938D572E08DB959D65DA89EE836E");
				CHECK_INT_EQ(hc.body_len, wantlen);
				CHECK(hc.body_len == wantlen &&
				    memcmp(hc.body, want, wantlen) == 0);
			}
		} else
			CHECK(!"an event that parses as neither");
		torctl_reply_free(r);
	}
	off += used;
	CHECK_INT_EQ(off, len);
	CHECK_INT_EQ(torctl_parser_finish(&p), 0);
	/* 3 fetches seen through: REQUESTED, RECEIVED and CONTENT each. */
	CHECK_INT_EQ(ndesc, 6);
	CHECK_INT_EQ(ncontent, 3);
	torctl_parser_clear(&p);
	free(wire);
	free(want);
}

static void
test_hs_desc_requested_received(void)
{
	struct torctl_hs_desc ev;

	CHECK_INT_EQ(hs_desc_of("650 HS_DESC REQUESTED " BE1 " NO_AUTH " R6
	    " " BE1_BLINDED " HSDIR_INDEX=073EA9B3DDEB1E228EE5213586966F141E"
	    "B4BD9C94AD62D26FDFF3BAE52AB78B\r\n", &ev), 0);
	CHECK_INT_EQ(ev.action, TORCTL_HS_DESC_REQUESTED);
	CHECK_STR_EQ(ev.address, BE1);
	CHECK_STR_EQ(ev.auth, "NO_AUTH");
	CHECK_STR_EQ(ev.hsdir, R6);
	CHECK_STR_EQ(ev.hsdir_fpr, "1DDC42DADEB7938D572E08DB959D65DA89EE836E");
	CHECK_STR_EQ(ev.blinded, BE1_BLINDED);
	CHECK_STR_EQ(ev.hsdir_index,
	    "073EA9B3DDEB1E228EE5213586966F141EB4BD9C94AD62D26FDFF3BAE52AB78B");
	CHECK_STR_EQ(ev.reason, "");

	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 " NO_AUTH " R6
	    " " BE1_BLINDED "\r\n", &ev), 0);
	CHECK_INT_EQ(ev.action, TORCTL_HS_DESC_RECEIVED);
	CHECK_STR_EQ(ev.blinded, BE1_BLINDED);
	CHECK_STR_EQ(ev.hsdir_index, "");
}

/* HSPOST results: no descriptor id, auth UNKNOWN (control-events-examples). */
static void
test_hs_desc_uploaded_failed_created(void)
{
	struct torctl_hs_desc ev;

	CHECK_INT_EQ(hs_desc_of("650 HS_DESC UPLOADED le5tsbi4izbr7pzfxabhcrf"
	    "we5jokzdpkvwgucbfh4rhf5r2fi3hgvid UNKNOWN $A29CD38C60AC298A2B0214"
	    "44011164301595D465~a2\r\n", &ev), 0);
	CHECK_INT_EQ(ev.action, TORCTL_HS_DESC_UPLOADED);
	CHECK_STR_EQ(ev.auth, "UNKNOWN");
	CHECK_STR_EQ(ev.hsdir_fpr, "A29CD38C60AC298A2B021444011164301595D465");
	CHECK_STR_EQ(ev.blinded, "");

	CHECK_INT_EQ(hs_desc_of("650 HS_DESC FAILED " BE1 " NO_AUTH " R6 " "
	    BE1_BLINDED " REASON=NOT_FOUND\r\n", &ev), 0);
	CHECK_INT_EQ(ev.action, TORCTL_HS_DESC_FAILED);
	CHECK_STR_EQ(ev.reason, "NOT_FOUND");

	CHECK_INT_EQ(hs_desc_of("650 HS_DESC FAILED " BE1 " NO_AUTH UNKNOWN "
	    BE1_BLINDED " REASON=QUERY_NO_HSDIR\r\n", &ev), 0);
	CHECK_STR_EQ(ev.hsdir, "UNKNOWN");
	CHECK_STR_EQ(ev.hsdir_fpr, "");
	CHECK_STR_EQ(ev.reason, "QUERY_NO_HSDIR");

	CHECK_INT_EQ(hs_desc_of("650 HS_DESC CREATED " BE1 " UNKNOWN UNKNOWN "
	    BE1_BLINDED "\r\n", &ev), 0);
	CHECK_INT_EQ(ev.action, TORCTL_HS_DESC_CREATED);
	CHECK_STR_EQ(ev.blinded, BE1_BLINDED);
	/* Keywords tor may add later are skipped. */
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 " NO_AUTH " R6
	    " " BE1_BLINDED " REPLICA=1 NEWTHING=x\r\n", &ev), 0);
}

static void
test_hs_desc_rejects(void)
{
	struct torctl_hs_desc ev;

	/* Address with .onion, too short, upper case. */
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 ".onion NO_AUTH "
	    R6 "\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED vckz NO_AUTH " R6
	    "\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED VCKZLZ6OOMFW62Y2L4RL3"
	    "6GT2QMEYL4QB6QZ633EAMUH3WGJCEB2MYYD NO_AUTH " R6 "\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC GOT " BE1 " NO_AUTH " R6 "\r\n",
	    &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 " NO_AUTH\r\n",
	    &ev), -1);
	/* HSDir names: short fingerprint, bad nickname, no '$'. */
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 " NO_AUTH $1DDC~r6"
	    "\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 " NO_AUTH " R6
	    "-x\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 " NO_AUTH "
	    "1DDC42DADEB7938D572E08DB959D65DA89EE836E\r\n", &ev), -1);
	/* Blinded key: short, or a bad character. */
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 " NO_AUTH " R6
	    " kkOZq\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 " NO_AUTH " R6
	    " kkOZq+12o/8so+SGsksgq/Vp+x3KSeD5bsnWo+Cecx!\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC RECEIVED " BE1 " NO_AUTH " R6
	    " " BE1_BLINDED " extra\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC REQUESTED " BE1 " NO_AUTH " R6
	    " " BE1_BLINDED " HSDIR_INDEX=073E\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 HS_DESC FAILED " BE1 " NO_AUTH " R6 " "
	    BE1_BLINDED " REASON=\"unterminated\r\n", &ev), -1);
	/* Not a one-line 650 HS_DESC. */
	CHECK_INT_EQ(hs_desc_of("250 HS_DESC RECEIVED " BE1 " NO_AUTH " R6
	    "\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650-HS_DESC RECEIVED " BE1 " NO_AUTH " R6
	    "\r\n650 OK\r\n", &ev), -1);
	CHECK_INT_EQ(hs_desc_of("650 STATUS_CLIENT NOTICE X\r\n", &ev), -1);
	CHECK_STR_EQ(ev.address, "");
}

static int
content_of(const char *wire, struct torctl_hs_desc_content *ev)
{
	struct torctl_reply *r = reply_of(wire);
	const char *why;
	int rv;

	if (r == NULL)
		return -2;
	rv = torctl_parse_hs_desc_content(r, ev, &why);
	torctl_reply_free(r);
	return rv;
}

static void
test_hs_desc_content(void)
{
	struct torctl_hs_desc_content ev;
	const char *head = "650+HS_DESC_CONTENT " BE1 " " BE1_BLINDED " " R6
	    "\r\n";
	struct torctl_reply *r;
	const char *why;
	char wire[512];

	/* A failed fetch: one empty line, reported as an empty body. */
	snprintf(wire, sizeof(wire), "%s\r\n.\r\n650 OK\r\n", head);
	CHECK_INT_EQ(content_of(wire, &ev), 0);
	CHECK_INT_EQ(ev.body_len, 0);
	CHECK_STR_EQ(ev.address, BE1);

	/* The body points into the reply, so keep that alive here. */
	snprintf(wire, sizeof(wire), "%sa\r\n..b\r\n.\r\n650 OK\r\n", head);
	r = reply_of(wire);
	CHECK(r != NULL && torctl_parse_hs_desc_content(r, &ev, &why) == 0);
	CHECK(ev.body_len == 5 && memcmp(ev.body, "a\n.b\n", 5) == 0);
	torctl_reply_free(r);

	snprintf(wire, sizeof(wire), "%s\r\n.\r\n650 NOT OK\r\n", head);
	CHECK_INT_EQ(content_of(wire, &ev), -1);
	snprintf(wire, sizeof(wire), "650+HS_DESC_CONTENT " BE1 " "
	    BE1_BLINDED " " R6 " more\r\n\r\n.\r\n650 OK\r\n");
	CHECK_INT_EQ(content_of(wire, &ev), -1);
	snprintf(wire, sizeof(wire), "650+HS_DESC_CONTENT " BE1 " short " R6
	    "\r\n\r\n.\r\n650 OK\r\n");
	CHECK_INT_EQ(content_of(wire, &ev), -1);
	snprintf(wire, sizeof(wire), "650-HS_DESC_CONTENT " BE1 " "
	    BE1_BLINDED " " R6 "\r\n650 OK\r\n");
	CHECK_INT_EQ(content_of(wire, &ev), -1);
}

static void
test_status_client_and_keyword(void)
{
	struct torctl_status_client sc;
	struct torctl_reply *r;
	const char *why;
	char kw[32];

	r = reply_of("650 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\r\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK_INT_EQ(torctl_parse_status_client(r, &sc, &why), 0);
	CHECK_STR_EQ(sc.severity, "NOTICE");
	CHECK_STR_EQ(sc.action, "CONSENSUS_ARRIVED");
	CHECK_INT_EQ(torctl_event_keyword(r, kw, sizeof(kw)), 0);
	CHECK_STR_EQ(kw, "STATUS_CLIENT");
	CHECK_INT_EQ(torctl_event_keyword(r, kw, 5), -1);
	torctl_reply_free(r);

	r = reply_of("650 STATUS_CLIENT LOUD CONSENSUS_ARRIVED\r\n");
	CHECK(r != NULL && torctl_parse_status_client(r, &sc, &why) == -1);
	torctl_reply_free(r);
	r = reply_of("250 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\r\n");
	CHECK(r != NULL && torctl_parse_status_client(r, &sc, &why) == -1);
	CHECK(r != NULL && torctl_event_keyword(r, kw, sizeof(kw)) == -1);
	torctl_reply_free(r);
}

TEST_MAIN(
	TEST_CASE(test_capture_hs_desc_content_is_byte_exact),
	TEST_CASE(test_hs_desc_requested_received),
	TEST_CASE(test_hs_desc_uploaded_failed_created),
	TEST_CASE(test_hs_desc_rejects),
	TEST_CASE(test_hs_desc_content),
	TEST_CASE(test_status_client_and_keyword),
)

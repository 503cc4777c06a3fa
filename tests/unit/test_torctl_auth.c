/*
 * The pure parts of control-port authentication: PROTOCOLINFO and
 * AUTHCHALLENGE replies (as tor 0.4.9 writes them), the choice of method,
 * the SAFECOOKIE hashes (expected values computed independently with
 * Python's hmac module), the cookie file and password quoting.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "torctl_auth.h"
#include "torctl_parse.h"
#include "test.h"

static struct torctl_reply *
reply_of(const char *wire)
{
	struct torctl_parser p;
	struct torctl_reply *r = NULL;
	size_t used;

	torctl_parser_init(&p, NULL);
	if (torctl_parser_feed(&p, wire, strlen(wire), &used, &r) !=
	    TORCTL_FEED_REPLY)
		r = NULL;
	torctl_parser_clear(&p);
	return r;
}

static int
protocolinfo_of(const char *wire, struct torctl_protocolinfo *pi)
{
	struct torctl_reply *r = reply_of(wire);
	const char *why;
	int rv;

	if (r == NULL)
		return -2;
	rv = torctl_parse_protocolinfo(r, pi, &why);
	torctl_reply_free(r);
	return rv;
}

static void
test_protocolinfo(void)
{
	struct torctl_protocolinfo pi;

	/* What tor 0.4.9.11 sent with no authentication configured. */
	CHECK_INT_EQ(protocolinfo_of("250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=NULL\r\n"
	    "250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n", &pi), 0);
	CHECK_INT_EQ(pi.methods, TORCTL_AUTH_NULL);
	CHECK_STR_EQ(pi.cookie_file, "");
	CHECK_STR_EQ(pi.version, "0.4.9.11");

	CHECK_INT_EQ(protocolinfo_of("250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=COOKIE,SAFECOOKIE,HASHEDPASSWORD,FUTURE "
	    "COOKIEFILE=\"/var/run/tor/control \\\"x\\\".authcookie\"\r\n"
	    "250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n", &pi), 0);
	CHECK_INT_EQ(pi.methods, TORCTL_AUTH_COOKIE | TORCTL_AUTH_SAFECOOKIE |
	    TORCTL_AUTH_HASHEDPASSWORD);
	CHECK_STR_EQ(pi.cookie_file, "/var/run/tor/control \"x\".authcookie");

	CHECK_INT_EQ(protocolinfo_of("250-PROTOCOLINFO 1\r\n"
	    "250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n", &pi), -1);
	CHECK_INT_EQ(protocolinfo_of("250-PROTOCOLINFO 1\r\n"
	    "250-AUTH COOKIEFILE=\"/x\"\r\n250 OK\r\n", &pi), -1);
	CHECK_INT_EQ(protocolinfo_of("250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=COOKIE COOKIEFILE=\"/x\r\n250 OK\r\n", &pi), -1);
	CHECK_INT_EQ(protocolinfo_of("250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=NULL\r\n250-AUTH METHODS=COOKIE\r\n250 OK\r\n",
	    &pi), -1);
	CHECK_INT_EQ(protocolinfo_of("250-PROTOCOLINFO 2\r\n"
	    "250-AUTH METHODS=NULL\r\n250 OK\r\n", &pi), -1);
	CHECK_INT_EQ(protocolinfo_of("513 No such version \"x\"\r\n", &pi),
	    -1);
	CHECK_INT_EQ(pi.methods, 0);
}

static void
test_choose(void)
{
	const unsigned all = TORCTL_AUTH_ALL;

	CHECK_INT_EQ(torctl_auth_choose(all, all, true, true),
	    TORCTL_AUTH_SAFECOOKIE);
	CHECK_INT_EQ(torctl_auth_choose(all, all & ~TORCTL_AUTH_SAFECOOKIE,
	    true, true), TORCTL_AUTH_COOKIE);
	CHECK_INT_EQ(torctl_auth_choose(all, all, false, true),
	    TORCTL_AUTH_HASHEDPASSWORD);
	CHECK_INT_EQ(torctl_auth_choose(all, all, false, false),
	    TORCTL_AUTH_NULL);
	CHECK_INT_EQ(torctl_auth_choose(TORCTL_AUTH_COOKIE |
	    TORCTL_AUTH_SAFECOOKIE, TORCTL_AUTH_HASHEDPASSWORD, true, true),
	    TORCTL_AUTH_NONE);
	CHECK_INT_EQ(torctl_auth_choose(TORCTL_AUTH_HASHEDPASSWORD, all, true,
	    false), TORCTL_AUTH_NONE);
	CHECK_INT_EQ(torctl_auth_choose(0, all, true, true), TORCTL_AUTH_NONE);
}

static void
test_safecookie(void)
{
	uint8_t cookie[32], cn[32], sn[32], sh[32], ch[32];
	struct torctl_reply *r;
	const char *why;
	size_t i;

	for (i = 0; i < 32; i++) {
		cookie[i] = (uint8_t)i;
		cn[i] = 0xaa;
	}
	r = reply_of("250 AUTHCHALLENGE SERVERHASH=965EAE5A3DCDD869CE4C421C01E"
	    "3C763E117414FBDA902D7AD21BCA42D646011 SERVERNONCE=404142434445464"
	    "748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F\r\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK_INT_EQ(torctl_parse_authchallenge(r, sh, sn, &why), 0);
	torctl_reply_free(r);
	CHECK_HEX(sn, 32, "404142434445464748494a4b4c4d4e4f"
	    "505152535455565758595a5b5c5d5e5f");
	CHECK_INT_EQ(torctl_safecookie_respond(cookie, cn, sn, sh, ch), 0);
	CHECK_HEX(ch, 32, "49b2a50f81b4064fc70be64757812e23"
	    "eea13867db225429a13130047ce352a8");
	/* Any other cookie, nonce or hash: tor is not who it says. */
	memset(ch, 0, sizeof(ch));
	sh[31] ^= 1;
	CHECK_INT_EQ(torctl_safecookie_respond(cookie, cn, sn, sh, ch), -1);
	CHECK_HEX(ch, 32, "0000000000000000000000000000000000000000000000000000"
	    "000000000000");
	sh[31] ^= 1;
	cn[0] ^= 1;
	CHECK_INT_EQ(torctl_safecookie_respond(cookie, cn, sn, sh, ch), -1);
}

static void
test_authchallenge_rejects(void)
{
	uint8_t sh[32], sn[32];
	struct torctl_reply *r;
	const char *bad[] = {
		"250 AUTHCHALLENGE SERVERHASH=00 SERVERNONCE=00\r\n",
		"250 AUTHCHALLENGE SERVERNONCE=" "0000000000000000000000000000"
		    "000000000000000000000000000000000000\r\n",
		"250 OK SERVERHASH=" "0000000000000000000000000000"
		    "000000000000000000000000000000000000 SERVERNONCE=0000000000"
		    "000000000000000000000000000000000000000000000000000000\r\n",
		"250 AUTHCHALLENGE SERVERHASH=" "zz00000000000000000000000000"
		    "000000000000000000000000000000000000 SERVERNONCE=0000000000"
		    "000000000000000000000000000000000000000000000000000000\r\n",
		"515 Cookie authentication is disabled\r\n",
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = reply_of(bad[i]);
		CHECK(r != NULL &&
		    torctl_parse_authchallenge(r, sh, sn, &why) == -1);
		torctl_reply_free(r);
	}
}

static void
test_cookie_fd(void)
{
	uint8_t cookie[32], want[32];
	int fds[2];
	size_t i;

	for (i = 0; i < 32; i++)
		want[i] = (uint8_t)(0xc0 + i);
	/* Exactly 32 bytes. */
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], want, 32) == 32);
	close(fds[1]);
	CHECK_INT_EQ(torctl_cookie_read_fd(fds[0], cookie), 0);
	CHECK(memcmp(cookie, want, 32) == 0);
	close(fds[0]);
	/* 33 and 31 bytes are not a cookie. */
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], want, 32) == 32 && write(fds[1], "x", 1) == 1);
	close(fds[1]);
	CHECK_INT_EQ(torctl_cookie_read_fd(fds[0], cookie), -1);
	close(fds[0]);
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], want, 31) == 31);
	close(fds[1]);
	CHECK_INT_EQ(torctl_cookie_read_fd(fds[0], cookie), -1);
	close(fds[0]);
	CHECK_INT_EQ(torctl_cookie_read_path("/nonexistent/cookie", cookie),
	    -1);
}

static void
test_quote_string(void)
{
	char out[32];

	CHECK_INT_EQ(torctl_quote_string("pass word", out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "\"pass word\"");
	CHECK_INT_EQ(torctl_quote_string("a\"b\\c", out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "\"a\\\"b\\\\c\"");
	CHECK_INT_EQ(torctl_quote_string("", out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "\"\"");
	/* CR or LF would end the command and start another. */
	CHECK_INT_EQ(torctl_quote_string("x\r\nSIGNAL HALT", out,
	    sizeof(out)), -1);
	CHECK_INT_EQ(torctl_quote_string("x\n", out, sizeof(out)), -1);
	CHECK_INT_EQ(torctl_quote_string("\x7f", out, sizeof(out)), -1);
	CHECK_INT_EQ(torctl_quote_string("0123456789", out, 13), 0);
	CHECK_INT_EQ(torctl_quote_string("0123456789", out, 12), -1);
	CHECK_INT_EQ(torctl_quote_string("\"\"\"\"", out, 10), -1);
	CHECK_INT_EQ(torctl_quote_string("\"\"\"\"", out, 11), 0);
}

TEST_MAIN(
	TEST_CASE(test_protocolinfo),
	TEST_CASE(test_choose),
	TEST_CASE(test_safecookie),
	TEST_CASE(test_authchallenge_rejects),
	TEST_CASE(test_cookie_fd),
	TEST_CASE(test_quote_string),
)

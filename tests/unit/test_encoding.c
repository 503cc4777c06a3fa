/*
 * hex, base32 and base64: the RFC 4648 section 10 vectors, tor's multiline
 * layout, and every way a strict decoder must say no.
 */
#include <ctype.h>
#include <string.h>

#include "encoding.h"
#include "test.h"

struct vector {
	const char	*plain;
	const char	*base32;
	const char	*base64;	/* padded */
	const char	*base64_nopad;
};

/* RFC 4648 section 10 (base32 in lower case, without its '=' padding). */
static const struct vector rfc4648[] = {
	{ "",		"",		"",		"" },
	{ "f",		"my",		"Zg==",		"Zg" },
	{ "fo",		"mzxq",		"Zm8=",		"Zm8" },
	{ "foo",	"mzxw6",	"Zm9v",		"Zm9v" },
	{ "foob",	"mzxw6yq",	"Zm9vYg==",	"Zm9vYg" },
	{ "fooba",	"mzxw6ytb",	"Zm9vYmE=",	"Zm9vYmE" },
	{ "foobar",	"mzxw6ytboi",	"Zm9vYmFy",	"Zm9vYmFy" },
};
#define NVECTORS	(sizeof(rfc4648) / sizeof(rfc4648[0]))

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

static ssize_t
b32dec(uint8_t *out, size_t outsz, const char *s)
{
	return base32_decode(out, outsz, s, strlen(s));
}

/*
 * Both decoders, the constant-time one and the table-driven one
 * (BASE64_PUBLIC), must return the same and write the same bytes.
 */
static ssize_t
b64dec_len(uint8_t *out, size_t outsz, const char *s, size_t len, int flags)
{
	uint8_t pub[512];
	ssize_t n, m;

	CHECK(outsz <= sizeof(pub));
	m = base64_decode(pub, outsz, s, len, flags | BASE64_PUBLIC);
	n = base64_decode(out, outsz, s, len, flags);
	CHECK_INT_EQ(m, n);
	if (n > 0)
		CHECK(memcmp(out, pub, (size_t)n) == 0);
	return n;
}

static ssize_t
b64dec(uint8_t *out, size_t outsz, const char *s, int flags)
{
	return b64dec_len(out, outsz, s, strlen(s), flags);
}

static void
test_hex(void)
{
	const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	uint8_t out[8];
	char text[17];

	hex_encode(text, bytes, sizeof(bytes));
	CHECK_STR_EQ(text, "00017f80abcdefff");
	hex_encode_upper(text, bytes, sizeof(bytes));
	CHECK_STR_EQ(text, "00017F80ABCDEFFF");
	hex_encode(text, bytes, 0);
	CHECK_STR_EQ(text, "");

	CHECK_INT_EQ(hex_decode(out, 8, "00017f80ABcdEFff", 16), 8);
	CHECK(memcmp(out, bytes, 8) == 0);
	CHECK_INT_EQ(hex_decode(out, 0, "", 0), 0);
	/* exactly 2*outlen digits */
	CHECK_INT_EQ(hex_decode(out, 8, "00017f80abcdef", 14), -1);
	CHECK_INT_EQ(hex_decode(out, 7, "00017f80abcdefff", 16), -1);
	CHECK_INT_EQ(hex_decode(out, 1, "0", 1), -1);
	/* characters next to the ranges */
	CHECK_INT_EQ(hex_decode(out, 1, "0g", 2), -1);
	CHECK_INT_EQ(hex_decode(out, 1, "G0", 2), -1);
	CHECK_INT_EQ(hex_decode(out, 1, "/0", 2), -1);
	CHECK_INT_EQ(hex_decode(out, 1, ":0", 2), -1);
	CHECK_INT_EQ(hex_decode(out, 1, "@0", 2), -1);
	CHECK_INT_EQ(hex_decode(out, 1, "`0", 2), -1);
	CHECK_INT_EQ(hex_decode(out, 1, " 0", 2), -1);
	CHECK_INT_EQ(hex_decode(out, 1, "0\0", 2), -1);
}

/* Every byte value: the decoders' masks agree with a plain lookup. */
static void
test_every_character(void)
{
	const char *hexdigits = "0123456789abcdefABCDEF";
	uint8_t out[4];
	char in[4];
	int c;

	for (c = 0; c < 256; c++) {
		int hexok = c != 0 && strchr(hexdigits, c) != NULL;
		int b32ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '2' && c <= '7');
		int b64ok = c != 0 && strchr(b64_alphabet, c) != NULL;

		in[0] = in[1] = (char)c;
		CHECK_INT_EQ(hex_decode(out, 1, in, 2), hexok ? 1 : -1);
		/* "ca" decodes to 1 byte whatever c is (low bits of 'a' are 0) */
		in[0] = (char)c;
		in[1] = 'a';
		CHECK_INT_EQ(base32_decode(out, 4, in, 2), b32ok ? 1 : -1);
		in[1] = in[2] = in[3] = 'A';
		CHECK_INT_EQ(b64dec_len(out, 4, in, 4, 0), b64ok ? 3 : -1);
	}
}

/* Every value: encoder and decoder map it to the same character. */
static void
test_every_value(void)
{
	uint8_t in[3] = { 0 }, out[3];
	char text[8];
	unsigned int v;

	for (v = 0; v < 64; v++) {
		in[0] = (uint8_t)(v << 2);
		CHECK_INT_EQ(base64_encode(text, sizeof(text), in, 3, 0), 4);
		CHECK_INT_EQ(text[0], b64_alphabet[v]);
		CHECK_INT_EQ(b64dec_len(out, 3, text, 4, 0), 3);
		CHECK_INT_EQ(out[0], v << 2);
	}
	for (v = 0; v < 32; v++) {
		in[0] = (uint8_t)(v << 3);
		CHECK_INT_EQ(base32_encode(text, sizeof(text), in, 1), 2);
		CHECK_INT_EQ(text[0], b32_alphabet[v]);
		CHECK_INT_EQ(base32_decode(out, 1, text, 2), 1);
		CHECK_INT_EQ(out[0], v << 3);
	}
	for (v = 0; v < 16; v++) {
		in[0] = (uint8_t)(v << 4 | v);
		hex_encode(text, in, 1);
		CHECK_INT_EQ(text[0], "0123456789abcdef"[v]);
		CHECK_INT_EQ(text[1], "0123456789abcdef"[v]);
		hex_encode_upper(text, in, 1);
		CHECK_INT_EQ(text[0], "0123456789ABCDEF"[v]);
	}
}

static void
test_base32_rfc4648(void)
{
	char text[32], upper[32];
	uint8_t out[16];
	size_t i, j, len;

	for (i = 0; i < NVECTORS; i++) {
		len = strlen(rfc4648[i].plain);
		CHECK_INT_EQ(base32_encoded_len(len), strlen(rfc4648[i].base32));
		CHECK_INT_EQ(base32_encode(text, sizeof(text),
		    (const uint8_t *)rfc4648[i].plain, len),
		    strlen(rfc4648[i].base32));
		CHECK_STR_EQ(text, rfc4648[i].base32);

		CHECK_INT_EQ(b32dec(out, sizeof(out), rfc4648[i].base32), len);
		CHECK(memcmp(out, rfc4648[i].plain, len) == 0);
		/* Upper case, as RFC 4648 writes it, is accepted too. */
		for (j = 0; rfc4648[i].base32[j] != '\0'; j++)
			upper[j] = (char)toupper(
			    (unsigned char)rfc4648[i].base32[j]);
		upper[j] = '\0';
		CHECK_INT_EQ(b32dec(out, sizeof(out), upper), len);
		CHECK(memcmp(out, rfc4648[i].plain, len) == 0);
	}
}

static void
test_base32_rejects(void)
{
	uint8_t out[16];
	char text[16];

	/* never padded */
	CHECK_INT_EQ(b32dec(out, sizeof(out), "my======"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "MY======"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzxw6ytb="), -1);
	/* lengths no encoder writes: 1, 3 or 6 characters mod 8 */
	CHECK_INT_EQ(b32dec(out, sizeof(out), "m"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzx"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzxw6y"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzxw6ytbm"), -1);
	/* non-zero unused bits: "mz" would also mean "f" */
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mz"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzxr"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzxw7"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzxw6yr"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzxw6ytboj"), -1);
	/* outside the alphabet: digits 0, 1, 8, 9, white space */
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzx0"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "m1xq"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "8zxq"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzx9"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mz q"), -1);
	CHECK_INT_EQ(b32dec(out, sizeof(out), "mzxq\n"), -1);
	CHECK_INT_EQ(base32_decode(out, sizeof(out), "mz\0q", 4), -1);
	/* output buffer: exactly big enough works, one byte less fails */
	CHECK_INT_EQ(b32dec(out, 6, "mzxw6ytboi"), 6);
	CHECK_INT_EQ(b32dec(out, 5, "mzxw6ytboi"), -1);
	CHECK_INT_EQ(b32dec(out, 0, "my"), -1);
	/* the encoder needs room for the NUL */
	CHECK_INT_EQ(base32_encode(text, 11, (const uint8_t *)"foobar", 6), 10);
	CHECK_INT_EQ(base32_encode(text, 10, (const uint8_t *)"foobar", 6), -1);
	CHECK_INT_EQ(base32_encode(text, 0, (const uint8_t *)"", 0), -1);
	CHECK_INT_EQ(base32_encode(text, 1, (const uint8_t *)"", 0), 0);
}

static void
test_base64_rfc4648(void)
{
	char text[32];
	uint8_t out[16];
	size_t i, len;

	for (i = 0; i < NVECTORS; i++) {
		const struct vector *v = &rfc4648[i];

		len = strlen(v->plain);
		CHECK_INT_EQ(base64_encoded_len(len, BASE64_PAD),
		    strlen(v->base64));
		CHECK_INT_EQ(base64_encode(text, sizeof(text),
		    (const uint8_t *)v->plain, len, BASE64_PAD),
		    strlen(v->base64));
		CHECK_STR_EQ(text, v->base64);
		CHECK_INT_EQ(base64_encoded_len(len, 0), strlen(v->base64_nopad));
		CHECK_INT_EQ(base64_encode(text, sizeof(text),
		    (const uint8_t *)v->plain, len, 0), strlen(v->base64_nopad));
		CHECK_STR_EQ(text, v->base64_nopad);

		/* Either form decodes, with or without the multiline flag. */
		CHECK_INT_EQ(b64dec(out, sizeof(out), v->base64, 0), len);
		CHECK(memcmp(out, v->plain, len) == 0);
		CHECK_INT_EQ(b64dec(out, sizeof(out), v->base64_nopad, 0), len);
		CHECK(memcmp(out, v->plain, len) == 0);
		CHECK_INT_EQ(b64dec(out, sizeof(out), v->base64,
		    BASE64_MULTILINE), len);
		CHECK(memcmp(out, v->plain, len) == 0);
		CHECK(base64_decoded_maxlen(strlen(v->base64)) >= len);
		CHECK_INT_EQ(base64_decoded_maxlen(strlen(v->base64_nopad)), len);
	}
}

static void
test_base64_bad_padding(void)
{
	uint8_t out[16];

	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zg=", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zg===", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm8==", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9v=", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9v====", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "=", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "==", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "====", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Z===", 0), -1);
	/* padding only at the end */
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zg==Zg==", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zg=g", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "=Zm9v", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm=8", 0), -1);
}

static void
test_base64_truncated_and_trailing_bits(void)
{
	uint8_t out[16];

	/* one character left over carries no whole byte */
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Z", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9vY", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9vY=", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9vY==", 0), -1);
	/* "Zh" and "Zm9" have bits set that no byte uses */
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zh==", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zh", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9=", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9vYh==", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9vYmF=", 0), -1);
	/* the same with zero bits is fine */
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm8", 0), 2);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zg", 0), 1);
}

static void
test_base64_bad_characters(void)
{
	uint8_t out[16];

	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9v\n", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9v\r\n", BASE64_MULTILINE), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm 9v", BASE64_MULTILINE), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9v\t", BASE64_MULTILINE), -1);
	/* the URL-safe alphabet is another encoding */
	CHECK_INT_EQ(b64dec(out, sizeof(out), "-_-_", 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "+/+/", 0), 3);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9v.", 0), -1);
	CHECK_INT_EQ(b64dec_len(out, sizeof(out), "Zm\0v", 4, 0), -1);
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9\xc3\xa9", 0), -1);
}

static void
test_base64_output_too_small(void)
{
	uint8_t out[16];
	char text[16];

	CHECK_INT_EQ(b64dec(out, 6, "Zm9vYmFy", 0), 6);
	CHECK_INT_EQ(b64dec(out, 5, "Zm9vYmFy", 0), -1);
	CHECK_INT_EQ(b64dec(out, 4, "Zm9vYmE=", 0), -1);
	CHECK_INT_EQ(b64dec(out, 0, "Zg==", 0), -1);
	CHECK_INT_EQ(b64dec(out, 0, "", 0), 0);
	CHECK_INT_EQ(base64_encode(text, 9, (const uint8_t *)"foobar", 6,
	    BASE64_PAD), 8);
	CHECK_INT_EQ(base64_encode(text, 8, (const uint8_t *)"foobar", 6,
	    BASE64_PAD), -1);
	CHECK_INT_EQ(base64_encode(text, 5, (const uint8_t *)"f", 1,
	    BASE64_PAD), 4);
	CHECK_INT_EQ(base64_encode(text, 4, (const uint8_t *)"f", 1,
	    BASE64_PAD), -1);
	CHECK_INT_EQ(base64_encode(text, 3, (const uint8_t *)"f", 1, 0), 2);
	CHECK_INT_EQ(base64_encode(text, 0, (const uint8_t *)"", 0, 0), -1);
}

/*
 * A 140-byte tor-cert is 188 characters that tor splits 64/64/60, each line
 * ending in '\n'.  The expected text is from Python's base64 module.
 */
static void
test_base64_multiline_cert_layout(void)
{
	static const char want[] =
	    "AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVM\n"
	    "U1phaG92fYSLkpmgp661vMPK0djf5u30+wIJEBceJSwzOkFIT1ZdZGtyeYCHjpWc\n"
	    "o6qxuL/GzdTb4unw9/4FDBMaISgvNj1ES1JZYGdudXyDipGYn6attLvCydA=\n";
	const int flags = BASE64_PAD | BASE64_MULTILINE;
	uint8_t cert[140], out[140];
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(cert); i++)
		cert[i] = (uint8_t)(i * 7 + 3);
	CHECK_INT_EQ(base64_encoded_len(140, flags), 188 + 3);
	CHECK_INT_EQ(base64_encode(text, sizeof(text), cert, 140, flags), 191);
	CHECK_STR_EQ(text, want);
	CHECK(text[64] == '\n' && text[129] == '\n' && text[190] == '\n');
	CHECK_INT_EQ(base64_encode(text, 192, cert, 140, flags), 191);
	CHECK_INT_EQ(base64_encode(text, 191, cert, 140, flags), -1);

	CHECK_INT_EQ(b64dec(out, sizeof(out), want, BASE64_MULTILINE), 140);
	CHECK(memcmp(out, cert, 140) == 0);
	/* '\n' is skipped only when asked */
	CHECK_INT_EQ(b64dec(out, sizeof(out), want, 0), -1);
	CHECK_INT_EQ(b64dec(out, 139, want, BASE64_MULTILINE), -1);
	/* ... wherever it is, and a missing final '\n' is fine too */
	CHECK_INT_EQ(b64dec(out, sizeof(out), "\nZm9v\nYg\n==\n\n",
	    BASE64_MULTILINE), 4);
	CHECK_INT_EQ(base64_decode(out, sizeof(out), want, strlen(want) - 1,
	    BASE64_MULTILINE), 140);
	/* nothing but padding and newlines after padding */
	CHECK_INT_EQ(b64dec(out, sizeof(out), "Zm9vYg==\nZg==\n",
	    BASE64_MULTILINE), -1);
}

static void
test_base64_multiline_edges(void)
{
	const int flags = BASE64_PAD | BASE64_MULTILINE;
	uint8_t buf[96] = { 0 };
	char text[256];

	/* nothing: no line at all */
	CHECK_INT_EQ(base64_encoded_len(0, flags), 0);
	CHECK_INT_EQ(base64_encode(text, sizeof(text), buf, 0, flags), 0);
	CHECK_STR_EQ(text, "");
	/* 48 bytes fill one line exactly: no empty line after it */
	CHECK_INT_EQ(base64_encode(text, sizeof(text), buf, 48, flags), 65);
	CHECK(text[63] == 'A' && text[64] == '\n' && text[65] == '\0');
	CHECK_INT_EQ(base64_encode(text, sizeof(text), buf, 96, flags), 130);
	CHECK(text[64] == '\n' && text[129] == '\n');
	/* a short last line, unpadded */
	CHECK_INT_EQ(base64_encode(text, sizeof(text), buf, 49,
	    BASE64_MULTILINE), 64 + 1 + 2 + 1);
	CHECK_STR_EQ(text + 65, "AA\n");
}

/* Every length around the block and line sizes, every flag combination. */
static void
test_base64_round_trips(void)
{
	static const int all_flags[] = { 0, BASE64_PAD, BASE64_MULTILINE,
	    BASE64_PAD | BASE64_MULTILINE };
	uint8_t in[200], out[200];
	char text[300];
	size_t len, f, i;
	ssize_t n;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 131 + 17);
	for (f = 0; f < 4; f++) {
		for (len = 0; len <= sizeof(in); len++) {
			n = base64_encode(text, sizeof(text), in, len,
			    all_flags[f]);
			CHECK_INT_EQ(n, base64_encoded_len(len, all_flags[f]));
			CHECK_INT_EQ(strlen(text), n);
			CHECK_INT_EQ(base64_decode(out, len, text, (size_t)n,
			    BASE64_MULTILINE), len);
			CHECK(memcmp(out, in, len) == 0);
		}
	}
	for (len = 0; len <= 100; len++) {
		n = base32_encode(text, sizeof(text), in, len);
		CHECK_INT_EQ(n, base32_encoded_len(len));
		CHECK_INT_EQ(base32_decode(out, len, text, (size_t)n), len);
		CHECK(memcmp(out, in, len) == 0);
		hex_encode(text, in, len);
		CHECK_INT_EQ(hex_decode(out, len, text, 2 * len), len);
		CHECK(memcmp(out, in, len) == 0);
	}
}

static void
test_decoded_maxlen(void)
{
	CHECK_INT_EQ(base64_decoded_maxlen(0), 0);
	CHECK_INT_EQ(base64_decoded_maxlen(1), 0);
	CHECK_INT_EQ(base64_decoded_maxlen(2), 1);
	CHECK_INT_EQ(base64_decoded_maxlen(3), 2);
	CHECK_INT_EQ(base64_decoded_maxlen(4), 3);
	CHECK_INT_EQ(base64_decoded_maxlen(191), 143);
	CHECK_INT_EQ(base32_encoded_len(35), 56);
	CHECK_INT_EQ(base64_encoded_len(140, BASE64_PAD), 188);
	CHECK_INT_EQ(base64_encoded_len(140, 0), 187);
	/* an impossible size, not a wrapped-around small one */
	CHECK(base32_encoded_len(SIZE_MAX) == SIZE_MAX);
	CHECK(base64_encoded_len(SIZE_MAX, BASE64_MULTILINE) == SIZE_MAX);
}

/*
 * The table-driven decoder against the constant-time one on every string
 * of a small alphabet (the characters where the two could differ: group
 * and line boundaries, '\n', '=', invalid ones, trailing bits), each
 * with every output size up to what it needs.
 */
static void
test_base64_public_same(void)
{
	static const char alpha[] = "AQgw/+=\n*";	/* values 0,16,32,48,63,62 */
	char s[16];
	uint8_t out[16];
	size_t len, i, idx, total, outsz, nalpha = sizeof(alpha) - 1;
	int f;

	for (len = 0; len <= 6; len++) {
		for (total = 1, i = 0; i < len; i++)
			total *= nalpha;
		for (idx = 0; idx < total; idx++) {
			size_t x = idx;

			for (i = 0; i < len; i++, x /= nalpha)
				s[i] = alpha[x % nalpha];
			for (f = 0; f < 2; f++)
				for (outsz = 0; outsz <= 5; outsz++)
					(void)b64dec_len(out, outsz, s, len,
					    f ? BASE64_MULTILINE : 0);
		}
	}
	/* Long multiline text: groups decoded four characters at a time. */
	{
		uint8_t in[300], back[300];
		char text[500];
		ssize_t n;

		for (i = 0; i < sizeof(in); i++)
			in[i] = (uint8_t)(i * 97 + 5);
		for (len = 250; len <= 300; len++) {
			n = base64_encode(text, sizeof(text), in, len,
			    BASE64_PAD | BASE64_MULTILINE);
			CHECK(n > 0);
			CHECK_INT_EQ(base64_decode(back, len, text, (size_t)n,
			    BASE64_MULTILINE | BASE64_PUBLIC), len);
			CHECK(memcmp(back, in, len) == 0);
			for (outsz = len - 4; outsz <= len; outsz++)
				(void)b64dec_len(back, outsz, text, (size_t)n,
				    BASE64_MULTILINE);
			text[n / 2] = '*';
			CHECK_INT_EQ(b64dec_len(back, len, text, (size_t)n,
			    BASE64_MULTILINE), -1);
		}
	}
}

TEST_MAIN(
	TEST_CASE(test_hex),
	TEST_CASE(test_every_character),
	TEST_CASE(test_every_value),
	TEST_CASE(test_base32_rfc4648),
	TEST_CASE(test_base32_rejects),
	TEST_CASE(test_base64_rfc4648),
	TEST_CASE(test_base64_bad_padding),
	TEST_CASE(test_base64_truncated_and_trailing_bits),
	TEST_CASE(test_base64_bad_characters),
	TEST_CASE(test_base64_output_too_small),
	TEST_CASE(test_base64_multiline_cert_layout),
	TEST_CASE(test_base64_multiline_edges),
	TEST_CASE(test_base64_round_trips),
	TEST_CASE(test_decoded_maxlen),
	TEST_CASE(test_base64_public_same),
)

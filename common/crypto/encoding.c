/*
 * hex, base32 and base64 as tor writes and reads them.
 *
 * The same decoders read public data (descriptors, addresses) and secret
 * data (the seed inside a PEM key file), so the mapping between a
 * character and its value is computed with masks rather than looked up in
 * a table or chosen by branches: the time taken and the cache lines
 * touched do not depend on the secret.  Only the position of the first
 * invalid character, which is not secret, may show in the timing.
 * base64_decode() with BASE64_PUBLIC, for descriptors only, is the
 * exception: a table lookup, four characters at a time.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "encoding.h"

#define BASE64_LINE_LEN	64	/* tor's (and PEM's) line length */

/* Every character value, 0..63, fits below this flag. */
#define CHAR_INVALID	0x100U

/* All ones if a < b, else 0; a and b must be below 2^31. */
static unsigned int
mask_lt(unsigned int a, unsigned int b)
{
	return 0U - ((a - b) >> 31);
}

/* All ones if lo <= c <= hi, else 0. */
static unsigned int
mask_in_range(unsigned int c, unsigned int lo, unsigned int hi)
{
	return ~mask_lt(c, lo) & ~mask_lt(hi, c);
}

/*
 * For the decoders: the value of c in the alphabet, or CHAR_INVALID.
 * Each range test contributes its value only when it matches.
 */
static unsigned int
hex_char_value(unsigned char ch)
{
	unsigned int c = ch, m0, ml, mu;

	m0 = mask_in_range(c, '0', '9');
	ml = mask_in_range(c, 'a', 'f');
	mu = mask_in_range(c, 'A', 'F');
	return (m0 & (c - '0')) | (ml & (c - 'a' + 10)) |
	    (mu & (c - 'A' + 10)) | (~(m0 | ml | mu) & CHAR_INVALID);
}

static unsigned int
base32_char_value(unsigned char ch)
{
	unsigned int c = ch, ml, mu, md;

	ml = mask_in_range(c, 'a', 'z');
	mu = mask_in_range(c, 'A', 'Z');
	md = mask_in_range(c, '2', '7');
	return (ml & (c - 'a')) | (mu & (c - 'A')) | (md & (c - '2' + 26)) |
	    (~(ml | mu | md) & CHAR_INVALID);
}

static unsigned int
base64_char_value(unsigned char ch)
{
	unsigned int c = ch, mu, ml, md, mp, ms;

	mu = mask_in_range(c, 'A', 'Z');
	ml = mask_in_range(c, 'a', 'z');
	md = mask_in_range(c, '0', '9');
	mp = mask_in_range(c, '+', '+');
	ms = mask_in_range(c, '/', '/');
	return (mu & (c - 'A')) | (ml & (c - 'a' + 26)) |
	    (md & (c - '0' + 52)) | (mp & 62) | (ms & 63) |
	    (~(mu | ml | md | mp | ms) & CHAR_INVALID);
}

/*
 * For the encoders: the character of value v.  Start from the first
 * range's character and add, for each range boundary that v has passed,
 * the distance between the ranges.
 */
static char
hex_char(unsigned int v, unsigned int letter_a)
{
	return (char)(v + '0' + (~mask_lt(v, 10) & (letter_a - '0' - 10)));
}

static char
base32_char(unsigned int v)
{
	/* 'a'..'z' for 0..25, '2'..'7' for 26..31 */
	return (char)(v + 'a' - (~mask_lt(v, 26) & ('a' + 26 - '2')));
}

static char
base64_char(unsigned int v)
{
	unsigned int c = v + 'A';

	c += ~mask_lt(v, 26) & ('a' - 'A' - 26);	/* 'a'..'z' */
	c -= ~mask_lt(v, 52) & ('a' + 26 - '0');	/* '0'..'9' */
	c -= ~mask_lt(v, 62) & ('0' + 10 - '+');	/* '+' */
	c += ~mask_lt(v, 63) & ('/' - '+' - 1);		/* '/' */
	return (char)c;
}

/* hex */

static void
hex_encode_case(char *out, const uint8_t *in, size_t len,
    unsigned int letter_a)
{
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex_char(in[i] >> 4, letter_a);
		out[2 * i + 1] = hex_char(in[i] & 0x0f, letter_a);
	}
	out[2 * len] = '\0';
}

void
hex_encode(char *out, const uint8_t *in, size_t len)
{
	hex_encode_case(out, in, len, 'a');
}

void
hex_encode_upper(char *out, const uint8_t *in, size_t len)
{
	hex_encode_case(out, in, len, 'A');
}

ssize_t
hex_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen)
{
	unsigned int hi, lo;
	size_t i;

	if (outlen > SSIZE_MAX / 2 || inlen != 2 * outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		hi = hex_char_value((unsigned char)in[2 * i]);
		lo = hex_char_value((unsigned char)in[2 * i + 1]);
		if ((hi | lo) & CHAR_INVALID) {
			sodium_memzero(out, i);
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)outlen;
}

/* base32 */

size_t
base32_encoded_len(size_t len)
{
	/* ceil(len * 8 / 5), computed so that it cannot overflow early */
	if (len / 5 > SIZE_MAX / 8 - 8)
		return SIZE_MAX;
	return len / 5 * 8 + (len % 5 * 8 + 4) / 5;
}

ssize_t
base32_encode(char *out, size_t outsz, const uint8_t *in, size_t len)
{
	size_t need = base32_encoded_len(len), i, n = 0;
	uint32_t acc = 0;
	unsigned int bits = 0;

	if (need >= outsz || need > SSIZE_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		acc = (acc << 8 | in[i]) & 0xfff;	/* at most 12 bits live */
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = base32_char(acc >> bits & 0x1f);
		}
	}
	if (bits > 0)
		out[n++] = base32_char(acc << (5 - bits) & 0x1f);
	out[n] = '\0';
	sodium_memzero(&acc, sizeof(acc));
	return (ssize_t)n;
}

/*
 * The number of bytes that inlen base32 characters hold, or -1 if the last
 * character would carry no whole byte (inlen % 8 is 1, 3 or 6): such a
 * string was never written by an encoder.
 */
static ssize_t
base32_decoded_len(size_t inlen)
{
	size_t spare_bits = inlen % 8 * 5 % 8;

	if (spare_bits >= 5 || inlen / 8 > SSIZE_MAX / 5)
		return -1;
	return (ssize_t)(inlen / 8 * 5 + inlen % 8 * 5 / 8);
}

ssize_t
base32_decode(uint8_t *out, size_t outsz, const char *in, size_t inlen)
{
	ssize_t want = base32_decoded_len(inlen);
	size_t i, n = 0;
	uint32_t acc = 0;
	unsigned int bits = 0, v;

	if (want < 0 || (size_t)want > outsz)
		return -1;
	for (i = 0; i < inlen; i++) {
		v = base32_char_value((unsigned char)in[i]);
		if (v & CHAR_INVALID)
			goto bad;
		acc = (acc << 5 | v) & 0x1fff;		/* at most 13 bits live */
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* The unused low bits of the last character must be zero. */
	if ((acc & ((1U << bits) - 1)) != 0)
		goto bad;
	sodium_memzero(&acc, sizeof(acc));
	return (ssize_t)n;
 bad:
	sodium_memzero(&acc, sizeof(acc));
	sodium_memzero(out, n);
	return -1;
}

/* base64 */

size_t
base64_encoded_len(size_t len, int flags)
{
	size_t n, tail = len % 3;

	if (len / 3 > SIZE_MAX / 5 - 2)
		return SIZE_MAX;
	n = len / 3 * 4;
	if (tail != 0)
		n += (flags & BASE64_PAD) ? 4 : tail + 1;
	if (flags & BASE64_MULTILINE)
		n += (n + BASE64_LINE_LEN - 1) / BASE64_LINE_LEN;
	return n;
}

/* An output cursor that breaks lines as BASE64_MULTILINE asks. */
struct b64_writer {
	char	*out;
	size_t	 n;
	int	 multiline;
	int	 col;
};

static void
b64_put(struct b64_writer *w, char c)
{
	w->out[w->n++] = c;
	if (w->multiline && ++w->col == BASE64_LINE_LEN) {
		w->out[w->n++] = '\n';
		w->col = 0;
	}
}

/* The last 1 or 2 bytes of the input: 2 or 3 characters and the padding. */
static void
b64_put_tail(struct b64_writer *w, const uint8_t *in, size_t tail, int flags)
{
	uint32_t acc;

	acc = (uint32_t)in[0] << 16;
	if (tail == 2)
		acc |= (uint32_t)in[1] << 8;
	b64_put(w, base64_char(acc >> 18 & 0x3f));
	b64_put(w, base64_char(acc >> 12 & 0x3f));
	if (tail == 2)
		b64_put(w, base64_char(acc >> 6 & 0x3f));
	if (flags & BASE64_PAD) {
		b64_put(w, '=');
		if (tail == 1)
			b64_put(w, '=');
	}
	sodium_memzero(&acc, sizeof(acc));
}

ssize_t
base64_encode(char *out, size_t outsz, const uint8_t *in, size_t len,
    int flags)
{
	struct b64_writer w = { out, 0, (flags & BASE64_MULTILINE) != 0, 0 };
	size_t need = base64_encoded_len(len, flags), i;
	uint32_t acc = 0;

	if (need >= outsz || need > SSIZE_MAX)
		return -1;
	for (i = 0; i + 3 <= len; i += 3) {
		acc = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		b64_put(&w, base64_char(acc >> 18 & 0x3f));
		b64_put(&w, base64_char(acc >> 12 & 0x3f));
		b64_put(&w, base64_char(acc >> 6 & 0x3f));
		b64_put(&w, base64_char(acc & 0x3f));
	}
	if (len % 3 != 0)
		b64_put_tail(&w, in + i, len % 3, flags);
	/* A last line shorter than a full one ends in '\n' too. */
	if (w.multiline && w.col != 0)
		out[w.n++] = '\n';
	out[w.n] = '\0';
	sodium_memzero(&acc, sizeof(acc));
	return (ssize_t)w.n;
}

size_t
base64_decoded_maxlen(size_t inlen)
{
	/* 4 characters give 3 bytes; 2 or 3 left over give 1 or 2. */
	return inlen / 4 * 3 + (inlen % 4 > 1 ? inlen % 4 - 1 : 0);
}

/* Decoder state: the characters seen so far and the bits not yet output. */
struct b64_reader {
	uint8_t		*out;
	size_t		 outsz;
	size_t		 n;		/* bytes written */
	size_t		 nchars;	/* alphabet characters */
	size_t		 npad;		/* '=' characters */
	uint32_t	 acc;
	unsigned int	 bits;
};

/* Takes one character; -1 if it cannot appear where it is. */
static int
b64_take(struct b64_reader *r, unsigned char c, int multiline)
{
	unsigned int v;

	if (c == '\n' && multiline)
		return 0;
	if (c == '=') {
		r->npad++;
		return 0;
	}
	v = base64_char_value(c);
	if ((v & CHAR_INVALID) || r->npad > 0)
		return -1;		/* not base64, or data after padding */
	r->nchars++;
	r->acc = (r->acc << 6 | v) & 0x3fff;	/* at most 14 bits live */
	r->bits += 6;
	if (r->bits >= 8) {
		if (r->n == r->outsz)
			return -1;
		r->bits -= 8;
		r->out[r->n++] = (uint8_t)(r->acc >> r->bits);
	}
	return 0;
}

/*
 * After the last character: the number of characters must be one an
 * encoder can write, padding (if any) must fill the last group exactly,
 * and the bits of the last character that are not part of a byte must be
 * zero, so that every byte string has exactly one accepted encoding.
 */
static int
b64_finish(const struct b64_reader *r)
{
	size_t tail = r->nchars % 4;

	if (tail == 1)
		return -1;
	if (r->npad != 0 && (tail == 0 || r->npad != 4 - tail))
		return -1;
	if ((r->acc & ((1U << r->bits) - 1)) != 0)
		return -1;
	return 0;
}

/*
 * BASE64_PUBLIC: the value of each character looked up in a table, four
 * characters to three bytes at a time.  Faster by several times than the
 * masks, but the cache lines it touches depend on the text, so only for
 * public input (descriptors).  0x40 is '\n', 0x41 '=', 0xff anything else.
 */
#define B64_T_NL	0x40
#define B64_T_PAD	0x41
#define B64_T_BAD	0xff
static const uint8_t b64_table[256] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x40, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xff, 0xff, 0xff, 0x3f,
	0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff, 0xff, 0x41, 0xff, 0xff,
	0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
	0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
	0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/*
 * The same characters accepted, the same bytes written and the same
 * errors as b64_take() and b64_finish(): whole groups of four alphabet
 * characters are decoded at once while the reader is at a group boundary
 * (as it is after each 64-character line), everything else goes through
 * b64_take_value(), the state machine of b64_take().
 */
static int
b64_take_value(struct b64_reader *r, unsigned int v, int multiline)
{
	if (v == B64_T_NL && multiline)
		return 0;
	if (v == B64_T_PAD) {
		r->npad++;
		return 0;
	}
	if (v > 63 || r->npad > 0)
		return -1;		/* not base64, or data after padding */
	r->nchars++;
	r->acc = (r->acc << 6 | v) & 0x3fff;
	r->bits += 6;
	if (r->bits >= 8) {
		if (r->n == r->outsz)
			return -1;
		r->bits -= 8;
		r->out[r->n++] = (uint8_t)(r->acc >> r->bits);
	}
	return 0;
}

static size_t
b64_decode_table(struct b64_reader *r, const unsigned char *in, size_t inlen,
    int multiline)
{
	unsigned int a, b, c, d;
	uint32_t v;
	size_t i = 0;

	while (i < inlen) {
		if (r->bits == 0 && r->npad == 0 && inlen - i >= 4 &&
		    r->outsz - r->n >= 3) {
			a = b64_table[in[i]];
			b = b64_table[in[i + 1]];
			c = b64_table[in[i + 2]];
			d = b64_table[in[i + 3]];
			if (((a | b | c | d) & ~0x3fU) == 0) {
				v = (uint32_t)a << 18 | (uint32_t)b << 12 |
				    (uint32_t)c << 6 | d;
				r->out[r->n] = (uint8_t)(v >> 16);
				r->out[r->n + 1] = (uint8_t)(v >> 8);
				r->out[r->n + 2] = (uint8_t)v;
				r->n += 3;
				r->nchars += 4;
				r->acc = d;
				i += 4;
				continue;
			}
		}
		if (b64_take_value(r, b64_table[in[i]], multiline) == -1)
			break;
		i++;
	}
	return i;
}

ssize_t
base64_decode(uint8_t *out, size_t outsz, const char *in, size_t inlen,
    int flags)
{
	struct b64_reader r = { out, outsz, 0, 0, 0, 0, 0 };
	int multiline = (flags & BASE64_MULTILINE) != 0, ok = 0;
	size_t i;

	if (outsz > SSIZE_MAX)
		r.outsz = SSIZE_MAX;
	if (flags & BASE64_PUBLIC)
		i = b64_decode_table(&r, (const unsigned char *)in, inlen,
		    multiline);
	else {
		for (i = 0; i < inlen; i++) {
			if (b64_take(&r, (unsigned char)in[i],
			    multiline) == -1)
				break;
		}
	}
	if (i == inlen && b64_finish(&r) == 0)
		ok = 1;
	sodium_memzero(&r.acc, sizeof(r.acc));
	if (!ok) {
		sodium_memzero(out, r.n);
		return -1;
	}
	return (ssize_t)r.n;
}

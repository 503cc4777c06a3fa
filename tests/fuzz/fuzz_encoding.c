/*
 * Every decoder on arbitrary input.  A decoder must stay in bounds (the
 * sanitizers check that) and be strict: whatever it accepts must be the
 * one encoding of its output, so re-encoding gives the input back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

#define MAX_INPUT	4096

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t	decoded[MAX_INPUT];
static uint8_t	redecoded[MAX_INPUT];
static char	encoded[2 * MAX_INPUT + 256];
static char	stripped[MAX_INPUT];

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
fuzz_hex(const char *in, size_t len)
{
	ssize_t n;
	size_t i;

	n = hex_decode(decoded, len / 2, in, len);
	check(n == -1 || (size_t)n * 2 == len);
	if (n < 0)
		return;
	hex_encode(encoded, decoded, (size_t)n);
	for (i = 0; i < len; i++)
		check(encoded[i] == (in[i] | ((in[i] >= 'A') ? 0x20 : 0)));
}

static void
fuzz_base32(const char *in, size_t len)
{
	ssize_t n, m;
	size_t i;

	n = base32_decode(decoded, sizeof(decoded), in, len);
	if (n < 0)
		return;
	m = base32_encode(encoded, sizeof(encoded), decoded, (size_t)n);
	check(m >= 0 && (size_t)m == len);
	/* The decoder accepts either case; the encoder writes lower case. */
	for (i = 0; i < len; i++)
		check(encoded[i] == (in[i] | ((in[i] >= 'A') ? 0x20 : 0)));
}

/* in without its '\n' characters, into stripped; returns the length. */
static size_t
strip_newlines(const char *in, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (in[i] != '\n')
			stripped[n++] = in[i];
	}
	return n;
}

static void
fuzz_base64(const char *in, size_t len, int flags)
{
	ssize_t n, m;
	size_t textlen;
	int pad;

	n = base64_decode(decoded, sizeof(decoded), in, len, flags);
	/* The table-driven decoder: the same result, the same bytes. */
	check(base64_decode(redecoded, sizeof(redecoded), in, len,
	    flags | BASE64_PUBLIC) == n);
	check(n < 0 || memcmp(redecoded, decoded, (size_t)n) == 0);
	/* Also when the output is too small by one byte. */
	if (n > 0)
		check(base64_decode(redecoded, (size_t)n - 1, in, len,
		    flags | BASE64_PUBLIC) == -1);
	if (n < 0)
		return;
	textlen = (flags & BASE64_MULTILINE) ? strip_newlines(in, len) : len;
	if (!(flags & BASE64_MULTILINE))
		memcpy(stripped, in, len);
	check((size_t)n <= base64_decoded_maxlen(textlen));
	pad = textlen > 0 && stripped[textlen - 1] == '=';
	m = base64_encode(encoded, sizeof(encoded), decoded, (size_t)n,
	    pad ? BASE64_PAD : 0);
	check(m >= 0 && (size_t)m == textlen &&
	    memcmp(encoded, stripped, textlen) == 0);
	/* The multiline layout decodes back to the same bytes. */
	m = base64_encode(encoded, sizeof(encoded), decoded, (size_t)n,
	    BASE64_PAD | BASE64_MULTILINE);
	check(m >= 0);
	check(base64_decode(redecoded, (size_t)n, encoded, (size_t)m,
	    BASE64_MULTILINE) == n && memcmp(redecoded, decoded, (size_t)n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;

	if (size > MAX_INPUT)
		return 0;
	fuzz_hex(in, size);
	fuzz_base32(in, size);
	fuzz_base64(in, size, 0);
	fuzz_base64(in, size, BASE64_MULTILINE);
	return 0;
}

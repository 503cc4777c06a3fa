#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "test.h"

int test_failures;

int
test_main(const struct test_case *cases, size_t ncases)
{
	size_t i;
	int before;

	/* Every module that uses libsodium needs it initialised first. */
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	for (i = 0; i < ncases; i++) {
		before = test_failures;
		cases[i].fn();
		printf("%s %s\n", test_failures == before ? "ok  " : "FAIL",
		    cases[i].name);
	}
	printf("%d check(s) failed\n", test_failures);
	return test_failures ? 1 : 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void
test_unhex(uint8_t *out, size_t outlen, const char *hex)
{
	size_t i;
	int hi, lo;

	if (strlen(hex) != 2 * outlen) {
		fprintf(stderr, "test_unhex: \"%s\" is not %zu bytes\n", hex,
		    outlen);
		abort();
	}
	for (i = 0; i < outlen; i++) {
		hi = hexval((unsigned char)hex[2 * i]);
		lo = hexval((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			abort();
		out[i] = (uint8_t)(hi << 4 | lo);
	}
}

void
test_check_hex(const char *file, int line, const uint8_t *buf, size_t len,
    const char *hex)
{
	size_t i;
	uint8_t *want;

	if ((want = malloc(len ? len : 1)) == NULL)
		abort();
	test_unhex(want, len, hex);
	if (memcmp(buf, want, len) != 0) {
		fprintf(stderr, "%s:%d: bytes differ\n  want %s\n  got  ",
		    file, line, hex);
		for (i = 0; i < len; i++)
			fprintf(stderr, "%02x", buf[i]);
		fprintf(stderr, "\n");
		test_failures++;
	}
	free(want);
}

char *
test_read_data(const char *name, size_t *len)
{
	const char *dir = getenv("OB_TEST_DATA");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	if (dir == NULL)
		dir = "tests/data";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL ||
	    fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		abort();
	}
	if ((buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static int
base64val(int c)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p;

	if (c == '\0' || (p = strchr(alphabet, c)) == NULL)
		return -1;
	return (int)(p - alphabet);
}

size_t
test_unbase64(uint8_t *out, size_t outlen, const char *b64, size_t b64len)
{
	uint32_t acc = 0;
	size_t i, n = 0, nchars = 0, npad = 0;
	int v, bits = 0;

	for (i = 0; i < b64len; i++) {
		if (b64[i] == '\n' || b64[i] == '\r')
			continue;
		nchars++;
		if (b64[i] == '=') {
			npad++;
			continue;
		}
		if (npad > 0 || (v = base64val((unsigned char)b64[i])) < 0)
			return 0;
		acc = (acc << 6 | (uint32_t)v) & 0xffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (n == outlen)
				return 0;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (nchars % 4 != 0 || npad > 2)
		return 0;
	return n;
}

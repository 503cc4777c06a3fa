/*
 * A minimal unit-test harness: each test file is one executable with a
 * table of test functions; CHECK* record a failure with file and line and
 * go on, so one run reports every broken check.  test_main() initialises
 * libsodium first.  Exit status: 0 all passed,
 * 1 something failed (what meson test expects).
 */
#ifndef OB_TEST_H
#define OB_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int test_failures;

struct test_case {
	const char	*name;
	void		(*fn)(void);
};

#define TEST_CASE(fn)	{ #fn, fn }

int	test_main(const struct test_case *cases, size_t ncases);
/* Decodes exactly outlen bytes of hex; aborts the program on bad hex. */
void	test_unhex(uint8_t *out, size_t outlen, const char *hex);
/* Reads a whole file (NUL-terminated) from tests/data; aborts on error. */
char   *test_read_data(const char *name, size_t *len);
/*
 * Decodes standard base64 with '=' padding, skipping line breaks, as in
 * the armored blocks of descriptors; independent of the project's own
 * decoder.  Returns the number of bytes, or 0 on bad input or overflow.
 */
size_t	test_unbase64(uint8_t *out, size_t outlen, const char *b64,
	    size_t b64len);

#define TEST_MAIN(...)							\
int									\
main(void)								\
{									\
	static const struct test_case cases[] = { __VA_ARGS__ };	\
	return test_main(cases, sizeof(cases) / sizeof(cases[0]));	\
}

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		test_failures++;					\
	}								\
} while (0)

#define CHECK_INT_EQ(a, b) do {						\
	long long check_a_ = (long long)(a), check_b_ = (long long)(b);	\
	if (check_a_ != check_b_) {					\
		fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n",	\
		    __FILE__, __LINE__, #a, #b, check_a_, check_b_);	\
		test_failures++;					\
	}								\
} while (0)

#define CHECK_STR_EQ(a, b) do {						\
	const char *check_a_ = (a), *check_b_ = (b);			\
	if (check_a_ == NULL || check_b_ == NULL ||			\
	    strcmp(check_a_, check_b_) != 0) {				\
		fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n",	\
		    __FILE__, __LINE__, #a, #b,				\
		    check_a_ ? check_a_ : "(null)",			\
		    check_b_ ? check_b_ : "(null)");			\
		test_failures++;					\
	}								\
} while (0)

void	test_check_hex(const char *file, int line, const uint8_t *buf,
	    size_t len, const char *hex);
/* The len bytes at buf equal the hex string (either case). */
#define CHECK_HEX(buf, len, hex)					\
	test_check_hex(__FILE__, __LINE__, (buf), (len), (hex))

#endif

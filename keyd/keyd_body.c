/*
 * keyd's check of a descriptor body before it signs it.
 *
 * Deliberately not a descriptor parser: keyd accepts exactly the outer
 * document that tor (and publishd) writes, line by line, in tor's order,
 * and nothing else.  A line that is not what keyd expects at that place is
 * a refusal, not something to skip.  The body ends right after the
 * "-----END MESSAGE-----" line; the caller appends "signature ...".
 *
 *   hs-descriptor 3
 *   descriptor-lifetime <1..720>
 *   descriptor-signing-key-cert
 *   -----BEGIN ED25519 CERT-----
 *   <the cert keyd issued, base64, 64-char lines>
 *   -----END ED25519 CERT-----
 *   revision-counter <uint64>
 *   superencrypted
 *   -----BEGIN MESSAGE-----
 *   <base64, 64-char lines, the last 1..64>
 *   -----END MESSAGE-----
 */
#include <stdint.h>
#include <string.h>

#include "encoding.h"
#include "keyd.h"

#define KEYD_LIFETIME_MAX	720	/* tor: HS_DESC_MAX_LIFETIME, minutes */
#define B64_LINE_LEN		64
/* base64 of 140 bytes, padded, 64-char lines each ending in '\n' */
#define CERT_B64_SIZE		(188 + 3 + 1)

struct body_reader {
	const uint8_t	*p;
	size_t		 left;
	uint32_t	 line;		/* number of the line last read */
	const uint8_t	*text;		/* that line, without its '\n' */
	size_t		 len;
};

/* The next '\n'-terminated line; -1 at the end or on an unterminated one. */
static int
next_line(struct body_reader *r)
{
	const uint8_t *nl;

	r->line++;
	if (r->left == 0 || (nl = memchr(r->p, '\n', r->left)) == NULL)
		return -1;
	r->text = r->p;
	r->len = (size_t)(nl - r->p);
	r->p += r->len + 1;
	r->left -= r->len + 1;
	return 0;
}

static int
line_is(const struct body_reader *r, const char *want)
{
	return r->len == strlen(want) && memcmp(r->text, want, r->len) == 0;
}

static int
expect_line(struct body_reader *r, const char *want)
{
	if (next_line(r) == -1 || !line_is(r, want))
		return -1;
	return 0;
}

/* Decimal, no sign, no leading zero, fits in a uint64_t. */
static int
parse_u64(const uint8_t *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "<keyword> <number>" */
static int
expect_number_line(struct body_reader *r, const char *keyword, uint64_t *v)
{
	size_t kl = strlen(keyword);

	if (next_line(r) == -1 || r->len <= kl + 1 ||
	    memcmp(r->text, keyword, kl) != 0 || r->text[kl] != ' ')
		return -1;
	return parse_u64(r->text + kl + 1, r->len - kl - 1, v);
}

static int
is_base64_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

static int
is_base64_line(const struct body_reader *r)
{
	size_t i;

	if (r->len == 0 || r->len > B64_LINE_LEN)
		return 0;
	for (i = 0; i < r->len; i++)
		if (!is_base64_char(r->text[i]))
			return 0;
	return 1;
}

/*
 * The cert block, compared byte for byte with the base64 of the cert keyd
 * issued: any other cert, or the right one written differently, is not
 * what keyd certified for this signing key.
 */
static enum keyd_error
check_cert_block(struct body_reader *r, const uint8_t cert[TORCERT_LEN])
{
	char want[CERT_B64_SIZE];
	ssize_t wantlen;
	const uint8_t *start = r->p;

	wantlen = base64_encode(want, sizeof(want), cert, TORCERT_LEN,
	    BASE64_PAD | BASE64_MULTILINE);
	if (wantlen <= 0)
		return KEYD_ERR_INTERNAL;
	do {
		if (next_line(r) == -1)
			return KEYD_ERR_BODY_FORMAT;
	} while (!line_is(r, "-----END ED25519 CERT-----"));
	if ((size_t)(r->text - start) != (size_t)wantlen ||
	    memcmp(start, want, (size_t)wantlen) != 0)
		return KEYD_ERR_BODY_CERT;
	return KEYD_ERR_NONE;
}

/* Full 64-char lines, then one line of 1..64, then the END line. */
static int
check_message_block(struct body_reader *r)
{
	size_t nlines = 0, lastlen = B64_LINE_LEN;

	for (;;) {
		if (next_line(r) == -1)
			return -1;
		if (line_is(r, "-----END MESSAGE-----"))
			break;
		if (lastlen != B64_LINE_LEN || !is_base64_line(r))
			return -1;
		lastlen = r->len;
		nlines++;
	}
	return nlines > 0 ? 0 : -1;
}

static enum keyd_error
check_body_lines(struct body_reader *r, const uint8_t cert[TORCERT_LEN],
    uint64_t *revision)
{
	enum keyd_error err;
	uint64_t lifetime;

	if (expect_line(r, "hs-descriptor 3") == -1 ||
	    expect_number_line(r, "descriptor-lifetime", &lifetime) == -1)
		return KEYD_ERR_BODY_FORMAT;
	if (lifetime == 0 || lifetime > KEYD_LIFETIME_MAX)
		return KEYD_ERR_BODY_LIFETIME;
	if (expect_line(r, "descriptor-signing-key-cert") == -1 ||
	    expect_line(r, "-----BEGIN ED25519 CERT-----") == -1)
		return KEYD_ERR_BODY_FORMAT;
	if ((err = check_cert_block(r, cert)) != KEYD_ERR_NONE)
		return err;
	if (expect_number_line(r, "revision-counter", revision) == -1 ||
	    expect_line(r, "superencrypted") == -1 ||
	    expect_line(r, "-----BEGIN MESSAGE-----") == -1 ||
	    check_message_block(r) == -1)
		return KEYD_ERR_BODY_FORMAT;
	if (r->left != 0) {
		r->line++;
		return KEYD_ERR_BODY_FORMAT;	/* trailing data */
	}
	return KEYD_ERR_NONE;
}

enum keyd_error
keyd_check_body(const uint8_t *body, size_t len,
    const uint8_t cert[TORCERT_LEN], uint64_t *revision, uint32_t *line)
{
	struct body_reader r;
	enum keyd_error err;

	*line = 0;
	if (len > KEYD_BODY_MAX)
		return KEYD_ERR_BODY_SIZE;
	memset(&r, 0, sizeof(r));
	r.p = body;
	r.left = len;
	if ((err = check_body_lines(&r, cert, revision)) != KEYD_ERR_NONE)
		*line = r.line;
	return err;
}

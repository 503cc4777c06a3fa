/*
 * tor's ed25519 certificates (cert-spec.txt section 2.1; tor torcert.c,
 * trunnel ed25519_cert.trunnel).  The parser accepts what tor's
 * tor_cert_parse accepts, except that the certified key must be an
 * ed25519 key: every onion service cert certifies one.
 */
#include <string.h>

#include <sodium.h>

#include "digest.h"
#include "ed25519_expanded.h"
#include "torcert.h"

#define CERT_VERSION		1
#define CERT_HEAD_LEN		40	/* version .. n_extensions */
#define CERT_EXT_HEAD_LEN	4	/* ext_length(2) ext_type ext_flags */
#define CERT_SIGNER_EXT_LEN	32
#define CERT_SECONDS_PER_HOUR	3600

const char *
torcert_strerror(enum torcert_error err)
{
	switch (err) {
	case TORCERT_OK:
		return "no error";
	case TORCERT_ERR_TRUNCATED:
		return "certificate is truncated";
	case TORCERT_ERR_TRAILING:
		return "bytes after the certificate signature";
	case TORCERT_ERR_VERSION:
		return "unknown certificate version";
	case TORCERT_ERR_KEY_TYPE:
		return "certified key is not an ed25519 key";
	case TORCERT_ERR_EXTENSION:
		return "bad, duplicate or unknown critical extension";
	case TORCERT_ERR_NO_SIGNER:
		return "no signed-with-key extension";
	case TORCERT_ERR_TYPE:
		return "unexpected certificate type";
	case TORCERT_ERR_SIGNER:
		return "certificate signed by an unexpected key";
	case TORCERT_ERR_SIGNATURE:
		return "bad certificate signature";
	case TORCERT_ERR_EXPIRED:
		return "certificate has expired";
	}
	return "unknown certificate error";
}

/*
 * One extension at *off.  A signed-with-key extension must hold exactly a
 * 32-byte key and appear once; an extension we do not know is skipped
 * unless it says it affects validation (tor_cert_parse does the same).
 */
static enum torcert_error
parse_extension(struct torcert *out, const uint8_t *buf, size_t len,
    size_t *off)
{
	size_t ext_len;
	uint8_t ext_type, ext_flags;

	if (len - *off < CERT_EXT_HEAD_LEN)
		return TORCERT_ERR_TRUNCATED;
	ext_len = get_u16_be(buf + *off);
	ext_type = buf[*off + 2];
	ext_flags = buf[*off + 3];
	*off += CERT_EXT_HEAD_LEN;
	if (len - *off < ext_len)
		return TORCERT_ERR_TRUNCATED;

	if (ext_type == TORCERT_EXT_SIGNED_WITH_KEY) {
		if (ext_len != CERT_SIGNER_EXT_LEN || out->has_signer)
			return TORCERT_ERR_EXTENSION;
		memcpy(out->signer, buf + *off, CERT_SIGNER_EXT_LEN);
		out->has_signer = 1;
	} else if (ext_flags & TORCERT_EXT_AFFECTS_VALIDATION)
		return TORCERT_ERR_EXTENSION;
	*off += ext_len;
	return TORCERT_OK;
}

enum torcert_error
torcert_parse(struct torcert *out, const uint8_t *buf, size_t len)
{
	enum torcert_error err;
	size_t off, i, n_ext;

	memset(out, 0, sizeof(*out));
	if (len < CERT_HEAD_LEN)
		return TORCERT_ERR_TRUNCATED;
	if (buf[0] != CERT_VERSION)
		return TORCERT_ERR_VERSION;
	out->type = buf[1];
	out->exp_hours = get_u32_be(buf + 2);
	if (buf[6] != TORCERT_KEY_TYPE_ED25519)
		return TORCERT_ERR_KEY_TYPE;
	memcpy(out->certified, buf + 7, sizeof(out->certified));
	n_ext = buf[39];

	off = CERT_HEAD_LEN;
	for (i = 0; i < n_ext; i++)
		if ((err = parse_extension(out, buf, len, &off)) != TORCERT_OK)
			return err;
	if (len - off < ED25519_SIG_LEN)
		return TORCERT_ERR_TRUNCATED;
	if (len - off > ED25519_SIG_LEN)
		return TORCERT_ERR_TRAILING;
	memcpy(out->signature, buf + off, ED25519_SIG_LEN);
	out->signed_len = off;
	return TORCERT_OK;
}

enum torcert_error
torcert_check(struct torcert *out, const uint8_t *buf, size_t len,
    uint8_t expected_type, const uint8_t *expected_signer, time_t now)
{
	enum torcert_error err;

	if ((err = torcert_parse(out, buf, len)) != TORCERT_OK)
		return err;
	if (out->type != expected_type)
		return TORCERT_ERR_TYPE;
	if (!out->has_signer)
		return TORCERT_ERR_NO_SIGNER;
	if (expected_signer != NULL &&
	    memcmp(out->signer, expected_signer, sizeof(out->signer)) != 0)
		return TORCERT_ERR_SIGNER;
	/* The signature covers every byte before it, with no prefix. */
	if (ed25519_verify(out->signature, buf, out->signed_len,
	    out->signer) != 0)
		return TORCERT_ERR_SIGNATURE;
	/* tor_cert_is_expired: valid through the last second of exp_hours. */
	if ((int64_t)now > (int64_t)out->exp_hours * CERT_SECONDS_PER_HOUR)
		return TORCERT_ERR_EXPIRED;
	return TORCERT_OK;
}

void
torcert_build_body(uint8_t body[TORCERT_BODY_LEN], uint8_t type,
    uint32_t exp_hours, const uint8_t certified[32],
    const uint8_t signer_pub[32])
{
	body[0] = CERT_VERSION;
	body[1] = type;
	put_u32_be(body + 2, exp_hours);
	body[6] = TORCERT_KEY_TYPE_ED25519;
	memcpy(body + 7, certified, 32);
	body[39] = 1;				/* n_extensions */
	put_u16_be(body + 40, CERT_SIGNER_EXT_LEN);
	body[42] = TORCERT_EXT_SIGNED_WITH_KEY;
	body[43] = 0;				/* flags: none, as tor */
	memcpy(body + 44, signer_pub, CERT_SIGNER_EXT_LEN);
}

int
torcert_sign(uint8_t out[TORCERT_LEN], uint8_t type, uint32_t exp_hours,
    const uint8_t certified[32], const struct ed25519_expanded *signer,
    const uint8_t signer_pub[32])
{
	struct bytes_ref body = { out, TORCERT_BODY_LEN };

	torcert_build_body(out, type, exp_hours, certified, signer_pub);
	if (ed25519_sign_expanded(out + TORCERT_BODY_LEN, &body, 1, signer,
	    signer_pub) != 0) {
		sodium_memzero(out, TORCERT_LEN);
		return -1;
	}
	return 0;
}

uint32_t
torcert_exp_hours(time_t now, uint32_t lifetime_s)
{
	const int64_t max_s = (int64_t)UINT32_MAX * CERT_SECONDS_PER_HOUR;
	int64_t end;

	/* Times before the epoch or after 2^32 hours do not occur; clamp. */
	if ((int64_t)now > max_s)
		return UINT32_MAX;
	end = (now < 0 ? 0 : (int64_t)now) + lifetime_s;
	if (end > max_s)
		return UINT32_MAX;
	return (uint32_t)((end + CERT_SECONDS_PER_HOUR - 1) /
	    CERT_SECONDS_PER_HOUR);
}

/*
 * Reading and writing a frontend's master key (see masterkey.h for the
 * two formats).
 *
 * Everything that holds secret bytes lives in libsodium's guarded memory
 * (the file buffer, the decoded DER, struct masterkey) or is a stack
 * temporary wiped before its function returns.  No OpenSSL: a PKCS#8
 * parse there would leave copies of the seed in OpenSSL's own heap.
 * Callers must have called sodium_init().
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "encoding.h"
#include "log.h"
#include "masterkey.h"

/* tor's tagged file: the header text, padded with NULs to 32 bytes. */
#define TOR_KEY_HEADER_LEN	32
static const uint8_t tor_key_header[TOR_KEY_HEADER_LEN] =
    "== ed25519v1-secret: type0 ==";

#define PEM_BEGIN		"-----BEGIN PRIVATE KEY-----\n"
#define PEM_END			"-----END PRIVATE KEY-----\n"
#define PEM_BEGIN_ANY		"-----BEGIN "
#define PEM_BEGIN_ENCRYPTED	"-----BEGIN ENCRYPTED PRIVATE KEY-----"
/* The END line, found after the '\n' that ends the last base64 line. */
#define PEM_END_MARKER		"\n-----END PRIVATE KEY-----"

/*
 * The DER of an RFC 8410 v1 key up to the seed: SEQUENCE { INTEGER 0,
 * SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
 */
static const uint8_t pkcs8_v1_prefix[] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
	0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
};
#define PKCS8_V1_LEN		(sizeof(pkcs8_v1_prefix) + ED25519_SEED_LEN)

/* The AlgorithmIdentifier's contents: OID id-Ed25519, no parameters. */
static const uint8_t der_oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

#define DER_INTEGER		0x02
#define DER_BIT_STRING_PUBKEY	0x81	/* [1] IMPLICIT BIT STRING */
#define DER_OCTET_STRING	0x04
#define DER_SEQUENCE		0x30
#define DER_ATTRIBUTES		0xa0	/* [0] IMPLICIT SET OF Attribute */

const char *
masterkey_strerror(enum masterkey_error err)
{
	switch (err) {
	case MASTERKEY_OK:
		return "no error";
	case MASTERKEY_ERR_FORMAT:
		return "neither a PEM key nor a tor hs_ed25519_secret_key file";
	case MASTERKEY_ERR_TOR_HEADER:
		return "not a tor ed25519v1-secret key file (wrong header)";
	case MASTERKEY_ERR_TOR_LENGTH:
		return "tor key file is not 96 bytes long";
	case MASTERKEY_ERR_PEM_ARMOR:
		return "missing or garbled BEGIN/END PRIVATE KEY lines";
	case MASTERKEY_ERR_PEM_BASE64:
		return "bad base64 in PEM key";
	case MASTERKEY_ERR_PKCS8:
		return "not an unencrypted ed25519 PKCS#8 key";
	case MASTERKEY_ERR_PEM_ENCRYPTED:
		return "PEM key is encrypted; decrypt it first";
	case MASTERKEY_ERR_PUBKEY_MISMATCH:
		return "public key in PEM key does not match its private key";
	case MASTERKEY_ERR_BAD_KEY:
		return "secret key does not give a valid public key";
	case MASTERKEY_ERR_TOO_LARGE:
		return "file too large for a key file";
	case MASTERKEY_ERR_IO:
		return "read or write error";
	case MASTERKEY_ERR_NOMEM:
		return "out of secure memory";
	case MASTERKEY_ERR_NO_SEED:
		return "key has no seed (read from tor's format); cannot write PEM";
	}
	return "unknown error";
}

struct masterkey *
masterkey_new(void)
{
	struct masterkey *mk;

	if ((mk = sodium_malloc(sizeof(*mk))) == NULL)
		return NULL;
	sodium_memzero(mk, sizeof(*mk));
	return mk;
}

void
masterkey_free(struct masterkey *mk)
{
	/* sodium_free() wipes the memory before it unmaps it. */
	if (mk != NULL)
		sodium_free(mk);
}

/*
 * RFC 8032 5.1.5: a = clamp(SHA-512(seed)[0..31]), prefix = the rest.
 * (ed25519_expanded.c has the same for the signing code; keeping a private
 * copy here lets an auditor read key loading on its own.)
 */
static void
expand_seed(struct ed25519_expanded *sk, const uint8_t seed[ED25519_SEED_LEN])
{
	uint8_t h[crypto_hash_sha512_BYTES];

	crypto_hash_sha512(h, seed, ED25519_SEED_LEN);
	memcpy(sk->scalar, h, sizeof(sk->scalar));
	memcpy(sk->prefix, h + sizeof(sk->scalar), sizeof(sk->prefix));
	sk->scalar[0] &= 248;
	sk->scalar[31] &= 127;
	sk->scalar[31] |= 64;
	sodium_memzero(h, sizeof(h));
}

/*
 * A = a.B.  A scalar with bit 255 set is refused: libsodium's noclamp
 * would silently ignore that bit and tor never writes one, so the key we
 * would derive is not the key the file means.  A scalar that is 0 mod l
 * gives the identity, which libsodium refuses.
 */
static int
public_from_scalar(uint8_t pub[ED25519_PUBKEY_LEN], const uint8_t scalar[32])
{
	if ((scalar[31] & 0x80) != 0)
		return -1;
	if (crypto_scalarmult_ed25519_base_noclamp(pub, scalar) != 0)
		return -1;
	return 0;
}

static int
has_prefix(const uint8_t *buf, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);

	return len >= plen && memcmp(buf, prefix, plen) == 0;
}

/* tor's format */

static enum masterkey_error
parse_tor(struct masterkey *mk, const uint8_t *buf, size_t len)
{
	const uint8_t *payload = buf + TOR_KEY_HEADER_LEN;

	if (len >= TOR_KEY_HEADER_LEN &&
	    memcmp(buf, tor_key_header, TOR_KEY_HEADER_LEN) != 0)
		return MASTERKEY_ERR_TOR_HEADER;
	if (len != TOR_SECRET_KEY_FILE_LEN)
		return MASTERKEY_ERR_TOR_LENGTH;
	memcpy(mk->sk.scalar, payload, sizeof(mk->sk.scalar));
	memcpy(mk->sk.prefix, payload + sizeof(mk->sk.scalar),
	    sizeof(mk->sk.prefix));
	if (public_from_scalar(mk->pub, mk->sk.scalar) == -1)
		return MASTERKEY_ERR_BAD_KEY;
	mk->has_seed = 0;
	mk->format = MASTERKEY_FORMAT_TOR;
	return MASTERKEY_OK;
}

/* DER, only as much as RFC 8410 keys need */

struct der {
	const uint8_t	*p;
	size_t		 len;
};

/*
 * Takes the next element, which must have tag `tag`, off d and points body
 * at its contents.  DER lengths: the short form, or the long form in one
 * or two bytes (a key file is under 4096 bytes), always minimal.
 */
static int
der_take(struct der *d, uint8_t tag, struct der *body)
{
	size_t hdr = 2, len;

	if (d->len < 2 || d->p[0] != tag)
		return -1;
	len = d->p[1];
	if (len == 0x81 && d->len >= 3 && d->p[2] >= 0x80) {
		len = d->p[2];
		hdr = 3;
	} else if (len == 0x82 && d->len >= 4 && d->p[2] != 0) {
		len = (size_t)d->p[2] << 8 | d->p[3];
		hdr = 4;
	} else if (len >= 0x80)
		return -1;
	if (len > d->len - hdr)
		return -1;
	body->p = d->p + hdr;
	body->len = len;
	d->p += hdr + len;
	d->len -= hdr + len;
	return 0;
}

static int
der_next_is(const struct der *d, uint8_t tag)
{
	return d->len > 0 && d->p[0] == tag;
}

/* version INTEGER (0 or 1) and privateKeyAlgorithm; returns the version. */
static int
pkcs8_take_version_alg(struct der *key)
{
	struct der field;
	int version;

	if (der_take(key, DER_INTEGER, &field) == -1 || field.len != 1 ||
	    field.p[0] > 1)
		return -1;
	version = field.p[0];
	/* RFC 8410 section 3: the parameters MUST be absent. */
	if (der_take(key, DER_SEQUENCE, &field) == -1 ||
	    field.len != sizeof(der_oid_ed25519) ||
	    memcmp(field.p, der_oid_ed25519, field.len) != 0)
		return -1;
	return version;
}

/*
 * OneAsymmetricKey (RFC 5958) holding an ed25519 key (RFC 8410):
 *   SEQUENCE { version, privateKeyAlgorithm,
 *              privateKey OCTET STRING { CurvePrivateKey OCTET STRING (32) },
 *              [0] attributes OPTIONAL,  (skipped)
 *              [1] publicKey OPTIONAL }  (v2 only: 0 unused bits, 32 bytes)
 * seed and pub point into der; pub is NULL if there is no public key.
 */
static int
pkcs8_parse(const uint8_t *der, size_t len, const uint8_t **seed,
    const uint8_t **pub)
{
	struct der in = { der, len }, key, field, curve_key;
	int version;

	*pub = NULL;
	if (der_take(&in, DER_SEQUENCE, &key) == -1 || in.len != 0 ||
	    (version = pkcs8_take_version_alg(&key)) == -1)
		return -1;
	if (der_take(&key, DER_OCTET_STRING, &field) == -1 ||
	    der_take(&field, DER_OCTET_STRING, &curve_key) == -1 ||
	    field.len != 0 || curve_key.len != ED25519_SEED_LEN)
		return -1;
	*seed = curve_key.p;
	if (der_next_is(&key, DER_ATTRIBUTES) &&
	    der_take(&key, DER_ATTRIBUTES, &field) == -1)
		return -1;
	if (version == 1 && der_next_is(&key, DER_BIT_STRING_PUBKEY)) {
		if (der_take(&key, DER_BIT_STRING_PUBKEY, &field) == -1 ||
		    field.len != 1 + ED25519_PUBKEY_LEN || field.p[0] != 0)
			return -1;
		*pub = field.p + 1;
	}
	return key.len == 0 ? 0 : -1;
}

static enum masterkey_error
key_from_pkcs8(struct masterkey *mk, const uint8_t *der, size_t len)
{
	const uint8_t *seed, *attached_pub;

	if (pkcs8_parse(der, len, &seed, &attached_pub) == -1)
		return MASTERKEY_ERR_PKCS8;
	memcpy(mk->seed, seed, ED25519_SEED_LEN);
	mk->has_seed = 1;
	expand_seed(&mk->sk, mk->seed);
	if (public_from_scalar(mk->pub, mk->sk.scalar) == -1)
		return MASTERKEY_ERR_BAD_KEY;
	if (attached_pub != NULL &&
	    sodium_memcmp(attached_pub, mk->pub, ED25519_PUBKEY_LEN) != 0)
		return MASTERKEY_ERR_PUBKEY_MISMATCH;
	mk->format = MASTERKEY_FORMAT_PEM;
	return MASTERKEY_OK;
}

/* PEM */

/*
 * Finds the base64 between the BEGIN and END lines.  Strict, as written by
 * Onionbalance (python-cryptography) and OpenSSL: the BEGIN line first,
 * '\n' line ends, no headers, nothing but white space after the END line.
 */
static enum masterkey_error
pem_find_body(const uint8_t *buf, size_t len, const char **body,
    size_t *bodylen)
{
	const uint8_t *start, *end, *p;

	if (has_prefix(buf, len, PEM_BEGIN_ENCRYPTED))
		return MASTERKEY_ERR_PEM_ENCRYPTED;
	if (!has_prefix(buf, len, PEM_BEGIN))
		return MASTERKEY_ERR_PEM_ARMOR;
	start = buf + strlen(PEM_BEGIN);
	end = memmem(start - 1, len - (size_t)(start - 1 - buf),
	    PEM_END_MARKER, strlen(PEM_END_MARKER));
	if (end == NULL)
		return MASTERKEY_ERR_PEM_ARMOR;
	for (p = end + strlen(PEM_END_MARKER); p < buf + len; p++) {
		if (*p != '\n' && *p != ' ' && *p != '\t')
			return MASTERKEY_ERR_PEM_ARMOR;
	}
	/* The body keeps the '\n' of its last line (start - 1 if empty). */
	*body = (const char *)start;
	*bodylen = end < start ? 0 : (size_t)(end + 1 - start);
	return MASTERKEY_OK;
}

static enum masterkey_error
parse_pem(struct masterkey *mk, const uint8_t *buf, size_t len)
{
	enum masterkey_error err;
	const char *body;
	size_t bodylen, derlen;
	uint8_t *der;
	ssize_t n;

	if ((err = pem_find_body(buf, len, &body, &bodylen)) != MASTERKEY_OK)
		return err;
	/* The DER holds the seed: decode it into guarded memory. */
	derlen = base64_decoded_maxlen(bodylen) + 1;
	if ((der = sodium_malloc(derlen)) == NULL)
		return MASTERKEY_ERR_NOMEM;
	n = base64_decode(der, derlen, body, bodylen, BASE64_MULTILINE);
	if (n < 0)
		err = MASTERKEY_ERR_PEM_BASE64;
	else
		err = key_from_pkcs8(mk, der, (size_t)n);
	sodium_free(der);
	return err;
}

enum masterkey_error
masterkey_parse(struct masterkey *mk, const uint8_t *buf, size_t len)
{
	enum masterkey_error err;

	sodium_memzero(mk, sizeof(*mk));
	if (len > MASTERKEY_FILE_MAX)
		return MASTERKEY_ERR_TOO_LARGE;
	/*
	 * As Onionbalance does: PEM first, then tor's format.  A file that
	 * starts like either is reported with that format's error; a 96-byte
	 * file is most likely a damaged tor key.
	 */
	if (has_prefix(buf, len, PEM_BEGIN_ANY))
		err = parse_pem(mk, buf, len);
	else if (len == TOR_SECRET_KEY_FILE_LEN || has_prefix(buf, len, "== "))
		err = parse_tor(mk, buf, len);
	else
		err = MASTERKEY_ERR_FORMAT;
	if (err != MASTERKEY_OK)
		sodium_memzero(mk, sizeof(*mk));
	return err;
}

/*
 * Reads fd to EOF into buf; MASTERKEY_ERR_TOO_LARGE if it fills the whole
 * of bufsz (the caller gives one byte more than a key file may have).
 */
static enum masterkey_error
read_to_eof(int fd, uint8_t *buf, size_t bufsz, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len < bufsz) {
		n = read(fd, buf + *len, bufsz - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return MASTERKEY_ERR_IO;
		if (n == 0)
			return MASTERKEY_OK;
		*len += (size_t)n;
	}
	return MASTERKEY_ERR_TOO_LARGE;
}

enum masterkey_error
masterkey_read_fd(struct masterkey *mk, int fd)
{
	enum masterkey_error err;
	uint8_t *buf;
	size_t len;
	int saved_errno;

	sodium_memzero(mk, sizeof(*mk));
	if ((buf = sodium_malloc(MASTERKEY_FILE_MAX + 1)) == NULL)
		return MASTERKEY_ERR_NOMEM;
	err = read_to_eof(fd, buf, MASTERKEY_FILE_MAX + 1, &len);
	if (err == MASTERKEY_OK)
		err = masterkey_parse(mk, buf, len);
	saved_errno = errno;
	sodium_free(buf);		/* wipes what was read */
	errno = saved_errno;
	return err;
}

/*
 * A generated key has a seed, so it is a PEM key in all but its file:
 * format says which writer keeps all of it.
 */
enum masterkey_error
masterkey_generate(struct masterkey *mk)
{
	sodium_memzero(mk, sizeof(*mk));
	randombytes_buf(mk->seed, sizeof(mk->seed));
	mk->has_seed = 1;
	expand_seed(&mk->sk, mk->seed);
	/* A clamped scalar is never 0 mod l; checked all the same. */
	if (public_from_scalar(mk->pub, mk->sk.scalar) == -1) {
		sodium_memzero(mk, sizeof(*mk));
		return MASTERKEY_ERR_BAD_KEY;
	}
	mk->format = MASTERKEY_FORMAT_PEM;
	return MASTERKEY_OK;
}

static enum masterkey_error
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return MASTERKEY_ERR_IO;
		if (n == 0) {
			errno = EIO;
			return MASTERKEY_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return MASTERKEY_OK;
}

enum masterkey_error
masterkey_write_tor(int fd, const struct masterkey *mk)
{
	enum masterkey_error err;

	/* Written from where they are, so no copy of the secret is made. */
	if ((err = write_all(fd, tor_key_header, sizeof(tor_key_header))) !=
	    MASTERKEY_OK ||
	    (err = write_all(fd, mk->sk.scalar, sizeof(mk->sk.scalar))) !=
	    MASTERKEY_OK)
		return err;
	return write_all(fd, mk->sk.prefix, sizeof(mk->sk.prefix));
}

/* The secret part of a PEM file while it is being written. */
struct pem_secret {
	uint8_t	der[PKCS8_V1_LEN];
	char	base64[128];	/* 48 bytes: one 64-char line, '\n', NUL */
};

enum masterkey_error
masterkey_write_pem(int fd, const struct masterkey *mk)
{
	struct pem_secret *s;
	enum masterkey_error err;
	ssize_t n;
	int saved_errno;

	if (!mk->has_seed)
		return MASTERKEY_ERR_NO_SEED;
	if ((s = sodium_malloc(sizeof(*s))) == NULL)
		return MASTERKEY_ERR_NOMEM;
	memcpy(s->der, pkcs8_v1_prefix, sizeof(pkcs8_v1_prefix));
	memcpy(s->der + sizeof(pkcs8_v1_prefix), mk->seed, ED25519_SEED_LEN);
	n = base64_encode(s->base64, sizeof(s->base64), s->der,
	    sizeof(s->der), BASE64_PAD | BASE64_MULTILINE);
	if (n < 0)
		fatalx("%s: base64 buffer too small", __func__);
	if ((err = write_all(fd, PEM_BEGIN, strlen(PEM_BEGIN))) ==
	    MASTERKEY_OK &&
	    (err = write_all(fd, s->base64, (size_t)n)) == MASTERKEY_OK)
		err = write_all(fd, PEM_END, strlen(PEM_END));
	saved_errno = errno;
	sodium_free(s);
	errno = saved_errno;
	return err;
}

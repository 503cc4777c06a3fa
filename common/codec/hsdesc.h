/*
 * The onion service v3 descriptor codec (rend-spec-v3 section 2.4-2.5;
 * tor hs_descriptor.c).
 *
 * Decode: what fetchd runs on every descriptor an HSDir hands it.  The
 * input is hostile.  The outer layer is parsed as strictly as tor parses
 * it, the signature and the signing-key certificate are checked against
 * the blinded key derived from the instance's identity key for the
 * expected time period, both encrypted layers are MAC-checked before they
 * are decrypted, and the introduction points are extracted.  Every
 * rejection has its own error code (hsdesc_strerror) and an optional
 * hsdesc_diag that says which layer and keyword.
 *
 * Encode: the superdescriptor publishd builds.  Its layout and padding are
 * those of a descriptor tor itself publishes, so that only the number of
 * introduction points is visible from outside.  The codec never sees the
 * master key nor the descriptor-signing secret key: certificates and the
 * body signature come from caller-supplied callbacks (keyd).
 */
#ifndef OB_HSDESC_H
#define OB_HSDESC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "torcert.h"

/* tor's HS_CONFIG_V3_MAX_INTRO_POINTS: a client rejects more. */
#define HSDESC_MAX_INTRO_POINTS		20
/* tor's HS_DESC_MAX_LEN, the default of HSV3MaxDescriptorSize. */
#define HSDESC_DEFAULT_MAX_SIZE		50000
/* tor's HS_DESC_MAX_LIFETIME, in minutes. */
#define HSDESC_MAX_LIFETIME_MIN		720
/* tor's HS_DESC_DEFAULT_LIFETIME, in minutes. */
#define HSDESC_DEFAULT_LIFETIME_MIN	180
/* tor's HS_DESC_SUPERENC_PLAINTEXT_PAD_MULTIPLE. */
#define HSDESC_SUPERENC_PAD_MULTIPLE	10000
/* tor's HS_DESC_AUTH_CLIENT_MULTIPLE: auth-client lines come in 16s. */
#define HSDESC_AUTH_CLIENT_MULTIPLE	16
#define HSDESC_MAX_AUTH_CLIENTS		(HSDESC_AUTH_CLIENT_MULTIPLE * 8)
/*
 * Link specifier lists are kept as raw bytes.  tor writes at most four
 * specifiers (about 80 bytes); more than this is refused.
 */
#define HSDESC_LSPEC_MAX		256
#define HSDESC_FLOW_CONTROL_MAX		64
#define X25519_KEY_LEN			32

/* The body-signature prefix (added by the signer, see hsdesc_sign_fn). */
#define HSDESC_SIG_PREFIX		"Tor onion service descriptor sig v3"

enum hsdesc_error {
	HSDESC_OK = 0,
	HSDESC_ERR_NOMEM,
	HSDESC_ERR_INVALID_ARGUMENT,	/* a caller bug, not the input */
	/* size and tokenizer, any layer (hsdesc_diag says which) */
	HSDESC_ERR_TOO_LARGE,		/* len >= the size limit */
	HSDESC_ERR_NUL,			/* NUL byte inside the text */
	HSDESC_ERR_LINE_TOO_LONG,
	HSDESC_ERR_TOO_FEW_ARGS,
	HSDESC_ERR_TOO_MANY_ARGS,
	HSDESC_ERR_OBJECT_BEGIN,	/* malformed -----BEGIN line */
	HSDESC_ERR_OBJECT_END,		/* missing or mismatched -----END line */
	HSDESC_ERR_OBJECT_BASE64,
	HSDESC_ERR_OBJECT_TOO_LARGE,
	HSDESC_ERR_OBJECT_UNEXPECTED,	/* keyword takes no object */
	HSDESC_ERR_OBJECT_MISSING,
	HSDESC_ERR_OBJECT_TYPE,		/* e.g. not "ED25519 CERT" */
	HSDESC_ERR_FIELD_MISSING,
	HSDESC_ERR_FIELD_DUPLICATED,
	HSDESC_ERR_FIELD_NOT_FIRST,
	HSDESC_ERR_FIELD_NOT_LAST,
	/* outer layer */
	HSDESC_ERR_VERSION,
	HSDESC_ERR_LIFETIME,
	HSDESC_ERR_SIGNING_CERT,	/* unparseable (diag.cert_error) */
	HSDESC_ERR_SIGNING_CERT_TYPE,
	HSDESC_ERR_SIGNING_CERT_NO_SIGNER,
	HSDESC_ERR_BLINDED_KEY_MISMATCH,	/* cert for another key or period */
	HSDESC_ERR_SIGNING_CERT_SIGNATURE,
	HSDESC_ERR_SIGNING_CERT_EXPIRED,
	HSDESC_ERR_REVISION_COUNTER,
	HSDESC_ERR_SIGNATURE_FORMAT,	/* not 86 base64 chars after "\n" */
	HSDESC_ERR_SIGNATURE,		/* does not verify */
	HSDESC_ERR_SIGNATURE_PRESENT,	/* unsigned body expected */
	/* layer encryption */
	HSDESC_ERR_ENCRYPTED_TOO_SHORT,	/* salt + MAC and no ciphertext */
	HSDESC_ERR_SUPERENC_MAC,
	HSDESC_ERR_SUPERENC_EMPTY,	/* plaintext empty after the NUL cut */
	HSDESC_ERR_ENCRYPTED_EMPTY,
	/*
	 * The inner MAC fails: without a client key we cannot tell
	 * restricted discovery from damage (tor cannot either).
	 */
	HSDESC_ERR_NEED_CLIENT_AUTH,
	HSDESC_ERR_CLIENT_NOT_AUTHORIZED,	/* our key matches no auth-client */
	HSDESC_ERR_BAD_CLIENT_AUTH,	/* cookie found but inner MAC fails */
	/* middle layer */
	HSDESC_ERR_AUTH_TYPE,
	HSDESC_ERR_EPHEMERAL_KEY,
	HSDESC_ERR_AUTH_CLIENT,
	HSDESC_ERR_TOO_MANY_AUTH_CLIENTS,
	/* inner layer */
	HSDESC_ERR_CREATE2_FORMATS,	/* no ntor (2) */
	HSDESC_ERR_INTRO_AUTH_TYPE,
	HSDESC_ERR_FLOW_CONTROL,
	HSDESC_ERR_POW_PARAMS,
	HSDESC_ERR_TOO_MANY_INTRO_POINTS,
	/* one introduction point (dropped, as tor drops it) */
	HSDESC_ERR_INTRO_LINK_SPECIFIERS,
	HSDESC_ERR_INTRO_ONION_KEY,
	HSDESC_ERR_INTRO_AUTH_KEY_CERT,
	HSDESC_ERR_INTRO_ENC_KEY,
	HSDESC_ERR_INTRO_ENC_KEY_CERT,
	HSDESC_ERR_INTRO_LEGACY_KEY,	/* obsolete; Onionbalance drops these too */
	/* encoder */
	HSDESC_ERR_NO_INTRO_POINTS,	/* none left that fit */
	HSDESC_ERR_CERTIFY,		/* certify callback failed or bad cert */
	HSDESC_ERR_SIGN,		/* sign callback failed or bad signature */
	HSDESC_ERR_ENCODE_SIZE,		/* even one intro point is too large */
	HSDESC_ERR_MAX_
};

const char *hsdesc_strerror(enum hsdesc_error err);

enum hsdesc_layer {
	HSDESC_LAYER_NONE = 0,
	HSDESC_LAYER_OUTER,
	HSDESC_LAYER_MIDDLE,		/* plaintext of "superencrypted" */
	HSDESC_LAYER_INNER,		/* plaintext of "encrypted" */
	HSDESC_LAYER_INTRO_POINT,
};

const char *hsdesc_layer_name(enum hsdesc_layer layer);

/* Where a rejection happened, for the log. */
struct hsdesc_diag {
	enum hsdesc_layer	layer;
	char			keyword[32];	/* "" if none */
	enum torcert_error	cert_error;	/* for certificate errors */
};

/*
 * Formats "<layer>: <keyword>: <reason>" into buf; returns buf.
 */
const char *hsdesc_diag_format(char *buf, size_t bufsz,
	    enum hsdesc_error err, const struct hsdesc_diag *diag);

/* One introduction point, as decoded, and as the encoder takes it. */
struct hsdesc_intro_point {
	uint8_t		lspec[HSDESC_LSPEC_MAX];	/* link_specifier_list, raw */
	size_t		lspec_len;
	uint8_t		onion_key[X25519_KEY_LEN];	/* ntor */
	uint8_t		auth_key[32];		/* certified by the auth-key cert */
	uint32_t	auth_key_exp_hours;
	uint8_t		auth_key_cert_type;	/* always 0x09 once decoded */
	uint8_t		enc_key[X25519_KEY_LEN];	/* ntor */
	uint8_t		enc_key_cert_key[32];	/* certified by enc-key-cert */
	uint32_t	enc_key_cert_exp_hours;
};

/* A dropped introduction point and why. */
#define HSDESC_MAX_DROPS_RECORDED	8

struct hsdesc {
	uint32_t	lifetime_min;
	uint64_t	revision_counter;
	uint8_t		signing_key[32];	/* descriptor signing key */
	uint8_t		blinded_key[32];	/* A' */
	uint32_t	signing_cert_exp_hours;
	/* middle layer */
	size_t		n_auth_clients;
	int		used_client_auth;	/* decrypted with a cookie */
	/* inner layer */
	int		create2_ntor;
	int		intro_auth_required;	/* with a known type */
	int		single_onion;
	int		has_flow_control;
	char		flow_control[HSDESC_FLOW_CONTROL_MAX];	/* raw args, e.g. "1-2 31" */
	uint8_t		flow_control_sendme_inc;
	int		has_pow_params;		/* parsed, never re-emitted */
	uint32_t	pow_suggested_effort;
	time_t		pow_expiration;
	size_t		n_intro_points;
	struct hsdesc_intro_point intro_points[HSDESC_MAX_INTRO_POINTS];
	/* introduction points tor would silently ignore; we say why */
	size_t		n_intro_dropped;
	enum hsdesc_error intro_drop_reasons[HSDESC_MAX_DROPS_RECORDED];
};

/*
 * Decodes and verifies a descriptor of the service whose identity key is
 * identity_pubkey, for time period tp of tp_len_min minutes: the signing
 * key cert must be signed by A' = blind(identity, tp), be of type 0x08 and
 * unexpired at now; the lifetime at most 720 minutes; len strictly below
 * max_size (0 means HSDESC_DEFAULT_MAX_SIZE).  client_x25519_sk (may be
 * NULL) is our restricted-discovery key.  text need not be NUL-terminated.
 * On success *out is a new struct (hsdesc_free); on failure *out is NULL
 * and diag (may be NULL) says where.
 */
enum hsdesc_error hsdesc_decode(const char *text, size_t len,
	    const uint8_t identity_pubkey[32], uint64_t tp, uint64_t tp_len_min,
	    time_t now, size_t max_size, const uint8_t *client_x25519_sk,
	    struct hsdesc **out, struct hsdesc_diag *diag);
/*
 * The same for a caller that does not know which of tp-1, tp, tp+1 the
 * HSDir served: the period is chosen by the signing cert's signer (only
 * one of the three blinded keys can match) and written to *tp_out.
 */
enum hsdesc_error hsdesc_decode_near(const char *text, size_t len,
	    const uint8_t identity_pubkey[32], uint64_t tp, uint64_t tp_len_min,
	    time_t now, size_t max_size, const uint8_t *client_x25519_sk,
	    uint64_t *tp_out, struct hsdesc **out, struct hsdesc_diag *diag);
void	hsdesc_free(struct hsdesc *desc);

/*
 * The outer layer alone, structure only (no certificate or signature
 * check), for keyd, which must see what it is asked to sign.  With
 * HSDESC_OUTER_UNSIGNED the text is a body to be signed: it must end right
 * after the "-----END MESSAGE-----\n" line and carry no signature line.
 * Pointers point into text.
 */
#define HSDESC_OUTER_UNSIGNED	0x01

struct hsdesc_outer {
	uint32_t	version;
	uint32_t	lifetime_min;
	uint64_t	revision_counter;
	uint8_t		signing_cert[TORCERT_LEN];
	size_t		signing_cert_len;
	size_t		signed_len;	/* bytes the body signature covers */
	uint8_t		signature[64];	/* unless HSDESC_OUTER_UNSIGNED */
	uint8_t	       *superencrypted;	/* salt | ciphertext | MAC (malloc) */
	size_t		superencrypted_len;
};

enum hsdesc_error hsdesc_outer_parse(struct hsdesc_outer *out,
	    const char *text, size_t len, size_t max_size, int flags,
	    struct hsdesc_diag *diag);
void	hsdesc_outer_clear(struct hsdesc_outer *outer);

/*
 * Callbacks through which the encoder gets what only keyd may make.
 *
 * certify: a 140-byte cert of cert_type (0x09 or 0x0B) over
 * certified_key, expiring at exp_hours, signed by the descriptor-signing
 * key, with the signed-with-key extension.  0 on success.
 *
 * sign: an ed25519 signature by the descriptor-signing key over
 * HSDESC_SIG_PREFIX | msg.  The SIGNER adds the prefix (keyd does, so that
 * it never signs an unprefixed body that could pass for something else);
 * msg is the body exactly as it will be published.  0 on success.
 *
 * Both results are verified by the encoder before use.
 */
typedef int (*hsdesc_certify_fn)(void *arg, uint8_t cert_type,
	    uint32_t exp_hours, const uint8_t certified_key[32],
	    uint8_t cert_out[TORCERT_LEN]);
typedef int (*hsdesc_sign_fn)(void *arg, const uint8_t *msg, size_t len,
	    uint8_t sig[64]);

struct hsdesc_encode_params {
	const uint8_t	*blinded_key;		/* A' (32) */
	const uint8_t	*subcredential;		/* (32) */
	const uint8_t	*signing_key;		/* descriptor signing pubkey (32) */
	const uint8_t	*signing_cert;		/* type 0x08 cert of it (140) */
	uint64_t	 revision_counter;
	uint32_t	 lifetime_min;		/* 0: HSDESC_DEFAULT_LIFETIME_MIN */
	const struct hsdesc_intro_point *intro_points;	/* in preference order */
	size_t		 n_intro_points;
	const char	*flow_control;		/* raw args, NULL: no line */
	size_t		 max_size;		/* 0: HSDESC_DEFAULT_MAX_SIZE */
	/* restricted discovery: authorized client x25519 public keys */
	const uint8_t	(*client_pubkeys)[X25519_KEY_LEN];
	size_t		 n_clients;
	hsdesc_certify_fn certify;
	hsdesc_sign_fn	 sign;
	void		*cb_arg;
};

struct hsdesc_encode_report {
	size_t	n_intro_used;
	size_t	n_dropped_count;	/* beyond HSDESC_MAX_INTRO_POINTS */
	size_t	n_dropped_size;		/* to stay below max_size */
};

/*
 * Builds and signs a superdescriptor.  Introduction points beyond 20 are
 * dropped, then more from the end while the result would not be strictly
 * below max_size; the report says how many.  pow-params is never
 * written.  On success *out is a malloc'd NUL-terminated string of *outlen
 * bytes.
 */
enum hsdesc_error hsdesc_encode(const struct hsdesc_encode_params *params,
	    char **out, size_t *outlen, struct hsdesc_encode_report *report);

#endif

/*
 * Internals of the descriptor codec shared by hsdesc_*.c, the unit tests
 * and the fuzz targets.  Not for the daemons: they use hsdesc.h.
 */
#ifndef OB_HSDESC_PRIVATE_H
#define OB_HSDESC_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "hsdesc.h"

/*
 * Tokenizer, with the rules of tor's parsecommon.c: a keyword line
 * ("opt " prefix skipped), arguments split on spaces and tabs, an optional
 * armored object "-----BEGIN <type>-----" ... "-----END <type>-----" whose
 * base64 body is decoded.  Unknown keywords are kept (kw == NULL) so that
 * they are ignored the way tor ignores them.
 */
#define HSDESC_TOK_MAX_ARGS	4	/* stored; more are counted */
#define HSDESC_MAX_LINE		(128 * 1024)	/* tor MAX_LINE_LENGTH */
#define HSDESC_MAX_OBJECT	(128 * 1024)	/* tor MAX_UNPARSED_OBJECT_SIZE */
#define HSDESC_MAX_TOKEN_ARGS	512		/* tor MAX_ARGS */

enum hsdesc_obj_rule { OBJ_NONE, OBJ_NEEDED, OBJ_OPTIONAL };

struct hsdesc_kw {
	const char	*name;
	int		 min_args, max_args;
	int		 concat_args;	/* the rest of the line is one arg */
	int		 min_count, max_count;
	enum hsdesc_obj_rule obj;
	int		 at_start, at_end;
};

struct hsdesc_str {
	const char	*ptr;
	size_t		 len;
};

struct hsdesc_token {
	const struct hsdesc_kw *kw;		/* NULL: unknown keyword */
	size_t		 kw_offset;		/* of the keyword in the text */
	struct hsdesc_str keyword;
	struct hsdesc_str args[HSDESC_TOK_MAX_ARGS];
	int		 n_args;
	struct hsdesc_str obj_type;
	uint8_t		*obj;			/* decoded, malloc'd */
	size_t		 obj_len;
	int		 has_obj;
};

struct hsdesc_tokens {
	struct hsdesc_token *tok;
	size_t		 n, cap;
};

enum hsdesc_error hsdesc_tokenize(struct hsdesc_tokens *out,
	    const char *text, size_t len, const struct hsdesc_kw *table,
	    size_t ntable, enum hsdesc_layer layer, struct hsdesc_diag *diag);
void	hsdesc_tokens_clear(struct hsdesc_tokens *toks);
/* First token of that keyword, or NULL. */
const struct hsdesc_token *hsdesc_find(const struct hsdesc_tokens *toks,
	    const struct hsdesc_kw *kw);
int	hsdesc_str_eq(const struct hsdesc_str *s, const char *lit);
/* Decimal digits only, no sign, no overflow. */
int	hsdesc_parse_u64(const struct hsdesc_str *s, uint64_t max,
	    uint64_t *out);
/* A 32-byte key in base64, 43 chars or 44 with '='. */
int	hsdesc_parse_key32(const struct hsdesc_str *s, uint8_t out[32]);
void	hsdesc_diag_set(struct hsdesc_diag *diag, enum hsdesc_layer layer,
	    const char *keyword, size_t kwlen);

/*
 * Layer encryption (rend-spec-v3 2.5.3):
 *   keys = SHAKE-256(secret_data | subcred | INT_8(revision) | salt | const)
 *   blob = salt(16) | AES-256-CTR(plaintext) | SHA3-256(INT_8(32) |
 *          mac_key | INT_8(16) | salt | ciphertext)
 */
#define HSDESC_SALT_LEN		16
#define HSDESC_MAC_LEN		32
#define HSDESC_COOKIE_LEN	16
#define HSDESC_CLIENT_ID_LEN	8
#define HSDESC_CONST_SUPERENC	"hsdir-superencrypted-data"
#define HSDESC_CONST_ENC	"hsdir-encrypted-data"

struct hsdesc_layer_keys {
	const uint8_t	*blinded_key;		/* 32 */
	const uint8_t	*cookie;		/* 16 or NULL */
	const uint8_t	*subcredential;		/* 32 */
	uint64_t	 revision_counter;
	const char	*constant;
};

/*
 * Pads plaintext with NULs up to a multiple of pad_multiple (0 or 1: no
 * padding), encrypts it with a fresh salt.  *blob is malloc'd.
 */
enum hsdesc_error hsdesc_layer_encrypt(const struct hsdesc_layer_keys *k,
	    const uint8_t *plain, size_t plain_len, size_t pad_multiple,
	    uint8_t **blob, size_t *blob_len);
/*
 * Checks the MAC, then decrypts; the plaintext is cut at its first NUL,
 * as tor does, and NUL-terminated.  Errors: HSDESC_ERR_ENCRYPTED_TOO_SHORT,
 * mac_err, empty_err.
 */
enum hsdesc_error hsdesc_layer_decrypt(const struct hsdesc_layer_keys *k,
	    const uint8_t *blob, size_t blob_len, enum hsdesc_error mac_err,
	    enum hsdesc_error empty_err, char **plain, size_t *plain_len);

struct hsdesc_auth_client {
	uint8_t	client_id[HSDESC_CLIENT_ID_LEN];
	uint8_t	iv[16];
	uint8_t	encrypted_cookie[HSDESC_COOKIE_LEN];
};

/* The service side: an auth-client entry for client_pk. */
int	hsdesc_auth_client_build(struct hsdesc_auth_client *out,
	    const uint8_t subcred[32], const uint8_t esk[X25519_KEY_LEN],
	    const uint8_t client_pk[X25519_KEY_LEN],
	    const uint8_t cookie[HSDESC_COOKIE_LEN]);
/* A fake entry of random bytes, as tor adds. */
void	hsdesc_auth_client_fake(struct hsdesc_auth_client *out);
/*
 * The client side: 0 and the cookie if this entry is ours, -1 otherwise.
 */
int	hsdesc_auth_client_open(const struct hsdesc_auth_client *ac,
	    const uint8_t subcred[32], const uint8_t client_sk[X25519_KEY_LEN],
	    const uint8_t epk[X25519_KEY_LEN],
	    uint8_t cookie[HSDESC_COOKIE_LEN]);

/*
 * The middle layer, parsed (no decryption of its "encrypted" object).
 */
struct hsdesc_middle {
	uint8_t		ephemeral_key[X25519_KEY_LEN];
	struct hsdesc_auth_client *clients;	/* malloc'd */
	size_t		n_clients;
	uint8_t	       *encrypted;		/* malloc'd */
	size_t		encrypted_len;
};

enum hsdesc_error hsdesc_middle_parse(struct hsdesc_middle *out,
	    const char *text, size_t len, struct hsdesc_diag *diag);
void	hsdesc_middle_clear(struct hsdesc_middle *m);

/*
 * The inner layer into desc (create2-formats ... introduction points).
 * signing_key: the key the intro certs must be signed by; now: for their
 * expiry.
 */
enum hsdesc_error hsdesc_inner_parse(struct hsdesc *desc, const char *text,
	    size_t len, const uint8_t signing_key[32], time_t now,
	    struct hsdesc_diag *diag);

/* Link specifier list syntax (trunnel link_specifier_list). */
int	hsdesc_lspec_valid(const uint8_t *buf, size_t len);

/* A growable string for the encoder. */
struct hsdesc_buf {
	char	*s;
	size_t	 len, cap;
	int	 failed;
};

void	hsdesc_buf_add(struct hsdesc_buf *b, const void *p, size_t len);
void	hsdesc_buf_addstr(struct hsdesc_buf *b, const char *s);
void	hsdesc_buf_printf(struct hsdesc_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* base64 of len bytes with flags (encoding.h). */
void	hsdesc_buf_base64(struct hsdesc_buf *b, const uint8_t *p, size_t len,
	    int flags);
void	hsdesc_buf_free(struct hsdesc_buf *b);

#endif

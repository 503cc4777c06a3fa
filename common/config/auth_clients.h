/*
 * Restricted discovery (v3 client authorization): the client public keys
 * a frontend's descriptor is encrypted to, in the forms tor reads them
 * (tor's hs_config.c, parse_authorized_client()):
 *
 *   descriptor:x25519:<the 32-byte key in base32, 52 characters>
 *
 * given in the config itself or as the one line of a "<name>.auth" file in
 * a directory, as in tor's HiddenServiceDir/authorized_clients/.
 */
#ifndef OB_AUTH_CLIENTS_H
#define OB_AUTH_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_CLIENT_KEY_LEN	32
#define AUTH_CLIENT_PREFIX	"descriptor:x25519:"
#define AUTH_CLIENT_B32_LEN	52
/* tor reads only these files of authorized_clients/. */
#define AUTH_CLIENT_FILE_SUFFIX	".auth"
/* One .auth file is one short line; anything longer is not one. */
#define AUTH_CLIENT_FILE_MAX	1024

/*
 * Parses "descriptor:x25519:<base32>" (whitespace around it allowed, as
 * tor's split allows).  0, or -1 if it is anything else.
 */
int	auth_client_parse(const char *s, size_t len,
	    uint8_t key[AUTH_CLIENT_KEY_LEN]);

/*
 * Appends the key of every "*.auth" file in dir to *keys (realloc'd;
 * *n counts them), in file-name order, at most max in all.  Other files
 * are ignored, as tor ignores them.  -1 with a one-line reason in err
 * (naming the file) on any error; *keys and *n then hold what was read
 * before it.
 */
int	auth_client_dir_read(const char *dir,
	    uint8_t (**keys)[AUTH_CLIENT_KEY_LEN], size_t *n, size_t max,
	    char *err, size_t errlen);

/*
 * The other half, a client's: tor's ClientOnionAuthDir holds one
 * "<name>.auth_private" file per service (tor's hs_client.c,
 * parse_auth_file_content()), one line
 *
 *   <address, 56 characters, no ".onion">:descriptor:x25519:<private key in base32>
 *
 * fetchd decrypts a restricted backend's descriptors with such a key.
 */
#define AUTH_PRIVATE_FILE_SUFFIX	".auth_private"
#define AUTH_PRIVATE_ADDRESS_LEN	56

/*
 * Parses one .auth_private line (whitespace around it allowed).  0 with
 * the address (NUL-terminated, as written: the caller checks it) and the
 * key, or -1.  The caller wipes key.
 */
int	auth_private_parse(const char *s, size_t len,
	    char address[AUTH_PRIVATE_ADDRESS_LEN + 1],
	    uint8_t key[AUTH_CLIENT_KEY_LEN]);

/*
 * Reads the .auth_private file at path: 0, or -1 with a one-line reason
 * naming the file in err.  The file's bytes are wiped after use.
 */
int	auth_private_file_read(const char *path,
	    char address[AUTH_PRIVATE_ADDRESS_LEN + 1],
	    uint8_t key[AUTH_CLIENT_KEY_LEN], char *err, size_t errlen);

/*
 * Calls found(arg, address, key) for each "*.auth_private" file in dir,
 * in file-name order; other files are ignored, as tor ignores them.  -1
 * with a one-line reason naming the file in err on the first file that
 * cannot be read or parsed, or when found() returns -1 (it then wrote
 * err).  key is wiped after each call.
 */
typedef int auth_private_found_cb(void *arg, const char *file,
	    const char *address, const uint8_t key[AUTH_CLIENT_KEY_LEN],
	    char *err, size_t errlen);
int	auth_private_dir_read(const char *dir, auth_private_found_cb *found,
	    void *arg, char *err, size_t errlen);

#endif

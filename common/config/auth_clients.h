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

#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "digest.h"
#include "torctl_auth.h"

/* control-spec §3.24; the HMAC key is the constant, the message the data. */
#define SAFECOOKIE_SERVER_KEY \
	"Tor safe cookie authentication server-to-controller hash"
#define SAFECOOKIE_CLIENT_KEY \
	"Tor safe cookie authentication controller-to-server hash"

const char *
torctl_auth_method_str(enum torctl_auth_method m)
{
	switch (m) {
	case TORCTL_AUTH_NONE:
		return "none";
	case TORCTL_AUTH_NULL:
		return "NULL";
	case TORCTL_AUTH_HASHEDPASSWORD:
		return "HASHEDPASSWORD";
	case TORCTL_AUTH_COOKIE:
		return "COOKIE";
	case TORCTL_AUTH_SAFECOOKIE:
		return "SAFECOOKIE";
	}
	return "?";
}

/* "NULL,HASHEDPASSWORD,..." to a bitmask; unknown methods are ignored. */
static unsigned
parse_methods(const char *list)
{
	static const enum torctl_auth_method all[] = { TORCTL_AUTH_NULL,
	    TORCTL_AUTH_HASHEDPASSWORD, TORCTL_AUTH_COOKIE,
	    TORCTL_AUTH_SAFECOOKIE };
	const char *name;
	unsigned methods = 0;
	size_t i, n;

	while (*list != '\0') {
		n = strcspn(list, ",");
		for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
			name = torctl_auth_method_str(all[i]);
			if (strlen(name) == n && memcmp(list, name, n) == 0)
				methods |= all[i];
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return methods;
}

static int
parse_auth_line(const char *text, struct torctl_protocolinfo *pi,
    const char **why)
{
	char methods[256];

	if (torctl_kv_get(text, "METHODS", methods, sizeof(methods)) == -1) {
		*why = "PROTOCOLINFO AUTH line without METHODS";
		return -1;
	}
	pi->methods = parse_methods(methods);
	if (strstr(text, " COOKIEFILE=") != NULL &&
	    torctl_kv_get(text, "COOKIEFILE", pi->cookie_file,
	    sizeof(pi->cookie_file)) == -1) {
		*why = "malformed COOKIEFILE";
		return -1;
	}
	return 0;
}

int
torctl_parse_protocolinfo(const struct torctl_reply *r,
    struct torctl_protocolinfo *pi, const char **why)
{
	char word[32];
	size_t i;
	int have_auth = 0;

	memset(pi, 0, sizeof(*pi));
	*why = "PROTOCOLINFO failed";
	if (r->code != 250 || r->nlines < 2)
		return -1;
	*why = "not a PROTOCOLINFO 1 reply";
	if (strcmp(r->lines[0].text, "PROTOCOLINFO 1") != 0)
		return -1;
	for (i = 1; i + 1 < r->nlines; i++) {
		if (torctl_word(r->lines[i].text, 0, word, sizeof(word)) == -1)
			continue;
		if (strcmp(word, "AUTH") == 0) {
			if (have_auth++ || parse_auth_line(r->lines[i].text,
			    pi, why) == -1)
				goto fail;
		} else if (strcmp(word, "VERSION") == 0)
			(void)torctl_kv_get(r->lines[i].text, "Tor",
			    pi->version, sizeof(pi->version));
	}
	*why = "PROTOCOLINFO without an AUTH line";
	if (!have_auth)
		goto fail;
	return 0;
 fail:
	memset(pi, 0, sizeof(*pi));
	return -1;
}

enum torctl_auth_method
torctl_auth_choose(unsigned offered, unsigned allowed, bool have_cookie,
    bool have_password)
{
	unsigned usable = offered & allowed;

	if (!have_cookie)
		usable &= ~(unsigned)(TORCTL_AUTH_SAFECOOKIE |
		    TORCTL_AUTH_COOKIE);
	if (!have_password)
		usable &= ~(unsigned)TORCTL_AUTH_HASHEDPASSWORD;
	if (usable & TORCTL_AUTH_SAFECOOKIE)
		return TORCTL_AUTH_SAFECOOKIE;
	if (usable & TORCTL_AUTH_COOKIE)
		return TORCTL_AUTH_COOKIE;
	if (usable & TORCTL_AUTH_HASHEDPASSWORD)
		return TORCTL_AUTH_HASHEDPASSWORD;
	if (usable & TORCTL_AUTH_NULL)
		return TORCTL_AUTH_NULL;
	return TORCTL_AUTH_NONE;
}

static int
parse_hex32(const char *text, const char *key, uint8_t out[32])
{
	char hex[2 * 32 + 1];
	size_t binlen = 0;

	if (torctl_kv_get(text, key, hex, sizeof(hex)) == -1 ||
	    strlen(hex) != 64 ||
	    sodium_hex2bin(out, 32, hex, 64, NULL, &binlen, NULL) != 0 ||
	    binlen != 32)
		return -1;
	return 0;
}

int
torctl_parse_authchallenge(const struct torctl_reply *r,
    uint8_t server_hash[TORCTL_HASH_LEN],
    uint8_t server_nonce[TORCTL_NONCE_LEN], const char **why)
{
	const char *text;

	*why = "AUTHCHALLENGE failed";
	if (r->code != 250 || r->nlines != 1)
		return -1;
	text = r->lines[0].text;
	*why = "malformed AUTHCHALLENGE reply";
	if (strncmp(text, "AUTHCHALLENGE ", 14) != 0 ||
	    parse_hex32(text, "SERVERHASH", server_hash) == -1 ||
	    parse_hex32(text, "SERVERNONCE", server_nonce) == -1)
		return -1;
	return 0;
}

int
torctl_safecookie_respond(const uint8_t cookie[TORCTL_COOKIE_LEN],
    const uint8_t client_nonce[TORCTL_NONCE_LEN],
    const uint8_t server_nonce[TORCTL_NONCE_LEN],
    const uint8_t server_hash[TORCTL_HASH_LEN],
    uint8_t client_hash[TORCTL_HASH_LEN])
{
	uint8_t msg[TORCTL_COOKIE_LEN + 2 * TORCTL_NONCE_LEN];
	uint8_t expect[TORCTL_HASH_LEN];
	int ok;

	memcpy(msg, cookie, TORCTL_COOKIE_LEN);
	memcpy(msg + TORCTL_COOKIE_LEN, client_nonce, TORCTL_NONCE_LEN);
	memcpy(msg + TORCTL_COOKIE_LEN + TORCTL_NONCE_LEN, server_nonce,
	    TORCTL_NONCE_LEN);
	hmac_sha256(expect, SAFECOOKIE_SERVER_KEY,
	    sizeof(SAFECOOKIE_SERVER_KEY) - 1, msg, sizeof(msg));
	ok = sodium_memcmp(expect, server_hash, TORCTL_HASH_LEN) == 0;
	if (ok)
		hmac_sha256(client_hash, SAFECOOKIE_CLIENT_KEY,
		    sizeof(SAFECOOKIE_CLIENT_KEY) - 1, msg, sizeof(msg));
	sodium_memzero(msg, sizeof(msg));
	sodium_memzero(expect, sizeof(expect));
	return ok ? 0 : -1;
}

int
torctl_cookie_read_fd(int fd, uint8_t cookie[TORCTL_COOKIE_LEN])
{
	/* One byte more than a cookie, to notice a file that is too long. */
	uint8_t buf[TORCTL_COOKIE_LEN + 1];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(buf)) {
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == TORCTL_COOKIE_LEN && n == 0)
		memcpy(cookie, buf, TORCTL_COOKIE_LEN);
	sodium_memzero(buf, sizeof(buf));
	if (got != TORCTL_COOKIE_LEN || n != 0) {
		errno = n == -1 ? errno : EINVAL;
		return -1;
	}
	return 0;
}

int
torctl_cookie_read_path(const char *path, uint8_t cookie[TORCTL_COOKIE_LEN])
{
	int fd, rv, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	rv = torctl_cookie_read_fd(fd, cookie);
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

int
torctl_quote_string(const char *s, char *out, size_t outlen)
{
	size_t o = 0, need;

	if (outlen < 3)
		return -1;
	out[o++] = '"';
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return -1;
		need = *s == '"' || *s == '\\' ? 2 : 1;
		/* This character, then room for the closing quote and NUL. */
		if (o + need + 2 > outlen)
			return -1;
		if (need == 2)
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

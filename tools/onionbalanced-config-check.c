/*
 * onionbalanced-config: checks of what the user typed, on the command line
 * or at a prompt.  Everything checked here ends up in config.yaml or in a
 * backend's torrc, so a value that could change the meaning of either
 * file (a newline, a '#', a space in a torrc path) is refused rather than
 * quoted.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onionbalanced-config.h"

/*
 * What the user typed, fit for one line of a message: control characters
 * as \xNN, cut after CFGGEN_QUOTE_MAX bytes.  The next call reuses the
 * buffer.
 */
const char *
cfggen_quote(const char *s)
{
	static char buf[CFGGEN_QUOTE_MAX * 4 + sizeof("...")];
	size_t i, n = 0;

	for (i = 0; s[i] != '\0' && i < CFGGEN_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	if (s[i] != '\0')
		memcpy(buf + n, "...", sizeof("..."));
	return buf;
}

int
cfggen_parse_count(const char *s, unsigned long max, const char *what,
    size_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)s[0]) ||
	    ((v = strtoul(s, &end, 10)), errno != 0) || *end != '\0' ||
	    v < 1 || v > max) {
		warnx("%s: \"%s\" is not a number from 1 to %lu", what,
		    cfggen_quote(s), max);
		return -1;
	}
	*out = v;
	return 0;
}

int
cfggen_parse_port(const char *s, const char *what, uint16_t *out)
{
	size_t v;

	if (cfggen_parse_count(s, 65535, what, &v) == -1)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/*
 * A tag becomes instance names ("node1") in config.yaml, folder names and
 * HiddenServiceDir paths: a letter, then letters, digits, '-' or '_'.
 * With a letter first, "<tag><number>" is always a plain YAML string
 * (never a number, boolean or null), as Onionbalance writes it.
 */
int
cfggen_check_tag(const char *s, const char *what)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > CFGGEN_TAG_MAX ||
	    !isalpha((unsigned char)s[0]))
		goto bad;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			goto bad;
	return 0;
 bad:
	warnx("%s: \"%s\" is not a tag: 1 to %d letters, digits, '-' or '_', "
	    "starting with a letter", what, cfggen_quote(s), CFGGEN_TAG_MAX);
	return -1;
}

/* Printable ASCII without space, quotes, backslash and '#' (torrc comment). */
static int
is_torrc_word(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == '#' || *s == '"' ||
		    *s == '\'' || *s == '\\')
			return 0;
	return 1;
}

/* "ADDR:PORT" with ADDR an IPv4 literal or a bracketed IPv6 literal. */
static int
is_addr_port(const char *s)
{
	char addr[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned char buf[16];
	size_t alen, v;
	char *end;

	if ((colon = strrchr(s, ':')) == NULL ||
	    (alen = (size_t)(colon - s)) == 0 || alen >= sizeof(addr))
		return 0;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (!isdigit((unsigned char)colon[1]))
		return 0;
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return 0;
	if (addr[0] == '[' && addr[alen - 1] == ']') {
		addr[alen - 1] = '\0';
		return inet_pton(AF_INET6, addr + 1, buf) == 1;
	}
	return inet_pton(AF_INET, addr, buf) == 1;
}

/*
 * tor's HiddenServicePort target: a port, "ADDR:PORT" or "unix:PATH".
 * Host names are refused: tor would resolve them when it starts, and a
 * backend's target is nearly always a local address.
 */
int
cfggen_check_target(const char *s, const char *what)
{
	size_t len = strlen(s), port;
	const char *problem = NULL;

	if (len == 0 || len >= CFGGEN_TARGET_MAX || !is_torrc_word(s))
		problem = "not one word of printable characters without "
		    "quotes, '\\' or '#'";
	else if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/')
			problem = "a unix socket target needs an absolute path";
	} else if (strspn(s, "0123456789") == len) {
		errno = 0;
		port = strtoul(s, NULL, 10);
		if (errno != 0 || port < 1 || port > 65535)
			problem = "not a port from 1 to 65535";
	} else if (!is_addr_port(s))
		problem = "not PORT, IPv4:PORT, [IPv6]:PORT or unix:/PATH";
	if (problem == NULL)
		return 0;
	warnx("%s: \"%s\" is %s", what, cfggen_quote(s), problem);
	return -1;
}

/* The directory on the backends under which each HiddenServiceDir goes. */
int
cfggen_check_hs_dir_base(const char *s, const char *what)
{
	size_t len = strlen(s);

	if (s[0] != '/' || len + CFGGEN_FOLDER_MAX + 1 >= CFGGEN_PATH_MAX ||
	    !is_torrc_word(s)) {
		warnx("%s: \"%s\" is not an absolute path without spaces, "
		    "quotes, '\\' or '#' (it goes into a torrc)", what,
		    cfggen_quote(s));
		return -1;
	}
	return 0;
}

int
cfggen_parse_address(const char *s, const char *what,
    char out[ONION_ADDRESS_LEN + 1])
{
	enum onion_address_error error;
	uint8_t pubkey[32];

	error = onion_address_to_pubkey(pubkey, s, strlen(s));
	if (error != ONION_ADDRESS_OK) {
		warnx("%s: \"%s\" is not a v3 onion address: %s", what,
		    cfggen_quote(s),
		    onion_address_strerror(error));
		return -1;
	}
	onion_address_from_pubkey(out, pubkey);
	return 0;
}

void
cfggen_service_set_port(struct cfggen_service *svc, uint16_t port)
{
	svc->virtual_port = port;
	snprintf(svc->target, sizeof(svc->target), "127.0.0.1:%u",
	    (unsigned int)port);
}

int
cfggen_service_alloc_instances(struct cfggen_service *svc)
{
	svc->instances = calloc(svc->ninstances, sizeof(*svc->instances));
	return svc->instances == NULL ? -1 : 0;
}

/*
 * onionbalanced-config add-client: one client of a frontend with
 * restricted discovery (docs/configuration.md, "Client authorization").
 *
 *   onionbalanced-config add-client --address FRONTEND --name NAME
 *       --authorized-clients DIR [--output DIR]
 *
 * makes an x25519 key pair as tor does, writes its public half to
 * <authorized-clients>/<NAME>.auth (tor's authorized_clients/ line; the
 * directory a service's authorized-clients names, so a reload adds the
 * client) and its private half to <output>/<NAME>.auth_private in the form
 * a tor client's ClientOnionAuthDir reads:
 *
 *   <address without .onion>:descriptor:x25519:<private key in base32>
 *
 * Both files are created exclusively; the private one is mode 0600.  The
 * private half is for the client alone: give it over a safe channel and
 * delete it here.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth_clients.h"
#include "encoding.h"
#include "onion_address.h"
#include "onionbalanced-config.h"

#define CLIENT_NAME_MAX	64

enum { OPT_ADDRESS = 256, OPT_NAME, OPT_DIR, OPT_OUTPUT };

static void
client_usage(FILE *out)
{
	fprintf(out, "usage: onionbalanced-config add-client --address "
	    "FRONTEND --name NAME\n"
	    "           --authorized-clients DIR [--output DIR]\n\n"
	    "Makes a client key pair for a frontend with restricted discovery: "
	    "the public\nhalf goes to DIR/NAME.auth (the service's "
	    "authorized-clients directory; reload\nonionbalanced to use it), "
	    "the private half to NAME.auth_private in --output\n(default .), "
	    "for the client's ClientOnionAuthDir.\n");
}

/* tor's names of .auth files: letters, digits, '-', '_' (no path). */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CLIENT_NAME_MAX && strspn(s, "abcdefghijklmnopq"
	    "rstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

/* Creates dir/name exclusively with mode and writes text; -1 and warn. */
static int
write_new(const char *dir, const char *name, mode_t mode, const char *text)
{
	char path[4096];
	size_t len = strlen(text);
	ssize_t w;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		warnx("%s/%s: path too long", dir, name);
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1) {
		warn("%s", path);
		return -1;
	}
	w = write(fd, text, len);
	if (w != (ssize_t)len || fsync(fd) == -1) {
		warn("%s", path);
		(void)close(fd);
		(void)unlink(path);
		return -1;
	}
	if (close(fd) == -1) {
		warn("%s", path);
		(void)unlink(path);
		return -1;
	}
	printf("wrote %s\n", path);
	return 0;
}

/* tor's curve25519_secret_key_generate(): random, clamped. */
static void
client_keypair(uint8_t sk[32], uint8_t pk[32])
{
	randombytes_buf(sk, 32);
	sk[0] &= 248;
	sk[31] &= 127;
	sk[31] |= 64;
	if (crypto_scalarmult_base(pk, sk) != 0)
		errx(1, "x25519 failed");
}

static int
write_client(const char *address, const char *name, const char *authdir,
    const char *output)
{
	uint8_t sk[32], pk[32];
	char b32[AUTH_CLIENT_B32_LEN + 1], file[CLIENT_NAME_MAX + 16];
	char line[ONION_ADDRESS_LEN + sizeof(AUTH_CLIENT_PREFIX) +
	    AUTH_CLIENT_B32_LEN + 4];
	int rv = -1;

	client_keypair(sk, pk);
	if (base32_encode(b32, sizeof(b32), pk, sizeof(pk)) == -1)
		goto out;
	snprintf(line, sizeof(line), "%s%s\n", AUTH_CLIENT_PREFIX, b32);
	snprintf(file, sizeof(file), "%s%s", name, AUTH_CLIENT_FILE_SUFFIX);
	if (write_new(authdir, file, 0644, line) == -1)
		goto out;
	if (base32_encode(b32, sizeof(b32), sk, sizeof(sk)) == -1)
		goto out;
	snprintf(line, sizeof(line), "%s:%s%s\n", address,
	    AUTH_CLIENT_PREFIX, b32);
	snprintf(file, sizeof(file), "%s.auth_private", name);
	if (write_new(output, file, 0600, line) == -1) {
		snprintf(file, sizeof(file), "%s/%s%s", authdir, name,
		    AUTH_CLIENT_FILE_SUFFIX);
		(void)unlink(file);	/* all or nothing */
		goto out;
	}
	rv = 0;
 out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(b32, sizeof(b32));
	sodium_memzero(line, sizeof(line));
	return rv;
}

int
cfggen_add_client(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "address", required_argument, NULL, OPT_ADDRESS },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "authorized-clients", required_argument, NULL, OPT_DIR },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char address[ONION_ADDRESS_LEN + 1];
	const char *addr = NULL, *name = NULL, *authdir = NULL, *output = ".";
	uint8_t pub[32];
	size_t len;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_ADDRESS: addr = optarg; break;
		case OPT_NAME: name = optarg; break;
		case OPT_DIR: authdir = optarg; break;
		case OPT_OUTPUT: output = optarg; break;
		case 'h':
			client_usage(stdout);
			return 0;
		default:
			client_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || addr == NULL || name == NULL || authdir == NULL) {
		client_usage(stderr);
		return 2;
	}
	len = strlen(addr);
	if (len > 6 && strcmp(addr + len - 6, ".onion") == 0)
		len -= 6;
	if (len != ONION_ADDRESS_LEN ||
	    onion_address_to_pubkey(pub, addr, len) != ONION_ADDRESS_OK) {
		warnx("--address: \"%s\" is not a v3 onion address", addr);
		return 2;
	}
	memcpy(address, addr, ONION_ADDRESS_LEN);
	address[ONION_ADDRESS_LEN] = '\0';
	for (size_t i = 0; i < ONION_ADDRESS_LEN; i++)
		if (address[i] >= 'A' && address[i] <= 'Z')
			address[i] = (char)(address[i] - 'A' + 'a');
	if (!name_ok(name)) {
		warnx("--name: \"%s\": use 1 to %d letters, digits, '-' or '_'",
		    name, CLIENT_NAME_MAX);
		return 2;
	}
	return write_client(address, name, authdir, output) == 0 ? 0 : 1;
}

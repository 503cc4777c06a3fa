/*
 * Writes, into the directory given as argv[1], a superdescriptor made by
 * our encoder for a fresh identity key, and what our decoder reads from
 * it, for the independent check with Debian's python3-stem
 * (check_hsdesc_with_stem.py):
 *   address.txt     the onion address (56 chars, no ".onion")
 *   descriptor.txt  the descriptor
 *   expected.txt    one line per intro point: hex of the link specifier
 *                   list, onion key, auth key, enc key
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "hsdesc.h"
#include "test_hsdesc_fixture.h"

#define N_INTRO	5

static int
write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return -1;
	}
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void
put_hex(FILE *f, const uint8_t *p, size_t len)
{
	char hex[2 * 256 + 1];

	hex_encode(hex, p, len);
	fprintf(f, " %s", hex);
}

static int
write_expected(const char *dir, const struct hsdesc *d)
{
	char path[4096];
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/expected.txt", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	for (i = 0; i < d->n_intro_points; i++) {
		const struct hsdesc_intro_point *ip = &d->intro_points[i];

		fprintf(f, "ip");
		put_hex(f, ip->lspec, ip->lspec_len);
		put_hex(f, ip->onion_key, 32);
		put_hex(f, ip->auth_key, 32);
		put_hex(f, ip->enc_key, 32);
		fprintf(f, "\n");
	}
	return fclose(f);
}

int
main(int argc, char **argv)
{
	struct hsdesc_intro_point ips[N_INTRO];
	struct hsdesc_encode_params p;
	struct hsdesc *d = NULL;
	struct fixture f;
	char *text = NULL;
	size_t len, i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s outdir\n", argv[0]);
		return 2;
	}
	fixture_init(&f, time(NULL), 1440);
	for (i = 0; i < N_INTRO; i++)
		fixture_intro_point(&ips[i], f.now, i % 2);
	fixture_params(&p, &f, ips, N_INTRO);
	if (hsdesc_encode(&p, &text, &len, NULL) != HSDESC_OK ||
	    hsdesc_decode(text, len, f.id_pk, f.tp, f.tp_len, f.now, 0, NULL,
	    &d, NULL) != HSDESC_OK || d->n_intro_points != N_INTRO) {
		fprintf(stderr, "encode/decode failed\n");
		return 1;
	}
	if (write_file(argv[1], "address.txt", f.address, strlen(f.address)) ||
	    write_file(argv[1], "descriptor.txt", text, len) ||
	    write_expected(argv[1], d) != 0)
		return 1;
	hsdesc_free(d);
	free(text);
	fixture_free(&f);
	return 0;
}

/*
 * The offline benchmark (bench_offline.c): figures, not tests.  It times
 * the work publishd and fetchd repeat on the real network -- reading a
 * full-size consensus into both HSDir rings, decoding backend descriptors,
 * building a 20-intro-point superdescriptor through keyd -- and prints
 * one line per figure, in the format bench/run-offline merges with the
 * Onionbalance side (bench_onionbalance.py):
 *
 *	figure<TAB>name<TAB>value<TAB>unit<TAB>iterations<TAB>note
 *
 * Figures are per operation (ms/op or op/s), measured over enough
 * iterations with CLOCK_MONOTONIC.
 */
#ifndef OB_BENCH_H
#define OB_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "keyd_client.h"

/* --- timing and output (bench_time.c) --- */

double	bench_now(void);		/* CLOCK_MONOTONIC, in seconds */
/* One figure line; value in unit, per operation. */
void	bench_figure(const char *name, double value, const char *unit,
	    unsigned long iterations, const char *note);
/* An informational line ("info<TAB>key<TAB>value"), e.g. a cross-check. */
void	bench_info(const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Reads a whole file; NULL (and a message) on failure. */
char   *bench_read_file(const char *path, size_t *len);
int	bench_write_file(const char *path, const char *data, size_t len);

/* --- the synthetic network (synth.c) --- */

/* The full-size network every figure uses: a live-network size. */
#define SYNTH_SEED	20261122
#define SYNTH_RELAYS	8000
#define SYNTH_HSDIRS	4000

struct synth_params {
	uint64_t	seed;
	size_t		n_relays;	/* 8000 */
	size_t		n_hsdirs;	/* 4000 of them qualify as v3 HSDirs */
	time_t		valid_after;	/* a whole hour */
};

struct synth {
	char		*consensus;	/* consensus-microdesc, as GETINFO gives it */
	size_t		 consensus_len;
	char		*microdescs;	/* md/all */
	size_t		 microdescs_len;
	uint8_t		 identity[32];	/* a service's identity key (public) */
};

/* Builds both documents deterministically from params.seed. */
int	synth_generate(struct synth *s, const struct synth_params *p);
void	synth_free(struct synth *s);

/* --- keyd, in-process or the real binary (keyd_transport.c) --- */

struct bench_keyd;

/* keyd's request handler in this process, with a new random master key. */
struct bench_keyd *bench_keyd_inproc(void);
/* The keyd binary at path, started as the parent starts it. */
struct bench_keyd *bench_keyd_exec(const char *path);
struct keyd_client *bench_keyd_client(struct bench_keyd *bk);
const uint8_t *bench_keyd_identity(const struct bench_keyd *bk);
void	bench_keyd_free(struct bench_keyd *bk);

#endif

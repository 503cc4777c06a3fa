/*
 * heap_kept: how much memory fetchd and publishd keep between two
 * consensuses on a full-size network (issue 22, docs/benchmarks.md).
 *
 * Each round does what they do when tor has a new consensus: the
 * microdesc consensus and md/all arrive as two large heap blocks (tor's
 * replies), are parsed, the HSDir ring is built from them, and everything
 * but the ring is freed.  After each round the process's private dirty
 * memory (/proc/self/smaps_rollup) is printed, less what it was before
 * the first.  The synthetic network is bench_offline's (synth.c): 8000
 * relays, 2.8 MB of consensus and 3.3 MB of microdescriptors, generated
 * first and kept outside malloc's heap (in mappings of their own), so
 * that only the rounds' allocations are measured; generating them moves
 * glibc's dynamic thresholds as a first consensus would.
 *
 * usage: heap_kept [--glibc-defaults] [ROUNDS]
 *
 * By default glibc's thresholds are fixed as every child fixes them
 * (sandbox_fix_malloc_thresholds()); --glibc-defaults leaves glibc's
 * dynamic thresholds, as the children had them before.
 */
#include <sys/mman.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bench.h"
#include "consensus.h"
#include "hashring.h"
#include "log.h"
#include "sandbox.h"

#define DEFAULT_ROUNDS	3

/* Private_Clean + Private_Dirty would count our own text; dirty only. */
static long
private_dirty_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f;

	if ((f = fopen("/proc/self/smaps_rollup", "r")) == NULL)
		fatal("/proc/self/smaps_rollup");
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Private_Dirty:", 14) == 0)
			kb = strtol(line + 14, NULL, 10);
	if (fclose(f) != 0 || kb < 0)
		fatalx("no Private_Dirty in /proc/self/smaps_rollup");
	return kb;
}

struct doc {
	char	*text;
	size_t	 len;
};

/* A copy of text in a mapping of its own, outside malloc's heap. */
static void
doc_keep(struct doc *d, const char *text, size_t len)
{
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("mmap");
	memcpy(p, text, len);
	d->text = p;
	d->len = len;
}

static void
doc_drop(struct doc *d)
{
	if (munmap(d->text, d->len) == -1)
		fatal("munmap");
}

/* A copy in a heap block of its own, as a control reply arrives. */
static char *
reply_copy(const char *text, size_t len)
{
	char *p;

	if ((p = malloc(len + 1)) == NULL)
		fatal("malloc");
	memcpy(p, text, len);
	p[len] = '\0';
	return p;
}

/* One new consensus: parse both documents, build the ring, keep it. */
static void
new_consensus(const struct doc *cons, const struct doc *mds,
    struct hashring *ring)
{
	struct consensus *c = NULL;
	struct microdesc_stats stats;
	char *consensus, *microdescs;

	consensus = reply_copy(cons->text, cons->len);
	microdescs = reply_copy(mds->text, mds->len);
	if (consensus_parse(consensus, cons->len, &c, NULL) != CONSENSUS_OK)
		fatalx("the synthetic consensus does not parse");
	if (consensus_add_microdescs(c, microdescs, mds->len, &stats) != 0)
		fatalx("the synthetic microdescriptors do not parse");
	hashring_clear(ring);
	if (hashring_build(ring, c, HASHRING_STORE_FIRST,
	    c->valid_after + 60) != HASHRING_OK)
		fatalx("no ring from the synthetic consensus");
	consensus_free(c);
	free(consensus);
	free(microdescs);
}

int
main(int argc, char *argv[])
{
	struct synth_params sp = { SYNTH_SEED, SYNTH_RELAYS, SYNTH_HSDIRS, 0 };
	struct synth s;
	struct doc cons, mds;
	struct hashring ring;
	int fixed = 1, rounds = DEFAULT_ROUNDS, i;
	long base;

	log_init("heap_kept", LOG_LEVEL_WARN);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--glibc-defaults") == 0)
			fixed = 0;
		else if ((rounds = atoi(argv[i])) < 1 || rounds > 100) {
			fprintf(stderr, "usage: heap_kept [--glibc-defaults] "
			    "[ROUNDS]\n");
			return 2;
		}
	}
	if (fixed)
		sandbox_fix_malloc_thresholds();
	if (sodium_init() < 0)
		fatalx("sodium_init");
	sp.valid_after = time(NULL) / 3600 * 3600;
	if (synth_generate(&s, &sp) == -1)
		fatalx("synthetic network");
	doc_keep(&cons, s.consensus, s.consensus_len);
	doc_keep(&mds, s.microdescs, s.microdescs_len);
	synth_free(&s);
	malloc_trim(0);
	memset(&ring, 0, sizeof(ring));
	base = private_dirty_kb();
	printf("thresholds: %s\n", fixed ? "fixed at 128 KiB (the children's)" :
	    "glibc's dynamic defaults");
	for (i = 1; i <= rounds; i++) {
		new_consensus(&cons, &mds, &ring);
		printf("after consensus %d: %ld kB private dirty kept, the "
		    "ring of %zu HSDirs included\n", i,
		    private_dirty_kb() - base, ring.n_nodes);
	}
	hashring_clear(&ring);
	doc_drop(&cons);
	doc_drop(&mds);
	return 0;
}

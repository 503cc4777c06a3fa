/*
 * Which HSDir a fetch asks.  tor's client remembers, per HSDir and
 * blinded key, when it last asked (hs_common.c: hs_pick_hsdir,
 * hs_lookup_last_hid_serv_request), and does not ask that HSDir again
 * within REND_HID_SERV_DIR_REQUERY_PERIOD: 15 min, or 5 s with
 * TestingTorNetwork.  A fetch that succeeds does not clear the record;
 * only a SOCKS connection to the service that succeeds does.  So a plain
 * `HSFETCH <address>` every two minutes has used up the six HSDirs after
 * six fetches, and the seventh gets "250 OK" and then nothing at all:
 * fetch_v3_desc() returns HS_CLIENT_FETCH_NO_HSDIRS, which
 * hs_client_launch_v3_desc_fetch() ignores, and no HS_DESC event is sent.
 * With SERVER= tor asks that HSDir directly, without the check and without
 * recording the time (directory_launch_v3_desc_fetch()).
 *
 * So fetchd builds the ring a client fetches from (HASHRING_FETCH: the
 * n_replicas x spread_fetch HSDirs of hs_get_responsible_hsdirs(...,
 * for_fetching)) from tor's own consensus and microdescriptors, and names
 * the HSDir: of the responsible ones, the one asked longest ago (so that
 * one instance's fetches rotate), and one whose last answer was a failure
 * only after all the others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus.h"
#include "ed25519_expanded.h"
#include "fetchd_private.h"
#include "hashring.h"
#include "log.h"

struct fetchd_hsdirs {
	struct hashring		 ring;
	struct hashring_hsdir	*out;		/* n_replicas * spread */
	size_t			 outcap;
};

void
fetchd_hsdirs_free(struct fetchd_hsdirs *h)
{
	if (h == NULL)
		return;
	hashring_clear(&h->ring);
	free(h->out);
	free(h);
}

/* The fetch ring of tor's texts, or NULL with why set. */
static struct fetchd_hsdirs *
build(const char *cons, size_t cons_len, const char *md, size_t md_len,
    time_t now, char *why, size_t whylen)
{
	struct consensus *c = NULL;
	struct consensus_diag diag;
	struct microdesc_stats st;
	struct fetchd_hsdirs *h;
	enum consensus_error cerr;
	enum hashring_error err;

	if ((cerr = consensus_parse(cons, cons_len, &c, &diag)) !=
	    CONSENSUS_OK) {
		snprintf(why, whylen, "consensus line %zu: %s", diag.line,
		    consensus_strerror(cerr));
		return NULL;
	}
	if (md_len == 0 || consensus_add_microdescs(c, md, md_len, &st) == -1) {
		snprintf(why, whylen, "no microdescriptors");
		consensus_free(c);
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("%s", __func__);
	err = hashring_build(&h->ring, c, HASHRING_FETCH, now);
	consensus_free(c);
	if (err != HASHRING_OK) {
		snprintf(why, whylen, "%s", hashring_strerror(err));
		free(h);
		return NULL;
	}
	h->outcap = (size_t)h->ring.n_replicas * h->ring.spread;
	if ((h->out = calloc(h->outcap, sizeof(*h->out))) == NULL)
		fatal("%s", __func__);
	return h;
}

void
fetchd_set_hsdirs(struct fetchd *fd, const char *consensus,
    size_t consensus_len, const char *md, size_t md_len, time_t now)
{
	char why[128];

	fetchd_hsdirs_free(fd->hsdirs);
	fd->hsdirs = build(consensus, consensus_len, md, md_len, now, why,
	    sizeof(why));
	if (fd->hsdirs != NULL) {
		log_debug("HSDir ring for fetching: %zu HSDirs, time period "
		    "%llu", fd->hsdirs->ring.n_nodes,
		    (unsigned long long)fd->hsdirs->ring.period.tp);
		fd->said_no_hsdirs = false;
		return;
	}
	if (!fd->said_no_hsdirs)
		log_warnx("cannot pick HSDirs (%s): fetching without SERVER=; "
		    "tor then asks no HSDir twice in 15 minutes", why);
	fd->said_no_hsdirs = true;
}

static struct fetchd_hsdir_use *
find_use(struct fetchd_instance *in, const char *id)
{
	size_t i;

	for (i = 0; i < FETCHD_HSDIR_HISTORY; i++)
		if (strcmp(in->hsdir_used[i].id, id) == 0)
			return &in->hsdir_used[i];
	return NULL;
}

/* Never failed before failed; then asked longer ago (or never). */
static bool
better(const struct fetchd_hsdir_use *a, const struct fetchd_hsdir_use *b)
{
	if (a->failed != b->failed)
		return !a->failed;
	return a->asked < b->asked;
}

void
fetchd_hsdir_pick(struct fetchd *fd, struct fetchd_instance *in)
{
	static const struct fetchd_hsdir_use never;
	const struct fetchd_hsdir_use *u, *best_u = NULL;
	struct fetchd_hsdirs *h = fd->hsdirs;
	char id[FETCHD_HSDIR_ID_LEN + 1];
	uint8_t blinded[32];
	size_t i, n = 0, best = 0;

	in->hsdir[0] = '\0';
	if (h == NULL)
		return;
	/* The client's blinded key: the ring's time period (valid-after). */
	if (hs_blind_pubkey(blinded, in->key, h->ring.period.tp,
	    h->ring.period.length_min) == -1 ||
	    hashring_responsible(&h->ring, blinded, h->out, h->outcap, &n) !=
	    HASHRING_OK || n == 0) {
		log_debug("%s: no responsible HSDirs; tor picks", in->name);
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "$%s", h->out[i].fingerprint);
		if ((u = find_use(in, id)) == NULL)
			u = &never;
		if (best_u == NULL || better(u, best_u)) {
			best_u = u;
			best = i;
		}
	}
	snprintf(in->hsdir, sizeof(in->hsdir), "$%s", h->out[best].fingerprint);
}

void
fetchd_hsdir_asked(struct fetchd_instance *in, time_t now)
{
	struct fetchd_hsdir_use *u;
	size_t i;

	in->hsdir_requested = false;
	if (in->hsdir[0] == '\0')
		return;
	if ((u = find_use(in, in->hsdir)) == NULL) {
		/* The entry asked longest ago (unused ones: never) goes. */
		u = &in->hsdir_used[0];
		for (i = 1; i < FETCHD_HSDIR_HISTORY; i++)
			if (in->hsdir_used[i].asked < u->asked)
				u = &in->hsdir_used[i];
		memset(u, 0, sizeof(*u));
		memcpy(u->id, in->hsdir, sizeof(u->id));
	}
	u->asked = now;
}

/*
 * Without it a timeout means tor never sent the fetch: without SERVER=,
 * all responsible HSDirs were asked in the last 15 minutes.
 */
void
fetchd_hsdir_requested(struct fetchd *fd, const char *address)
{
	size_t i;

	for (i = 0; i < fd->ninst; i++)
		if (fd->inst[i].in_flight &&
		    strcmp(fd->inst[i].address, address) == 0)
			fd->inst[i].hsdir_requested = true;
}

void
fetchd_hsdir_result(struct fetchd_instance *in, bool ok)
{
	struct fetchd_hsdir_use *u;

	if (!in->in_flight || in->hsdir[0] == '\0')
		return;
	if ((u = find_use(in, in->hsdir)) != NULL)
		u->failed = !ok;
	in->hsdir[0] = '\0';
}

/*
 * Which introduction points go into a superdescriptor.
 *
 * A client picks one intro point of the descriptor uniformly at random,
 * so each instance's share of clients is its share of the intro points.
 * We take them round-robin over the live instances -- every instance gets
 * as many as every other, give or take one -- up to what one descriptor
 * may hold (a client rejects a descriptor with more than 20, digest 8.2).
 * The instance order of the round-robin is random, so that when the 20
 * are not enough for everyone the instances left one short differ from
 * build to build; the result is shuffled, so that no instance's points
 * come first in every descriptor.  Randomness is libsodium's.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "publishd.h"

/* Fisher-Yates with an unbiased index from libsodium. */
static void
shuffle_u32(uint32_t *v, size_t n)
{
	size_t i, j;
	uint32_t t;

	for (i = n; i > 1; i--) {
		j = randombytes_uniform((uint32_t)i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/*
 * An intro point whose certs have expired would make keyd refuse the
 * cert we ask for (and a client refuse the point): leave it out.
 */
int
pd_intro_usable(const struct hsdesc_intro_point *ip, time_t now)
{
	uint64_t now_h = (uint64_t)now / 3600;

	return ip->auth_key_exp_hours > now_h &&
	    ip->enc_key_cert_exp_hours > now_h;
}

/* The live instances, in a random order; returns how many. */
static size_t
live_instances(const struct pd_service *sv, time_t now, uint32_t *idx)
{
	size_t i, n = 0;

	for (i = 0; i < sv->ninstances; i++)
		if (pd_instance_is_live(&sv->instances[i], now))
			idx[n++] = (uint32_t)i;
	shuffle_u32(idx, n);
	return n;
}

void
pd_shuffle_picks(struct pd_pick *picks, size_t n)
{
	struct pd_pick t;
	size_t i, j;

	for (i = n; i > 1; i--) {
		j = randombytes_uniform((uint32_t)i);
		t = picks[i - 1];
		picks[i - 1] = picks[j];
		picks[j] = t;
	}
}

size_t
pd_choose_picks(const struct pd_service *sv, time_t now, size_t max,
    struct pd_pick *out)
{
	uint32_t *idx;
	size_t *pos, ninst, i, n = 0;
	int progress;

	if (max > HSDESC_MAX_INTRO_POINTS)
		max = HSDESC_MAX_INTRO_POINTS;
	if (sv->ninstances == 0 ||
	    (idx = calloc(sv->ninstances, sizeof(*idx))) == NULL)
		return 0;
	if ((pos = calloc(sv->ninstances, sizeof(*pos))) == NULL) {
		free(idx);
		return 0;
	}
	ninst = live_instances(sv, now, idx);
	do {
		progress = 0;
		for (i = 0; i < ninst && n < max; i++) {
			const struct pd_instance *in = &sv->instances[idx[i]];

			/* this instance's next usable point, if any */
			while (pos[i] < in->n_intro &&
			    !pd_intro_usable(&in->intro[pos[i]], now))
				pos[i]++;
			if (pos[i] == in->n_intro)
				continue;
			out[n].instance = idx[i];
			out[n++].point = (uint32_t)pos[i]++;
			progress = 1;
		}
	} while (progress && n < max);
	free(pos);
	free(idx);
	pd_shuffle_picks(out, n);
	return n;
}

size_t
pd_choose_intro(const struct pd_service *sv, time_t now, size_t max,
    struct hsdesc_intro_point *out, uint32_t *from)
{
	struct pd_pick picks[HSDESC_MAX_INTRO_POINTS];
	size_t i, n;

	n = pd_choose_picks(sv, now, max, picks);
	for (i = 0; i < n; i++) {
		out[i] = sv->instances[picks[i].instance].intro[picks[i].point];
		if (from != NULL)
			from[i] = picks[i].instance;
	}
	return n;
}

/* The sendme increment of a flow-control line "<versions> <inc>". */
static int
flow_control_sendme_inc(const char *line, unsigned *inc)
{
	const char *sp = strchr(line, ' ');
	char *end;
	unsigned long v;

	if (sp == NULL || sp[1] < '0' || sp[1] > '9')
		return -1;
	v = strtoul(sp + 1, &end, 10);
	if (*end != '\0' || v > 255)
		return -1;
	*inc = (unsigned)v;
	return 0;
}

const char *
pd_choose_flow_control(const struct pd_service *sv, const uint32_t *from,
    size_t n, unsigned cc_sendme_inc)
{
	const char *line = NULL;
	const struct pd_instance *in;
	unsigned inc;
	size_t i;

	for (i = 0; i < n; i++) {
		in = &sv->instances[from[i]];
		if (!(in->flags & PEER_DESC_FLAG_FLOW_CONTROL) ||
		    in->flow_control[0] == '\0')
			return NULL;
		if (line == NULL)
			line = in->flow_control;
		else if (strcmp(line, in->flow_control) != 0)
			return NULL;
	}
	if (line == NULL || flow_control_sendme_inc(line, &inc) == -1)
		return NULL;
	/* tor: congestion_control_validate_sendme_increment() */
	if (inc == 0 || inc + 1 < cc_sendme_inc || inc > cc_sendme_inc + 1)
		return NULL;
	return line;
}

/*
 * The HSDir hash ring of onion services v3 (rend-spec-v3 2.2.3-2.2.4;
 * tor nodelist.c node_set_hsdir_index, hs_common.c
 * hs_get_responsible_hsdirs): which relays store a descriptor, and which a
 * client asks for it.  The result must be exactly tor's, or clients look
 * on relays that never got our descriptor.
 *
 * A ring is built for one *use*, because each use has its own time period
 * (TP) and shared random value (SRV), and every relay's position on the
 * ring depends on both:
 *
 *	hsdir_index(relay) = H("node-idx" | ed25519_id | SRV | INT_8(TP) | INT_8(len))
 *	hs_index(replica)  = H("store-at-idx" | A' | INT_8(replica) | INT_8(len) | INT_8(TP))
 *
 * with A' the descriptor's blinded key for that same TP.  Which TP and SRV
 * (tor's node_set_hsdir_index), with cur = TP of the consensus valid-after:
 *
 *	                 TP->SRV half               SRV->TP half
 *	store first      cur-1, previous SRV        cur,   previous SRV
 *	store second     cur,   current SRV         cur+1, current SRV
 *	fetch            cur,   current SRV         cur,   previous SRV
 *
 * An SRV missing from the consensus is replaced by the disaster SRV
 * H("shared-random-disaster" | INT_8(len) | INT_8(TP)) of *that use's* TP.
 *
 * Typical use (publishd): for each of HASHRING_STORE_FIRST/SECOND,
 * hashring_build(), blind the master key for ring.period.tp, then
 * hashring_responsible() gives the HSDirs to HSPOST to (SERVER=$fingerprint).
 */
#ifndef OB_HASHRING_H
#define OB_HASHRING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "consensus.h"
#include "hs_common.h"

#define HASHRING_INDEX_LEN	32
/* hsdir_n_replicas <= 16, hsdir_spread_* <= 128 (tor's ranges). */
#define HASHRING_MAX_RESPONSIBLE	(16 * 128)

enum hashring_use {
	HASHRING_STORE_FIRST,	/* the "current" descriptor */
	HASHRING_STORE_SECOND,	/* the "next" descriptor */
	HASHRING_FETCH,		/* where a client looks now */
};

enum hashring_error {
	HASHRING_OK = 0,
	HASHRING_ERR_NOMEM,
	HASHRING_ERR_NOT_LIVE,		/* consensus not reasonably live */
	HASHRING_ERR_NO_HSDIRS,		/* no relay qualifies */
	HASHRING_ERR_INVALID_ARGUMENT,	/* replicas/spread out of range */
	HASHRING_ERR_OUTPUT_TOO_SMALL,
	HASHRING_ERR_MAX_
};

const char *hashring_strerror(enum hashring_error err);

/* The TP and SRV of one use. */
struct hashring_period {
	uint64_t	tp;		/* time period number */
	uint64_t	length_min;	/* time period length */
	uint8_t		srv[HS_SRV_LEN];
	int		srv_is_disaster;	/* the consensus lacked that SRV */
};

/*
 * The TP and SRV for a use, from the consensus alone (tor uses the
 * consensus valid-after, not the clock).  The blinded key of a
 * descriptor for that use is blinded with period.tp and length_min.
 */
void	hashring_period_for(const struct consensus *c, enum hashring_use use,
	    struct hashring_period *out);

struct hashring_node {
	uint8_t		index[HASHRING_INDEX_LEN];	/* hsdir_index */
	uint8_t		rsa_id[RSA_ID_LEN];
	char		nickname[NICKNAME_MAX_LEN + 1];
};

struct hashring {
	enum hashring_use	 use;
	struct hashring_period	 period;
	unsigned int		 n_replicas;	/* hsdir_n_replicas */
	unsigned int		 spread;	/* hsdir_spread_store or _fetch */
	struct hashring_node	*nodes;		/* sorted by index */
	size_t			 n_nodes;
};

/*
 * Builds the ring for one use.  The nodes are the consensus relays with
 * the HSDir flag, HSDir=2 support and an ed25519 id from their
 * microdescriptor (tor's node_supports_v3_hsdir, is_hs_dir and
 * node_has_hsdir_index); n_replicas and spread come from the consensus
 * params.  Refuses a consensus that is not reasonably live at now, as
 * tor does, and an empty ring.  Free with hashring_clear().
 */
enum hashring_error hashring_build(struct hashring *ring,
	    const struct consensus *c, enum hashring_use use, time_t now);
/*
 * A ring from given nodes (copied and sorted; their index fields are
 * used as they are).  For tests and for callers with their own nodes.
 */
enum hashring_error hashring_init_nodes(struct hashring *ring,
	    const struct hashring_period *period, unsigned int n_replicas,
	    unsigned int spread, const struct hashring_node *nodes, size_t n);
void	hashring_clear(struct hashring *ring);

/* One responsible HSDir, for `HSPOST SERVER=$<fingerprint>`. */
struct hashring_hsdir {
	uint8_t		rsa_id[RSA_ID_LEN];
	char		fingerprint[RSA_ID_HEX_LEN + 1];	/* upper-case hex */
	char		nickname[NICKNAME_MAX_LEN + 1];
	unsigned int	replica;	/* 1-based: the replica that chose it */
	size_t		position;	/* in ring->nodes */
};

/*
 * tor's hs_get_responsible_hsdirs(): for replica 1..n_replicas, hs_index
 * of the blinded key (with the ring's TP), the first node whose index is
 * >= hs_index (wrapping to the first), then forward along the ring adding
 * `spread` nodes for this replica, skipping without counting nodes any
 * replica already chose, stopping early when back at the start node.
 * out receives up to n_replicas * spread distinct HSDirs, in the order
 * chosen.  outcap must be at least min(n_nodes, n_replicas * spread).
 */
enum hashring_error hashring_responsible(const struct hashring *ring,
	    const uint8_t blinded[32], struct hashring_hsdir *out,
	    size_t outcap, size_t *nout);
/*
 * The walk alone, with the n_replicas hs_index values given (replica r
 * at service_index[r - 1]).  For tests of the walk on synthetic rings.
 */
enum hashring_error hashring_walk(const struct hashring *ring,
	    const uint8_t (*service_index)[HASHRING_INDEX_LEN],
	    struct hashring_hsdir *out, size_t outcap, size_t *nout);

/* The node with that RSA identity, or NULL (linear: for logs and tests). */
const struct hashring_node *hashring_find_node(const struct hashring *ring,
	    const uint8_t rsa_id[RSA_ID_LEN]);

#endif

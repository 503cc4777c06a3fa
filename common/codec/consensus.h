/*
 * The microdesc-flavoured consensus and the microdescriptors, as far as
 * an onion service needs them: the times, the consensus params, the two
 * shared random values and, per relay, what places it on the HSDir hash
 * ring (dir-spec sections 3.4.1 and 3.3; tor ns_parse.c,
 * microdesc_parse.c, protover.c).
 *
 * Input: the body of `GETINFO dir/status-vote/current/consensus-microdesc`
 * and of `GETINFO md/all`, rebuilt byte-exactly by the control client (LF
 * line ends, no dot-stuffing, the final newline kept).  It is treated as
 * hostile.  The authority signatures are NOT verified: tor checked them
 * before it accepted the consensus and would not hand out one it had not
 * accepted, and the control connection is as trusted as tor itself.  What
 * is checked is what tor's parser checks on the fields we use, so that a
 * document tor accepts parses and yields tor's view of the relays.
 *
 * Typical use (publishd, on every new consensus):
 *
 *	consensus_parse(text, len, &c, &diag);
 *	consensus_add_microdescs(c, md_text, md_len, &stats);
 *	if (!consensus_is_reasonably_live(c, time(NULL))) refuse;
 *	then hashring.h.
 */
#ifndef OB_CONSENSUS_H
#define OB_CONSENSUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hs_common.h"

/*
 * Bounds on hostile input.  The live network's microdesc consensus is
 * about 3 MB with 8000-9000 relays; its longest lines (params, the
 * protocol lists) are a few hundred bytes.
 */
#define CONSENSUS_MAX_SIZE	(64 * 1024 * 1024)
#define CONSENSUS_MAX_LINE	(32 * 1024)
#define CONSENSUS_MAX_RELAYS	20000
#define MICRODESCS_MAX_SIZE	(64 * 1024 * 1024)

#define RSA_ID_LEN		20	/* SHA-1 of the relay's RSA identity key */
#define RSA_ID_HEX_LEN		40
#define MD_DIGEST_LEN		32	/* SHA-256 of the microdescriptor body */
#define ED25519_ID_LEN		32
#define NICKNAME_MAX_LEN	19	/* tor's MAX_NICKNAME_LEN */

/* tor's REASONABLY_LIVE_TIME (networkstatus.c). */
#define CONSENSUS_REASONABLY_LIVE_SLACK	(24 * 60 * 60)

enum consensus_error {
	CONSENSUS_OK = 0,
	CONSENSUS_ERR_NOMEM,
	CONSENSUS_ERR_TOO_LARGE,
	CONSENSUS_ERR_NUL,			/* NUL byte in the text */
	CONSENSUS_ERR_LINE_TOO_LONG,
	CONSENSUS_ERR_VERSION,		/* not "network-status-version 3 microdesc" first */
	CONSENSUS_ERR_VOTE_STATUS,		/* a vote, not a consensus */
	CONSENSUS_ERR_FIELD_MISSING,
	CONSENSUS_ERR_FIELD_DUPLICATED,
	CONSENSUS_ERR_FIELD_ARGS,		/* wrong number of arguments */
	CONSENSUS_ERR_TIME,			/* not "YYYY-MM-DD HH:MM:SS" */
	CONSENSUS_ERR_INTERVALS,		/* valid-after/fresh-until/valid-until */
	CONSENSUS_ERR_PARAMS,		/* an element is not name=int32 */
	CONSENSUS_ERR_PARAMS_ORDER,		/* unsorted or duplicated names */
	CONSENSUS_ERR_ROUTER_ARGS,		/* "r" line too short */
	CONSENSUS_ERR_NICKNAME,
	CONSENSUS_ERR_IDENTITY,		/* not base64 of 20 bytes */
	CONSENSUS_ERR_MD_DIGEST,		/* "m": not base64 of 32 bytes */
	CONSENSUS_ERR_PROTOCOLS,		/* "pr": malformed protocol list */
	CONSENSUS_ERR_NOT_SORTED,		/* entries not in identity order */
	CONSENSUS_ERR_TOO_MANY_RELAYS,
	CONSENSUS_ERR_NO_FOOTER,		/* truncated: no footer or signature */
	CONSENSUS_ERR_MAX_
};

const char *consensus_strerror(enum consensus_error err);

/* Where a document was rejected, for the log. */
struct consensus_diag {
	size_t		line;		/* 1-based; 0 if not about a line */
	char		keyword[32];	/* "" if none */
};

/*
 * The consensus params we use, each as tor's networkstatus_get_param()
 * returns it: the first well-formed value, clamped into tor's range, or
 * the default when the param is absent.
 */
struct consensus_params {
	int32_t		hsdir_n_replicas;	/* default 2, 1..16 */
	int32_t		hsdir_spread_store;	/* default 4, 1..128 */
	int32_t		hsdir_spread_fetch;	/* default 3, 1..128 */
	int32_t		hsv3_max_descriptor_size; /* default 50000, 1..INT32_MAX */
	int32_t		cc_sendme_inc;		/* default 31, 1..255 */
	/*
	 * Minutes, clamped into 30..14400; 0 when absent, which
	 * hs_period_params_init() turns into 24 voting intervals.
	 */
	int32_t		hsdir_interval;
};

struct consensus_relay {
	char		nickname[NICKNAME_MAX_LEN + 1];
	uint8_t		rsa_id[RSA_ID_LEN];
	uint8_t		md_digest[MD_DIGEST_LEN];
	uint8_t		ed25519_id[ED25519_ID_LEN];	/* from its microdescriptor */
	unsigned int	has_md_digest:1;
	unsigned int	has_ed25519_id:1;	/* set by consensus_add_microdescs */
	unsigned int	is_hsdir:1;		/* the HSDir flag */
	/*
	 * tor's supports_v3_hsdir: "pr" lists HSDir=2, and a "v" line, if it
	 * names a Tor version, is at least 0.3.0.8 (tor bug #22447).
	 */
	unsigned int	supports_hsdir_v3:1;
};

struct consensus {
	time_t		valid_after;
	time_t		fresh_until;
	time_t		valid_until;
	struct consensus_params params;
	/* The SR values; absent ones make the ring use the disaster SRV. */
	int		has_srv_previous;
	int		has_srv_current;
	uint8_t		srv_previous[HS_SRV_LEN];
	uint8_t		srv_current[HS_SRV_LEN];
	/* Voting interval = fresh-until - valid-after, and hsdir_interval. */
	struct hs_period_params period;
	/* In identity order (the consensus order); n_relays may be 0. */
	struct consensus_relay *relays;
	size_t		n_relays;
};

/*
 * Parses a microdesc-flavoured consensus.  On success *out is a new
 * consensus (free it with consensus_free) and CONSENSUS_OK is returned;
 * otherwise *out is NULL and diag (may be NULL) says where.
 */
enum consensus_error consensus_parse(const char *text, size_t len,
	    struct consensus **out, struct consensus_diag *diag);
void	consensus_free(struct consensus *c);

/*
 * tor's networkstatus_consensus_reasonably_live():
 *   valid_after - 24 h <= now <= valid_until + 24 h.
 * A consensus outside that window must not be used to place descriptors.
 */
int	consensus_is_reasonably_live(const struct consensus *c, time_t now);

/* The relay with that RSA identity, or NULL (binary search). */
const struct consensus_relay *consensus_find_relay(const struct consensus *c,
	    const uint8_t rsa_id[RSA_ID_LEN]);

/*
 * What consensus_add_microdescs() found, for the log and for deciding
 * whether the relay set is complete enough to publish.
 */
struct microdesc_stats {
	size_t		n_microdescs;	/* bodies in the text */
	size_t		n_matched;	/* bodies whose digest is an "m" line */
	size_t		n_unmatched;	/* not in this consensus (stale) */
	size_t		n_without_id;	/* matched, but no "id ed25519" */
	size_t		n_malformed;	/* matched, but a bad or repeated id */
	size_t		n_relays_with_id; /* relays now holding an ed25519 id */
};

/*
 * Reads `GETINFO md/all`: microdescriptor bodies concatenated, each
 * starting at a line that begins with "onion-key" (tor's rule in
 * find_start_of_next_microdesc).  Each body is hashed with SHA-256
 * exactly as given, the relay(s) whose "m" line carries that digest get
 * the body's "id ed25519" key.  A body tor would reject for its id line
 * (two ed25519 ids, bad base64) is skipped, as is one without an ed25519
 * id: tor has no ring position for such a relay either.  Earlier ids are
 * kept, so several GETINFO md/id/... answers may be added one by one.
 * Returns 0, or -1 if the text is too large or holds a NUL byte, or does
 * not start with "onion-key" (nothing is changed then).
 */
int	consensus_add_microdescs(struct consensus *c, const char *text,
	    size_t len, struct microdesc_stats *stats);

/*
 * tor's protocol_list_supports_protocol(list, name, version): 1 if the
 * protocol list (the argument of a "pr" line) is well-formed and lists
 * that version of that protocol, else 0.  -1 if the list is malformed
 * (tor then rejects the whole routerstatus).
 */
int	protover_list_supports(const char *list, size_t len, const char *name,
	    unsigned int version);

/*
 * tor_version_as_new_as(platform, cutoff) for the cutoffs we need: 1 if
 * the "v" line (e.g. "Tor 0.4.9.11") is at least major.minor.micro.patch,
 * or is not a parseable Tor version (tor then says yes too), else 0.
 */
int	tor_version_at_least(const char *platform, size_t len, int major,
	    int minor, int micro, int patchlevel);

#endif

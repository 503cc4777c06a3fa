/*
 * publishd: builds the frontend's superdescriptors and uploads them to the
 * HSDirs responsible for them (docs/design.md, "publishd").
 *
 * The logic is a static library (publishd_lib) driven by three inputs --
 * what fetchd tells us about the instances, what tor tells us about the
 * network (consensus, HSDir ring, upload outcomes) and the clock -- so that
 * the unit tests can drive it with a fake clock, a stub ring and keyd's own
 * request handler in-process.  publishd.c wires it to the real channels.
 *
 * Files:
 *   state.c        services, instances, fetchd's messages, what is "live"
 *   peer.c         fetchd's messages
 *   intro.c        which intro points go into a shared descriptor
 *   plan.c         one descriptor, or a distinct one per fetch HSDir
 *   network.c      the consensus as publishd needs it; which time period
 *                  and SRV each descriptor uses (digest 3.3)
 *   ring.c         the real HSDir ring (common/codec/consensus.h, hashring.h)
 *   schedule.c     when to (re)build a descriptor, and the main tick
 *   upload.c       per-HSDir upload bookkeeping, retries, event matching
 *   keyd_client.c  synchronous requests to keyd (keyd_client.h)
 *   build.c        one descriptor: keyd BEGIN/REVISION/CERTIFY/SIGN + codec
 *   status.c       the status document (JSON)
 *   control.c      the tor control connection (libevent)
 *   status_socket.c serving the status document on the parent's socket
 *   publishd.c     main, the parent and peer channels, the event loop
 *   proc.c         the process's timer and messages to the parent
 */
#ifndef OB_PUBLISHD_H
#define OB_PUBLISHD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon_proto.h"
#include "hs_common.h"
#include "hsdesc.h"
#include "ipc.h"
#include "keyd_client.h"
#include "keyd_proto.h"
#include "onion_address.h"
#include "torcert.h"

#define PD_FPR_LEN		40	/* relay identity, upper-case hex */
#define PD_SLOTS		2	/* the first and the second descriptor */
#define PD_FIRST		0
#define PD_SECOND		1

/*
 * Timing.  Everything that depends on the network is derived from the
 * consensus (pd_net_*() below); these are the few fixed choices.
 *
 * A changed intro set is published PD_DEBOUNCE_S after it was first seen,
 * so that a burst of fetch results (fetchd fetches every instance in one
 * round) makes one descriptor, and not more often than every
 * PD_MIN_REBUILD_S per descriptor, so that an instance that flaps cannot
 * make us upload in a loop (every upload is a new revision counter at up
 * to 8 HSDirs).
 */
#define PD_DEBOUNCE_S		3
#define PD_MIN_REBUILD_S	20
/*
 * A backend that fetchd's probes found dead leaves at once: no debounce,
 * and only PD_MIN_REBUILD_DROP_S after the last build (each build needs
 * a revision counter above the last; fetchd damps flapping backends).
 */
#define PD_MIN_REBUILD_DROP_S	2
/* How long to wait for fetchd to report every instance before the first build. */
#define PD_STARTUP_GRACE_S	30
/*
 * The lifetime we write: the most tor accepts (HS_DESC_MAX_LIFETIME; an
 * HSDir refuses the whole upload above it), where tor's own services
 * write 180 min.  An HSDir keeps a descriptor this long after its last
 * accepted upload, so with every management host down the frontend
 * stays reachable about 12 h instead of 3 (docs/deployment.md); clients
 * ignore the lifetime, and each upload with a higher counter replaces
 * the descriptor, so it costs nothing while we run.
 */
#define PD_DESC_LIFETIME_MIN	HSDESC_MAX_LIFETIME_MIN
/* Upper bound of the republish interval (tor: random 60..120 min). */
#define PD_REFRESH_MAX_S	(60 * 60)
/* No UPLOADED/FAILED event this long after HSPOST: count it as failed. */
#define PD_UPLOAD_TIMEOUT_S	120
/* Retry of a failed upload or build: BASE, 2*BASE, ... up to the cap. */
#define PD_BACKOFF_BASE_S	5
#define PD_BACKOFF_MAX_S	600
/* tor's networkstatus_get_reasonably_live_consensus() slack. */
#define PD_CONSENSUS_SLACK_S	(24 * 60 * 60)
/*
 * How far our clock may stray outside the consensus's validity before
 * publishd refuses to publish (pd_clock_check): a directory cache may
 * hold a consensus DistSeconds (300 s on the live network) before its
 * valid-after, and clocks that NTP keeps are within seconds; 2 min more.
 */
#define PD_CLOCK_SLACK_S	(7 * 60)
/* While it refuses, publishd looks at the clock again this often. */
#define PD_CLOCK_RECHECK_S	30
/* tor's default for the consensus param cc_sendme_inc. */
#define PD_CC_SENDME_INC_DEFAULT	31
/* Bounds of tor's HSDir ring params (hs_common.c). */
#define PD_N_REPLICAS_DEFAULT	2
#define PD_N_REPLICAS_MAX	16
#define PD_SPREAD_STORE_DEFAULT	4
#define PD_SPREAD_STORE_MAX	128
#define PD_SPREAD_FETCH_DEFAULT	3
/*
 * Distinct descriptors (plan.c): at most this many per period.  The live
 * network has 2 replicas x 3 fetch HSDirs = 6; a consensus that asks for
 * more fetch HSDirs than this gets some variants twice.
 */
#define PD_VARIANTS_MAX		16

/* Our clock against the consensus (pd_clock_check). */
enum pd_clock {
	PD_CLOCK_OK,
	PD_CLOCK_BEHIND,	/* before valid-after */
	PD_CLOCK_AHEAD,		/* past valid-until when tor handed it over */
};

/* The network, as far as publishd needs it, from one consensus. */
struct pd_net {
	int			 have;		/* a consensus was accepted */
	time_t			 valid_after;
	time_t			 fresh_until;
	time_t			 valid_until;
	uint64_t		 hsdir_interval_min;	/* param, 0 if absent */
	struct hs_period_params	 params;
	unsigned		 n_replicas;		/* hsdir_n_replicas */
	unsigned		 spread_store;		/* hsdir_spread_store */
	unsigned		 spread_fetch;		/* hsdir_spread_fetch */
	unsigned		 cc_sendme_inc;
	size_t			 max_desc_size;	/* HSV3MaxDescriptorSize */
	int			 has_srv_cur;
	int			 has_srv_prev;
	uint8_t			 srv_cur[HS_SRV_LEN];
	uint8_t			 srv_prev[HS_SRV_LEN];
};

/*
 * The HSDir hash ring, narrowed to the one question publishd asks: which
 * relays store (spread = hsdir_spread_store) or serve to clients (spread =
 * hsdir_spread_fetch) the descriptor of blinded key A' for period tp of
 * length_min minutes with this SRV.  It writes at most max fingerprints
 * (40 upper-case hex and a NUL each) in the order tor chooses them,
 * distinct, and the replica (1-based) that chose each to replica[] unless
 * that is NULL; it returns how many.  The real one is ring.c's, over
 * common/codec/hashring.h; tests use a stub.
 */
struct pd_ring_query {
	const uint8_t	*blinded_key;
	uint64_t	 tp;
	uint64_t	 length_min;
	const uint8_t	*srv;
	unsigned	 n_replicas;
	unsigned	 spread;
	unsigned	*replica;	/* out, max entries; may be NULL */
};

struct pd_ring {
	size_t		(*responsible)(void *impl, const struct pd_ring_query *q,
			    char (*fprs)[PD_FPR_LEN + 1], size_t max);
	void		(*free)(void *impl);
	void		*impl;
};

/* One backend instance, as fetchd last described it. */
struct pd_instance {
	uint32_t		 index;
	uint8_t			 key[32];
	char			 address[ONION_ADDRESS_LEN + 1];
	char			 name[PROTO_NAME_MAX + 1];
	int			 reported;	/* fetchd said something */
	int			 has_desc;
	enum peer_instance_state state;	/* when !has_desc */
	char			 detail[128];
	time_t			 state_since;
	uint64_t		 tp;
	time_t			 received_at;
	uint64_t		 revision;
	uint32_t		 lifetime_min;
	uint32_t		 flags;		/* PEER_DESC_FLAG_* */
	char			 flow_control[HSDESC_FLOW_CONTROL_MAX];
	size_t			 n_intro;
	struct hsdesc_intro_point intro[HSDESC_MAX_INTRO_POINTS];
	uint8_t			 intro_digest[32];	/* of the auth keys */
	time_t			 intro_modified;	/* 0: never had a set */
	/* fetchd's liveness probes (PEER_INSTANCE_LIVENESS); 0: none yet */
	uint32_t		 liveness;	/* enum peer_liveness */
	time_t			 liveness_since;
	time_t			 last_probe;
	char			 probe_outcome[128];
	char			 drop_reason[128];
	/* In the live set the last time it was not empty. */
	int			 in_last_set;
	/* Dropped, but used: every instance is dead, the last set stays. */
	int			 kept;
	/*
	 * For the metrics: fetchd's reports, [0] a descriptor, [state] a
	 * PEER_INSTANCE_STATE (fetchd reports changes, not every fetch).
	 */
	uint64_t		 reports[PEER_STATE_EXPIRED + 1];
	/* For the metrics: fetch results, by enum peer_fetch_outcome. */
	uint64_t		 fetches[PEER_FETCH_EXPIRED + 1];
};

enum pd_target_state {
	PD_T_PENDING,		/* to be sent (at next_try) */
	PD_T_IN_FLIGHT,		/* HSPOST sent, waiting for the event */
	PD_T_UPLOADED,		/* the current descriptor is there */
};

enum pd_result {
	PD_RES_NONE,
	PD_RES_UPLOADED,
	PD_RES_FAILED,
};

/* One responsible HSDir of one descriptor. */
struct pd_target {
	char			 fpr[PD_FPR_LEN + 1];
	unsigned		 replica;	/* 1-based: the replica that chose it */
	int			 fetch;		/* a client may fetch from it */
	size_t			 variant;	/* its descriptor when distinct */
	enum pd_target_state	 state;
	uint32_t		 gen;		/* descriptor generation it is for */
	unsigned		 attempts;	/* failures in a row */
	time_t			 next_try;
	time_t			 last_attempt;
	enum pd_result		 last_result;
	time_t			 last_result_at;
	uint64_t		 uploaded_revision;	/* the highest it took */
	/*
	 * The highest counter it refused (UPLOAD_REJECTED) since it last
	 * took one: it may hold a higher one from another host.
	 */
	uint64_t		 refused_revision;
	size_t			 uploaded_variant;	/* of the last success */
	uint32_t		 uploaded_gen;
	char			 reason[40];	/* of the last failure */
	/* For the metrics: outcomes at this HSDir, and the last success. */
	uint64_t		 uploads_ok;
	uint64_t		 uploads_failed;
	time_t			 last_success;
};

/* Why a descriptor is (re)built; also the status document's words. */
enum pd_reason {
	PD_R_NONE,
	PD_R_FIRST,		/* never built for this period */
	PD_R_INTRO_CHANGED,
	PD_R_REFRESH,		/* near expiry at the HSDirs, or cert expiry */
	PD_R_ROLLOVER,		/* a new time period for this slot */
	PD_R_RETRY,		/* the last build failed */
};

/* One intro point of a variant: instance index, point index in it. */
struct pd_pick {
	uint32_t		 instance;
	uint32_t		 point;
};

/* How many of an instance's points a variant holds (by key: survives reloads). */
struct pd_share {
	uint8_t			 key[32];
	unsigned		 count;
};

/*
 * One descriptor of a slot.  A slot has one (every HSDir gets the same
 * descriptor) or, when its live intro points exceed what one descriptor
 * holds, one per fetch HSDir (plan.c).
 */
struct pd_variant {
	unsigned		 replica;	/* its HSDirs' replica; 0: shared */
	/* the plan: what it should hold now */
	struct pd_pick		 picks[HSDESC_MAX_INTRO_POINTS];
	size_t			 npicks;
	struct pd_share		 shares[HSDESC_MAX_INTRO_POINTS];
	size_t			 nshares;
	uint8_t			 plan_digest[32];	/* of the picks' auth keys */
	/* the descriptor built from it */
	char			*desc;
	size_t			 desc_len;
	uint8_t			 built_digest[32];
	uint32_t		 gen;		/* bumped by every build */
	uint64_t		 revision;
	time_t			 built_at;
	size_t			 n_intro;
	int			 flow_control;	/* the descriptor carries it */
};

/* The first or the second descriptor of a service. */
struct pd_slot {
	int			 active;	/* tp and srv known */
	uint64_t		 tp;
	uint8_t			 srv[HS_SRV_LEN];
	struct hs_period_params	 params;
	/* keyd BEGIN: the descriptor-signing key of this period */
	int			 begun;
	uint8_t			 signing_key[32];
	uint8_t			 blinded_key[32];
	uint8_t			 signing_cert[TORCERT_LEN];
	uint32_t		 signing_cert_exp_hours;
	/*
	 * The descriptors: variant[0] alone when shared, one per fetch
	 * HSDir (nvariants) when distinct.
	 */
	int			 distinct;
	struct pd_variant	 variant[PD_VARIANTS_MAX];
	size_t			 nvariants;	/* the distinct layout */
	int			 built;		/* every variant has a descriptor */
	time_t			 built_at;	/* last build */
	time_t			 last_attempt;	/* last build attempt */
	enum pd_reason		 last_reason;
	uint8_t			 intro_digest[32];	/* live set it was built from */
	enum pd_reason		 pending;	/* rebuild asked for */
	unsigned		 build_failures;
	time_t			 build_retry_at;
	char			 last_error[96];
	/* the responsible HSDirs */
	int			 hsdirs_known;
	struct pd_target	*targets;
	size_t			 ntargets;
};

/* An HSPOST waiting for its HS_DESC event: one per (service, HSDir). */
struct pd_inflight {
	char			 fpr[PD_FPR_LEN + 1];
	int			 slot;
	size_t			 variant;
	uint32_t		 gen;
	uint64_t		 revision;
	time_t			 deadline;
};

struct pd_service {
	uint32_t		 index;
	uint8_t			 identity[32];
	char			 address[ONION_ADDRESS_LEN + 1];
	struct pd_instance	*instances;
	size_t			 ninstances;
	struct pd_slot		 slot[PD_SLOTS];
	struct pd_inflight	*inflight;
	size_t			 ninflight;
	size_t			 inflight_cap;
	uint8_t			 live_digest[32];
	time_t			 change_seen_at;	/* 0: no change pending */
	int			 drop_pending;	/* a dead instance must leave */
	int			 all_dead;	/* every usable instance dropped */
	time_t			 all_dead_since;
	/* From the configuration (PC_SERVICE_PUBLISH). */
	int			 shared_only;	/* never distinct descriptors */
	unsigned		 per_descriptor;	/* intro points, 1..20 */
	/* Restricted discovery (PC_AUTH_CLIENT): client x25519 keys. */
	uint8_t			(*auth_clients)[32];
	size_t			 nauth_clients;
	/* For the metrics: upload outcomes of both descriptors, every HSDir. */
	uint64_t		 uploads_ok;
	uint64_t		 uploads_failed;
};

struct pd;

/*
 * What the schedule calls out to.  build makes one variant's descriptor
 * from its picks (fills its desc, desc_len, revision, n_intro,
 * flow_control, and the slot's BEGIN fields) or fails with a reason in
 * why; post sends one variant's descriptor by HSPOST and returns 0 if it
 * was sent (the outcome comes back through pd_upload_result() or
 * pd_hs_desc_event()).
 */
struct pd_ops {
	int	(*build)(void *arg, struct pd *pd, struct pd_service *sv,
		    int slot, size_t variant, time_t now, char *why,
		    size_t whylen);
	int	(*post)(void *arg, struct pd *pd, struct pd_service *sv,
		    int slot, size_t variant, const char *fpr);
	void	*build_arg;
	void	*post_arg;
};

struct pd {
	struct pd_service	*services;
	size_t			 nservices;
	uint32_t		 generation;	/* of the configuration */
	time_t			 started;	/* configuration applied */
	struct pd_net		 net;
	struct pd_ring		 ring;		/* .responsible NULL: none yet */
	int			 uploads_enabled;	/* control connection up */
	/* For the status: why the control connection last ended, and when. */
	unsigned		 control_losses;
	time_t			 control_lost_at;
	char			 control_lost_reason[160];
	struct pd_ops		 ops;
	time_t			 consensus_at;	/* when we accepted it */
	/* The last pd_clock_check verdict, and its skew (0 when OK). */
	enum pd_clock		 clock;
	int64_t			 clock_skew;
	/* What only the parent counts (PC_COUNTERS), for the metrics. */
	int			 have_parent_counters;
	uint32_t		 child_restarts[3];	/* keyd, fetchd, publishd */
	uint32_t		 keyd_channel_drops;
};

/* state.c */
void	pd_init(struct pd *pd, const struct pd_ops *ops);
void	pd_clear(struct pd *pd);
/* Replaces the configuration, keeping state of what stays. */
int	pd_configure(struct pd *pd, struct pd_service *services,
	    size_t nservices, uint32_t generation, time_t now);
struct pd_service *pd_service_by_address(struct pd *pd, const char *addr);
struct pd_instance *pd_instance_lookup(struct pd *pd, uint32_t service,
	    uint32_t instance, const uint8_t key[32]);
/* Its descriptor is current (not past its lifetime) and has points. */
int	pd_instance_usable(const struct pd_instance *in, time_t now);
/* Usable, and not dropped by the probes (or kept: all are dropped). */
int	pd_instance_is_live(const struct pd_instance *in, time_t now);
/* Dropped by fetchd's liveness probes (dead, or not yet back). */
int	pd_instance_dropped(const struct pd_instance *in);
/*
 * Applies the liveness of sv's instances: when every usable instance is
 * dropped, the ones of the last non-empty live set are kept (an empty
 * descriptor helps no one, and it may be our own tor that cannot reach
 * them).  Logs the change at error level.
 */
void	pd_service_liveness(struct pd_service *sv, time_t now);
/* fetchd's messages, already decoded; -1 if they name no instance of ours. */
int	pd_instance_desc(struct pd *pd, uint32_t service, uint32_t instance,
	    const uint8_t key[32], const struct pd_instance *desc, time_t now);
int	pd_instance_state(struct pd *pd, uint32_t service, uint32_t instance,
	    const uint8_t key[32], enum peer_instance_state state,
	    time_t since, const char *detail, time_t now);
struct peer_liveness_msg;
int	pd_instance_liveness(struct pd *pd, const struct peer_liveness_msg *l,
	    time_t now);
/* SHA3-256 over the sorted intro auth keys of every live instance. */
void	pd_live_digest(const struct pd_service *sv, time_t now,
	    uint8_t out[32]);
/* keyd was restarted: every period must be begun again. */
void	pd_keyd_reset(struct pd *pd);

/* peer.c */
/* A PEER_INSTANCE_DESC or PEER_INSTANCE_STATE; fatal if malformed. */
void	pd_peer_message(struct pd *pd, const struct ipc_msg *msg, time_t now);

/* intro.c */
/* Its certs have not expired at now (keyd and clients would refuse it). */
int	pd_intro_usable(const struct hsdesc_intro_point *ip, time_t now);
/*
 * Chooses up to max (<= HSDESC_MAX_INTRO_POINTS) intro points from the
 * live instances of sv: round-robin over the instances (in a random
 * order), so that their shares differ by at most one, then shuffled.
 * Intro points whose own certs have expired are skipped.
 */
size_t	pd_choose_picks(const struct pd_service *sv, time_t now, size_t max,
	    struct pd_pick *out);
/* Fisher-Yates, with libsodium's randomness. */
void	pd_shuffle_picks(struct pd_pick *picks, size_t n);
/*
 * pd_choose_picks() as the points themselves; writes the instance index
 * of each to from[] (may be NULL).
 */
size_t	pd_choose_intro(const struct pd_service *sv, time_t now, size_t max,
	    struct hsdesc_intro_point *out, uint32_t *from);
/*
 * The flow-control line the chosen instances agree on, or NULL: each must
 * advertise the same line, with a sendme increment tor's clients accept
 * (within 1 of the consensus' cc_sendme_inc; a client refuses the whole
 * descriptor otherwise).
 */
const char *pd_choose_flow_control(const struct pd_service *sv,
	    const uint32_t *from, size_t n, unsigned cc_sendme_inc);

/* plan.c */
/*
 * One replica's share-out (plan.c): n instances with npoints[i] usable
 * points over k variants of at most cap points each.  count[i * k + v]
 * holds the previous plan on entry (0 for a new instance) and the new one
 * on return; rank[i] orders the instances (0 first) when not all get the
 * same.  Every instance gets an equal number of points, give or take one
 * (fewer only if it has too few), spread over as many variants as that
 * allows; the variants are filled evenly; what the previous plan had is
 * kept where it still fits.
 */
void	pd_plan_group(const unsigned *npoints, const size_t *rank, size_t n,
	    size_t k, unsigned cap, unsigned *count);
/*
 * Plans slot k's descriptors for the live set at now: sets slot->distinct
 * and each variant's picks, shares and plan digest.  Shared (one
 * descriptor, pd_choose_picks()) unless the live points exceed the
 * service's per-descriptor limit, the service allows distinct ones and
 * the slot has at least two fetch HSDirs.
 */
void	pd_plan_slot(const struct pd *pd, struct pd_service *sv, int k,
	    time_t now);
/* Over the variants in use: the highest counter, the largest size. */
uint64_t pd_slot_revision(const struct pd_slot *slot);
size_t	pd_slot_size(const struct pd_slot *slot);
/* Some variant carries a flow-control line. */
int	pd_slot_flow_control(const struct pd_slot *slot);
/* The distinct intro points the slot's descriptors publish. */
size_t	pd_slot_intro_published(const struct pd_slot *slot);

/* network.c */
/* The variants in use: 1 when shared. */
size_t	pd_slot_nvariants(const struct pd_slot *slot);
/* The variant an HSDir gets now. */
size_t	pd_target_variant(const struct pd_slot *slot,
	    const struct pd_target *t);
/* Frees what a descriptor slot holds and wipes it. */
void	pd_slot_clear(struct pd_slot *slot);
/* tor's "reasonably live" test of the consensus at now. */
int	pd_net_live(const struct pd_net *net, time_t now);
/*
 * Our clock against the consensus pd holds: BEHIND if now is before its
 * valid-after less PD_CLOCK_SLACK_S; AHEAD if it was already past its
 * valid-until plus the slack when it arrived (pd->consensus_at) and
 * still is.  *skew: how far off at least, in seconds, negative when
 * behind (tor's sign), 0 when OK.
 */
enum pd_clock pd_clock_check(const struct pd *pd, time_t now,
	    int64_t *skew);
const char *pd_clock_str(enum pd_clock c);
/* The period and SRV of the first or second descriptor (digest 3.3). */
int	pd_net_slot_period(const struct pd_net *net, int slot, uint64_t *tp,
	    uint8_t srv[HS_SRV_LEN]);
/* Republish interval: min(60 min, lifetime / 3, period length / 2). */
time_t	pd_net_refresh_interval(const struct pd_net *net);
time_t	pd_net_backoff_cap(const struct pd_net *net);
/*
 * Takes a new network and ring (ownership of ring's impl passes; the old
 * one is freed).  Moves the slots to their new periods, recomputes every
 * slot's HSDirs, and marks what must be built or uploaded.
 */
void	pd_set_network(struct pd *pd, const struct pd_net *net,
	    const struct pd_ring *ring, time_t now);
/* The same for one service (a new one, after a reload). */
void	pd_service_network(struct pd *pd, struct pd_service *sv, time_t now);
/* Recomputes one slot's HSDirs; returns how many are new. */
size_t	pd_slot_update_hsdirs(struct pd *pd, struct pd_slot *slot, time_t now);

/* ring.c */
/*
 * The network and ring from tor's consensus-microdesc and md/all texts:
 * refuses a consensus that does not parse, is not reasonably live at now,
 * or gives an empty ring.
 */
int	pd_network_from_tor(const char *cons, size_t cons_len, const char *md,
	    size_t md_len, time_t now, struct pd_net *net, struct pd_ring *ring,
	    char *why, size_t whylen);

/* schedule.c */
/*
 * Does what is due at now (builds, uploads, timeouts) and returns when it
 * wants to be called next (0: nothing scheduled).
 */
time_t	pd_tick(struct pd *pd, time_t now);
/* Why slot would be built at now, or PD_R_NONE and *wake when to look again. */
enum pd_reason pd_slot_due(const struct pd *pd, const struct pd_service *sv,
	    const struct pd_slot *slot, time_t now, time_t *wake);
const char *pd_reason_str(enum pd_reason r);
/*
 * A new control connection (tor restarted, or we lost it): every
 * descriptor we have is built again and uploaded through this tor.  Built,
 * not just sent again: an HSDir refuses a revision counter it already has
 * (UPLOAD_REJECTED), so only a new one reaches the HSDirs.
 */
void	pd_republish(struct pd *pd);

/* upload.c */
/* Marks the targets of a variant pending for its new descriptor. */
void	pd_variant_targets_reset(struct pd_slot *slot, size_t variant,
	    time_t now);
/* Sends what may be sent now; returns the earliest time something is due. */
time_t	pd_uploads_run(struct pd *pd, struct pd_service *sv, time_t now);
/* An HSPOST's outcome, from its reply or its event. */
void	pd_upload_result(struct pd *pd, struct pd_service *sv,
	    const char *fpr, int ok, const char *reason, time_t now);
/* Every HSPOST in flight is lost (the control connection went). */
void	pd_uploads_abort(struct pd *pd, time_t now);
struct pd_inflight *pd_inflight_find(struct pd_service *sv, const char *fpr);
time_t	pd_backoff(const struct pd *pd, unsigned attempts);
const char *pd_target_state_str(enum pd_target_state s);

struct torctl_hs_desc;
/*
 * An HS_DESC event: UPLOADED or FAILED for one of our addresses and an
 * HSDir we have an upload in flight to.  Returns 1 if it was ours.
 */
int	pd_hs_desc_event(struct pd *pd, const struct torctl_hs_desc *ev,
	    time_t now);

/* build.c */
struct pd_builder {
	struct keyd_client	*kc;
};
/* A pd_ops.build that goes through keyd; arg is a struct pd_builder. */
int	pd_build_variant(void *arg, struct pd *pd, struct pd_service *sv,
	    int slot, size_t variant, time_t now, char *why, size_t whylen);

/* status.c */
/* The status document, NUL-terminated (malloc); NULL on allocation failure. */
char   *pd_status_json(const struct pd *pd, time_t now, size_t *len);
/* An instance's state as the status document and the metrics name it. */
const char *pd_instance_state_str(const struct pd_instance *in, time_t now);

/* metrics.c */
/*
 * The Prometheus text exposition (version 0.0.4; docs/metrics.md) of
 * pd and of what kc saw from keyd, NUL-terminated (malloc); NULL on
 * allocation failure.
 */
char   *pd_metrics_text(const struct pd *pd, const struct keyd_client *kc,
	    const char *version, time_t now, size_t *len);

#endif

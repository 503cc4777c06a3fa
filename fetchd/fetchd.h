/*
 * fetchd's logic, without I/O: the instance set, the fetch schedule, the
 * handling of tor's HS_DESC / HS_DESC_CONTENT / STATUS_CLIENT events,
 * descriptor verification and the staleness rule.  fetchd.c wires it to
 * libevent, the parent channel, the peer channel and the tor control
 * connection through struct fetchd_ops; the unit tests drive it with a
 * fake clock and captured events.  Every entry point takes "now".
 *
 * The rules (see README.md for why):
 * - Fetch only while tor has a reasonably live consensus; the first round
 *   as soon as one is known, then per instance every fetch period
 *   (min(config fetch interval, voting interval)) plus jitter, and a new
 *   round after CONSENSUS_ARRIVED, never fetching one instance more often
 *   than every half period.  One fetch per instance in flight; no result
 *   within FETCHD_FETCH_TIMEOUT_S is a failure.
 * - Each fetch names its HSDir (SERVER=), from the ring a client fetches
 *   from, in turn and failed ones last: left to pick, tor asks no HSDir
 *   twice in 15 minutes and then silently sends nothing.
 * - A descriptor is accepted only if hsdesc_decode_near() verifies it
 *   against the blinded key derived from the instance's own key for the
 *   consensus time period (or its neighbours), and only if it is newer
 *   than the one we hold.
 * - A held descriptor expires when its backend cannot have re-uploaded it
 *   within tor's maximum re-upload interval, when HSDirs must have dropped
 *   it (its lifetime), or after FETCHD_NOT_FOUND_LIMIT NOT_FOUND answers
 *   in a row.
 */
#ifndef OB_FETCHD_H
#define OB_FETCHD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon_proto.h"
#include "hs_common.h"
#include "hsdesc.h"
#include "ipc.h"
#include "onion_address.h"
#include "peer_msg.h"
#include "torctl_parse.h"

/* A fetch with no result after this long has failed. */
#define FETCHD_FETCH_TIMEOUT_S		60
/* tor's HS_SERVICE_NEXT_UPLOAD_TIME_MAX: a live backend re-uploads by then. */
#define FETCHD_REUPLOAD_MAX_S		(120 * 60)
/* tor's HS_DESC_CERT_LIFETIME: the signing cert is made at each upload. */
#define FETCHD_SIGNING_CERT_LIFETIME_S	(54 * 3600)
/* Slack on top of the re-upload interval (plus two fetch periods). */
#define FETCHD_STALE_GRACE_S		(5 * 60)
/* NOT_FOUND answers in a row after which HSDirs are taken not to have it. */
#define FETCHD_NOT_FOUND_LIMIT		3
/* tor's networkstatus_get_reasonably_live_consensus() slack. */
#define FETCHD_CONSENSUS_SLACK_S	(24 * 3600)
/* Send SIGNAL ACTIVE before a fetch if the last one is older than this. */
#define FETCHD_ACTIVE_SIGNAL_S		(5 * 60)
/* The periods and spreads are never shorter than this. */
#define FETCHD_MIN_PERIOD_S		5
/* A round's fetches are spread over at most this many seconds. */
#define FETCHD_ROUND_SPREAD_MAX_S	10
/* HSDirs remembered per instance (rotation, failures): the 6 of the live
 * network's fetch ring, with room for test networks' params. */
#define FETCHD_HSDIR_HISTORY		16
/* "$" and an HSDir's RSA fingerprint in hex, as HSFETCH SERVER= takes it. */
#define FETCHD_HSDIR_ID_LEN		41

/*
 * Liveness probes (fetchd_probe.c, README.md "Liveness").  The interval
 * and timeout come from the configuration; these are the fixed choices.
 */
#define FETCHD_PROBE_INTERVAL_S		5	/* before PC_PROBE says */
#define FETCHD_PROBE_TIMEOUT_S		10
/* Failures in a row that drop an instance; the second runs at once. */
#define FETCHD_PROBE_FALL		2
/* Successes in a row, an interval apart, that bring it back. */
#define FETCHD_PROBE_RISE		2
/* A dropped instance is probed less and less often, down to this. */
#define FETCHD_PROBE_DEAD_MAX_S		60
/* A drop within this long of a return is a flap ... */
#define FETCHD_FLAP_WINDOW_S		(10 * 60)
/* ... and holds the next return back 30 s, 60 s, ... up to 10 min. */
#define FETCHD_FLAP_HOLD_BASE_S		30
#define FETCHD_FLAP_HOLD_MAX_S		(10 * 60)
/* A probe whose result never came is forgotten this long after its end. */
#define FETCHD_PROBE_GRACE_S		5
/*
 * A probe that timed out counts only if another instance answered while
 * it ran (so the management tor and the network work), or once an
 * instance has timed out for this long with no one answering (so that
 * every backend frozen is still seen).
 */
#define FETCHD_PROBE_STALL_S		60

/* What one probe found (the I/O in fetchd.c tells the logic). */
enum probe_outcome {
	PROBE_OK,		/* the stream opened (and the check passed) */
	PROBE_REFUSED,		/* the backend's tor answered; its port refused */
	PROBE_CHECK_FAILED,	/* health check: refused, or bad HTTP answer */
	PROBE_UNREACHABLE,	/* tor: introduction or rendezvous failed */
	PROBE_TIMEOUT,		/* no answer within the probe timeout (or
				   tor's stream timeout, or the check's) */
	PROBE_INCONCLUSIVE,	/* says nothing about the backend */
};

/* How one instance is probed (PC_PROBE). */
struct fetchd_probe_config {
	uint32_t	 interval_s;
	uint32_t	 timeout_s;
	uint16_t	 port;
	enum probe_check check;
	char		 path[PROBE_PATH_MAX + 1];
};

/* One instance's liveness. */
struct fetchd_probe {
	struct fetchd_probe_config cfg;
	uint32_t	 liveness;		/* enum peer_liveness */
	time_t		 since;
	time_t		 last_probe;		/* 0: none yet */
	char		 outcome[PEER_OUTCOME_MAX + 1];
	char		 reason[PEER_OUTCOME_MAX + 1];	/* of the drop */
	unsigned	 fails;			/* conclusive, in a row */
	unsigned	 oks;
	bool		 in_flight;
	uint32_t	 id;			/* of the probe in flight */
	time_t		 deadline;
	time_t		 next;			/* 0: not scheduled */
	uint32_t	 isolation;		/* SOCKS username generation */
	unsigned	 flaps;
	time_t		 returned_at;		/* 0: never dropped */
	time_t		 hold_until;
	time_t		 dead_backoff;
	bool		 rend_closed;		/* its rendezvous circuit went */
	bool		 desc_in_flight;	/* a new descriptor came while
						   a probe was in flight */
	time_t		 started;		/* of the probe in flight */
	time_t		 last_ok;		/* last good probe, 0: none */
	time_t		 stall_since;		/* uncorroborated timeouts */
};

/* What fetchd needs of the consensus (header lines only). */
struct fetchd_consensus {
	time_t		valid_after;
	time_t		fresh_until;
	time_t		valid_until;
	uint64_t	hsdir_interval_min;	/* 0: param absent */
	size_t		max_desc_size;		/* 0: param absent */
};

/*
 * Reads the header of a consensus document (up to the first "dir-source"
 * or "r" line): valid-after, fresh-until, valid-until, and from "params"
 * hsdir_interval and HSV3MaxDescriptorSize.  0, or -1 with *why set.
 */
int	fetchd_consensus_parse(struct fetchd_consensus *c, const char *text,
	    size_t len, const char **why);
/* valid_after - 24 h <= now <= valid_until + 24 h */
bool	fetchd_consensus_live(const struct fetchd_consensus *c, time_t now);

/* What fetchd asks of the outside world. */
struct fetchd_ops {
	/*
	 * HSFETCH address (56 chars) SERVER=server; server NULL lets tor
	 * pick the HSDir.  0 if the command was queued.
	 */
	int	(*hsfetch)(void *arg, const char *address, const char *server);
	/* SIGNAL ACTIVE; 0 if queued. */
	int	(*signal_active)(void *arg);
	/* Re-read the consensus (CONSENSUS_ARRIVED). */
	void	(*consensus_refresh)(void *arg);
	/* Send a built message to publishd (no-op while there is none). */
	void	(*send_peer)(void *arg, struct ipc_builder *b);
	/*
	 * Start liveness probe id of address (56 chars): SOCKS5 CONNECT
	 * with username isolation, then cfg's check.  The outcome comes
	 * back through fetchd_probe_result(); 0 if started.
	 */
	int	(*probe_start)(void *arg, uint32_t id, const char *address,
		    const struct fetchd_probe_config *cfg, uint32_t isolation);
	/*
	 * ONION_CLIENT_AUTH_ADD address x25519:key (ephemeral: tor keeps it
	 * in memory) and ONION_CLIENT_AUTH_REMOVE address, so that the
	 * probes of a restricted backend get through; 0 if queued.
	 */
	int	(*client_auth_add)(void *arg, const char *address,
		    const uint8_t key[32]);
	int	(*client_auth_remove)(void *arg, const char *address);
	void	*arg;
};

/* An HSDir fetchd asked for one instance (fetchd_hsdirs.c). */
struct fetchd_hsdir_use {
	char		 id[FETCHD_HSDIR_ID_LEN + 1];	/* "" if unused */
	time_t		 asked;
	bool		 failed;	/* its last answer was a failure */
};

/*
 * The last descriptor an instance verified, by the BLAKE2b-256 digest of
 * its bytes, with what decoding it gave (fetchd_events.c).
 */
struct fetchd_verified {
	uint8_t		 digest[32];
	uint8_t		 key[32];	/* the identity it was verified under */
	uint64_t	 tp;		/* the period asked for, */
	uint64_t	 tp_out;	/* and the one that matched */
	uint64_t	 tp_len_min;
	size_t		 max_size;
	time_t		 valid_until;	/* the last second all its certs hold */
	struct hsdesc	 desc;
};

struct fetchd_instance {
	uint32_t	 service;
	uint32_t	 instance;
	uint8_t		 key[32];
	char		 name[PROTO_NAME_MAX + 1];
	char		 address[ONION_ADDRESS_LEN + 1];

	/* The newest verified descriptor, even once expired (so that the
	 * same revision served again is not taken for news). */
	struct peer_desc_msg *desc;
	time_t		 desc_first_seen;
	time_t		 desc_stale_at;
	/* 0 while desc is usable, else the PEER_STATE_* last reported. */
	uint32_t	 state;
	time_t		 state_since;
	char		 detail[PEER_DETAIL_MAX + 1];

	bool		 in_flight;
	time_t		 fetch_deadline;
	time_t		 last_fetch;
	time_t		 next_fetch;
	unsigned	 not_found;		/* NOT_FOUND in a row */
	char		 fail_reason[32];	/* REASON= of the fetch in flight */
	char		 last_warning[160];	/* logged once per distinct text */

	struct fetchd_probe probe;
	/* The HSDir of the fetch in flight, "" if tor picked it. */
	char		 hsdir[FETCHD_HSDIR_ID_LEN + 1];
	struct fetchd_hsdir_use hsdir_used[FETCHD_HSDIR_HISTORY];
	bool		 hsdir_requested;	/* tor said HS_DESC REQUESTED */

	/* The same bytes again are not decoded again (NULL: none yet). */
	struct fetchd_verified *verified;
	unsigned long	 verified_hits;

	/* A restricted backend: our client key (PC_CLIENT_KEY); wiped. */
	bool		 has_client_key;
	uint8_t		 client_key[32];
};

struct fetchd_config_service {
	uint8_t		 key[32];
	uint32_t	 ninstances;
	uint32_t	 nseen;
};

struct fetchd {
	struct fetchd_ops	 ops;
	uint32_t		 generation;
	uint32_t		 fetch_interval_s;
	struct fetchd_instance	*inst;
	size_t			 ninst;

	/* A configuration being received (PC_CONFIG_BEGIN .. END). */
	bool			 pending;
	uint32_t		 pending_generation;
	uint32_t		 pending_interval_s;
	struct fetchd_config_service *pending_services;
	uint32_t		 pending_nservices;
	struct fetchd_instance	*pending_inst;
	size_t			 pending_ninst;

	bool			 connected;	/* to tor, events set */
	bool			 have_consensus;
	struct fetchd_consensus	 consensus;
	struct hs_period_params	 period;
	bool			 said_not_live;	/* logged once */
	time_t			 last_active_signal;	/* 0: none on this connection */
	time_t			 last_consensus_round;

	/* tor has built circuits (STATUS_CLIENT, status/circuit-established) */
	bool			 circuits;
	uint32_t		 next_probe_id;
	/* fetchd_hsdirs.c: the ring a client fetches from; NULL if unknown. */
	struct fetchd_hsdirs	*hsdirs;
	bool			 said_no_hsdirs;	/* logged once */

	/*
	 * The addresses whose client key we gave tor (fetchd_clientauth.c),
	 * kept across connections: tor keeps them until it restarts, or a
	 * NEWNYM purges them.
	 */
	char			(*tor_auth)[ONION_ADDRESS_LEN + 1];
	size_t			 ntor_auth;
};

struct fetchd *fetchd_new(const struct fetchd_ops *ops);
void	fetchd_free(struct fetchd *fd);

/*
 * The configuration, as the parent streams it.  Each returns -1 on a
 * message that breaks the sequence or is out of range (the caller treats
 * that as fatal: the parent is one of ours).  fetchd_config_end() applies
 * the configuration: instances that stay (same key) keep their state,
 * and everything is re-sent to publishd, whose numbers may have changed.
 */
int	fetchd_config_begin(struct fetchd *fd, uint32_t generation,
	    uint32_t fetch_interval_s, uint32_t nservices);
int	fetchd_config_service(struct fetchd *fd, uint32_t service,
	    const uint8_t key[32], uint32_t ninstances);
int	fetchd_config_instance(struct fetchd *fd, uint32_t service,
	    uint32_t instance, const uint8_t key[32], const char *name);
/* PC_PROBE: how to probe one instance (after its PC_INSTANCE). */
int	fetchd_config_probe(struct fetchd *fd, uint32_t service,
	    uint32_t instance, const struct fetchd_probe_config *cfg);
/* PC_CLIENT_KEY: a restricted instance's key (after its PC_INSTANCE). */
int	fetchd_config_client_key(struct fetchd *fd, uint32_t service,
	    uint32_t instance, const uint8_t key[32]);
int	fetchd_config_end(struct fetchd *fd, uint32_t generation, time_t now);

/*
 * Gives tor the client key of every restricted instance and takes back
 * those of instances no longer restricted (fetchd_clientauth.c): on a
 * new control connection, a new configuration, and after a NEWNYM.
 */
void	fetchd_client_auth_sync(struct fetchd *fd);

/* The control connection is up (events set) or gone. */
void	fetchd_connected(struct fetchd *fd, time_t now);
void	fetchd_disconnected(struct fetchd *fd);
/* A consensus header was read (after connecting or CONSENSUS_ARRIVED). */
void	fetchd_set_consensus(struct fetchd *fd, const struct fetchd_consensus *c,
	    time_t now);
/* A 650 event from tor: HS_DESC, HS_DESC_CONTENT or STATUS_CLIENT. */
void	fetchd_handle_event(struct fetchd *fd, const struct torctl_reply *ev,
	    time_t now);
/* Whether tor has working circuits (a probe failure counts only then). */
void	fetchd_set_circuits(struct fetchd *fd, bool established, time_t now);
/* A liveness probe ended; detail is for the log and the status. */
void	fetchd_probe_result(struct fetchd *fd, uint32_t id,
	    enum probe_outcome outcome, const char *detail, time_t now);
/* The SOCKS reply code of tor (with ExtendedErrors) as an outcome. */
enum probe_outcome fetchd_probe_classify_socks(uint8_t reply,
	    enum probe_check check, const char **text);
/* The default probe settings (before PC_PROBE). */
void	fetchd_probe_config_default(struct fetchd_probe_config *cfg);
/* tor refused (or never answered) our HSFETCH for address. */
void	fetchd_fetch_refused(struct fetchd *fd, const char *address,
	    const char *why, time_t now);
/* Timers: fetches that are due, timeouts, staleness. */
void	fetchd_tick(struct fetchd *fd, time_t now);
/* When fetchd_tick() has work next (at most now + fetch period). */
time_t	fetchd_next_wakeup(const struct fetchd *fd, time_t now);
/* publishd (re)connected or asked: send every instance's latest state. */
void	fetchd_resync(struct fetchd *fd);

/*
 * The consensus and microdescriptors (GETINFO md/all) again: builds the
 * HSDir ring fetches pick their HSDir from (README.md, "Schedule").
 * Without one (no microdescriptors yet, a text we cannot read) fetches
 * go out without SERVER= and tor picks; that is logged once.
 */
void	fetchd_set_hsdirs(struct fetchd *fd, const char *consensus,
	    size_t consensus_len, const char *md, size_t md_len, time_t now);

/* The fetch period: min(fetch interval, voting interval), at least 5 s. */
time_t	fetchd_period(const struct fetchd *fd);

#endif

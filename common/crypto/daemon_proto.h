/*
 * The channels between the parent, fetchd and publishd (keyd's two
 * channels are in keyd/keyd_proto.h).  Framing, caps and the "inside is
 * fatal" rule are common/crypto/ipc.h's.  All integers big-endian; "key" is a
 * 32-byte ed25519 public key; strings are NUL-terminated in the payload.
 *
 *   parent <-> fetchd      enum parent_child_msg   (child end at fd 3)
 *   parent <-> publishd    enum parent_child_msg   (child end at fd 3)
 *   fetchd <-> publishd    enum peer_msg           (passed as PC_PEER_FD)
 *   publishd <-> keyd      keyd_proto.h's request channel (PC_KEYD_FD)
 *
 * Start and restart use the same handshake (style.md 10): the parent sends
 * its fds (PC_CONTROL_FD, PC_PEER_FD, and for publishd PC_KEYD_FD,
 * PC_STATUS_FD, PC_METRICS_FD, then PC_COUNTERS), then the configuration
 * (PC_CONFIG_BEGIN, PC_SERVICE and PC_INSTANCE messages, PC_CONFIG_END);
 * the child answers PC_READY with the generation and only then starts
 * work.  A reload (SIGHUP) is a new PC_CONFIG_BEGIN..PC_CONFIG_END with a
 * higher generation: the child replaces its service/instance set
 * (keeping the state of instances that stay) and answers PC_READY again.
 *
 * Any fd message may come again at any time: when a peer process is
 * restarted, or tor went away, the parent makes a new channel or
 * connection and sends it; the child closes the old fd and uses the new
 * one (and publishd sends PEER_RESYNC on a new peer channel).
 */
#ifndef OB_DAEMON_PROTO_H
#define OB_DAEMON_PROTO_H

#include <stdint.h>

/* Where each child finds its end of the parent channel after exec. */
#define CHILD_PARENT_FD		3

#define PC_CAP			1024	/* parent <-> child payload cap */
#define PEER_CAP		(32 * 1024)	/* fetchd <-> publishd payload cap */
#define PROTO_NAME_MAX		255	/* instance names */
#define PROTO_PASSWORD_MAX	255
#define PROTO_COOKIE_LEN	32

/* parent <-> fetchd and parent <-> publishd */
enum parent_child_msg {
	/*
	 * parent: fd, a connected and already authenticated control
	 * connection to tor (the parent did PROTOCOLINFO and AUTHENTICATE,
	 * so no child ever holds the cookie or password); empty payload.
	 */
	PC_CONTROL_FD = 1,
	/* child: empty.  Its control connection died: asks for a new one. */
	PC_CONTROL_REQUEST,
	/* parent: fd, this child's end of the fetchd <-> publishd channel. */
	PC_PEER_FD,
	/* parent -> publishd: fd, publishd's end of its keyd request channel. */
	PC_KEYD_FD,
	/* parent -> publishd: fd, the listening status socket (unix stream). */
	PC_STATUS_FD,
	/*
	 * parent: generation(4) log_level(4) fetch_interval_s(4)
	 * nservices(4).  Starts a configuration.
	 */
	PC_CONFIG_BEGIN,
	/* parent: service(4) identity key(32) ninstances(4) */
	PC_SERVICE,
	/* parent: service(4) instance(4) key(32) name(string) */
	PC_INSTANCE,
	/* parent: generation(4).  The configuration is complete. */
	PC_CONFIG_END,
	/* child: generation(4).  Configuration applied; working. */
	PC_READY,
	/*
	 * parent -> fetchd, after an instance's PC_INSTANCE: how to probe
	 * its liveness (fetchd/README.md, "Liveness"):
	 *   service(4) instance(4) interval_s(4) timeout_s(4) port(4)
	 *   check(4: enum probe_check) path(string)
	 * An instance without one is probed with the defaults.
	 */
	PC_PROBE,
	/*
	 * fetchd -> parent: id(4).  Asks for a connection to the management
	 * tor's SOCKS listener for one liveness probe (fetchd opens nothing).
	 */
	PC_SOCKS_REQUEST,
	/* parent -> fetchd: fd, id(4).  The connection asked for. */
	PC_SOCKS_FD,
	/* parent -> fetchd: id(4) reason(string).  None could be made. */
	PC_SOCKS_FAILED,
	/*
	 * parent -> publishd: fd, a listening metrics socket (unix stream or
	 * loopback TCP; docs/metrics.md); at most PC_METRICS_FDS_MAX, each
	 * once per publishd process.
	 */
	PC_METRICS_FD,
	/*
	 * parent -> publishd: what only the parent counts, for the metrics,
	 * in publishd's handshake (after the fds, before the configuration)
	 * and again on every change:
	 *   keyd_restarts(4) fetchd_restarts(4) publishd_restarts(4)
	 *   keyd_channel_drops(4)
	 * Totals since the parent started.
	 */
	PC_COUNTERS,
	/*
	 * parent -> publishd, after a service's PC_SERVICE: how it publishes
	 * (docs/configuration.md, "Distinct descriptors"):
	 *   service(4) shared_only(4: 0 or 1) per_descriptor(4: 1..20)
	 * A service without one gets the defaults (auto, 20).
	 */
	PC_PUBLISH,
	/*
	 * parent -> publishd, after a service's PC_PUBLISH: one per
	 * authorized client of the service (restricted discovery;
	 * docs/configuration.md, "Client authorization"):
	 *   service(4) x25519_public_key(32)
	 * None: the descriptor is for everyone.
	 */
	PC_AUTH_CLIENT,
	/*
	 * parent -> fetchd, after an instance's PC_PROBE: the x25519
	 * private key of a restricted backend's authorized client
	 * (docs/configuration.md, "Restricted backends"):
	 *   service(4) instance(4) x25519_private_key(32)
	 * fetchd decrypts the instance's descriptors with it and gives it
	 * to its tor (ONION_CLIENT_AUTH_ADD) for the liveness probes.  Both
	 * sides wipe the message once read.  None: the instance is open.
	 */
	PC_CLIENT_KEY,
};

#define PC_CONFIG_BEGIN_LEN	(4 + 4 + 4 + 4)
#define PC_SERVICE_LEN		(4 + 32 + 4)
#define PC_CONFIG_END_LEN	4
#define PC_READY_LEN		4
#define PC_SOCKS_REQUEST_LEN	4
#define PC_SOCKS_FD_LEN		4
#define PC_SOCKS_REASON_MAX	127	/* PC_SOCKS_FAILED's reason */
#define PC_METRICS_FDS_MAX	2
#define PC_COUNTERS_LEN		(4 * 4)
#define PC_PUBLISH_LEN		(3 * 4)
#define PC_AUTH_CLIENT_LEN	(4 + 32)
#define PC_CLIENT_KEY_LEN	(4 + 4 + 32)

/* What a liveness probe checks beyond the backend's tor (PC_PROBE). */
enum probe_check {
	PROBE_CHECK_NONE = 0,	/* tor answers: a refused port still lives */
	PROBE_CHECK_TCP,	/* the port must accept the stream */
	PROBE_CHECK_HTTP,	/* GET path must answer 2xx or 3xx */
};
#define PROBE_PATH_MAX		200

/* fetchd <-> publishd */
enum peer_msg {
	/*
	 * fetchd: a verified, decrypted descriptor of one instance:
	 *   service(4) instance(4) instance key(32) tp(8) received_at(8)
	 *   revision_counter(8) lifetime_min(4) flags(4) flow_control(string)
	 *   nintro(4), then per intro point:
	 *     lspec_len(4) lspec(lspec_len) onion_key(32) auth_key(32)
	 *     auth_key_exp_hours(4) enc_key(32) enc_key_cert_key(32)
	 *     enc_key_cert_exp_hours(4)
	 * nintro is at most 20 (a client rejects more); lspec_len at most
	 * 256.  The instance key lets publishd check that service/instance
	 * numbers refer to the same configuration it has.
	 */
	PEER_INSTANCE_DESC = 1,
	/*
	 * fetchd: an instance has no usable descriptor:
	 *   service(4) instance(4) instance key(32) state(4) since(8)
	 *   detail(string)
	 */
	PEER_INSTANCE_STATE,
	/* publishd: empty.  Send everything you have (publishd restarted). */
	PEER_RESYNC,
	/*
	 * fetchd: what the last liveness probe of an instance said:
	 *   service(4) instance(4) instance key(32) liveness(4) since(8)
	 *   last_probe(8) outcome(string) reason(string)
	 * liveness is enum peer_liveness; reason says why it was dropped
	 * ("" unless DEAD or RETURNING).
	 */
	PEER_INSTANCE_LIVENESS,
	/*
	 * fetchd: how one fetch of an instance's descriptor ended, one
	 * message per result (after the PEER_INSTANCE_DESC or _STATE it
	 * caused, if any), for the metrics:
	 *   service(4) instance(4) instance key(32) outcome(4)
	 * exactly PEER_INSTANCE_FETCH_LEN bytes; outcome is enum
	 * peer_fetch_outcome.  A result is each non-empty HS_DESC_CONTENT
	 * for the instance's address (whoever fetched it) and each of
	 * fetchd's own fetches that failed.  An event, not a state: never
	 * sent again on PEER_RESYNC, so publishd counts each result once.
	 */
	PEER_INSTANCE_FETCH,
};

#define PEER_INSTANCE_FETCH_LEN		(4 + 4 + 32 + 4)

#define PEER_DESC_FLAG_FLOW_CONTROL	0x01	/* flow_control is set */
#define PEER_DESC_FLAG_SINGLE_ONION	0x02

enum peer_instance_state {
	PEER_STATE_NO_DESCRIPTOR = 1,	/* never fetched one yet */
	PEER_STATE_FETCH_FAILED,	/* HSDirs had none (NOT_FOUND etc.) */
	PEER_STATE_INVALID,		/* fetched, but rejected; detail says why */
	PEER_STATE_EXPIRED,		/* last good one is past its lifetime */
};

/*
 * How one fetch ended (PEER_INSTANCE_FETCH; fetchd/README.md, "What
 * publishd hears").  publishd only counts them: what it holds changes
 * by PEER_INSTANCE_DESC and _STATE alone.
 */
enum peer_fetch_outcome {
	PEER_FETCH_NEW = 1,	/* verified and newer: PEER_INSTANCE_DESC */
	PEER_FETCH_NOT_NEWER,	/* verified, not newer than the one held */
	PEER_FETCH_FAILED,	/* no descriptor: HS_DESC FAILED, HSFETCH
				   refused, no answer in time */
	PEER_FETCH_INVALID,	/* did not decode or verify */
	PEER_FETCH_EXPIRED,	/* its signing-key certificate has expired */
};

/*
 * An instance's liveness, learned by reaching it (fetchd's probes).
 * DEAD and RETURNING instances are left out of the superdescriptor.
 */
enum peer_liveness {
	PEER_LIVENESS_UNKNOWN = 1,	/* not probed yet: kept */
	PEER_LIVENESS_ALIVE,
	PEER_LIVENESS_SUSPECT,		/* one failure; confirming: kept */
	PEER_LIVENESS_DEAD,		/* dropped */
	PEER_LIVENESS_RETURNING,	/* answering again, not yet trusted */
};

#endif

/*
 * The fetchd <-> publishd messages of common/crypto/daemon_proto.h, encoded and
 * decoded in one place so that both processes run the same code: fetchd
 * builds them, publishd reads them, and the tests and the fuzz target
 * drive the very decoder publishd uses.
 *
 * The decoder is strict: every field is bounded (at most 20 introduction
 * points, link specifiers of 1..256 bytes, a known state, liveness or
 * fetch outcome, known flags, a flow-control string only with its flag) and the payload must end
 * exactly after the last field.  It returns -1 on anything else; the
 * caller treats that as a broken peer (inside is fatal, style.md 6).
 */
#ifndef OB_PEER_MSG_H
#define OB_PEER_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "daemon_proto.h"
#include "hsdesc.h"
#include "ipc.h"

/* The longest detail string of PEER_INSTANCE_STATE. */
#define PEER_DETAIL_MAX		255

/* The message types of the peer channel, with their names for logs. */
extern const struct ipc_type	peer_msg_types[];
extern const size_t		peer_msg_ntypes;

/* PEER_INSTANCE_DESC */
struct peer_desc_msg {
	uint32_t	service;
	uint32_t	instance;
	uint8_t		instance_key[32];
	uint64_t	tp;			/* time period of the blinded key */
	uint64_t	received_at;		/* unix time fetchd accepted it */
	uint64_t	revision_counter;
	uint32_t	lifetime_min;
	uint32_t	flags;			/* PEER_DESC_FLAG_* */
	char		flow_control[HSDESC_FLOW_CONTROL_MAX];	/* "" unless flagged */
	size_t		n_intro;
	/* auth_key_cert_type is always TORCERT_TYPE_AUTH_HS_IP_KEY. */
	struct hsdesc_intro_point intro[HSDESC_MAX_INTRO_POINTS];
};

/* The longest probe outcome and drop reason of PEER_INSTANCE_LIVENESS. */
#define PEER_OUTCOME_MAX	127

/* PEER_INSTANCE_LIVENESS */
struct peer_liveness_msg {
	uint32_t	service;
	uint32_t	instance;
	uint8_t		instance_key[32];
	uint32_t	liveness;		/* enum peer_liveness */
	uint64_t	since;			/* unix time */
	uint64_t	last_probe;		/* unix time, 0: none yet */
	char		outcome[PEER_OUTCOME_MAX + 1];
	char		reason[PEER_OUTCOME_MAX + 1];
};

/* PEER_INSTANCE_STATE */
struct peer_state_msg {
	uint32_t	service;
	uint32_t	instance;
	uint8_t		instance_key[32];
	uint32_t	state;			/* enum peer_instance_state */
	uint64_t	since;			/* unix time */
	char		detail[PEER_DETAIL_MAX + 1];
};

/* PEER_INSTANCE_FETCH */
struct peer_fetch_msg {
	uint32_t	service;
	uint32_t	instance;
	uint8_t		instance_key[32];
	uint32_t	outcome;		/* enum peer_fetch_outcome */
};

/*
 * Fills d from a decoded descriptor (flags and flow control included).
 * Fails (-1) if the descriptor has more than 20 intro points (the codec
 * never returns such a one) or a flow-control string that does not fit.
 */
int	peer_desc_from_hsdesc(struct peer_desc_msg *d,
	    const struct hsdesc *desc);

/*
 * Builders: set b up on buf (IPC_HDR_LEN + PEER_CAP bytes) and write the
 * message.  -1 if a field is out of range (the decoder would refuse it)
 * or the message does not fit.
 */
int	peer_desc_build(struct ipc_builder *b, void *buf, size_t size,
	    const struct peer_desc_msg *d);
int	peer_state_build(struct ipc_builder *b, void *buf, size_t size,
	    const struct peer_state_msg *s);
int	peer_liveness_build(struct ipc_builder *b, void *buf, size_t size,
	    const struct peer_liveness_msg *l);
int	peer_fetch_build(struct ipc_builder *b, void *buf, size_t size,
	    const struct peer_fetch_msg *r);

/* Decoders of a received message's payload; 0 or -1. */
int	peer_desc_parse(const struct ipc_msg *msg,
	    struct peer_desc_msg *d);
int	peer_state_parse(const struct ipc_msg *msg,
	    struct peer_state_msg *s);
int	peer_liveness_parse(const struct ipc_msg *msg,
	    struct peer_liveness_msg *l);
/* Exactly PEER_INSTANCE_FETCH_LEN bytes and a known outcome. */
int	peer_fetch_parse(const struct ipc_msg *msg,
	    struct peer_fetch_msg *r);

const char *peer_state_name(uint32_t state);
/* "alive", "dead", ...: also the status document's words. */
const char *peer_liveness_name(uint32_t liveness);
/* "new", "not-newer", ...: also the metrics' outcome label. */
const char *peer_fetch_outcome_name(uint32_t outcome);

#endif

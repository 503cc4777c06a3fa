/*
 * keyd's two channels, as seen by both ends.  PROTOCOL.md beside this file
 * is the prose version: the layouts and the rules keyd enforces.
 *
 * All integers are big-endian (common/crypto/ipc.h); "key" is a 32-byte ed25519
 * public key, "cert" a 140-byte tor certificate.
 */
#ifndef OB_KEYD_PROTO_H
#define OB_KEYD_PROTO_H

/* keyd's end of the parent channel, where the parent puts it before exec. */
#define KEYD_PARENT_FD		3

#define KEYD_MAX_SERVICES	64
/* The descriptor body keyd signs; the 97-byte signature line follows it. */
#define KEYD_SIG_LINE_LEN	97	/* "signature " + 86 + "\n" */
#define KEYD_DESC_MAX		50000	/* tor: a descriptor must be shorter */
#define KEYD_BODY_MAX		(KEYD_DESC_MAX - 1 - KEYD_SIG_LINE_LEN)

#define KEYD_PARENT_CAP		64
#define KEYD_REQUEST_CAP	(KEYD_BODY_MAX + 128)

/* parent <-> keyd: configuration, and a new request channel. */
enum keyd_parent_msg {
	KEYD_P_ERROR = 1,		/* keyd: code(4) detail(4) */
	KEYD_P_KEY,			/* parent: fd; service(4) */
	KEYD_P_KEY_REPLY,		/* keyd: key */
	KEYD_P_REQUEST_CHANNEL,		/* parent: fd; empty */
	KEYD_P_REQUEST_CHANNEL_REPLY,	/* keyd: empty */
	KEYD_P_CONFIG_DONE,		/* parent: empty */
	KEYD_P_CONFIG_DONE_REPLY,	/* keyd: nservices(4) */
	KEYD_P_REQUEST_CHANNEL_DROPPED,	/* keyd: reason(4) */
};

/* Why keyd dropped the request channel: restart its sender. */
enum keyd_drop_reason {
	KEYD_DROP_MALFORMED = 1,	/* a malformed request */
	KEYD_DROP_NOT_READING,		/* its reply queue overflowed */
};
#define KEYD_DROPPED_LEN	4
/* Replies waiting for a requester that reads slowly; one more drops it. */
#define KEYD_REPLY_QUEUE	8

/* publishd <-> keyd: the work.  Replies echo the request's id. */
enum keyd_req_msg {
	KEYD_R_ERROR = 1,		/* code(4) detail(4) */
	KEYD_R_IDENTITY,		/* service(4) */
	KEYD_R_IDENTITY_REPLY,		/* key */
	KEYD_R_BEGIN,			/* service(4) tp(8) voting_interval_s(4) hsdir_interval_min(4) */
	KEYD_R_BEGIN_REPLY,		/* signing key, blinded key, tp_len_min(4), cert */
	KEYD_R_CERTIFY,			/* service(4) signing key, cert_type(1) exp_hours(4) certified key */
	KEYD_R_CERTIFY_REPLY,		/* cert */
	KEYD_R_REVISION,		/* service(4) signing key */
	KEYD_R_REVISION_REPLY,		/* revision(8) */
	KEYD_R_SIGN,			/* service(4) signing key, variant(4) body_len(4) body */
	KEYD_R_SIGN_REPLY,		/* signature(64) */
};

#define KEYD_KEY_LEN		32
#define KEYD_CERT_LEN		140
#define KEYD_SIG_LEN		64

#define KEYD_ERROR_LEN		8
#define KEYD_KEY_MSG_LEN	4
#define KEYD_IDENTITY_LEN	4
#define KEYD_BEGIN_LEN		(4 + 8 + 4 + 4)
#define KEYD_BEGIN_REPLY_LEN	(32 + 32 + 4 + 140)
#define KEYD_CERTIFY_LEN	(4 + 32 + 1 + 4 + 32)
#define KEYD_REVISION_LEN	(4 + 32)
#define KEYD_SIGN_HDR_LEN	(4 + 32 + 4 + 4)

/* Why keyd refused: the code of an ERROR reply.  Refusals are policy. */
enum keyd_error {
	KEYD_ERR_NONE = 0,
	KEYD_ERR_SERVICE,	/* no such service */
	KEYD_ERR_KEY_FILE,	/* key file unreadable/invalid; detail: masterkey_error */
	KEYD_ERR_PARAMS,	/* voting interval / hsdir_interval / length not tor's */
	KEYD_ERR_PERIOD,	/* time period not current, previous or next */
	KEYD_ERR_PERIOD_FULL,	/* all period slots live and signed for */
	KEYD_ERR_SIGNING_KEY,	/* no period begun with that signing key */
	KEYD_ERR_CERT_TYPE,	/* not an intro-point cert type */
	KEYD_ERR_EXPIRY,	/* cert expiry in the past or after the signing key's */
	KEYD_ERR_EXPIRED,	/* the signing key's own cert has expired */
	KEYD_ERR_CLOCK,		/* clock outside the revision counter's range */
	KEYD_ERR_BODY_SIZE,	/* body larger than KEYD_BODY_MAX */
	KEYD_ERR_BODY_FORMAT,	/* not a v3 outer descriptor as keyd expects; detail: line */
	KEYD_ERR_BODY_LIFETIME,	/* descriptor-lifetime not in 1..720 */
	KEYD_ERR_BODY_CERT,	/* not the cert keyd issued for this signing key */
	KEYD_ERR_REVISION,	/* revision counter below the floor, or not now's; detail */
	KEYD_ERR_INTERNAL,	/* keyd failed (RNG, allocation, a crypto check) */
	KEYD_ERR_MAX_,
};

#endif

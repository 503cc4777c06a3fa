/*
 * Parsers for the asynchronous events fetchd and publishd act on, as tor
 * 0.4.9 emits them (digest §9.6; control_events.c):
 *
 *   650 HS_DESC <Action> <Address> <AuthType> <HsDir> [<DescriptorID>]
 *       [REASON=<r>] [REPLICA=<n>] [HSDIR_INDEX=<hex>]
 *   650+HS_DESC_CONTENT <Address> <DescId> <HsDir>  / data block / 650 OK
 *   650 STATUS_CLIENT <Severity> <Action> [<Arguments>]
 *
 * The reply came from tor, so everything is checked: a malformed event is
 * rejected with a reason and never half-filled.
 */
#ifndef OB_TORCTL_EVENTS_H
#define OB_TORCTL_EVENTS_H

#include <stddef.h>

#include "torctl_parse.h"

#define TORCTL_ONION_LEN	56	/* v3 address without ".onion" */
#define TORCTL_BLINDED_B64_LEN	43	/* 32 bytes, unpadded base64 */
#define TORCTL_FPR_HEX_LEN	40
/* "$" fingerprint "~" or "=" nickname (at most 19 characters). */
#define TORCTL_LONGNAME_MAX	(1 + TORCTL_FPR_HEX_LEN + 1 + 19)

enum torctl_hs_desc_action {
	TORCTL_HS_DESC_REQUESTED,
	TORCTL_HS_DESC_UPLOAD,
	TORCTL_HS_DESC_RECEIVED,
	TORCTL_HS_DESC_UPLOADED,
	TORCTL_HS_DESC_IGNORE,
	TORCTL_HS_DESC_FAILED,
	TORCTL_HS_DESC_CREATED,
};

struct torctl_hs_desc {
	enum torctl_hs_desc_action action;
	char	address[TORCTL_ONION_LEN + 1];
	char	auth[16];		/* NO_AUTH, BASIC_AUTH, ..., UNKNOWN */
	/* The HSDir as tor named it, or "UNKNOWN". */
	char	hsdir[TORCTL_LONGNAME_MAX + 1];
	/* Its identity in upper-case hex; "" when tor said UNKNOWN. */
	char	hsdir_fpr[TORCTL_FPR_HEX_LEN + 1];
	/* Blinded key (the v3 "descriptor id"), base64; "" if absent. */
	char	blinded[TORCTL_BLINDED_B64_LEN + 1];
	char	reason[32];		/* REASON=, "" if absent */
	char	hsdir_index[64 + 1];	/* HSDIR_INDEX=, "" if absent */
};

struct torctl_hs_desc_content {
	char		 address[TORCTL_ONION_LEN + 1];
	char		 blinded[TORCTL_BLINDED_B64_LEN + 1];
	char		 hsdir[TORCTL_LONGNAME_MAX + 1];
	char		 hsdir_fpr[TORCTL_FPR_HEX_LEN + 1];
	/*
	 * Points into the reply (valid while it lives).  A failed fetch gives
	 * an empty block, reported as body_len 0.
	 */
	const char	*body;
	size_t		 body_len;
};

struct torctl_status_client {
	char	severity[8];		/* NOTICE, WARN, ERR */
	char	action[64];		/* CONSENSUS_ARRIVED, ... */
};

/*
 * The keyword of an event reply ("HS_DESC"), copied to out; -1 if r is
 * not an event or the keyword does not fit.
 */
int	torctl_event_keyword(const struct torctl_reply *r, char *out,
	    size_t outlen);
/* 0 on success; -1 with *why set to a static reason. */
int	torctl_parse_hs_desc(const struct torctl_reply *r,
	    struct torctl_hs_desc *ev, const char **why);
int	torctl_parse_hs_desc_content(const struct torctl_reply *r,
	    struct torctl_hs_desc_content *ev, const char **why);
int	torctl_parse_status_client(const struct torctl_reply *r,
	    struct torctl_status_client *ev, const char **why);
const char *torctl_hs_desc_action_str(enum torctl_hs_desc_action a);

#endif

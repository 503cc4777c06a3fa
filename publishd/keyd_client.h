/*
 * publishd's client of keyd (keyd_client.c): synchronous requests over
 * keyd's request channel (keyd/PROTOCOL.md).  Its own header, so that
 * what else drives keyd as publishd does (bench/) needs none of
 * publishd's state.
 */
#ifndef OB_PUBLISHD_KEYD_CLIENT_H
#define OB_PUBLISHD_KEYD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "hs_common.h"
#include "ipc.h"
#include "keyd_proto.h"
#include "torcert.h"

/*
 * A synchronous request/reply with keyd.  keyd is a local process that
 * only signs, so publishd waits for it (with a timeout) instead of
 * threading callbacks through the descriptor codec, whose certify and
 * sign callbacks are synchronous.
 */
struct keyd_client {
	/*
	 * Sends req and receives its reply into *reply (valid until the
	 * next call).  -1 on a transport failure (timeout, keyd gone).
	 */
	int		(*transact)(struct keyd_client *kc, struct ipc_builder *req,
			    struct ipc_msg *reply);
	struct ipc_channel ch;
	int		 connected;
	int		 timeout_ms;
	uint32_t	 next_id;
	uint8_t		 qbuf[IPC_HDR_LEN + KEYD_REQUEST_CAP];
	void		*arg;		/* for a test transport */
	/*
	 * For the metrics, as publishd saw them: CERTIFY and SIGN replies
	 * (signatures keyd made), and refusals by error code (of any
	 * request; KEYD_ERR_INTERNAL also counts no reply at all).
	 */
	uint64_t	 signatures;
	uint64_t	 refused[KEYD_ERR_MAX_];
};

/* keyd's error code or KEYD_ERR_INTERNAL for a transport failure. */
struct keyd_begin_reply {
	uint8_t		signing_key[32];
	uint8_t		blinded_key[32];
	uint32_t	tp_len_min;
	uint8_t		cert[TORCERT_LEN];
};

extern const struct ipc_type pd_keyd_types[];
extern const size_t pd_keyd_ntypes;

void	keyd_client_init(struct keyd_client *kc);
/* Takes the new channel fd (replacing an old one). */
int	keyd_client_set_fd(struct keyd_client *kc, int fd);
void	keyd_client_close(struct keyd_client *kc);
enum keyd_error kc_begin(struct keyd_client *kc, uint32_t service,
	    uint64_t tp, const struct hs_period_params *params,
	    uint64_t hsdir_interval_min, struct keyd_begin_reply *out);
enum keyd_error kc_certify(struct keyd_client *kc, uint32_t service,
	    const uint8_t signing_key[32], uint8_t cert_type,
	    uint32_t exp_hours, const uint8_t key[32],
	    uint8_t cert[TORCERT_LEN]);
enum keyd_error kc_revision(struct keyd_client *kc, uint32_t service,
	    const uint8_t signing_key[32], uint64_t *revision);
/* variant: which of the period's descriptors (plan.c), for keyd's audit line. */
enum keyd_error kc_sign(struct keyd_client *kc, uint32_t service,
	    const uint8_t signing_key[32], uint32_t variant,
	    const uint8_t *body, size_t len, uint8_t sig[64]);
const char *kc_strerror(enum keyd_error err);

#endif

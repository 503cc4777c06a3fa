/*
 * The peer message decoders publishd runs on what fetchd sends: any
 * payload, as each type.  Nothing may crash or read out of bounds, and
 * whatever is accepted must encode back to the very same bytes (the
 * format has exactly one encoding per message).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer_msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[IPC_HDR_LEN + PEER_CAP];

static void
check_same(const struct ipc_builder *b, const uint8_t *data, size_t size)
{
	if (b->len != IPC_HDR_LEN + size ||
	    memcmp(b->buf + IPC_HDR_LEN, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct peer_desc_msg d;
	struct peer_state_msg s;
	struct peer_liveness_msg l;
	struct peer_fetch_msg r;
	struct ipc_builder b;
	struct ipc_msg msg;

	if (size > PEER_CAP)
		return 0;
	memset(&msg, 0, sizeof(msg));
	msg.payload = data;
	msg.len = size;
	msg.fd = -1;
	msg.type = PEER_INSTANCE_DESC;
	if (peer_desc_parse(&msg, &d) == 0) {
		if (peer_desc_build(&b, out, sizeof(out), &d) == -1)
			abort();
		check_same(&b, data, size);
	}
	msg.type = PEER_INSTANCE_STATE;
	if (peer_state_parse(&msg, &s) == 0) {
		if (peer_state_build(&b, out, sizeof(out), &s) == -1)
			abort();
		check_same(&b, data, size);
	}
	msg.type = PEER_INSTANCE_LIVENESS;
	if (peer_liveness_parse(&msg, &l) == 0) {
		if (peer_liveness_build(&b, out, sizeof(out), &l) == -1)
			abort();
		check_same(&b, data, size);
	}
	msg.type = PEER_INSTANCE_FETCH;
	if (peer_fetch_parse(&msg, &r) == 0) {
		if (size != PEER_INSTANCE_FETCH_LEN ||
		    peer_fetch_build(&b, out, sizeof(out), &r) == -1)
			abort();
		check_same(&b, data, size);
	}
	return 0;
}

/*
 * The IPC reader: a datagram goes through a real SOCK_SEQPACKET socketpair
 * into ipc_recv(), and an accepted payload is read by a cursor driven by
 * the payload itself (each op byte picks the next get), so every get and
 * every bound is reached.  Nothing may crash, leak an fd, or read out of
 * bounds; an accepted message's length must agree with the datagram.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CAP	1024

static const struct ipc_type fuzz_types[] = {
	{ 1, "ONE", 0 },
	{ 2, "TWO", 0 },
	{ 3, "WITH_FD", IPC_TYPE_FD },
};

static void
walk_payload(const struct ipc_msg *m)
{
	struct ipc_cursor c;
	const uint8_t *ref;
	const char *s;
	uint64_t u64;
	uint32_t u32;
	uint8_t op, buf[256];

	ipc_cursor_init(&c, m);
	while (ipc_get_u8(&c, &op) == 0) {
		switch (op % 7) {
		case 0: (void)ipc_get_u8(&c, &op); break;
		case 1: (void)ipc_get_u32(&c, &u32); break;
		case 2: (void)ipc_get_u64(&c, &u64); break;
		case 3: (void)ipc_get_bytes(&c, buf, op % sizeof(buf)); break;
		case 4: (void)ipc_get_ref(&c, &ref, op); break;
		case 5: (void)ipc_get_string(&c, &s, op); break;
		default: (void)ipc_cursor_end(&c); break;
		}
	}
	if (ipc_cursor_end(&c) == 0)
		abort();	/* the loop only stops on a failed get */
	(void)ipc_open_fixed(&c, m, m->len);
	if (ipc_cursor_end(&c) != (m->len == 0 ? 0 : -1))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipc_channel rx;
	static int tx = -1;
	struct ipc_msg m;
	int sv[2];

	if (tx == -1) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1 ||
		    ipc_channel_init(&rx, sv[1], "fuzz", FUZZ_CAP, fuzz_types,
		    3) == -1)
			abort();
		tx = sv[0];
	}
	if (size == 0 || size > IPC_HDR_LEN + 2 * FUZZ_CAP)
		return 0;	/* an empty datagram reads as EOF */
	if (send(tx, data, size, 0) != (ssize_t)size)
		abort();
	if (ipc_recv(&rx, &m) != IPC_OK)
		return 0;
	if (m.len != size - IPC_HDR_LEN || m.fd != -1)
		abort();
	walk_payload(&m);
	return 0;
}

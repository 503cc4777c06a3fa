/*
 * Message framing for every channel between onionbalanced's processes.
 *
 * Channels are socketpair(AF_UNIX, SOCK_SEQPACKET): one message is one
 * datagram, so a message arrives whole or not at all and there is no stream
 * reassembly to get wrong.  A message is a 12-byte header and a payload:
 *
 *   type(4) | length(4) | id(4) | payload(length)
 *
 * all integers big-endian.  length counts the payload only and must equal
 * the datagram's size minus 12.  id is chosen by the sender of a request
 * and echoed by the reply, so a requester can match replies to requests.
 *
 * Each channel has a payload cap and a table of the message types it
 * carries, with their names (for logs) and whether the type carries one
 * file descriptor (SCM_RIGHTS).  ipc_recv() rejects a datagram that is
 * shorter than a header, longer than the cap, whose length field
 * disagrees, whose type is unknown, whose control data was truncated, or
 * that carries an fd on a type that has none (or lacks the fd its type
 * needs).  Any fd that came with a rejected message is closed.
 *
 * Inside is fatal: a channel connects two of our own processes, so a
 * malformed message means a bug or a compromised peer.  ipc_recv() reports
 * what was wrong (so tests and fuzzers can see it); daemons use
 * ipc_recv_or_die(), which logs and exits.
 *
 * Payloads are written with a builder (ipc_add_*) into a caller's buffer
 * and read with a cursor (ipc_get_*) that fails on short data; a reader
 * calls ipc_cursor_end() last, which fails if bytes are left over.  Fixed
 * payloads are opened with ipc_open_fixed(), which fails unless the payload
 * has exactly the expected size.  Strings travel NUL-terminated inside the
 * payload.
 *
 * This module needs no event loop: keyd uses it with poll(), and fetchd
 * and publishd can call the same functions from libevent callbacks.
 */
#ifndef OB_IPC_H
#define OB_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_HDR_LEN		12
/* No channel carries more; a channel's own cap is usually smaller. */
#define IPC_PAYLOAD_MAX		(256 * 1024)

/* The type carries exactly one file descriptor. */
#define IPC_TYPE_FD		0x01

struct ipc_type {
	uint32_t	 type;
	const char	*name;
	int		 flags;		/* IPC_TYPE_* */
};

struct ipc_channel {
	int			 fd;
	const char		*name;		/* "parent->keyd", for logs */
	size_t			 max_payload;
	const struct ipc_type	*types;
	size_t			 ntypes;
	uint8_t			*rbuf;		/* IPC_HDR_LEN + max_payload + 1 */
};

/* A received message; payload points into the channel's receive buffer. */
struct ipc_msg {
	uint32_t	 type;
	uint32_t	 id;
	const uint8_t	*payload;
	size_t		 len;
	int		 fd;		/* -1 unless the type carries one */
};

enum ipc_status {
	IPC_OK = 0,
	IPC_EOF,		/* the peer closed the channel */
	IPC_WOULDBLOCK,		/* non-blocking fd, nothing to read */
	IPC_ERR_SYS,		/* recvmsg failed; errno is set */
	IPC_ERR_SHORT,		/* shorter than a header */
	IPC_ERR_TOO_LONG,	/* payload above the channel's cap */
	IPC_ERR_LENGTH,		/* length field != payload size */
	IPC_ERR_TYPE,		/* type unknown on this channel */
	IPC_ERR_CTRUNC,		/* control data truncated */
	IPC_ERR_FD,		/* fd missing, unexpected, or malformed cmsg */
};

const char *ipc_strerror(enum ipc_status status);

/*
 * Sets up a channel on fd (which must be a SOCK_SEQPACKET socket) and
 * allocates its receive buffer.  max_payload <= IPC_PAYLOAD_MAX.  -1 on
 * allocation failure or a bad cap.
 */
int	ipc_channel_init(struct ipc_channel *ch, int fd, const char *name,
	    size_t max_payload, const struct ipc_type *types, size_t ntypes);
/* Frees the buffer and closes the fd (if >= 0). */
void	ipc_channel_close(struct ipc_channel *ch);
/* The type's name on this channel, or NULL if the type is unknown. */
const char *ipc_type_name(const struct ipc_channel *ch, uint32_t type);

/*
 * Receives one message.  IPC_OK fills msg (valid until the next receive on
 * ch); the caller owns msg->fd and must close it.  EINTR is retried.
 */
enum ipc_status ipc_recv(struct ipc_channel *ch, struct ipc_msg *msg);
/*
 * The same for daemons: returns 1 with a message, 0 at EOF, -1 if a
 * non-blocking fd has nothing; fatal on anything malformed (inside is
 * fatal).
 */
int	ipc_recv_or_die(struct ipc_channel *ch, struct ipc_msg *msg);

/*
 * Checks a whole datagram (header and payload) against the channel's cap
 * and type table, without any fd.  ipc_recv() uses it; so do tests and
 * fuzzers that have the bytes at hand.
 */
enum ipc_status ipc_parse(const struct ipc_channel *ch, struct ipc_msg *msg,
	    const uint8_t *buf, size_t len);

/* Builds one message into a caller's buffer of IPC_HDR_LEN + payload cap. */
struct ipc_builder {
	uint8_t		*buf;
	size_t		 size;
	size_t		 len;		/* header included */
	int		 overflow;	/* an append did not fit: unsendable */
};

void	ipc_builder_init(struct ipc_builder *b, void *buf, size_t size,
	    uint32_t type, uint32_t id);
void	ipc_add_u8(struct ipc_builder *b, uint8_t v);
void	ipc_add_u32(struct ipc_builder *b, uint32_t v);
void	ipc_add_u64(struct ipc_builder *b, uint64_t v);
void	ipc_add_bytes(struct ipc_builder *b, const void *p, size_t len);
/* The string and its NUL. */
void	ipc_add_string(struct ipc_builder *b, const char *s);
/*
 * Fills in the length field; -1 if an append overflowed.  The message is
 * then the first b->len bytes of b->buf.
 */
int	ipc_builder_finish(struct ipc_builder *b);
uint32_t ipc_builder_type(const struct ipc_builder *b);

/*
 * Sends a built message, with fd (or -1) as SCM_RIGHTS.  Checks the type
 * against the channel's table (known, fd iff the type carries one) and the
 * cap; -1 with errno set on failure (EAGAIN on a full non-blocking socket,
 * EINVAL for a message this channel cannot carry).
 */
int	ipc_send(struct ipc_channel *ch, struct ipc_builder *b, int fd);
/*
 * The same, but never blocks, on a blocking socket too (MSG_DONTWAIT):
 * -1 with EAGAIN when the peer's queue is full.  For keyd, whose filter
 * has no fcntl and which must not wait on a peer that stopped reading.
 */
int	ipc_send_nowait(struct ipc_channel *ch, struct ipc_builder *b, int fd);
/* The same as ipc_send; fatal on failure. */
void	ipc_send_or_die(struct ipc_channel *ch, struct ipc_builder *b, int fd);

/* A read cursor over a payload.  Every get fails (-1) once one has failed. */
struct ipc_cursor {
	const uint8_t	*p;
	size_t		 left;
	int		 failed;
};

void	ipc_cursor_init(struct ipc_cursor *c, const struct ipc_msg *msg);
/* Opens a fixed-size payload: -1 unless msg->len == len exactly. */
int	ipc_open_fixed(struct ipc_cursor *c, const struct ipc_msg *msg,
	    size_t len);
int	ipc_get_u8(struct ipc_cursor *c, uint8_t *v);
int	ipc_get_u32(struct ipc_cursor *c, uint32_t *v);
int	ipc_get_u64(struct ipc_cursor *c, uint64_t *v);
int	ipc_get_bytes(struct ipc_cursor *c, void *out, size_t len);
/* Points at the next len bytes of the payload without copying. */
int	ipc_get_ref(struct ipc_cursor *c, const uint8_t **p, size_t len);
/*
 * A NUL-terminated string of at most maxlen chars (NUL excluded), pointing
 * into the payload.  Fails if there is no NUL within the remaining bytes
 * or within maxlen + 1.
 */
int	ipc_get_string(struct ipc_cursor *c, const char **s, size_t maxlen);
/* 0 if every get succeeded and no byte is left, else -1. */
int	ipc_cursor_end(const struct ipc_cursor *c);

#endif

/*
 * Framing over SOCK_SEQPACKET socketpairs; see ipc.h for the wire format
 * and the rules.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "ipc.h"
#include "log.h"

/* Room for exactly one fd: a second one makes the kernel set MSG_CTRUNC. */
union ipc_cmsgbuf {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(sizeof(int))];
};

const char *
ipc_strerror(enum ipc_status status)
{
	switch (status) {
	case IPC_OK:
		return "ok";
	case IPC_EOF:
		return "channel closed";
	case IPC_WOULDBLOCK:
		return "no message ready";
	case IPC_ERR_SYS:
		return "receive failed";
	case IPC_ERR_SHORT:
		return "message shorter than its header";
	case IPC_ERR_TOO_LONG:
		return "message larger than the channel allows";
	case IPC_ERR_LENGTH:
		return "length field does not match the message size";
	case IPC_ERR_TYPE:
		return "message type unknown on this channel";
	case IPC_ERR_CTRUNC:
		return "control data truncated";
	case IPC_ERR_FD:
		return "file descriptor missing, unexpected or malformed";
	}
	return "unknown ipc status";
}

int
ipc_channel_init(struct ipc_channel *ch, int fd, const char *name,
    size_t max_payload, const struct ipc_type *types, size_t ntypes)
{
	memset(ch, 0, sizeof(*ch));
	ch->fd = -1;
	if (max_payload > IPC_PAYLOAD_MAX)
		return -1;
	/* One spare byte: a datagram that fills it is over the cap. */
	if ((ch->rbuf = malloc(IPC_HDR_LEN + max_payload + 1)) == NULL)
		return -1;
	ch->fd = fd;
	ch->name = name;
	ch->max_payload = max_payload;
	ch->types = types;
	ch->ntypes = ntypes;
	return 0;
}

void
ipc_channel_close(struct ipc_channel *ch)
{
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch->rbuf);
	ch->rbuf = NULL;
	ch->fd = -1;
}

static const struct ipc_type *
ipc_find_type(const struct ipc_channel *ch, uint32_t type)
{
	size_t i;

	for (i = 0; i < ch->ntypes; i++)
		if (ch->types[i].type == type)
			return &ch->types[i];
	return NULL;
}

const char *
ipc_type_name(const struct ipc_channel *ch, uint32_t type)
{
	const struct ipc_type *t = ipc_find_type(ch, type);

	return t != NULL ? t->name : NULL;
}

enum ipc_status
ipc_parse(const struct ipc_channel *ch, struct ipc_msg *msg,
    const uint8_t *buf, size_t len)
{
	uint32_t paylen;

	memset(msg, 0, sizeof(*msg));
	msg->fd = -1;
	if (len < IPC_HDR_LEN)
		return IPC_ERR_SHORT;
	if (len - IPC_HDR_LEN > ch->max_payload)
		return IPC_ERR_TOO_LONG;
	paylen = get_u32_be(buf + 4);
	if (paylen != len - IPC_HDR_LEN)
		return IPC_ERR_LENGTH;
	msg->type = get_u32_be(buf);
	if (ipc_find_type(ch, msg->type) == NULL)
		return IPC_ERR_TYPE;
	msg->id = get_u32_be(buf + 8);
	msg->payload = buf + IPC_HDR_LEN;
	msg->len = paylen;
	return IPC_OK;
}

/*
 * Takes the fds out of the control data.  Every fd the kernel installed is
 * either returned in *fdp or closed; the result says whether the control
 * data was exactly "at most one SCM_RIGHTS fd".
 */
static enum ipc_status
ipc_take_fds(struct msghdr *mh, int *fdp)
{
	struct cmsghdr *cm;
	enum ipc_status st = IPC_OK;
	size_t i, n;
	int fd;

	*fdp = -1;
	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0)) {
			st = IPC_ERR_FD;
			continue;
		}
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(fd));
			if (*fdp == -1)
				*fdp = fd;
			else {
				close(fd);
				st = IPC_ERR_FD;
			}
		}
	}
	if (st != IPC_OK && *fdp != -1) {
		close(*fdp);
		*fdp = -1;
	}
	return st;
}

static ssize_t
ipc_recvmsg(struct ipc_channel *ch, struct msghdr *mh, union ipc_cmsgbuf *cb,
    struct iovec *iov)
{
	ssize_t n;

	memset(mh, 0, sizeof(*mh));
	memset(cb, 0, sizeof(*cb));
	iov->iov_base = ch->rbuf;
	iov->iov_len = IPC_HDR_LEN + ch->max_payload + 1;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	mh->msg_control = cb->buf;
	/* Not CMSG_SPACE: its padding would leave room for a second fd. */
	mh->msg_controllen = CMSG_LEN(sizeof(int));
	do {
		n = recvmsg(ch->fd, mh, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	return n;
}

/* After the datagram itself checked out: is the fd what the type wants? */
static enum ipc_status
ipc_check_fd(const struct ipc_channel *ch, const struct ipc_msg *msg, int fd)
{
	const struct ipc_type *t = ipc_find_type(ch, msg->type);
	int wants_fd = (t->flags & IPC_TYPE_FD) != 0;

	if (wants_fd != (fd != -1))
		return IPC_ERR_FD;
	return IPC_OK;
}

enum ipc_status
ipc_recv(struct ipc_channel *ch, struct ipc_msg *msg)
{
	struct msghdr mh;
	union ipc_cmsgbuf cb;
	struct iovec iov;
	enum ipc_status st, fdst;
	ssize_t n;
	int fd;

	memset(msg, 0, sizeof(*msg));
	msg->fd = -1;
	if ((n = ipc_recvmsg(ch, &mh, &cb, &iov)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return IPC_WOULDBLOCK;
		return IPC_ERR_SYS;
	}
	/*
	 * On SOCK_SEQPACKET an empty datagram also reads as 0.  None of our
	 * messages is empty (the header alone is 12 bytes), so 0 is EOF.
	 */
	if (n == 0 && mh.msg_controllen == 0)
		return IPC_EOF;
	fdst = ipc_take_fds(&mh, &fd);
	if (mh.msg_flags & MSG_TRUNC)
		st = IPC_ERR_TOO_LONG;
	else if (mh.msg_flags & MSG_CTRUNC)
		st = IPC_ERR_CTRUNC;
	else if ((st = ipc_parse(ch, msg, ch->rbuf, (size_t)n)) == IPC_OK) {
		if (fdst != IPC_OK)
			st = fdst;
		else
			st = ipc_check_fd(ch, msg, fd);
	}
	if (st != IPC_OK) {
		if (fd != -1)
			close(fd);
		msg->fd = -1;
		return st;
	}
	msg->fd = fd;
	return IPC_OK;
}

int
ipc_recv_or_die(struct ipc_channel *ch, struct ipc_msg *msg)
{
	enum ipc_status st = ipc_recv(ch, msg);

	switch (st) {
	case IPC_OK:
		log_debug("%s: received %s (id %u, %zu bytes)", ch->name,
		    ipc_type_name(ch, msg->type), msg->id, msg->len);
		return 1;
	case IPC_EOF:
		return 0;
	case IPC_WOULDBLOCK:
		return -1;
	case IPC_ERR_SYS:
		fatal("%s: recvmsg", ch->name);
	case IPC_ERR_SHORT:
	case IPC_ERR_TOO_LONG:
	case IPC_ERR_LENGTH:
	case IPC_ERR_TYPE:
	case IPC_ERR_CTRUNC:
	case IPC_ERR_FD:
		break;
	}
	fatalx("%s: bad message: %s", ch->name, ipc_strerror(st));
}

void
ipc_builder_init(struct ipc_builder *b, void *buf, size_t size,
    uint32_t type, uint32_t id)
{
	b->buf = buf;
	b->size = size;
	b->len = 0;
	b->overflow = 0;
	if (size < IPC_HDR_LEN) {
		b->overflow = 1;
		return;
	}
	put_u32_be(b->buf, type);
	put_u32_be(b->buf + 4, 0);
	put_u32_be(b->buf + 8, id);
	b->len = IPC_HDR_LEN;
}

void
ipc_add_bytes(struct ipc_builder *b, const void *p, size_t len)
{
	if (b->overflow || len > b->size - b->len) {
		b->overflow = 1;
		return;
	}
	if (len > 0)
		memcpy(b->buf + b->len, p, len);
	b->len += len;
}

void
ipc_add_u8(struct ipc_builder *b, uint8_t v)
{
	ipc_add_bytes(b, &v, 1);
}

void
ipc_add_u32(struct ipc_builder *b, uint32_t v)
{
	uint8_t be[4];

	put_u32_be(be, v);
	ipc_add_bytes(b, be, sizeof(be));
}

void
ipc_add_u64(struct ipc_builder *b, uint64_t v)
{
	uint8_t be[8];

	put_u64_be(be, v);
	ipc_add_bytes(b, be, sizeof(be));
}

void
ipc_add_string(struct ipc_builder *b, const char *s)
{
	ipc_add_bytes(b, s, strlen(s) + 1);
}

int
ipc_builder_finish(struct ipc_builder *b)
{
	if (b->overflow || b->len - IPC_HDR_LEN > UINT32_MAX)
		return -1;
	put_u32_be(b->buf + 4, (uint32_t)(b->len - IPC_HDR_LEN));
	return 0;
}

uint32_t
ipc_builder_type(const struct ipc_builder *b)
{
	return get_u32_be(b->buf);
}

/* The sender holds itself to the rules the receiver enforces. */
static int
ipc_send_allowed(const struct ipc_channel *ch, const struct ipc_builder *b,
    int fd)
{
	const struct ipc_type *t;

	if (b->overflow || b->len - IPC_HDR_LEN > ch->max_payload)
		return 0;
	if ((t = ipc_find_type(ch, ipc_builder_type(b))) == NULL)
		return 0;
	return ((t->flags & IPC_TYPE_FD) != 0) == (fd >= 0);
}

static int
ipc_send_flags(struct ipc_channel *ch, struct ipc_builder *b, int fd,
    int flags)
{
	struct msghdr mh;
	union ipc_cmsgbuf cb;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t n;

	if (ipc_builder_finish(b) == -1 || !ipc_send_allowed(ch, b, fd)) {
		errno = EINVAL;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	memset(&cb, 0, sizeof(cb));
	iov.iov_base = b->buf;
	iov.iov_len = b->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		mh.msg_control = cb.buf;
		mh.msg_controllen = sizeof(cb.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do {
		n = sendmsg(ch->fd, &mh, MSG_NOSIGNAL | flags);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != b->len) {	/* cannot happen on SEQPACKET */
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
ipc_send(struct ipc_channel *ch, struct ipc_builder *b, int fd)
{
	return ipc_send_flags(ch, b, fd, 0);
}

int
ipc_send_nowait(struct ipc_channel *ch, struct ipc_builder *b, int fd)
{
	return ipc_send_flags(ch, b, fd, MSG_DONTWAIT);
}

void
ipc_send_or_die(struct ipc_channel *ch, struct ipc_builder *b, int fd)
{
	uint32_t type = ipc_builder_type(b);

	if (ipc_send(ch, b, fd) == -1)
		fatal("%s: send %s", ch->name,
		    ipc_type_name(ch, type) ? ipc_type_name(ch, type) : "?");
}

void
ipc_cursor_init(struct ipc_cursor *c, const struct ipc_msg *msg)
{
	c->p = msg->payload;
	c->left = msg->len;
	c->failed = 0;
}

int
ipc_open_fixed(struct ipc_cursor *c, const struct ipc_msg *msg, size_t len)
{
	ipc_cursor_init(c, msg);
	if (msg->len != len) {
		c->failed = 1;
		return -1;
	}
	return 0;
}

int
ipc_get_ref(struct ipc_cursor *c, const uint8_t **p, size_t len)
{
	if (c->failed || len > c->left) {
		c->failed = 1;
		return -1;
	}
	*p = c->p;
	c->p += len;
	c->left -= len;
	return 0;
}

int
ipc_get_bytes(struct ipc_cursor *c, void *out, size_t len)
{
	const uint8_t *p;

	if (ipc_get_ref(c, &p, len) == -1)
		return -1;
	if (len > 0)
		memcpy(out, p, len);
	return 0;
}

int
ipc_get_u8(struct ipc_cursor *c, uint8_t *v)
{
	return ipc_get_bytes(c, v, 1);
}

int
ipc_get_u32(struct ipc_cursor *c, uint32_t *v)
{
	const uint8_t *p;

	if (ipc_get_ref(c, &p, 4) == -1)
		return -1;
	*v = get_u32_be(p);
	return 0;
}

int
ipc_get_u64(struct ipc_cursor *c, uint64_t *v)
{
	const uint8_t *p;

	if (ipc_get_ref(c, &p, 8) == -1)
		return -1;
	*v = get_u64_be(p);
	return 0;
}

int
ipc_get_string(struct ipc_cursor *c, const char **s, size_t maxlen)
{
	const uint8_t *nul, *str;
	size_t span;

	if (c->failed)
		return -1;
	span = c->left;
	if (maxlen < span)
		span = maxlen + 1;
	if (span == 0 || (nul = memchr(c->p, '\0', span)) == NULL) {
		c->failed = 1;
		return -1;
	}
	if (ipc_get_ref(c, &str, (size_t)(nul - c->p) + 1) == -1)
		return -1;
	*s = (const char *)str;
	return 0;
}

int
ipc_cursor_end(const struct ipc_cursor *c)
{
	return (c->failed || c->left != 0) ? -1 : 0;
}

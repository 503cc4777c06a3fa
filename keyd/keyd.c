/*
 * keyd: the only process that holds the frontends' master keys.
 *
 * Started by the parent with its end of the parent channel at fd 3 (or
 * --parent-fd N).  The parent sends KEY (with the key file's fd) for each
 * service, then CONFIG_DONE; REQUEST_CHANNEL (keyd's end of the publishd
 * channel) comes after that, and again for every new publishd, and is
 * taken at any time (PROTOCOL.md, "Channels").  keyd reads each key file
 * into secure memory and closes it, enters its sandbox at CONFIG_DONE, and
 * only then reads requests.  A malformed request, or a requester that does
 * not read its replies, costs the requester its channel, never keyd (the
 * parent restarts the requester).  EOF from the parent ends keyd.
 *
 * The loop is a plain poll(): two fds, no timers, nothing else.  Replies
 * on the request channel never block (a bounded queue, POLLOUT).
 */
#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "digest.h"
#include "keyd.h"
#include "log.h"
#include "sandbox.h"

/*
 * Replies to the request channel that the requester has not taken yet:
 * sent without blocking, queued while its socket is full, and the channel
 * is dropped when one more would not fit, so a requester that stops
 * reading loses its channel and never stalls keyd.
 */
struct reply_queue {
	uint8_t			 buf[KEYD_REPLY_QUEUE][IPC_HDR_LEN +
				    KEYD_REPLY_MAX];
	size_t			 len[KEYD_REPLY_QUEUE];
	size_t			 head;
	size_t			 count;
};

struct keyd_proc {
	struct keyd		*kd;
	struct ipc_channel	 parent;
	struct ipc_channel	 req;		/* fd -1 while there is none */
	uint32_t		 req_id;	/* its REQUEST_CHANNEL's id */
	struct reply_queue	 q;
	uint8_t			 rbuf[IPC_HDR_LEN + KEYD_REPLY_MAX];
};

static void
reply_parent(struct keyd_proc *kp, const struct ipc_msg *msg,
    enum keyd_parent_msg type, const void *payload, size_t len)
{
	struct ipc_builder b;

	ipc_builder_init(&b, kp->rbuf, sizeof(kp->rbuf), (uint32_t)type,
	    msg->id);
	ipc_add_bytes(&b, payload, len);
	ipc_send_or_die(&kp->parent, &b, -1);
}

static void
reply_parent_error(struct keyd_proc *kp, const struct ipc_msg *msg,
    enum keyd_error err, uint32_t detail)
{
	struct ipc_builder b;

	ipc_builder_init(&b, kp->rbuf, sizeof(kp->rbuf), KEYD_P_ERROR, msg->id);
	ipc_add_u32(&b, (uint32_t)err);
	ipc_add_u32(&b, detail);
	ipc_send_or_die(&kp->parent, &b, -1);
}

static void
parent_key(struct keyd_proc *kp, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	enum keyd_error err;
	uint32_t service, detail;

	if (kp->kd->config_done)
		fatalx("parent: KEY after CONFIG_DONE");
	if (ipc_open_fixed(&c, msg, KEYD_KEY_MSG_LEN) == -1 ||
	    ipc_get_u32(&c, &service) == -1 || ipc_cursor_end(&c) == -1)
		fatalx("parent: malformed KEY");
	err = keyd_add_service_fd(kp->kd, service, msg->fd, &detail);
	if (err != KEYD_ERR_NONE) {
		log_warnx("service %u: %s%s%s", service, keyd_strerror(err),
		    err == KEYD_ERR_KEY_FILE ? ": " : "",
		    err == KEYD_ERR_KEY_FILE ?
		    masterkey_strerror((enum masterkey_error)detail) : "");
		reply_parent_error(kp, msg, err, detail);
		return;
	}
	reply_parent(kp, msg, KEYD_P_KEY_REPLY,
	    kp->kd->services[service].mk->pub, ED25519_PUBKEY_LEN);
}

static void
request_channel_close(struct keyd_proc *kp)
{
	ipc_channel_close(&kp->req);
	kp->req.fd = -1;
	kp->q.head = kp->q.count = 0;
}

/*
 * The requester broke the protocol or stopped reading: it is not trusted
 * any more, but keyd is not harmed, so only its channel goes.  The parent
 * restarts the requester (counting that against it, not keyd) and hands
 * keyd the new one's channel.  Floors and periods stay.
 */
static void
request_channel_drop(struct keyd_proc *kp, enum keyd_drop_reason reason,
    const char *why)
{
	struct ipc_builder b;

	log_warnx("audit: dropped the request channel: %s", why);
	request_channel_close(kp);
	/* The id says which channel: the parent may have sent a newer one. */
	ipc_builder_init(&b, kp->rbuf, sizeof(kp->rbuf),
	    KEYD_P_REQUEST_CHANNEL_DROPPED, kp->req_id);
	ipc_add_u32(&b, (uint32_t)reason);
	ipc_send_or_die(&kp->parent, &b, -1);
}

static void
parent_request_channel(struct keyd_proc *kp, const struct ipc_msg *msg)
{
	if (msg->len != 0)
		fatalx("parent: malformed REQUEST_CHANNEL");
	request_channel_close(kp);
	kp->req_id = msg->id;
	if (ipc_channel_init(&kp->req, msg->fd, "publishd", KEYD_REQUEST_CAP,
	    keyd_request_types, keyd_request_ntypes) == -1)
		fatal("request channel");
	reply_parent(kp, msg, KEYD_P_REQUEST_CHANNEL_REPLY, NULL, 0);
}

static void
parent_config_done(struct keyd_proc *kp, const struct ipc_msg *msg)
{
	uint8_t n[4];

	if (msg->len != 0 || kp->kd->config_done)
		fatalx("parent: malformed or repeated CONFIG_DONE");
	if (kp->kd->nservices == 0) {
		reply_parent_error(kp, msg, KEYD_ERR_SERVICE, 0);
		return;
	}
	kp->kd->config_done = 1;
	/* Keys read, their fds closed: nothing but the channels from now. */
	sandbox_enter_child(SANDBOX_KEYD);
	put_u32_be(n, kp->kd->nservices);
	reply_parent(kp, msg, KEYD_P_CONFIG_DONE_REPLY, n, sizeof(n));
	log_info("ready: %u service(s)", kp->kd->nservices);
}

/* Returns 0 when the parent has gone. */
static int
parent_dispatch(struct keyd_proc *kp)
{
	struct ipc_msg msg;

	if (ipc_recv_or_die(&kp->parent, &msg) != 1)
		return 0;
	switch ((enum keyd_parent_msg)msg.type) {
	case KEYD_P_KEY:
		parent_key(kp, &msg);
		break;
	case KEYD_P_REQUEST_CHANNEL:
		parent_request_channel(kp, &msg);
		break;
	case KEYD_P_CONFIG_DONE:
		parent_config_done(kp, &msg);
		break;
	case KEYD_P_ERROR:
	case KEYD_P_KEY_REPLY:
	case KEYD_P_REQUEST_CHANNEL_REPLY:
	case KEYD_P_CONFIG_DONE_REPLY:
	case KEYD_P_REQUEST_CHANNEL_DROPPED:
		fatalx("parent: sent %s, which only keyd sends",
		    ipc_type_name(&kp->parent, msg.type));
	}
	return 1;
}

/* Sends what the queue holds, oldest first, until the socket is full. */
static void
reply_flush(struct keyd_proc *kp)
{
	struct reply_queue *q = &kp->q;
	struct ipc_builder b;

	while (q->count > 0 && kp->req.fd != -1) {
		b = (struct ipc_builder){ q->buf[q->head], sizeof(q->buf[0]),
		    q->len[q->head], 0 };
		if (ipc_send_nowait(&kp->req, &b, -1) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;		/* POLLOUT will tell */
			log_warn("request channel: send");
			request_channel_close(kp);
			return;
		}
		q->head = (q->head + 1) % KEYD_REPLY_QUEUE;
		q->count--;
	}
}

/*
 * Receives one request: 1 with msg, 0 when there is none (the channel may
 * be gone: EOF closes it, a malformed datagram drops it).
 */
static int
request_recv(struct keyd_proc *kp, struct ipc_msg *msg)
{
	enum ipc_status st;

	switch ((st = ipc_recv(&kp->req, msg))) {
	case IPC_OK:
		return 1;
	case IPC_WOULDBLOCK:
		return 0;
	case IPC_EOF:
		/* Or an empty datagram, which reads the same (common/crypto/ipc.c). */
		log_info("request channel closed; waiting for a new one");
		request_channel_close(kp);
		return 0;
	case IPC_ERR_SYS:
	case IPC_ERR_SHORT:
	case IPC_ERR_TOO_LONG:
	case IPC_ERR_LENGTH:
	case IPC_ERR_TYPE:
	case IPC_ERR_CTRUNC:
	case IPC_ERR_FD:
		break;
	}
	request_channel_drop(kp, KEYD_DROP_MALFORMED, ipc_strerror(st));
	return 0;
}

static void
request_dispatch(struct keyd_proc *kp)
{
	struct reply_queue *q = &kp->q;
	struct ipc_builder reply;
	struct ipc_msg msg;
	size_t slot;
	char why[128];

	if (!request_recv(kp, &msg))
		return;
	if (q->count == KEYD_REPLY_QUEUE) {
		request_channel_drop(kp, KEYD_DROP_NOT_READING,
		    "the requester does not read its replies");
		return;
	}
	slot = (q->head + q->count) % KEYD_REPLY_QUEUE;
	ipc_builder_init(&reply, q->buf[slot], sizeof(q->buf[slot]), 0, 0);
	if (keyd_handle_request(kp->kd, &msg, &reply) == -1) {
		snprintf(why, sizeof(why), "malformed %s (type %u, %zu bytes)",
		    ipc_type_name(&kp->req, msg.type), msg.type, msg.len);
		request_channel_drop(kp, KEYD_DROP_MALFORMED, why);
		return;
	}
	q->len[slot] = reply.len;
	q->count++;
	reply_flush(kp);
}

static void
serve(struct keyd_proc *kp)
{
	struct pollfd pfd[2];
	nfds_t n;

	for (;;) {
		pfd[0].fd = kp->parent.fd;
		pfd[0].events = POLLIN;
		n = 1;
		/* No work before the configuration is complete. */
		if (kp->kd->config_done && kp->req.fd != -1) {
			pfd[1].fd = kp->req.fd;
			pfd[1].events = POLLIN | (kp->q.count > 0 ? POLLOUT : 0);
			n = 2;
		}
		if (poll(pfd, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		/*
		 * Requests first: a parent message may replace the request
		 * channel, and pfd[1] would then describe the old one.
		 */
		if (n == 2 && (pfd[1].revents & POLLOUT))
			reply_flush(kp);
		if (n == 2 && kp->req.fd == pfd[1].fd &&
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			request_dispatch(kp);
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			if (!parent_dispatch(kp))
				return;
	}
}

int
main(int argc, char *argv[])
{
	static struct keyd_proc kp;
	int parent_fd;

	parent_fd = sandbox_child_setup(argc, argv, "keyd", KEYD_PARENT_FD);
	if ((kp.kd = keyd_new(NULL)) == NULL)
		fatal("keyd_new");
	if (ipc_channel_init(&kp.parent, parent_fd, "parent", KEYD_PARENT_CAP,
	    keyd_parent_types, keyd_parent_ntypes) == -1 ||
	    ipc_channel_init(&kp.req, -1, "publishd", 0, keyd_request_types,
	    keyd_request_ntypes) == -1)
		fatal("channels");
	serve(&kp);
	log_info("parent went away, exiting");
	ipc_channel_close(&kp.req);
	ipc_channel_close(&kp.parent);
	keyd_free(kp.kd);
	sandbox_child_exit();
}

/*
 * keyd: the only process that holds the frontends' master keys.
 *
 * Started by the parent with its end of the parent channel at fd 3 (or
 * --parent-fd N).  The parent sends, in this order:
 *   KEY (with the key file's fd) for each service, REQUEST_CHANNEL (with
 *   keyd's end of the publishd channel), CONFIG_DONE.
 * keyd reads each key file into secure memory and closes it.  Only after
 * CONFIG_DONE does it read requests.  A later REQUEST_CHANNEL replaces the
 * request channel (publishd was restarted).  EOF from the parent ends keyd.
 *
 * The loop is a plain blocking poll(): two fds, no timers, nothing else.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
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

struct keyd_proc {
	struct keyd		*kd;
	struct ipc_channel	 parent;
	struct ipc_channel	 req;		/* fd -1 while there is none */
	uint8_t			 rbuf[IPC_HDR_LEN + KEYD_REPLY_MAX];
};

static void
usage(void)
{
	fprintf(stderr, "usage: keyd [-d] [--log-level LEVEL] "
	    "[--parent-fd N]\n"
	    "keyd is started by onionbalanced, not by hand.\n");
	exit(2);
}

static int
parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0 || v > INT_MAX)
		fatalx("bad fd number: %s", s);
	return (int)v;
}

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
parent_request_channel(struct keyd_proc *kp, const struct ipc_msg *msg)
{
	if (msg->len != 0)
		fatalx("parent: malformed REQUEST_CHANNEL");
	ipc_channel_close(&kp->req);
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
		fatalx("parent: sent %s, which only keyd sends",
		    ipc_type_name(&kp->parent, msg.type));
	}
	return 1;
}

static void
request_dispatch(struct keyd_proc *kp)
{
	struct ipc_builder reply;
	struct ipc_msg msg;

	switch (ipc_recv_or_die(&kp->req, &msg)) {
	case 0:
		log_info("request channel closed; waiting for a new one");
		ipc_channel_close(&kp->req);
		return;
	case 1:
		break;
	default:
		return;
	}
	ipc_builder_init(&reply, kp->rbuf, sizeof(kp->rbuf), 0, 0);
	if (keyd_handle_request(kp->kd, &msg, &reply) == -1)
		fatalx("publishd: malformed %s",
		    ipc_type_name(&kp->req, msg.type));
	ipc_send_or_die(&kp->req, &reply, -1);
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
			pfd[1].events = POLLIN;
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
		if (n == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			request_dispatch(kp);
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			if (!parent_dispatch(kp))
				return;
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "parent-fd", required_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	static struct keyd_proc kp;
	int ch, parent_fd = KEYD_PARENT_FD;

	log_init("keyd", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "dp:v:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'v':	/* the parent's level, till the config's */
			if (log_set_level_name(optarg) == -1)
				fatalx("bad log level: %s", optarg);
			break;
		case 'p':
			parent_fd = parse_fd(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* Children die with their parent (style.md 9). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("prctl");
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
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
	/*
	 * _exit: nothing registered with atexit (OpenSSL's cleanup, a
	 * sanitizer's exit hooks) may run under the seccomp filter.
	 */
	_exit(0);
}

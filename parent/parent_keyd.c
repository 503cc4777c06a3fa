/*
 * Starting keyd (keyd/PROTOCOL.md, parent channel): one KEY per service
 * with the key file's fd, which the parent opens and never reads, then
 * CONFIG_DONE.  keyd answers each KEY with the frontend's public key, which
 * is how the parent learns the onion addresses it logs and the identities
 * it checks the instances against.  keyd answers at once (it reads a file
 * of at most 4 KiB), so this handshake is synchronous, with a deadline.
 *
 * The request channel to publishd is not part of this: it is a link
 * (parent_children.c), handed over with REQUEST_CHANNEL afterwards, which
 * keyd accepts at any time.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "digest.h"
#include "keyd_proto.h"
#include "log.h"
#include "masterkey.h"
#include "onion_address.h"
#include "parent.h"
#include "sandbox_parent.h"

#define KEYD_REPLY_TIMEOUT_MS	10000

/* The parent's view of keyd's parent channel (keyd_proto.h). */
static const struct ipc_type keyd_channel_types[] = {
	{ KEYD_P_ERROR, "ERROR", 0 },
	{ KEYD_P_KEY, "KEY", IPC_TYPE_FD },
	{ KEYD_P_KEY_REPLY, "KEY_REPLY", 0 },
	{ KEYD_P_REQUEST_CHANNEL, "REQUEST_CHANNEL", IPC_TYPE_FD },
	{ KEYD_P_REQUEST_CHANNEL_REPLY, "REQUEST_CHANNEL_REPLY", 0 },
	{ KEYD_P_CONFIG_DONE, "CONFIG_DONE", 0 },
	{ KEYD_P_CONFIG_DONE_REPLY, "CONFIG_DONE_REPLY", 0 },
	{ KEYD_P_REQUEST_CHANNEL_DROPPED, "REQUEST_CHANNEL_DROPPED", 0 },
};

/* Waits for keyd's reply; -1 with err on timeout, EOF or a bad message. */
static int
recv_reply(struct child *c, struct ipc_msg *msg, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = c->ch.fd, .events = POLLIN };
	enum ipc_status st;
	int n;

	while ((n = poll(&pfd, 1, KEYD_REPLY_TIMEOUT_MS)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0) {
		snprintf(err, errlen, "keyd did not answer: %s",
		    n == 0 ? "timeout" : strerror(errno));
		return -1;
	}
	if ((st = ipc_recv(&c->ch, msg)) != IPC_OK) {
		snprintf(err, errlen, "keyd: %s", st == IPC_EOF ?
		    "exited during its start (see its log above)" :
		    ipc_strerror(st));
		return -1;
	}
	return 0;
}

static int
send_empty(struct child *c, uint32_t type, int fd, const void *payload,
    size_t len, char *err, size_t errlen)
{
	struct ipc_builder b;

	ipc_builder_init(&b, c->buf, sizeof(c->buf), type, 0);
	ipc_add_bytes(&b, payload, len);
	if (ipc_builder_finish(&b) == -1 || ipc_send(&c->ch, &b, fd) == -1) {
		snprintf(err, errlen, "keyd: sending %s: %s",
		    ipc_type_name(&c->ch, type), strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The identity keyd found in service i's key file.  At the first start
 * (and on a reload) it is checked and recorded; when keyd restarts after a
 * crash it must be the one recorded, since fetchd and publishd use it.
 */
static int
take_identity(struct ob_config *cfg, size_t i, const uint8_t key[32],
    char *err, size_t errlen)
{
	struct ob_config_service *s = &cfg->services[i];
	char addr[ONION_ADDRESS_LEN + 1];

	if (s->has_identity) {
		if (memcmp(s->identity, key, 32) != 0) {
			snprintf(err, errlen, "%s: the key changed since it "
			    "was loaded; reload (SIGHUP) to use the new one",
			    s->key_path);
			return -1;
		}
		return 0;
	}
	if (ob_config_set_identity(cfg, i, key, err, errlen) == -1)
		return -1;
	onion_address_from_pubkey(addr, key);
	log_info("service %zu: frontend %s.onion (key %s)", i, addr,
	    s->key_path);
	return 0;
}

/*
 * Sends service i's key file as keyd's service slot and takes the identity
 * keyd answers.  -1: a problem of service i (err says it); -2: keyd's
 * channel failed.
 */
static int
send_key_as(struct child *c, struct ob_config *cfg, size_t i, uint32_t slot,
    char *err, size_t errlen)
{
	const char *path = cfg->services[i].key_path;
	uint8_t n[4];
	struct ipc_msg msg;
	int fd, rv;

	if ((fd = parent_key_open(cfg, i, err, errlen)) == -1)
		return -1;
	put_u32_be(n, slot);
	rv = send_empty(c, KEYD_P_KEY, fd, n, sizeof(n), err, errlen);
	close(fd);
	if (rv == -1 || recv_reply(c, &msg, err, errlen) == -1)
		return -2;
	if (msg.type == KEYD_P_KEY_REPLY && msg.len == KEYD_KEY_LEN)
		return take_identity(cfg, i, msg.payload, err, errlen);
	if (msg.type == KEYD_P_ERROR && msg.len == KEYD_ERROR_LEN &&
	    get_u32_be(msg.payload) == KEYD_ERR_KEY_FILE) {
		snprintf(err, errlen, "services[%zu].key: %s: %s", i, path,
		    masterkey_strerror((enum masterkey_error)
		    get_u32_be(msg.payload + 4)));
		return -1;
	}
	snprintf(err, errlen, "keyd: unexpected %s (%zu bytes) to KEY",
	    ipc_type_name(&c->ch, msg.type), msg.len);
	return -2;
}

static int
send_key(struct child *c, struct ob_config *cfg, size_t i, char *err,
    size_t errlen)
{
	return send_key_as(c, cfg, i, (uint32_t)i, err, errlen) < 0 ? -1 : 0;
}

static int
config_done(struct child *c, size_t nservices, char *err, size_t errlen)
{
	struct ipc_msg msg;

	if (send_empty(c, KEYD_P_CONFIG_DONE, -1, NULL, 0, err, errlen) == -1 ||
	    recv_reply(c, &msg, err, errlen) == -1)
		return -1;
	if (msg.type != KEYD_P_CONFIG_DONE_REPLY || msg.len != 4 ||
	    get_u32_be(msg.payload) != nservices) {
		snprintf(err, errlen, "keyd: unexpected %s to CONFIG_DONE",
		    ipc_type_name(&c->ch, msg.type));
		return -1;
	}
	return 0;
}

static int
keyd_spawn(struct parent *p, struct child *c, char *err, size_t errlen)
{
	char path[4096], argv0[] = "keyd", env[SANDBOX_ENV_MAX];
	char opt[] = "--log-level", level[16];
	char *argv[] = { argv0, opt, level, NULL };
	int sv[2];

	if (sandbox_child_env(p->cfg, SANDBOX_KEYD, p->chroot_dir, env,
	    sizeof(env), err, errlen) == -1)
		return -1;
	/* Our level from its first line on ("-v error": errors only). */
	snprintf(level, sizeof(level), "%s", log_level_name(log_get_level()));

	if (child_binary_path(p, ROLE_KEYD, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "keyd: %s: %s", path, strerror(errno));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	c->pid = spawn_child_env(path, argv, sv[1], env);
	close(sv[1]);
	if (c->pid == -1 || ipc_channel_init(&c->ch, sv[0], "keyd",
	    KEYD_PARENT_CAP, keyd_channel_types, sizeof(keyd_channel_types) /
	    sizeof(keyd_channel_types[0])) == -1) {
		snprintf(err, errlen, "keyd: %s", strerror(errno));
		if (c->pid != -1)
			kill(c->pid, SIGKILL);
		close(sv[0]);
		return -1;
	}
	c->started_ms = monotonic_ms();
	c->state = CHILD_STARTING;
	return 0;
}

/*
 * Spawns keyd into c and gives it cfg's keys; on success c is running and
 * cfg has every identity.  On failure keyd is ended (c->pid stays set
 * for the reaper) and err says why.  No event is set up here: a
 * keyd started for a reload or for --check may be thrown away.
 */
int
keyd_start(struct parent *p, struct child *c, struct ob_config *cfg,
    char *err, size_t errlen)
{
	if (keyd_spawn(p, c, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < cfg->nservices; i++)
		if (send_key(c, cfg, i, err, errlen) == -1)
			goto fail;
	if (config_done(c, cfg->nservices, err, errlen) == -1)
		goto fail;
	c->state = CHILD_RUNNING;
	log_info("keyd (pid %ld) has %zu key(s)", (long)c->pid,
	    cfg->nservices);
	return 0;
fail:
	/* A keyd that hangs would not notice EOF: end it either way. */
	ipc_channel_close(&c->ch);
	kill(c->pid, SIGTERM);
	c->state = CHILD_DOWN;
	return -1;
}

/*
 * keyd's end of the link to publishd.  The message's id is the link's
 * generation (a new socketpair for each new publishd or keyd), which keyd
 * echoes if it drops the channel: so a drop that reaches us after that
 * publishd was replaced ends no innocent successor.
 */
int
keyd_give_request_channel(struct child *c, int fd, uint32_t gen)
{
	struct ipc_builder b;

	ipc_builder_init(&b, c->buf, sizeof(c->buf), KEYD_P_REQUEST_CHANNEL,
	    gen);
	if (ipc_builder_finish(&b) == -1 || ipc_send(&c->ch, &b, fd) == -1) {
		log_warn("keyd: sending REQUEST_CHANNEL");
		return -1;
	}
	return 0;
}

/*
 * keyd dropped its request channel: publishd sent a malformed request or
 * stopped reading its replies.  publishd is the one not to be trusted; it
 * is ended, the reaper counts that against publishd (not keyd, which goes
 * on with its periods and floors), and its restart gives keyd a new
 * channel (links_give).
 */
static void
keyd_dropped_channel(struct child *c, uint32_t id, uint32_t reason)
{
	struct child *pd = &c->parent->children[ROLE_PUBLISHD];

	c->parent->keyd_channel_drops++;
	log_warnx("keyd dropped its request channel: %s",
	    reason == KEYD_DROP_MALFORMED ? "a malformed request" :
	    reason == KEYD_DROP_NOT_READING ? "replies not read" :
	    "unknown reason");
	if (id != c->parent->links[LINK_KEYD_PUBLISHD].gen) {
		log_info("that channel was an earlier publishd's");
		return;
	}
	child_lost(pd, reason == KEYD_DROP_NOT_READING ?
	    "did not read keyd's replies" : "sent keyd a malformed request");
}

/*
 * Every key of cfg, each read by a short-lived keyd of its own (keyd takes
 * its services in order and stops at the first bad one), so that one run
 * names every bad key and every instance that is its own frontend.  Logs
 * each problem as an error (or hands it to report); returns how many.
 */
static void
report_error(void *arg, const char *msg)
{
	log_errorx("%s", msg);
}

int
keyd_check_keys(struct parent *p, struct ob_config *cfg)
{
	return keyd_check_keys_report(p, cfg, report_error, NULL);
}

int
keyd_check_keys_report(struct parent *p, struct ob_config *cfg,
    void (*report)(void *, const char *), void *arg)
{
	struct child c;
	char err[1024];
	int problems = 0, r, status;

	for (size_t i = 0; i < cfg->nservices; i++) {
		memset(&c, 0, sizeof(c));
		c.name = "keyd";
		c.role = ROLE_KEYD;
		c.pid = -1;
		c.ch.fd = -1;
		if (keyd_spawn(p, &c, err, sizeof(err)) == -1) {
			report(arg, err);
			return problems + 1;
		}
		if ((r = send_key_as(&c, cfg, i, 0, err, sizeof(err))) < 0) {
			report(arg, err);
			problems++;
		}
		ipc_channel_close(&c.ch);	/* keyd exits on EOF */
		if (r == -2)
			kill(c.pid, SIGTERM);
		while (waitpid(c.pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	return problems;
}

/*
 * After the handshake keyd only answers REQUEST_CHANNEL, reports a dropped
 * one, or goes away.
 */
void
keyd_read_cb(int fd, short what, void *arg)
{
	struct child *c = arg;
	struct ipc_msg msg;
	enum ipc_status st;

	switch ((st = ipc_recv(&c->ch, &msg))) {
	case IPC_OK:
		break;
	case IPC_WOULDBLOCK:
		return;
	case IPC_EOF:
		child_eof(c);
		return;
	case IPC_ERR_SYS:
	case IPC_ERR_SHORT:
	case IPC_ERR_TOO_LONG:
	case IPC_ERR_LENGTH:
	case IPC_ERR_TYPE:
	case IPC_ERR_CTRUNC:
	case IPC_ERR_FD:
		log_warnx("keyd: %s", ipc_strerror(st));
		child_lost(c, "sent a malformed message");
		return;
	}
	if (msg.type == KEYD_P_REQUEST_CHANNEL_REPLY && msg.len == 0)
		log_debug("keyd took its new request channel");
	else if (msg.type == KEYD_P_REQUEST_CHANNEL_DROPPED &&
	    msg.len == KEYD_DROPPED_LEN)
		keyd_dropped_channel(c, msg.id, get_u32_be(msg.payload));
	else if (msg.type == KEYD_P_ERROR && msg.len == KEYD_ERROR_LEN)
		log_warnx("keyd refused: error %u", get_u32_be(msg.payload));
	else
		child_lost(c, "sent an unexpected message");
}

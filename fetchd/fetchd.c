/*
 * fetchd: fetches every backend instance's descriptor through tor's
 * control port, verifies and decrypts it, and sends publishd the
 * introduction points.  The logic is in fetchd_*.c (see fetchd.h); this
 * file is the process: the parent channel (fd 3, daemon_proto.h), the
 * peer channel to publishd, the control connection, and the timer.
 *
 * It opens nothing itself: every fd comes from the parent, which is what
 * will let the sandbox forbid open and connect.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "config.h"
#include "fetchd.h"
#include "fetchd_socks.h"
#include "log.h"
#include "sandbox.h"
#include "torctl.h"

#define CONSENSUS_KEY	"dir/status-vote/current/consensus-microdesc"
/* The relays' ed25519 ids, for the HSDir ring (fetchd_hsdirs.c). */
#define MD_KEY		"md/all"

static const struct ipc_type parent_types[] = {
	{ PC_CONTROL_FD, "CONTROL_FD", IPC_TYPE_FD },
	{ PC_CONTROL_REQUEST, "CONTROL_REQUEST", 0 },
	{ PC_PEER_FD, "PEER_FD", IPC_TYPE_FD },
	{ PC_KEYD_FD, "KEYD_FD", IPC_TYPE_FD },
	{ PC_STATUS_FD, "STATUS_FD", IPC_TYPE_FD },
	{ PC_CONFIG_BEGIN, "CONFIG_BEGIN", 0 },
	{ PC_SERVICE, "SERVICE", 0 },
	{ PC_INSTANCE, "INSTANCE", 0 },
	{ PC_CONFIG_END, "CONFIG_END", 0 },
	{ PC_READY, "READY", 0 },
	{ PC_PROBE, "PROBE", 0 },
	{ PC_SOCKS_REQUEST, "SOCKS_REQUEST", 0 },
	{ PC_SOCKS_FD, "SOCKS_FD", IPC_TYPE_FD },
	{ PC_SOCKS_FAILED, "SOCKS_FAILED", 0 },
	{ PC_METRICS_FD, "METRICS_FD", IPC_TYPE_FD },
	{ PC_COUNTERS, "COUNTERS", 0 },
	{ PC_CLIENT_KEY, "CLIENT_KEY", 0 },
};

struct fetchd_proc {
	struct event_base	*base;
	struct fetchd		*fd;
	struct ipc_channel	 parent;
	struct event		*parent_ev;
	struct ipc_channel	 peer;		/* fd -1 while there is none */
	struct event		*peer_ev;
	struct torctl		*ctl;
	struct socks_probes	*probes;
	struct event		*timer;
	bool			 consensus_pending;	/* GETINFO in flight */
	bool			 consensus_again;	/* asked meanwhile */
	bool			 said_no_consensus;
	uint8_t			 buf[IPC_HDR_LEN + PC_CAP];
};

static void	rearm(struct fetchd_proc *);

static void
send_parent(struct fetchd_proc *fp, enum parent_child_msg type,
    const uint32_t *u32)
{
	struct ipc_builder b;

	ipc_builder_init(&b, fp->buf, sizeof(fp->buf), type, 0);
	if (u32 != NULL)
		ipc_add_u32(&b, *u32);
	ipc_send_or_die(&fp->parent, &b, -1);
}

/* --- the fetchd_ops the logic calls ------------------------------------ */

/* What an HSFETCH reply needs to find its instance again. */
struct hsfetch_arg {
	struct fetchd_proc	*fp;
	char			 address[ONION_ADDRESS_LEN + 1];
};

static void
hsfetch_done(struct torctl *ctl, enum torctl_status status,
    const struct torctl_reply *reply, void *arg)
{
	struct hsfetch_arg *ha = arg;
	struct fetchd_proc *fp = ha->fp;

	/* A lost connection ends every fetch in fetchd_disconnected(). */
	if (status == TORCTL_REJECTED)
		fetchd_fetch_refused(fp->fd, ha->address,
		    torctl_reply_message(reply), time(NULL));
	else if (status == TORCTL_TIMEOUT)
		fetchd_fetch_refused(fp->fd, ha->address,
		    "HSFETCH not answered", time(NULL));
	free(ha);
	if (status != TORCTL_CLOSED)
		rearm(fp);
}

static int
op_hsfetch(void *arg, const char *address, const char *server)
{
	struct fetchd_proc *fp = arg;
	struct hsfetch_arg *ha;

	if (fp->ctl == NULL || !torctl_is_ready(fp->ctl))
		return -1;
	if ((ha = calloc(1, sizeof(*ha))) == NULL)
		fatal("hsfetch");
	ha->fp = fp;
	snprintf(ha->address, sizeof(ha->address), "%s", address);
	if (torctl_hsfetch(fp->ctl, address, server != NULL ? &server : NULL,
	    server != NULL ? 1 : 0, hsfetch_done, ha) == -1) {
		free(ha);
		return -1;
	}
	return 0;
}

static int
op_signal_active(void *arg)
{
	struct fetchd_proc *fp = arg;

	if (fp->ctl == NULL || !torctl_is_ready(fp->ctl))
		return -1;
	return torctl_signal(fp->ctl, "ACTIVE", NULL, NULL);
}

/* tor's answer never holds the key; its refusal is worth a warning. */
static char client_auth_add_cmd[] = "ONION_CLIENT_AUTH_ADD";
static char client_auth_remove_cmd[] = "ONION_CLIENT_AUTH_REMOVE";

static void
client_auth_done(struct torctl *ctl, enum torctl_status status,
    const struct torctl_reply *reply, void *arg)
{
	const char *command = arg;

	if (status == TORCTL_REJECTED)
		log_warnx("tor refused %s: %s", command,
		    torctl_reply_message(reply));
}

static int
op_client_auth_add(void *arg, const char *address, const uint8_t key[32])
{
	struct fetchd_proc *fp = arg;

	if (fp->ctl == NULL || !torctl_is_ready(fp->ctl))
		return -1;
	return torctl_onion_client_auth_add(fp->ctl, address, key,
	    client_auth_done, client_auth_add_cmd);
}

static int
op_client_auth_remove(void *arg, const char *address)
{
	struct fetchd_proc *fp = arg;

	if (fp->ctl == NULL || !torctl_is_ready(fp->ctl))
		return -1;
	return torctl_onion_client_auth_remove(fp->ctl, address,
	    client_auth_done, client_auth_remove_cmd);
}

static void
consensus_done(struct torctl *ctl, enum torctl_status status,
    const struct torctl_reply *reply, void *arg)
{
	struct fetchd_proc *fp = arg;
	struct fetchd_consensus c;
	const char *text, *why, *md;
	size_t len = 0, md_len = 0;

	fp->consensus_pending = false;
	if (status == TORCTL_CLOSED || status == TORCTL_TIMEOUT)
		return;
	if (status != TORCTL_OK ||
	    (text = torctl_reply_getinfo(reply, CONSENSUS_KEY, &len)) == NULL) {
		if (!fp->said_no_consensus)
			log_warnx("tor has no consensus yet (%s); waiting "
			    "for one", status == TORCTL_OK ? "no value" :
			    torctl_reply_message(reply));
		fp->said_no_consensus = true;
	} else if (fetchd_consensus_parse(&c, text, len, &why) == -1) {
		log_warnx("cannot read tor's consensus: %s", why);
	} else {
		fp->said_no_consensus = false;
		if ((md = torctl_reply_getinfo(reply, MD_KEY, &md_len)) == NULL)
			md_len = 0;
		fetchd_set_hsdirs(fp->fd, text, len, md != NULL ? md : "",
		    md_len, time(NULL));
		fetchd_set_consensus(fp->fd, &c, time(NULL));
	}
	if (fp->consensus_again) {
		fp->consensus_again = false;
		fp->fd->ops.consensus_refresh(fp);
	}
	rearm(fp);
}

/*
 * tor has no GETINFO key for the consensus params, so the document is
 * read once per new consensus (README.md, "Consensus").
 */
static void
op_consensus_refresh(void *arg)
{
	struct fetchd_proc *fp = arg;
	static const char *const keys[] = { CONSENSUS_KEY, MD_KEY };

	if (fp->consensus_pending) {
		fp->consensus_again = true;
		return;
	}
	if (fp->ctl == NULL || torctl_getinfo(fp->ctl, keys, 2, consensus_done,
	    fp) == -1)
		return;
	fp->consensus_pending = true;
}

static int
op_probe_start(void *arg, uint32_t id, const char *address,
    const struct fetchd_probe_config *cfg, uint32_t isolation)
{
	struct fetchd_proc *fp = arg;

	return socks_probe_start(fp->probes, id, address, cfg, isolation);
}

/* The socks_probe_ops: the parent opens each probe's connection. */
static void
probe_request_fd(void *arg, uint32_t id)
{
	send_parent(arg, PC_SOCKS_REQUEST, &id);
}

static void
probe_done(void *arg, uint32_t id, enum probe_outcome outcome,
    const char *detail)
{
	struct fetchd_proc *fp = arg;

	fetchd_probe_result(fp->fd, id, outcome, detail, time(NULL));
	rearm(fp);
}

static void
op_send_peer(void *arg, struct ipc_builder *b)
{
	struct fetchd_proc *fp = arg;

	if (fp->peer.fd == -1)
		return;		/* everything is re-sent on the next channel */
	if (ipc_send(&fp->peer, b, -1) == -1) {
		log_warn("publishd channel: send failed; waiting for a new one");
		event_del(fp->peer_ev);
		ipc_channel_close(&fp->peer);
	}
}

/* --- the tor control connection ------------------------------------------ */

/* Whether tor has circuits when we connect (STATUS_CLIENT says later). */
static void
circuits_done(struct torctl *ctl, enum torctl_status status,
    const struct torctl_reply *reply, void *arg)
{
	struct fetchd_proc *fp = arg;
	const char *v;
	size_t len;

	if (status != TORCTL_OK || (v = torctl_reply_getinfo(reply,
	    "status/circuit-established", &len)) == NULL)
		return;
	fetchd_set_circuits(fp->fd, len == 1 && v[0] == '1', time(NULL));
	rearm(fp);
}

static void
setevents_done(struct torctl *ctl, enum torctl_status status,
    const struct torctl_reply *reply, void *arg)
{
	struct fetchd_proc *fp = arg;
	static const char *const keys[] = { "status/circuit-established" };

	if (status != TORCTL_OK) {
		/* No events, nothing to do: a new connection, later. */
		if (status == TORCTL_REJECTED) {
			log_errorx("tor refused SETEVENTS: %s",
			    torctl_reply_message(reply));
			torctl_drop(ctl, "tor refused SETEVENTS");
		}
		return;
	}
	fetchd_connected(fp->fd, time(NULL));
	op_consensus_refresh(fp);
	if (torctl_getinfo(ctl, keys, 1, circuits_done, fp) == -1)
		log_warnx("cannot ask tor whether it has circuits");
	rearm(fp);
}

static void
on_event(struct torctl *ctl, const struct torctl_reply *ev, void *arg)
{
	struct fetchd_proc *fp = arg;

	fetchd_handle_event(fp->fd, ev, time(NULL));
	rearm(fp);
}

static void
on_conn(struct torctl *ctl, bool connected, const char *reason, void *arg)
{
	struct fetchd_proc *fp = arg;
	/* SIGNAL: a NEWNYM takes tor's client keys (fetchd_clientauth.c). */
	static const char *const events[] = {
		"HS_DESC", "HS_DESC_CONTENT", "STATUS_CLIENT", "CIRC", "SIGNAL",
	};

	if (connected) {
		log_info("tor control connection ready");
		if (torctl_setevents(ctl, events, sizeof(events) /
		    sizeof(events[0]), setevents_done, fp) == -1)
			log_warnx("cannot send SETEVENTS");
		return;
	}
	log_warnx("tor control connection lost (%s); asking for a new one",
	    reason != NULL ? reason : "closed");
	fetchd_disconnected(fp->fd);
	fp->consensus_pending = false;
	fp->consensus_again = false;
	send_parent(fp, PC_CONTROL_REQUEST, NULL);
}

/*
 * A new control connection: the old one (if any) goes, whatever its
 * state; the parent already authenticated this one.
 */
static void
parent_control_fd(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	struct torctl_config cfg;

	if (msg->len != 0)
		fatalx("parent: malformed CONTROL_FD");
	if (fp->ctl != NULL) {
		torctl_free(fp->ctl);
		fp->ctl = NULL;
		fetchd_disconnected(fp->fd);
		fp->consensus_pending = false;
		fp->consensus_again = false;
	}
	memset(&cfg, 0, sizeof(cfg));	/* no address: no reconnect */
	cfg.on_conn = on_conn;
	cfg.arg = fp;
	if ((fp->ctl = torctl_new(fp->base, &cfg)) == NULL ||
	    torctl_subscribe(fp->ctl, "HS_DESC", on_event, fp) == -1 ||
	    torctl_subscribe(fp->ctl, "HS_DESC_CONTENT", on_event, fp) == -1 ||
	    torctl_subscribe(fp->ctl, "STATUS_CLIENT", on_event, fp) == -1 ||
	    torctl_subscribe(fp->ctl, "CIRC", on_event, fp) == -1 ||
	    torctl_subscribe(fp->ctl, "SIGNAL", on_event, fp) == -1)
		fatal("control connection");
	if (torctl_adopt_fd(fp->ctl, msg->fd, true) == -1) {
		log_warnx("cannot use the control connection; asking again");
		close(msg->fd);
		send_parent(fp, PC_CONTROL_REQUEST, NULL);
	}
}

static void	peer_read(evutil_socket_t, short, void *);

static void
parent_peer_fd(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	if (msg->len != 0)
		fatalx("parent: malformed PEER_FD");
	if (fp->peer_ev != NULL)
		event_free(fp->peer_ev);
	fp->peer_ev = NULL;
	ipc_channel_close(&fp->peer);
	if (ipc_channel_init(&fp->peer, msg->fd, "publishd", PEER_CAP,
	    peer_msg_types, peer_msg_ntypes) == -1)
		fatal("peer channel");
	if ((fp->peer_ev = event_new(fp->base, msg->fd, EV_READ | EV_PERSIST,
	    peer_read, fp)) == NULL || event_add(fp->peer_ev, NULL) == -1)
		fatal("peer channel event");
	log_debug("new publishd channel");
	/* A new publishd knows nothing yet. */
	fetchd_resync(fp->fd);
}

static void
parent_config_begin(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	uint32_t gen, level, interval, nservices;

	if (ipc_open_fixed(&c, msg, PC_CONFIG_BEGIN_LEN) == -1 ||
	    ipc_get_u32(&c, &gen) == -1 || ipc_get_u32(&c, &level) == -1 ||
	    ipc_get_u32(&c, &interval) == -1 ||
	    ipc_get_u32(&c, &nservices) == -1 || ipc_cursor_end(&c) == -1 ||
	    level > LOG_LEVEL_DEBUG ||
	    fetchd_config_begin(fp->fd, gen, interval, nservices) == -1)
		fatalx("parent: malformed or unexpected CONFIG_BEGIN");
	log_set_level((enum log_level)level);
}

static void
parent_service(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	uint8_t key[32];
	uint32_t service, n;

	if (ipc_open_fixed(&c, msg, PC_SERVICE_LEN) == -1 ||
	    ipc_get_u32(&c, &service) == -1 ||
	    ipc_get_bytes(&c, key, sizeof(key)) == -1 ||
	    ipc_get_u32(&c, &n) == -1 || ipc_cursor_end(&c) == -1 ||
	    fetchd_config_service(fp->fd, service, key, n) == -1)
		fatalx("parent: malformed or unexpected SERVICE");
}

static void
parent_instance(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	const char *name;
	uint8_t key[32];
	uint32_t service, instance;

	ipc_cursor_init(&c, msg);
	if (ipc_get_u32(&c, &service) == -1 ||
	    ipc_get_u32(&c, &instance) == -1 ||
	    ipc_get_bytes(&c, key, sizeof(key)) == -1 ||
	    ipc_get_string(&c, &name, PROTO_NAME_MAX) == -1 ||
	    ipc_cursor_end(&c) == -1 ||
	    fetchd_config_instance(fp->fd, service, instance, key, name) == -1)
		fatalx("parent: malformed or unexpected INSTANCE");
}

static void
parent_probe(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	struct fetchd_probe_config cfg;
	struct ipc_cursor c;
	const char *path;
	uint32_t service, instance, port, check;

	memset(&cfg, 0, sizeof(cfg));
	ipc_cursor_init(&c, msg);
	if (ipc_get_u32(&c, &service) == -1 ||
	    ipc_get_u32(&c, &instance) == -1 ||
	    ipc_get_u32(&c, &cfg.interval_s) == -1 ||
	    ipc_get_u32(&c, &cfg.timeout_s) == -1 ||
	    ipc_get_u32(&c, &port) == -1 || port > 65535 ||
	    ipc_get_u32(&c, &check) == -1 || check > PROBE_CHECK_HTTP ||
	    ipc_get_string(&c, &path, PROBE_PATH_MAX) == -1 ||
	    ipc_cursor_end(&c) == -1)
		fatalx("parent: malformed PROBE");
	cfg.port = (uint16_t)port;
	cfg.check = (enum probe_check)check;
	memcpy(cfg.path, path, strlen(path) + 1);
	if (fetchd_config_probe(fp->fd, service, instance, &cfg) == -1)
		fatalx("parent: unexpected PROBE");
}

/* The key is copied into fetchd's instance; the channel's copy is wiped. */
static void
parent_client_key(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	uint8_t key[32];
	uint32_t service, instance;
	int rv = -1;

	if (ipc_open_fixed(&c, msg, PC_CLIENT_KEY_LEN) == 0 &&
	    ipc_get_u32(&c, &service) == 0 &&
	    ipc_get_u32(&c, &instance) == 0 &&
	    ipc_get_bytes(&c, key, sizeof(key)) == 0 &&
	    ipc_cursor_end(&c) == 0)
		rv = fetchd_config_client_key(fp->fd, service, instance, key);
	sodium_memzero(key, sizeof(key));
	/* payload points into the channel's own receive buffer */
	sodium_memzero((uint8_t *)(uintptr_t)msg->payload, msg->len);
	if (rv == -1)
		fatalx("parent: malformed or unexpected CLIENT_KEY");
}

static void
parent_socks_fd(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	uint32_t id;

	if (ipc_open_fixed(&c, msg, PC_SOCKS_FD_LEN) == -1 ||
	    ipc_get_u32(&c, &id) == -1 || ipc_cursor_end(&c) == -1)
		fatalx("parent: malformed SOCKS_FD");
	socks_probe_fd(fp->probes, id, msg->fd, NULL);
}

static void
parent_socks_failed(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	const char *why;
	uint32_t id;

	ipc_cursor_init(&c, msg);
	if (ipc_get_u32(&c, &id) == -1 ||
	    ipc_get_string(&c, &why, PC_SOCKS_REASON_MAX) == -1 ||
	    ipc_cursor_end(&c) == -1)
		fatalx("parent: malformed SOCKS_FAILED");
	socks_probe_fd(fp->probes, id, -1, why);
}

static void
parent_config_end(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	uint32_t gen;

	if (ipc_open_fixed(&c, msg, PC_CONFIG_END_LEN) == -1 ||
	    ipc_get_u32(&c, &gen) == -1 || ipc_cursor_end(&c) == -1 ||
	    fetchd_config_end(fp->fd, gen, time(NULL)) == -1)
		fatalx("parent: malformed or unexpected CONFIG_END");
	send_parent(fp, PC_READY, &gen);
}

static void
parent_dispatch(struct fetchd_proc *fp, const struct ipc_msg *msg)
{
	switch ((enum parent_child_msg)msg->type) {
	case PC_CONTROL_FD:
		parent_control_fd(fp, msg);
		break;
	case PC_PEER_FD:
		parent_peer_fd(fp, msg);
		break;
	case PC_CONFIG_BEGIN:
		parent_config_begin(fp, msg);
		break;
	case PC_SERVICE:
		parent_service(fp, msg);
		break;
	case PC_INSTANCE:
		parent_instance(fp, msg);
		break;
	case PC_CONFIG_END:
		parent_config_end(fp, msg);
		break;
	case PC_PROBE:
		parent_probe(fp, msg);
		break;
	case PC_CLIENT_KEY:
		parent_client_key(fp, msg);
		break;
	case PC_SOCKS_FD:
		parent_socks_fd(fp, msg);
		break;
	case PC_SOCKS_FAILED:
		parent_socks_failed(fp, msg);
		break;
	case PC_KEYD_FD:
	case PC_STATUS_FD:
	case PC_METRICS_FD:
	case PC_COUNTERS:
	case PC_PUBLISH:
	case PC_AUTH_CLIENT:
	case PC_CONTROL_REQUEST:
	case PC_SOCKS_REQUEST:
	case PC_READY:
		fatalx("parent: sent %s, which fetchd never gets",
		    ipc_type_name(&fp->parent, msg->type));
	}
}

static void
parent_read(evutil_socket_t sock, short what, void *arg)
{
	struct fetchd_proc *fp = arg;
	struct ipc_msg msg;

	switch (ipc_recv_or_die(&fp->parent, &msg)) {
	case 0:
		log_info("parent went away, exiting");
		event_base_loopbreak(fp->base);
		return;
	case 1:
		parent_dispatch(fp, &msg);
		rearm(fp);
		break;
	default:
		break;
	}
}

static void
peer_read(evutil_socket_t sock, short what, void *arg)
{
	struct fetchd_proc *fp = arg;
	struct ipc_msg msg;

	switch (ipc_recv_or_die(&fp->peer, &msg)) {
	case 0:
		log_info("publishd channel closed; waiting for a new one");
		event_free(fp->peer_ev);
		fp->peer_ev = NULL;
		ipc_channel_close(&fp->peer);
		return;
	case 1:
		break;
	default:
		return;
	}
	switch ((enum peer_msg)msg.type) {
	case PEER_RESYNC:
		if (msg.len != 0)
			fatalx("publishd: malformed RESYNC");
		fetchd_resync(fp->fd);
		break;
	case PEER_INSTANCE_DESC:
	case PEER_INSTANCE_STATE:
	case PEER_INSTANCE_LIVENESS:
	case PEER_INSTANCE_FETCH:
		fatalx("publishd: sent %s, which only fetchd sends",
		    ipc_type_name(&fp->peer, msg.type));
	}
}

/* --- timer ---------------------------------------------------------------- */

static void
timer_fired(evutil_socket_t sock, short what, void *arg)
{
	rearm(arg);
}

/* Runs what is due and sleeps until the next thing is. */
static void
rearm(struct fetchd_proc *fp)
{
	struct timeval tv;
	time_t now = time(NULL), next;

	fetchd_tick(fp->fd, now);
	next = fetchd_next_wakeup(fp->fd, now);
	tv.tv_sec = next > now ? next - now : 1;
	tv.tv_usec = 0;
	evtimer_add(fp->timer, &tv);
}

static void
setup(struct fetchd_proc *fp, int parent_fd)
{
	struct fetchd_ops ops = {
		.hsfetch = op_hsfetch,
		.signal_active = op_signal_active,
		.consensus_refresh = op_consensus_refresh,
		.send_peer = op_send_peer,
		.probe_start = op_probe_start,
		.client_auth_add = op_client_auth_add,
		.client_auth_remove = op_client_auth_remove,
		.arg = fp,
	};
	struct socks_probe_ops pops = {
		.request_fd = probe_request_fd,
		.done = probe_done,
		.arg = fp,
	};

	if ((fp->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((fp->fd = fetchd_new(&ops)) == NULL)
		fatal("fetchd_new");
	if (ipc_channel_init(&fp->parent, parent_fd, "parent", PC_CAP,
	    parent_types, sizeof(parent_types) / sizeof(parent_types[0])) ==
	    -1 || ipc_channel_init(&fp->peer, -1, "publishd", 0,
	    peer_msg_types, peer_msg_ntypes) == -1)
		fatal("channels");
	if ((fp->parent_ev = event_new(fp->base, parent_fd,
	    EV_READ | EV_PERSIST, parent_read, fp)) == NULL ||
	    event_add(fp->parent_ev, NULL) == -1 ||
	    (fp->timer = evtimer_new(fp->base, timer_fired, fp)) == NULL)
		fatalx("events");
	if ((fp->probes = socks_probes_new(fp->base, &pops)) == NULL)
		fatal("probes");
}

static void
teardown(struct fetchd_proc *fp)
{
	torctl_free(fp->ctl);
	socks_probes_free(fp->probes);
	if (fp->peer_ev != NULL)
		event_free(fp->peer_ev);
	event_free(fp->parent_ev);
	event_free(fp->timer);
	ipc_channel_close(&fp->peer);
	ipc_channel_close(&fp->parent);
	fetchd_free(fp->fd);
	event_base_free(fp->base);
}

int
main(int argc, char *argv[])
{
	static struct fetchd_proc fp;
	int parent_fd;

	parent_fd = sandbox_child_setup(argc, argv, "fetchd", CHILD_PARENT_FD);
	setup(&fp, parent_fd);
	sandbox_enter_child(SANDBOX_FETCHD);
	event_base_dispatch(fp.base);
	teardown(&fp);
	sandbox_child_exit();
}

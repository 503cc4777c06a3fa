/*
 * publishd: builds the frontend's superdescriptors, has keyd sign them,
 * and uploads them to the responsible HSDirs.  The logic is the library of
 * publishd.h; this file is the process: the parent channel (fd 3,
 * daemon_proto.h), the peer channel from fetchd, keyd's request channel,
 * the status socket, the control connection (control.c) and the timer.
 *
 * It opens nothing itself: every fd comes from the parent, which is what
 * will let the sandbox forbid open and connect.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "log.h"
#include "peer_msg.h"
#include "proc.h"
#include "sandbox.h"

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
	{ PC_METRICS_FD, "METRICS_FD", IPC_TYPE_FD },
	{ PC_COUNTERS, "COUNTERS", 0 },
	{ PC_PUBLISH, "PUBLISH", 0 },
	{ PC_AUTH_CLIENT, "AUTH_CLIENT", 0 },
};

/* --- fetchd -------------------------------------------------------------- */

static void
peer_close(struct pd_proc *p)
{
	if (p->peer_ev != NULL)
		event_free(p->peer_ev);
	p->peer_ev = NULL;
	ipc_channel_close(&p->peer);
}

static void
peer_read(evutil_socket_t sock, short what, void *arg)
{
	struct pd_proc *p = arg;
	struct ipc_msg msg;

	switch (ipc_recv_or_die(&p->peer, &msg)) {
	case 0:
		log_info("fetchd channel closed; waiting for a new one");
		peer_close(p);
		return;
	case 1:
		pd_peer_message(&p->pd, &msg, time(NULL));
		proc_rearm(p);
		break;
	default:
		break;
	}
}

/*
 * Ask fetchd for everything it knows.  Only once we are configured: fetchd
 * answers at once, and an answer that arrives before our configuration
 * names instances we do not have yet and would be dropped, leaving every
 * instance unknown until its next fetch.  So this is sent when both a
 * channel and a configuration exist, and again after each configuration.
 */
static void
peer_resync(struct pd_proc *p)
{
	uint8_t buf[IPC_HDR_LEN];
	struct ipc_builder b;

	if (p->peer_ev == NULL || p->pd.generation == 0)
		return;
	ipc_builder_init(&b, buf, sizeof(buf), PEER_RESYNC, 0);
	if (ipc_send(&p->peer, &b, -1) == -1) {
		log_warn("fetchd channel: RESYNC");
		peer_close(p);
	}
}

/* A new fetchd channel: ask for everything it knows. */
static void
parent_peer_fd(struct pd_proc *p, const struct ipc_msg *msg)
{
	if (msg->len != 0)
		fatalx("parent: malformed PEER_FD");
	peer_close(p);
	if (ipc_channel_init(&p->peer, msg->fd, "fetchd", PEER_CAP,
	    peer_msg_types, peer_msg_ntypes) == -1)
		fatal("peer channel");
	if ((p->peer_ev = event_new(p->base, msg->fd, EV_READ | EV_PERSIST,
	    peer_read, p)) == NULL || event_add(p->peer_ev, NULL) == -1)
		fatal("peer channel event");
	peer_resync(p);
}

/* --- configuration ------------------------------------------------------- */

static void
cfg_drop(struct pd_proc *p)
{
	size_t i;

	for (i = 0; i < p->cfg_n && p->cfg != NULL; i++)
	{
		free(p->cfg[i].instances);
		free(p->cfg[i].auth_clients);
	}
	free(p->cfg);
	p->cfg = NULL;
	p->cfg_n = 0;
	p->cfg_pending = false;
}

static void
parent_config_begin(struct pd_proc *p, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	uint32_t gen, level, interval, nservices;

	if (ipc_open_fixed(&c, msg, PC_CONFIG_BEGIN_LEN) == -1 ||
	    ipc_get_u32(&c, &gen) == -1 || ipc_get_u32(&c, &level) == -1 ||
	    ipc_get_u32(&c, &interval) == -1 ||
	    ipc_get_u32(&c, &nservices) == -1 || ipc_cursor_end(&c) == -1 ||
	    level > LOG_LEVEL_DEBUG || p->cfg_pending || nservices == 0 ||
	    nservices > KEYD_MAX_SERVICES ||
	    (p->pd.generation != 0 && gen <= p->pd.generation))
		fatalx("parent: malformed or unexpected CONFIG_BEGIN");
	log_set_level((enum log_level)level);
	if ((p->cfg = calloc(nservices, sizeof(*p->cfg))) == NULL)
		fatal("config");
	p->cfg_n = nservices;
	p->cfg_gen = gen;
	p->cfg_pending = true;
}

static void
parent_service(struct pd_proc *p, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	struct pd_service *sv;
	uint32_t service, n;

	if (ipc_open_fixed(&c, msg, PC_SERVICE_LEN) == -1 ||
	    ipc_get_u32(&c, &service) == -1 || !p->cfg_pending ||
	    service >= p->cfg_n || p->cfg[service].instances != NULL)
		fatalx("parent: malformed or unexpected SERVICE");
	sv = &p->cfg[service];
	if (ipc_get_bytes(&c, sv->identity, 32) == -1 ||
	    ipc_get_u32(&c, &n) == -1 || ipc_cursor_end(&c) == -1 ||
	    n == 0 || n > PEER_CAP)
		fatalx("parent: malformed SERVICE");
	if ((sv->instances = calloc(n, sizeof(*sv->instances))) == NULL)
		fatal("config");
	sv->index = service;
	sv->ninstances = n;
}

static void
parent_publish(struct pd_proc *p, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	struct pd_service *sv;
	uint32_t service, shared_only, per_descriptor;

	if (ipc_open_fixed(&c, msg, PC_PUBLISH_LEN) == -1 ||
	    ipc_get_u32(&c, &service) == -1 ||
	    ipc_get_u32(&c, &shared_only) == -1 ||
	    ipc_get_u32(&c, &per_descriptor) == -1 ||
	    ipc_cursor_end(&c) == -1 || !p->cfg_pending ||
	    service >= p->cfg_n || p->cfg[service].instances == NULL ||
	    shared_only > 1 || per_descriptor < 1 ||
	    per_descriptor > HSDESC_MAX_INTRO_POINTS)
		fatalx("parent: malformed or unexpected PUBLISH");
	sv = &p->cfg[service];
	sv->shared_only = (int)shared_only;
	sv->per_descriptor = per_descriptor;
}

static void
parent_auth_client(struct pd_proc *p, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	struct pd_service *sv;
	uint8_t (*grown)[32];
	uint32_t service;

	if (ipc_open_fixed(&c, msg, PC_AUTH_CLIENT_LEN) == -1 ||
	    ipc_get_u32(&c, &service) == -1 || !p->cfg_pending ||
	    service >= p->cfg_n || p->cfg[service].instances == NULL ||
	    p->cfg[service].nauth_clients >= HSDESC_MAX_AUTH_CLIENTS)
		fatalx("parent: malformed or unexpected AUTH_CLIENT");
	sv = &p->cfg[service];
	if ((grown = reallocarray(sv->auth_clients, sv->nauth_clients + 1,
	    sizeof(*grown))) == NULL)
		fatal("config");
	sv->auth_clients = grown;
	if (ipc_get_bytes(&c, grown[sv->nauth_clients], 32) == -1 ||
	    ipc_cursor_end(&c) == -1)
		fatalx("parent: malformed AUTH_CLIENT");
	sv->nauth_clients++;
}

static void
parent_instance(struct pd_proc *p, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	struct pd_instance *in;
	const char *name;
	uint8_t key[32], check[32];
	uint32_t service, instance;

	ipc_cursor_init(&c, msg);
	if (ipc_get_u32(&c, &service) == -1 ||
	    ipc_get_u32(&c, &instance) == -1 ||
	    ipc_get_bytes(&c, key, sizeof(key)) == -1 ||
	    ipc_get_string(&c, &name, PROTO_NAME_MAX) == -1 ||
	    ipc_cursor_end(&c) == -1 || !p->cfg_pending ||
	    service >= p->cfg_n || instance >= p->cfg[service].ninstances)
		fatalx("parent: malformed or unexpected INSTANCE");
	in = &p->cfg[service].instances[instance];
	if (in->name[0] != '\0' || name[0] == '\0')
		fatalx("parent: repeated or unnamed INSTANCE");
	in->index = instance;
	memcpy(in->key, key, 32);
	snprintf(in->name, sizeof(in->name), "%s", name);
	onion_address_from_pubkey(in->address, key);
	/* the parent checked the address; a key that is no point is a bug */
	if (onion_address_to_pubkey(check, in->address, ONION_ADDRESS_LEN) !=
	    ONION_ADDRESS_OK)
		fatalx("parent: INSTANCE key is not a valid key");
}

static void
parent_config_end(struct pd_proc *p, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	uint32_t gen;
	size_t i, j;

	if (ipc_open_fixed(&c, msg, PC_CONFIG_END_LEN) == -1 ||
	    ipc_get_u32(&c, &gen) == -1 || ipc_cursor_end(&c) == -1 ||
	    !p->cfg_pending || gen != p->cfg_gen)
		fatalx("parent: malformed or unexpected CONFIG_END");
	for (i = 0; i < p->cfg_n; i++) {
		if (p->cfg[i].instances == NULL)
			fatalx("parent: CONFIG_END before every SERVICE");
		for (j = 0; j < p->cfg[i].ninstances; j++)
			if (p->cfg[i].instances[j].name[0] == '\0')
				fatalx("parent: CONFIG_END before every "
				    "INSTANCE");
	}
	pd_configure(&p->pd, p->cfg, p->cfg_n, gen, time(NULL));
	p->cfg = NULL;
	p->cfg_n = 0;
	p->cfg_pending = false;
	log_info("configuration %u: %zu service(s)", gen, p->pd.nservices);
	proc_send_parent(p, PC_READY, &gen);
	peer_resync(p);
}

/* --- the parent channel -------------------------------------------------- */

static void
parent_keyd_fd(struct pd_proc *p, const struct ipc_msg *msg)
{
	if (msg->len != 0)
		fatalx("parent: malformed KEYD_FD");
	if (keyd_client_set_fd(&p->kc, msg->fd) == -1)
		fatal("keyd channel");
	/* a new keyd holds no period: begin every one again */
	pd_keyd_reset(&p->pd);
}

static void
parent_fd_msg(struct pd_proc *p, const struct ipc_msg *msg)
{
	if (msg->len != 0)
		fatalx("parent: malformed %s",
		    ipc_type_name(&p->parent, msg->type));
	if (msg->type == PC_CONTROL_FD)
		control_adopt(p, msg->fd);
	else
		status_socket_set(p, msg->fd);
}

static void
parent_metrics_fd(struct pd_proc *p, const struct ipc_msg *msg)
{
	if (msg->len != 0)
		fatalx("parent: malformed METRICS_FD");
	metrics_socket_add(p, msg->fd);
}

static void
parent_counters(struct pd_proc *p, const struct ipc_msg *msg)
{
	struct ipc_cursor c;
	struct pd *pd = &p->pd;

	if (ipc_open_fixed(&c, msg, PC_COUNTERS_LEN) == -1 ||
	    ipc_get_u32(&c, &pd->child_restarts[0]) == -1 ||
	    ipc_get_u32(&c, &pd->child_restarts[1]) == -1 ||
	    ipc_get_u32(&c, &pd->child_restarts[2]) == -1 ||
	    ipc_get_u32(&c, &pd->keyd_channel_drops) == -1 ||
	    ipc_cursor_end(&c) == -1)
		fatalx("parent: malformed COUNTERS");
	pd->have_parent_counters = 1;
}

static void
parent_dispatch(struct pd_proc *p, const struct ipc_msg *msg)
{
	switch ((enum parent_child_msg)msg->type) {
	case PC_CONTROL_FD:
	case PC_STATUS_FD:
		parent_fd_msg(p, msg);
		break;
	case PC_PEER_FD:
		parent_peer_fd(p, msg);
		break;
	case PC_KEYD_FD:
		parent_keyd_fd(p, msg);
		break;
	case PC_CONFIG_BEGIN:
		parent_config_begin(p, msg);
		break;
	case PC_SERVICE:
		parent_service(p, msg);
		break;
	case PC_INSTANCE:
		parent_instance(p, msg);
		break;
	case PC_PUBLISH:
		parent_publish(p, msg);
		break;
	case PC_AUTH_CLIENT:
		parent_auth_client(p, msg);
		break;
	case PC_CONFIG_END:
		parent_config_end(p, msg);
		break;
	case PC_METRICS_FD:
		parent_metrics_fd(p, msg);
		break;
	case PC_COUNTERS:
		parent_counters(p, msg);
		break;
	case PC_CONTROL_REQUEST:
	case PC_READY:
	case PC_PROBE:
	case PC_SOCKS_REQUEST:
	case PC_SOCKS_FD:
	case PC_SOCKS_FAILED:
	case PC_CLIENT_KEY:	/* fetchd's alone */
		fatalx("parent: sent %s, which publishd never gets",
		    ipc_type_name(&p->parent, msg->type));
	}
}

static void
parent_read(evutil_socket_t sock, short what, void *arg)
{
	struct pd_proc *p = arg;
	struct ipc_msg msg;

	switch (ipc_recv_or_die(&p->parent, &msg)) {
	case 0:
		log_info("parent went away, exiting");
		event_base_loopbreak(p->base);
		return;
	case 1:
		parent_dispatch(p, &msg);
		proc_rearm(p);
		break;
	default:
		break;
	}
}

/* --- timer --------------------------------------------------------------- */

static void
timer_fired(evutil_socket_t sock, short what, void *arg)
{
	proc_rearm(arg);
}

/* --- setup --------------------------------------------------------------- */

static void
setup(struct pd_proc *p, int parent_fd)
{
	struct pd_ops ops = {
		.build = pd_build_variant,
		.post = control_post,
	};

	if ((p->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	keyd_client_init(&p->kc);
	p->builder.kc = &p->kc;
	p->status_fd = -1;
	pd_init(&p->pd, &ops);
	p->pd.ops.build_arg = &p->builder;
	p->pd.ops.post_arg = p;
	if (ipc_channel_init(&p->parent, parent_fd, "parent", PC_CAP,
	    parent_types, sizeof(parent_types) / sizeof(parent_types[0])) ==
	    -1 || ipc_channel_init(&p->peer, -1, "fetchd", 0, peer_msg_types,
	    peer_msg_ntypes) == -1)
		fatal("channels");
	if ((p->parent_ev = event_new(p->base, parent_fd,
	    EV_READ | EV_PERSIST, parent_read, p)) == NULL ||
	    event_add(p->parent_ev, NULL) == -1 ||
	    (p->timer = evtimer_new(p->base, timer_fired, p)) == NULL)
		fatalx("events");
}

static void
teardown(struct pd_proc *p)
{
	control_free(p);
	status_socket_close(p);
	metrics_close(p);
	peer_close(p);
	keyd_client_close(&p->kc);
	event_free(p->parent_ev);
	event_free(p->timer);
	ipc_channel_close(&p->parent);
	cfg_drop(p);
	pd_clear(&p->pd);
	event_base_free(p->base);
}

int
main(int argc, char *argv[])
{
	static struct pd_proc p;
	int parent_fd;

	parent_fd = sandbox_child_setup(argc, argv, "publishd",
	    CHILD_PARENT_FD);
	setup(&p, parent_fd);
	sandbox_enter_child(SANDBOX_PUBLISHD);
	log_info("publishd %s started", OB_VERSION);
	event_base_dispatch(p.base);
	teardown(&p);
	sandbox_child_exit();
}

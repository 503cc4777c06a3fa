/*
 * The children's lives: starting fetchd and publishd with their handshake
 * (daemon_proto.h: fds, then the configuration), the links between
 * children, tor control connections on request, reaping, restarting with
 * backoff, giving up on a crash loop, and stopping everything.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "digest.h"
#include "keyd_proto.h"
#include "log.h"
#include "parent.h"
#include "sandbox_parent.h"

#define CONTROL_RETRY_MAX_MS	(30 * 1000)
/* A control connection that lasted this long was a good one. */
#define CONTROL_STABLE_MS	(60 * 1000)
#define STOP_GRACE_MS		5000

/* The parent's view of the parent <-> fetchd/publishd channel. */
static const struct ipc_type pc_types[] = {
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
	{ PC_PUBLISH, "PUBLISH", 0 },
	{ PC_AUTH_CLIENT, "AUTH_CLIENT", 0 },
	{ PC_CLIENT_KEY, "CLIENT_KEY", 0 },
};

static void control_retry_cb(int, short, void *);
static void stop_timeout_cb(int, short, void *);

static void
timer_add_ms(struct event *ev, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

void
children_init(struct parent *p)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		struct child *c = &p->children[r];

		c->parent = p;
		c->role = (enum child_role)r;
		c->name = child_role_name((enum child_role)r);
		c->state = CHILD_DOWN;
		c->pid = -1;
		c->ch.fd = -1;
		c->control_delay_ms = p->backoff_min_ms;
		restart_policy_init(&c->policy, p->backoff_min_ms,
		    RESTART_MAX_MS);
		c->ev_restart = evtimer_new(p->base, child_restart_cb, c);
		c->ev_control = evtimer_new(p->base, control_retry_cb, c);
		if (c->ev_restart == NULL || c->ev_control == NULL)
			fatalx("evtimer_new");
	}
	p->links[LINK_KEYD_PUBLISHD] = (struct link){
		{ ROLE_KEYD, ROLE_PUBLISHD }, { -1, -1 }, 0 };
	p->links[LINK_FETCHD_PUBLISHD] = (struct link){
		{ ROLE_FETCHD, ROLE_PUBLISHD }, { -1, -1 }, 0 };
	if ((p->ev_stop_timeout = evtimer_new(p->base, stop_timeout_cb,
	    p)) == NULL)
		fatalx("evtimer_new");
}

static bool
child_up(const struct child *c)
{
	return (c->state == CHILD_STARTING || c->state == CHILD_RUNNING) &&
	    c->ch.fd != -1;
}

bool
children_all_down(const struct parent *p)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (p->children[r].pid != -1)
			return false;
	return true;
}

/* An empty message carrying fd; keyd's one is REQUEST_CHANNEL. */
int
child_send_fd(struct child *c, uint32_t type, int fd)
{
	struct ipc_builder b;

	ipc_builder_init(&b, c->buf, sizeof(c->buf), type, 0);
	if (ipc_builder_finish(&b) == -1 || ipc_send(&c->ch, &b, fd) == -1) {
		log_warn("%s: sending %s", c->name,
		    ipc_type_name(&c->ch, type));
		return -1;
	}
	return 0;
}

static uint32_t
link_msg_type(enum child_role role, enum link_id id)
{
	switch (role) {
	case ROLE_KEYD:
		return KEYD_P_REQUEST_CHANNEL;
	case ROLE_FETCHD:
		return PC_PEER_FD;
	case ROLE_PUBLISHD:
	case ROLE_COUNT:
		break;
	}
	return id == LINK_KEYD_PUBLISHD ? PC_KEYD_FD : PC_PEER_FD;
}

/* Gives one end of a link to its child now, or keeps it for its start. */
static void
link_hand(struct parent *p, enum link_id id, int side, int fd)
{
	struct link *l = &p->links[id];
	struct child *c = &p->children[l->end[side]];

	if (child_up(c)) {
		if (c->role == ROLE_KEYD)	/* tagged with the pair */
			(void)keyd_give_request_channel(c, fd, l->gen);
		else
			(void)child_send_fd(c, link_msg_type(c->role, id), fd);
		close(fd);
		return;
	}
	if (l->pending[side] != -1)
		close(l->pending[side]);
	l->pending[side] = fd;
}

/* Every link of role gets made (or completed) as role starts. */
void
links_give(struct parent *p, enum child_role role)
{
	for (int id = 0; id < LINK_COUNT; id++) {
		struct link *l = &p->links[id];
		int sv[2], side, fd;

		if (l->end[0] != role && l->end[1] != role)
			continue;
		side = l->end[0] == role ? 0 : 1;
		if ((fd = l->pending[side]) == -1) {
			if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
			    0, sv) == -1)
				fatal("socketpair");
			l->gen++;
			link_hand(p, (enum link_id)id, 1 - side, sv[1]);
			fd = sv[0];
		}
		l->pending[side] = -1;
		link_hand(p, (enum link_id)id, side, fd);
	}
}

/*
 * The next connection for c in its delay, with jitter (half to all of
 * it, so that fetchd and publishd, which lose tor together, do not come
 * back together), and the delay doubles up to CONTROL_RETRY_MAX_MS.
 */
static unsigned
control_retry_later(struct child *c)
{
	unsigned d = c->control_delay_ms, ms;

	ms = d / 2 + (d / 2 > 0 ? randombytes_uniform(d / 2 + 1) : 0);
	timer_add_ms(c->ev_control, ms);
	c->control_delay_ms = d > CONTROL_RETRY_MAX_MS / 2 ?
	    CONTROL_RETRY_MAX_MS : d * 2;
	return ms;
}

void
child_control_connect(struct child *c)
{
	struct control_target t;
	char err[1024];
	unsigned ms;
	int fd;

	if (!child_up(c) || evtimer_pending(c->ev_control, NULL))
		return;
	control_target_from_config(&t, c->parent->cfg);
	if ((fd = control_open(&t, err, sizeof(err))) == -1) {
		ms = control_retry_later(c);
		log_warnx("%s: %s; trying again in %u ms", c->name, err, ms);
		return;
	}
	c->control_given_ms = monotonic_ms();
	if (child_send_fd(c, PC_CONTROL_FD, fd) == 0)
		log_debug("%s: gave it a tor control connection", c->name);
	close(fd);
}

/*
 * c lost its connection, whatever the cause (tor closed it, sent what
 * is no control protocol, refused a command c needs): the child says
 * why in its log.  Only a connection that lasted CONTROL_STABLE_MS
 * earns an immediate new one; any other cause backs off as a failed
 * connect does, so a broken tor sees a handful of connections, not a
 * storm.
 */
static void
child_control_request(struct child *c)
{
	uint64_t now = monotonic_ms(), lasted;
	unsigned ms;

	if (evtimer_pending(c->ev_control, NULL))
		return;
	lasted = c->control_given_ms != 0 ? now - c->control_given_ms :
	    CONTROL_STABLE_MS;
	c->control_given_ms = 0;
	if (lasted >= CONTROL_STABLE_MS) {
		log_info("%s asks for a new tor control connection", c->name);
		c->control_delay_ms = c->parent->backoff_min_ms;
		child_control_connect(c);
		return;
	}
	ms = control_retry_later(c);
	log_warnx("%s: its tor control connection ended after %llu ms; the "
	    "next one in %u ms", c->name, (unsigned long long)lasted, ms);
}

static void
control_retry_cb(int fd, short what, void *arg)
{
	child_control_connect(arg);
}

static int
child_spawn(struct child *c)
{
	char path[4096], argv0[16], env[SANDBOX_ENV_MAX], err[1024];
	char opt[] = "--log-level", level[16];
	char *argv[] = { argv0, opt, level, NULL };
	int sv[2];

	snprintf(argv0, sizeof(argv0), "%s", c->name);
	/* Our level until PC_CONFIG_BEGIN brings it: no early info lines. */
	snprintf(level, sizeof(level), "%s", log_level_name(log_get_level()));
	_Static_assert((int)ROLE_KEYD == (int)SANDBOX_KEYD &&
	    (int)ROLE_FETCHD == (int)SANDBOX_FETCHD &&
	    (int)ROLE_PUBLISHD == (int)SANDBOX_PUBLISHD,
	    "child_role and sandbox_role list the children in one order");
	if (sandbox_child_env(c->parent->cfg, (enum sandbox_role)c->role,
	    c->parent->chroot_dir, env, sizeof(env), err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return -1;
	}

	if (child_binary_path(c->parent, c->role, path, sizeof(path)) == -1) {
		log_error("%s: %s", c->name, path);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_error("socketpair");
		return -1;
	}
	c->pid = spawn_child_env(path, argv, sv[1], env);
	close(sv[1]);
	if (c->pid == -1) {
		log_error("%s: fork", c->name);
		close(sv[0]);
		return -1;
	}
	if (ipc_channel_init(&c->ch, sv[0], c->name, PC_CAP, pc_types,
	    sizeof(pc_types) / sizeof(pc_types[0])) == -1)
		fatal("ipc_channel_init");
	c->started_ms = monotonic_ms();
	c->state = CHILD_STARTING;
	return 0;
}

/* Watches c's channel: EOF or a message. */
void
child_watch(struct child *c)
{
	event_callback_fn cb = c->role == ROLE_KEYD ? keyd_read_cb :
	    child_read_cb;

	if ((c->ev_read = event_new(c->parent->base, c->ch.fd,
	    EV_READ | EV_PERSIST, cb, c)) == NULL ||
	    event_add(c->ev_read, NULL) == -1)
		fatalx("event_new");
}

/*
 * fetchd or publishd: spawn, then the handshake of daemon_proto.h.  -1
 * only if nothing was spawned; once a child exists, any failure ends it
 * and the reaper takes over.
 */
int
child_start(struct child *c)
{
	struct parent *p = c->parent;

	if (child_spawn(c) == -1)
		return -1;
	child_watch(c);
	child_control_connect(c);
	links_give(p, c->role);
	if (c->role == ROLE_PUBLISHD && p->status_fd != -1)
		(void)child_send_fd(c, PC_STATUS_FD, p->status_fd);
	for (int i = 0; c->role == ROLE_PUBLISHD && i < p->nmetrics_fds; i++)
		(void)child_send_fd(c, PC_METRICS_FD, p->metrics_fds[i]);
	/* before the configuration: PC_READY says publishd has them */
	if (c->role == ROLE_PUBLISHD)
		parent_send_counters(p);
	if (parent_send_config(c, p->cfg, p->generation) == -1)
		child_lost(c, "did not take its configuration");
	else
		log_info("%s started (pid %ld)", c->name, (long)c->pid);
	return 0;
}

void
parent_send_counters(struct parent *p)
{
	struct child *c = &p->children[ROLE_PUBLISHD];
	struct ipc_builder b;

	if (c->ch.fd == -1 || (c->state != CHILD_STARTING &&
	    c->state != CHILD_RUNNING))
		return;
	ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_COUNTERS, 0);
	ipc_add_u32(&b, p->restarts[ROLE_KEYD]);
	ipc_add_u32(&b, p->restarts[ROLE_FETCHD]);
	ipc_add_u32(&b, p->restarts[ROLE_PUBLISHD]);
	ipc_add_u32(&b, p->keyd_channel_drops);
	if (ipc_builder_finish(&b) == -1 || ipc_send(&c->ch, &b, -1) == -1)
		log_warn("publishd: sending COUNTERS");
}

/* keyd: spawn and key handshake (parent_keyd.c), then its link. */
static int
keyd_restart(struct child *c)
{
	char err[1024];

	if (keyd_start(c->parent, c, c->parent->cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return c->pid == -1 ? -1 : 0;
	}
	child_watch(c);
	links_give(c->parent, ROLE_KEYD);
	log_info("keyd started (pid %ld)", (long)c->pid);
	return 0;
}

static void child_crashed(struct child *c);

void
child_restart_cb(int fd, short what, void *arg)
{
	struct child *c = arg;
	int rv;

	if (c->parent->stopping)
		return;
	c->parent->restarts[c->role]++;
	rv = c->role == ROLE_KEYD ? keyd_restart(c) : child_start(c);
	if (rv == -1)
		child_crashed(c);	/* nothing to reap: count it here */
	else if (c->role != ROLE_PUBLISHD)
		parent_send_counters(c->parent);
}

static void
child_dispatch(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_cursor cur;
	uint32_t gen;

	switch ((enum parent_child_msg)msg->type) {
	case PC_CONTROL_REQUEST:
		if (msg->len != 0)
			break;
		child_control_request(c);
		return;
	case PC_READY:
		if (ipc_open_fixed(&cur, msg, PC_READY_LEN) == -1 ||
		    ipc_get_u32(&cur, &gen) == -1)
			break;
		c->ready_generation = gen;
		if (gen == c->parent->generation) {
			c->state = CHILD_RUNNING;
			log_info("%s ready (configuration %u)", c->name, gen);
		}
		return;
	case PC_SOCKS_REQUEST:
		parent_socks_request(c, msg);
		return;
	case PC_CONTROL_FD:
	case PC_PEER_FD:
	case PC_KEYD_FD:
	case PC_STATUS_FD:
	case PC_CONFIG_BEGIN:
	case PC_SERVICE:
	case PC_INSTANCE:
	case PC_CONFIG_END:
	case PC_PROBE:
	case PC_SOCKS_FD:
	case PC_SOCKS_FAILED:
	case PC_METRICS_FD:
	case PC_COUNTERS:
	case PC_PUBLISH:
	case PC_AUTH_CLIENT:
	case PC_CLIENT_KEY:
		break;
	}
	child_lost(c, "sent a message only the parent sends, or a "
	    "malformed one");
}

void
child_read_cb(int fd, short what, void *arg)
{
	struct child *c = arg;
	struct ipc_msg msg;
	enum ipc_status st;

	switch ((st = ipc_recv(&c->ch, &msg))) {
	case IPC_OK:
		if (msg.fd != -1)
			close(msg.fd);	/* no child->parent type has one */
		child_dispatch(c, &msg);
		return;
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
		log_warnx("%s: %s", c->name, ipc_strerror(st));
		child_lost(c, "sent a malformed message");
		return;
	}
}

/* Counts a crash; schedules the restart or gives up on everything. */
static void
child_crashed(struct child *c)
{
	uint64_t now = monotonic_ms();
	long delay;

	c->state = CHILD_DOWN;
	delay = restart_policy_crashed(&c->policy, now, now - c->started_ms);
	if (delay < 0) {
		log_errorx("%s crashed %d times within %d s: giving up, "
		    "stopping onionbalanced", c->name, RESTART_MAX_CRASHES,
		    RESTART_WINDOW_MS / 1000);
		children_stop(c->parent, 1);
		return;
	}
	log_warnx("restarting %s in %ld ms", c->name, delay);
	timer_add_ms(c->ev_restart, (unsigned)delay);
}

static void
child_exited(struct child *c, int status)
{
	struct parent *p = c->parent;
	char how[128];

	spawn_describe_status(status, how, sizeof(how));
	child_close_channel(c);
	evtimer_del(c->ev_control);
	c->pid = -1;
	if (p->stopping) {
		log_info("%s stopped (%s)", c->name, how);
		c->state = CHILD_DOWN;
		if (children_all_down(p))
			event_base_loopbreak(p->base);
		return;
	}
	log_warnx("lost child %s: %s", c->name, how);
	child_crashed(c);
}

void
children_reap(struct parent *p)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int r;

		for (r = 0; r < ROLE_COUNT; r++)
			if (p->children[r].pid == pid)
				break;
		if (r < ROLE_COUNT)
			child_exited(&p->children[r], status);
		else	/* a keyd replaced on reload, or one from --check */
			log_debug("reaped retired process %ld", (long)pid);
	}
}

/*
 * SIGTERM to every child; the reaper ends the loop when the last one is
 * gone, or stop_timeout_cb kills what is left after STOP_GRACE_MS.
 */
void
children_stop(struct parent *p, int exit_status)
{
	if (exit_status > p->exit_status)
		p->exit_status = exit_status;
	if (p->stopping)
		return;
	p->stopping = true;
	for (int r = 0; r < ROLE_COUNT; r++) {
		struct child *c = &p->children[r];

		evtimer_del(c->ev_restart);
		evtimer_del(c->ev_control);
		if (c->pid != -1) {
			c->state = CHILD_STOPPING;
			kill(c->pid, SIGTERM);
		}
	}
	if (children_all_down(p))
		event_base_loopbreak(p->base);
	else
		timer_add_ms(p->ev_stop_timeout, STOP_GRACE_MS);
}

static void
stop_timeout_cb(int fd, short what, void *arg)
{
	struct parent *p = arg;

	for (int r = 0; r < ROLE_COUNT; r++) {
		struct child *c = &p->children[r];
		int status;

		if (c->pid == -1)
			continue;
		log_warnx("%s did not stop within %d s; killing it", c->name,
		    STOP_GRACE_MS / 1000);
		kill(c->pid, SIGKILL);
		if (waitpid(c->pid, &status, 0) == c->pid)
			child_exited(c, status);
	}
	event_base_loopbreak(p->base);
}

/*
 * A stand-in for fetchd and publishd, built only for the parent's tests
 * (test_parent_exec.py).  Installed in a test libexecdir under both names,
 * it speaks the child side of daemon_proto.h and proves each fd it gets
 * is what the parent says it is:
 *
 * - PC_CONTROL_FD: sends "GETINFO version" and needs a 250 (the fake tor
 *   answers that only on an authenticated connection); when tor closes
 *   the connection, asks for a new one with PC_CONTROL_REQUEST;
 * - PC_KEYD_FD (publishd): asks keyd for service 0's identity;
 * - PC_PEER_FD, PC_STATUS_FD: counted;
 * - PC_CONFIG_BEGIN .. PC_CONFIG_END: counted, answered with PC_READY;
 *   then, if $OB_STANDIN_DIR/<role>.socks exists, asks for a probe
 *   connection (PC_SOCKS_REQUEST, id 42) and writes "probe\n" on the fd
 *   that PC_SOCKS_FD brings (socks_ok), or counts PC_SOCKS_FAILED.
 *
 * After every message it writes $OB_STANDIN_DIR/<role>.state, one line of
 * key=value pairs the test reads.  If $OB_STANDIN_DIR/<role>.malformed
 * exists, its request to keyd is malformed.  If $OB_STANDIN_DIR/<role>.crash exists
 * when it becomes ready, it aborts (a crash on command).
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_proto.h"
#include "digest.h"
#include "ipc.h"
#include "keyd_proto.h"

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

struct standin {
	const char	*role;
	const char	*dir;
	int		 control_fd;
	int		 other_fds[3];	/* peer, keyd, status */
	unsigned	 controls, controls_ok, peers, keyds, keyds_ok, statuses;
	unsigned	 generation, services, instances, readies;
	unsigned	 socks_ok, socks_failed;
	struct ipc_channel ch;
};

static void
write_state(const struct standin *s)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.state", s->dir, s->role);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		abort();
	fprintf(f, "pid=%ld generation=%u services=%u instances=%u "
	    "readies=%u controls=%u controls_ok=%u peers=%u keyds=%u "
	    "keyds_ok=%u statuses=%u socks_ok=%u socks_failed=%u\n",
	    (long)getpid(), s->generation, s->services, s->instances,
	    s->readies, s->controls, s->controls_ok, s->peers, s->keyds,
	    s->keyds_ok, s->statuses, s->socks_ok, s->socks_failed);
	if (fclose(f) != 0 || rename(tmp, path) == -1)
		abort();
}

/* One reply line from the control connection, enough for "250 ...". */
static int
control_works(int fd)
{
	static const char cmd[] = "GETINFO version\r\n";
	char buf[256];
	ssize_t n;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (send(fd, cmd, sizeof(cmd) - 1, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(cmd) - 1 || poll(&pfd, 1, 5000) != 1)
		return 0;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	return n >= 4 && memcmp(buf, "250", 3) == 0;
}

/* $OB_STANDIN_DIR/<role>.<what> exists: a behaviour on command. */
static int
standin_file_exists(const struct standin *s, const char *what)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.%s", s->dir, s->role, what);
	return access(path, F_OK) == 0;
}

/*
 * keyd answers IDENTITY on a working request channel.  With
 * $OB_STANDIN_DIR/<role>.malformed the IDENTITY has a byte too many, as a
 * compromised publishd might send: keyd drops the channel (no reply).
 */
static int
keyd_works(const struct standin *s, int fd)
{
	uint8_t buf[IPC_HDR_LEN + 64];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct ipc_builder b;
	ssize_t n;

	ipc_builder_init(&b, buf, sizeof(buf), KEYD_R_IDENTITY, 7);
	ipc_add_u32(&b, 0);
	if (standin_file_exists(s, "malformed"))
		ipc_add_u8(&b, 0);
	if (ipc_builder_finish(&b) == -1 ||
	    send(fd, buf, b.len, MSG_NOSIGNAL) != (ssize_t)b.len ||
	    poll(&pfd, 1, 5000) != 1)
		return 0;
	n = recv(fd, buf, sizeof(buf), 0);
	return n == IPC_HDR_LEN + 32 &&
	    get_u32_be(buf) == KEYD_R_IDENTITY_REPLY && get_u32_be(buf + 8) == 7;
}

static void
replace_fd(int *slot, int fd)
{
	if (*slot != -1)
		close(*slot);
	*slot = fd;
}

static void
ready(struct standin *s, const struct ipc_msg *msg)
{
	uint8_t buf[IPC_HDR_LEN + 4];
	struct ipc_builder b;

	s->generation = get_u32_be(msg->payload);
	s->readies++;
	write_state(s);
	if (standin_file_exists(s, "crash"))
		abort();
	ipc_builder_init(&b, buf, sizeof(buf), PC_READY, 0);
	ipc_add_u32(&b, s->generation);
	if (ipc_builder_finish(&b) == -1 || ipc_send(&s->ch, &b, -1) == -1)
		abort();
}

/* As fetchd does for a liveness probe, if the test asks for it. */
static void
maybe_ask_socks(struct standin *s)
{
	uint8_t buf[IPC_HDR_LEN + 4];
	char path[4096];
	struct ipc_builder b;

	snprintf(path, sizeof(path), "%s/%s.socks", s->dir, s->role);
	if (access(path, F_OK) == -1)
		return;
	ipc_builder_init(&b, buf, sizeof(buf), PC_SOCKS_REQUEST, 0);
	ipc_add_u32(&b, 42);
	if (ipc_builder_finish(&b) == -1 || ipc_send(&s->ch, &b, -1) == -1)
		abort();
}

static void
socks_answer(struct standin *s, const struct ipc_msg *msg)
{
	if (msg->len < 4 || get_u32_be(msg->payload) != 42)
		abort();
	if (msg->type == PC_SOCKS_FAILED) {
		s->socks_failed++;
		return;
	}
	if (msg->fd != -1 && write(msg->fd, "probe\n", 6) == 6)
		s->socks_ok++;
	if (msg->fd != -1)
		close(msg->fd);
}

static void
handle(struct standin *s, const struct ipc_msg *msg)
{
	switch ((enum parent_child_msg)msg->type) {
	case PC_CONTROL_FD:
		s->controls++;
		s->controls_ok += control_works(msg->fd);
		replace_fd(&s->control_fd, msg->fd);
		break;
	case PC_PEER_FD:
		s->peers++;
		replace_fd(&s->other_fds[0], msg->fd);
		break;
	case PC_KEYD_FD:
		s->keyds++;
		s->keyds_ok += keyd_works(s, msg->fd);
		replace_fd(&s->other_fds[1], msg->fd);
		break;
	case PC_STATUS_FD:
		s->statuses++;
		replace_fd(&s->other_fds[2], msg->fd);
		break;
	case PC_METRICS_FD:
		close(msg->fd);
		break;
	case PC_CONFIG_BEGIN:
		s->services = s->instances = 0;
		break;
	case PC_SERVICE:
		s->services++;
		break;
	case PC_INSTANCE:
		s->instances++;
		break;
	case PC_PROBE:		/* fetchd's: how to probe the instance */
	case PC_COUNTERS:	/* publishd's: for its metrics */
	case PC_PUBLISH:	/* publishd's: how a service publishes */
	case PC_AUTH_CLIENT:	/* publishd's: restricted discovery */
	case PC_CLIENT_KEY:	/* fetchd's: a restricted backend's key */
		break;
	case PC_CONFIG_END:
		ready(s, msg);
		maybe_ask_socks(s);
		return;
	case PC_SOCKS_FD:
	case PC_SOCKS_FAILED:
		socks_answer(s, msg);
		break;
	case PC_CONTROL_REQUEST:
	case PC_READY:
	case PC_SOCKS_REQUEST:
		abort();
	}
	write_state(s);
}

/* tor closed our control connection: ask the parent for a new one. */
static void
control_lost(struct standin *s)
{
	uint8_t buf[IPC_HDR_LEN];
	struct ipc_builder b;

	replace_fd(&s->control_fd, -1);
	ipc_builder_init(&b, buf, sizeof(buf), PC_CONTROL_REQUEST, 0);
	if (ipc_builder_finish(&b) == -1 || ipc_send(&s->ch, &b, -1) == -1)
		abort();
}

int
main(int argc, char *argv[])
{
	static struct standin s;
	struct ipc_msg msg;
	enum ipc_status st;
	char buf[64];

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	s.role = basename(argv[0]);
	if ((s.dir = getenv("OB_STANDIN_DIR")) == NULL)
		s.dir = ".";
	s.control_fd = s.other_fds[0] = s.other_fds[1] = s.other_fds[2] = -1;
	if (ipc_channel_init(&s.ch, CHILD_PARENT_FD, "parent", PC_CAP,
	    pc_types, sizeof(pc_types) / sizeof(pc_types[0])) == -1)
		return 1;
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = s.ch.fd, .events = POLLIN },
			{ .fd = s.control_fd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			return 1;
		if ((pfd[1].revents & (POLLIN | POLLHUP)) &&
		    recv(s.control_fd, buf, sizeof(buf), 0) <= 0)
			control_lost(&s);
		if ((pfd[0].revents & (POLLIN | POLLHUP)) == 0)
			continue;
		st = ipc_recv(&s.ch, &msg);
		if (st == IPC_EOF)
			return 0;	/* the parent went away */
		if (st != IPC_OK)
			abort();
		handle(&s, &msg);
	}
}

/*
 * The real fetchd binary over socketpairs, as the parent will start it.
 * The test plays the parent (channel at --parent-fd), tor (a scripted
 * control connection on a stream socketpair: it answers SETEVENTS,
 * GETINFO (the captured test network's consensus, re-dated, and md/all),
 * SIGNAL and HSFETCH SERVER=, then pushes the fetch's events with a
 * descriptor made now by the codec's test service) and publishd (the
 * peer channel).  Checks: PC_READY, the NO_DESCRIPTOR state, the
 * PEER_INSTANCE_DESC and its PEER_INSTANCE_FETCH (new), the same
 * descriptor again (PEER_INSTANCE_FETCH not-newer), the liveness probes (the test plays tor's SOCKS
 * port on the connections fetchd asks the parent for, and the backend's
 * web server behind it), PC_CONTROL_REQUEST after tor goes away, and exit
 * status 0 on EOF of the parent channel.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_proto.h"
#include "digest.h"
#include "peer_msg.h"
#include "test.h"
#include "test_hsdesc_fixture.h"

#define WAIT_MS		10000

static const struct ipc_type pc_types[] = {
	{ PC_CONTROL_FD, "CONTROL_FD", IPC_TYPE_FD },
	{ PC_CONTROL_REQUEST, "CONTROL_REQUEST", 0 },
	{ PC_PEER_FD, "PEER_FD", IPC_TYPE_FD },
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
};

static struct ipc_channel parent, peer;
static uint8_t sbuf[IPC_HDR_LEN + PEER_CAP];

static void
wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, WAIT_MS) != 1) {
		fprintf(stderr, "timed out waiting for fetchd (fd %d)\n", fd);
		exit(1);
	}
}

static void
recv_msg(struct ipc_channel *ch, struct ipc_msg *msg)
{
	wait_readable(ch->fd);
	if (ipc_recv(ch, msg) != IPC_OK)
		abort();
}

/* One CRLF line from fetchd's side of the control connection. */
static void
read_line(int fd, char *line, size_t size)
{
	size_t n = 0;
	char c;

	for (;;) {
		wait_readable(fd);
		if (read(fd, &c, 1) != 1)
			abort();
		if (c == '\n')
			break;
		if (c != '\r' && n + 1 < size)
			line[n++] = c;
	}
	line[n] = '\0';
}

static void
write_all(int fd, const char *s, size_t len)
{
	if (write(fd, s, len) != (ssize_t)len)
		abort();
}

/* LF text as a control-port data block (CRLF, dot-stuffed, "."). */
static void
write_block(int fd, const char *text, size_t len)
{
	size_t i;
	int bol = 1;

	for (i = 0; i < len; i++) {
		if (bol && text[i] == '.')
			write_all(fd, ".", 1);
		if (text[i] == '\n')
			write_all(fd, "\r", 1);
		write_all(fd, &text[i], 1);
		bol = text[i] == '\n';
	}
	write_all(fd, ".\r\n", 3);
}

static void
send_fd(enum parent_child_msg type, int fd)
{
	struct ipc_builder b;

	ipc_builder_init(&b, sbuf, sizeof(sbuf), type, 0);
	if (ipc_send(&parent, &b, fd) == -1)
		abort();
	close(fd);
}

static void
send_config(const struct fixture *f)
{
	struct ipc_builder b;
	uint8_t skey[32];

	memset(skey, 9, sizeof(skey));
	ipc_builder_init(&b, sbuf, sizeof(sbuf), PC_CONFIG_BEGIN, 0);
	ipc_add_u32(&b, 1);
	ipc_add_u32(&b, 3);		/* LOG_LEVEL_DEBUG */
	ipc_add_u32(&b, 120);
	ipc_add_u32(&b, 1);
	ipc_send_or_die(&parent, &b, -1);
	ipc_builder_init(&b, sbuf, sizeof(sbuf), PC_SERVICE, 0);
	ipc_add_u32(&b, 0);
	ipc_add_bytes(&b, skey, 32);
	ipc_add_u32(&b, 1);
	ipc_send_or_die(&parent, &b, -1);
	ipc_builder_init(&b, sbuf, sizeof(sbuf), PC_INSTANCE, 0);
	ipc_add_u32(&b, 0);
	ipc_add_u32(&b, 0);
	ipc_add_bytes(&b, f->id_pk, 32);
	ipc_add_string(&b, "node1");
	ipc_send_or_die(&parent, &b, -1);
	/* Probes every second, with an HTTP check of /health on port 8080. */
	ipc_builder_init(&b, sbuf, sizeof(sbuf), PC_PROBE, 0);
	ipc_add_u32(&b, 0);
	ipc_add_u32(&b, 0);
	ipc_add_u32(&b, 1);
	ipc_add_u32(&b, 5);
	ipc_add_u32(&b, 8080);
	ipc_add_u32(&b, PROBE_CHECK_HTTP);
	ipc_add_string(&b, "/health");
	ipc_send_or_die(&parent, &b, -1);
	ipc_builder_init(&b, sbuf, sizeof(sbuf), PC_CONFIG_END, 0);
	ipc_add_u32(&b, 1);
	ipc_send_or_die(&parent, &b, -1);
}

static pid_t
start_fetchd(int child_fd)
{
	const char *path = getenv("OB_FETCHD");
	char fdarg[16];
	pid_t pid;

	if (path == NULL)
		abort();
	snprintf(fdarg, sizeof(fdarg), "%d", child_fd);
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		/* Only its parent channel: every other end is close-on-exec. */
		if (fcntl(child_fd, F_SETFD, 0) == -1)
			_exit(127);
		execl(path, "fetchd", "--parent-fd", fdarg, (char *)NULL);
		_exit(127);
	}
	close(child_fd);
	return pid;
}

/* The line "<keyword> YYYY-MM-DD HH:MM:SS" of text says t instead. */
static void
redate(char *text, const char *keyword, time_t t)
{
	char *p = strstr(text, keyword), when[32];

	if (p == NULL || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
	    gmtime(&t)) != 19)
		abort();
	memcpy(p + strlen(keyword), when, 19);
}

/*
 * The captured test network's consensus, re-dated to this hour with a
 * voting interval of 3600 s, and its microdescriptors: fetchd builds its
 * HSDir ring from them and names the HSDir of its fetch.
 */
static void
answer_getinfo(int tor, time_t now)
{
	time_t t = now - now % 3600;
	size_t cons_len, md_len;
	char *cons = test_read_data("tor-0.4.9-testnet/consensus-microdesc.txt",
	    &cons_len);
	char *md = test_read_data("tor-0.4.9-testnet/md-all.txt", &md_len);
	const char *head;

	redate(cons, "\nvalid-after ", t);
	redate(cons, "\nfresh-until ", t + 3600);
	redate(cons, "\nvalid-until ", t + 3 * 3600);
	head = "250+dir/status-vote/current/consensus-microdesc=\r\n";
	write_all(tor, head, strlen(head));
	write_block(tor, cons, cons_len);
	head = "250+md/all=\r\n";
	write_all(tor, head, strlen(head));
	write_block(tor, md, md_len);
	write_all(tor, "250 OK\r\n", 8);
	free(cons);
	free(md);
}

/* Answers fetchd's commands until it sends HSFETCH. */
static void
serve_until_hsfetch(int tor, const struct fixture *f)
{
	char line[256], want[128];

	snprintf(want, sizeof(want), "HSFETCH %s SERVER=$", f->address);
	for (;;) {
		read_line(tor, line, sizeof(line));
		if (strcmp(line, "SETEVENTS HS_DESC HS_DESC_CONTENT "
		    "STATUS_CLIENT CIRC SIGNAL") == 0 ||
		    strcmp(line, "SIGNAL ACTIVE") == 0)
			write_all(tor, "250 OK\r\n", 8);
		else if (strcmp(line, "GETINFO status/circuit-established") ==
		    0) {
			static const char ok[] = "250-status/circuit-"
			    "established=1\r\n250 OK\r\n";

			write_all(tor, ok, sizeof(ok) - 1);
		}
		else if (strcmp(line, "GETINFO dir/status-vote/current/"
		    "consensus-microdesc md/all") == 0)
			answer_getinfo(tor, f->now);
		else if (strncmp(line, want, strlen(want)) == 0) {
			/* One HSDir of the ring, by fingerprint. */
			CHECK_INT_EQ(strlen(line + strlen(want)), 40);
			CHECK_INT_EQ(strspn(line + strlen(want),
			    "0123456789ABCDEF"), 40);
			write_all(tor, "250 OK\r\n", 8);
			return;
		} else {
			fprintf(stderr, "unexpected command: %s\n", line);
			exit(1);
		}
	}
}

static void
push_descriptor(int tor, const struct fixture *f, const char *desc,
    size_t len)
{
	char line[512];

	snprintf(line, sizeof(line), "650 HS_DESC RECEIVED %s NO_AUTH "
	    "$1DDC42DADEB7938D572E08DB959D65DA89EE836E~r6 "
	    "kkOZq+12o/8so+SGsksgq/Vp+x3KSeD5bsnWo+Cecxk\r\n"
	    "650+HS_DESC_CONTENT %s kkOZq+12o/8so+SGsksgq/Vp+x3KSeD5bsnWo+Cecxk "
	    "$1DDC42DADEB7938D572E08DB959D65DA89EE836E~r6\r\n",
	    f->address, f->address);
	write_all(tor, line, strlen(line));
	write_block(tor, desc, len);
	write_all(tor, "650 OK\r\n", 8);
}

static char *
make_descriptor(struct fixture *f, size_t *len)
{
	struct hsdesc_intro_point ips[2];
	struct hsdesc_encode_params p;
	struct hsdesc_encode_report rep;
	char *out = NULL;

	fixture_intro_point(&ips[0], f->now, 0);
	fixture_intro_point(&ips[1], f->now, 1);
	fixture_params(&p, f, ips, 2);
	if (hsdesc_encode(&p, &out, len, &rep) != HSDESC_OK)
		abort();
	return out;
}

static void
expect_state(uint32_t state)
{
	struct peer_state_msg s;
	struct ipc_msg msg;

	recv_msg(&peer, &msg);
	CHECK_INT_EQ(msg.type, PEER_INSTANCE_STATE);
	CHECK_INT_EQ(peer_state_parse(&msg, &s), 0);
	CHECK_INT_EQ(s.state, state);
}

static void
expect_fetch(uint32_t outcome, const struct fixture *f)
{
	struct peer_fetch_msg r;
	struct ipc_msg msg;

	recv_msg(&peer, &msg);
	CHECK_INT_EQ(msg.type, PEER_INSTANCE_FETCH);
	CHECK_INT_EQ(msg.len, PEER_INSTANCE_FETCH_LEN);
	CHECK_INT_EQ(peer_fetch_parse(&msg, &r), 0);
	CHECK_STR_EQ(peer_fetch_outcome_name(r.outcome),
	    peer_fetch_outcome_name(outcome));
	CHECK(r.service == 0 && r.instance == 0);
	CHECK(memcmp(r.instance_key, f->id_pk, 32) == 0);
}

/* Exactly len bytes from fd into buf. */
static void
read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		wait_readable(fd);
		if ((n = read(fd, buf + off, len - off)) <= 0)
			abort();
		off += (size_t)n;
	}
}

/*
 * One probe: fetchd asks for a SOCKS connection, gets one end of a
 * socketpair, and the test is tor's SOCKS port on the other: username
 * authentication (the isolation generation in the name), CONNECT to the
 * instance's address and port 8080, then reply.  On success the HTTP
 * check follows, answered with http (a status line).
 */
static void
serve_probe(const struct fixture *f, uint32_t isolation, uint8_t reply,
    const char *http)
{
	static const uint8_t methods[] = { 0x05, 0x01, 0x02 };
	uint8_t in[512], ok[10] = { 0x05, 0x00, 0x00, 0x01 };
	char user[64], host[80], req[512];
	struct ipc_builder b;
	struct ipc_msg msg;
	int sv[2];
	size_t n;

	do
		recv_msg(&parent, &msg);
	while (msg.type == PC_CONTROL_REQUEST);
	CHECK_INT_EQ(msg.type, PC_SOCKS_REQUEST);
	CHECK_INT_EQ(msg.len, 4);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	ipc_builder_init(&b, sbuf, sizeof(sbuf), PC_SOCKS_FD, 0);
	ipc_add_bytes(&b, msg.payload, 4);
	if (ipc_send(&parent, &b, sv[1]) == -1)
		abort();
	close(sv[1]);

	read_exact(sv[0], in, 3);
	CHECK(memcmp(in, methods, 3) == 0);
	write_all(sv[0], "\x05\x02", 2);
	read_exact(sv[0], in, 2);
	CHECK_INT_EQ(in[0], 1);
	read_exact(sv[0], in + 2, in[1] + 1u);
	snprintf(user, sizeof(user), "onionbalanced-probe-%u-%.16s",
	    isolation, f->address);
	CHECK_INT_EQ(in[1], strlen(user));
	CHECK(memcmp(in + 2, user, strlen(user)) == 0);
	read_exact(sv[0], in + 3 + in[1], in[2 + in[1]]);	/* password */
	write_all(sv[0], "\x01\x00", 2);
	read_exact(sv[0], in, 5);
	CHECK(memcmp(in, "\x05\x01\x00\x03", 4) == 0);
	read_exact(sv[0], in + 5, in[4] + 2u);
	snprintf(host, sizeof(host), "%s.onion", f->address);
	CHECK_INT_EQ(in[4], strlen(host));
	CHECK(memcmp(in + 5, host, strlen(host)) == 0);
	CHECK_INT_EQ(in[5 + in[4]] * 256 + in[6 + in[4]], 8080);
	ok[1] = reply;
	write_all(sv[0], (const char *)ok, sizeof(ok));
	if (http != NULL) {
		n = 0;
		while (n < 4 || memcmp(req + n - 4, "\r\n\r\n", 4) != 0) {
			read_exact(sv[0], (uint8_t *)req + n, 1);
			if (++n >= sizeof(req) - 1)
				abort();
		}
		req[n] = '\0';
		CHECK(strncmp(req, "GET /health HTTP/1.0\r\nHost: ", 28) == 0);
		write_all(sv[0], http, strlen(http));
	}
	close(sv[0]);
}

static void
expect_liveness(uint32_t liveness, const char *reason)
{
	struct peer_liveness_msg l;
	struct ipc_msg msg;

	recv_msg(&peer, &msg);
	CHECK_INT_EQ(msg.type, PEER_INSTANCE_LIVENESS);
	CHECK_INT_EQ(peer_liveness_parse(&msg, &l), 0);
	CHECK_STR_EQ(peer_liveness_name(l.liveness),
	    peer_liveness_name(liveness));
	if (reason != NULL)
		CHECK_STR_EQ(l.reason, reason);
}

/*
 * Two failures in a row drop the instance (the second at once, on fresh
 * circuits: isolation 1); a good probe makes it RETURNING; a failed HTTP
 * check drops it again.
 */
static void
check_probes(const struct fixture *f)
{
	serve_probe(f, 0, 0xF2, NULL);
	expect_liveness(PEER_LIVENESS_SUSPECT, "");
	serve_probe(f, 1, 0xF2, NULL);
	expect_liveness(PEER_LIVENESS_DEAD,
	    "introduction failed (SOCKS 0xF2)");
	serve_probe(f, 1, 0x00, "HTTP/1.1 204 No Content\r\n\r\n");
	expect_liveness(PEER_LIVENESS_RETURNING, NULL);
	serve_probe(f, 1, 0x00, "HTTP/1.0 503 Service Unavailable\r\n\r\n");
	expect_liveness(PEER_LIVENESS_DEAD, "health check: HTTP 503");
}

static void
test_fetchd_end_to_end(void)
{
	int psv[2], peersv[2], torsv[2], status;
	struct peer_desc_msg d;
	struct fixture f;
	struct ipc_msg msg;
	size_t len;
	pid_t pid;
	char *desc;

	fixture_init(&f, time(NULL), 1440);
	desc = make_descriptor(&f, &len);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, psv) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, peersv) ==
	    -1 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, torsv) ==
	    -1 ||
	    ipc_channel_init(&parent, psv[0], "parent", PC_CAP, pc_types,
	    sizeof(pc_types) / sizeof(pc_types[0])) == -1 ||
	    ipc_channel_init(&peer, peersv[0], "peer", PEER_CAP,
	    peer_msg_types, peer_msg_ntypes) == -1)
		abort();
	pid = start_fetchd(psv[1]);
	send_fd(PC_PEER_FD, peersv[1]);
	send_config(&f);
	recv_msg(&parent, &msg);
	CHECK_INT_EQ(msg.type, PC_READY);
	CHECK_INT_EQ(msg.len, 4);
	CHECK_INT_EQ(get_u32_be(msg.payload), 1);
	expect_state(PEER_STATE_NO_DESCRIPTOR);

	send_fd(PC_CONTROL_FD, torsv[1]);
	serve_until_hsfetch(torsv[0], &f);
	push_descriptor(torsv[0], &f, desc, len);
	recv_msg(&peer, &msg);
	CHECK_INT_EQ(msg.type, PEER_INSTANCE_DESC);
	CHECK_INT_EQ(peer_desc_parse(&msg, &d), 0);
	CHECK_INT_EQ(d.n_intro, 2);
	CHECK(memcmp(d.instance_key, f.id_pk, 32) == 0);
	expect_fetch(PEER_FETCH_NEW, &f);
	/* The same descriptor again (another fetch's): a result, no news. */
	push_descriptor(torsv[0], &f, desc, len);
	expect_fetch(PEER_FETCH_NOT_NEWER, &f);
	check_probes(&f);

	/* tor goes away: fetchd asks the parent for a new connection. */
	close(torsv[0]);
	do
		recv_msg(&parent, &msg);
	while (msg.type == PC_SOCKS_REQUEST);
	CHECK_INT_EQ(msg.type, PC_CONTROL_REQUEST);

	/* The parent goes away: fetchd exits 0. */
	ipc_channel_close(&parent);
	if (waitpid(pid, &status, 0) != pid)
		abort();
	CHECK(WIFEXITED(status));
	CHECK_INT_EQ(WEXITSTATUS(status), 0);
	ipc_channel_close(&peer);
	free(desc);
	fixture_free(&f);
}

TEST_MAIN(
	TEST_CASE(test_fetchd_end_to_end),
)

/*
 * IPC framing over real SOCK_SEQPACKET socketpairs: round trips, fd
 * passing, and every way a datagram can be malformed.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "digest.h"
#include "ipc.h"
#include "test.h"

enum { T_PLAIN = 1, T_FD = 2, T_EMPTY = 3 };

static const struct ipc_type test_types[] = {
	{ T_PLAIN, "PLAIN", 0 },
	{ T_FD, "FD", IPC_TYPE_FD },
	{ T_EMPTY, "EMPTY", 0 },
};

#define TEST_CAP	256

struct pair {
	struct ipc_channel	a, b;
};

static void
pair_open(struct pair *p)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		abort();
	if (ipc_channel_init(&p->a, sv[0], "a", TEST_CAP, test_types, 3) == -1 ||
	    ipc_channel_init(&p->b, sv[1], "b", TEST_CAP, test_types, 3) == -1)
		abort();
}

static void
pair_close(struct pair *p)
{
	ipc_channel_close(&p->a);
	ipc_channel_close(&p->b);
}

/* Sends raw bytes, bypassing the builder's and sender's checks. */
static void
send_raw(int fd, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cb;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof(mh));
	memset(&cb, 0, sizeof(cb));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		mh.msg_control = cb.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	if (sendmsg(fd, &mh, 0) != (ssize_t)len)
		abort();
}

static void
header(uint8_t hdr[IPC_HDR_LEN], uint32_t type, uint32_t len, uint32_t id)
{
	put_u32_be(hdr, type);
	put_u32_be(hdr + 4, len);
	put_u32_be(hdr + 8, id);
}

static void
test_round_trip(void)
{
	struct pair p;
	struct ipc_builder b;
	struct ipc_msg m;
	struct ipc_cursor c;
	uint8_t buf[IPC_HDR_LEN + TEST_CAP], u8 = 0, raw[3];
	uint32_t u32 = 0;
	uint64_t u64 = 0;
	const char *s = NULL;

	pair_open(&p);
	ipc_builder_init(&b, buf, sizeof(buf), T_PLAIN, 77);
	ipc_add_u8(&b, 0xa5);
	ipc_add_u32(&b, 0x01020304);
	ipc_add_u64(&b, 0x1122334455667788ULL);
	ipc_add_bytes(&b, "xyz", 3);
	ipc_add_string(&b, "hello");
	CHECK_INT_EQ(ipc_send(&p.a, &b, -1), 0);
	/* Big-endian on the wire, as documented. */
	CHECK_HEX(buf, 17, "00000001" "00000016" "0000004d" "a5" "01020304");

	CHECK_INT_EQ(ipc_recv(&p.b, &m), IPC_OK);
	CHECK_INT_EQ(m.type, T_PLAIN);
	CHECK_INT_EQ(m.id, 77);
	CHECK_INT_EQ(m.len, 1 + 4 + 8 + 3 + 6);
	CHECK_INT_EQ(m.fd, -1);
	ipc_cursor_init(&c, &m);
	CHECK_INT_EQ(ipc_get_u8(&c, &u8), 0);
	CHECK_INT_EQ(ipc_get_u32(&c, &u32), 0);
	CHECK_INT_EQ(ipc_get_u64(&c, &u64), 0);
	CHECK_INT_EQ(ipc_get_bytes(&c, raw, 3), 0);
	CHECK(ipc_cursor_end(&c) == -1);	/* the string is still there */
	CHECK_INT_EQ(ipc_get_string(&c, &s, 5), 0);
	CHECK_INT_EQ(ipc_cursor_end(&c), 0);
	CHECK_INT_EQ(u8, 0xa5);
	CHECK_INT_EQ(u32, 0x01020304);
	CHECK(u64 == 0x1122334455667788ULL);
	CHECK(memcmp(raw, "xyz", 3) == 0);
	CHECK_STR_EQ(s, "hello");
	CHECK_STR_EQ(ipc_type_name(&p.b, T_FD), "FD");
	CHECK(ipc_type_name(&p.b, 99) == NULL);
	pair_close(&p);
}

static void
test_empty_payload_and_eof(void)
{
	struct pair p;
	struct ipc_builder b;
	struct ipc_msg m;
	struct ipc_cursor c;
	uint8_t buf[IPC_HDR_LEN];

	pair_open(&p);
	ipc_builder_init(&b, buf, sizeof(buf), T_EMPTY, 1);
	CHECK_INT_EQ(ipc_send(&p.a, &b, -1), 0);
	CHECK_INT_EQ(ipc_recv(&p.b, &m), IPC_OK);
	CHECK_INT_EQ(m.len, 0);
	CHECK_INT_EQ(ipc_open_fixed(&c, &m, 0), 0);
	CHECK_INT_EQ(ipc_cursor_end(&c), 0);
	close(p.a.fd);
	p.a.fd = -1;
	CHECK_INT_EQ(ipc_recv(&p.b, &m), IPC_EOF);
	pair_close(&p);
}

static void
test_nonblocking(void)
{
	struct pair p;
	struct ipc_msg m;

	pair_open(&p);
	CHECK(fcntl(p.b.fd, F_SETFL, O_NONBLOCK) == 0);
	CHECK_INT_EQ(ipc_recv(&p.b, &m), IPC_WOULDBLOCK);
	CHECK_INT_EQ(ipc_recv_or_die(&p.b, &m), -1);
	pair_close(&p);
}

static void
test_fd_passing(void)
{
	struct pair p;
	struct ipc_builder b;
	struct ipc_msg m;
	uint8_t buf[IPC_HDR_LEN + 4];
	int pfd[2];
	char c = 0;

	pair_open(&p);
	CHECK(pipe(pfd) == 0);
	ipc_builder_init(&b, buf, sizeof(buf), T_FD, 5);
	ipc_add_u32(&b, 42);
	CHECK_INT_EQ(ipc_send(&p.a, &b, pfd[0]), 0);
	close(pfd[0]);
	CHECK_INT_EQ(ipc_recv(&p.b, &m), IPC_OK);
	CHECK(m.fd >= 0);
	CHECK(fcntl(m.fd, F_GETFD) & FD_CLOEXEC);
	CHECK(write(pfd[1], "k", 1) == 1);
	CHECK(read(m.fd, &c, 1) == 1);
	CHECK_INT_EQ(c, 'k');
	close(m.fd);
	close(pfd[1]);
	pair_close(&p);
}

static void
test_sender_refuses_what_receiver_would(void)
{
	struct pair p;
	struct ipc_builder b;
	uint8_t buf[IPC_HDR_LEN + TEST_CAP + 8], small[IPC_HDR_LEN + 2];
	uint8_t big[TEST_CAP + 1];

	pair_open(&p);
	memset(big, 0, sizeof(big));
	/* fd on a type without one, and no fd on a type with one */
	ipc_builder_init(&b, buf, sizeof(buf), T_PLAIN, 0);
	CHECK_INT_EQ(ipc_send(&p.a, &b, 0), -1);
	CHECK_INT_EQ(errno, EINVAL);
	ipc_builder_init(&b, buf, sizeof(buf), T_FD, 0);
	CHECK_INT_EQ(ipc_send(&p.a, &b, -1), -1);
	/* unknown type */
	ipc_builder_init(&b, buf, sizeof(buf), 99, 0);
	CHECK_INT_EQ(ipc_send(&p.a, &b, -1), -1);
	/* over the channel's cap */
	ipc_builder_init(&b, buf, sizeof(buf), T_PLAIN, 0);
	ipc_add_bytes(&b, big, sizeof(big));
	CHECK(!b.overflow);
	CHECK_INT_EQ(ipc_send(&p.a, &b, -1), -1);
	/* over the builder's buffer: sticky, unsendable */
	ipc_builder_init(&b, small, sizeof(small), T_PLAIN, 0);
	ipc_add_u32(&b, 1);
	ipc_add_u8(&b, 1);
	CHECK(b.overflow);
	CHECK_INT_EQ(ipc_builder_finish(&b), -1);
	CHECK_INT_EQ(ipc_send(&p.a, &b, -1), -1);
	pair_close(&p);
}

static void
expect_raw(const void *dgram, size_t len, const int *fds, size_t nfds,
    enum ipc_status want)
{
	struct pair p;
	struct ipc_msg m;

	pair_open(&p);
	send_raw(p.a.fd, dgram, len, fds, nfds);
	CHECK_INT_EQ(ipc_recv(&p.b, &m), want);
	CHECK_INT_EQ(m.fd, -1);
	pair_close(&p);
}

static void
test_malformed_datagrams(void)
{
	uint8_t d[IPC_HDR_LEN + 2 * TEST_CAP];

	memset(d, 0, sizeof(d));
	header(d, T_PLAIN, 0, 0);
	expect_raw(d, 5, NULL, 0, IPC_ERR_SHORT);
	expect_raw(d, IPC_HDR_LEN - 1, NULL, 0, IPC_ERR_SHORT);
	/* length field says 3, datagram has 2 */
	header(d, T_PLAIN, 3, 0);
	expect_raw(d, IPC_HDR_LEN + 2, NULL, 0, IPC_ERR_LENGTH);
	/* length field says 1, datagram has 2 */
	header(d, T_PLAIN, 1, 0);
	expect_raw(d, IPC_HDR_LEN + 2, NULL, 0, IPC_ERR_LENGTH);
	/* one byte over the cap, with a consistent length field */
	header(d, T_PLAIN, TEST_CAP + 1, 0);
	expect_raw(d, IPC_HDR_LEN + TEST_CAP + 1, NULL, 0, IPC_ERR_TOO_LONG);
	/* far over the cap: the kernel truncates, MSG_TRUNC */
	header(d, T_PLAIN, 2 * TEST_CAP, 0);
	expect_raw(d, sizeof(d), NULL, 0, IPC_ERR_TOO_LONG);
	/* exactly the cap is fine */
	header(d, T_PLAIN, TEST_CAP, 0);
	expect_raw(d, IPC_HDR_LEN + TEST_CAP, NULL, 0, IPC_OK);
	/* unknown type */
	header(d, 1000, 0, 0);
	expect_raw(d, IPC_HDR_LEN, NULL, 0, IPC_ERR_TYPE);
	/* garbage */
	memset(d, 0xff, sizeof(d));
	expect_raw(d, 40, NULL, 0, IPC_ERR_LENGTH);
}

/* The receiver closes a rejected fd: the pipe then has no reader left. */
static void
check_pipe_has_no_reader(int wfd)
{
	CHECK(write(wfd, "x", 1) == -1 && errno == EPIPE);
}

static void
test_bad_fds_are_rejected_and_closed(void)
{
	uint8_t d[IPC_HDR_LEN];
	int pfd[2], two[2];

	signal(SIGPIPE, SIG_IGN);
	/* an fd on a type that has none */
	CHECK(pipe(pfd) == 0);
	header(d, T_PLAIN, 0, 0);
	expect_raw(d, sizeof(d), &pfd[0], 1, IPC_ERR_FD);
	close(pfd[0]);
	check_pipe_has_no_reader(pfd[1]);
	close(pfd[1]);

	/* no fd on a type that needs one */
	header(d, T_FD, 0, 0);
	expect_raw(d, sizeof(d), NULL, 0, IPC_ERR_FD);

	/* two fds: the control buffer holds one, MSG_CTRUNC */
	CHECK(pipe(pfd) == 0);
	two[0] = pfd[0];
	two[1] = pfd[0];
	expect_raw(d, sizeof(d), two, 2, IPC_ERR_CTRUNC);
	close(pfd[0]);
	check_pipe_has_no_reader(pfd[1]);
	close(pfd[1]);

	/* an fd on a datagram that is malformed anyway */
	CHECK(pipe(pfd) == 0);
	expect_raw(d, 3, &pfd[0], 1, IPC_ERR_SHORT);
	close(pfd[0]);
	check_pipe_has_no_reader(pfd[1]);
	close(pfd[1]);
}

static struct ipc_msg
msg_of(const uint8_t *payload, size_t len)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.payload = payload;
	m.len = len;
	m.fd = -1;
	return m;
}

static void
test_cursor_bounds(void)
{
	static const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct ipc_msg m = msg_of(data, sizeof(data));
	struct ipc_cursor c;
	uint64_t u64;
	uint32_t u32 = 0;
	uint8_t u8;

	/* fixed size: only the exact length opens */
	CHECK_INT_EQ(ipc_open_fixed(&c, &m, 6), -1);
	CHECK_INT_EQ(ipc_get_u8(&c, &u8), -1);
	CHECK_INT_EQ(ipc_open_fixed(&c, &m, 8), -1);
	CHECK_INT_EQ(ipc_open_fixed(&c, &m, 7), 0);

	CHECK_INT_EQ(ipc_get_u64(&c, &u64), -1);	/* 7 < 8 */
	/* a failure is sticky: the next get fails although it would fit */
	CHECK_INT_EQ(ipc_get_u8(&c, &u8), -1);
	CHECK_INT_EQ(ipc_cursor_end(&c), -1);

	ipc_cursor_init(&c, &m);
	CHECK_INT_EQ(ipc_get_u32(&c, &u32), 0);
	CHECK_INT_EQ(u32, 0x01020304);
	CHECK_INT_EQ(ipc_cursor_end(&c), -1);		/* 3 bytes left */
	CHECK_INT_EQ(ipc_get_u32(&c, &u32), -1);
	CHECK_INT_EQ(ipc_cursor_end(&c), -1);

	m = msg_of(NULL, 0);
	ipc_cursor_init(&c, &m);
	CHECK_INT_EQ(ipc_get_u8(&c, &u8), -1);
}

static void
test_cursor_strings(void)
{
	static const uint8_t ok[] = "abc";		/* with its NUL */
	static const uint8_t no_nul[] = { 'a', 'b', 'c' };
	struct ipc_msg m = msg_of(ok, sizeof(ok));
	struct ipc_cursor c;
	const char *s;

	ipc_cursor_init(&c, &m);
	CHECK_INT_EQ(ipc_get_string(&c, &s, 3), 0);
	CHECK_STR_EQ(s, "abc");
	CHECK_INT_EQ(ipc_cursor_end(&c), 0);

	ipc_cursor_init(&c, &m);
	CHECK_INT_EQ(ipc_get_string(&c, &s, 2), -1);	/* longer than maxlen */

	m = msg_of(no_nul, sizeof(no_nul));
	ipc_cursor_init(&c, &m);
	CHECK_INT_EQ(ipc_get_string(&c, &s, 100), -1);	/* no NUL at all */

	m = msg_of(NULL, 0);
	ipc_cursor_init(&c, &m);
	CHECK_INT_EQ(ipc_get_string(&c, &s, 100), -1);
}

static void
test_parse_without_socket(void)
{
	struct pair p;
	struct ipc_msg m;
	uint8_t d[IPC_HDR_LEN + 1];

	pair_open(&p);
	header(d, T_PLAIN, 1, 9);
	d[IPC_HDR_LEN] = 0x42;
	CHECK_INT_EQ(ipc_parse(&p.a, &m, d, sizeof(d)), IPC_OK);
	CHECK_INT_EQ(m.id, 9);
	CHECK_INT_EQ(m.payload[0], 0x42);
	CHECK_INT_EQ(ipc_parse(&p.a, &m, d, sizeof(d) - 1), IPC_ERR_LENGTH);
	pair_close(&p);
}

static void
test_strerror_names_every_status(void)
{
	int st;

	for (st = IPC_OK; st <= IPC_ERR_FD; st++)
		CHECK(strcmp(ipc_strerror((enum ipc_status)st),
		    "unknown ipc status") != 0);
}

TEST_MAIN(
    TEST_CASE(test_round_trip),
    TEST_CASE(test_empty_payload_and_eof),
    TEST_CASE(test_nonblocking),
    TEST_CASE(test_fd_passing),
    TEST_CASE(test_sender_refuses_what_receiver_would),
    TEST_CASE(test_malformed_datagrams),
    TEST_CASE(test_bad_fds_are_rejected_and_closed),
    TEST_CASE(test_cursor_bounds),
    TEST_CASE(test_cursor_strings),
    TEST_CASE(test_parse_without_socket),
    TEST_CASE(test_strerror_names_every_status))

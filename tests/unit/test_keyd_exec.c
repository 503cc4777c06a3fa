/*
 * The real keyd binary (path in $OB_KEYD), started as the parent starts
 * it: its parent channel at fd 3, the key file as an fd over that channel,
 * the request channel handed over as an fd.  Checks the configuration
 * handshake, that no request is served before CONFIG_DONE, a full
 * begin/certify/sign round with the results verified, that a malformed
 * request or a requester that does not read costs only the request channel,
 * and that EOF from the parent ends keyd cleanly.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include "digest.h"
#include "encoding.h"
#include "hs_common.h"
#include "ipc.h"
#include "keyd.h"
#include "masterkey.h"
#include "test.h"
#include "torcert.h"

struct child {
	pid_t			 pid;
	struct ipc_channel	 parent;
	struct ipc_channel	 req;
	uint8_t			 buf[IPC_HDR_LEN + KEYD_REQUEST_CAP];
	struct ipc_builder	 b;
	struct ipc_msg		 m;
	uint32_t		 channel_id;	/* of the last REQUEST_CHANNEL */
};

/*
 * A new request channel, handed to keyd as the parent does; the old one
 * (if any) is closed.  sndbuf > 0 shrinks keyd's send buffer, so that a
 * requester that does not read fills it after a few replies.
 */
static void
give_request_channel(struct child *c, int sndbuf)
{
	int rq[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rq) == -1 ||
	    (sndbuf > 0 && setsockopt(rq[1], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == -1))
		abort();
	ipc_channel_close(&c->req);
	if (ipc_channel_init(&c->req, rq[0], "test-publishd", KEYD_REQUEST_CAP,
	    keyd_request_types, keyd_request_ntypes) == -1)
		abort();
	/* keyd's end of the request channel travels over the parent channel */
	/* the parent puts the publishd's pid here; keyd echoes it on a drop */
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf),
	    KEYD_P_REQUEST_CHANNEL, ++c->channel_id);
	CHECK_INT_EQ(ipc_send(&c->parent, &c->b, rq[1]), 0);
	close(rq[1]);
	CHECK_INT_EQ(ipc_recv(&c->parent, &c->m), IPC_OK);
	CHECK_INT_EQ(c->m.type, KEYD_P_REQUEST_CHANNEL_REPLY);
}

static void
spawn_keyd(struct child *c)
{
	const char *path = getenv("OB_KEYD");
	int pv[2];

	if (path == NULL ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pv) == -1)
		abort();
	if ((c->pid = fork()) == -1)
		abort();
	if (c->pid == 0) {
		if (dup2(pv[1], KEYD_PARENT_FD) == -1)
			_exit(126);
		execl(path, "keyd", (char *)NULL);
		_exit(127);
	}
	close(pv[1]);
	c->channel_id = 1000;
	c->req.fd = -1;
	c->req.rbuf = NULL;
	if (ipc_channel_init(&c->parent, pv[0], "test-parent", KEYD_PARENT_CAP,
	    keyd_parent_types, keyd_parent_ntypes) == -1)
		abort();
	give_request_channel(c, 0);
}

static int
wait_keyd(struct child *c)
{
	int status;

	ipc_channel_close(&c->parent);
	ipc_channel_close(&c->req);
	if (waitpid(c->pid, &status, 0) != c->pid)
		abort();
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int
key_fd(const struct masterkey *mk)
{
	int fd = memfd_create("key", MFD_CLOEXEC);

	if (fd == -1)
		abort();
	if (mk != NULL) {
		if (masterkey_write_tor(fd, mk) != MASTERKEY_OK)
			abort();
	} else if (write(fd, "not a key\n", 10) != 10)
		abort();
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

static void
send_key(struct child *c, uint32_t service, int fd)
{
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_P_KEY, 10 + service);
	ipc_add_u32(&c->b, service);
	CHECK_INT_EQ(ipc_send(&c->parent, &c->b, fd), 0);
	close(fd);
	CHECK_INT_EQ(ipc_recv(&c->parent, &c->m), IPC_OK);
	CHECK_INT_EQ(c->m.id, 10 + service);
}

static void
config_done(struct child *c)
{
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_P_CONFIG_DONE, 2);
	CHECK_INT_EQ(ipc_send(&c->parent, &c->b, -1), 0);
	CHECK_INT_EQ(ipc_recv(&c->parent, &c->m), IPC_OK);
	CHECK_INT_EQ(c->m.type, KEYD_P_CONFIG_DONE_REPLY);
	CHECK_INT_EQ(c->m.len, 4);
	CHECK_INT_EQ(get_u32_be(c->m.payload), 1);
}

static int
readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static void
request(struct child *c, uint32_t want_type)
{
	CHECK_INT_EQ(ipc_send(&c->req, &c->b, -1), 0);
	CHECK_INT_EQ(ipc_recv(&c->req, &c->m), IPC_OK);
	CHECK_INT_EQ(c->m.type, want_type);
}

static size_t
make_body(char *out, size_t outsz, const uint8_t cert[TORCERT_LEN],
    uint64_t rev)
{
	char b64[256];
	int n;

	if (base64_encode(b64, sizeof(b64), cert, TORCERT_LEN,
	    BASE64_PAD | BASE64_MULTILINE) < 0)
		abort();
	n = snprintf(out, outsz, "hs-descriptor 3\ndescriptor-lifetime 180\n"
	    "descriptor-signing-key-cert\n-----BEGIN ED25519 CERT-----\n%s"
	    "-----END ED25519 CERT-----\nrevision-counter %llu\n"
	    "superencrypted\n-----BEGIN MESSAGE-----\nQUJD\n"
	    "-----END MESSAGE-----\n", b64, (unsigned long long)rev);
	if (n < 0 || (size_t)n >= outsz)
		abort();
	return (size_t)n;
}

static void
begin_and_sign(struct child *c, const uint8_t master_pub[32],
    uint8_t signing[32])
{
	static const char prefix[] = "Tor onion service descriptor sig v3";
	struct hs_period_params hp;
	struct torcert tc;
	uint8_t blinded[32], cert[TORCERT_LEN], sig[64];
	char body[1024], msg[1100];
	uint64_t tp;
	size_t len;

	CHECK_INT_EQ(hs_period_params_init(&hp, 3600, 0), 0);
	tp = hs_time_period_num(&hp, time(NULL));
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_R_BEGIN, 21);
	ipc_add_u32(&c->b, 0);
	ipc_add_u64(&c->b, tp);
	ipc_add_u32(&c->b, 3600);
	ipc_add_u32(&c->b, 0);
	request(c, KEYD_R_BEGIN_REPLY);
	CHECK_INT_EQ(c->m.id, 21);
	if (c->m.len != KEYD_BEGIN_REPLY_LEN)
		return;
	memcpy(signing, c->m.payload, 32);
	memcpy(cert, c->m.payload + 68, TORCERT_LEN);
	CHECK_INT_EQ(hs_blind_pubkey(blinded, master_pub, tp, 1440), 0);
	CHECK_INT_EQ(torcert_check(&tc, cert, TORCERT_LEN,
	    TORCERT_TYPE_SIGNING_HS_DESC, blinded, time(NULL)), TORCERT_OK);

	/* the counter keyd gives now, as publishd asks for it */
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_R_REVISION, 23);
	ipc_add_u32(&c->b, 0);
	ipc_add_bytes(&c->b, signing, 32);
	request(c, KEYD_R_REVISION_REPLY);
	if (c->m.len != 8)
		return;
	len = make_body(body, sizeof(body), cert, get_u64_be(c->m.payload));
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_R_SIGN, 22);
	ipc_add_u32(&c->b, 0);
	ipc_add_bytes(&c->b, signing, 32);
	ipc_add_u32(&c->b, 0);
	ipc_add_u32(&c->b, (uint32_t)len);
	ipc_add_bytes(&c->b, body, len);
	request(c, KEYD_R_SIGN_REPLY);
	if (c->m.len != 64)
		return;
	memcpy(sig, c->m.payload, 64);
	memcpy(msg, prefix, sizeof(prefix) - 1);
	memcpy(msg + sizeof(prefix) - 1, body, len);
	CHECK_INT_EQ(ed25519_verify(sig, (uint8_t *)msg,
	    sizeof(prefix) - 1 + len, signing), 0);
}

static void
test_keyd_binary_serves_after_config(void)
{
	struct child c;
	struct masterkey *mk;
	uint8_t signing[32];

	CHECK(sodium_init() >= 0);
	CHECK((mk = masterkey_new()) != NULL);
	CHECK_INT_EQ(masterkey_generate(mk), MASTERKEY_OK);
	spawn_keyd(&c);

	send_key(&c, 0, key_fd(mk));
	CHECK_INT_EQ(c.m.type, KEYD_P_KEY_REPLY);
	CHECK(c.m.len == 32 && memcmp(c.m.payload, mk->pub, 32) == 0);
	/* a bad key file is a refusal with the parser's reason */
	send_key(&c, 1, key_fd(NULL));
	CHECK_INT_EQ(c.m.type, KEYD_P_ERROR);
	CHECK_INT_EQ(get_u32_be(c.m.payload), KEYD_ERR_KEY_FILE);
	CHECK(get_u32_be(c.m.payload + 4) != MASTERKEY_OK);

	/* a request before CONFIG_DONE waits */
	ipc_builder_init(&c.b, c.buf, sizeof(c.buf), KEYD_R_IDENTITY, 20);
	ipc_add_u32(&c.b, 0);
	CHECK_INT_EQ(ipc_send(&c.req, &c.b, -1), 0);
	CHECK(!readable_within(c.req.fd, 200));
	config_done(&c);
	CHECK(readable_within(c.req.fd, 5000));
	CHECK_INT_EQ(ipc_recv(&c.req, &c.m), IPC_OK);
	CHECK_INT_EQ(c.m.type, KEYD_R_IDENTITY_REPLY);
	CHECK(c.m.len == 32 && memcmp(c.m.payload, mk->pub, 32) == 0);

	begin_and_sign(&c, mk->pub, signing);
	/* EOF from the parent: keyd exits cleanly */
	CHECK_INT_EQ(wait_keyd(&c), 0);
	masterkey_free(mk);
}

static int
keyd_alive(const struct child *c)
{
	int status;

	return waitpid(c->pid, &status, WNOHANG) == 0;
}

/* keyd's next message to the parent must be REQUEST_CHANNEL_DROPPED. */
static void
expect_dropped(struct child *c, enum keyd_drop_reason reason)
{
	CHECK(readable_within(c->parent.fd, 5000));
	CHECK_INT_EQ(ipc_recv(&c->parent, &c->m), IPC_OK);
	CHECK_INT_EQ(c->m.type, KEYD_P_REQUEST_CHANNEL_DROPPED);
	CHECK_INT_EQ(c->m.id, c->channel_id);	/* which channel it was */
	CHECK_INT_EQ(c->m.len, KEYD_DROPPED_LEN);
	if (c->m.len == KEYD_DROPPED_LEN)
		CHECK_INT_EQ(get_u32_be(c->m.payload), reason);
}

static void
identity_works(struct child *c, const uint8_t pub[32])
{
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_R_IDENTITY, 40);
	ipc_add_u32(&c->b, 0);
	request(c, KEYD_R_IDENTITY_REPLY);
	CHECK(c->m.len == 32 && memcmp(c->m.payload, pub, 32) == 0);
}

/*
 * A malformed request (a compromised publishd) costs the sender its
 * channel, not keyd: keyd tells the parent, stays up, and serves the
 * next channel with the state it had (the period begun before).
 */
static void
test_keyd_binary_drops_channel_on_malformed_request(void)
{
	struct child c;
	struct masterkey *mk;
	uint8_t signing[32];

	CHECK((mk = masterkey_new()) != NULL);
	CHECK_INT_EQ(masterkey_generate(mk), MASTERKEY_OK);
	spawn_keyd(&c);
	send_key(&c, 0, key_fd(mk));
	config_done(&c);
	begin_and_sign(&c, mk->pub, signing);
	ipc_builder_init(&c.b, c.buf, sizeof(c.buf), KEYD_R_IDENTITY, 30);
	ipc_add_u32(&c.b, 0);
	ipc_add_u8(&c.b, 0);		/* 5 bytes: not an IDENTITY */
	CHECK_INT_EQ(ipc_send(&c.req, &c.b, -1), 0);
	CHECK_INT_EQ(ipc_recv(&c.req, &c.m), IPC_EOF);
	expect_dropped(&c, KEYD_DROP_MALFORMED);
	CHECK(keyd_alive(&c));

	/* a reply is not a request either */
	give_request_channel(&c, 0);
	ipc_builder_init(&c.b, c.buf, sizeof(c.buf), KEYD_R_SIGN_REPLY, 31);
	ipc_add_bytes(&c.b, mk->pub, 32);
	ipc_add_bytes(&c.b, mk->pub, 32);
	CHECK_INT_EQ(ipc_send(&c.req, &c.b, -1), 0);
	CHECK_INT_EQ(ipc_recv(&c.req, &c.m), IPC_EOF);
	expect_dropped(&c, KEYD_DROP_MALFORMED);

	/* a type the channel does not know, caught by the framing itself */
	give_request_channel(&c, 0);
	{
		uint8_t raw[IPC_HDR_LEN] = { 0, 0, 0, 99 };	/* len 0, id 0 */

		CHECK(send(c.req.fd, raw, sizeof(raw), 0) ==
		    (ssize_t)sizeof(raw));
	}
	CHECK_INT_EQ(ipc_recv(&c.req, &c.m), IPC_EOF);
	expect_dropped(&c, KEYD_DROP_MALFORMED);

	/* the next honest channel is served, with the period begun before */
	give_request_channel(&c, 0);
	identity_works(&c, mk->pub);
	ipc_builder_init(&c.b, c.buf, sizeof(c.buf), KEYD_R_REVISION, 42);
	ipc_add_u32(&c.b, 0);
	ipc_add_bytes(&c.b, signing, 32);
	request(&c, KEYD_R_REVISION_REPLY);
	begin_and_sign(&c, mk->pub, signing);
	CHECK_INT_EQ(wait_keyd(&c), 0);
	masterkey_free(mk);
}

/*
 * A requester that sends and never reads: keyd queues a few replies, then
 * drops the channel and goes on serving the parent and the next channel.
 */
static void
test_keyd_binary_drops_peer_that_never_reads(void)
{
	struct child c;
	struct masterkey *mk;
	int i, dropped = 0;

	CHECK((mk = masterkey_new()) != NULL);
	CHECK_INT_EQ(masterkey_generate(mk), MASTERKEY_OK);
	spawn_keyd(&c);
	send_key(&c, 0, key_fd(mk));
	config_done(&c);
	give_request_channel(&c, 4096);
	for (i = 0; i < 100000 && !dropped; i++) {
		ipc_builder_init(&c.b, c.buf, sizeof(c.buf), KEYD_R_IDENTITY,
		    (uint32_t)i);
		ipc_add_u32(&c.b, 0);
		if (ipc_send_nowait(&c.req, &c.b, -1) == -1 &&
		    errno != EAGAIN)
			break;		/* keyd closed it */
		dropped = readable_within(c.parent.fd, i % 64 == 0 ? 10 : 0);
	}
	CHECK(i < 100000);
	expect_dropped(&c, KEYD_DROP_NOT_READING);
	CHECK(keyd_alive(&c));
	/* keyd still serves the parent, and the next channel */
	give_request_channel(&c, 0);
	identity_works(&c, mk->pub);
	CHECK_INT_EQ(wait_keyd(&c), 0);
	masterkey_free(mk);
}

TEST_MAIN(
    TEST_CASE(test_keyd_binary_serves_after_config),
    TEST_CASE(test_keyd_binary_drops_channel_on_malformed_request),
    TEST_CASE(test_keyd_binary_drops_peer_that_never_reads))

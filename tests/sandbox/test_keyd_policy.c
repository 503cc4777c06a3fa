/*
 * A publisher that has been taken over, against the real keyd in its
 * sandbox (path in $OB_KEYD; OB_SANDBOX from meson when run as root).
 * It may send keyd anything over the request channel; keyd must refuse
 * to begin a period two ahead (with the true voting interval and with a
 * false one that would shift keyd's idea of "now") and to certify any key
 * under a cert type other than the two intro-point types, answer each
 * refusal with an ERROR, and stay alive and sandboxed throughout.  A
 * malformed request costs the publisher its channel, not keyd.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "encoding.h"
#include "hs_common.h"
#include "ipc.h"
#include "keyd.h"
#include "masterkey.h"
#include "test.h"
#include "torcert.h"

struct keyd_child {
	pid_t			 pid;
	struct ipc_channel	 parent;
	struct ipc_channel	 req;
	uint8_t			 buf[IPC_HDR_LEN + KEYD_REQUEST_CAP];
	struct ipc_builder	 b;
	struct ipc_msg		 m;
};

/*
 * A new request channel from the "parent", as at the start and after
 * publishd's restart; the old one is closed.
 */
static void
new_request_channel(struct keyd_child *c)
{
	int rq[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rq) == -1)
		abort();
	ipc_channel_close(&c->req);
	if (ipc_channel_init(&c->req, rq[0], "test-publishd", KEYD_REQUEST_CAP,
	    keyd_request_types, keyd_request_ntypes) == -1)
		abort();
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf),
	    KEYD_P_REQUEST_CHANNEL, 3);
	CHECK_INT_EQ(ipc_send(&c->parent, &c->b, rq[1]), 0);
	close(rq[1]);
	CHECK_INT_EQ(ipc_recv(&c->parent, &c->m), IPC_OK);
	CHECK_INT_EQ(c->m.type, KEYD_P_REQUEST_CHANNEL_REPLY);
}

static void
spawn_keyd(struct keyd_child *c)
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
	c->req.fd = -1;
	c->req.rbuf = NULL;
	if (ipc_channel_init(&c->parent, pv[0], "test-parent", KEYD_PARENT_CAP,
	    keyd_parent_types, keyd_parent_ntypes) == -1)
		abort();
	new_request_channel(c);
}

/* The key (a fresh one, in tor's format) and CONFIG_DONE: keyd sandboxes. */
static void
configure(struct keyd_child *c, struct masterkey *mk)
{
	int fd = memfd_create("key", MFD_CLOEXEC);

	if (fd == -1 || masterkey_write_tor(fd, mk) != MASTERKEY_OK ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_P_KEY, 10);
	ipc_add_u32(&c->b, 0);
	CHECK_INT_EQ(ipc_send(&c->parent, &c->b, fd), 0);
	close(fd);
	CHECK_INT_EQ(ipc_recv(&c->parent, &c->m), IPC_OK);
	CHECK_INT_EQ(c->m.type, KEYD_P_KEY_REPLY);
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_P_CONFIG_DONE, 2);
	CHECK_INT_EQ(ipc_send(&c->parent, &c->b, -1), 0);
	CHECK_INT_EQ(ipc_recv(&c->parent, &c->m), IPC_OK);
	CHECK_INT_EQ(c->m.type, KEYD_P_CONFIG_DONE_REPLY);
}

/* One line of /proc/<pid>/status, e.g. "Seccomp:\t2". */
static int
status_has(pid_t pid, const char *line)
{
	char path[64], buf[4096];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (strncmp(buf, line, strlen(line)) == 0 &&
		    buf[strlen(line)] == '\n')
			found = 1;
	fclose(f);
	return found;
}

static int
keyd_alive(const struct keyd_child *c)
{
	int status;

	return waitpid(c->pid, &status, WNOHANG) == 0;
}

/* Sends the request built in c->b; returns the reply's type. */
static uint32_t
request(struct keyd_child *c)
{
	CHECK_INT_EQ(ipc_send(&c->req, &c->b, -1), 0);
	CHECK_INT_EQ(ipc_recv(&c->req, &c->m), IPC_OK);
	return c->m.type;
}

static void
check_error(struct keyd_child *c, uint32_t type, enum keyd_error want)
{
	CHECK_INT_EQ(type, KEYD_R_ERROR);
	if (type == KEYD_R_ERROR && c->m.len == KEYD_ERROR_LEN)
		CHECK_INT_EQ(get_u32_be(c->m.payload), want);
	CHECK(keyd_alive(c));
}

static uint32_t
begin(struct keyd_child *c, uint64_t tp, uint32_t voting_s, uint32_t hsdir)
{
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_R_BEGIN, 21);
	ipc_add_u32(&c->b, 0);
	ipc_add_u64(&c->b, tp);
	ipc_add_u32(&c->b, voting_s);
	ipc_add_u32(&c->b, hsdir);
	return request(c);
}

static uint32_t
certify(struct keyd_child *c, const uint8_t signing[32], uint8_t type)
{
	uint8_t key[32];

	randombytes_buf(key, sizeof(key));
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_R_CERTIFY, 22);
	ipc_add_u32(&c->b, 0);
	ipc_add_bytes(&c->b, signing, 32);
	ipc_add_u8(&c->b, type);
	ipc_add_u32(&c->b, torcert_exp_hours(time(NULL), 3 * 3600));
	ipc_add_bytes(&c->b, key, sizeof(key));
	return request(c);
}

/* A well-formed body for the period, with revision-counter 2^64 - 1. */
static uint32_t
sign_max_counter(struct keyd_child *c, const uint8_t signing[32],
    const uint8_t cert[TORCERT_LEN])
{
	char b64[256], body[1024];
	int n;

	if (base64_encode(b64, sizeof(b64), cert, TORCERT_LEN,
	    BASE64_PAD | BASE64_MULTILINE) < 0)
		abort();
	n = snprintf(body, sizeof(body), "hs-descriptor 3\n"
	    "descriptor-lifetime 180\ndescriptor-signing-key-cert\n"
	    "-----BEGIN ED25519 CERT-----\n%s-----END ED25519 CERT-----\n"
	    "revision-counter 18446744073709551615\nsuperencrypted\n"
	    "-----BEGIN MESSAGE-----\nQUJD\n-----END MESSAGE-----\n", b64);
	if (n < 0 || (size_t)n >= sizeof(body))
		abort();
	ipc_builder_init(&c->b, c->buf, sizeof(c->buf), KEYD_R_SIGN, 24);
	ipc_add_u32(&c->b, 0);
	ipc_add_bytes(&c->b, signing, 32);
	ipc_add_u32(&c->b, 0);
	ipc_add_u32(&c->b, (uint32_t)n);
	ipc_add_bytes(&c->b, body, (size_t)n);
	return request(c);
}

static void
test_keyd_sandboxed(struct keyd_child *c)
{
	char uid[64];

	CHECK(status_has(c->pid, "Seccomp:\t2"));
	CHECK(status_has(c->pid, "NoNewPrivs:\t1"));
	if (geteuid() == 0 && getenv("OB_SANDBOX") != NULL) {
		unsigned id = (unsigned)strtoul(getenv("OB_SANDBOX"), NULL, 10);

		snprintf(uid, sizeof(uid), "Uid:\t%u\t%u\t%u\t%u", id, id, id,
		    id);
		CHECK(status_has(c->pid, uid));
	}
}

static void
test_taken_over_publisher(void)
{
	struct keyd_child c;
	struct hs_period_params hp;
	struct masterkey *mk;
	uint8_t signing[32], cert[TORCERT_LEN];
	uint64_t tp;

	if ((mk = masterkey_new()) == NULL ||
	    masterkey_generate(mk) != MASTERKEY_OK)
		abort();
	spawn_keyd(&c);
	configure(&c, mk);
	test_keyd_sandboxed(&c);
	CHECK_INT_EQ(hs_period_params_init(&hp, 3600, 0), 0);
	tp = hs_time_period_num(&hp, time(NULL));

	/*
	 * Two ahead: refused, and with a voting interval that lies too (the
	 * live period length with a 10 s voting interval moves the rotation
	 * offset to 2 minutes).
	 */
	check_error(&c, begin(&c, tp + 2, 3600, 0), KEYD_ERR_PERIOD);
	check_error(&c, begin(&c, tp + 2, 10, 1440), KEYD_ERR_PERIOD);
	check_error(&c, begin(&c, tp + 3, 10, 1440), KEYD_ERR_PERIOD);
	/* Parameters tor cannot have: a 24-hour voting interval, 34560 min. */
	check_error(&c, begin(&c, tp, 86400, 0), KEYD_ERR_PARAMS);

	/* The current period, for a signing key to ask certs of. */
	CHECK_INT_EQ(begin(&c, tp, 3600, 0), KEYD_R_BEGIN_REPLY);
	CHECK_INT_EQ(c.m.len, KEYD_BEGIN_REPLY_LEN);
	memcpy(signing, c.m.payload, 32);
	memcpy(cert, c.m.payload + 68, TORCERT_LEN);

	/* A descriptor-signing cert, a link cert, anything else: refused. */
	check_error(&c, certify(&c, signing, TORCERT_TYPE_SIGNING_HS_DESC),
	    KEYD_ERR_CERT_TYPE);
	check_error(&c, certify(&c, signing, 0x04), KEYD_ERR_CERT_TYPE);
	check_error(&c, certify(&c, signing, 0x00), KEYD_ERR_CERT_TYPE);
	check_error(&c, certify(&c, signing, 0xff), KEYD_ERR_CERT_TYPE);

	/* The two intro-point types still work: the refusals were policy. */
	CHECK_INT_EQ(certify(&c, signing, TORCERT_TYPE_AUTH_HS_IP_KEY),
	    KEYD_R_CERTIFY_REPLY);
	CHECK_INT_EQ(certify(&c, signing, TORCERT_TYPE_CROSS_HS_IP_KEYS),
	    KEYD_R_CERTIFY_REPLY);
	CHECK(keyd_alive(&c));
	test_keyd_sandboxed(&c);

	/*
	 * The revision counter (its key schedule in a fresh secure
	 * allocation, under the filter), and a body with the largest counter
	 * there is: refused.
	 */
	ipc_builder_init(&c.b, c.buf, sizeof(c.buf), KEYD_R_REVISION, 23);
	ipc_add_u32(&c.b, 0);
	ipc_add_bytes(&c.b, signing, 32);
	CHECK_INT_EQ(request(&c), KEYD_R_REVISION_REPLY);
	CHECK_INT_EQ(c.m.len, 8);
	check_error(&c, sign_max_counter(&c, signing, cert), KEYD_ERR_REVISION);
	test_keyd_sandboxed(&c);

	masterkey_free(mk);
	ipc_channel_close(&c.req);
	ipc_channel_close(&c.parent);
	CHECK_INT_EQ(waitpid(c.pid, NULL, 0), c.pid);
}

/*
 * The publisher sends keyd garbage: keyd, under its filter, drops that
 * channel, tells the parent, and stays up to serve the next one.
 */
static void
test_malformed_request_costs_only_the_channel(void)
{
	struct keyd_child c;
	struct masterkey *mk;

	if ((mk = masterkey_new()) == NULL ||
	    masterkey_generate(mk) != MASTERKEY_OK)
		abort();
	spawn_keyd(&c);
	configure(&c, mk);
	test_keyd_sandboxed(&c);
	ipc_builder_init(&c.b, c.buf, sizeof(c.buf), KEYD_R_BEGIN, 40);
	ipc_add_u32(&c.b, 0);		/* 4 bytes: not a BEGIN */
	CHECK_INT_EQ(ipc_send(&c.req, &c.b, -1), 0);
	CHECK_INT_EQ(ipc_recv(&c.req, &c.m), IPC_EOF);
	CHECK_INT_EQ(ipc_recv(&c.parent, &c.m), IPC_OK);
	CHECK_INT_EQ(c.m.type, KEYD_P_REQUEST_CHANNEL_DROPPED);
	CHECK(c.m.len == KEYD_DROPPED_LEN &&
	    get_u32_be(c.m.payload) == KEYD_DROP_MALFORMED);
	CHECK(keyd_alive(&c));
	test_keyd_sandboxed(&c);

	new_request_channel(&c);
	ipc_builder_init(&c.b, c.buf, sizeof(c.buf), KEYD_R_IDENTITY, 41);
	ipc_add_u32(&c.b, 0);
	CHECK_INT_EQ(request(&c), KEYD_R_IDENTITY_REPLY);
	CHECK(c.m.len == 32 && memcmp(c.m.payload, mk->pub, 32) == 0);
	CHECK(keyd_alive(&c));

	masterkey_free(mk);
	ipc_channel_close(&c.req);
	ipc_channel_close(&c.parent);
	CHECK_INT_EQ(waitpid(c.pid, NULL, 0), c.pid);
}

TEST_MAIN(
    TEST_CASE(test_taken_over_publisher),
    TEST_CASE(test_malformed_request_costs_only_the_channel))

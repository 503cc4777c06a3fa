/*
 * publishd's end of keyd's request channel (keyd/PROTOCOL.md).
 *
 * Requests are synchronous: send, then poll() for the reply with a
 * timeout.  keyd is a local process that does nothing but sign, so a
 * reply takes microseconds, and waiting for it keeps the descriptor codec
 * simple (its certify and sign callbacks return their result).  A reply
 * with another id is a late answer to a request that timed out and is
 * skipped.  A timeout or EOF closes the channel: the parent restarts keyd
 * and hands us a new one (PC_KEYD_FD).
 *
 * Replies are checked as strictly as keyd checks requests ("inside is
 * fatal"): a wrong type or size is fatal.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "log.h"
#include "publishd.h"

#define KC_TIMEOUT_MS	5000

const struct ipc_type pd_keyd_types[] = {
	{ KEYD_R_ERROR, "ERROR", 0 },
	{ KEYD_R_IDENTITY, "IDENTITY", 0 },
	{ KEYD_R_IDENTITY_REPLY, "IDENTITY_REPLY", 0 },
	{ KEYD_R_BEGIN, "BEGIN", 0 },
	{ KEYD_R_BEGIN_REPLY, "BEGIN_REPLY", 0 },
	{ KEYD_R_CERTIFY, "CERTIFY", 0 },
	{ KEYD_R_CERTIFY_REPLY, "CERTIFY_REPLY", 0 },
	{ KEYD_R_REVISION, "REVISION", 0 },
	{ KEYD_R_REVISION_REPLY, "REVISION_REPLY", 0 },
	{ KEYD_R_SIGN, "SIGN", 0 },
	{ KEYD_R_SIGN_REPLY, "SIGN_REPLY", 0 },
};
const size_t pd_keyd_ntypes = sizeof(pd_keyd_types) / sizeof(pd_keyd_types[0]);

static const char *const kc_errors[KEYD_ERR_MAX_] = {
	[KEYD_ERR_NONE] = "no error",
	[KEYD_ERR_SERVICE] = "no such service",
	[KEYD_ERR_KEY_FILE] = "key file unusable",
	[KEYD_ERR_PARAMS] = "voting interval or hsdir_interval out of range",
	[KEYD_ERR_PERIOD] = "time period not allowed now",
	[KEYD_ERR_PERIOD_FULL] = "all period slots in use",
	[KEYD_ERR_SIGNING_KEY] = "no period begun with that signing key",
	[KEYD_ERR_CERT_TYPE] = "not an intro-point cert type",
	[KEYD_ERR_EXPIRY] = "cert expiry refused",
	[KEYD_ERR_EXPIRED] = "signing cert expired",
	[KEYD_ERR_CLOCK] = "clock outside the revision counter's range",
	[KEYD_ERR_BODY_SIZE] = "body too large",
	[KEYD_ERR_BODY_FORMAT] = "body format refused",
	[KEYD_ERR_BODY_LIFETIME] = "descriptor-lifetime refused",
	[KEYD_ERR_BODY_CERT] = "body carries another cert",
	[KEYD_ERR_REVISION] = "revision counter below the floor or not now's",
	[KEYD_ERR_INTERNAL] = "keyd failed, or no reply from keyd",
};

const char *
kc_strerror(enum keyd_error err)
{
	if ((unsigned)err >= KEYD_ERR_MAX_ || kc_errors[err] == NULL)
		return "unknown keyd error";
	return kc_errors[err];
}

static int
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int)((now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000);
}

/* Waits for the reply with req's id; skips late replies. */
static int
socket_wait_reply(struct keyd_client *kc, uint32_t id, struct ipc_msg *reply)
{
	struct pollfd pfd = { kc->ch.fd, POLLIN, 0 };
	struct timespec start;
	int left, r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if ((left = kc->timeout_ms - elapsed_ms(&start)) <= 0) {
			log_warnx("keyd: no reply in %d ms", kc->timeout_ms);
			return -1;
		}
		if ((r = poll(&pfd, 1, left)) == -1 && errno != EINTR)
			fatal("poll");
		if (r <= 0)
			continue;
		if ((r = ipc_recv_or_die(&kc->ch, reply)) == 0) {
			log_warnx("keyd: channel closed");
			return -1;
		}
		if (r == -1)
			continue;
		if (reply->id == id)
			return 0;
		log_debug("keyd: skipping late reply %u", reply->id);
	}
}

static int
socket_transact(struct keyd_client *kc, struct ipc_builder *req,
    struct ipc_msg *reply)
{
	uint32_t id = get_u32_be(req->buf + 8);

	if (!kc->connected)
		return -1;
	if (ipc_send(&kc->ch, req, -1) == -1) {
		log_warn("keyd: send");
		keyd_client_close(kc);
		return -1;
	}
	if (socket_wait_reply(kc, id, reply) == -1) {
		keyd_client_close(kc);
		return -1;
	}
	return 0;
}

void
keyd_client_init(struct keyd_client *kc)
{
	memset(kc, 0, sizeof(*kc));
	kc->ch.fd = -1;
	kc->transact = socket_transact;
	kc->timeout_ms = KC_TIMEOUT_MS;
	kc->next_id = 1;
}

int
keyd_client_set_fd(struct keyd_client *kc, int fd)
{
	keyd_client_close(kc);
	if (ipc_channel_init(&kc->ch, fd, "publishd->keyd", KEYD_REQUEST_CAP,
	    pd_keyd_types, pd_keyd_ntypes) == -1)
		return -1;
	kc->connected = 1;
	return 0;
}

void
keyd_client_close(struct keyd_client *kc)
{
	if (kc->connected)
		ipc_channel_close(&kc->ch);
	kc->connected = 0;
	kc->ch.fd = -1;
}

static struct ipc_builder *
request(struct keyd_client *kc, struct ipc_builder *b, enum keyd_req_msg type)
{
	ipc_builder_init(b, kc->qbuf, sizeof(kc->qbuf), (uint32_t)type,
	    kc->next_id++);
	return b;
}

/*
 * Sends b and opens the reply: its OK type with exactly len bytes, or
 * ERROR.  Returns the error code (KEYD_ERR_NONE with *c open).
 */
static enum keyd_error
exchange(struct keyd_client *kc, struct ipc_builder *b, uint32_t ok_type,
    size_t len, struct ipc_msg *reply, struct ipc_cursor *c)
{
	uint32_t code;

	if (ipc_builder_finish(b) == -1)
		fatalx("keyd: request does not fit");
	if (kc->transact(kc, b, reply) == -1) {
		kc->refused[KEYD_ERR_INTERNAL]++;
		return KEYD_ERR_INTERNAL;
	}
	if (reply->type == KEYD_R_ERROR) {
		if (ipc_open_fixed(c, reply, KEYD_ERROR_LEN) == -1 ||
		    ipc_get_u32(c, &code) == -1 || code == KEYD_ERR_NONE ||
		    code >= KEYD_ERR_MAX_)
			fatalx("keyd: malformed ERROR reply");
		kc->refused[code]++;
		return (enum keyd_error)code;
	}
	if (reply->type != ok_type || ipc_open_fixed(c, reply, len) == -1)
		fatalx("keyd: unexpected reply type %u or size %zu",
		    reply->type, reply->len);
	if (ok_type == KEYD_R_CERTIFY_REPLY || ok_type == KEYD_R_SIGN_REPLY)
		kc->signatures++;
	return KEYD_ERR_NONE;
}

enum keyd_error
kc_begin(struct keyd_client *kc, uint32_t service, uint64_t tp,
    const struct hs_period_params *params, uint64_t hsdir_interval_min,
    struct keyd_begin_reply *out)
{
	struct ipc_builder b;
	struct ipc_msg reply;
	struct ipc_cursor c;
	enum keyd_error err;

	request(kc, &b, KEYD_R_BEGIN);
	ipc_add_u32(&b, service);
	ipc_add_u64(&b, tp);
	ipc_add_u32(&b, (uint32_t)params->voting_interval_s);
	ipc_add_u32(&b, (uint32_t)hsdir_interval_min);
	err = exchange(kc, &b, KEYD_R_BEGIN_REPLY, KEYD_BEGIN_REPLY_LEN,
	    &reply, &c);
	if (err != KEYD_ERR_NONE)
		return err;
	if (ipc_get_bytes(&c, out->signing_key, 32) == -1 ||
	    ipc_get_bytes(&c, out->blinded_key, 32) == -1 ||
	    ipc_get_u32(&c, &out->tp_len_min) == -1 ||
	    ipc_get_bytes(&c, out->cert, TORCERT_LEN) == -1 ||
	    ipc_cursor_end(&c) == -1)
		fatalx("keyd: malformed BEGIN reply");
	return KEYD_ERR_NONE;
}

enum keyd_error
kc_certify(struct keyd_client *kc, uint32_t service,
    const uint8_t signing_key[32], uint8_t cert_type, uint32_t exp_hours,
    const uint8_t key[32], uint8_t cert[TORCERT_LEN])
{
	struct ipc_builder b;
	struct ipc_msg reply;
	struct ipc_cursor c;
	enum keyd_error err;

	request(kc, &b, KEYD_R_CERTIFY);
	ipc_add_u32(&b, service);
	ipc_add_bytes(&b, signing_key, 32);
	ipc_add_u8(&b, cert_type);
	ipc_add_u32(&b, exp_hours);
	ipc_add_bytes(&b, key, 32);
	err = exchange(kc, &b, KEYD_R_CERTIFY_REPLY, TORCERT_LEN, &reply, &c);
	if (err != KEYD_ERR_NONE)
		return err;
	if (ipc_get_bytes(&c, cert, TORCERT_LEN) == -1)
		fatalx("keyd: malformed CERTIFY reply");
	return KEYD_ERR_NONE;
}

enum keyd_error
kc_revision(struct keyd_client *kc, uint32_t service,
    const uint8_t signing_key[32], uint64_t *revision)
{
	struct ipc_builder b;
	struct ipc_msg reply;
	struct ipc_cursor c;
	enum keyd_error err;

	request(kc, &b, KEYD_R_REVISION);
	ipc_add_u32(&b, service);
	ipc_add_bytes(&b, signing_key, 32);
	err = exchange(kc, &b, KEYD_R_REVISION_REPLY, 8, &reply, &c);
	if (err != KEYD_ERR_NONE)
		return err;
	if (ipc_get_u64(&c, revision) == -1)
		fatalx("keyd: malformed REVISION reply");
	return KEYD_ERR_NONE;
}

enum keyd_error
kc_sign(struct keyd_client *kc, uint32_t service,
    const uint8_t signing_key[32], uint32_t variant, const uint8_t *body,
    size_t len, uint8_t sig[64])
{
	struct ipc_builder b;
	struct ipc_msg reply;
	struct ipc_cursor c;
	enum keyd_error err;

	if (len > KEYD_BODY_MAX)
		return KEYD_ERR_BODY_SIZE;
	request(kc, &b, KEYD_R_SIGN);
	ipc_add_u32(&b, service);
	ipc_add_bytes(&b, signing_key, 32);
	ipc_add_u32(&b, variant);
	ipc_add_u32(&b, (uint32_t)len);
	ipc_add_bytes(&b, body, len);
	err = exchange(kc, &b, KEYD_R_SIGN_REPLY, KEYD_SIG_LEN, &reply, &c);
	if (err != KEYD_ERR_NONE)
		return err;
	if (ipc_get_bytes(&c, sig, KEYD_SIG_LEN) == -1)
		fatalx("keyd: malformed SIGN reply");
	return KEYD_ERR_NONE;
}

/*
 * keyd's request handlers: each checks the request's size (a wrong size is
 * a protocol violation, reported to the caller as -1), then the policy of
 * PROTOCOL.md (a refusal is an ERROR reply), then does the one thing asked.
 */
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "encoding.h"
#include "keyd.h"
#include "log.h"
#include "revcounter.h"

#define DESC_SIG_PREFIX	"Tor onion service descriptor sig v3"

const struct ipc_type keyd_parent_types[] = {
	{ KEYD_P_ERROR, "ERROR", 0 },
	{ KEYD_P_KEY, "KEY", IPC_TYPE_FD },
	{ KEYD_P_KEY_REPLY, "KEY_REPLY", 0 },
	{ KEYD_P_REQUEST_CHANNEL, "REQUEST_CHANNEL", IPC_TYPE_FD },
	{ KEYD_P_REQUEST_CHANNEL_REPLY, "REQUEST_CHANNEL_REPLY", 0 },
	{ KEYD_P_CONFIG_DONE, "CONFIG_DONE", 0 },
	{ KEYD_P_CONFIG_DONE_REPLY, "CONFIG_DONE_REPLY", 0 },
	{ KEYD_P_REQUEST_CHANNEL_DROPPED, "REQUEST_CHANNEL_DROPPED", 0 },
};
const size_t keyd_parent_ntypes =
    sizeof(keyd_parent_types) / sizeof(keyd_parent_types[0]);

const struct ipc_type keyd_request_types[] = {
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
const size_t keyd_request_ntypes =
    sizeof(keyd_request_types) / sizeof(keyd_request_types[0]);

const char *
keyd_strerror(enum keyd_error err)
{
	switch (err) {
	case KEYD_ERR_NONE: return "no error";
	case KEYD_ERR_SERVICE: return "no such service";
	case KEYD_ERR_KEY_FILE: return "key file not usable";
	case KEYD_ERR_PARAMS: return "period parameters out of range";
	case KEYD_ERR_PERIOD: return "time period not previous, current or next";
	case KEYD_ERR_PERIOD_FULL: return "too many live periods";
	case KEYD_ERR_SIGNING_KEY: return "no period begun with that signing key";
	case KEYD_ERR_CERT_TYPE: return "not an intro-point cert type";
	case KEYD_ERR_EXPIRY: return "cert expiry out of bounds";
	case KEYD_ERR_EXPIRED: return "descriptor-signing cert expired";
	case KEYD_ERR_CLOCK: return "clock outside the revision counter range";
	case KEYD_ERR_BODY_SIZE: return "descriptor body too large";
	case KEYD_ERR_BODY_FORMAT: return "not a v3 outer descriptor body";
	case KEYD_ERR_BODY_LIFETIME: return "descriptor-lifetime out of range";
	case KEYD_ERR_BODY_CERT: return "body does not carry this period's cert";
	case KEYD_ERR_REVISION: return "revision counter below the floor or not now's";
	case KEYD_ERR_INTERNAL: return "internal error";
	case KEYD_ERR_MAX_: break;
	}
	return "unknown keyd error";
}

static time_t
keyd_system_time(void)
{
	return time(NULL);
}

struct keyd *
keyd_new(time_t (*now)(void))
{
	struct keyd *kd;

	if ((kd = sodium_malloc(sizeof(*kd))) == NULL)
		return NULL;
	sodium_memzero(kd, sizeof(*kd));
	kd->now = now != NULL ? now : keyd_system_time;
	return kd;
}

void
keyd_free(struct keyd *kd)
{
	uint32_t i;

	if (kd == NULL)
		return;
	for (i = 0; i < kd->nservices; i++) {
		masterkey_free(kd->services[i].mk);
		sodium_free(kd->services[i].periods);	/* wipes */
	}
	sodium_free(kd);
}

enum keyd_error
keyd_add_service_key(struct keyd *kd, uint32_t index, struct masterkey *mk)
{
	struct keyd_service *svc;
	size_t sz = KEYD_PERIODS_PER_SERVICE * sizeof(struct keyd_period);

	if (kd->config_done || index != kd->nservices ||
	    index >= KEYD_MAX_SERVICES) {
		masterkey_free(mk);
		return KEYD_ERR_SERVICE;
	}
	svc = &kd->services[index];
	if ((svc->periods = sodium_malloc(sz)) == NULL) {
		masterkey_free(mk);
		return KEYD_ERR_INTERNAL;
	}
	sodium_memzero(svc->periods, sz);
	svc->mk = mk;
	kd->nservices++;
	return KEYD_ERR_NONE;
}

enum keyd_error
keyd_add_service_fd(struct keyd *kd, uint32_t index, int fd, uint32_t *detail)
{
	struct masterkey *mk;
	enum masterkey_error merr;

	*detail = 0;
	if ((mk = masterkey_new()) == NULL) {
		close(fd);
		return KEYD_ERR_INTERNAL;
	}
	merr = masterkey_read_fd(mk, fd);
	close(fd);
	if (merr != MASTERKEY_OK) {
		masterkey_free(mk);
		*detail = (uint32_t)merr;
		return KEYD_ERR_KEY_FILE;
	}
	return keyd_add_service_key(kd, index, mk);
}

static struct keyd_service *
find_service(struct keyd *kd, uint32_t index)
{
	if (index >= kd->nservices)
		return NULL;
	return &kd->services[index];
}

static struct keyd_period *
find_period(struct keyd_service *svc, const uint8_t signing_pub[32])
{
	size_t i;

	for (i = 0; i < KEYD_PERIODS_PER_SERVICE; i++)
		if (svc->periods[i].in_use && memcmp(svc->periods[i].signing_pub,
		    signing_pub, ED25519_PUBKEY_LEN) == 0)
			return &svc->periods[i];
	return NULL;
}

static void
reply_error(struct ipc_builder *reply, const struct ipc_msg *req,
    enum keyd_error err, uint32_t detail)
{
	ipc_builder_init(reply, reply->buf, reply->size, KEYD_R_ERROR, req->id);
	ipc_add_u32(reply, (uint32_t)err);
	ipc_add_u32(reply, detail);
}

static void
reply_start(struct ipc_builder *reply, const struct ipc_msg *req,
    enum keyd_req_msg type)
{
	ipc_builder_init(reply, reply->buf, reply->size, (uint32_t)type, req->id);
}

static int
handle_identity(struct keyd *kd, const struct ipc_msg *req,
    struct ipc_builder *reply)
{
	struct ipc_cursor c;
	struct keyd_service *svc;
	uint32_t service;

	if (ipc_open_fixed(&c, req, KEYD_IDENTITY_LEN) == -1 ||
	    ipc_get_u32(&c, &service) == -1 || ipc_cursor_end(&c) == -1)
		return -1;
	if ((svc = find_service(kd, service)) == NULL) {
		reply_error(reply, req, KEYD_ERR_SERVICE, 0);
		return 0;
	}
	reply_start(reply, req, KEYD_R_IDENTITY_REPLY);
	ipc_add_bytes(reply, svc->mk->pub, ED25519_PUBKEY_LEN);
	return 0;
}

/*
 * The period rule.  tp must be the previous, current or next period by
 * keyd's clock, and its shared-random run must have begun: tp * length
 * minutes after the epoch is when tor starts building tp's descriptor
 * (its "second" descriptor).  The second test does not depend on the
 * voting interval the requester claims, which decides the rotation offset:
 * a false interval could otherwise shift keyd's idea of "next" by one
 * period.  See PROTOCOL.md.
 */
static enum keyd_error
check_period(const struct hs_period_params *p, uint64_t tp, time_t now)
{
	uint64_t cur;

	if (now <= 0)
		return KEYD_ERR_CLOCK;
	cur = hs_time_period_num(p, now);
	if (tp > cur + 1 || tp + 1 < cur)
		return KEYD_ERR_PERIOD;
	if (tp > (uint64_t)now / (p->length_min * 60))
		return KEYD_ERR_PERIOD;
	return KEYD_ERR_NONE;
}

static int
cert_expired(const struct keyd_period *kp, time_t now)
{
	return (uint64_t)now > (uint64_t)kp->cert_exp_hours * 3600;
}

/* In use, inside the window, and its signing cert still valid. */
static int
period_is_live(const struct keyd_period *kp, time_t now)
{
	return kp->in_use && !cert_expired(kp, now) &&
	    hs_time_period_num(&kp->params, now) <= kp->tp + 1;
}

/*
 * The slot for (tp, length): the one already holding it (a new BEGIN
 * replaces its key but keeps its revision floor), else one that is not
 * live, else the oldest one that never signed.  NULL if all are live and
 * have signed.
 */
static struct keyd_period *
period_slot(struct keyd_service *svc, uint64_t tp, uint64_t length_min,
    time_t now)
{
	struct keyd_period *kp, *free_slot = NULL, *unsigned_slot = NULL;
	size_t i;

	for (i = 0; i < KEYD_PERIODS_PER_SERVICE; i++) {
		kp = &svc->periods[i];
		if (kp->in_use && kp->tp == tp &&
		    kp->params.length_min == length_min)
			return kp;
		if (free_slot == NULL && !period_is_live(kp, now))
			free_slot = kp;
		if (!kp->has_signed && (unsigned_slot == NULL ||
		    kp->begun < unsigned_slot->begun))
			unsigned_slot = kp;
	}
	if (free_slot == NULL && (free_slot = unsigned_slot) != NULL)
		log_info("period slots full: dropping tp %llu (length %llu "
		    "min), which never signed", (unsigned long long)
		    free_slot->tp, (unsigned long long)
		    free_slot->params.length_min);
	if (free_slot != NULL && free_slot->in_use)
		sodium_memzero(free_slot, sizeof(*free_slot));
	return free_slot;
}

/*
 * Fills kd->fresh with a new signing key for tp, its 0x08 cert signed by
 * the blinded key, and the revision-counter key derived from the blinded
 * secret.  The blinded secret is wiped before returning.
 */
static enum keyd_error
make_period(struct keyd *kd, const struct masterkey *mk,
    const struct hs_period_params *p, uint64_t tp, time_t now)
{
	struct keyd_period *f = &kd->fresh;
	enum keyd_error err = KEYD_ERR_INTERNAL;

	sodium_memzero(f, sizeof(*f));
	f->tp = tp;
	f->params = *p;
	f->srv_start = hs_sr_run_start(p, hs_time_period_start(p, tp));
	f->cert_exp_hours = torcert_exp_hours(now, KEYD_SIGNING_CERT_LIFETIME);
	f->begun = now;
	if (hs_blind_secret(&kd->blinded, f->blinded_pub, &mk->sk, mk->pub,
	    tp, p->length_min) == -1)
		goto out;
	revcounter_key(f->rev_key, &kd->blinded);
	if (ed25519_keypair_generate(&f->sk, f->signing_pub) == -1)
		goto out;
	if (torcert_sign(f->cert, TORCERT_TYPE_SIGNING_HS_DESC,
	    f->cert_exp_hours, f->signing_pub, &kd->blinded,
	    f->blinded_pub) == -1)
		goto out;
	f->in_use = 1;
	err = KEYD_ERR_NONE;
 out:
	sodium_memzero(&kd->blinded, sizeof(kd->blinded));
	return err;
}

/* Moves kd->fresh into slot, keeping the slot's revision floor. */
static void
install_period(struct keyd *kd, struct keyd_period *slot)
{
	int has_signed = slot->in_use && slot->has_signed;
	uint64_t last = slot->last_revision;

	*slot = kd->fresh;
	slot->has_signed = has_signed;
	slot->last_revision = has_signed ? last : 0;
	sodium_memzero(&kd->fresh, sizeof(kd->fresh));
}

/*
 * Only parameters tor could have (keyd.h): refused, not clamped as
 * hs_period_params_init() does for the consensus a client reads.
 */
static int
check_params(struct hs_period_params *p, uint32_t voting_interval_s,
    uint32_t hsdir_interval_min)
{
	if (voting_interval_s < KEYD_VOTING_INTERVAL_MIN ||
	    voting_interval_s > KEYD_VOTING_INTERVAL_MAX)
		return -1;
	if (hsdir_interval_min != 0 &&
	    (hsdir_interval_min < KEYD_PERIOD_LENGTH_MIN ||
	    hsdir_interval_min > KEYD_PERIOD_LENGTH_MAX))
		return -1;
	if (hs_period_params_init(p, voting_interval_s,
	    hsdir_interval_min) == -1)
		return -1;
	if (p->length_min == 0 || p->length_min > KEYD_PERIOD_LENGTH_MAX)
		return -1;
	return 0;
}

static enum keyd_error
begin_period(struct keyd *kd, struct keyd_service *svc, uint64_t tp,
    uint32_t voting_interval_s, uint32_t hsdir_interval_min,
    struct keyd_period **out)
{
	struct hs_period_params p;
	struct keyd_period *slot;
	enum keyd_error err;
	time_t now = kd->now();

	if (check_params(&p, voting_interval_s, hsdir_interval_min) == -1)
		return KEYD_ERR_PARAMS;
	if ((err = check_period(&p, tp, now)) != KEYD_ERR_NONE)
		return err;
	if ((slot = period_slot(svc, tp, p.length_min, now)) == NULL)
		return KEYD_ERR_PERIOD_FULL;
	if ((err = make_period(kd, svc->mk, &p, tp, now)) != KEYD_ERR_NONE)
		return err;
	install_period(kd, slot);
	*out = slot;
	return KEYD_ERR_NONE;
}

static int
handle_begin(struct keyd *kd, const struct ipc_msg *req,
    struct ipc_builder *reply)
{
	struct ipc_cursor c;
	struct keyd_service *svc;
	struct keyd_period *kp = NULL;
	enum keyd_error err;
	uint32_t service, vi, hsdir_interval;
	uint64_t tp;

	if (ipc_open_fixed(&c, req, KEYD_BEGIN_LEN) == -1 ||
	    ipc_get_u32(&c, &service) == -1 || ipc_get_u64(&c, &tp) == -1 ||
	    ipc_get_u32(&c, &vi) == -1 ||
	    ipc_get_u32(&c, &hsdir_interval) == -1 ||
	    ipc_cursor_end(&c) == -1)
		return -1;
	if ((svc = find_service(kd, service)) == NULL)
		err = KEYD_ERR_SERVICE;
	else
		err = begin_period(kd, svc, tp, vi, hsdir_interval, &kp);
	if (err != KEYD_ERR_NONE) {
		log_info("refused BEGIN service %u tp %llu: %s", service,
		    (unsigned long long)tp, keyd_strerror(err));
		reply_error(reply, req, err, 0);
		return 0;
	}
	log_info("began service %u tp %llu (length %llu min)", service,
	    (unsigned long long)tp, (unsigned long long)kp->params.length_min);
	reply_start(reply, req, KEYD_R_BEGIN_REPLY);
	ipc_add_bytes(reply, kp->signing_pub, ED25519_PUBKEY_LEN);
	ipc_add_bytes(reply, kp->blinded_pub, ED25519_PUBKEY_LEN);
	ipc_add_u32(reply, (uint32_t)kp->params.length_min);
	ipc_add_bytes(reply, kp->cert, TORCERT_LEN);
	return 0;
}

/* Only the two cert types a descriptor's intro points carry. */
static enum keyd_error
check_certify(const struct keyd_period *kp, uint8_t type, uint32_t exp_hours,
    time_t now)
{
	if (type != TORCERT_TYPE_AUTH_HS_IP_KEY &&
	    type != TORCERT_TYPE_CROSS_HS_IP_KEYS)
		return KEYD_ERR_CERT_TYPE;
	if (exp_hours > kp->cert_exp_hours ||
	    (uint64_t)exp_hours * 3600 < (uint64_t)now)
		return KEYD_ERR_EXPIRY;
	return KEYD_ERR_NONE;
}

static int
handle_certify(struct keyd *kd, const struct ipc_msg *req,
    struct ipc_builder *reply)
{
	struct ipc_cursor c;
	struct keyd_service *svc;
	struct keyd_period *kp = NULL;
	const uint8_t *signing_pub, *certified;
	uint8_t cert[TORCERT_LEN], type;
	uint32_t service, exp_hours;
	enum keyd_error err;

	if (ipc_open_fixed(&c, req, KEYD_CERTIFY_LEN) == -1 ||
	    ipc_get_u32(&c, &service) == -1 ||
	    ipc_get_ref(&c, &signing_pub, ED25519_PUBKEY_LEN) == -1 ||
	    ipc_get_u8(&c, &type) == -1 || ipc_get_u32(&c, &exp_hours) == -1 ||
	    ipc_get_ref(&c, &certified, ED25519_PUBKEY_LEN) == -1 ||
	    ipc_cursor_end(&c) == -1)
		return -1;
	if ((svc = find_service(kd, service)) == NULL)
		err = KEYD_ERR_SERVICE;
	else if ((kp = find_period(svc, signing_pub)) == NULL)
		err = KEYD_ERR_SIGNING_KEY;
	else if ((err = check_certify(kp, type, exp_hours, kd->now())) ==
	    KEYD_ERR_NONE && torcert_sign(cert, type, exp_hours, certified,
	    &kp->sk, kp->signing_pub) == -1)
		err = KEYD_ERR_INTERNAL;
	if (err != KEYD_ERR_NONE) {
		log_info("refused CERTIFY service %u type 0x%02x: %s", service,
		    type, keyd_strerror(err));
		reply_error(reply, req, err, 0);
		return 0;
	}
	reply_start(reply, req, KEYD_R_CERTIFY_REPLY);
	ipc_add_bytes(reply, cert, TORCERT_LEN);
	return 0;
}

static enum keyd_error
revision_now(const struct keyd_period *kp, time_t now, uint64_t *rev)
{
	if (revcounter_at(rev, kp->rev_key, (int64_t)now,
	    (int64_t)kp->srv_start) == -1)
		return KEYD_ERR_CLOCK;
	/* The clock went back: this counter would be refused at SIGN. */
	if (kp->has_signed && *rev < kp->last_revision)
		return KEYD_ERR_CLOCK;
	return KEYD_ERR_NONE;
}

static int
handle_revision(struct keyd *kd, const struct ipc_msg *req,
    struct ipc_builder *reply)
{
	struct ipc_cursor c;
	struct keyd_service *svc;
	struct keyd_period *kp;
	const uint8_t *signing_pub;
	uint32_t service;
	uint64_t rev = 0;
	enum keyd_error err;

	if (ipc_open_fixed(&c, req, KEYD_REVISION_LEN) == -1 ||
	    ipc_get_u32(&c, &service) == -1 ||
	    ipc_get_ref(&c, &signing_pub, ED25519_PUBKEY_LEN) == -1 ||
	    ipc_cursor_end(&c) == -1)
		return -1;
	if ((svc = find_service(kd, service)) == NULL)
		err = KEYD_ERR_SERVICE;
	else if ((kp = find_period(svc, signing_pub)) == NULL)
		err = KEYD_ERR_SIGNING_KEY;
	else
		err = revision_now(kp, kd->now(), &rev);
	if (err != KEYD_ERR_NONE) {
		reply_error(reply, req, err, 0);
		return 0;
	}
	reply_start(reply, req, KEYD_R_REVISION_REPLY);
	ipc_add_u64(reply, rev);
	return 0;
}

/* Everything SIGN checks before it signs; *line is for format errors. */
static enum keyd_error
check_sign(const struct keyd_period *kp, const uint8_t *body, size_t len,
    time_t now, uint64_t *rev, uint32_t *line)
{
	enum keyd_error err;

	*line = 0;
	if (len > KEYD_BODY_MAX)
		return KEYD_ERR_BODY_SIZE;
	if (cert_expired(kp, now))
		return KEYD_ERR_EXPIRED;
	if ((err = keyd_check_body(body, len, kp->cert, rev, line)) !=
	    KEYD_ERR_NONE)
		return err;
	if (kp->has_signed && *rev < kp->last_revision)
		return KEYD_ERR_REVISION;
	/* Only a counter keyd itself gives now or gave a moment ago. */
	if (revcounter_find(kp->rev_key, (int64_t)kp->srv_start,
	    (int64_t)now - KEYD_REVISION_WINDOW, (int64_t)now, *rev) == -1) {
		*line = KEYD_REVISION_NOT_NOW;
		return KEYD_ERR_REVISION;
	}
	return KEYD_ERR_NONE;
}

/* One line per signature, so that every signature keyd made is on record. */
static void
audit_signature(uint32_t service, uint32_t variant,
    const struct keyd_period *kp, uint64_t rev, const uint8_t *body,
    size_t len)
{
	uint8_t digest[SHA3_256_LEN];
	char hex[2 * SHA3_256_LEN + 1];

	sha3_256(digest, body, len);
	hex_encode(hex, digest, sizeof(digest));
	log_info("audit: signed descriptor service %u tp %llu variant %u "
	    "revision-counter %llu body-sha3-256 %s", service,
	    (unsigned long long)kp->tp, variant, (unsigned long long)rev, hex);
}

static enum keyd_error
sign_body(uint32_t service, uint32_t variant, struct keyd_period *kp,
    const uint8_t *body, size_t len, time_t now,
    uint8_t sig[ED25519_SIG_LEN], uint32_t *line)
{
	struct bytes_ref parts[2];
	enum keyd_error err;
	uint64_t rev = 0;

	if ((err = check_sign(kp, body, len, now, &rev, line)) !=
	    KEYD_ERR_NONE)
		return err;
	parts[0] = BYTES_STR(DESC_SIG_PREFIX);
	parts[1] = (struct bytes_ref){ body, len };
	if (ed25519_sign_expanded(sig, parts, 2, &kp->sk,
	    kp->signing_pub) == -1)
		return KEYD_ERR_INTERNAL;
	kp->has_signed = 1;
	kp->last_revision = rev;
	audit_signature(service, variant, kp, rev, body, len);
	return KEYD_ERR_NONE;
}

static int
handle_sign(struct keyd *kd, const struct ipc_msg *req,
    struct ipc_builder *reply)
{
	struct ipc_cursor c;
	struct keyd_service *svc;
	struct keyd_period *kp;
	const uint8_t *signing_pub, *body;
	uint8_t sig[ED25519_SIG_LEN];
	uint32_t service, variant, body_len, line = 0;
	enum keyd_error err;

	ipc_cursor_init(&c, req);
	if (ipc_get_u32(&c, &service) == -1 ||
	    ipc_get_ref(&c, &signing_pub, ED25519_PUBKEY_LEN) == -1 ||
	    ipc_get_u32(&c, &variant) == -1 ||
	    ipc_get_u32(&c, &body_len) == -1 ||
	    ipc_get_ref(&c, &body, body_len) == -1 ||
	    ipc_cursor_end(&c) == -1)
		return -1;
	if ((svc = find_service(kd, service)) == NULL)
		err = KEYD_ERR_SERVICE;
	else if ((kp = find_period(svc, signing_pub)) == NULL)
		err = KEYD_ERR_SIGNING_KEY;
	else
		err = sign_body(service, variant, kp, body, body_len,
		    kd->now(), sig, &line);
	if (err == KEYD_ERR_REVISION)
		log_warnx("audit: refused SIGN service %u: revision counter "
		    "%s", service, line == KEYD_REVISION_NOT_NOW ?
		    "is not one keyd gives now" : "below the last signed");
	else if (err != KEYD_ERR_NONE)
		log_warnx("refused SIGN service %u: %s (line %u)", service,
		    keyd_strerror(err), line);
	if (err != KEYD_ERR_NONE) {
		reply_error(reply, req, err, line);
		return 0;
	}
	reply_start(reply, req, KEYD_R_SIGN_REPLY);
	ipc_add_bytes(reply, sig, ED25519_SIG_LEN);
	return 0;
}

int
keyd_handle_request(struct keyd *kd, const struct ipc_msg *req,
    struct ipc_builder *reply)
{
	int rv = -1;

	/* keyd.c does not read requests before CONFIG_DONE; never serve one. */
	if (!kd->config_done)
		return -1;
	switch ((enum keyd_req_msg)req->type) {
	case KEYD_R_IDENTITY:
		rv = handle_identity(kd, req, reply);
		break;
	case KEYD_R_BEGIN:
		rv = handle_begin(kd, req, reply);
		break;
	case KEYD_R_CERTIFY:
		rv = handle_certify(kd, req, reply);
		break;
	case KEYD_R_REVISION:
		rv = handle_revision(kd, req, reply);
		break;
	case KEYD_R_SIGN:
		rv = handle_sign(kd, req, reply);
		break;
	case KEYD_R_ERROR:
	case KEYD_R_IDENTITY_REPLY:
	case KEYD_R_BEGIN_REPLY:
	case KEYD_R_CERTIFY_REPLY:
	case KEYD_R_REVISION_REPLY:
	case KEYD_R_SIGN_REPLY:
		break;		/* keyd's own replies: never a request */
	}
	if (rv == 0 && (reply->overflow || ipc_builder_finish(reply) == -1))
		rv = -1;
	return rv;
}

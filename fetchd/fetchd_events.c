/*
 * tor's events about descriptor fetches, the verification of what they
 * carry, and when a descriptor we accept goes stale (stale_time()).  Everything here comes from the network
 * (through tor): a bad event or descriptor is logged and dropped, never
 * fatal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fetchd_private.h"
#include "log.h"
#include "torctl_events.h"

static bool
is_newer(const struct fetchd_instance *in, uint64_t tp, uint64_t revision)
{
	if (in->desc == NULL || tp > in->desc->tp)
		return true;
	return tp == in->desc->tp && revision > in->desc->revision_counter;
}

/*
 * When the held descriptor stops being believable (README.md, "When is a
 * backend dead?").  Its backend uploaded it no later than we first saw
 * it, and no later than its signing cert was made: tor makes that cert
 * at every upload, valid for 54 hours, with the expiry rounded up to the
 * hour, so expiry - 54 h is never before the upload.  The cert bound is
 * used only where an HSDir could still hold the descriptor; outside that
 * the backend makes its certs some other way and we rely on first sight.
 */
static time_t
stale_time(const struct fetchd *fd, const struct hsdesc *desc, time_t now)
{
	time_t uploaded = now, lifetime = (time_t)desc->lifetime_min * 60;
	time_t cert_made = (time_t)desc->signing_cert_exp_hours * 3600 -
	    FETCHD_SIGNING_CERT_LIFETIME_S;
	time_t stale;

	if (cert_made < uploaded && cert_made > now - lifetime)
		uploaded = cert_made;
	stale = uploaded + FETCHD_REUPLOAD_MAX_S + FETCHD_STALE_GRACE_S +
	    2 * fetchd_period(fd);
	/* The HSDirs drop it at upload + lifetime; no one serves it after. */
	return now + lifetime < stale ? now + lifetime : stale;
}

static void
log_dropped_intro_points(const struct fetchd_instance *in,
    const struct hsdesc *desc)
{
	size_t i;

	for (i = 0; i < desc->n_intro_dropped &&
	    i < HSDESC_MAX_DROPS_RECORDED; i++)
		log_debug("%s: intro point dropped: %s", in->name,
		    hsdesc_strerror(desc->intro_drop_reasons[i]));
}

static enum peer_fetch_outcome
accept_descriptor(struct fetchd *fd, struct fetchd_instance *in,
    const struct hsdesc *desc, uint64_t tp, time_t now)
{
	struct peer_desc_msg *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("descriptor");
	if (peer_desc_from_hsdesc(d, desc) == -1) {
		/* The codec never gives us one of these; still not fatal. */
		free(d);
		fetchd_warn_once(in, "descriptor does not fit a peer message");
		return PEER_FETCH_INVALID;
	}
	d->tp = tp;
	d->received_at = (uint64_t)now;
	free(in->desc);
	in->desc = d;
	in->desc_first_seen = now;
	in->desc_stale_at = stale_time(fd, desc, now);
	in->not_found = 0;
	in->state = 0;
	in->state_since = now;
	in->detail[0] = '\0';
	in->last_warning[0] = '\0';
	log_info("%s: descriptor revision %llu for time period %llu: "
	    "%zu intro point(s)", in->name,
	    (unsigned long long)d->revision_counter, (unsigned long long)tp,
	    d->n_intro);
	log_dropped_intro_points(in, desc);
	fetchd_report_desc(fd, in);
	fetchd_probe_new_descriptor(fd, in, now);
	return PEER_FETCH_NEW;
}

/* A verified descriptor is news only if it is newer than the one held. */
static enum peer_fetch_outcome
use_descriptor(struct fetchd *fd, struct fetchd_instance *in,
    const struct hsdesc *desc, uint64_t tp, time_t now)
{
	if (is_newer(in, tp, desc->revision_counter))
		return accept_descriptor(fd, in, desc, tp, now);
	log_debug("%s: revision %llu (time period %llu) is not newer",
	    in->name, (unsigned long long)desc->revision_counter,
	    (unsigned long long)tp);
	return PEER_FETCH_NOT_NEWER;
}

/*
 * An expired signing-key certificate is counted apart: an HSDir serving
 * an old copy, or a clock that is off, rather than a broken descriptor.
 */
/*
 * A restricted backend's descriptor that our key does not open is the
 * operator's to fix, so the status says it in the operator's words.
 */
static void
rejection_text(char *why, size_t size, enum hsdesc_error err,
    const struct hsdesc_diag *diag)
{
	if (err == HSDESC_ERR_NEED_CLIENT_AUTH)	/* we have no key for it */
		snprintf(why, size, "client authorization required");
	else if (err == HSDESC_ERR_CLIENT_NOT_AUTHORIZED ||
	    err == HSDESC_ERR_BAD_CLIENT_AUTH)
		snprintf(why, size, "wrong client key");
	else
		hsdesc_diag_format(why, size, err, diag);
}

static enum peer_fetch_outcome
reject_descriptor(struct fetchd *fd, struct fetchd_instance *in,
    enum hsdesc_error err, const struct hsdesc_diag *diag, time_t now)
{
	char why[128], text[160];

	rejection_text(why, sizeof(why), err, diag);
	snprintf(text, sizeof(text), "descriptor rejected: %s", why);
	fetchd_warn_once(in, text);
	/*
	 * A bad copy (from one HSDir, perhaps a hostile one) does not
	 * displace a good descriptor we hold: that would let any HSDir
	 * remove a backend.  publishd hears of it only if we have none.
	 */
	if (in->state != 0)
		fetchd_report_state(fd, in, PEER_STATE_INVALID, why, now);
	return err == HSDESC_ERR_SIGNING_CERT_EXPIRED ? PEER_FETCH_EXPIRED :
	    PEER_FETCH_INVALID;
}

/*
 * HSDirs serve the same descriptor again and again (each responsible
 * HSDir, every fetch round), and decoding one is mostly its eight
 * signature checks.  The decoder's result is a function of the bytes,
 * the identity, the period asked for (and its length), the size limit
 * and, through certificate expiry only, of now: so bytes verified once
 * under the same identity, period and limit give the same result again
 * until the first of the certificates it kept expires (tor's rule, as
 * torcert_check(): valid through the last second of its expiry hour).
 * Only a successful decode is remembered, one per instance; anything
 * else is decoded.
 */
static time_t
certs_valid_until(const struct hsdesc *desc)
{
	uint32_t h = desc->signing_cert_exp_hours;
	size_t i;

	for (i = 0; i < desc->n_intro_points; i++) {
		if (desc->intro_points[i].auth_key_exp_hours < h)
			h = desc->intro_points[i].auth_key_exp_hours;
		if (desc->intro_points[i].enc_key_cert_exp_hours < h)
			h = desc->intro_points[i].enc_key_cert_exp_hours;
	}
	return (time_t)((int64_t)h * 3600);
}

static struct hsdesc *
verified_lookup(struct fetchd_instance *in, const uint8_t digest[32],
    uint64_t tp, uint64_t tp_len_min, size_t max_size, time_t now,
    uint64_t *tp_out)
{
	const struct fetchd_verified *v = in->verified;
	struct hsdesc *desc;

	if (v == NULL || memcmp(v->digest, digest, 32) != 0 ||
	    memcmp(v->key, in->key, 32) != 0 || v->tp != tp ||
	    v->tp_len_min != tp_len_min || v->max_size != max_size || now > v->valid_until)
		return NULL;
	if ((desc = malloc(sizeof(*desc))) == NULL)
		return NULL;		/* then it is decoded */
	memcpy(desc, &v->desc, sizeof(*desc));
	*tp_out = v->tp_out;
	in->verified_hits++;
	return desc;
}

static void
verified_store(struct fetchd_instance *in, const uint8_t digest[32],
    uint64_t tp, uint64_t tp_len_min, size_t max_size, uint64_t tp_out,
    const struct hsdesc *desc)
{
	struct fetchd_verified *v = in->verified;

	if (v == NULL && (v = in->verified = malloc(sizeof(*v))) == NULL)
		return;			/* nothing remembered, no harm */
	memcpy(v->digest, digest, 32);
	memcpy(v->key, in->key, 32);
	v->tp = tp;
	v->tp_out = tp_out;
	v->tp_len_min = tp_len_min;
	v->max_size = max_size;
	v->valid_until = certs_valid_until(desc);
	memcpy(&v->desc, desc, sizeof(*desc));
}

/* Each descriptor judged is one fetch result (PEER_INSTANCE_FETCH). */
static void
handle_descriptor(struct fetchd *fd, struct fetchd_instance *in,
    const char *body, size_t len, time_t now)
{
	struct hsdesc *desc = NULL;
	struct hsdesc_diag diag;
	enum hsdesc_error err;
	uint64_t tp, tp_out = 0;
	uint8_t digest[32];
	size_t max_size;

	if (!fd->have_consensus) {
		/* Not judged, so not counted: no fetch of ours is out. */
		log_debug("%s: descriptor before any consensus, dropped",
		    in->name);
		return;
	}
	tp = hs_time_period_num(&fd->period, fd->consensus.valid_after);
	max_size = fd->consensus.max_desc_size;
	/* BLAKE2b-256: the same collision resistance at 1/3 of SHA3's cost. */
	crypto_generichash(digest, sizeof(digest), (const unsigned char *)body,
	    len, NULL, 0);
	if ((desc = verified_lookup(in, digest, tp, fd->period.length_min,
	    max_size, now, &tp_out)) != NULL)
		log_debug("%s: the descriptor verified before, not decoded "
		    "again", in->name);
	else {
		memset(&diag, 0, sizeof(diag));
		err = hsdesc_decode_near(body, len, in->key, tp,
		    fd->period.length_min, now, max_size,
		    in->has_client_key ? in->client_key : NULL, &tp_out, &desc,
		    &diag);
		if (err != HSDESC_OK) {
			fetchd_report_fetch(fd, in,
			    reject_descriptor(fd, in, err, &diag, now));
			return;
		}
		verified_store(in, digest, tp, fd->period.length_min, max_size,
		    tp_out, desc);
	}
	in->not_found = 0;
	fetchd_report_fetch(fd, in, use_descriptor(fd, in, desc, tp_out, now));
	hsdesc_free(desc);
}

static void
on_hs_desc(struct fetchd *fd, const struct torctl_reply *ev)
{
	struct torctl_hs_desc hd;
	const char *why;
	size_t i;

	if (torctl_parse_hs_desc(ev, &hd, &why) == -1) {
		log_warnx("tor sent a malformed HS_DESC event: %s", why);
		return;
	}
	if (hd.action == TORCTL_HS_DESC_REQUESTED)
		fetchd_hsdir_requested(fd, hd.address);
	/* UPLOADED and the like are publishd's (or tor's own service's). */
	if (hd.action != TORCTL_HS_DESC_FAILED) {
		log_debug("HS_DESC %s %s %s",
		    torctl_hs_desc_action_str(hd.action), hd.address, hd.hsdir);
		return;
	}
	for (i = 0; i < fd->ninst; i++) {
		struct fetchd_instance *in = &fd->inst[i];

		/* The empty HS_DESC_CONTENT that follows ends the fetch. */
		if (in->in_flight && strcmp(in->address, hd.address) == 0)
			snprintf(in->fail_reason, sizeof(in->fail_reason),
			    "%s", hd.reason[0] != '\0' ? hd.reason : "FAILED");
	}
}

static void
on_hs_desc_content(struct fetchd *fd, const struct torctl_reply *ev,
    time_t now)
{
	struct torctl_hs_desc_content hc;
	const char *why;
	bool ours = false;
	size_t i;

	if (torctl_parse_hs_desc_content(ev, &hc, &why) == -1) {
		log_warnx("tor sent a malformed HS_DESC_CONTENT event: %s", why);
		return;
	}
	/* The same backend may be an instance of several services. */
	for (i = 0; i < fd->ninst; i++) {
		struct fetchd_instance *in = &fd->inst[i];

		if (strcmp(in->address, hc.address) != 0)
			continue;
		ours = true;
		if (hc.body_len == 0) {
			if (in->in_flight)
				fetchd_fetch_failed(fd, in, in->fail_reason[0] ?
				    in->fail_reason : "empty descriptor", now);
			continue;
		}
		/* Whoever fetched it, a verified descriptor is news. */
		handle_descriptor(fd, in, hc.body, hc.body_len, now);
		if (in->in_flight)
			fetchd_fetch_done(fd, in, now);
	}
	if (!ours)
		log_debug("HS_DESC_CONTENT for %s: not one of ours", hc.address);
}

static void
on_status_client(struct fetchd *fd, const struct torctl_reply *ev, time_t now)
{
	struct torctl_status_client sc;
	const char *why;

	if (torctl_parse_status_client(ev, &sc, &why) == -1) {
		log_warnx("tor sent a malformed STATUS_CLIENT event: %s", why);
		return;
	}
	if (strcmp(sc.action, "CONSENSUS_ARRIVED") == 0)
		fd->ops.consensus_refresh(fd->ops.arg);
	else if (strcmp(sc.action, "CIRCUIT_ESTABLISHED") == 0)
		fetchd_set_circuits(fd, true, now);
	else if (strcmp(sc.action, "CIRCUIT_NOT_ESTABLISHED") == 0)
		fetchd_set_circuits(fd, false, now);
}

/* A NEWNYM purged tor's ephemeral client keys: give them again. */
static void
on_signal(struct fetchd *fd, const struct torctl_reply *ev)
{
	char name[32];

	if (torctl_word(ev->lines[0].text, 1, name, sizeof(name)) == -1) {
		log_warnx("tor sent a malformed SIGNAL event");
		return;
	}
	if (strcmp(name, "NEWNYM") == 0)
		fetchd_client_auth_sync(fd);
}

void
fetchd_handle_event(struct fetchd *fd, const struct torctl_reply *ev,
    time_t now)
{
	char kw[32];

	if (torctl_event_keyword(ev, kw, sizeof(kw)) == -1)
		return;
	if (strcmp(kw, "HS_DESC") == 0)
		on_hs_desc(fd, ev);
	else if (strcmp(kw, "HS_DESC_CONTENT") == 0)
		on_hs_desc_content(fd, ev, now);
	else if (strcmp(kw, "STATUS_CLIENT") == 0)
		on_status_client(fd, ev, now);
	else if (strcmp(kw, "CIRC") == 0)
		fetchd_probe_circ_event(fd, ev, now);
	else if (strcmp(kw, "SIGNAL") == 0)
		on_signal(fd, ev);
}

void
fetchd_fetch_refused(struct fetchd *fd, const char *address, const char *why,
    time_t now)
{
	size_t i;

	for (i = 0; i < fd->ninst; i++) {
		struct fetchd_instance *in = &fd->inst[i];

		if (in->in_flight && strcmp(in->address, address) == 0)
			fetchd_fetch_failed(fd, in, why, now);
	}
}

/*
 * The metrics: Prometheus' text exposition format, version 0.0.4
 * (docs/metrics.md lists every family).  Each family is written whole,
 * "# HELP" and "# TYPE" once and then all its samples, so a family never
 * appears twice.  Label values are escaped as the format says (backslash,
 * double quote, newline); bytes outside printable ASCII, which only
 * instance names could carry, become '?' as in the status document.
 * Times are unix seconds (_timestamp_seconds), ages seconds (_age_seconds).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_msg.h"
#include "publishd.h"

#define M_PREFIX	"onionbalanced_"

struct mout {
	FILE		*f;
	const struct pd	*pd;
	time_t		 now;
};

static const char *const slot_names[PD_SLOTS] = { "first", "second" };
static const char *const child_names[3] = { "keyd", "fetchd", "publishd" };
static const char *const instance_states[] = {
	"live", "expired", "no-descriptor", "fetch-failed", "invalid",
	"unknown",
};
static const char *const report_names[PEER_STATE_EXPIRED + 1] = {
	[0] = "descriptor",
	[PEER_STATE_NO_DESCRIPTOR] = "no-descriptor",
	[PEER_STATE_FETCH_FAILED] = "fetch-failed",
	[PEER_STATE_INVALID] = "invalid",
	[PEER_STATE_EXPIRED] = "expired",
};
/* keyd's error codes as label values (keyd/PROTOCOL.md). */
static const char *const keyd_error_names[KEYD_ERR_MAX_] = {
	[KEYD_ERR_SERVICE] = "service",
	[KEYD_ERR_KEY_FILE] = "key_file",
	[KEYD_ERR_PARAMS] = "params",
	[KEYD_ERR_PERIOD] = "period",
	[KEYD_ERR_PERIOD_FULL] = "period_full",
	[KEYD_ERR_SIGNING_KEY] = "signing_key",
	[KEYD_ERR_CERT_TYPE] = "cert_type",
	[KEYD_ERR_EXPIRY] = "expiry",
	[KEYD_ERR_EXPIRED] = "expired",
	[KEYD_ERR_CLOCK] = "clock",
	[KEYD_ERR_BODY_SIZE] = "body_size",
	[KEYD_ERR_BODY_FORMAT] = "body_format",
	[KEYD_ERR_BODY_LIFETIME] = "body_lifetime",
	[KEYD_ERR_BODY_CERT] = "body_cert",
	[KEYD_ERR_REVISION] = "revision",
	[KEYD_ERR_INTERNAL] = "internal",
};
static const char *const liveness_names[] = {
	"unknown", "alive", "suspect", "dead", "returning",
};

static void
family(struct mout *m, const char *name, const char *type, const char *help)
{
	fprintf(m->f, "# HELP " M_PREFIX "%s %s\n# TYPE " M_PREFIX "%s %s\n",
	    name, help, name, type);
}

/* A label value, escaped; non-printable bytes become '?'. */
static void
label_value(FILE *f, const char *v)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p >= 0x7f)
			fputc('?', f);
		else
			fputc(*p, f);
	}
}

static void
label(FILE *f, int *first, const char *key, const char *v)
{
	fprintf(f, "%s%s=\"", *first ? "{" : ",", key);
	label_value(f, v);
	fputc('"', f);
	*first = 0;
}

static void
service_label(FILE *f, int *first, const struct pd_service *sv)
{
	char addr[ONION_ADDRESS_LEN + 7];

	snprintf(addr, sizeof(addr), "%s.onion", sv->address);
	label(f, first, "service", addr);
}

static void
slot_labels(FILE *f, int *first, const struct pd_service *sv, int k)
{
	char tp[24];

	service_label(f, first, sv);
	label(f, first, "descriptor", slot_names[k]);
	snprintf(tp, sizeof(tp), "%" PRIu64, sv->slot[k].tp);
	label(f, first, "time_period", tp);
}

static void
instance_labels(FILE *f, int *first, const struct pd_service *sv,
    const struct pd_instance *in)
{
	char addr[ONION_ADDRESS_LEN + 7];

	service_label(f, first, sv);
	label(f, first, "instance", in->name);
	snprintf(addr, sizeof(addr), "%s.onion", in->address);
	label(f, first, "address", addr);
}

/* Ends a sample's labels (if any) and writes its value. */
static void
value(FILE *f, int first, uint64_t v)
{
	fprintf(f, "%s %" PRIu64 "\n", first ? "" : "}", v);
}

static void
value_signed(FILE *f, int first, int64_t v)
{
	fprintf(f, "%s %" PRId64 "\n", first ? "" : "}", v);
}

static void
name(FILE *f, const char *n)
{
	fputs(M_PREFIX, f);
	fputs(n, f);
}

/* --- process ------------------------------------------------------------- */

static void
process_metrics(struct mout *m, const struct keyd_client *kc,
    const char *version)
{
	const struct pd *pd = m->pd;
	int64_t skew;
	int first;
	size_t i;

	family(m, "build_info", "gauge", "Always 1; the version of "
	    "onionbalanced in a label.");
	first = 1;
	name(m->f, "build_info");
	label(m->f, &first, "version", version);
	value(m->f, first, 1);

	if (pd->have_parent_counters) {
		family(m, "child_restarts_total", "counter", "Restarts of "
		    "each child process since onionbalanced started.");
		for (i = 0; i < 3; i++) {
			first = 1;
			name(m->f, "child_restarts_total");
			label(m->f, &first, "child", child_names[i]);
			value(m->f, first, pd->child_restarts[i]);
		}
		family(m, "keyd_request_channel_drops_total", "counter",
		    "Times keyd dropped its request channel (a requester "
		    "that did not read its replies).");
		name(m->f, "keyd_request_channel_drops_total");
		value(m->f, 1, pd->keyd_channel_drops);
	}
	if (kc != NULL) {
		family(m, "keyd_signatures_seen_by_publishd_total", "counter",
		    "Signatures (certificates and descriptor signatures) "
		    "keyd made for publishd, as publishd saw the replies.");
		name(m->f, "keyd_signatures_seen_by_publishd_total");
		value(m->f, 1, kc->signatures);
		family(m, "keyd_refusals_seen_by_publishd_total", "counter",
		    "keyd's refusals of publishd's requests by error code, as "
		    "publishd saw them (internal: also no reply).");
		for (i = 1; i < KEYD_ERR_MAX_; i++) {
			first = 1;
			name(m->f, "keyd_refusals_seen_by_publishd_total");
			label(m->f, &first, "error", keyd_error_names[i]);
			value(m->f, first, kc->refused[i]);
		}
	}
	family(m, "control_connected", "gauge", "1 if publishd has a "
	    "working tor control connection.");
	name(m->f, "control_connected");
	value(m->f, 1, pd->uploads_enabled ? 1 : 0);
	family(m, "control_losses_total", "counter", "Times publishd's "
	    "control connection ended.");
	name(m->f, "control_losses_total");
	value(m->f, 1, pd->control_losses);
	family(m, "consensus_valid_after_timestamp_seconds", "gauge",
	    "valid-after of the consensus publishd uses (absent: none).");
	if (pd->net.have) {
		name(m->f, "consensus_valid_after_timestamp_seconds");
		value_signed(m->f, 1, (int64_t)pd->net.valid_after);
	}
	family(m, "clock_skewed", "gauge", "1 while publishd refuses to "
	    "publish because our clock disagrees with the consensus.");
	name(m->f, "clock_skewed");
	value(m->f, 1, pd_clock_check(pd, m->now, &skew) != PD_CLOCK_OK);
}

/* --- services and descriptors -------------------------------------------- */

static void
service_metrics(struct mout *m)
{
	const struct pd *pd = m->pd;
	const struct pd_service *sv;
	size_t i;
	int first, ok;

	family(m, "uploads_total", "counter", "Descriptor uploads of a "
	    "service (both descriptors, every HSDir) by result.");
	for (i = 0; i < pd->nservices; i++) {
		sv = &pd->services[i];
		for (ok = 1; ok >= 0; ok--) {
			first = 1;
			name(m->f, "uploads_total");
			service_label(m->f, &first, sv);
			label(m->f, &first, "result", ok ? "succeeded" :
			    "failed");
			value(m->f, first, ok ? sv->uploads_ok :
			    sv->uploads_failed);
		}
	}
	family(m, "service_unreachable", "gauge", "1 while every instance "
	    "is dropped and the last non-empty set of intro points is kept.");
	for (i = 0; i < pd->nservices; i++) {
		first = 1;
		name(m->f, "service_unreachable");
		service_label(m->f, &first, &pd->services[i]);
		value(m->f, first, pd->services[i].all_dead ? 1 : 0);
	}
}

enum slot_value {
	SV_REVISION,
	SV_BUILT,
	SV_AGE,
	SV_INTRO,
	SV_SIZE,
	SV_HSDIRS,
	SV_HSDIRS_UPLOADED,
	SV_VARIANTS,
};

static const struct {
	const char	*name;
	const char	*help;
	int		 built_only;
} slot_families[] = {
	[SV_REVISION] = { "descriptor_revision", "Revision counter of the "
	    "descriptor being uploaded (the highest, when distinct).", 1 },
	[SV_BUILT] = { "descriptor_built_timestamp_seconds", "When the "
	    "descriptor was last built.", 1 },
	[SV_AGE] = { "descriptor_age_seconds", "Seconds since the "
	    "descriptor was last built.", 1 },
	[SV_INTRO] = { "descriptor_intro_points", "Intro points published "
	    "(at most 20 per descriptor).", 1 },
	[SV_SIZE] = { "descriptor_size_bytes", "Length of the descriptor "
	    "(the longest, when distinct).", 1 },
	[SV_HSDIRS] = { "descriptor_hsdirs", "HSDirs responsible for the "
	    "descriptor.", 0 },
	[SV_HSDIRS_UPLOADED] = { "descriptor_hsdirs_uploaded", "HSDirs that "
	    "hold the current descriptor.", 0 },
	[SV_VARIANTS] = { "descriptor_variants", "Distinct descriptors "
	    "published for the period (1: every HSDir gets the same).", 1 },
};

static int64_t
slot_value(const struct mout *m, const struct pd_slot *s, enum slot_value v)
{
	int64_t n = 0;
	size_t i;

	switch (v) {
	case SV_REVISION:
		return (int64_t)pd_slot_revision(s);
	case SV_BUILT:
		return (int64_t)s->built_at;
	case SV_AGE:
		return m->now > s->built_at ? (int64_t)(m->now - s->built_at) : 0;
	case SV_INTRO:
		return (int64_t)pd_slot_intro_published(s);
	case SV_SIZE:
		return (int64_t)pd_slot_size(s);
	case SV_HSDIRS:
		return (int64_t)s->ntargets;
	case SV_HSDIRS_UPLOADED:
		for (i = 0; i < s->ntargets; i++)
			n += s->targets[i].state == PD_T_UPLOADED;
		return n;
	case SV_VARIANTS:
		return (int64_t)pd_slot_nvariants(s);
	}
	return 0;
}

/* Only slots with a time period; built_only families only once built. */
static void
slot_metrics(struct mout *m)
{
	const struct pd_service *sv;
	const struct pd_slot *s;
	size_t f, i;
	int k, first;

	for (f = 0; f < sizeof(slot_families) / sizeof(slot_families[0]);
	    f++) {
		family(m, slot_families[f].name, "gauge",
		    slot_families[f].help);
		for (i = 0; i < m->pd->nservices; i++) {
			sv = &m->pd->services[i];
			for (k = 0; k < PD_SLOTS; k++) {
				s = &sv->slot[k];
				if (!s->active || (slot_families[f].built_only &&
				    s->built_at == 0))
					continue;
				first = 1;
				name(m->f, slot_families[f].name);
				slot_labels(m->f, &first, sv, k);
				value_signed(m->f, first,
				    slot_value(m, s, (enum slot_value)f));
			}
		}
	}
}

/* --- HSDirs -------------------------------------------------------------- */

static void
target_sample(struct mout *m, const char *n, const struct pd_service *sv,
    int k, const struct pd_target *t, const char *result, int64_t v)
{
	int first = 1;

	name(m->f, n);
	slot_labels(m->f, &first, sv, k);
	label(m->f, &first, "hsdir", t->fpr);
	if (result != NULL)
		label(m->f, &first, "result", result);
	value_signed(m->f, first, v);
}

/* which: 0 uploads_total, 1 last success, 2 uploaded */
static void
targets_each(struct mout *m, int which)
{
	const struct pd_service *sv;
	const struct pd_target *t;
	size_t i, j;
	int k;

	for (i = 0; i < m->pd->nservices; i++) {
		sv = &m->pd->services[i];
		for (k = 0; k < PD_SLOTS; k++) {
			if (!sv->slot[k].active)
				continue;
			for (j = 0; j < sv->slot[k].ntargets; j++) {
				t = &sv->slot[k].targets[j];
				if (which == 0) {
					target_sample(m, "hsdir_uploads_total",
					    sv, k, t, "succeeded",
					    (int64_t)t->uploads_ok);
					target_sample(m, "hsdir_uploads_total",
					    sv, k, t, "failed",
					    (int64_t)t->uploads_failed);
				} else if (which == 1 && t->last_success != 0)
					target_sample(m, "hsdir_last_success_"
					    "timestamp_seconds", sv, k, t, NULL,
					    (int64_t)t->last_success);
				else if (which == 2)
					target_sample(m, "hsdir_uploaded", sv,
					    k, t, NULL,
					    t->state == PD_T_UPLOADED);
			}
		}
	}
}

static void
hsdir_metrics(struct mout *m)
{
	family(m, "hsdir_uploads_total", "counter", "Uploads to one "
	    "responsible HSDir by result, while it stays responsible.");
	targets_each(m, 0);
	family(m, "hsdir_last_success_timestamp_seconds", "gauge", "When "
	    "an upload to the HSDir last succeeded (absent: never).");
	targets_each(m, 1);
	family(m, "hsdir_uploaded", "gauge", "1 if the HSDir holds the "
	    "current descriptor.");
	targets_each(m, 2);
}

/* --- instances ----------------------------------------------------------- */

static void
instance_state_samples(struct mout *m, const struct pd_service *sv,
    const struct pd_instance *in)
{
	const char *cur = pd_instance_state_str(in, m->now);
	size_t s;
	int first;

	for (s = 0; s < sizeof(instance_states) / sizeof(instance_states[0]);
	    s++) {
		first = 1;
		name(m->f, "instance_state");
		instance_labels(m->f, &first, sv, in);
		label(m->f, &first, "state", instance_states[s]);
		value(m->f, first, strcmp(cur, instance_states[s]) == 0);
	}
}

static void
instance_liveness_samples(struct mout *m, const struct pd_service *sv,
    const struct pd_instance *in)
{
	size_t s;
	int first;
	uint32_t cur = in->liveness == 0 ? PEER_LIVENESS_UNKNOWN :
	    in->liveness;

	for (s = 0; s < sizeof(liveness_names) / sizeof(liveness_names[0]);
	    s++) {
		first = 1;
		name(m->f, "instance_liveness");
		instance_labels(m->f, &first, sv, in);
		label(m->f, &first, "liveness", liveness_names[s]);
		value(m->f, first, cur == PEER_LIVENESS_UNKNOWN + s);
	}
}

enum inst_family {
	IF_STATE,
	IF_LIVENESS,
	IF_IN_DESC,
	IF_INTRO,
	IF_AGE,
	IF_REPORTS,
	IF_FETCHES,
	IF_COUNT,
};

/* Every outcome from the start, 0 until it happens, so rate() works. */
static void
instance_fetch_samples(struct mout *m, const struct pd_service *sv,
    const struct pd_instance *in)
{
	uint32_t o;
	int first;

	for (o = PEER_FETCH_NEW; o <= PEER_FETCH_EXPIRED; o++) {
		first = 1;
		name(m->f, "instance_fetches_total");
		instance_labels(m->f, &first, sv, in);
		label(m->f, &first, "outcome", peer_fetch_outcome_name(o));
		value(m->f, first, in->fetches[o]);
	}
}

static void
instance_sample(struct mout *m, enum inst_family f,
    const struct pd_service *sv, const struct pd_instance *in)
{
	size_t r;
	int first = 1;

	switch (f) {
	case IF_STATE:
		instance_state_samples(m, sv, in);
		return;
	case IF_LIVENESS:
		instance_liveness_samples(m, sv, in);
		return;
	case IF_IN_DESC:
		name(m->f, "instance_in_descriptor");
		instance_labels(m->f, &first, sv, in);
		value(m->f, first, pd_instance_is_live(in, m->now) ? 1 :
		    0);
		return;
	case IF_INTRO:
		name(m->f, "instance_intro_points");
		instance_labels(m->f, &first, sv, in);
		value(m->f, first, in->n_intro);
		return;
	case IF_AGE:
		if (!in->has_desc)
			return;
		name(m->f, "instance_descriptor_age_seconds");
		instance_labels(m->f, &first, sv, in);
		value_signed(m->f, first, m->now > in->received_at ?
		    (int64_t)(m->now - in->received_at) : 0);
		return;
	case IF_REPORTS:
		for (r = 0; r <= PEER_STATE_EXPIRED; r++) {
			first = 1;
			name(m->f, "instance_fetch_reports_total");
			instance_labels(m->f, &first, sv, in);
			label(m->f, &first, "outcome", report_names[r]);
			value(m->f, first, in->reports[r]);
		}
		return;
	case IF_FETCHES:
		instance_fetch_samples(m, sv, in);
		return;
	case IF_COUNT:
		break;
	}
}

static const struct {
	const char	*name;
	const char	*type;
	const char	*help;
} inst_families[IF_COUNT] = {
	[IF_STATE] = { "instance_state", "gauge", "1 for the instance's "
	    "state (docs/status-socket.md), 0 for the others." },
	[IF_LIVENESS] = { "instance_liveness", "gauge", "1 for what fetchd's "
	    "liveness probes say of the instance, 0 for the others." },
	[IF_IN_DESC] = { "instance_in_descriptor", "gauge", "1 if the "
	    "instance's intro points are used now." },
	[IF_INTRO] = { "instance_intro_points", "gauge", "Intro points in "
	    "the instance's current descriptor." },
	[IF_AGE] = { "instance_descriptor_age_seconds", "gauge", "Seconds "
	    "since fetchd received the instance's current descriptor." },
	[IF_REPORTS] = { "instance_fetch_reports_total", "counter", "fetchd's "
	    "reports of the instance by outcome (sent when the outcome "
	    "changes, and again after a restart; not one per fetch)." },
	[IF_FETCHES] = { "instance_fetches_total", "counter", "Results of "
	    "fetching the instance's descriptor, one per result, by "
	    "outcome." },
};

static void
instance_metrics(struct mout *m)
{
	const struct pd_service *sv;
	size_t f, i, j;

	for (f = 0; f < IF_COUNT; f++) {
		family(m, inst_families[f].name, inst_families[f].type,
		    inst_families[f].help);
		for (i = 0; i < m->pd->nservices; i++) {
			sv = &m->pd->services[i];
			for (j = 0; j < sv->ninstances; j++)
				instance_sample(m, (enum inst_family)f, sv,
				    &sv->instances[j]);
		}
	}
}

char *
pd_metrics_text(const struct pd *pd, const struct keyd_client *kc,
    const char *version, time_t now, size_t *len)
{
	struct mout m;
	char *text = NULL;
	size_t n = 0;

	m.pd = pd;
	m.now = now;
	if ((m.f = open_memstream(&text, &n)) == NULL)
		return NULL;
	process_metrics(&m, kc, version);
	service_metrics(&m);
	slot_metrics(&m);
	hsdir_metrics(&m);
	instance_metrics(&m);
	if (ferror(m.f)) {
		fclose(m.f);
		free(text);
		return NULL;
	}
	if (fclose(m.f) != 0) {
		free(text);
		return NULL;
	}
	*len = n;
	return text;
}

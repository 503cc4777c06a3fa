/*
 * The status document served on the status socket (docs/status-socket.md).
 * It carries every field of Onionbalance's (hs_v3/status.py), with the
 * same names and time format, and adds the network, each instance's
 * state and each HSDir's upload results.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_msg.h"
#include "publishd.h"

struct jbuf {
	char	*s;
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

static void
jb_reserve(struct jbuf *b, size_t more)
{
	size_t cap;
	char *s;

	if (b->failed || b->len + more + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((s = realloc(b->s, cap)) == NULL) {
		b->failed = 1;
		return;
	}
	b->s = s;
	b->cap = cap;
}

static void
jb_raw(struct jbuf *b, const char *s, size_t n)
{
	jb_reserve(b, n);
	if (b->failed)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void	jb_printf(struct jbuf *b, const char *fmt, ...) OB_PRINTF(2, 3);

static void
jb_printf(struct jbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->failed = 1;
		return;
	}
	jb_raw(b, tmp, (size_t)n);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void
jb_string(struct jbuf *b, const char *s)
{
	const unsigned char *p;

	jb_raw(b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			jb_raw(b, "\\", 1);
			jb_raw(b, (const char *)p, 1);
		} else if (*p < 0x20 || *p == 0x7f) {
			jb_printf(b, "\\u%04x", *p);
		} else if (*p >= 0x80) {
			/* not ours to vouch for as UTF-8 */
			jb_raw(b, "?", 1);
		} else
			jb_raw(b, (const char *)p, 1);
	}
	jb_raw(b, "\"", 1);
}

static void
jb_key(struct jbuf *b, int *first, const char *key)
{
	if (!*first)
		jb_raw(b, ",", 1);
	*first = 0;
	jb_string(b, key);
	jb_raw(b, ":", 1);
}

static void
kv_str(struct jbuf *b, int *first, const char *key, const char *v)
{
	jb_key(b, first, key);
	if (v == NULL)
		jb_raw(b, "null", 4);
	else
		jb_string(b, v);
}

static void
kv_uint(struct jbuf *b, int *first, const char *key, uint64_t v)
{
	jb_key(b, first, key);
	jb_printf(b, "%" PRIu64, v);
}

static void
kv_bool(struct jbuf *b, int *first, const char *key, int v)
{
	jb_key(b, first, key);
	jb_raw(b, v ? "true" : "false", v ? 4 : 5);
}

/* Onionbalance's time format, UTC; 0 is null. */
static void
kv_time(struct jbuf *b, int *first, const char *key, time_t t)
{
	char s[32];
	struct tm tm;

	jb_key(b, first, key);
	if (t <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		jb_raw(b, "null", 4);
		return;
	}
	jb_string(b, s);
}

const char *
pd_instance_state_str(const struct pd_instance *in, time_t now)
{
	if (in->has_desc)
		return pd_instance_usable(in, now) ? "live" : "expired";
	if (!in->reported && in->state != PEER_STATE_NO_DESCRIPTOR)
		return "unknown";
	switch (in->state) {
	case PEER_STATE_NO_DESCRIPTOR:
		return "no-descriptor";
	case PEER_STATE_FETCH_FAILED:
		return "fetch-failed";
	case PEER_STATE_INVALID:
		return "invalid";
	case PEER_STATE_EXPIRED:
		return "expired";
	}
	return "unknown";
}

static void
instance_json(struct jbuf *b, const struct pd_instance *in, time_t now)
{
	char addr[ONION_ADDRESS_LEN + 7];
	time_t received = in->has_desc ? in->received_at : 0;
	int first = 1;

	snprintf(addr, sizeof(addr), "%s.onion", in->address);
	jb_raw(b, "{", 1);
	kv_str(b, &first, "onionAddress", addr);
	kv_str(b, &first, "name", in->name);
	kv_time(b, &first, "received", received);
	kv_time(b, &first, "descriptorReceived", received);
	kv_time(b, &first, "introSetModified", in->intro_modified);
	kv_uint(b, &first, "introPointsNum", in->n_intro);
	kv_str(b, &first, "state", pd_instance_state_str(in, now));
	kv_str(b, &first, "stateDetail", in->detail[0] ? in->detail : NULL);
	kv_time(b, &first, "stateSince", in->state_since);
	if (in->has_desc) {
		kv_uint(b, &first, "revisionCounter", in->revision);
		kv_uint(b, &first, "timePeriod", in->tp);
		kv_uint(b, &first, "lifetimeMinutes", in->lifetime_min);
	}
	kv_str(b, &first, "flowControl", in->has_desc &&
	    (in->flags & PEER_DESC_FLAG_FLOW_CONTROL) ? in->flow_control :
	    NULL);
	kv_str(b, &first, "liveness", in->liveness == 0 ? "unknown" :
	    peer_liveness_name(in->liveness));
	kv_time(b, &first, "livenessSince", in->liveness_since);
	kv_time(b, &first, "lastProbe", in->last_probe);
	kv_str(b, &first, "lastProbeOutcome", in->probe_outcome[0] ?
	    in->probe_outcome : NULL);
	kv_str(b, &first, "droppedReason", pd_instance_dropped(in) ?
	    in->drop_reason : NULL);
	kv_bool(b, &first, "inDescriptor", pd_instance_is_live(in, now));
	jb_raw(b, "}", 1);
}

static void
target_json(struct jbuf *b, const struct pd_slot *slot,
    const struct pd_target *t)
{
	static const char *const res[] = { NULL, "UPLOADED", "FAILED" };
	const struct pd_variant *va = &slot->variant[pd_target_variant(slot,
	    t)];
	int first = 1;

	jb_raw(b, "{", 1);
	kv_str(b, &first, "fingerprint", t->fpr);
	kv_uint(b, &first, "replica", t->replica);
	kv_bool(b, &first, "fetch", t->fetch);
	kv_uint(b, &first, "variant", pd_target_variant(slot, t));
	kv_uint(b, &first, "revisionCounter", va->desc ? va->revision : 0);
	kv_time(b, &first, "builtAt", va->desc ? va->built_at : 0);
	kv_str(b, &first, "state", pd_target_state_str(t->state));
	kv_str(b, &first, "lastResult", res[t->last_result]);
	kv_time(b, &first, "lastResultAt", t->last_result_at);
	kv_time(b, &first, "lastAttempt", t->last_attempt);
	kv_uint(b, &first, "uploadedRevision", t->uploaded_revision);
	kv_uint(b, &first, "failures", t->attempts);
	kv_time(b, &first, "nextTry", t->state == PD_T_PENDING ?
	    t->next_try : 0);
	kv_str(b, &first, "reason", t->reason[0] ? t->reason : NULL);
	jb_raw(b, "}", 1);
}

/* The instances a variant holds points of, with how many each. */
static void
variant_instances_json(struct jbuf *b, const struct pd_service *sv,
    const struct pd_variant *va)
{
	char addr[ONION_ADDRESS_LEN + 7];
	const struct pd_instance *in;
	size_t i, j, n, shown = 0;
	int first;

	jb_raw(b, "[", 1);
	for (i = 0; i < sv->ninstances; i++) {
		for (j = 0, n = 0; j < va->npicks; j++)
			n += va->picks[j].instance == i;
		if (n == 0)
			continue;
		in = &sv->instances[i];
		snprintf(addr, sizeof(addr), "%s.onion", in->address);
		if (shown++ > 0)
			jb_raw(b, ",", 1);
		jb_raw(b, "{", 1);
		first = 1;
		kv_str(b, &first, "name", in->name);
		kv_str(b, &first, "onionAddress", addr);
		kv_uint(b, &first, "introPointsNum", n);
		jb_raw(b, "}", 1);
	}
	jb_raw(b, "]", 1);
}

static void
variant_json(struct jbuf *b, const struct pd_service *sv,
    const struct pd_slot *slot, size_t v)
{
	const struct pd_variant *va = &slot->variant[v];
	int first = 1;

	jb_raw(b, "{", 1);
	kv_uint(b, &first, "variant", v);
	kv_uint(b, &first, "replica", slot->distinct ? va->replica : 0);
	kv_uint(b, &first, "revisionCounter", va->desc ? va->revision : 0);
	kv_time(b, &first, "builtAt", va->desc ? va->built_at : 0);
	kv_uint(b, &first, "introPointsNum", va->desc ? va->n_intro : 0);
	kv_bool(b, &first, "flowControl", va->desc && va->flow_control);
	kv_uint(b, &first, "size", va->desc ? va->desc_len : 0);
	jb_key(b, &first, "instances");
	variant_instances_json(b, sv, va);
	jb_raw(b, "}", 1);
}

static void
slot_json(struct jbuf *b, const struct pd_service *sv, int k)
{
	const struct pd_slot *slot = &sv->slot[k];
	size_t i;
	int first = 1;

	jb_raw(b, "{", 1);
	kv_str(b, &first, "descriptor", k == PD_FIRST ? "first" : "second");
	kv_bool(b, &first, "active", slot->active);
	kv_uint(b, &first, "timePeriod", slot->tp);
	kv_time(b, &first, "builtAt", slot->built_at);
	kv_time(b, &first, "lastBuildAttempt", slot->last_attempt);
	kv_str(b, &first, "reason", slot->built ?
	    pd_reason_str(slot->last_reason) : NULL);
	kv_uint(b, &first, "revisionCounter", pd_slot_revision(slot));
	kv_uint(b, &first, "introPointsNum", pd_slot_intro_published(slot));
	kv_bool(b, &first, "flowControl", pd_slot_flow_control(slot));
	kv_uint(b, &first, "size", pd_slot_size(slot));
	kv_str(b, &first, "lastError", slot->last_error[0] ?
	    slot->last_error : NULL);
	kv_str(b, &first, "plan", slot->distinct ? "distinct" : "shared");
	jb_key(b, &first, "variants");
	jb_raw(b, "[", 1);
	for (i = 0; slot->built && i < pd_slot_nvariants(slot); i++) {
		if (i > 0)
			jb_raw(b, ",", 1);
		variant_json(b, sv, slot, i);
	}
	jb_raw(b, "]", 1);
	jb_key(b, &first, "hsdirs");
	jb_raw(b, "[", 1);
	for (i = 0; i < slot->ntargets; i++) {
		if (i > 0)
			jb_raw(b, ",", 1);
		target_json(b, slot, &slot->targets[i]);
	}
	jb_raw(b, "]}", 2);
}

/* Onionbalance's "publish attempt": our last build or upload try. */
static time_t
publish_attempt(const struct pd_slot *slot)
{
	time_t t = slot->last_attempt;
	size_t i;

	for (i = 0; i < slot->ntargets; i++)
		if (slot->targets[i].last_attempt > t)
			t = slot->targets[i].last_attempt;
	return t;
}

static void
service_json(struct jbuf *b, const struct pd_service *sv, time_t now)
{
	char addr[ONION_ADDRESS_LEN + 7];
	size_t i;
	int first = 1, k;

	snprintf(addr, sizeof(addr), "%s.onion", sv->address);
	jb_raw(b, "{", 1);
	kv_str(b, &first, "onionAddress", addr);
	kv_time(b, &first, "publishAttemptFirstDescriptor",
	    publish_attempt(&sv->slot[PD_FIRST]));
	kv_time(b, &first, "publishAttemptSecondDescriptor",
	    publish_attempt(&sv->slot[PD_SECOND]));
	kv_str(b, &first, "unreachable", sv->all_dead ? "every instance "
	    "is unreachable; the last published introduction points are "
	    "kept" : NULL);
	kv_time(b, &first, "unreachableSince", sv->all_dead ?
	    sv->all_dead_since : 0);
	/* restricted discovery: only these clients can read the descriptor */
	kv_uint(b, &first, "authorizedClients", sv->nauth_clients);
	jb_key(b, &first, "instances");
	jb_raw(b, "[", 1);
	for (i = 0; i < sv->ninstances; i++) {
		if (i > 0)
			jb_raw(b, ",", 1);
		instance_json(b, &sv->instances[i], now);
	}
	jb_raw(b, "]", 1);
	jb_key(b, &first, "descriptors");
	jb_raw(b, "[", 1);
	for (k = 0; k < PD_SLOTS; k++) {
		if (k > 0)
			jb_raw(b, ",", 1);
		slot_json(b, sv, k);
	}
	jb_raw(b, "]}", 2);
}

static void
network_json(struct jbuf *b, const struct pd *pd, time_t now)
{
	enum pd_clock clock;
	int64_t skew;
	int first = 1;

	if (!pd->net.have) {
		jb_raw(b, "null", 4);
		return;
	}
	jb_raw(b, "{", 1);
	kv_time(b, &first, "validAfter", pd->net.valid_after);
	kv_time(b, &first, "freshUntil", pd->net.fresh_until);
	kv_time(b, &first, "validUntil", pd->net.valid_until);
	kv_bool(b, &first, "reasonablyLive", pd_net_live(&pd->net, now));
	clock = pd_clock_check(pd, now, &skew);
	jb_key(b, &first, "clock");
	jb_string(b, pd_clock_str(clock));
	jb_key(b, &first, "clockSkewSeconds");
	if (clock == PD_CLOCK_OK)
		jb_raw(b, "null", 4);
	else
		jb_printf(b, "%lld", (long long)skew);
	kv_uint(b, &first, "votingIntervalSeconds",
	    pd->net.params.voting_interval_s);
	kv_uint(b, &first, "timePeriodLengthMinutes",
	    pd->net.params.length_min);
	kv_uint(b, &first, "hsdirNReplicas", pd->net.n_replicas);
	kv_uint(b, &first, "hsdirSpreadStore", pd->net.spread_store);
	kv_uint(b, &first, "hsdirSpreadFetch", pd->net.spread_fetch);
	jb_raw(b, "}", 1);
}

char *
pd_status_json(const struct pd *pd, time_t now, size_t *len)
{
	struct jbuf b = { NULL, 0, 0, 0 };
	size_t i;
	int first = 1;

	jb_raw(&b, "{", 1);
	kv_time(&b, &first, "timestamp", now);
	kv_bool(&b, &first, "controlConnected", pd->uploads_enabled);
	kv_uint(&b, &first, "controlLosses", pd->control_losses);
	kv_time(&b, &first, "controlLostAt", pd->control_lost_at);
	kv_str(&b, &first, "controlLostReason", pd->control_losses > 0 ?
	    pd->control_lost_reason : NULL);
	jb_key(&b, &first, "consensus");
	network_json(&b, pd, now);
	jb_key(&b, &first, "services");
	jb_raw(&b, "[", 1);
	for (i = 0; i < pd->nservices; i++) {
		if (i > 0)
			jb_raw(&b, ",", 1);
		service_json(&b, &pd->services[i], now);
	}
	jb_raw(&b, "]}\n", 3);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	*len = b.len;
	return b.s;
}

/*
 * The peer messages (daemon_proto.h, enum peer_msg), shared by
 * fetchd (writer) and publishd (reader); see peer_msg.h.
 */
#include <string.h>

#include "peer_msg.h"
#include "torcert.h"

const struct ipc_type peer_msg_types[] = {
	{ PEER_INSTANCE_DESC, "INSTANCE_DESC", 0 },
	{ PEER_INSTANCE_STATE, "INSTANCE_STATE", 0 },
	{ PEER_RESYNC, "RESYNC", 0 },
	{ PEER_INSTANCE_LIVENESS, "INSTANCE_LIVENESS", 0 },
	{ PEER_INSTANCE_FETCH, "INSTANCE_FETCH", 0 },
};
const size_t peer_msg_ntypes = sizeof(peer_msg_types) /
    sizeof(peer_msg_types[0]);

#define PEER_DESC_KNOWN_FLAGS \
	(PEER_DESC_FLAG_FLOW_CONTROL | PEER_DESC_FLAG_SINGLE_ONION)

const char *
peer_state_name(uint32_t state)
{
	switch (state) {
	case PEER_STATE_NO_DESCRIPTOR:
		return "no descriptor";
	case PEER_STATE_FETCH_FAILED:
		return "fetch failed";
	case PEER_STATE_INVALID:
		return "invalid descriptor";
	case PEER_STATE_EXPIRED:
		return "expired";
	}
	return "unknown state";
}

const char *
peer_liveness_name(uint32_t liveness)
{
	switch (liveness) {
	case PEER_LIVENESS_UNKNOWN:
		return "unknown";
	case PEER_LIVENESS_ALIVE:
		return "alive";
	case PEER_LIVENESS_SUSPECT:
		return "suspect";
	case PEER_LIVENESS_DEAD:
		return "dead";
	case PEER_LIVENESS_RETURNING:
		return "returning";
	}
	return "unknown liveness";
}

const char *
peer_fetch_outcome_name(uint32_t outcome)
{
	switch (outcome) {
	case PEER_FETCH_NEW:
		return "new";
	case PEER_FETCH_NOT_NEWER:
		return "not-newer";
	case PEER_FETCH_FAILED:
		return "failed";
	case PEER_FETCH_INVALID:
		return "invalid";
	case PEER_FETCH_EXPIRED:
		return "expired";
	}
	return "unknown outcome";
}

static int
peer_fetch_outcome_valid(uint32_t outcome)
{
	return outcome >= PEER_FETCH_NEW && outcome <= PEER_FETCH_EXPIRED;
}

static int
peer_liveness_valid(uint32_t liveness)
{
	return liveness >= PEER_LIVENESS_UNKNOWN &&
	    liveness <= PEER_LIVENESS_RETURNING;
}

static int
peer_state_valid(uint32_t state)
{
	return state >= PEER_STATE_NO_DESCRIPTOR &&
	    state <= PEER_STATE_EXPIRED;
}

int
peer_desc_from_hsdesc(struct peer_desc_msg *d, const struct hsdesc *desc)
{
	size_t i;

	if (desc->n_intro_points > HSDESC_MAX_INTRO_POINTS)
		return -1;
	d->revision_counter = desc->revision_counter;
	d->lifetime_min = desc->lifetime_min;
	d->flags = 0;
	d->flow_control[0] = '\0';
	if (desc->has_flow_control) {
		if (strlen(desc->flow_control) >= sizeof(d->flow_control))
			return -1;
		memcpy(d->flow_control, desc->flow_control,
		    strlen(desc->flow_control) + 1);
		d->flags |= PEER_DESC_FLAG_FLOW_CONTROL;
	}
	if (desc->single_onion)
		d->flags |= PEER_DESC_FLAG_SINGLE_ONION;
	d->n_intro = desc->n_intro_points;
	for (i = 0; i < d->n_intro; i++)
		d->intro[i] = desc->intro_points[i];
	return 0;
}

static int
intro_point_valid(const struct hsdesc_intro_point *ip)
{
	return ip->lspec_len > 0 && ip->lspec_len <= HSDESC_LSPEC_MAX;
}

static void
add_intro_point(struct ipc_builder *b, const struct hsdesc_intro_point *ip)
{
	ipc_add_u32(b, (uint32_t)ip->lspec_len);
	ipc_add_bytes(b, ip->lspec, ip->lspec_len);
	ipc_add_bytes(b, ip->onion_key, sizeof(ip->onion_key));
	ipc_add_bytes(b, ip->auth_key, sizeof(ip->auth_key));
	ipc_add_u32(b, ip->auth_key_exp_hours);
	ipc_add_bytes(b, ip->enc_key, sizeof(ip->enc_key));
	ipc_add_bytes(b, ip->enc_key_cert_key, sizeof(ip->enc_key_cert_key));
	ipc_add_u32(b, ip->enc_key_cert_exp_hours);
}

/* What the decoder insists on, checked before anything is written. */
static int
desc_fields_valid(const struct peer_desc_msg *d)
{
	size_t i;

	if (d->n_intro > HSDESC_MAX_INTRO_POINTS ||
	    (d->flags & ~PEER_DESC_KNOWN_FLAGS) != 0 ||
	    memchr(d->flow_control, '\0', sizeof(d->flow_control)) == NULL)
		return 0;
	if ((d->flags & PEER_DESC_FLAG_FLOW_CONTROL) == 0 &&
	    d->flow_control[0] != '\0')
		return 0;
	for (i = 0; i < d->n_intro; i++)
		if (!intro_point_valid(&d->intro[i]))
			return 0;
	return 1;
}

int
peer_desc_build(struct ipc_builder *b, void *buf, size_t size,
    const struct peer_desc_msg *d)
{
	size_t i;

	ipc_builder_init(b, buf, size, PEER_INSTANCE_DESC, 0);
	if (!desc_fields_valid(d))
		return -1;
	ipc_add_u32(b, d->service);
	ipc_add_u32(b, d->instance);
	ipc_add_bytes(b, d->instance_key, sizeof(d->instance_key));
	ipc_add_u64(b, d->tp);
	ipc_add_u64(b, d->received_at);
	ipc_add_u64(b, d->revision_counter);
	ipc_add_u32(b, d->lifetime_min);
	ipc_add_u32(b, d->flags);
	ipc_add_string(b, d->flow_control);
	ipc_add_u32(b, (uint32_t)d->n_intro);
	for (i = 0; i < d->n_intro; i++)
		add_intro_point(b, &d->intro[i]);
	return ipc_builder_finish(b);
}

int
peer_state_build(struct ipc_builder *b, void *buf, size_t size,
    const struct peer_state_msg *s)
{
	ipc_builder_init(b, buf, size, PEER_INSTANCE_STATE, 0);
	if (!peer_state_valid(s->state) ||
	    memchr(s->detail, '\0', sizeof(s->detail)) == NULL)
		return -1;
	ipc_add_u32(b, s->service);
	ipc_add_u32(b, s->instance);
	ipc_add_bytes(b, s->instance_key, sizeof(s->instance_key));
	ipc_add_u32(b, s->state);
	ipc_add_u64(b, s->since);
	ipc_add_string(b, s->detail);
	return ipc_builder_finish(b);
}

int
peer_liveness_build(struct ipc_builder *b, void *buf, size_t size,
    const struct peer_liveness_msg *l)
{
	ipc_builder_init(b, buf, size, PEER_INSTANCE_LIVENESS, 0);
	if (!peer_liveness_valid(l->liveness) ||
	    memchr(l->outcome, '\0', sizeof(l->outcome)) == NULL ||
	    memchr(l->reason, '\0', sizeof(l->reason)) == NULL)
		return -1;
	ipc_add_u32(b, l->service);
	ipc_add_u32(b, l->instance);
	ipc_add_bytes(b, l->instance_key, sizeof(l->instance_key));
	ipc_add_u32(b, l->liveness);
	ipc_add_u64(b, l->since);
	ipc_add_u64(b, l->last_probe);
	ipc_add_string(b, l->outcome);
	ipc_add_string(b, l->reason);
	return ipc_builder_finish(b);
}

int
peer_fetch_build(struct ipc_builder *b, void *buf, size_t size,
    const struct peer_fetch_msg *r)
{
	ipc_builder_init(b, buf, size, PEER_INSTANCE_FETCH, 0);
	if (!peer_fetch_outcome_valid(r->outcome))
		return -1;
	ipc_add_u32(b, r->service);
	ipc_add_u32(b, r->instance);
	ipc_add_bytes(b, r->instance_key, sizeof(r->instance_key));
	ipc_add_u32(b, r->outcome);
	return ipc_builder_finish(b);
}

static int
get_intro_point(struct ipc_cursor *c, struct hsdesc_intro_point *ip)
{
	uint32_t lspec_len;

	memset(ip, 0, sizeof(*ip));
	if (ipc_get_u32(c, &lspec_len) == -1 || lspec_len == 0 ||
	    lspec_len > HSDESC_LSPEC_MAX)
		return -1;
	ip->lspec_len = lspec_len;
	ip->auth_key_cert_type = TORCERT_TYPE_AUTH_HS_IP_KEY;
	if (ipc_get_bytes(c, ip->lspec, lspec_len) == -1 ||
	    ipc_get_bytes(c, ip->onion_key, sizeof(ip->onion_key)) == -1 ||
	    ipc_get_bytes(c, ip->auth_key, sizeof(ip->auth_key)) == -1 ||
	    ipc_get_u32(c, &ip->auth_key_exp_hours) == -1 ||
	    ipc_get_bytes(c, ip->enc_key, sizeof(ip->enc_key)) == -1 ||
	    ipc_get_bytes(c, ip->enc_key_cert_key,
	    sizeof(ip->enc_key_cert_key)) == -1 ||
	    ipc_get_u32(c, &ip->enc_key_cert_exp_hours) == -1)
		return -1;
	return 0;
}

/* flags, then the flow-control string that must agree with them. */
static int
get_flags_and_flow_control(struct ipc_cursor *c, struct peer_desc_msg *d)
{
	const char *fc;

	if (ipc_get_u32(c, &d->flags) == -1 ||
	    (d->flags & ~PEER_DESC_KNOWN_FLAGS) != 0 ||
	    ipc_get_string(c, &fc, sizeof(d->flow_control) - 1) == -1)
		return -1;
	if ((d->flags & PEER_DESC_FLAG_FLOW_CONTROL) == 0 && *fc != '\0')
		return -1;
	memcpy(d->flow_control, fc, strlen(fc) + 1);
	return 0;
}

int
peer_desc_parse(const struct ipc_msg *msg, struct peer_desc_msg *d)
{
	struct ipc_cursor c;
	uint32_t n;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (msg->type != PEER_INSTANCE_DESC)
		return -1;
	ipc_cursor_init(&c, msg);
	if (ipc_get_u32(&c, &d->service) == -1 ||
	    ipc_get_u32(&c, &d->instance) == -1 ||
	    ipc_get_bytes(&c, d->instance_key, sizeof(d->instance_key)) == -1 ||
	    ipc_get_u64(&c, &d->tp) == -1 ||
	    ipc_get_u64(&c, &d->received_at) == -1 ||
	    ipc_get_u64(&c, &d->revision_counter) == -1 ||
	    ipc_get_u32(&c, &d->lifetime_min) == -1 ||
	    get_flags_and_flow_control(&c, d) == -1 ||
	    ipc_get_u32(&c, &n) == -1 || n > HSDESC_MAX_INTRO_POINTS)
		return -1;
	d->n_intro = n;
	for (i = 0; i < d->n_intro; i++)
		if (get_intro_point(&c, &d->intro[i]) == -1)
			return -1;
	return ipc_cursor_end(&c);
}

int
peer_state_parse(const struct ipc_msg *msg, struct peer_state_msg *s)
{
	struct ipc_cursor c;
	const char *detail;

	memset(s, 0, sizeof(*s));
	if (msg->type != PEER_INSTANCE_STATE)
		return -1;
	ipc_cursor_init(&c, msg);
	if (ipc_get_u32(&c, &s->service) == -1 ||
	    ipc_get_u32(&c, &s->instance) == -1 ||
	    ipc_get_bytes(&c, s->instance_key, sizeof(s->instance_key)) == -1 ||
	    ipc_get_u32(&c, &s->state) == -1 || !peer_state_valid(s->state) ||
	    ipc_get_u64(&c, &s->since) == -1 ||
	    ipc_get_string(&c, &detail, PEER_DETAIL_MAX) == -1 ||
	    ipc_cursor_end(&c) == -1)
		return -1;
	memcpy(s->detail, detail, strlen(detail) + 1);
	return 0;
}

int
peer_liveness_parse(const struct ipc_msg *msg, struct peer_liveness_msg *l)
{
	struct ipc_cursor c;
	const char *outcome, *reason;

	memset(l, 0, sizeof(*l));
	if (msg->type != PEER_INSTANCE_LIVENESS)
		return -1;
	ipc_cursor_init(&c, msg);
	if (ipc_get_u32(&c, &l->service) == -1 ||
	    ipc_get_u32(&c, &l->instance) == -1 ||
	    ipc_get_bytes(&c, l->instance_key, sizeof(l->instance_key)) == -1 ||
	    ipc_get_u32(&c, &l->liveness) == -1 ||
	    !peer_liveness_valid(l->liveness) ||
	    ipc_get_u64(&c, &l->since) == -1 ||
	    ipc_get_u64(&c, &l->last_probe) == -1 ||
	    ipc_get_string(&c, &outcome, PEER_OUTCOME_MAX) == -1 ||
	    ipc_get_string(&c, &reason, PEER_OUTCOME_MAX) == -1 ||
	    ipc_cursor_end(&c) == -1)
		return -1;
	memcpy(l->outcome, outcome, strlen(outcome) + 1);
	memcpy(l->reason, reason, strlen(reason) + 1);
	return 0;
}

int
peer_fetch_parse(const struct ipc_msg *msg, struct peer_fetch_msg *r)
{
	struct ipc_cursor c;

	memset(r, 0, sizeof(*r));
	if (msg->type != PEER_INSTANCE_FETCH ||
	    ipc_open_fixed(&c, msg, PEER_INSTANCE_FETCH_LEN) == -1 ||
	    ipc_get_u32(&c, &r->service) == -1 ||
	    ipc_get_u32(&c, &r->instance) == -1 ||
	    ipc_get_bytes(&c, r->instance_key, sizeof(r->instance_key)) == -1 ||
	    ipc_get_u32(&c, &r->outcome) == -1 ||
	    !peer_fetch_outcome_valid(r->outcome) ||
	    ipc_cursor_end(&c) == -1)
		return -1;
	return 0;
}

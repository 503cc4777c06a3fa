/*
 * fetchd's messages (common/codec/peer_msg.h), applied to publishd's instances.
 * A message that does not decode is a broken fetchd (inside is fatal); one
 * that names an instance we do not have crossed a reload and is dropped.
 */
#include <string.h>

#include "log.h"
#include "peer_msg.h"
#include "publishd.h"

static void
peer_desc(struct pd *pd, const struct ipc_msg *msg, time_t now)
{
	static struct peer_desc_msg d;		/* 9 KB: not on the stack */
	static struct pd_instance in;

	if (peer_desc_parse(msg, &d) == -1)
		fatalx("fetchd: malformed INSTANCE_DESC");
	memset(&in, 0, sizeof(in));
	in.tp = d.tp;
	in.received_at = (time_t)d.received_at;
	in.revision = d.revision_counter;
	in.lifetime_min = d.lifetime_min;
	in.flags = d.flags;
	memcpy(in.flow_control, d.flow_control, sizeof(in.flow_control));
	in.n_intro = d.n_intro;
	memcpy(in.intro, d.intro, d.n_intro * sizeof(d.intro[0]));
	if (pd_instance_desc(pd, d.service, d.instance, d.instance_key, &in,
	    now) == -1)
		log_debug("fetchd: descriptor for unknown instance %u/%u",
		    d.service, d.instance);
}

static void
peer_state(struct pd *pd, const struct ipc_msg *msg, time_t now)
{
	struct peer_state_msg s;

	if (peer_state_parse(msg, &s) == -1)
		fatalx("fetchd: malformed INSTANCE_STATE");
	if (pd_instance_state(pd, s.service, s.instance, s.instance_key,
	    (enum peer_instance_state)s.state, (time_t)s.since, s.detail,
	    now) == -1)
		log_debug("fetchd: state for unknown instance %u/%u",
		    s.service, s.instance);
}

static void
peer_liveness(struct pd *pd, const struct ipc_msg *msg, time_t now)
{
	struct peer_liveness_msg l;

	if (peer_liveness_parse(msg, &l) == -1)
		fatalx("fetchd: malformed INSTANCE_LIVENESS");
	if (pd_instance_liveness(pd, &l, now) == -1)
		log_debug("fetchd: liveness for unknown instance %u/%u",
		    l.service, l.instance);
}

/* Only counted, for the metrics: what fetchd holds is in the others. */
static void
peer_fetch(struct pd *pd, const struct ipc_msg *msg)
{
	struct peer_fetch_msg r;
	struct pd_instance *in;

	if (peer_fetch_parse(msg, &r) == -1)
		fatalx("fetchd: malformed INSTANCE_FETCH");
	if ((in = pd_instance_lookup(pd, r.service, r.instance,
	    r.instance_key)) == NULL) {
		log_debug("fetchd: fetch result for unknown instance %u/%u",
		    r.service, r.instance);
		return;
	}
	in->fetches[r.outcome]++;
}

void
pd_peer_message(struct pd *pd, const struct ipc_msg *msg, time_t now)
{
	switch ((enum peer_msg)msg->type) {
	case PEER_INSTANCE_DESC:
		peer_desc(pd, msg, now);
		break;
	case PEER_INSTANCE_STATE:
		peer_state(pd, msg, now);
		break;
	case PEER_INSTANCE_LIVENESS:
		peer_liveness(pd, msg, now);
		break;
	case PEER_INSTANCE_FETCH:
		peer_fetch(pd, msg);
		break;
	case PEER_RESYNC:
		fatalx("fetchd: sent RESYNC, which only publishd sends");
	}
}

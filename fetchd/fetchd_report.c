/*
 * What fetchd tells publishd about an instance: its verified descriptor
 * (PEER_INSTANCE_DESC) or why it has none usable (PEER_INSTANCE_STATE),
 * its liveness (PEER_INSTANCE_LIVENESS), and how each fetch ended
 * (PEER_INSTANCE_FETCH).
 */
#include <stdio.h>
#include <string.h>

#include "fetchd_private.h"
#include "log.h"

/* One message at a time, so one buffer (fetchd is single-threaded). */
static uint8_t	peer_buf[IPC_HDR_LEN + PEER_CAP];

void
fetchd_report_desc(struct fetchd *fd, struct fetchd_instance *in)
{
	struct ipc_builder b;

	if (in->desc == NULL)
		return;
	in->desc->service = in->service;
	in->desc->instance = in->instance;
	memcpy(in->desc->instance_key, in->key, sizeof(in->key));
	/* Only what passed the decoder is here, so this cannot fail. */
	if (peer_desc_build(&b, peer_buf, sizeof(peer_buf), in->desc) == -1)
		fatalx("%s: cannot encode its descriptor", in->name);
	fd->ops.send_peer(fd->ops.arg, &b);
}

static void
send_state(struct fetchd *fd, const struct fetchd_instance *in)
{
	struct peer_state_msg s;
	struct ipc_builder b;

	memset(&s, 0, sizeof(s));
	s.service = in->service;
	s.instance = in->instance;
	memcpy(s.instance_key, in->key, sizeof(in->key));
	s.state = in->state;
	s.since = (uint64_t)in->state_since;
	snprintf(s.detail, sizeof(s.detail), "%s", in->detail);
	if (peer_state_build(&b, peer_buf, sizeof(peer_buf), &s) == -1)
		fatalx("%s: cannot encode its state", in->name);
	fd->ops.send_peer(fd->ops.arg, &b);
}

void
fetchd_report_state(struct fetchd *fd, struct fetchd_instance *in,
    uint32_t state, const char *detail, time_t now)
{
	if (in->state == state && strcmp(in->detail, detail) == 0)
		return;
	if (in->state != state)
		in->state_since = now;
	in->state = state;
	snprintf(in->detail, sizeof(in->detail), "%s", detail);
	log_debug("%s: %s (%s)", in->name, peer_state_name(state), detail);
	send_state(fd, in);
}

void
fetchd_report_liveness(struct fetchd *fd, struct fetchd_instance *in)
{
	struct peer_liveness_msg l;
	struct ipc_builder b;

	memset(&l, 0, sizeof(l));
	l.service = in->service;
	l.instance = in->instance;
	memcpy(l.instance_key, in->key, sizeof(in->key));
	l.liveness = in->probe.liveness;
	l.since = (uint64_t)in->probe.since;
	l.last_probe = (uint64_t)in->probe.last_probe;
	snprintf(l.outcome, sizeof(l.outcome), "%s", in->probe.outcome);
	snprintf(l.reason, sizeof(l.reason), "%s", in->probe.reason);
	if (peer_liveness_build(&b, peer_buf, sizeof(peer_buf), &l) == -1)
		fatalx("%s: cannot encode its liveness", in->name);
	fd->ops.send_peer(fd->ops.arg, &b);
}

void
fetchd_report_fetch(struct fetchd *fd, const struct fetchd_instance *in,
    enum peer_fetch_outcome outcome)
{
	struct peer_fetch_msg r;
	struct ipc_builder b;

	memset(&r, 0, sizeof(r));
	r.service = in->service;
	r.instance = in->instance;
	memcpy(r.instance_key, in->key, sizeof(in->key));
	r.outcome = outcome;
	if (peer_fetch_build(&b, peer_buf, sizeof(peer_buf), &r) == -1)
		fatalx("%s: cannot encode a fetch result", in->name);
	fd->ops.send_peer(fd->ops.arg, &b);
}

void
fetchd_report_latest(struct fetchd *fd, struct fetchd_instance *in)
{
	if (in->state == 0)
		fetchd_report_desc(fd, in);
	else
		send_state(fd, in);
	if (in->probe.liveness != PEER_LIVENESS_UNKNOWN)
		fetchd_report_liveness(fd, in);
}

void
fetchd_warn_once(struct fetchd_instance *in, const char *text)
{
	if (strcmp(in->last_warning, text) == 0) {
		log_debug("%s: %s (again)", in->name, text);
		return;
	}
	snprintf(in->last_warning, sizeof(in->last_warning), "%s", text);
	log_warnx("%s: %s", in->name, text);
}

/*
 * Liveness: whether a backend answers, learned by reaching it through
 * the management tor (README.md, "Liveness").  HSDirs keep serving a dead
 * backend's descriptor for hours, so the descriptor says nothing about
 * whether the backend is up; a SOCKS connection to its address runs an
 * introduction and a rendezvous with it, and tor's extended SOCKS errors
 * say which step failed.
 *
 * Per instance:
 *
 *	UNKNOWN/ALIVE --failure--> SUSPECT --failure--> DEAD (dropped)
 *	      ^                       |                   | success
 *	      +-------success---------+                   v
 *	      +----- RISE successes, hold-down over ---- RETURNING
 *
 * The confirming probe after a first failure runs at once, on fresh
 * circuits (a new SOCKS username), so that one bad circuit does not drop
 * a backend and a dead one is dropped within two probe times.  A failure
 * counts only while the management tor itself works (control connection
 * up, circuits established, a live consensus); otherwise it says nothing
 * about the backend.  A backend that comes back soon after it was dropped
 * (a flap) is held back longer each time, so it cannot make publishd
 * upload in a loop.
 *
 * Like the rest of fetchd's logic, no I/O: fetchd.c runs the probes.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "fetchd_private.h"
#include "log.h"
#include "torctl_events.h"

/* tor's SOCKS5 replies (socks5_reply_status_t), ExtendedErrors included. */
#define SOCKS5_SUCCEEDED		0x00
#define SOCKS5_GENERAL_ERROR		0x01
#define SOCKS5_CONNECTION_REFUSED	0x05
#define SOCKS5_TTL_EXPIRED		0x06
#define SOCKS5_HS_NOT_FOUND		0xF0
#define SOCKS5_HS_IS_INVALID		0xF1
#define SOCKS5_HS_INTRO_FAILED		0xF2
#define SOCKS5_HS_REND_FAILED		0xF3
#define SOCKS5_HS_MISSING_CLIENT_AUTH	0xF4
#define SOCKS5_HS_BAD_CLIENT_AUTH	0xF5
#define SOCKS5_HS_BAD_ADDRESS		0xF6
#define SOCKS5_HS_INTRO_TIMEDOUT	0xF7

void
fetchd_probe_config_default(struct fetchd_probe_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->interval_s = FETCHD_PROBE_INTERVAL_S;
	cfg->timeout_s = FETCHD_PROBE_TIMEOUT_S;
	cfg->port = 80;
	cfg->check = PROBE_CHECK_NONE;
	memcpy(cfg->path, "/", 2);
}

/*
 * Which of tor's answers mean what (tor: connection_edge.c, hs_client.c;
 * control-spec's SocksPort ExtendedErrors):
 * - success: the backend's tor took the stream;
 * - refused: the backend's tor answered, its local port did not;
 * - intro failed / timed out, rendezvous failed, and the stream timing
 *   out on a joined rendezvous circuit ("TTL expired"): the backend did
 *   not answer although its intro points are known;
 * - a general failure: with a health check, the backend's port did not
 *   take the stream.  A backend's tor whose local connect fails sends
 *   END with reason "misc", not "connection refused" (tor 0.4.9,
 *   connection.c: the failed in-progress connect is ended with
 *   connection_edge_end_errno, which reads errno again and finds
 *   EINPROGRESS), and the client reports that as 0x01.  Without a
 *   health check it says nothing: a port the backend does not serve, or
 *   a rendezvous circuit being torn down, end the same way;
 * - everything else (no descriptor, a bad one, client auth) says nothing
 *   about whether the backend's tor is up.
 */
enum probe_outcome
fetchd_probe_classify_socks(uint8_t reply, enum probe_check check,
    const char **text)
{
	switch (reply) {
	case SOCKS5_SUCCEEDED:
		*text = "stream opened";
		return PROBE_OK;
	case SOCKS5_CONNECTION_REFUSED:
		*text = "backend's port refused the stream";
		return check == PROBE_CHECK_NONE ? PROBE_REFUSED :
		    PROBE_CHECK_FAILED;
	case SOCKS5_HS_INTRO_FAILED:
		*text = "introduction failed (SOCKS 0xF2)";
		return PROBE_UNREACHABLE;
	case SOCKS5_HS_INTRO_TIMEDOUT:
		*text = "introduction timed out (SOCKS 0xF7)";
		return PROBE_UNREACHABLE;
	case SOCKS5_HS_REND_FAILED:
		*text = "rendezvous failed (SOCKS 0xF3)";
		return PROBE_UNREACHABLE;
	case SOCKS5_TTL_EXPIRED:
		*text = "stream timed out in tor (SOCKS 0x06)";
		return PROBE_TIMEOUT;
	case SOCKS5_HS_NOT_FOUND:
		*text = "tor found no descriptor (SOCKS 0xF0)";
		return PROBE_INCONCLUSIVE;
	case SOCKS5_HS_IS_INVALID:
		*text = "tor finds the descriptor invalid (SOCKS 0xF1)";
		return PROBE_INCONCLUSIVE;
	case SOCKS5_HS_MISSING_CLIENT_AUTH:
	case SOCKS5_HS_BAD_CLIENT_AUTH:
		*text = "client authorization (SOCKS 0xF4/0xF5)";
		return PROBE_INCONCLUSIVE;
	case SOCKS5_HS_BAD_ADDRESS:
		*text = "tor refused the address (SOCKS 0xF6)";
		return PROBE_INCONCLUSIVE;
	case SOCKS5_GENERAL_ERROR:
		if (check != PROBE_CHECK_NONE) {
			*text = "backend's port did not take the stream "
			    "(SOCKS 0x01)";
			return PROBE_CHECK_FAILED;
		}
		*text = "general failure (SOCKS 0x01; is probe-port a port "
		    "the backend serves?)";
		return PROBE_INCONCLUSIVE;
	default:
		*text = "unexpected SOCKS reply";
		return PROBE_INCONCLUSIVE;
	}
}

/* Another instance answered a probe at or after since. */
static bool
others_answered(const struct fetchd *fd, const struct fetchd_instance *in,
    time_t since)
{
	size_t i;

	for (i = 0; i < fd->ninst; i++)
		if (strcmp(fd->inst[i].address, in->address) != 0 &&
		    fd->inst[i].probe.last_ok != 0 &&
		    fd->inst[i].probe.last_ok >= since)
			return true;
	return false;
}

/*
 * A timeout tells a frozen backend from a slow or stalled network (our
 * tor's circuits, a loaded machine) only when another backend answered
 * meanwhile; without that, it counts once the silence has lasted
 * FETCHD_PROBE_STALL_S (every backend frozen is a real outage too).
 */
static const char *
timeout_uncorroborated(const struct fetchd *fd, struct fetchd_instance *in,
    time_t now)
{
	struct fetchd_probe *p = &in->probe;

	if (others_answered(fd, in, p->started)) {
		p->stall_since = 0;
		return NULL;
	}
	if (p->stall_since == 0)
		p->stall_since = p->started;
	if (now - p->stall_since >= FETCHD_PROBE_STALL_S)
		return NULL;
	return "no other backend answered meanwhile";
}

/* Why a failure would say nothing now, or NULL if tor works. */
static const char *
tor_unfit(const struct fetchd *fd, time_t now)
{
	if (!fd->connected)
		return "no control connection to the management tor";
	if (!fd->have_consensus || !fetchd_consensus_live(&fd->consensus, now))
		return "the management tor has no live consensus";
	if (!fd->circuits)
		return "the management tor has no circuits";
	return NULL;
}

static time_t
spread(const struct fetchd_probe *p)
{
	uint32_t tenth = p->cfg.interval_s / 10;

	return tenth > 0 ? (time_t)randombytes_uniform(tenth + 1) : 0;
}

static time_t
flap_hold(unsigned flaps)
{
	time_t hold = FETCHD_FLAP_HOLD_BASE_S;

	if (flaps == 0)
		return 0;
	while (--flaps > 0 && hold < FETCHD_FLAP_HOLD_MAX_S)
		hold *= 2;
	return hold < FETCHD_FLAP_HOLD_MAX_S ? hold : FETCHD_FLAP_HOLD_MAX_S;
}

/*
 * Probing makes sense only for an instance whose descriptor we use, and
 * only when the configuration asks for it (probe-interval 0: off).
 */
static bool
probed(const struct fetchd_instance *in)
{
	return in->probe.cfg.interval_s != 0 && in->state == 0 &&
	    in->desc != NULL;
}

static void
set_liveness(struct fetchd_instance *in, uint32_t liveness, time_t now)
{
	if (in->probe.liveness != liveness)
		in->probe.since = now;
	in->probe.liveness = liveness;
}

/*
 * Whether every other probed backend is failing too (suspect, dead or
 * returning).  A failure all share more likely comes from our side (a
 * stalled management tor or machine) than from each backend, so it says
 * nothing about this one flapping.  Without another probed backend there
 * is nothing to compare with: false.
 */
static bool
all_others_failing(const struct fetchd *fd, const struct fetchd_instance *in)
{
	const struct fetchd_instance *o;
	size_t i, others = 0;

	for (i = 0; i < fd->ninst; i++) {
		o = &fd->inst[i];
		/* The same backend in another service is not another one. */
		if (o == in || !probed(o) || strcmp(o->address, in->address) == 0)
			continue;
		if (o->probe.liveness != PEER_LIVENESS_SUSPECT &&
		    o->probe.liveness != PEER_LIVENESS_DEAD &&
		    o->probe.liveness != PEER_LIVENESS_RETURNING)
			return false;
		others++;
	}
	return others > 0;
}

static void
drop(const struct fetchd *fd, struct fetchd_instance *in, time_t now)
{
	struct fetchd_probe *p = &in->probe;
	bool shared = all_others_failing(fd, in);

	/* A shared failure neither counts as a flap nor clears the count. */
	if (!shared && p->returned_at != 0 &&
	    now - p->returned_at < FETCHD_FLAP_WINDOW_S)
		p->flaps++;
	else if (!shared)
		p->flaps = 0;
	snprintf(p->reason, sizeof(p->reason), "%s", p->outcome);
	set_liveness(in, PEER_LIVENESS_DEAD, now);
	p->dead_backoff = p->cfg.interval_s;
	p->next = now + p->dead_backoff;
	log_warnx("%s: dropped from the frontend: %s (%u failed probes in a "
	    "row%s)", in->name, p->reason, p->fails, shared ? "; every other "
	    "backend is failing too, so not counted as a flap" : "");
}

static void
on_success(struct fetchd_instance *in, time_t now)
{
	struct fetchd_probe *p = &in->probe;

	p->fails = 0;
	p->next = now + p->cfg.interval_s + spread(p);
	switch (p->liveness) {
	case PEER_LIVENESS_DEAD:
		p->oks = 1;
		p->hold_until = now + flap_hold(p->flaps);
		set_liveness(in, PEER_LIVENESS_RETURNING, now);
		log_info("%s: answers again; back after %u good probes%s",
		    in->name, FETCHD_PROBE_RISE, p->flaps > 0 ?
		    " and a hold-down (it flapped)" : "");
		return;
	case PEER_LIVENESS_RETURNING:
		p->oks++;
		if (p->oks < FETCHD_PROBE_RISE || now < p->hold_until) {
			if (now < p->hold_until && p->next > p->hold_until)
				p->next = p->hold_until;
			return;
		}
		p->returned_at = now;
		p->reason[0] = '\0';
		set_liveness(in, PEER_LIVENESS_ALIVE, now);
		log_info("%s: back in the frontend after %u good probes",
		    in->name, p->oks);
		return;
	default:
		set_liveness(in, PEER_LIVENESS_ALIVE, now);
		return;
	}
}

/* The next probe goes out now, on fresh circuits (a new SOCKS username). */
static void
probe_now_afresh(struct fetchd_probe *p, time_t now)
{
	p->isolation++;
	p->next = now;
}

/* Dropped, or never judged: a new descriptor may mean it is back. */
static bool
may_be_back(const struct fetchd_probe *p)
{
	return p->liveness == PEER_LIVENESS_DEAD ||
	    p->liveness == PEER_LIVENESS_UNKNOWN;
}

static void
on_failure(const struct fetchd *fd, struct fetchd_instance *in, time_t now)
{
	struct fetchd_probe *p = &in->probe;

	p->oks = 0;
	p->fails++;
	switch (p->liveness) {
	case PEER_LIVENESS_DEAD:
		if (p->dead_backoff < FETCHD_PROBE_DEAD_MAX_S)
			p->dead_backoff *= 2;
		if (p->dead_backoff > FETCHD_PROBE_DEAD_MAX_S)
			p->dead_backoff = FETCHD_PROBE_DEAD_MAX_S;
		p->next = now + p->dead_backoff;
		return;
	case PEER_LIVENESS_RETURNING:
		snprintf(p->reason, sizeof(p->reason), "%s", p->outcome);
		set_liveness(in, PEER_LIVENESS_DEAD, now);
		p->next = now + p->dead_backoff;
		log_info("%s: failed again while returning: %s", in->name,
		    p->outcome);
		return;
	default:
		if (p->fails >= FETCHD_PROBE_FALL) {
			drop(fd, in, now);
			return;
		}
		/* Confirm at once, on fresh circuits. */
		set_liveness(in, PEER_LIVENESS_SUSPECT, now);
		probe_now_afresh(p, now);
		log_info("%s: probe failed (%s); confirming", in->name,
		    p->outcome);
		return;
	}
}

static void
apply_outcome(struct fetchd *fd, struct fetchd_instance *in,
    enum probe_outcome outcome, const char *detail, time_t now)
{
	struct fetchd_probe *p = &in->probe;
	uint32_t before = p->liveness;
	const char *unfit;

	p->in_flight = false;
	p->last_probe = now;
	snprintf(p->outcome, sizeof(p->outcome), "%s", detail);
	switch (outcome) {
	case PROBE_OK:
	case PROBE_REFUSED:
		p->last_ok = now;
		p->stall_since = 0;
		on_success(in, now);
		break;
	case PROBE_CHECK_FAILED:
	case PROBE_UNREACHABLE:
	case PROBE_TIMEOUT:
		if ((unfit = tor_unfit(fd, now)) == NULL &&
		    (outcome != PROBE_TIMEOUT ||
		    (unfit = timeout_uncorroborated(fd, in, now)) == NULL)) {
			on_failure(fd, in, now);
			break;
		}
		snprintf(p->outcome, sizeof(p->outcome), "not counted (%s): "
		    "%s", unfit, detail);
		/* FALLTHROUGH */
	case PROBE_INCONCLUSIVE:
		log_debug("%s: probe inconclusive: %s", in->name, p->outcome);
		p->next = now + (p->liveness == PEER_LIVENESS_DEAD ?
		    p->dead_backoff : (time_t)p->cfg.interval_s);
		/*
		 * A stream on a rendezvous circuit that is being torn down
		 * ends with a general failure: after a close, look again at
		 * once, on fresh circuits.
		 */
		if (p->rend_closed && p->liveness != PEER_LIVENESS_DEAD)
			probe_now_afresh(p, now);
		break;
	}
	p->rend_closed = false;		/* one retry per close */
	if (p->desc_in_flight && may_be_back(p))
		probe_now_afresh(p, now);
	p->desc_in_flight = false;
	if (before != p->liveness || outcome != PROBE_OK)
		log_debug("%s: probe: %s -> %s", in->name, p->outcome,
		    peer_liveness_name(p->liveness));
	fetchd_report_liveness(fd, in);
}

void
fetchd_probe_result(struct fetchd *fd, uint32_t id, enum probe_outcome outcome,
    const char *detail, time_t now)
{
	size_t i;

	for (i = 0; i < fd->ninst; i++) {
		struct fetchd_instance *in = &fd->inst[i];

		if (in->probe.in_flight && in->probe.id == id) {
			apply_outcome(fd, in, outcome, detail, now);
			return;
		}
	}
	log_debug("probe %u: result for no probe in flight (reload?)", id);
}

static void
start_probe(struct fetchd *fd, struct fetchd_instance *in, time_t now)
{
	struct fetchd_probe *p = &in->probe;
	uint32_t id = ++fd->next_probe_id;

	if (fd->ops.probe_start(fd->ops.arg, id, in->address, &p->cfg,
	    p->isolation) == -1) {
		p->next = now + p->cfg.interval_s;
		return;
	}
	p->in_flight = true;
	p->id = id;
	p->started = now;
	p->deadline = now + p->cfg.timeout_s + FETCHD_PROBE_GRACE_S;
	p->next = 0;
}

void
fetchd_probe_tick(struct fetchd *fd, struct fetchd_instance *in, time_t now)
{
	struct fetchd_probe *p = &in->probe;
	char detail[64];

	if (p->in_flight && now >= p->deadline) {
		/* fetchd.c times probes out itself; this is the safety net. */
		snprintf(detail, sizeof(detail), "no answer in %u s",
		    p->cfg.timeout_s);
		apply_outcome(fd, in, PROBE_TIMEOUT, detail, now);
	}
	if (!probed(in) || p->in_flight)
		return;
	if (p->next == 0)	/* first time: spread over one interval */
		p->next = now + (time_t)randombytes_uniform(p->cfg.interval_s);
	if (now >= p->next)
		start_probe(fd, in, now);
}

time_t
fetchd_probe_wakeup(const struct fetchd_instance *in)
{
	if (in->probe.in_flight)
		return in->probe.deadline;
	return probed(in) ? in->probe.next : 0;
}

void
fetchd_probe_new_descriptor(struct fetchd *fd, struct fetchd_instance *in,
    time_t now)
{
	struct fetchd_probe *p = &in->probe;

	/* A new descriptor of a dropped backend: it may be back. */
	if (!may_be_back(p))
		return;
	/*
	 * The probe in flight went out before it, to the dead backend's old
	 * intro points: its failure says nothing of the new ones, so probe
	 * again when it ends, not after the dead back-off (up to a minute).
	 */
	if (p->in_flight)
		p->desc_in_flight = true;
	else
		p->next = now;
}

/*
 * 650 CIRC <id> CLOSED|FAILED ... PURPOSE=HS_CLIENT_REND
 * HS_STATE=HSCR_JOINED REND_QUERY=<address>: the rendezvous circuit to a
 * backend went away.  When a backend's tor dies, its end of the circuit
 * is torn down and this arrives at once; probe it now instead of at the
 * next interval.  (Other closes, e.g. of an idle circuit, cost one probe.)
 */
void
fetchd_probe_circ_event(struct fetchd *fd, const struct torctl_reply *ev,
    time_t now)
{
	char status[16], purpose[32], query[TORCTL_ONION_LEN + 16];
	const char *text = ev->lines[0].text;
	size_t i;

	if (torctl_word(text, 2, status, sizeof(status)) == -1 ||
	    (strcmp(status, "CLOSED") != 0 && strcmp(status, "FAILED") != 0) ||
	    torctl_kv_get(text, "PURPOSE", purpose, sizeof(purpose)) == -1 ||
	    strcmp(purpose, "HS_CLIENT_REND") != 0 ||
	    torctl_kv_get(text, "REND_QUERY", query, sizeof(query)) == -1)
		return;
	for (i = 0; i < fd->ninst; i++) {
		struct fetchd_instance *in = &fd->inst[i];

		if (strncmp(in->address, query, ONION_ADDRESS_LEN) != 0 ||
		    (query[ONION_ADDRESS_LEN] != '\0' &&
		    strcmp(query + ONION_ADDRESS_LEN, ".onion") != 0) ||
		    !probed(in) || in->probe.in_flight ||
		    in->probe.liveness == PEER_LIVENESS_DEAD)
			continue;
		log_debug("%s: its rendezvous circuit closed; probing now",
		    in->name);
		in->probe.next = now;
		in->probe.rend_closed = true;
	}
}

void
fetchd_set_circuits(struct fetchd *fd, bool established, time_t now)
{
	if (fd->circuits != established)
		log_info("the management tor %s circuits", established ?
		    "has" : "has no");
	fd->circuits = established;
	(void)now;
}

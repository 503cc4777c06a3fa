/*
 * publishd's tor control connection: the consensus and microdescriptors
 * (again at every CONSENSUS_ARRIVED), the HSPOSTs, and the HS_DESC
 * events that tell how they went.  The parent hands over an
 * authenticated connection; when it goes we ask for a new one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "torctl.h"
#include "torctl_events.h"

#define CONSENSUS_KEY	"dir/status-vote/current/consensus-microdesc"
#define MD_KEY		"md/all"

static void	consensus_refresh(struct pd_proc *);

static void
consensus_done(struct torctl *ctl, enum torctl_status status,
    const struct torctl_reply *reply, void *arg)
{
	struct pd_proc *p = arg;
	struct pd_net net;
	struct pd_ring ring;
	const char *cons, *md;
	size_t cons_len = 0, md_len = 0;
	char why[128];
	time_t now = time(NULL);

	p->consensus_pending = false;
	if (status == TORCTL_CLOSED || status == TORCTL_TIMEOUT)
		return;
	if (status != TORCTL_OK ||
	    (cons = torctl_reply_getinfo(reply, CONSENSUS_KEY,
	    &cons_len)) == NULL ||
	    (md = torctl_reply_getinfo(reply, MD_KEY, &md_len)) == NULL)
		log_warnx("tor has no consensus or microdescriptors yet (%s)",
		    status == TORCTL_OK ? "no value" :
		    torctl_reply_message(reply));
	else if (pd_network_from_tor(cons, cons_len, md, md_len, now, &net,
	    &ring, why, sizeof(why)) == -1)
		log_warnx("not using tor's consensus: %s", why);
	else
		pd_set_network(&p->pd, &net, &ring, now);
	if (p->consensus_again) {
		p->consensus_again = false;
		consensus_refresh(p);
	}
	proc_rearm(p);
}

static void
consensus_refresh(struct pd_proc *p)
{
	static const char *const keys[] = { CONSENSUS_KEY, MD_KEY };

	if (p->consensus_pending) {
		p->consensus_again = true;
		return;
	}
	if (p->ctl == NULL || torctl_getinfo(p->ctl, keys, 2, consensus_done,
	    p) == -1)
		return;
	p->consensus_pending = true;
}

/* What an HSPOST reply needs to find its upload again after a reload. */
struct hspost_arg {
	struct pd_proc	*p;
	char		 address[ONION_ADDRESS_LEN + 1];
	char		 fpr[PD_FPR_LEN + 1];
};

static void
hspost_done(struct torctl *ctl, enum torctl_status status,
    const struct torctl_reply *reply, void *arg)
{
	struct hspost_arg *ha = arg;
	struct pd_proc *p = ha->p;
	struct pd_service *sv;
	const char *why = NULL;

	/* 250: the outcome comes as an HS_DESC event; CLOSED: aborted. */
	if (status == TORCTL_REJECTED)
		why = torctl_reply_message(reply);
	else if (status == TORCTL_TIMEOUT)
		why = "HSPOST not answered";
	if (why != NULL &&
	    (sv = pd_service_by_address(&p->pd, ha->address)) != NULL) {
		log_warnx("%s: tor refused HSPOST to $%s: %s", ha->address,
		    ha->fpr, why);
		pd_upload_result(&p->pd, sv, ha->fpr, 0, "HSPOST_REFUSED",
		    time(NULL));
	}
	free(ha);
	if (status != TORCTL_CLOSED)
		proc_rearm(p);
}

int
control_post(void *arg, struct pd *pd, struct pd_service *sv, int slot,
    size_t variant, const char *fpr)
{
	struct pd_proc *p = arg;
	const struct pd_variant *va = &sv->slot[slot].variant[variant];
	struct hspost_arg *ha;
	const char *servers[1];

	if (p->ctl == NULL || !torctl_is_ready(p->ctl) || va->desc == NULL)
		return -1;
	if ((ha = calloc(1, sizeof(*ha))) == NULL)
		fatal("%s", __func__);
	ha->p = p;
	snprintf(ha->address, sizeof(ha->address), "%s", sv->address);
	snprintf(ha->fpr, sizeof(ha->fpr), "%s", fpr);
	servers[0] = ha->fpr;
	if (torctl_hspost(p->ctl, servers, 1, sv->address, va->desc,
	    va->desc_len, hspost_done, ha) == -1) {
		free(ha);
		return -1;
	}
	return 0;
}

static void
on_hs_desc(struct torctl *ctl, const struct torctl_reply *ev, void *arg)
{
	struct pd_proc *p = arg;
	struct torctl_hs_desc hd;
	const char *why;

	if (torctl_parse_hs_desc(ev, &hd, &why) == -1) {
		log_warnx("tor sent a malformed HS_DESC event: %s", why);
		return;
	}
	if (pd_hs_desc_event(&p->pd, &hd, time(NULL)))
		proc_rearm(p);
}

static void
on_status_client(struct torctl *ctl, const struct torctl_reply *ev, void *arg)
{
	struct pd_proc *p = arg;
	struct torctl_status_client sc;
	const char *why;

	if (torctl_parse_status_client(ev, &sc, &why) == -1) {
		log_warnx("tor sent a malformed STATUS_CLIENT event: %s", why);
		return;
	}
	if (strcmp(sc.action, "CONSENSUS_ARRIVED") == 0)
		consensus_refresh(p);
}

static void
setevents_done(struct torctl *ctl, enum torctl_status status,
    const struct torctl_reply *reply, void *arg)
{
	struct pd_proc *p = arg;

	if (status != TORCTL_OK) {
		/* No events, nothing to do: a new connection, later. */
		if (status == TORCTL_REJECTED) {
			log_errorx("tor refused SETEVENTS: %s",
			    torctl_reply_message(reply));
			torctl_drop(ctl, "tor refused SETEVENTS");
		}
		return;
	}
	p->pd.uploads_enabled = 1;
	/*
	 * Publish again.  A connection after a loss usually means tor
	 * restarted: we saw none of its HS_DESC events while it was away,
	 * and the service should be carried by the new tor at once rather
	 * than at the next refresh (an hour away on the live network).  It
	 * costs one build and one HSPOST per HSDir; on the first connection
	 * there is nothing built yet and this does nothing.
	 */
	pd_republish(&p->pd);
	consensus_refresh(p);
	proc_rearm(p);
}

static void
on_conn(struct torctl *ctl, bool connected, const char *reason, void *arg)
{
	struct pd_proc *p = arg;
	static const char *const events[] = { "HS_DESC", "STATUS_CLIENT" };

	if (connected) {
		log_info("tor control connection ready");
		if (torctl_setevents(ctl, events, 2, setevents_done, p) == -1)
			log_warnx("cannot send SETEVENTS");
		return;
	}
	log_warnx("tor control connection lost (%s); asking for a new one",
	    reason != NULL ? reason : "closed");
	p->pd.control_losses++;
	p->pd.control_lost_at = time(NULL);
	snprintf(p->pd.control_lost_reason, sizeof(p->pd.control_lost_reason),
	    "%s", reason != NULL ? reason : "closed");
	p->pd.uploads_enabled = 0;
	pd_uploads_abort(&p->pd, time(NULL));
	p->consensus_pending = p->consensus_again = false;
	proc_send_parent(p, PC_CONTROL_REQUEST, NULL);
}

void
control_free(struct pd_proc *p)
{
	if (p->ctl == NULL)
		return;
	torctl_free(p->ctl);
	p->ctl = NULL;
	p->pd.uploads_enabled = 0;
	pd_uploads_abort(&p->pd, time(NULL));
	p->consensus_pending = p->consensus_again = false;
}

/* A new connection replaces the old one, whatever its state. */
void
control_adopt(struct pd_proc *p, int fd)
{
	struct torctl_config cfg;

	control_free(p);
	memset(&cfg, 0, sizeof(cfg));	/* no address: no reconnect */
	cfg.on_conn = on_conn;
	cfg.arg = p;
	if ((p->ctl = torctl_new(p->base, &cfg)) == NULL ||
	    torctl_subscribe(p->ctl, "HS_DESC", on_hs_desc, p) == -1 ||
	    torctl_subscribe(p->ctl, "STATUS_CLIENT", on_status_client,
	    p) == -1)
		fatal("control connection");
	if (torctl_adopt_fd(p->ctl, fd, true) == -1) {
		log_warnx("cannot use the control connection; asking again");
		close(fd);
		proc_send_parent(p, PC_CONTROL_REQUEST, NULL);
	}
}

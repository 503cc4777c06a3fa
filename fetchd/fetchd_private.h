/*
 * Functions shared between fetchd's logic files; not for fetchd.c.
 */
#ifndef OB_FETCHD_PRIVATE_H
#define OB_FETCHD_PRIVATE_H

#include "fetchd.h"

/* fetchd_report.c: what publishd hears about one instance. */
void	fetchd_report_desc(struct fetchd *fd, struct fetchd_instance *in);
/* Sets the instance's state and tells publishd (once per change). */
void	fetchd_report_state(struct fetchd *fd, struct fetchd_instance *in,
	    uint32_t state, const char *detail, time_t now);
/* The instance's latest news again (desc or state). */
void	fetchd_report_latest(struct fetchd *fd, struct fetchd_instance *in);
/* The instance's liveness (PEER_INSTANCE_LIVENESS). */
void	fetchd_report_liveness(struct fetchd *fd, struct fetchd_instance *in);
/* How one fetch of the instance ended (PEER_INSTANCE_FETCH). */
void	fetchd_report_fetch(struct fetchd *fd,
	    const struct fetchd_instance *in, enum peer_fetch_outcome outcome);
/* log_warnx the first time text differs from the last one, else debug. */
void	fetchd_warn_once(struct fetchd_instance *in, const char *text);

/* fetchd_schedule.c */
void	fetchd_schedule_round(struct fetchd *fd, time_t now, const char *why);
/* The fetch in flight is over (either way); plans the next one. */
void	fetchd_fetch_done(struct fetchd *fd, struct fetchd_instance *in,
	    time_t now);
/* A fetch failed: reason is tor's REASON= ("NOT_FOUND") or ours. */
void	fetchd_fetch_failed(struct fetchd *fd, struct fetchd_instance *in,
	    const char *reason, time_t now);
/* Expires the held descriptor if the staleness rule says so. */
void	fetchd_check_stale(struct fetchd *fd, struct fetchd_instance *in,
	    time_t now);

/* fetchd_probe.c */
/* Starts a probe that is due; times out one that never ended. */
void	fetchd_probe_tick(struct fetchd *fd, struct fetchd_instance *in,
	    time_t now);
/* When the instance's probes want a tick next (0: nothing planned). */
time_t	fetchd_probe_wakeup(const struct fetchd_instance *in);
/* A newer descriptor was accepted. */
void	fetchd_probe_new_descriptor(struct fetchd *fd,
	    struct fetchd_instance *in, time_t now);
/* A CIRC event. */
void	fetchd_probe_circ_event(struct fetchd *fd,
	    const struct torctl_reply *ev, time_t now);
/* fetchd_hsdirs.c */
/* Sets in->hsdir to the HSDir the next fetch asks ("": tor picks). */
void	fetchd_hsdir_pick(struct fetchd *fd, struct fetchd_instance *in);
/* The fetch to in->hsdir went out at now. */
void	fetchd_hsdir_asked(struct fetchd_instance *in, time_t now);
/* HS_DESC REQUESTED: tor did send the fetch in flight of that address. */
void	fetchd_hsdir_requested(struct fetchd *fd, const char *address);
/* The fetch in flight ended; the first call per fetch counts. */
void	fetchd_hsdir_result(struct fetchd_instance *in, bool ok);
void	fetchd_hsdirs_free(struct fetchd_hsdirs *h);

#endif

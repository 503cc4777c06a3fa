/*
 * The I/O of fetchd's liveness probes: a SOCKS5 exchange (RFC 1928, with
 * RFC 1929 username authentication for tor's circuit isolation) over a
 * connection the parent opened to the management tor's SOCKS listener,
 * then the optional health check.  fetchd opens nothing: each probe asks
 * the parent for its connection (PC_SOCKS_REQUEST) and runs once the fd
 * arrives.  The verdict is fetchd_probe.c's.
 */
#ifndef OB_FETCHD_SOCKS_H
#define OB_FETCHD_SOCKS_H

#include <stdint.h>

#include <event2/event.h>

#include "fetchd.h"

struct socks_probes;

struct socks_probe_ops {
	/* Ask the parent for a SOCKS connection for probe id. */
	void	(*request_fd)(void *arg, uint32_t id);
	/* Probe id ended. */
	void	(*done)(void *arg, uint32_t id, enum probe_outcome outcome,
		    const char *detail);
	void	*arg;
};

struct socks_probes *socks_probes_new(struct event_base *base,
	    const struct socks_probe_ops *ops);
void	socks_probes_free(struct socks_probes *sp);
/* Starts probe id (fetchd_ops.probe_start); 0, or -1 if out of memory. */
int	socks_probe_start(struct socks_probes *sp, uint32_t id,
	    const char *address, const struct fetchd_probe_config *cfg,
	    uint32_t isolation);
/* The parent's answer to request_fd: fd, or -1 and why. */
void	socks_probe_fd(struct socks_probes *sp, uint32_t id, int fd,
	    const char *why);

#endif

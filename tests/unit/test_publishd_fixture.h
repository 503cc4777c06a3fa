/*
 * A publishd for the unit tests: one service whose instances have random
 * (well-formed) intro points, a network with live parameters at a chosen
 * valid-after, and a stub HSDir ring whose responsible set is a function
 * of the period, so that the first and second descriptors share some
 * HSDirs, as they often do on a real network.
 */
#ifndef OB_TEST_PUBLISHD_FIXTURE_H
#define OB_TEST_PUBLISHD_FIXTURE_H

#include "publishd.h"

/* 2023-11-14 22:00:00 UTC: TP 19675 began at 12:00, next SRV at 00:00. */
#define TPD_VA		((time_t)1699999200)
#define TPD_TP_FIRST	19674ULL
#define TPD_TP_SECOND	19675ULL
#define TPD_LIVE_VI	3600
/* The stub ring: 8 HSDirs per descriptor out of a pool of 12. */
#define TPD_RING_N	8
#define TPD_RING_POOL	12

/* The stub ring: HSDir number (tp * 3 + shift + i) % POOL, i < N. */
extern unsigned tpd_ring_shift;
void	tpd_ring(struct pd_ring *ring);
void	tpd_fpr(char out[PD_FPR_LEN + 1], unsigned n);

void	tpd_net(struct pd_net *net, time_t valid_after);
/*
 * One service of identity id (32 bytes; NULL: random) with ninst
 * instances, each given a descriptor of npoints intro points received at
 * now.
 */
void	tpd_configure(struct pd *pd, const uint8_t *id, size_t ninst,
	    size_t npoints, time_t now);
/* A new random intro set for instance i of service 0. */
void	tpd_instance_desc(struct pd *pd, size_t i, size_t npoints, time_t now);

#endif

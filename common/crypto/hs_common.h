/*
 * Time periods, shared random values and the HSDir hash ring arithmetic of
 * onion services v3 (rend-spec-v3 sections 2.2.1-2.2.4, 2.1; tor
 * hs_common.c, shared_random_client.c).
 *
 * Everything is derived from the consensus: the voting interval (fresh-until
 * minus valid-after) and the hsdir_interval param.  The same code therefore
 * works on the live network (voting interval 3600 s: periods of 1440 min,
 * offset 720 min) and on a private test network (20 s: 8 min, offset 4 min)
 * without a "testnet" flag.
 */
#ifndef OB_HS_COMMON_H
#define OB_HS_COMMON_H

#include <stdint.h>
#include <time.h>

#define HS_SRV_LEN	32
#define SR_ROUNDS_PER_PHASE	12	/* SHARED_RANDOM_N_ROUNDS */

struct hs_period_params {
	uint64_t	voting_interval_s;
	uint64_t	length_min;		/* time period length, minutes */
	uint64_t	offset_min;		/* rotation offset, minutes */
};

/*
 * hsdir_interval_min: the consensus param, or 0 if absent.  Without the
 * param the length is one SR protocol run, 24 voting intervals (tor's
 * TestingTorNetwork rule; on the live network that equals the default of
 * 1440).  The offset is one SR phase, 12 voting intervals.  A param
 * outside tor's range 30..14400 is clamped into it, as tor does.
 * Returns -1 if the voting interval is absurd (outside 10 s..1 day).
 */
int	hs_period_params_init(struct hs_period_params *p,
	    uint64_t voting_interval_s, uint64_t hsdir_interval_min);
uint64_t hs_time_period_num(const struct hs_period_params *p, time_t t);
time_t	hs_time_period_start(const struct hs_period_params *p, uint64_t tp);
time_t	hs_next_time_period_start(const struct hs_period_params *p, time_t t);
/* Start of the SR protocol run that valid_after falls in. */
time_t	hs_sr_run_start(const struct hs_period_params *p, time_t valid_after);
time_t	hs_sr_previous_run_start(const struct hs_period_params *p,
	    time_t valid_after);
/* tor's hs_in_period_between_tp_and_srv(): 1 between TP start and SRV. */
int	hs_in_period_between_tp_and_srv(const struct hs_period_params *p,
	    time_t valid_after);

/* credential = H("credential" | A); subcredential = H("subcredential" | credential | A'). */
void	hs_credential(uint8_t out[32], const uint8_t pub[32]);
void	hs_subcredential(uint8_t out[32], const uint8_t pub[32],
	    const uint8_t blinded[32]);
/* H("node-idx" | ed_id | srv | INT_8(tp) | INT_8(len)) */
void	hs_hsdir_index(uint8_t out[32], const uint8_t ed_id[32],
	    const uint8_t srv[HS_SRV_LEN], uint64_t tp, uint64_t length_min);
/* H("store-at-idx" | A' | INT_8(replica) | INT_8(len) | INT_8(tp)), replica from 1 */
void	hs_service_index(uint8_t out[32], const uint8_t blinded[32],
	    uint64_t replica, uint64_t length_min, uint64_t tp);
/* H("shared-random-disaster" | INT_8(len) | INT_8(tp)) */
void	hs_disaster_srv(uint8_t out[HS_SRV_LEN], uint64_t length_min,
	    uint64_t tp);

#endif

/*
 * Time periods, SR protocol runs and hash-ring indexes (rend-spec-v3
 * sections 2.1, 2.2.1-2.2.4; tor hs_common.c and shared_random_client.c).
 *
 * tor mixes minutes and seconds here, and we follow it exactly so that our
 * period numbers and start times are tor's: the period number uses the
 * rotation offset in whole minutes (phase duration / 60, rounded down),
 * the start of a period adds the offset in seconds.  With a voting
 * interval that is a multiple of 5 s (every real network) the two agree.
 */
#include "digest.h"
#include "hs_common.h"
#include "log.h"

#define SR_PHASES		2	/* SHARED_RANDOM_N_PHASES */
#define SR_ROUNDS_PER_RUN	(SR_ROUNDS_PER_PHASE * SR_PHASES)
/* tor's HS_TIME_PERIOD_LENGTH_MIN / _MAX, in minutes. */
#define HSDIR_INTERVAL_MIN	30
#define HSDIR_INTERVAL_MAX	14400
/*
 * The voting intervals a consensus can have: MIN_VOTE_INTERVAL_TESTING
 * (10 s) on a test network, and at most a day (dirauth_config.c).
 */
#define VOTING_INTERVAL_MIN	10
#define VOTING_INTERVAL_MAX	86400

static uint64_t
phase_seconds(const struct hs_period_params *p)
{
	return SR_ROUNDS_PER_PHASE * p->voting_interval_s;
}

static uint64_t
run_seconds(const struct hs_period_params *p)
{
	return SR_ROUNDS_PER_RUN * p->voting_interval_s;
}

/* Consensus times are after the epoch; treat anything else as 0. */
static uint64_t
unsigned_time(time_t t)
{
	return t < 0 ? 0 : (uint64_t)t;
}

int
hs_period_params_init(struct hs_period_params *p,
    uint64_t voting_interval_s, uint64_t hsdir_interval_min)
{
	if (voting_interval_s < VOTING_INTERVAL_MIN ||
	    voting_interval_s > VOTING_INTERVAL_MAX) {
		log_warnx("voting interval %llu s is outside %d..%d",
		    (unsigned long long)voting_interval_s, VOTING_INTERVAL_MIN,
		    VOTING_INTERVAL_MAX);
		return -1;
	}
	/*
	 * tor clamps an out-of-range hsdir_interval into its range
	 * (networkstatus_get_param), and clients then use the clamped value:
	 * do the same, so that we publish where they look.
	 */
	if (hsdir_interval_min != 0 && hsdir_interval_min < HSDIR_INTERVAL_MIN) {
		log_warnx("hsdir_interval %llu is below %d; using %d",
		    (unsigned long long)hsdir_interval_min, HSDIR_INTERVAL_MIN,
		    HSDIR_INTERVAL_MIN);
		hsdir_interval_min = HSDIR_INTERVAL_MIN;
	} else if (hsdir_interval_min > HSDIR_INTERVAL_MAX) {
		log_warnx("hsdir_interval %llu is above %d; using %d",
		    (unsigned long long)hsdir_interval_min, HSDIR_INTERVAL_MAX,
		    HSDIR_INTERVAL_MAX);
		hsdir_interval_min = HSDIR_INTERVAL_MAX;
	}
	p->voting_interval_s = voting_interval_s;
	p->offset_min = phase_seconds(p) / 60;
	if (hsdir_interval_min != 0)
		p->length_min = hsdir_interval_min;
	else
		p->length_min = run_seconds(p) / 60;
	return 0;
}

uint64_t
hs_time_period_num(const struct hs_period_params *p, time_t t)
{
	uint64_t minutes = unsigned_time(t) / 60;

	/* tor asserts this; only a time in the first half day can fail it. */
	if (minutes < p->offset_min)
		return 0;
	return (minutes - p->offset_min) / p->length_min;
}

time_t
hs_time_period_start(const struct hs_period_params *p, uint64_t tp)
{
	return (time_t)(tp * p->length_min * 60 + phase_seconds(p));
}

time_t
hs_next_time_period_start(const struct hs_period_params *p, time_t t)
{
	return hs_time_period_start(p, hs_time_period_num(p, t) + 1);
}

time_t
hs_sr_run_start(const struct hs_period_params *p, time_t valid_after)
{
	uint64_t va = unsigned_time(valid_after);
	uint64_t slot = (va / p->voting_interval_s) % SR_ROUNDS_PER_RUN;

	return (time_t)(va - slot * p->voting_interval_s);
}

time_t
hs_sr_previous_run_start(const struct hs_period_params *p, time_t valid_after)
{
	return hs_sr_run_start(p, valid_after) - (time_t)run_seconds(p);
}

int
hs_in_period_between_tp_and_srv(const struct hs_period_params *p,
    time_t valid_after)
{
	time_t srv_start = hs_sr_run_start(p, valid_after);
	time_t tp_start = hs_next_time_period_start(p, srv_start);

	if (valid_after >= srv_start && valid_after < tp_start)
		return 0;
	return 1;
}

void
hs_credential(uint8_t out[32], const uint8_t pub[32])
{
	struct bytes_ref parts[] = {
		BYTES_STR("credential"),
		{ pub, 32 },
	};

	sha3_256_parts(out, parts, sizeof(parts) / sizeof(parts[0]));
}

void
hs_subcredential(uint8_t out[32], const uint8_t pub[32],
    const uint8_t blinded[32])
{
	uint8_t credential[32];
	struct bytes_ref parts[] = {
		BYTES_STR("subcredential"),
		BYTES_OF(credential),
		{ blinded, 32 },
	};

	hs_credential(credential, pub);
	sha3_256_parts(out, parts, sizeof(parts) / sizeof(parts[0]));
}

void
hs_hsdir_index(uint8_t out[32], const uint8_t ed_id[32],
    const uint8_t srv[HS_SRV_LEN], uint64_t tp, uint64_t length_min)
{
	uint8_t tp_be[8], len_be[8];
	struct bytes_ref parts[] = {
		BYTES_STR("node-idx"),
		{ ed_id, 32 },
		{ srv, HS_SRV_LEN },
		BYTES_OF(tp_be),	/* number first, then length */
		BYTES_OF(len_be),
	};

	put_u64_be(tp_be, tp);
	put_u64_be(len_be, length_min);
	sha3_256_parts(out, parts, sizeof(parts) / sizeof(parts[0]));
}

void
hs_service_index(uint8_t out[32], const uint8_t blinded[32],
    uint64_t replica, uint64_t length_min, uint64_t tp)
{
	uint8_t replica_be[8], len_be[8], tp_be[8];
	struct bytes_ref parts[] = {
		BYTES_STR("store-at-idx"),
		{ blinded, 32 },
		BYTES_OF(replica_be),
		BYTES_OF(len_be),	/* length first, then number */
		BYTES_OF(tp_be),
	};

	put_u64_be(replica_be, replica);
	put_u64_be(len_be, length_min);
	put_u64_be(tp_be, tp);
	sha3_256_parts(out, parts, sizeof(parts) / sizeof(parts[0]));
}

void
hs_disaster_srv(uint8_t out[HS_SRV_LEN], uint64_t length_min, uint64_t tp)
{
	uint8_t len_be[8], tp_be[8];
	struct bytes_ref parts[] = {
		BYTES_STR("shared-random-disaster"),
		BYTES_OF(len_be),	/* length first, then number */
		BYTES_OF(tp_be),
	};

	put_u64_be(len_be, length_min);
	put_u64_be(tp_be, tp);
	sha3_256_parts(out, parts, sizeof(parts) / sizeof(parts[0]));
}

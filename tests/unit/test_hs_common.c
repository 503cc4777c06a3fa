/*
 * Time periods, SR runs, subcredentials and hash-ring indexes: tor's
 * test_hs_common.c (test_time_period, test_start_time_of_next_time_period,
 * test_blinding_basics, test_hs_indexes, test_disaster_srv), and an
 * end-to-end check against a capture from a tor 0.4.9 test network with a
 * 20-second voting interval.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "digest.h"
#include "ed25519_expanded.h"
#include "hs_common.h"
#include "test.h"
#include "torcert.h"

static time_t
utc(int year, int mon, int mday, int hour, int min, int sec)
{
	struct tm tm = {
		.tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = mday,
		.tm_hour = hour, .tm_min = min, .tm_sec = sec,
	};

	return timegm(&tm);
}

static void
test_period_params(void)
{
	struct hs_period_params p;

	/* The live network: 1-hour votes, no hsdir_interval param. */
	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 0), 0);
	CHECK_INT_EQ(p.voting_interval_s, 3600);
	CHECK_INT_EQ(p.length_min, 1440);
	CHECK_INT_EQ(p.offset_min, 720);
	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 1440), 0);
	CHECK_INT_EQ(p.length_min, 1440);
	/* Test networks: 20 s (the recipe's) and 10 s (tor's unit test). */
	CHECK_INT_EQ(hs_period_params_init(&p, 20, 0), 0);
	CHECK_INT_EQ(p.length_min, 8);
	CHECK_INT_EQ(p.offset_min, 4);
	CHECK_INT_EQ(hs_period_params_init(&p, 10, 0), 0);
	CHECK_INT_EQ(p.length_min, 4);
	CHECK_INT_EQ(p.offset_min, 2);
	/* The param sets the length; the offset stays one SR phase. */
	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 60), 0);
	CHECK_INT_EQ(p.length_min, 60);
	CHECK_INT_EQ(p.offset_min, 720);
	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 30), 0);
	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 14400), 0);
	CHECK_INT_EQ(p.length_min, 14400);
	/* Out-of-range params are clamped, as tor's clients clamp them. */
	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 29), 0);
	CHECK_INT_EQ(p.length_min, 30);
	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 14401), 0);
	CHECK_INT_EQ(p.length_min, 14400);
	CHECK_INT_EQ(hs_period_params_init(&p, 9, 0), -1);
	CHECK_INT_EQ(hs_period_params_init(&p, 0, 0), -1);
	CHECK_INT_EQ(hs_period_params_init(&p, 86401, 0), -1);
	CHECK_INT_EQ(hs_period_params_init(&p, 86400, 0), 0);
}

/* tor's test_time_period and the prop224 example. */
static void
test_time_period_live(void)
{
	struct hs_period_params p;
	time_t t = utc(2016, 4, 13, 11, 0, 0), next;

	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 0), 0);
	CHECK_INT_EQ(hs_time_period_num(&p, t), 16903);
	CHECK_INT_EQ(hs_next_time_period_start(&p, t),
	    utc(2016, 4, 13, 12, 0, 0));
	t += 3599;
	CHECK_INT_EQ(hs_time_period_num(&p, t), 16903);
	CHECK_INT_EQ(hs_next_time_period_start(&p, t),
	    utc(2016, 4, 13, 12, 0, 0));
	t += 1;
	CHECK_INT_EQ(hs_time_period_num(&p, t), 16904);
	next = hs_next_time_period_start(&p, t);
	CHECK_INT_EQ(next, utc(2016, 4, 14, 12, 0, 0));
	CHECK_INT_EQ(hs_time_period_num(&p, next), 16905);
	CHECK_INT_EQ(hs_time_period_start(&p, 16904), t);
	/* TP 16903 ran 2016-04-12 12:00 -> 2016-04-13 12:00. */
	CHECK_INT_EQ(hs_time_period_start(&p, 16903),
	    utc(2016, 4, 12, 12, 0, 0));
	/* rend-spec-v3 [TIME-PERIODS]: 1460546101 is in TP 16903. */
	CHECK_INT_EQ(hs_time_period_num(&p, 1460546101), 16903);
	/* test_blinding_basics: 1973-05-20 01:50:33 is in TP 1234. */
	CHECK_INT_EQ(hs_time_period_num(&p, utc(1973, 5, 20, 1, 50, 33)),
	    1234);
}

/* tor's test_start_time_of_next_time_period on a 10-second network. */
static void
test_time_period_testing_network(void)
{
	struct hs_period_params p;

	CHECK_INT_EQ(hs_period_params_init(&p, 10, 0), 0);
	CHECK_INT_EQ(hs_next_time_period_start(&p, utc(2016, 4, 13, 0, 0, 0)),
	    utc(2016, 4, 13, 0, 2, 0));
	CHECK_INT_EQ(hs_next_time_period_start(&p, utc(2016, 4, 13, 0, 2, 0)),
	    utc(2016, 4, 13, 0, 6, 0));
	/* Live, from the same instants. */
	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 0), 0);
	CHECK_INT_EQ(hs_next_time_period_start(&p, utc(2016, 4, 13, 11, 0, 0)),
	    utc(2016, 4, 13, 12, 0, 0));
	CHECK_INT_EQ(hs_next_time_period_start(&p, utc(2016, 4, 13, 12, 0, 0)),
	    utc(2016, 4, 14, 12, 0, 0));
}

/*
 * The 20-second network of the recipe: TP = (unix minutes - 4) div 8, an
 * SR run every 8 minutes of epoch time, a TP starting 4 minutes later.
 */
static void
test_time_period_twenty_seconds(void)
{
	struct hs_period_params p;
	time_t t;

	CHECK_INT_EQ(hs_period_params_init(&p, 20, 0), 0);
	for (t = utc(2026, 11, 22, 2, 30, 0); t < utc(2026, 11, 22, 3, 0, 0);
	    t += 7)
		CHECK_INT_EQ(hs_time_period_num(&p, t), (t / 60 - 4) / 8);
	CHECK_INT_EQ(hs_time_period_num(&p, utc(2026, 11, 22, 2, 36, 0)),
	    3740239);
	CHECK_INT_EQ(hs_time_period_num(&p, utc(2026, 11, 22, 2, 35, 59)),
	    3740238);
	CHECK_INT_EQ(hs_time_period_start(&p, 3740240),
	    utc(2026, 11, 22, 2, 44, 0));
	CHECK_INT_EQ(hs_sr_run_start(&p, utc(2026, 11, 22, 2, 47, 40)),
	    utc(2026, 11, 22, 2, 40, 0));
	CHECK_INT_EQ(hs_sr_run_start(&p, utc(2026, 11, 22, 2, 48, 0)),
	    utc(2026, 11, 22, 2, 48, 0));
}

/* Live SR runs start at 00:00 UTC; 00:00-12:00 is "SRV to TP". */
static void
test_sr_runs_live(void)
{
	struct hs_period_params p;

	CHECK_INT_EQ(hs_period_params_init(&p, 3600, 0), 0);
	CHECK_INT_EQ(hs_sr_run_start(&p, utc(2016, 4, 13, 11, 0, 0)),
	    utc(2016, 4, 13, 0, 0, 0));
	CHECK_INT_EQ(hs_sr_run_start(&p, utc(2016, 4, 13, 23, 0, 0)),
	    utc(2016, 4, 13, 0, 0, 0));
	CHECK_INT_EQ(hs_sr_run_start(&p, utc(2016, 4, 13, 0, 0, 0)),
	    utc(2016, 4, 13, 0, 0, 0));
	CHECK_INT_EQ(hs_sr_previous_run_start(&p, utc(2016, 4, 13, 11, 0, 0)),
	    utc(2016, 4, 12, 0, 0, 0));

	CHECK_INT_EQ(hs_in_period_between_tp_and_srv(&p,
	    utc(2016, 4, 13, 0, 0, 0)), 0);
	CHECK_INT_EQ(hs_in_period_between_tp_and_srv(&p,
	    utc(2016, 4, 13, 11, 0, 0)), 0);
	CHECK_INT_EQ(hs_in_period_between_tp_and_srv(&p,
	    utc(2016, 4, 13, 12, 0, 0)), 1);
	CHECK_INT_EQ(hs_in_period_between_tp_and_srv(&p,
	    utc(2016, 4, 13, 23, 0, 0)), 1);
}

/* tor's test_blinding_basics: subcredential of A and A' for TP 1234. */
static void
test_subcredential(void)
{
	uint8_t pub[32], blinded[32], subcred[32], cred[32], check[32];
	struct bytes_ref parts[2];

	test_unhex(pub, 32,
	    "833990B085C1A688C1D4C8B1F6B56AFAF5A2ECA674449E1D704F83765CCB7BC6");
	CHECK_INT_EQ(hs_blind_pubkey(blinded, pub, 1234, 1440), 0);
	hs_subcredential(subcred, pub, blinded);
	CHECK_HEX(subcred, 32,
	    "635D55907816E8D76398A675A50B1C2F3E36B42A5CA77BA3A0441285161AE07D");
	/* credential = H("credential" | A) */
	hs_credential(cred, pub);
	parts[0] = BYTES_STR("credential");
	parts[1] = (struct bytes_ref){ pub, 32 };
	sha3_256_parts(check, parts, 2);
	CHECK(memcmp(cred, check, 32) == 0);
}

/* tor's test_hs_indexes (TP 42, 1440 minutes). */
static void
test_indexes(void)
{
	uint8_t key[32], srv[32], out[32], other[32];

	memset(key, 0x42, sizeof(key));
	memset(srv, 0x43, sizeof(srv));
	hs_service_index(out, key, 1, 1440, 42);
	CHECK_HEX(out, 32,
	    "37e5cbbd56a22823714f18f1623ece5983a0d64c78495a8cfab854245e5f9a8a");
	hs_hsdir_index(out, key, srv, 42, 1440);
	CHECK_HEX(out, 32,
	    "db475361014a09965e7e5e4d4a25b8f8d4b8f16cb1d8a7e95eed50249cc1a2d5");
	/* Replicas differ. */
	hs_service_index(out, key, 1, 1440, 42);
	hs_service_index(other, key, 2, 1440, 42);
	CHECK(memcmp(out, other, 32) != 0);
}

/* tor's test_disaster_srv. */
static void
test_disaster_srv(void)
{
	static const uint8_t input[] = "shared-random-disaster"
	    "\0\0\0\0\0\0\x05\xA0\0\0\0\0\0\0\0\1";
	uint8_t srv[32], check[32];

	hs_disaster_srv(srv, 1440, 1);
	CHECK_HEX(srv, 32,
	    "F8A4948707653837FA44ABB5BBC75A12F6F101E7F8FAF699B9715F4965D3507D");
	sha3_256(check, input, sizeof(input) - 1);
	CHECK(memcmp(srv, check, 32) == 0);
	hs_disaster_srv(check, 1440, 2);
	CHECK(memcmp(srv, check, 32) != 0);
}

/*
 * The public key inside a v3 onion address (base32 of pubkey | checksum |
 * version), checksum and version checked.  Local on purpose: the
 * project's own address code is tested on its own.
 */
static int
onion_pubkey(uint8_t pub[32], const char *addr)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t raw[35], sum[32], version = 3;
	struct bytes_ref parts[] = {
		BYTES_STR(".onion checksum"), { raw, 32 }, BYTES_OF(version),
	};
	const char *p;
	uint32_t acc = 0;
	size_t i, n = 0;
	int bits = 0;

	for (i = 0; i < 56; i++) {
		if (addr[i] == '\0' || (p = strchr(alphabet, addr[i])) == NULL)
			return -1;
		acc = (acc << 5 | (uint32_t)(p - alphabet)) & 0xfff;
		if ((bits += 5) >= 8) {
			bits -= 8;
			raw[n++] = (uint8_t)(acc >> bits);
		}
	}
	sha3_256_parts(sum, parts, sizeof(parts) / sizeof(parts[0]));
	if (raw[34] != version || memcmp(raw + 32, sum, 2) != 0)
		return -1;
	memcpy(pub, raw, 32);
	return 0;
}

/* A "keyword YYYY-MM-DD HH:MM:SS" line of a consensus. */
static time_t
consensus_time(const char *consensus, const char *keyword)
{
	char needle[64];
	const char *p;
	int y, mo, d, h, mi, s;

	snprintf(needle, sizeof(needle), "\n%s ", keyword);
	if ((p = strstr(consensus, needle)) == NULL ||
	    sscanf(p + strlen(needle), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h,
	    &mi, &s) != 6)
		return -1;
	return utc(y, mo, d, h, mi, s);
}

/* The descriptor-signing-key-cert of a descriptor in tests/data. */
static size_t
descriptor_cert(uint8_t out[TORCERT_LEN], const char *file)
{
	static const char begin[] =
	    "descriptor-signing-key-cert\n-----BEGIN ED25519 CERT-----\n";
	char *desc, *start, *end;
	size_t len = 0;

	desc = test_read_data(file, NULL);
	if ((start = strstr(desc, begin)) != NULL) {
		start += strlen(begin);
		end = strstr(start, "-----END ED25519 CERT-----");
		if (end != NULL)
			len = test_unbase64(out, TORCERT_LEN, start,
			    (size_t)(end - start));
	}
	free(desc);
	return len;
}

/*
 * The descriptor an HSDir served for an address is signed (through its
 * descriptor-signing cert) by the address's key blinded for TP tp, and
 * not for the periods next to it.
 */
static void
check_descriptor_blinding(const struct hs_period_params *p, uint64_t tp,
    time_t now, const char *name)
{
	char file[128], *addr;
	uint8_t pub[32], blinded[32], cert[TORCERT_LEN];
	struct torcert c;

	snprintf(file, sizeof(file), "tor-0.4.9-testnet/%s-address.txt", name);
	addr = test_read_data(file, NULL);
	CHECK_INT_EQ(onion_pubkey(pub, addr), 0);
	free(addr);
	snprintf(file, sizeof(file), "tor-0.4.9-testnet/%s-descriptor.txt",
	    name);
	CHECK_INT_EQ(descriptor_cert(cert, file), TORCERT_LEN);

	CHECK_INT_EQ(hs_blind_pubkey(blinded, pub, tp, p->length_min), 0);
	CHECK_INT_EQ(torcert_check(&c, cert, sizeof(cert),
	    TORCERT_TYPE_SIGNING_HS_DESC, blinded, now), TORCERT_OK);
	CHECK_INT_EQ(hs_blind_pubkey(blinded, pub, tp + 1, p->length_min), 0);
	CHECK_INT_EQ(torcert_check(&c, cert, sizeof(cert),
	    TORCERT_TYPE_SIGNING_HS_DESC, blinded, now), TORCERT_ERR_SIGNER);
	CHECK_INT_EQ(hs_blind_pubkey(blinded, pub, tp - 1, p->length_min), 0);
	CHECK_INT_EQ(torcert_check(&c, cert, sizeof(cert),
	    TORCERT_TYPE_SIGNING_HS_DESC, blinded, now), TORCERT_ERR_SIGNER);
}

/*
 * The capture of 2026-11-22 02:49 UTC: the time-period parameters come
 * from the consensus alone (voting interval = fresh-until - valid-after,
 * no params line), and the TP they give is the one the backends' tor
 * (and Onionbalance, for the frontend) blinded their keys for.
 */
static void
test_testnet_capture(void)
{
	struct hs_period_params p;
	char *consensus;
	time_t va, fu;
	uint64_t tp;

	consensus = test_read_data("tor-0.4.9-testnet/consensus-microdesc.txt",
	    NULL);
	va = consensus_time(consensus, "valid-after");
	fu = consensus_time(consensus, "fresh-until");
	CHECK(strstr(consensus, "\nparams ") == NULL);
	free(consensus);
	CHECK_INT_EQ(va, utc(2026, 11, 22, 2, 48, 40));
	CHECK_INT_EQ(fu - va, 20);
	CHECK_INT_EQ(hs_period_params_init(&p, (uint64_t)(fu - va), 0), 0);

	tp = hs_time_period_num(&p, va);
	CHECK_INT_EQ(tp, (va / 60 - 4) / 8);
	CHECK_INT_EQ(tp, 3740240);
	CHECK_INT_EQ(hs_time_period_start(&p, tp), utc(2026, 11, 22, 2, 44, 0));
	CHECK_INT_EQ(hs_next_time_period_start(&p, va),
	    utc(2026, 11, 22, 2, 52, 0));
	CHECK_INT_EQ(hs_sr_run_start(&p, va), utc(2026, 11, 22, 2, 48, 0));
	CHECK_INT_EQ(hs_sr_previous_run_start(&p, va),
	    utc(2026, 11, 22, 2, 40, 0));
	/* 02:48-02:52 is between the SRV and the next TP. */
	CHECK_INT_EQ(hs_in_period_between_tp_and_srv(&p, va), 0);

	check_descriptor_blinding(&p, tp, va, "backend");
	check_descriptor_blinding(&p, tp, va, "backend-be2");
	check_descriptor_blinding(&p, tp, va, "frontend");
}

TEST_MAIN(
	TEST_CASE(test_period_params),
	TEST_CASE(test_time_period_live),
	TEST_CASE(test_time_period_testing_network),
	TEST_CASE(test_time_period_twenty_seconds),
	TEST_CASE(test_sr_runs_live),
	TEST_CASE(test_subcredential),
	TEST_CASE(test_indexes),
	TEST_CASE(test_disaster_srv),
	TEST_CASE(test_testnet_capture)
)

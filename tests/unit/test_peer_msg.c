/*
 * The fetchd <-> publishd messages: a real descriptor's intro points
 * through encode and decode, the size bound (20 intro points of the
 * largest link specifiers fit in PEER_CAP), every field the decoder
 * must refuse, and the fixed-size fetch result.
 */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "hs_common.h"
#include "onion_address.h"
#include "peer_msg.h"
#include "test.h"

static struct ipc_channel ch;
static uint8_t buf[IPC_HDR_LEN + PEER_CAP];

static int
parse(const struct ipc_builder *b, struct ipc_msg *msg)
{
	return ipc_parse(&ch, msg, b->buf, b->len) == IPC_OK ? 0 : -1;
}

static void
full_intro_point(struct hsdesc_intro_point *ip, uint8_t seed)
{
	/* Zero first: the decoder leaves struct padding zero too. */
	memset(ip, 0, sizeof(*ip));
	memset(ip->lspec, seed, sizeof(ip->lspec));
	memset(ip->onion_key, seed + 1, sizeof(ip->onion_key));
	memset(ip->auth_key, seed + 2, sizeof(ip->auth_key));
	memset(ip->enc_key, seed + 3, sizeof(ip->enc_key));
	memset(ip->enc_key_cert_key, seed + 4, sizeof(ip->enc_key_cert_key));
	ip->lspec_len = HSDESC_LSPEC_MAX;
	ip->auth_key_cert_type = 0x09;
	ip->auth_key_exp_hours = 0x01020304u + seed;
	ip->enc_key_cert_exp_hours = 0x05060708u + seed;
}

static void
test_real_descriptor_round_trip(void)
{
	static struct peer_desc_msg d, back;
	struct hs_period_params pp;
	struct hsdesc *desc = NULL;
	struct ipc_builder b;
	struct ipc_msg msg;
	uint8_t key[32];
	uint64_t tp;
	size_t len;
	char *text = test_read_data("tor-0.4.9-testnet/backend-descriptor.txt",
	    &len);
	/* valid-after 2026-11-22 02:48:40 of the captured consensus */
	time_t va = 1795315720;

	CHECK_INT_EQ(onion_address_to_pubkey(key,
	    "vckzlz6oomfw62y2l4rl36gt2qmeyl4qb6qz633eamuh3wgjceb2myyd", 56),
	    ONION_ADDRESS_OK);
	CHECK_INT_EQ(hs_period_params_init(&pp, 20, 0), 0);
	CHECK_INT_EQ(hsdesc_decode_near(text, len, key,
	    hs_time_period_num(&pp, va), pp.length_min, va + 26, 0, NULL, &tp,
	    &desc, NULL), HSDESC_OK);
	if (desc == NULL)
		goto out;
	memset(&d, 0, sizeof(d));
	CHECK_INT_EQ(peer_desc_from_hsdesc(&d, desc), 0);
	d.service = 3;
	d.instance = 5;
	memcpy(d.instance_key, key, 32);
	d.tp = tp;
	d.received_at = (uint64_t)va + 26;
	CHECK_INT_EQ(peer_desc_build(&b, buf, sizeof(buf), &d), 0);
	CHECK_INT_EQ(parse(&b, &msg), 0);
	CHECK_INT_EQ(peer_desc_parse(&msg, &back), 0);
	CHECK(memcmp(&d, &back, sizeof(d)) == 0);
	CHECK_INT_EQ(back.n_intro, desc->n_intro_points);
	CHECK_INT_EQ(back.revision_counter, 688523);
	CHECK(memcmp(back.intro, desc->intro_points,
	    back.n_intro * sizeof(back.intro[0])) == 0);
	/* The wrong decoder for the type refuses it. */
	CHECK_INT_EQ(peer_state_parse(&msg, &(struct peer_state_msg){ 0 }), -1);
out:
	hsdesc_free(desc);
	free(text);
}

static void
test_twenty_largest_fit(void)
{
	static struct peer_desc_msg d, back;
	struct ipc_builder b;
	struct ipc_msg msg;
	size_t i;

	memset(&d, 0, sizeof(d));
	d.flags = PEER_DESC_FLAG_FLOW_CONTROL | PEER_DESC_FLAG_SINGLE_ONION;
	memset(d.flow_control, 'x', sizeof(d.flow_control) - 1);
	d.n_intro = HSDESC_MAX_INTRO_POINTS;
	for (i = 0; i < d.n_intro; i++)
		full_intro_point(&d.intro[i], (uint8_t)i);
	CHECK_INT_EQ(peer_desc_build(&b, buf, sizeof(buf), &d), 0);
	CHECK(b.len - IPC_HDR_LEN <= PEER_CAP);
	/* The exact layout of daemon_proto.h. */
	CHECK_INT_EQ(b.len - IPC_HDR_LEN, 4 + 4 + 32 + 8 + 8 + 8 + 4 + 4 +
	    HSDESC_FLOW_CONTROL_MAX + 4 + 20 * (4 + 256 + 32 + 32 + 4 + 32 +
	    32 + 4));
	CHECK_INT_EQ(parse(&b, &msg), 0);
	CHECK_INT_EQ(peer_desc_parse(&msg, &back), 0);
	CHECK(memcmp(&d, &back, sizeof(d)) == 0);
	/* 21 cannot be built. */
	d.n_intro = 21;
	CHECK_INT_EQ(peer_desc_build(&b, buf, sizeof(buf), &d), -1);
}

/* Builds a good message, lets mutate() break it, and expects refusal. */
static void
check_refused(void (*mutate)(uint8_t *p, size_t *len))
{
	static struct peer_desc_msg d, back;
	struct ipc_builder b;
	struct ipc_msg msg;
	size_t len;

	memset(&d, 0, sizeof(d));
	d.n_intro = 2;
	full_intro_point(&d.intro[0], 1);
	full_intro_point(&d.intro[1], 2);
	d.intro[1].lspec_len = 20;
	CHECK_INT_EQ(peer_desc_build(&b, buf, sizeof(buf), &d), 0);
	len = b.len - IPC_HDR_LEN;
	mutate(buf + IPC_HDR_LEN, &len);
	put_u32_be(buf + 4, (uint32_t)len);
	CHECK_INT_EQ(ipc_parse(&ch, &msg, buf, IPC_HDR_LEN + len), IPC_OK);
	CHECK_INT_EQ(peer_desc_parse(&msg, &back), -1);
}

/* Offsets: flags at 68, flow_control at 72, nintro at 73, first lspec_len at 77. */
static void m_truncate(uint8_t *p, size_t *len) { (void)p; *len -= 1; }
static void m_extra(uint8_t *p, size_t *len) { p[(*len)++] = 0; }
static void m_flags(uint8_t *p, size_t *len) { put_u32_be(p + 68, 4); }
static void m_fc_noflag(uint8_t *p, size_t *len) {
	memmove(p + 73, p + 72, *len - 72); p[72] = 'a'; (*len)++; }
static void m_fc_unterminated(uint8_t *p, size_t *len) { p[72] = 'a'; }
static void m_nintro(uint8_t *p, size_t *len) { put_u32_be(p + 73, 21); }
static void m_lspec_zero(uint8_t *p, size_t *len) { put_u32_be(p + 77, 0); }
static void m_lspec_big(uint8_t *p, size_t *len) { put_u32_be(p + 77, 257); }

static void
test_desc_refused(void)
{
	check_refused(m_truncate);
	check_refused(m_extra);
	check_refused(m_flags);
	check_refused(m_fc_noflag);
	check_refused(m_fc_unterminated);
	check_refused(m_nintro);
	check_refused(m_lspec_zero);
	check_refused(m_lspec_big);
}

static void
test_state_round_trip(void)
{
	struct peer_state_msg s, back;
	struct ipc_builder b;
	struct ipc_msg msg;

	memset(&s, 0, sizeof(s));
	s.service = 1;
	s.instance = 2;
	memset(s.instance_key, 0xab, 32);
	s.state = PEER_STATE_INVALID;
	s.since = 1795315746;
	memcpy(s.detail, "outer: descriptor-signing-key-cert: x", 38);
	CHECK_INT_EQ(peer_state_build(&b, buf, sizeof(buf), &s), 0);
	CHECK_INT_EQ(b.len, IPC_HDR_LEN + 4 + 4 + 32 + 4 + 8 + 38);
	CHECK_INT_EQ(parse(&b, &msg), 0);
	CHECK_INT_EQ(peer_state_parse(&msg, &back), 0);
	CHECK(memcmp(&s, &back, sizeof(s)) == 0);
	/* Unknown states, either way. */
	put_u32_be(buf + IPC_HDR_LEN + 40, 5);
	CHECK_INT_EQ(parse(&b, &msg), 0);
	CHECK_INT_EQ(peer_state_parse(&msg, &back), -1);
	s.state = 0;
	CHECK_INT_EQ(peer_state_build(&b, buf, sizeof(buf), &s), -1);
	CHECK_STR_EQ(peer_state_name(PEER_STATE_EXPIRED), "expired");
}

static void
test_liveness_round_trip(void)
{
	struct peer_liveness_msg l, back;
	struct ipc_builder b;
	struct ipc_msg msg;
	size_t want;

	memset(&l, 0, sizeof(l));
	l.service = 3;
	l.instance = 7;
	memset(l.instance_key, 0xcd, 32);
	l.liveness = PEER_LIVENESS_DEAD;
	l.since = 1795315746;
	l.last_probe = 1795315750;
	memcpy(l.outcome, "introduction failed (SOCKS 0xF2)", 33);
	memcpy(l.reason, "rendezvous failed (SOCKS 0xF3)", 31);
	CHECK_INT_EQ(peer_liveness_build(&b, buf, sizeof(buf), &l), 0);
	want = IPC_HDR_LEN + 4 + 4 + 32 + 4 + 8 + 8 + 33 + 31;
	CHECK_INT_EQ(b.len, want);
	CHECK_INT_EQ(parse(&b, &msg), 0);
	CHECK_INT_EQ(peer_liveness_parse(&msg, &back), 0);
	CHECK(memcmp(&l, &back, sizeof(l)) == 0);
	/* An unknown liveness, and a reason without its NUL. */
	put_u32_be(buf + IPC_HDR_LEN + 40, PEER_LIVENESS_RETURNING + 1);
	CHECK_INT_EQ(parse(&b, &msg), 0);
	CHECK_INT_EQ(peer_liveness_parse(&msg, &back), -1);
	put_u32_be(buf + IPC_HDR_LEN + 40, PEER_LIVENESS_ALIVE);
	CHECK_INT_EQ(parse(&b, &msg), 0);
	CHECK_INT_EQ(peer_liveness_parse(&msg, &back), 0);
	CHECK_INT_EQ(back.liveness, PEER_LIVENESS_ALIVE);
	buf[want - 1] = 'x';
	CHECK_INT_EQ(parse(&b, &msg), 0);
	CHECK_INT_EQ(peer_liveness_parse(&msg, &back), -1);
	l.liveness = 0;
	CHECK_INT_EQ(peer_liveness_build(&b, buf, sizeof(buf), &l), -1);
	CHECK_STR_EQ(peer_liveness_name(PEER_LIVENESS_RETURNING),
	    "returning");
}

/* A fetch result of outcome o, built into buf; its payload length. */
static size_t
build_fetch(uint32_t o, struct peer_fetch_msg *r)
{
	struct ipc_builder b;

	memset(r, 0, sizeof(*r));
	r->service = 2;
	r->instance = 9;
	memset(r->instance_key, 0xef, 32);
	r->outcome = o;
	CHECK_INT_EQ(peer_fetch_build(&b, buf, sizeof(buf), r), 0);
	return b.len - IPC_HDR_LEN;
}

/* The payload in buf, len bytes of it, as a PEER_INSTANCE_FETCH. */
static int
parse_fetch(size_t len, struct peer_fetch_msg *back)
{
	struct ipc_msg msg;

	put_u32_be(buf + 4, (uint32_t)len);
	if (ipc_parse(&ch, &msg, buf, IPC_HDR_LEN + len) != IPC_OK)
		return -2;
	return peer_fetch_parse(&msg, back);
}

static void
test_fetch_round_trip(void)
{
	static const char *const names[] = {
		"new", "not-newer", "failed", "invalid", "expired",
	};
	struct peer_fetch_msg r, back;
	struct ipc_builder b;
	uint32_t o;

	for (o = PEER_FETCH_NEW; o <= PEER_FETCH_EXPIRED; o++) {
		CHECK_INT_EQ(build_fetch(o, &r), PEER_INSTANCE_FETCH_LEN);
		CHECK_INT_EQ(PEER_INSTANCE_FETCH_LEN, 44);
		CHECK_INT_EQ(get_u32_be(buf), PEER_INSTANCE_FETCH);
		CHECK_INT_EQ(get_u32_be(buf + IPC_HDR_LEN + 40), o);
		CHECK_INT_EQ(parse_fetch(PEER_INSTANCE_FETCH_LEN, &back), 0);
		CHECK(memcmp(&r, &back, sizeof(r)) == 0);
		CHECK_STR_EQ(peer_fetch_outcome_name(o), names[o - 1]);
	}
	/* One byte short, one byte more: refused. */
	build_fetch(PEER_FETCH_NEW, &r);
	CHECK_INT_EQ(parse_fetch(PEER_INSTANCE_FETCH_LEN - 1, &back), -1);
	buf[IPC_HDR_LEN + PEER_INSTANCE_FETCH_LEN] = 0;
	CHECK_INT_EQ(parse_fetch(PEER_INSTANCE_FETCH_LEN + 1, &back), -1);
	/* Unknown outcomes, either way. */
	put_u32_be(buf + IPC_HDR_LEN + 40, 0);
	CHECK_INT_EQ(parse_fetch(PEER_INSTANCE_FETCH_LEN, &back), -1);
	put_u32_be(buf + IPC_HDR_LEN + 40, PEER_FETCH_EXPIRED + 1);
	CHECK_INT_EQ(parse_fetch(PEER_INSTANCE_FETCH_LEN, &back), -1);
	r.outcome = PEER_FETCH_EXPIRED + 1;
	CHECK_INT_EQ(peer_fetch_build(&b, buf, sizeof(buf), &r), -1);
	r.outcome = 0;
	CHECK_INT_EQ(peer_fetch_build(&b, buf, sizeof(buf), &r), -1);
	CHECK_STR_EQ(peer_fetch_outcome_name(0), "unknown outcome");
	/* Another type's payload of the same length is not a fetch. */
	build_fetch(PEER_FETCH_NEW, &r);
	put_u32_be(buf, PEER_INSTANCE_STATE);
	CHECK_INT_EQ(parse_fetch(PEER_INSTANCE_FETCH_LEN, &back), -1);
}

static void
setup(void)
{
	if (ipc_channel_init(&ch, -1, "peer", PEER_CAP, peer_msg_types,
	    peer_msg_ntypes) == -1)
		abort();
}

static void
test_types(void)
{
	setup();
	CHECK_INT_EQ(peer_msg_ntypes, 5);
	CHECK_STR_EQ(ipc_type_name(&ch, PEER_RESYNC), "RESYNC");
	CHECK_STR_EQ(ipc_type_name(&ch, PEER_INSTANCE_LIVENESS),
	    "INSTANCE_LIVENESS");
	CHECK_STR_EQ(ipc_type_name(&ch, PEER_INSTANCE_FETCH),
	    "INSTANCE_FETCH");
}

TEST_MAIN(
	TEST_CASE(test_types),
	TEST_CASE(test_real_descriptor_round_trip),
	TEST_CASE(test_twenty_largest_fit),
	TEST_CASE(test_desc_refused),
	TEST_CASE(test_state_round_trip),
	TEST_CASE(test_liveness_round_trip),
	TEST_CASE(test_fetch_round_trip),
)

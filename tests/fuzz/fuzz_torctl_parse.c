/*
 * libFuzzer target for the control-port reply parser and the parsers of
 * what is inside replies (events, PROTOCOLINFO, AUTHCHALLENGE, GETINFO).
 *
 * Oracle beyond "no crash, no leak": the input is parsed twice, once in
 * one piece and once in pieces whose sizes come from the first byte, and
 * both runs must give the same replies and the same verdict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torctl_auth.h"
#include "torctl_events.h"
#include "torctl_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A running hash of replies, so the two runs can be compared cheaply. */
static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n-- > 0)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static void
inspect(const struct torctl_reply *r)
{
	struct torctl_hs_desc hd;
	struct torctl_hs_desc_content hc;
	struct torctl_status_client sc;
	struct torctl_protocolinfo pi;
	uint8_t hash[32], nonce[32];
	const char *why, *v;
	char w[64];
	size_t len;

	(void)torctl_parse_hs_desc(r, &hd, &why);
	if (torctl_parse_hs_desc_content(r, &hc, &why) == 0 &&
	    hc.body_len > 0 && hc.body[hc.body_len - 1] != '\n')
		abort();
	(void)torctl_parse_status_client(r, &sc, &why);
	(void)torctl_parse_protocolinfo(r, &pi, &why);
	(void)torctl_parse_authchallenge(r, hash, nonce, &why);
	(void)torctl_event_keyword(r, w, sizeof(w));
	if ((v = torctl_reply_getinfo(r, "md/all", &len)) != NULL &&
	    v[len] != '\0')
		abort();
	(void)torctl_kv_get(torctl_reply_message(r), "KEY", w, sizeof(w));
}

static uint64_t
hash_reply(uint64_t h, const struct torctl_reply *r)
{
	size_t i;

	h = mix(h, &r->code, sizeof(r->code));
	for (i = 0; i < r->nlines; i++) {
		h = mix(h, &r->lines[i].code, sizeof(r->lines[i].code));
		h = mix(h, &r->lines[i].sep, 1);
		h = mix(h, r->lines[i].text, r->lines[i].text_len + 1);
		if (r->lines[i].data != NULL)
			h = mix(h, r->lines[i].data, r->lines[i].data_len + 1);
	}
	return h;
}

/* Parses data in pieces of at most step bytes; returns the reply hash. */
static uint64_t
run(const uint8_t *data, size_t size, size_t step, int *verdict)
{
	const struct torctl_limits limits = { 512, 16384 };
	struct torctl_parser p;
	struct torctl_reply *r;
	enum torctl_feed rv = TORCTL_FEED_MORE;
	uint64_t h = 1469598103934665603ULL;
	size_t off = 0, end, used;

	torctl_parser_init(&p, &limits);
	while (off < size && rv != TORCTL_FEED_ERROR) {
		end = size - off < step ? size : off + step;
		while (off < end) {
			rv = torctl_parser_feed(&p, data + off, end - off,
			    &used, &r);
			off += used;
			if (rv != TORCTL_FEED_REPLY)
				break;
			inspect(r);
			h = hash_reply(h, r);
			torctl_reply_free(r);
		}
	}
	*verdict = rv == TORCTL_FEED_ERROR ? (int)p.error :
	    torctl_parser_finish(&p) == 0 ? 0 : -1;
	torctl_parser_clear(&p);
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;
	int v1, v2;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	if (run(data + 1, size - 1, size, &v1) !=
	    run(data + 1, size - 1, step, &v2) || v1 != v2) {
		fprintf(stderr, "split at %zu changed the result\n", step);
		abort();
	}
	return 0;
}

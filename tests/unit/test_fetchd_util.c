/*
 * Helpers of the fetchd tests; see test_fetchd_util.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_fetchd_util.h"

time_t
util_parse_time(const char *s)
{
	struct tm tm;
	char sep;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%d%c%d:%d:%d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &sep, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7)
		abort();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

time_t
util_capture_time(void)
{
	char *meta = test_read_data(TESTNET "meta.json", NULL);
	char *cap = strstr(meta, "\"captured_at_utc\": \"");
	time_t t;

	if (cap == NULL)
		abort();
	t = util_parse_time(cap + 20);
	free(meta);
	return t;
}

void
util_consensus(struct fetchd_consensus *c)
{
	size_t len;
	char *text = test_read_data(TESTNET "consensus-microdesc.txt", &len);
	const char *why;

	if (fetchd_consensus_parse(c, text, len, &why) == -1)
		abort();
	free(text);
}

void
util_key(uint8_t key[32], const char *address)
{
	if (onion_address_to_pubkey(key, address, strlen(address)) !=
	    ONION_ADDRESS_OK)
		abort();
}

static int
fake_hsfetch(void *arg, const char *address, const char *server)
{
	struct fake *f = arg;

	if (f->refuse_fetch)
		return -1;
	if (f->nfetch < MAX_SENT) {
		snprintf(f->fetched[f->nfetch], sizeof(f->fetched[0]), "%s",
		    address);
		snprintf(f->server[f->nfetch], sizeof(f->server[0]), "%s",
		    server != NULL ? server : "");
	}
	if (f->hsfetch_hook != NULL)
		f->hsfetch_hook(f, address, server);
	f->nfetch++;
	return 0;
}

static int
fake_signal_active(void *arg)
{
	((struct fake *)arg)->nactive++;
	return 0;
}

static void
fake_refresh(void *arg)
{
	((struct fake *)arg)->nrefresh++;
}

static void
fake_send_peer(void *arg, struct ipc_builder *b)
{
	struct fake *f = arg;

	if (f->nsent >= MAX_SENT)
		abort();
	if ((f->sent[f->nsent] = malloc(b->len)) == NULL)
		abort();
	memcpy(f->sent[f->nsent], b->buf, b->len);
	f->sent_len[f->nsent++] = b->len;
}

static int
fake_probe_start(void *arg, uint32_t id, const char *address,
    const struct fetchd_probe_config *cfg, uint32_t isolation)
{
	struct fake *f = arg;

	if (f->nprobe < MAX_SENT) {
		f->probe_id[f->nprobe] = id;
		snprintf(f->probed[f->nprobe], sizeof(f->probed[0]), "%s",
		    address);
		f->probe_isolation[f->nprobe] = isolation;
	}
	f->probe_cfg = *cfg;
	f->nprobe++;
	return 0;
}

static int
fake_client_auth_add(void *arg, const char *address, const uint8_t key[32])
{
	struct fake *f = arg;

	if (f->nauth_add < MAX_SENT) {
		snprintf(f->auth_added[f->nauth_add],
		    sizeof(f->auth_added[0]), "%s", address);
		memcpy(f->auth_key[f->nauth_add], key, 32);
	}
	f->nauth_add++;
	return 0;
}

static int
fake_client_auth_remove(void *arg, const char *address)
{
	struct fake *f = arg;

	if (f->nauth_remove < MAX_SENT)
		snprintf(f->auth_removed[f->nauth_remove],
		    sizeof(f->auth_removed[0]), "%s", address);
	f->nauth_remove++;
	return 0;
}

struct fetchd *
util_fetchd(struct fake *f)
{
	struct fetchd_ops ops = {
		.hsfetch = fake_hsfetch,
		.signal_active = fake_signal_active,
		.consensus_refresh = fake_refresh,
		.send_peer = fake_send_peer,
		.probe_start = fake_probe_start,
		.client_auth_add = fake_client_auth_add,
		.client_auth_remove = fake_client_auth_remove,
		.arg = f,
	};
	struct fetchd *fd;

	memset(f, 0, sizeof(*f));
	if ((fd = fetchd_new(&ops)) == NULL)
		abort();
	return fd;
}

void
util_fake_clear(struct fake *f)
{
	size_t i;

	for (i = 0; i < f->nsent; i++)
		free(f->sent[i]);
	f->nsent = 0;
	f->nfetch = 0;
	f->nactive = 0;
	f->nrefresh = 0;
}

void
util_configure(struct fetchd *fd, uint32_t gen, uint32_t interval,
    const char *const *addresses, size_t n, time_t now)
{
	uint8_t key[32], skey[32];
	char name[32];	/* "be" and any size_t */
	size_t i;

	memset(skey, 7, sizeof(skey));
	if (fetchd_config_begin(fd, gen, interval, 1) == -1 ||
	    fetchd_config_service(fd, 0, skey, (uint32_t)n) == -1)
		abort();
	for (i = 0; i < n; i++) {
		util_key(key, addresses[i]);
		snprintf(name, sizeof(name), "be%zu", i + 1);
		if (fetchd_config_instance(fd, 0, (uint32_t)i, key, name) == -1)
			abort();
	}
	if (fetchd_config_end(fd, gen, now) == -1)
		abort();
}

void
util_feed_events(struct fetchd *fd, const char *text, size_t len,
    time_t now)
{
	struct torctl_parser p;
	struct torctl_reply *r;
	char *crlf = malloc(2 * len + 1);
	size_t i, n = 0, off = 0, used;

	if (crlf == NULL)
		abort();
	for (i = 0; i < len; i++) {
		if (text[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = text[i];
	}
	torctl_parser_init(&p, NULL);
	while (off < n) {
		r = NULL;
		switch (torctl_parser_feed(&p, crlf + off, n - off, &used, &r)) {
		case TORCTL_FEED_REPLY:
			fetchd_handle_event(fd, r, now);
			torctl_reply_free(r);
			break;
		case TORCTL_FEED_MORE:
			break;
		case TORCTL_FEED_ERROR:
			abort();
		}
		off += used;
	}
	torctl_parser_clear(&p);
	free(crlf);
}

int
util_sent_msg(const struct fake *f, size_t n, struct ipc_msg *msg)
{
	static struct ipc_channel ch;

	if (ch.rbuf == NULL && ipc_channel_init(&ch, -1, "peer", PEER_CAP,
	    peer_msg_types, peer_msg_ntypes) == -1)
		abort();
	if (n >= f->nsent)
		return -1;
	return ipc_parse(&ch, msg, f->sent[n], f->sent_len[n]) == IPC_OK ?
	    0 : -1;
}

/* The state or outcome of a message, 0 for types that carry neither. */
static uint32_t
sent_what(const struct ipc_msg *msg)
{
	struct peer_state_msg s;
	struct peer_fetch_msg r;

	if (msg->type == PEER_INSTANCE_STATE)
		return peer_state_parse(msg, &s) == 0 ? s.state : UINT32_MAX;
	if (msg->type == PEER_INSTANCE_FETCH)
		return peer_fetch_parse(msg, &r) == 0 ? r.outcome : UINT32_MAX;
	return 0;
}

void
util_check_sent(const struct fake *f, size_t from,
    const struct sent_want *want, size_t n)
{
	struct ipc_msg msg;
	size_t i;

	CHECK_INT_EQ(f->nsent, from + n);
	for (i = 0; i < n && from + i < f->nsent; i++) {
		if (util_sent_msg(f, from + i, &msg) == -1) {
			CHECK(!"a recorded message does not parse");
			continue;
		}
		CHECK_INT_EQ(msg.type, want[i].type);
		CHECK(msg.len >= 8);
		if (msg.len >= 8)
			CHECK_INT_EQ(get_u32_be(msg.payload + 4),
			    want[i].instance);
		CHECK_INT_EQ(sent_what(&msg), want[i].what);
	}
}

char *
util_content_event(const char *address, const char *body, size_t len)
{
	size_t cap = 256 + 2 * len, n;
	char *ev = malloc(cap);
	size_t i;
	int bol = 1;

	if (ev == NULL)
		abort();
	n = (size_t)snprintf(ev, cap, "650+HS_DESC_CONTENT %s %s %s\n",
	    address, BE1_BLINDED, R6);
	for (i = 0; i < len; i++) {
		if (bol && body[i] == '.')
			ev[n++] = '.';	/* dot-stuffing */
		ev[n++] = body[i];
		bol = body[i] == '\n';
	}
	if (len > 0 && !bol)
		ev[n++] = '\n';
	n += (size_t)snprintf(ev + n, cap - n, "%s.\n650 OK\n",
	    len == 0 ? "\n" : "");
	return ev;
}

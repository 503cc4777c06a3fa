/*
 * Shared helpers of the fetchd tests: the captured test network, a fake
 * set of fetchd_ops that records what fetchd asks for, and control-port
 * text turned into parsed replies.
 */
#ifndef OB_TEST_FETCHD_UTIL_H
#define OB_TEST_FETCHD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fetchd.h"

#define TESTNET		"tor-0.4.9-testnet/"
#define BE1		"vckzlz6oomfw62y2l4rl36gt2qmeyl4qb6qz633eamuh3wgjceb2myyd"
#define BE2		"k6udx3rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjskjwad"
#define BE1_BLINDED	"kkOZq+12o/8so+SGsksgq/Vp+x3KSeD5bsnWo+Cecxk"
#define R6		"$1DDC42DADEB7938D572E08DB959D65DA89EE836E~r6"
#define MAX_SENT	64

struct fake {
	unsigned	 nfetch;
	char		 fetched[MAX_SENT][ONION_ADDRESS_LEN + 1];
	unsigned	 nactive;
	unsigned	 nrefresh;
	size_t		 nsent;
	uint8_t		*sent[MAX_SENT];
	size_t		 sent_len[MAX_SENT];
	int		 refuse_fetch;
	/* probes started: id, address and isolation of each */
	unsigned	 nprobe;
	uint32_t	 probe_id[MAX_SENT];
	char		 probed[MAX_SENT][ONION_ADDRESS_LEN + 1];
	uint32_t	 probe_isolation[MAX_SENT];
	struct fetchd_probe_config probe_cfg;	/* of the last one */
	/* The SERVER= of each HSFETCH ("" without), and a hook to see it. */
	char		 server[MAX_SENT][FETCHD_HSDIR_ID_LEN + 1];
	void		(*hsfetch_hook)(struct fake *f, const char *address,
			    const char *server);
	void		*hook_arg;
	/* ONION_CLIENT_AUTH_ADD / _REMOVE: address (and key) of each */
	unsigned	 nauth_add;
	char		 auth_added[MAX_SENT][ONION_ADDRESS_LEN + 1];
	uint8_t		 auth_key[MAX_SENT][32];
	unsigned	 nauth_remove;
	char		 auth_removed[MAX_SENT][ONION_ADDRESS_LEN + 1];
};

/* "YYYY-MM-DD?HH:MM:SS" */
time_t	util_parse_time(const char *s);
/* The capture time of meta.json. */
time_t	util_capture_time(void);
/* The captured consensus's header. */
void	util_consensus(struct fetchd_consensus *c);
/* Key of a 56-char address. */
void	util_key(uint8_t key[32], const char *address);

struct fetchd *util_fetchd(struct fake *f);
void	util_fake_clear(struct fake *f);
/* One service with the given instance addresses (and names be1, ...). */
void	util_configure(struct fetchd *fd, uint32_t gen, uint32_t interval,
	    const char *const *addresses, size_t n, time_t now);
/* Feeds LF-ended control-port text (made CRLF) as events to fetchd. */
void	util_feed_events(struct fetchd *fd, const char *text, size_t len,
	    time_t now);
/* The n-th recorded peer message, parsed; 0 or -1. */
int	util_sent_msg(const struct fake *f, size_t n, struct ipc_msg *msg);
/*
 * One peer message a test expects: its type, the instance it names, and
 * for PEER_INSTANCE_STATE the state, for PEER_INSTANCE_FETCH the outcome
 * (what is not checked for the other types).
 */
struct sent_want {
	uint32_t	 type;
	uint32_t	 instance;
	uint32_t	 what;
};
/* The messages recorded from index from on are exactly want[0..n-1]. */
void	util_check_sent(const struct fake *f, size_t from,
	    const struct sent_want *want, size_t n);
#define UTIL_CHECK_SENT(f, from, ...) do {				\
	static const struct sent_want want_[] = { __VA_ARGS__ };	\
	util_check_sent((f), (from), want_,				\
	    sizeof(want_) / sizeof(want_[0]));				\
} while (0)
/* An HS_DESC_CONTENT event for address carrying body (LF text). */
char   *util_content_event(const char *address, const char *body,
	    size_t len);

#endif

/*
 * keyd's state and request handlers, separate from its event loop so that
 * unit tests can drive them: request bytes in, reply bytes out.
 *
 * Everything that holds a secret (the master keys, the descriptor-signing
 * keys, the revision-counter keys, the scratch blinded key) lives in
 * libsodium secure memory: guarded pages, locked, wiped when freed.
 */
#ifndef OB_KEYD_H
#define OB_KEYD_H

#include <stdint.h>
#include <time.h>

#include "ed25519_expanded.h"
#include "hs_common.h"
#include "ipc.h"
#include "keyd_proto.h"
#include "masterkey.h"
#include "torcert.h"

/*
 * Live periods per service.  A service uses at most the previous, current
 * and next period at once; twice that leaves room for a change of the
 * period length in the consensus while old periods drain.  A slot is free
 * again when its period has left the window or its signing cert has
 * expired; when none is, BEGIN takes the oldest slot that never signed (it
 * has no revision floor to lose).  keyd never evicts a period it signed
 * for while that period is live and its cert valid, so no sequence of
 * BEGINs resets a revision floor, and slots jammed by bogus BEGINs hold
 * out at most KEYD_SIGNING_CERT_LIFETIME.
 */
#define KEYD_PERIODS_PER_SERVICE	6

/*
 * SIGN takes a revision counter only if it is the one REVISION gives now or
 * gave in the last KEYD_REVISION_WINDOW seconds, by keyd's clock: between
 * its REVISION and its SIGN publishd chooses intro points, CERTIFYs each
 * (a reply takes microseconds; publishd gives up on one after 5 s) and
 * encrypts the descriptor, which takes well under a second; 300 s is
 * ample even on a loaded machine.  Nothing is allowed ahead of now: the
 * only clock involved is keyd's, so there is no skew between requester
 * and keyd to allow for.  A larger counter would make HSDirs refuse every
 * later descriptor of the period (up to 2^64 - 1); a smaller one is what
 * the floor is for.
 */
#define KEYD_REVISION_WINDOW	300
/* The detail of ERROR REVISION for a counter outside the window. */
#define KEYD_REVISION_NOT_NOW	1

/* tor: HS_DESC_CERT_LIFETIME, 54 hours. */
#define KEYD_SIGNING_CERT_LIFETIME	(54 * 3600)
/*
 * BEGIN's parameters must be ones tor itself could have in a consensus;
 * keyd refuses anything else (PARAMS) rather than clamp it:
 * - the voting interval: tor src/feature/dirauth/dirvote.h
 *   MIN_VOTE_INTERVAL_TESTING ((2 + 2 + 1) * 2 = 10 s, a test network;
 *   MIN_VOTE_INTERVAL is 300 s on the live one) up to 24 * 60 * 60
 *   (dirauth_config.c options_validate_dirauth_schedule(): "insanely
 *   high");
 * - hsdir_interval: 0 (the consensus has no such parameter) or tor
 *   src/feature/hs/hs_common.h HS_TIME_PERIOD_LENGTH_MIN (30) to
 *   HS_TIME_PERIOD_LENGTH_MAX (14400 minutes), the range
 *   get_time_period_length() passes to networkstatus_get_param();
 * - with hsdir_interval 0 the period is one SR run of 24 voting
 *   intervals, as tor's get_time_period_length() on a test network (no
 *   lower bound there: a 20 s interval makes 8-minute periods, as in
 *   tests/testnet), but no longer than HS_TIME_PERIOD_LENGTH_MAX: a
 *   24-hour voting interval without hsdir_interval would make
 *   34560-minute periods, which no tor uses.
 */
#define KEYD_VOTING_INTERVAL_MIN	10
#define KEYD_VOTING_INTERVAL_MAX	86400
#define KEYD_PERIOD_LENGTH_MIN		30
#define KEYD_PERIOD_LENGTH_MAX		14400

/* One begun time period of one service. */
struct keyd_period {
	int			 in_use;
	uint64_t		 tp;
	struct hs_period_params	 params;
	time_t			 srv_start;	/* revision counter origin */
	struct ed25519_expanded	 sk;		/* descriptor-signing key */
	uint8_t			 signing_pub[ED25519_PUBKEY_LEN];
	uint8_t			 blinded_pub[ED25519_PUBKEY_LEN];
	uint8_t			 cert[TORCERT_LEN];	/* type 0x08 */
	uint32_t		 cert_exp_hours;
	time_t			 begun;		/* for eviction order */
	uint8_t			 rev_key[32];
	int			 has_signed;
	uint64_t		 last_revision;
};

struct keyd_service {
	struct masterkey	*mk;		/* masterkey_new() */
	struct keyd_period	*periods;	/* sodium_allocarray() */
};

struct keyd {
	struct keyd_service	 services[KEYD_MAX_SERVICES];
	uint32_t		 nservices;
	int			 config_done;
	time_t			(*now)(void);	/* time(NULL) but in tests */
	/* Secret temporaries, here rather than on the stack. */
	struct ed25519_expanded	 blinded;
	struct keyd_period	 fresh;
};

/* now: NULL for the system clock.  Allocated in secure memory. */
struct keyd *keyd_new(time_t (*now)(void));
void	keyd_free(struct keyd *kd);

/*
 * Configuration: service index must be the next one (0, 1, ...).  Reads
 * the key file from fd and closes fd.  On failure *detail is the
 * masterkey_error.
 */
enum keyd_error keyd_add_service_fd(struct keyd *kd, uint32_t index, int fd,
	    uint32_t *detail);
/* The same with a parsed key; keyd takes ownership of mk either way. */
enum keyd_error keyd_add_service_key(struct keyd *kd, uint32_t index,
	    struct masterkey *mk);

/*
 * Handles one request of the request channel and builds the reply (an OK
 * reply or KEYD_R_ERROR, id echoed) into reply, which must hold
 * IPC_HDR_LEN + KEYD_REPLY_MAX bytes.  Returns -1, with no reply, if the
 * message itself is malformed or not a request: the caller treats that as
 * fatal.
 */
#define KEYD_REPLY_MAX	256
int	keyd_handle_request(struct keyd *kd, const struct ipc_msg *req,
	    struct ipc_builder *reply);

/*
 * Checks that body is a v3 outer descriptor up to and including its
 * "-----END MESSAGE-----\n" and nothing after, carrying exactly cert as
 * its descriptor-signing-key-cert.  Fills *revision; on a format error
 * *line is the 1-based line that was wrong.
 */
enum keyd_error keyd_check_body(const uint8_t *body, size_t len,
	    const uint8_t cert[TORCERT_LEN], uint64_t *revision, uint32_t *line);

const char *keyd_strerror(enum keyd_error err);

/* The channel tables, shared by keyd.c and the tests. */
extern const struct ipc_type keyd_parent_types[];
extern const size_t keyd_parent_ntypes;
extern const struct ipc_type keyd_request_types[];
extern const size_t keyd_request_ntypes;

#endif

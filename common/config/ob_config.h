/*
 * The configuration file, parsed once in the parent.
 *
 * The file is Onionbalance's config.yaml, unchanged: a top-level
 * "services:" list, each service with "key:" (the frontend's private key
 * file) and "instances:" (a list of "address:" and optional "name:"), and
 * an optional top-level "status-socket-location".  Our own settings are
 * additive; docs/configuration.md lists every key and environment
 * variable.
 *
 * Every error a user can cause is one line, "FILE:LINE:COLUMN: KEY: what
 * is wrong", written to the caller's buffer.  Unknown keys are not errors:
 * they are logged with log_warnx() (file and line) and ignored.
 *
 * A reload loads into a new struct and swaps only on success, so a bad
 * file never replaces a good configuration:
 *
 *	struct ob_config *next;
 *	if (ob_config_load(path, &next, err, sizeof(err)) == -1)
 *		log_warnx("%s; keeping the old configuration", err);
 *	else {
 *		ob_config_free(cur);
 *		cur = next;
 *	}
 */
#ifndef OB_OB_CONFIG_H
#define OB_OB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "onion_address.h"

/* Sanity caps: a larger file or list is a mistake, not a setup. */
#define OB_CONFIG_MAX_FILE_SIZE		(1024 * 1024)
#define OB_CONFIG_MAX_SERVICES		64
#define OB_CONFIG_MAX_INSTANCES		1000
#define OB_CONFIG_MAX_NAME_LEN		255

/* Defaults (Onionbalance's, where Onionbalance has the setting). */
#define OB_CONFIG_DEFAULT_PATH		"config.yaml"
#define OB_CONFIG_DEFAULT_LOG_LEVEL	LOG_LEVEL_WARN
#define OB_CONFIG_DEFAULT_CONTROL_SOCKET "/var/run/tor/control"
#define OB_CONFIG_DEFAULT_CONTROL_ADDRESS "127.0.0.1"
#define OB_CONFIG_DEFAULT_CONTROL_PORT	9051
#define OB_CONFIG_DEFAULT_FETCH_INTERVAL 120	/* seconds; Onionbalance: 600 */
#define OB_CONFIG_MIN_FETCH_INTERVAL	5
#define OB_CONFIG_MAX_FETCH_INTERVAL	3600
/* 0: no liveness probes (docs/operations.md, "Liveness"). */
#define OB_CONFIG_DEFAULT_PROBE_INTERVAL 5	/* seconds */
#define OB_CONFIG_MIN_PROBE_INTERVAL	0
#define OB_CONFIG_MAX_PROBE_INTERVAL	3600
#define OB_CONFIG_DEFAULT_PROBE_TIMEOUT	10	/* seconds: tor's own stream timeout */
#define OB_CONFIG_MIN_PROBE_TIMEOUT	2
#define OB_CONFIG_MAX_PROBE_TIMEOUT	300
/* intro-points-per-descriptor: a tor client refuses more (digest 8.2). */
#define OB_CONFIG_MAX_PER_DESCRIPTOR	20
/* authorized-clients: the encoder's HSDESC_MAX_AUTH_CLIENTS. */
#define OB_CONFIG_MAX_AUTH_CLIENTS	128
#define OB_CONFIG_MAX_AUTH_CLIENT_DIRS	16
#define OB_CONFIG_DEFAULT_PROBE_PORT	80
#define OB_CONFIG_MAX_PROBE_PATH	200	/* PROBE_PATH_MAX */
#define OB_CONFIG_DEFAULT_KEYD_USER	"onionbalanced-keyd"
#define OB_CONFIG_DEFAULT_FETCHD_USER	"onionbalanced-fetchd"
#define OB_CONFIG_DEFAULT_PUBLISHD_USER	"onionbalanced-publishd"

/*
 * How an instance's liveness is probed (docs/configuration.md): a
 * service's settings apply to its instances, an instance's own win.
 */
enum ob_health_check {
	OB_HEALTH_NONE = 0,	/* the backend's tor answers */
	OB_HEALTH_TCP,		/* and its port accepts */
	OB_HEALTH_HTTP,		/* and GET path answers 2xx or 3xx */
};

struct ob_config_probe {
	uint16_t		 port;		/* 0: not set here */
	int			 check_set;
	enum ob_health_check	 check;
	char			 path[OB_CONFIG_MAX_PROBE_PATH + 1]; /* "": unset */
};

/* Where a value was written (1-based), for messages after parsing. */
struct ob_config_pos {
	unsigned long	 line;
	unsigned long	 column;
};

struct ob_config_instance {
	/* Canonical form: 56 chars, lower case, no ".onion". */
	char		 address[ONION_ADDRESS_LEN + 1];
	uint8_t		 pubkey[32];
	char		*name;		/* NULL when the file gives none */
	struct ob_config_pos address_pos;
	/* After loading: every field set (own, service's, or default). */
	struct ob_config_probe probe;
	/*
	 * A restricted backend (docs/configuration.md, "Restricted
	 * backends"): client-key names a .auth_private file, resolved like
	 * "key:"; once ob_config_load() read it, or found the instance's
	 * file in its service's client-auth-dir, client_key is the x25519
	 * private key fetchd decrypts the instance's descriptors with.
	 * ob_config_free() wipes it.
	 */
	char		*client_key_path;
	struct ob_config_pos client_key_pos;
	int		 has_client_key;
	uint8_t		 client_key[32];
	char		*client_key_file;	/* where it was read, for logs */
};

struct ob_config_service {
	/*
	 * The key file, resolved: a relative "key:" is taken relative to the
	 * directory of the config file, as Onionbalance does.
	 */
	char		*key_path;
	struct ob_config_pos key_pos;
	struct ob_config_instance *instances;
	size_t		 ninstances;
	struct ob_config_probe probe;	/* as the file gives it */
	/*
	 * descriptors: auto | shared, intro-points-per-descriptor
	 * (docs/configuration.md, "Distinct descriptors").
	 */
	int		 shared_only;
	unsigned int	 per_descriptor;	/* 0: the default, 20 */
	/*
	 * authorized-clients (docs/configuration.md, "Client
	 * authorization"): the x25519 public keys given in the file, then,
	 * once ob_config_load() read them, those of each directory's .auth
	 * files.  None: the descriptor is for everyone.
	 */
	uint8_t		(*auth_clients)[32];
	size_t		 nauth_clients;
	struct ob_config_pos auth_clients_pos;
	char		*auth_client_dirs[OB_CONFIG_MAX_AUTH_CLIENT_DIRS];
	struct ob_config_pos auth_client_dir_pos[OB_CONFIG_MAX_AUTH_CLIENT_DIRS];
	size_t		 nauth_client_dirs;
	/* client-auth-dir: a ClientOnionAuthDir for the instances; NULL: none */
	char		*client_auth_dir;
	struct ob_config_pos client_auth_dir_pos;
	/* Set by ob_config_set_identity() once keyd has told the parent. */
	int		 has_identity;
	uint8_t		 identity[32];
};

struct ob_config {
	char		*path;		/* the file, as the caller named it */
	struct ob_config_service *services;
	size_t		 nservices;

	char		*status_socket_path;	/* NULL: no status socket */
	/*
	 * metrics-location (docs/metrics.md): a unix socket and/or a
	 * loopback TCP listener; NULL: none of that kind.  The address is
	 * numeric, without brackets, in 127.0.0.0/8 or ::1.
	 */
	char		*metrics_socket_path;
	char		*metrics_address;
	uint16_t	 metrics_port;
	enum log_level	 log_level;

	/* Tried in this order, as Onionbalance does: socket, then TCP. */
	char		*control_socket;	/* NULL: "" given, TCP only */
	char		*control_address;
	uint16_t	 control_port;
	char		*control_password;	/* NULL: none; wiped on free */

	unsigned int	 fetch_interval;	/* seconds */
	unsigned int	 probe_interval;	/* seconds */
	unsigned int	 probe_timeout;		/* seconds */

	/* System users of the children (sandbox). */
	char		*keyd_user;
	char		*fetchd_user;
	char		*publishd_user;

	/* Unknown keys ignored with a warning (for --check's verdict). */
	unsigned int	 nwarnings;
};

/*
 * The config file to read when the command line names none:
 * $ONIONBALANCE_CONFIG if set and not empty, else "config.yaml".
 */
const char *ob_config_default_path(void);

/*
 * Reads and parses the file, then applies the environment variables
 * (ONIONBALANCE_STATUS_SOCKET_LOCATION, ONIONBALANCE_LOG_LEVEL,
 * ONIONBALANCE_TOR_CONTROL_SOCKET override the file).  Relative key
 * paths become absolute (against the config file's directory), as do
 * relative socket paths (against the working directory, as Onionbalance).
 * On success stores a new config in *out and returns 0; on error writes
 * one line to err, leaves *out alone and returns -1.
 */
int	ob_config_load(const char *path, struct ob_config **out, char *err,
	    size_t errlen);

/*
 * Parses a buffer only: no file system, no environment.  name is used in
 * messages, and its directory is where relative key paths resolve.
 * Same contract as ob_config_load().
 */
int	ob_config_parse_buffer(const char *buf, size_t len, const char *name,
	    struct ob_config **out, char *err, size_t errlen);

void	ob_config_free(struct ob_config *cfg);

/*
 * Checks that no instance of the service is the frontend itself, given
 * the frontend's public key (which only keyd can derive from the key
 * file).  0 if fine; -1 and one line in err otherwise.
 */
int	ob_config_check_instances(const struct ob_config *cfg,
	    size_t service_index, const uint8_t frontend_pubkey[32], char *err,
	    size_t errlen);

/*
 * ob_config_check_instances(), and also that no other service has the
 * same identity (one key under two file names); then records it in
 * services[service_index].identity.  0 if fine; -1 and err otherwise.
 */
int	ob_config_set_identity(struct ob_config *cfg, size_t service_index,
	    const uint8_t frontend_pubkey[32], char *err, size_t errlen);

#endif

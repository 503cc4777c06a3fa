/*
 * The parent process, onionbalanced: what its files share.
 *
 *   parent.c            main: command line, signals
 *   parent_run.c        start, reload (SIGHUP), end
 *   parent_config.c     config + command-line overrides; config messages
 *   parent_keyd.c       keyd's start handshake (keys in, identities out)
 *   parent_children.c   fetchd/publishd: start, channels, messages, restart
 *   parent_child.c      one child of any role: its name, binary, ending it
 *   parent_check.c      --check
 *   spawn.c             fork+exec of a child; the restart/backoff policy
 *   control_open.c      connecting and authenticating to tor's control port
 *   parent_socks.c      fetchd's probe connections; tor's probe SOCKS listener
 *
 * The parent holds no secret of its own: key files are opened and passed
 * unread to keyd; the control cookie or password is used once per
 * connection and wiped.  It parses no descriptor and does no crypto beyond
 * the SAFECOOKIE hash (common/torctl/torctl_auth.c).
 */
#ifndef OB_PARENT_H
#define OB_PARENT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "daemon_proto.h"
#include "ipc.h"
#include "ob_config.h"
#include "spawn.h"

enum child_role {
	ROLE_KEYD,
	ROLE_FETCHD,
	ROLE_PUBLISHD,
	ROLE_COUNT,
};

/*
 * The socketpairs between two children.  When one end's child starts it
 * takes its pending end if the other child left one, else a new pair is
 * made and the other end goes to the other child (now if it runs, else it
 * waits in pending[] for that child's start).
 */
enum link_id {
	LINK_KEYD_PUBLISHD,
	LINK_FETCHD_PUBLISHD,
	LINK_COUNT,
};

struct link {
	enum child_role	 end[2];
	int		 pending[2];	/* -1: none */
	uint32_t	 gen;		/* of the newest socketpair */
};

enum child_state {
	CHILD_DOWN,		/* not running; maybe a restart is scheduled */
	CHILD_STARTING,		/* spawned, handshake sent, no PC_READY yet */
	CHILD_RUNNING,
	CHILD_STOPPING,		/* SIGTERM sent, waiting for its exit */
};

struct parent;

struct child {
	struct parent		*parent;
	enum child_role		 role;
	const char		*name;
	enum child_state	 state;
	pid_t			 pid;		/* -1 when none */
	struct ipc_channel	 ch;		/* fd -1 when none */
	struct event		*ev_read;
	struct event		*ev_restart;	/* backoff before a restart */
	struct event		*ev_control;	/* retry opening tor's control */
	struct restart_policy	 policy;
	uint64_t		 started_ms;	/* monotonic */
	unsigned		 control_delay_ms;	/* next control backoff */
	uint64_t		 control_given_ms;	/* monotonic; 0: none */
	uint32_t		 ready_generation;
	uint8_t			 buf[IPC_HDR_LEN + PC_CAP];
};

/* What the command line sets; it beats the environment and the file. */
struct parent_overrides {
	const char	*control_socket;	/* -s */
	const char	*control_address;	/* -i */
	int		 control_port;		/* -p; 0: not given */
	int		 log_level;		/* -v; -1: not given */
};

/* Identifies a key file's contents cheaply, to see if a reload changed it. */
struct key_file_id {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
};

struct parent {
	struct event_base	*base;
	const char		*config_path;
	struct parent_overrides	 ov;
	struct ob_config	*cfg;
	struct key_file_id	 key_ids[OB_CONFIG_MAX_SERVICES];
	uint32_t		 generation;
	char			 libexecdir[4096];
	const char		*chroot_dir;	/* the children's root, as root */
	struct child		 children[ROLE_COUNT];
	struct link		 links[LINK_COUNT];
	int			 status_fd;	/* listening; -1: none */
	char			*status_path;	/* what we created; unlinked at exit */
	/* The metrics listeners (docs/metrics.md), for publishd. */
	int			 metrics_fds[PC_METRICS_FDS_MAX];
	int			 nmetrics_fds;
	char			*metrics_path;	/* its unix socket; unlinked at exit */
	char			*metrics_address;	/* its TCP listener's */
	uint16_t		 metrics_port;
	/* For publishd's metrics (PC_COUNTERS). */
	uint32_t		 restarts[ROLE_COUNT];
	uint32_t		 keyd_channel_drops;
	unsigned		 backoff_min_ms;
	bool			 stopping;
	int			 exit_status;
	/* The management tor's SOCKS listener for probes (parent_socks.c). */
	uint16_t		 socks_port;	/* 0: none added yet */
	uint64_t		 socks_retry_ms;	/* monotonic; after a failure */
	char			 socks_error[256];
	struct event		*ev_stop_timeout;
};

/* parent_config.c */
int	parent_config_load(const char *path, const struct parent_overrides *ov,
	    struct ob_config **out, char *err, size_t errlen);
/* Opens services[i]'s key file; -1 and one line in err (whose file). */
int	parent_key_open(const struct ob_config *cfg, size_t i, char *err,
	    size_t errlen);
int	parent_key_file_id(const char *path, struct key_file_id *id);
bool	parent_keys_changed(const struct parent *p,
	    const struct ob_config *next);
int	parent_send_config(struct child *c, const struct ob_config *cfg,
	    uint32_t generation);
int	parent_status_socket_open(const char *path, char *err, size_t errlen);
/* A listening unix socket (0660) at path; what names it in messages. */
int	parent_unix_socket_open(const char *what, const char *path, char *err,
	    size_t errlen);
/* A listening TCP socket at a numeric address (the metrics' loopback). */
int	parent_tcp_listen(const char *what, const char *address, uint16_t port,
	    char *err, size_t errlen);

/* parent_run.c */
int	parent_run(struct parent *p);
int	parent_reload(struct parent *p, struct ob_config *next);

/* parent_keyd.c */
int	keyd_start(struct parent *p, struct child *c, struct ob_config *cfg,
	    char *err, size_t errlen);
/* Each key read by a keyd of its own; each problem logged; how many. */
int	keyd_check_keys(struct parent *p, struct ob_config *cfg);
int	keyd_check_keys_report(struct parent *p, struct ob_config *cfg,
	    void (*report)(void *arg, const char *msg), void *arg);
void	keyd_read_cb(int fd, short what, void *arg);
int	keyd_give_request_channel(struct child *c, int fd, uint32_t gen);

/* parent_children.c */
void	children_init(struct parent *p);
int	child_start(struct child *c);
void	child_watch(struct child *c);
void	child_restart_cb(int fd, short what, void *arg);
void	child_read_cb(int fd, short what, void *arg);
void	children_reap(struct parent *p);
void	children_stop(struct parent *p, int exit_status);
void	links_give(struct parent *p, enum child_role role);
int	child_send_fd(struct child *c, uint32_t type, int fd);
/* PC_COUNTERS to publishd, if it runs. */
void	parent_send_counters(struct parent *p);
void	child_control_connect(struct child *c);
bool	children_all_down(const struct parent *p);

/* parent_child.c */
const char *child_role_name(enum child_role role);
int	child_binary_path(const struct parent *p, enum child_role role,
	    char *out, size_t outlen);
/* Frees the channel and its event; the child is not signalled. */
void	child_close_channel(struct child *c);
void	child_lost(struct child *c, const char *why);
void	child_eof(struct child *c);

/* control_open.c */
struct control_target {
	const char	*socket_path;	/* tried first; NULL: TCP only */
	const char	*address;
	uint16_t	 port;
	const char	*password;	/* NULL: none */
	unsigned	 timeout_ms;
};

void	control_target_from_config(struct control_target *t,
	    const struct ob_config *cfg);
/* An authenticated control connection, or -1 and one line in err. */
int	control_open(const struct control_target *t, char *err, size_t errlen);
/*
 * Adds a SOCKS listener for fetchd's liveness probes to tor, at
 * 127.0.0.1:port with CONTROL_SOCKS_FLAGS, keeping the operator's own
 * SocksPort lines (and replacing one an earlier run of ours added).
 * 0, or -1 and one line in err.
 */
#define CONTROL_SOCKS_FLAGS	" ExtendedErrors OnionTrafficOnly IsolateSOCKSAuth"
int	control_socks_listener(const struct control_target *t, uint16_t port,
	    char *err, size_t errlen);

/* parent_socks.c */
/* A connection to the management tor's probe SOCKS listener, or -1. */
int	parent_socks_connect(struct parent *p, char *err, size_t errlen);
/* A fetchd's PC_SOCKS_REQUEST, answered with PC_SOCKS_FD or _FAILED. */
void	parent_socks_request(struct child *c, const struct ipc_msg *msg);

/* parent_check.c */
int	parent_check(struct parent *p);

#endif

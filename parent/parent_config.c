/*
 * The parent's side of the configuration: loading it with the command
 * line's overrides, noticing when a reload changed the keys, turning it
 * into the PC_CONFIG_* messages for fetchd and publishd, and creating the
 * status socket.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "parent.h"

/* Replaces a string of the config; -1 on allocation failure. */
static int
replace_string(char **field, const char *value)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

/*
 * Command-line flags beat the environment and the file (ob_config.h).
 * -s "" means TCP only, as ONIONBALANCE_TOR_CONTROL_SOCKET="" does.
 */
static int
apply_overrides(struct ob_config *cfg, const struct parent_overrides *ov,
    char *err, size_t errlen)
{
	uint8_t addr[16];

	if (ov->control_socket != NULL &&
	    replace_string(&cfg->control_socket,
	    ov->control_socket[0] != '\0' ? ov->control_socket : NULL) == -1)
		goto nomem;
	if (ov->control_address != NULL) {
		if (inet_pton(AF_INET, ov->control_address, addr) != 1 &&
		    inet_pton(AF_INET6, ov->control_address, addr) != 1) {
			snprintf(err, errlen, "-i: \"%.80s\" is not an IPv4 "
			    "or IPv6 address", ov->control_address);
			return -1;
		}
		if (replace_string(&cfg->control_address,
		    ov->control_address) == -1)
			goto nomem;
	}
	if (ov->control_port > 0)
		cfg->control_port = (uint16_t)ov->control_port;
	if (ov->log_level >= 0)
		cfg->log_level = (enum log_level)ov->log_level;
	return 0;
nomem:
	snprintf(err, errlen, "%s", strerror(errno));
	return -1;
}

int
parent_config_load(const char *path, const struct parent_overrides *ov,
    struct ob_config **out, char *err, size_t errlen)
{
	struct ob_config *cfg;

	if (ob_config_load(path, &cfg, err, errlen) == -1)
		return -1;
	if (apply_overrides(cfg, ov, err, errlen) == -1) {
		ob_config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

/* getpwuid() and getgrgid() share static storage: copy the name out. */
static void
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
}

static void
group_name(gid_t gid, char *buf, size_t len)
{
	struct group *gr = getgrgid(gid);

	if (gr != NULL)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "gid %lu", (unsigned long)gid);
}

/*
 * Why we may not open path, as " (...)" for the end of the message: the
 * usual cause is a key that root (or onionbalance-config) wrote for a
 * daemon that runs as another user, so name both.
 */
static void
explain_denied(const char *path, char *out, size_t outlen)
{
	char owner[64], group[64], me[64];
	struct stat st;

	user_name(geteuid(), me, sizeof(me));
	if (stat(path, &st) == -1) {
		snprintf(out, outlen, " (a directory on the way is closed to "
		    "%s, the user onionbalanced runs as)", me);
		return;
	}
	user_name(st.st_uid, owner, sizeof(owner));
	group_name(st.st_gid, group, sizeof(group));
	snprintf(out, outlen, " (owner %s, group %s, mode %04o; "
	    "onionbalanced runs as %s)", owner, group,
	    (unsigned)(st.st_mode & 07777), me);
}

/*
 * EOTK's (and so Onionspray's) ob-gather names a frontend key
 * <dir>/<onion>.key, Onionbalance v2's name, while it keeps a v3 key as
 * <dir>/<onion>.v3sec.key, tor's hs_ed25519_secret_key
 * (docs/onionspray.md).  When the first is missing and the second is
 * there, say which file to name; reading it unasked would be a guess.
 */
static void
explain_missing(const char *path, char *out, size_t outlen)
{
	static const char v2[] = ".key", v3[] = ".v3sec.key";
	size_t len = strlen(path), stem;
	char alt[PATH_MAX];
	struct stat st;
	int n;

	if (len < sizeof(v2) - 1 ||
	    strcmp(path + len - (sizeof(v2) - 1), v2) != 0)
		return;
	stem = len - (sizeof(v2) - 1);
	n = snprintf(alt, sizeof(alt), "%.*s%s", (int)stem, path, v3);
	if (n < 0 || (size_t)n >= sizeof(alt))
		return;
	if (stat(alt, &st) == -1 || !S_ISREG(st.st_mode))
		return;
	snprintf(out, outlen, " (the v3 key beside it is %s, as EOTK and "
	    "Onionspray name it: put that path in key:)", alt);
}

int
parent_key_open(const struct ob_config *cfg, size_t i, char *err,
    size_t errlen)
{
	const char *path = cfg->services[i].key_path;
	char why[PATH_MAX + 128] = "";
	struct stat st;
	int fd, saved;

	/* O_NONBLOCK: a FIFO put there must not hang the start. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) != -1) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			return fd;
		snprintf(err, errlen, "services[%zu].key: %s is not a "
		    "regular file", i, path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	saved = errno;
	if (saved == EACCES || saved == EPERM)
		explain_denied(path, why, sizeof(why));
	else if (saved == ENOENT)
		explain_missing(path, why, sizeof(why));
	snprintf(err, errlen, "services[%zu].key: cannot open %s: %s%s", i,
	    path, strerror(saved), why);
	errno = saved;
	return -1;
}

int
parent_key_file_id(const char *path, struct key_file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) == -1)
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	return 0;
}

/*
 * keyd must start again when the new config names other key files, or
 * when a key file was replaced or rewritten since keyd read it.  Services
 * are numbered by position, so a reordering is a change too.
 */
bool
parent_keys_changed(const struct parent *p, const struct ob_config *next)
{
	struct key_file_id id;

	if (next->nservices != p->cfg->nservices)
		return true;
	for (size_t i = 0; i < next->nservices; i++) {
		if (strcmp(next->services[i].key_path,
		    p->cfg->services[i].key_path) != 0)
			return true;
		if (parent_key_file_id(next->services[i].key_path, &id) == -1 ||
		    memcmp(&id, &p->key_ids[i], sizeof(id)) != 0)
			return true;
	}
	return false;
}

static int
send_msg(struct child *c, struct ipc_builder *b)
{
	if (ipc_send(&c->ch, b, -1) == -1) {
		log_warn("%s: sending %s", c->name,
		    ipc_type_name(&c->ch, ipc_builder_type(b)));
		return -1;
	}
	return 0;
}

_Static_assert(OB_CONFIG_MAX_PROBE_PATH == PROBE_PATH_MAX &&
    (int)OB_HEALTH_NONE == (int)PROBE_CHECK_NONE &&
    (int)OB_HEALTH_TCP == (int)PROBE_CHECK_TCP &&
    (int)OB_HEALTH_HTTP == (int)PROBE_CHECK_HTTP,
    "ob_config's probe settings are sent as PC_PROBE's");

/* fetchd alone probes: how, for one instance. */
static int
send_probe(struct child *c, const struct ob_config *cfg, uint32_t i,
    uint32_t j, const struct ob_config_probe *probe)
{
	struct ipc_builder b;

	ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_PROBE, 0);
	ipc_add_u32(&b, i);
	ipc_add_u32(&b, j);
	ipc_add_u32(&b, cfg->probe_interval);
	ipc_add_u32(&b, cfg->probe_timeout);
	ipc_add_u32(&b, probe->port);
	ipc_add_u32(&b, (uint32_t)probe->check);
	ipc_add_string(&b, probe->path);
	if (ipc_builder_finish(&b) == -1)
		return -1;
	return send_msg(c, &b);
}

/* Public keys only: publishd encrypts the descriptor cookie to them. */
static int
send_auth_clients(struct child *c, uint32_t i,
    const struct ob_config_service *s)
{
	struct ipc_builder b;

	for (size_t k = 0; k < s->nauth_clients; k++) {
		ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_AUTH_CLIENT, 0);
		ipc_add_u32(&b, i);
		ipc_add_bytes(&b, s->auth_clients[k], 32);
		if (ipc_builder_finish(&b) == -1 || send_msg(c, &b) == -1)
			return -1;
	}
	return 0;
}

/*
 * fetchd alone holds a restricted backend's client key; c->buf is wiped
 * once the message is sent (or not).
 */
static int
send_client_key(struct child *c, uint32_t i, uint32_t j,
    const struct ob_config_instance *in)
{
	struct ipc_builder b;
	int rv = -1;

	ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_CLIENT_KEY, 0);
	ipc_add_u32(&b, i);
	ipc_add_u32(&b, j);
	ipc_add_bytes(&b, in->client_key, sizeof(in->client_key));
	if (ipc_builder_finish(&b) == 0)
		rv = send_msg(c, &b);
	sodium_memzero(c->buf, sizeof(c->buf));
	return rv;
}

static int
send_service(struct child *c, const struct ob_config *cfg, uint32_t i,
    const struct ob_config_service *s)
{
	struct ipc_builder b;

	ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_SERVICE, 0);
	ipc_add_u32(&b, i);
	ipc_add_bytes(&b, s->identity, sizeof(s->identity));
	ipc_add_u32(&b, (uint32_t)s->ninstances);
	if (ipc_builder_finish(&b) == -1)
		return -1;
	if (send_msg(c, &b) == -1)
		return -1;
	if (c->role == ROLE_PUBLISHD) {
		ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_PUBLISH, 0);
		ipc_add_u32(&b, i);
		ipc_add_u32(&b, s->shared_only ? 1 : 0);
		ipc_add_u32(&b, s->per_descriptor ? s->per_descriptor :
		    OB_CONFIG_MAX_PER_DESCRIPTOR);
		if (ipc_builder_finish(&b) == -1 || send_msg(c, &b) == -1)
			return -1;
		if (send_auth_clients(c, i, s) == -1)
			return -1;
	}
	for (size_t j = 0; j < s->ninstances; j++) {
		const struct ob_config_instance *in = &s->instances[j];

		ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_INSTANCE, 0);
		ipc_add_u32(&b, i);
		ipc_add_u32(&b, (uint32_t)j);
		ipc_add_bytes(&b, in->pubkey, sizeof(in->pubkey));
		/* The address names an instance that has no name of its own. */
		ipc_add_string(&b, in->name != NULL ? in->name : in->address);
		if (ipc_builder_finish(&b) == -1 || send_msg(c, &b) == -1)
			return -1;
		if (c->role != ROLE_FETCHD)
			continue;
		if (send_probe(c, cfg, i, (uint32_t)j, &in->probe) == -1)
			return -1;
		if (in->has_client_key &&
		    send_client_key(c, i, (uint32_t)j, in) == -1)
			return -1;
	}
	return 0;
}

/*
 * PC_CONFIG_BEGIN, a PC_SERVICE and its PC_INSTANCEs per service,
 * PC_CONFIG_END.  The identities must be known (keyd told us).
 */
int
parent_send_config(struct child *c, const struct ob_config *cfg,
    uint32_t generation)
{
	struct ipc_builder b;

	ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_CONFIG_BEGIN, 0);
	ipc_add_u32(&b, generation);
	ipc_add_u32(&b, (uint32_t)cfg->log_level);
	ipc_add_u32(&b, cfg->fetch_interval);
	ipc_add_u32(&b, (uint32_t)cfg->nservices);
	if (ipc_builder_finish(&b) == -1 || send_msg(c, &b) == -1)
		return -1;
	for (size_t i = 0; i < cfg->nservices; i++)
		if (send_service(c, cfg, (uint32_t)i, &cfg->services[i]) == -1)
			return -1;
	ipc_builder_init(&b, c->buf, sizeof(c->buf), PC_CONFIG_END, 0);
	ipc_add_u32(&b, generation);
	if (ipc_builder_finish(&b) == -1 || send_msg(c, &b) == -1)
		return -1;
	return 0;
}

/*
 * A file in the way is removed only if it is a socket (a previous run's);
 * anything else there is the operator's and we refuse to start.
 */
static int
remove_stale_socket(const char *what, const char *path, char *err,
    size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s %s: a file that is not "
		    "a socket is in the way", what, path);
		return -1;
	}
	if (unlink(path) == -1) {
		snprintf(err, errlen, "%s %s: cannot remove the "
		    "old socket: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Binds and listens; the socket is group-accessible (0660), no more. */
int
parent_unix_socket_open(const char *what, const char *path, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s %s: path too long", what, path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	err[0] = '\0';
	if (remove_stale_socket(what, path, err, errlen) == -1) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s %s: %s", what, path,
			    strerror(errno));
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "%s %s: %s", what, path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (chmod(path, 0660) == -1 || listen(fd, 16) == -1) {
		snprintf(err, errlen, "%s %s: %s", what, path,
		    strerror(errno));
		(void)unlink(path);	/* ours: we just bound it */
		close(fd);
		return -1;
	}
	return fd;
}

int
parent_status_socket_open(const char *path, char *err, size_t errlen)
{
	return parent_unix_socket_open("status socket", path, err, errlen);
}

int
parent_tcp_listen(const char *what, const char *address, uint16_t port,
    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "%s %s port %u: not a numeric address",
		    what, address, port);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 16) == -1) {
		snprintf(err, errlen, "%s %s port %u: %s", what, address, port,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

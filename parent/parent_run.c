/*
 * The parent's start (keyd first, then fetchd and publishd), its reload on
 * SIGHUP, and its end.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "parent.h"
#include "sandbox_parent.h"

/*
 * The key files' modes, as --check says them.  An open that fails is a
 * problem only when no keyd will try the file (report_open); else keyd's
 * check names it.
 */
static int
check_key_modes(const struct ob_config *cfg, int report_open)
{
	char err[1024];
	struct stat st;
	int fd, problems = 0;

	for (size_t i = 0; i < cfg->nservices; i++) {
		if ((fd = parent_key_open(cfg, i, err, sizeof(err))) == -1) {
			if (report_open) {
				log_errorx("%s", err);
				problems++;
			}
			continue;
		}
		if (fstat(fd, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
			log_warnx("services[%zu].key: %s has mode %04o: others "
			    "than its owner may read the master key (chmod 600 "
			    "%s)", i, cfg->services[i].key_path,
			    (unsigned)(st.st_mode & 07777),
			    cfg->services[i].key_path);
		close(fd);
	}
	return problems;
}

/* The metrics listeners, made here and handed to publishd. */
static int
metrics_open(struct parent *p)
{
	const struct ob_config *cfg = p->cfg;
	char err[1024];
	int fd, problems = 0;

	if (cfg->metrics_socket_path != NULL) {
		if ((fd = parent_unix_socket_open("metrics socket",
		    cfg->metrics_socket_path, err, sizeof(err))) == -1) {
			log_errorx("%s", err);
			problems++;
		} else {
			p->metrics_fds[p->nmetrics_fds++] = fd;
			if ((p->metrics_path =
			    strdup(cfg->metrics_socket_path)) == NULL)
				fatal("strdup");
		}
	}
	if (cfg->metrics_address != NULL) {
		if ((fd = parent_tcp_listen("metrics listener",
		    cfg->metrics_address, cfg->metrics_port, err,
		    sizeof(err))) == -1) {
			log_errorx("%s", err);
			problems++;
		} else {
			p->metrics_fds[p->nmetrics_fds++] = fd;
			if ((p->metrics_address =
			    strdup(cfg->metrics_address)) == NULL)
				fatal("strdup");
			p->metrics_port = cfg->metrics_port;
		}
	}
	return problems;
}

/*
 * What --check checks without tor: users, the children's binaries, the
 * keys (each read by keyd) and their modes, the status socket.  Every
 * problem is logged as an error; returns how many.
 */
static int
preflight_local(struct parent *p)
{
	char path[4096], err[1024];
	int problems = 0, keyd_can_run = 1;

	/* Users and capabilities first: all that follows runs with less. */
	if (sandbox_parent_setup(p->cfg, p->chroot_dir, err,
	    sizeof(err)) == -1) {
		log_errorx("%s", err);
		problems++;
		keyd_can_run = 0;
	}
	for (int r = 0; r < ROLE_COUNT; r++)
		if (child_binary_path(p, (enum child_role)r, path,
		    sizeof(path)) == -1) {
			log_error("cannot run %s", path);
			problems++;
			keyd_can_run &= r != ROLE_KEYD;
		}
	problems += check_key_modes(p->cfg, !keyd_can_run);
	if (keyd_can_run)
		problems += keyd_check_keys(p, p->cfg);
	if (p->cfg->status_socket_path != NULL) {
		if ((p->status_fd = parent_status_socket_open(
		    p->cfg->status_socket_path, err, sizeof(err))) == -1) {
			log_errorx("%s", err);
			problems++;
		} else if ((p->status_path =
		    strdup(p->cfg->status_socket_path)) == NULL)
			fatal("strdup");
	}
	problems += metrics_open(p);
	return problems;
}

/*
 * Everything the start needs that can be wrong is said before any child
 * that stays: all the problems at once, tor's control port last.
 */
static int
preflight(struct parent *p)
{
	struct control_target t;
	char err[1024];
	int fd, problems;

	problems = preflight_local(p);
	/* A wrong password or an unreadable cookie is a setup error. */
	control_target_from_config(&t, p->cfg);
	if ((fd = control_open(&t, err, sizeof(err))) == -1) {
		log_errorx("%s", err);
		problems++;
	} else
		close(fd);
	return problems > 0 ? -1 : 0;
}

static void
record_key_ids(struct parent *p)
{
	for (size_t i = 0; i < p->cfg->nservices; i++)
		if (parent_key_file_id(p->cfg->services[i].key_path,
		    &p->key_ids[i]) == -1)
			log_warn("%s", p->cfg->services[i].key_path);
}

static int
start_children(struct parent *p)
{
	struct child *keyd = &p->children[ROLE_KEYD];
	char err[1024];

	if (keyd_start(p, keyd, p->cfg, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return -1;
	}
	record_key_ids(p);
	child_watch(keyd);
	links_give(p, ROLE_KEYD);
	if (child_start(&p->children[ROLE_FETCHD]) == -1 ||
	    child_start(&p->children[ROLE_PUBLISHD]) == -1)
		return -1;
	return 0;
}

static void
cleanup(struct parent *p)
{
	if (p->status_path != NULL && unlink(p->status_path) == -1 &&
	    errno != ENOENT)
		log_warn("%s", p->status_path);
	if (p->status_fd != -1)
		close(p->status_fd);
	if (p->metrics_path != NULL && unlink(p->metrics_path) == -1 &&
	    errno != ENOENT)
		log_warn("%s", p->metrics_path);
	for (int i = 0; i < p->nmetrics_fds; i++)
		close(p->metrics_fds[i]);
	free(p->metrics_path);
	free(p->metrics_address);
	for (int id = 0; id < LINK_COUNT; id++)
		for (int side = 0; side < 2; side++)
			if (p->links[id].pending[side] != -1)
				close(p->links[id].pending[side]);
	free(p->status_path);
	ob_config_free(p->cfg);
}

int
parent_run(struct parent *p)
{
	size_t ninstances = 0;

	children_init(p);
	p->generation = 1;
	if (preflight(p) == -1) {
		cleanup(p);
		return 1;
	}
	if (start_children(p) == -1)
		children_stop(p, 1);
	else {
		for (size_t i = 0; i < p->cfg->nservices; i++)
			ninstances += p->cfg->services[i].ninstances;
		log_info("running: %zu service(s), %zu instance(s)",
		    p->cfg->nservices, ninstances);
	}
	if (!p->stopping || !children_all_down(p))
		event_base_dispatch(p->base);
	cleanup(p);
	if (p->exit_status == 0)
		log_info("stopped");
	return p->exit_status;
}

/*
 * New keys: a new keyd reads them while the old one keeps serving; only
 * if the new one has every key, and the identity checks pass, does it
 * replace the old one.  Otherwise the old keyd and config stay.
 */
static int
replace_keyd(struct parent *p, struct ob_config *next)
{
	struct child *keyd = &p->children[ROLE_KEYD];
	struct child fresh = *keyd;
	pid_t old = keyd->pid;
	char err[1024];

	fresh.ch.fd = -1;
	fresh.ch.rbuf = NULL;
	fresh.ev_read = NULL;
	if (keyd_start(p, &fresh, next, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the old configuration", err);
		return -1;	/* fresh's pid is reaped as a retired one */
	}
	evtimer_del(keyd->ev_restart);
	if (keyd->ev_read != NULL)
		event_free(keyd->ev_read);
	ipc_channel_close(&keyd->ch);
	if (old != -1)		/* reaped as a retired process */
		kill(old, SIGTERM);
	keyd->pid = fresh.pid;
	keyd->ch = fresh.ch;
	keyd->ev_read = NULL;
	keyd->state = CHILD_RUNNING;
	keyd->started_ms = fresh.started_ms;
	child_watch(keyd);
	links_give(p, ROLE_KEYD);
	log_info("keyd restarted with the new keys (pid %ld)",
	    (long)keyd->pid);
	return 0;
}

/* The same key files: the identities carry over (and are checked again). */
static int
carry_identities(struct parent *p, struct ob_config *next)
{
	char err[1024];

	for (size_t i = 0; i < next->nservices; i++)
		if (ob_config_set_identity(next, i,
		    p->cfg->services[i].identity, err, sizeof(err)) == -1) {
			log_warnx("reload: %s; keeping the old configuration",
			    err);
			return -1;
		}
	return 0;
}

static bool
same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

int
parent_reload(struct parent *p, struct ob_config *next)
{
	const char *oldsock = p->status_path, *newsock =
	    next->status_socket_path;

	if (parent_keys_changed(p, next)) {
		if (replace_keyd(p, next) == -1)
			return -1;
	} else if (carry_identities(p, next) == -1)
		return -1;
	if ((oldsock == NULL) != (newsock == NULL) || (oldsock != NULL &&
	    strcmp(oldsock, newsock) != 0))
		log_warnx("reload: status-socket-location changes only at a "
		    "restart of onionbalanced");
	/* against what was opened at the start */
	if (!same_string(p->metrics_path, next->metrics_socket_path) ||
	    !same_string(p->metrics_address, next->metrics_address) ||
	    (next->metrics_address != NULL &&
	    p->metrics_port != next->metrics_port))
		log_warnx("reload: metrics-location changes only at a "
		    "restart of onionbalanced");
	ob_config_free(p->cfg);
	p->cfg = next;
	record_key_ids(p);
	log_set_level(p->cfg->log_level);
	p->generation++;
	for (int r = ROLE_FETCHD; r < ROLE_COUNT; r++) {
		struct child *c = &p->children[r];

		if (c->state != CHILD_STARTING && c->state != CHILD_RUNNING)
			continue;
		if (parent_send_config(c, p->cfg, p->generation) == -1)
			child_lost(c, "did not take the new configuration");
	}
	log_info("reload: configuration %u sent", p->generation);
	return 0;
}

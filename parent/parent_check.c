/*
 * onionbalanced --check: everything a start needs, checked without
 * starting: the config, each key file (readable by us, not by others),
 * the keys themselves (each read by a short-lived keyd, so the parent
 * still never reads key bytes), the children's binaries, tor's control port
 * with authentication, and the status socket's directory.  One line per
 * check on stdout, then a verdict; exit 1 if anything failed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "onion_address.h"
#include "parent.h"

struct check {
	int	problems;
	int	warnings;
};

enum verdict { CHECK_OK, CHECK_WARN, CHECK_FAIL };

static void OB_PRINTF(3, 4)
say(struct check *ck, enum verdict v, const char *fmt, ...)
{
	static const char *const tags[] = { "ok     ", "warning", "FAIL   " };
	va_list ap;

	if (v == CHECK_FAIL)
		ck->problems++;
	else if (v == CHECK_WARN)
		ck->warnings++;
	printf("%s  ", tags[v]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Returns 0 if keyd will be able to read the file. */
static int
check_key_file(struct check *ck, const struct ob_config *cfg, size_t i)
{
	const char *path = cfg->services[i].key_path;
	char err[1024];
	struct stat st;
	int fd;

	if ((fd = parent_key_open(cfg, i, err, sizeof(err))) == -1) {
		say(ck, CHECK_FAIL, "%s", err);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		say(ck, CHECK_FAIL, "services[%zu].key: %s: %s", i, path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		say(ck, CHECK_WARN, "services[%zu].key: %s has mode %04o: "
		    "others than its owner may read the master key "
		    "(chmod 600 %s)", i, path, (unsigned)(st.st_mode & 07777),
		    path);
	else
		say(ck, CHECK_OK, "services[%zu].key: %s readable, mode %04o",
		    i, path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static void
say_fail(void *arg, const char *msg)
{
	say(arg, CHECK_FAIL, "%s", msg);
}

/*
 * Each key read by a keyd of its own, as at a start, so that every bad
 * key and every instance that is its own frontend is named.
 */
static void
check_keys(struct check *ck, struct parent *p)
{
	char addr[ONION_ADDRESS_LEN + 1];

	if (keyd_check_keys_report(p, p->cfg, say_fail, ck) > 0)
		return;
	for (size_t i = 0; i < p->cfg->nservices; i++) {
		onion_address_from_pubkey(addr, p->cfg->services[i].identity);
		say(ck, CHECK_OK, "services[%zu]: frontend %s.onion", i, addr);
	}
}

static void
check_binaries(struct check *ck, const struct parent *p)
{
	char path[4096];

	for (int r = 0; r < ROLE_COUNT; r++) {
		if (child_binary_path(p, (enum child_role)r, path,
		    sizeof(path)) == -1)
			say(ck, CHECK_FAIL, "%s: %s", path, strerror(errno));
		else
			say(ck, CHECK_OK, "%s is executable", path);
	}
}

static void
check_tor(struct check *ck, const struct ob_config *cfg)
{
	struct control_target t;
	char err[1024];
	int fd;

	control_target_from_config(&t, cfg);
	if ((fd = control_open(&t, err, sizeof(err))) == -1) {
		say(ck, CHECK_FAIL, "%s", err);
		return;
	}
	close(fd);
	say(ck, CHECK_OK, "tor control: connected and authenticated");
}

/* what: "status socket" or "metrics socket". */
static void
check_socket_dir(struct check *ck, const char *what, const char *path)
{
	char copy[4096];
	const char *dir;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK) == -1)
		say(ck, CHECK_FAIL, "%s %s: cannot create it in %s: %s", what,
		    path, dir, strerror(errno));
	else
		say(ck, CHECK_OK, "%s %s: directory writable", what, path);
}

int
parent_check(struct parent *p)
{
	struct check ck = { 0, 0 };
	char err[1024];
	size_t ninstances = 0;
	int keys_ok = 0;

	if (parent_config_load(p->config_path, &p->ov, &p->cfg, err,
	    sizeof(err)) == -1) {
		say(&ck, CHECK_FAIL, "%s", err);
		printf("onionbalanced --check: 1 problem\n");
		return 1;
	}
	/* The level a start would use (file, environment, -v). */
	log_set_level(p->cfg->log_level);
	for (size_t i = 0; i < p->cfg->nservices; i++)
		ninstances += p->cfg->services[i].ninstances;
	if (p->cfg->nwarnings > 0)
		say(&ck, CHECK_WARN, "%s: %zu service(s), %zu instance(s); "
		    "%u unknown key(s) ignored (each named in a warning)",
		    p->config_path, p->cfg->nservices, ninstances,
		    p->cfg->nwarnings);
	else
		say(&ck, CHECK_OK, "%s: %zu service(s), %zu instance(s)",
		    p->config_path, p->cfg->nservices, ninstances);
	for (size_t i = 0; i < p->cfg->nservices; i++)
		keys_ok += check_key_file(&ck, p->cfg, i) == 0;
	check_binaries(&ck, p);
	if ((size_t)keys_ok == p->cfg->nservices && ck.problems == 0)
		check_keys(&ck, p);
	check_tor(&ck, p->cfg);
	if (p->cfg->status_socket_path != NULL)
		check_socket_dir(&ck, "status socket",
		    p->cfg->status_socket_path);
	if (p->cfg->metrics_socket_path != NULL)
		check_socket_dir(&ck, "metrics socket",
		    p->cfg->metrics_socket_path);
	if (ck.problems > 0)
		printf("onionbalanced --check: %d problem(s)\n", ck.problems);
	else
		printf("onionbalanced --check: OK%s\n", ck.warnings ?
		    " (with warnings)" : "");
	ob_config_free(p->cfg);
	p->cfg = NULL;
	return ck.problems > 0 ? 1 : 0;
}

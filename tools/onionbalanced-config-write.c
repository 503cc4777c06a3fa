/*
 * onionbalanced-config: the files it writes, and writing them.
 *
 * Below the output directory:
 *   config.yaml            Onionbalance's layout, byte for byte as
 *                          onionbalance-config (PyYAML) writes it
 *   <frontend>.key         each frontend's master key, mode 0600
 *   <instance>/torrc       the lines a backend's torrc needs
 *   <instance>/ob_config   the file tor reads from that HiddenServiceDir
 *   README                 where each file goes, step by step
 *
 * Every file and folder is created with O_EXCL / mkdir, so nothing that
 * exists is ever replaced, and is remembered, so that a failure part-way
 * removes all of it again.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onionbalanced-config.h"

/* What this run created, in order, so that it can be removed again. */
struct written {
	char	*path;
	int	 is_dir;
};
static struct written	*written;
static size_t		 nwritten;

char *
cfggen_path(const char *dir, const char *name)
{
	size_t dlen = strlen(dir);
	char *p;

	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (asprintf(&p, "%.*s/%s", (int)dlen, dir, name) == -1)
		err(1, "asprintf");
	return p;
}

static void
remember(char *path, int is_dir)
{
	struct written *w;

	if ((w = reallocarray(written, nwritten + 1, sizeof(*w))) == NULL)
		err(1, "reallocarray");
	written = w;
	written[nwritten].path = path;
	written[nwritten].is_dir = is_dir;
	nwritten++;
}

void
cfggen_written_remove(void)
{
	while (nwritten > 0) {
		struct written *w = &written[--nwritten];

		if ((w->is_dir ? rmdir(w->path) : unlink(w->path)) == -1)
			warn("cannot remove %s", w->path);
		free(w->path);
	}
	free(written);
	written = NULL;
}

void
cfggen_written_forget(void)
{
	while (nwritten > 0)
		free(written[--nwritten].path);
	free(written);
	written = NULL;
}

static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		err(1, "strdup");
	return p;
}

/*
 * Like mkdir -p; remembers the directories it made.  The output directory
 * itself is made 0700: it holds the master keys until they are moved.
 */
static int
make_output_dir(const char *output)
{
	char *path = xstrdup(output), *p;
	struct stat st;
	int last;

	for (p = path + 1, last = 0; !last; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = (*p == '\0' || p[strspn(p, "/")] == '\0');
		*p = '\0';
		if (mkdir(path, last ? 0700 : 0755) == 0)
			remember(xstrdup(path), 1);
		else if (errno != EEXIST) {
			warn("cannot create output directory %s", path);
			free(path);
			return -1;
		}
		if (!last)
			*p = '/';
	}
	free(path);
	if (stat(output, &st) == -1 || !S_ISDIR(st.st_mode)) {
		warnx("output %s exists and is not a directory", output);
		return -1;
	}
	if (access(output, W_OK | X_OK) == -1) {
		warn("output directory %s is not writable", output);
		return -1;
	}
	return 0;
}

/*
 * Text is built in a memory stream; running out of memory in this small
 * tool is not worth a recovery path.
 */
struct text {
	FILE	*f;
	char	*buf;
	size_t	 len;
};

static void
text_open(struct text *t)
{
	if ((t->f = open_memstream(&t->buf, &t->len)) == NULL)
		err(1, "open_memstream");
}

static char *
text_close(struct text *t, size_t *len)
{
	if (ferror(t->f) || fclose(t->f) == EOF)
		errx(1, "out of memory");
	if (len != NULL)
		*len = t->len;
	return t->buf;
}

/*
 * Onionbalance's layout: PyYAML's safe_dump of {"services": [...]}, keys
 * sorted ("instances" before "key"), block style, after one comment line.
 * Names and addresses never need quoting (see cfggen_check_tag()).
 */
char *
cfggen_config_text(const struct cfggen *cfg, size_t *len)
{
	const struct cfggen_service *svc;
	const struct cfggen_instance *inst;
	struct text t;
	size_t i, j;

	text_open(&t);
	fprintf(t.f, "# Onionbalance Config File\nservices:\n");
	for (i = 0; i < cfg->nservices; i++) {
		svc = &cfg->services[i];
		fprintf(t.f, "- instances:\n");
		for (j = 0; j < svc->ninstances; j++) {
			inst = &svc->instances[j];
			fprintf(t.f, "  - address: %s\n    name: %s\n",
			    inst->has_address ? inst->address :
			    CFGGEN_PLACEHOLDER, inst->name);
		}
		fprintf(t.f, "  key: %s.key\n", svc->address);
	}
	return text_close(&t, len);
}

static char *
torrc_text(const struct cfggen *cfg, const struct cfggen_service *svc,
    const struct cfggen_instance *inst, size_t *len)
{
	struct text t;

	text_open(&t);
	if (inst->has_address)
		fprintf(t.f, "# This instance is %s.onion: if its tor serves "
		    "it already,\n# keep its HiddenServiceDir instead of the "
		    "one below.\n", inst->address);
	fprintf(t.f,
	    "# Instance %s of the onion service %s.onion,\n"
	    "# written by onionbalanced-config.  Put the file ob_config of "
	    "this folder\n"
	    "# into the HiddenServiceDir below first (see ../README), then "
	    "add these\n"
	    "# lines to the torrc of this instance's tor.\n"
	    "HiddenServiceDir %s/%s\n"
	    "HiddenServicePort %u %s\n"
	    "HiddenServiceOnionBalanceInstance 1\n",
	    inst->name, svc->address, cfg->hs_dir_base, inst->folder,
	    (unsigned int)svc->virtual_port, svc->target);
	return text_close(&t, len);
}

/* The file tor reads from the HiddenServiceDir (tor's hs_ob.c). */
static char *
ob_config_text(const struct cfggen_service *svc, size_t *len)
{
	struct text t;

	text_open(&t);
	fprintf(t.f, "MasterOnionAddress %s.onion\n", svc->address);
	return text_close(&t, len);
}

/* Whether some instance has (want 1) or lacks (want 0) an address. */
static int
some_instance_has_address(const struct cfggen *cfg, int want)
{
	size_t i, j;

	for (i = 0; i < cfg->nservices; i++)
		for (j = 0; j < cfg->services[i].ninstances; j++)
			if (cfg->services[i].instances[j].has_address == want)
				return 1;
	return 0;
}

static void
readme_files(FILE *f, const struct cfggen *cfg)
{
	const struct cfggen_service *svc;
	size_t i, j;

	fprintf(f, "Where each file goes\n--------------------\n\n"
	    "The management host (the one that runs onionbalanced or "
	    "Onionbalance):\n\n  %s\n", CFGGEN_CONFIG_NAME);
	for (i = 0; i < cfg->nservices; i++)
		fprintf(f, "  %s.key\n      the master key of that frontend: "
		    "secret; keep it mode 0600, readable\n      only by the "
		    "user that starts onionbalanced\n",
		    cfg->services[i].address);
	fprintf(f, "\nThe backend hosts, one instance folder each "
	    "(with its files torrc and ob_config):\n\n");
	for (i = 0; i < cfg->nservices; i++) {
		svc = &cfg->services[i];
		for (j = 0; j < svc->ninstances; j++)
			fprintf(f, "  %s/\n      instance %s of %s.onion%s%s\n",
			    svc->instances[j].folder, svc->instances[j].name,
			    svc->address,
			    svc->instances[j].has_address ? ",\n      address " :
			    "",
			    svc->instances[j].has_address ?
			    svc->instances[j].address : "");
	}
}

static void
readme_backend_steps(FILE *f, const struct cfggen *cfg)
{
	const struct cfggen_service *svc;
	size_t i, j;

	fprintf(f, "\nOn each backend host\n--------------------\n\n"
	    "Copy its instance folder there.  As root, in that folder "
	    "(Debian's tor runs\nas the user debian-tor; use the user and "
	    "torrc of your system's tor):\n\n"
	    "1. Make the HiddenServiceDir and put ob_config into it (tor "
	    "refuses to start\n   if HiddenServiceOnionBalanceInstance is "
	    "set and ob_config is missing):\n\n");
	for (i = 0; i < cfg->nservices; i++) {
		svc = &cfg->services[i];
		for (j = 0; j < svc->ninstances; j++)
			fprintf(f, "   %s:\n"
			    "     install -d -o debian-tor -g debian-tor "
			    "-m 700 %s/%s\n"
			    "     install -o debian-tor -g debian-tor -m 600 "
			    "ob_config %s/%s/\n", svc->instances[j].folder,
			    cfg->hs_dir_base, svc->instances[j].folder,
			    cfg->hs_dir_base, svc->instances[j].folder);
	}
	if (some_instance_has_address(cfg, 1))
		fprintf(f, "\n   An instance whose address you gave is an "
		    "onion service that exists: use\n   its HiddenServiceDir "
		    "instead, in its torrc and here.\n");
	fprintf(f, "\n2. Add the lines of the folder's torrc file to "
	    "/etc/tor/torrc and reload tor:\n\n"
	    "     systemctl reload tor\n\n"
	    "3. tor logs (at notice level) \"OnionBalance: "
	    "MasterOnionAddress <frontend>.onion\n   registered\".  If it "
	    "does not, check steps 1 and 2.\n\n"
	    "4. The instance's own onion address is in the file hostname "
	    "of its\n   HiddenServiceDir (%s/<folder>/hostname).\n",
	    cfg->hs_dir_base);
}

static void
readme_manager_steps(FILE *f, const struct cfggen *cfg)
{
	fprintf(f, "\nOn the management host\n----------------------\n\n");
	if (some_instance_has_address(cfg, 0))
		fprintf(f, "5. config.yaml has the placeholder \"%s\"\n"
		    "   where an instance's address was not known: replace "
		    "each with the address\n   from step 4 (the folder list "
		    "above says which instance is which).\n",
		    CFGGEN_PLACEHOLDER);
	else
		fprintf(f, "5. config.yaml lists every instance's address "
		    "already.\n");
	fprintf(f, "\n6. The tor on this host needs a control port, e.g. "
	    "in its torrc:\n\n"
	    "     ControlPort 127.0.0.1:9051\n"
	    "     CookieAuthentication 1\n\n"
	    "7. Start onionbalanced with this config:\n\n"
	    "     onionbalanced -c config.yaml\n\n"
	    "   (Onionbalance reads the same files: onionbalance -c "
	    "config.yaml)\n\n"
	    "Clients reach each frontend once its descriptor is published; "
	    "see\nonionbalanced-config(1) and docs/tutorial.md.\n");
}

static char *
readme_text(const struct cfggen *cfg, size_t *len)
{
	struct text t;

	text_open(&t);
	fprintf(t.f, "Written by onionbalanced-config\n"
	    "===============================\n\n");
	readme_files(t.f, cfg);
	readme_backend_steps(t.f, cfg);
	readme_manager_steps(t.f, cfg);
	return text_close(&t, len);
}

/* Refuses, before anything is written, a name that exists already. */
static int
check_absent(const char *dir, const char *name)
{
	char *path = cfggen_path(dir, name);
	struct stat st;
	int ret = -1;

	if (lstat(path, &st) == 0) {
		if (strcmp(name, CFGGEN_CONFIG_NAME) == 0)
			warnx("output directory %s already contains %s: "
			    "refusing to overwrite it; move it away or choose "
			    "another --output", dir, name);
		else
			warnx("%s already exists: refusing to overwrite it; "
			    "move it away or choose another --output", path);
	} else if (errno != ENOENT)
		warn("cannot check %s", path);
	else
		ret = 0;
	free(path);
	return ret;
}

static int
check_all_absent(const struct cfggen *cfg)
{
	char name[ONION_ADDRESS_LEN + sizeof(".key")];
	size_t i, j;

	if (check_absent(cfg->output, CFGGEN_CONFIG_NAME) == -1 ||
	    check_absent(cfg->output, CFGGEN_README_NAME) == -1)
		return -1;
	for (i = 0; i < cfg->nservices; i++) {
		snprintf(name, sizeof(name), "%s.key", cfg->services[i].address);
		if (check_absent(cfg->output, name) == -1)
			return -1;
		for (j = 0; j < cfg->services[i].ninstances; j++)
			if (check_absent(cfg->output,
			    cfg->services[i].instances[j].folder) == -1)
				return -1;
	}
	return 0;
}

/* Creates path exclusively (never through a symlink) and remembers it. */
static int
create_file(char *path, mode_t mode)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		warn("cannot create %s", path);
		free(path);
		return -1;
	}
	remember(path, 0);
	return fd;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Takes ownership of path. */
static int
write_text_file(char *path, const char *text, size_t len, int verbose)
{
	int fd, ret = 0;

	if ((fd = create_file(path, 0644)) == -1)
		return -1;
	if (write_all(fd, text, len) == -1) {
		warn("cannot write %s", path);
		ret = -1;
	}
	if (close(fd) == -1 && ret == 0) {
		warn("cannot write %s", path);
		ret = -1;
	}
	if (ret == 0 && verbose > 1)
		printf("Wrote %s\n", path);
	return ret;
}

/*
 * The key is written in the format it came in: a tor-format key has no
 * seed, so it cannot become PEM, and a PEM key stays one.  The name is
 * Onionbalance's, <address>.key, whatever the format; both programs tell
 * the formats apart by content.
 */
static int
write_key_file(const struct cfggen *cfg, const struct cfggen_service *svc)
{
	char name[ONION_ADDRESS_LEN + sizeof(".key")];
	enum masterkey_error error;
	char *path;
	int fd, ret = 0;

	snprintf(name, sizeof(name), "%s.key", svc->address);
	path = cfggen_path(cfg->output, name);
	if ((fd = create_file(path, 0600)) == -1)
		return -1;
	/* The umask may have taken bits away; the owner must read it. */
	if (fchmod(fd, 0600) == -1) {
		warn("cannot chmod %s", path);
		ret = -1;
	} else if ((error = svc->key->format == MASTERKEY_FORMAT_TOR ?
	    masterkey_write_tor(fd, svc->key) :
	    masterkey_write_pem(fd, svc->key)) != MASTERKEY_OK) {
		if (error == MASTERKEY_ERR_IO)
			warn("cannot write %s", path);
		else
			warnx("cannot write %s: %s", path,
			    masterkey_strerror(error));
		ret = -1;
	} else if (fsync(fd) == -1) {
		warn("cannot write %s", path);
		ret = -1;
	}
	if (close(fd) == -1 && ret == 0) {
		warn("cannot write %s", path);
		ret = -1;
	}
	if (ret == 0 && cfg->verbose > 1)
		printf("Wrote %s (mode 0600)\n", path);
	return ret;
}

static int
write_instance(const struct cfggen *cfg, const struct cfggen_service *svc,
    const struct cfggen_instance *inst)
{
	char *dir, *text;
	size_t len;
	int ret;

	dir = cfggen_path(cfg->output, inst->folder);
	if (mkdir(dir, 0755) == -1) {
		warn("cannot create %s", dir);
		free(dir);
		return -1;
	}
	remember(dir, 1);
	text = torrc_text(cfg, svc, inst, &len);
	ret = write_text_file(cfggen_path(dir, CFGGEN_TORRC_NAME), text, len,
	    cfg->verbose);
	free(text);
	if (ret == -1)
		return -1;
	text = ob_config_text(svc, &len);
	ret = write_text_file(cfggen_path(dir, CFGGEN_OBCONFIG_NAME), text,
	    len, cfg->verbose);
	free(text);
	return ret;
}

static int
write_files(const struct cfggen *cfg, const char *config_text,
    size_t config_len)
{
	char *text;
	size_t i, j, len;
	int ret;

	for (i = 0; i < cfg->nservices; i++)
		if (write_key_file(cfg, &cfg->services[i]) == -1)
			return -1;
	for (i = 0; i < cfg->nservices; i++)
		for (j = 0; j < cfg->services[i].ninstances; j++)
			if (write_instance(cfg, &cfg->services[i],
			    &cfg->services[i].instances[j]) == -1)
				return -1;
	text = readme_text(cfg, &len);
	ret = write_text_file(cfggen_path(cfg->output, CFGGEN_README_NAME),
	    text, len, cfg->verbose);
	free(text);
	if (ret == -1)
		return -1;
	/* Last: a config.yaml is there only when all else is. */
	return write_text_file(cfggen_path(cfg->output, CFGGEN_CONFIG_NAME),
	    config_text, config_len, cfg->verbose);
}

int
cfggen_write_all(const struct cfggen *cfg, const char *config_text,
    size_t config_len)
{
	if (make_output_dir(cfg->output) == -1 ||
	    check_all_absent(cfg) == -1 ||
	    write_files(cfg, config_text, config_len) == -1) {
		cfggen_written_remove();
		return -1;
	}
	return 0;
}

/*
 * onionbalanced-config: writes a configuration for onionbalanced, as
 * Onionbalance's onionbalance-config does (same flags, same config.yaml,
 * same key file names), and also, per instance, the torrc lines and the
 * ob_config file its backend needs.  See onionbalanced-config(1).
 *
 * This file: the command line, the plan (keys loaded or generated,
 * instances named), its checks, and the self-check after writing, which
 * reads everything back with the daemon's own parsers.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "log.h"
#include "masterkey.h"
#include "ob_config.h"
#include "onion_address.h"
#include "onionbalanced-config.h"

/* What the command line asked for, before the plan is made. */
struct options {
	int		 no_interactive;
	int		 nflags;	/* options given, -v not counted */
	size_t		 nservices;
	size_t		 ninstances;
	const char	*tag;
	uint16_t	 port;
	const char	*target;	/* NULL: 127.0.0.1:<port> */
	const char	**keys;
	size_t		 nkeys;
	char		(*addresses)[ONION_ADDRESS_LEN + 1];
	size_t		 naddresses;
};

enum long_only {
	OPT_HS_VERSION = 256,
	OPT_KEY,
	OPT_OUTPUT,
	OPT_NO_INTERACTIVE,
	OPT_VIRTUAL_PORT,
	OPT_TARGET,
	OPT_INSTANCE_ADDRESS,
	OPT_HS_DIR_BASE,
	OPT_VERSION,
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: onionbalanced-config [-h | --help] [--version] "
	    "[--hs-version v3] [--key FILE]\n"
	    "           [-n N] [-s N] [-t | --tag TAG] [--output DIR] "
	    "[--no-interactive]\n"
	    "           [-v LEVEL] "
	    "[--service-virtual-port PORT] [--service-target TARGET]\n"
	    "           [--instance-address ADDR] [--hs-dir-base DIR]\n"
	    "\n"
	    "Writes config.yaml, the frontend master keys and, per instance, "
	    "a folder with\nits torrc lines and ob_config.  Without options "
	    "it asks its questions on\nstdin.  Onionbalance's -p, --password "
	    "(an encrypted key) is refused.\nSee onionbalanced-config(1).\n");
}

static void
push_key(struct options *o, const char *path)
{
	const char **k;

	if ((k = reallocarray(o->keys, o->nkeys + 1, sizeof(*k))) == NULL)
		err(1, "reallocarray");
	o->keys = k;
	o->keys[o->nkeys++] = path;
}

static int
push_address(struct options *o, const char *s)
{
	char (*a)[ONION_ADDRESS_LEN + 1];

	a = reallocarray(o->addresses, o->naddresses + 1, sizeof(*a));
	if (a == NULL)
		err(1, "reallocarray");
	o->addresses = a;
	if (cfggen_parse_address(s, "--instance-address",
	    o->addresses[o->naddresses]) == -1)
		return -1;
	o->naddresses++;
	return 0;
}

static int
set_verbosity(struct cfggen *cfg, const char *name)
{
	int level;

	if ((level = log_level_from_name(name)) == -1) {
		warnx("-v: \"%s\" is not one of debug, info, warning, error, "
		    "critical", cfggen_quote(name));
		return -1;
	}
	log_set_level((enum log_level)level);
	cfg->verbose = level >= LOG_LEVEL_DEBUG ? 2 :
	    level >= LOG_LEVEL_INFO ? 1 : 0;
	return 0;
}

static int
set_output(struct cfggen *cfg, const char *dir)
{
	const char *p;

	if (*dir == '\0') {
		warnx("--output: an empty name is not a directory");
		return -1;
	}
	/* It is printed in messages and README: no line breaks in it. */
	for (p = dir; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			warnx("--output: \"%s\" has a control character",
			    cfggen_quote(dir));
			return -1;
		}
	free(cfg->output);
	if ((cfg->output = strdup(dir)) == NULL)
		err(1, "strdup");
	return 0;
}

/* Onionbalance's -p encrypted v2 keys only; v3 ignored it. */
static int
refuse_password(void)
{
	warnx("-p/--password: encrypted master keys are not supported "
	    "(onionbalance-config ignores -p for v3 too); protect the key file "
	    "with its mode (0600) instead");
	return -1;
}

static int
check_hs_version(const char *v)
{
	if (strcmp(v, "v3") == 0)
		return 0;
	warnx("--hs-version: \"%s\": only v3 onion services exist; tor "
	    "removed v2 in 0.4.6", cfggen_quote(v));
	return -1;
}

/* One option; -1 on a bad value (said), 1 for an option that exits 0. */
static int
parse_option(int ch, const char *arg, struct options *o, struct cfggen *cfg)
{
	switch (ch) {
	case 'h':
		usage(stdout);
		return 1;
	case OPT_VERSION:
		printf("onionbalanced-config %s\n", OB_VERSION);
		return 1;
	case 'n':
		return cfggen_parse_count(arg, OB_CONFIG_MAX_INSTANCES, "-n",
		    &o->ninstances);
	case 's':
		return cfggen_parse_count(arg, OB_CONFIG_MAX_SERVICES, "-s",
		    &o->nservices);
	case 't':
		o->tag = arg;
		return cfggen_check_tag(arg, "--tag");
	case 'p':
		return refuse_password();
	case 'v':
		return set_verbosity(cfg, arg);
	case OPT_HS_VERSION:
		return check_hs_version(arg);
	case OPT_KEY:
		push_key(o, arg);
		return 0;
	case OPT_OUTPUT:
		return set_output(cfg, arg);
	case OPT_NO_INTERACTIVE:
		o->no_interactive = 1;
		return 0;
	case OPT_VIRTUAL_PORT:
		return cfggen_parse_port(arg, "--service-virtual-port",
		    &o->port);
	case OPT_TARGET:
		o->target = arg;
		return cfggen_check_target(arg, "--service-target");
	case OPT_INSTANCE_ADDRESS:
		return push_address(o, arg);
	case OPT_HS_DIR_BASE:
		if (cfggen_check_hs_dir_base(arg, "--hs-dir-base") == -1)
			return -1;
		snprintf(cfg->hs_dir_base, sizeof(cfg->hs_dir_base), "%s",
		    arg);
		return 0;
	case ':':
		warnx("option %s needs a value (see --help)",
		    cfggen_quote(arg));
		return -1;
	default:
		warnx("unknown option %s (see --help)", cfggen_quote(arg));
		return -1;
	}
}

/* 0: go on; 1: done (--help, --version); -1: a bad command line (said). */
static int
parse_command_line(int argc, char *argv[], struct options *o,
    struct cfggen *cfg)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "hs-version", required_argument, NULL, OPT_HS_VERSION },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "password", required_argument, NULL, 'p' },
		{ "tag", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "no-interactive", no_argument, NULL, OPT_NO_INTERACTIVE },
		{ "service-virtual-port", required_argument, NULL,
		    OPT_VIRTUAL_PORT },
		{ "service-target", required_argument, NULL, OPT_TARGET },
		{ "instance-address", required_argument, NULL,
		    OPT_INSTANCE_ADDRESS },
		{ "hs-dir-base", required_argument, NULL, OPT_HS_DIR_BASE },
		{ NULL, 0, NULL, 0 },
	};
	int ch, r;

	/* Our own messages for getopt's errors: one line, our name. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":hn:s:t:p:v:", longopts,
	    NULL)) != -1) {
		if (ch != 'v')
			o->nflags++;
		/* On an error, the word at fault is the last one read. */
		if ((r = parse_option(ch, ch == ':' || ch == '?' ?
		    argv[optind - 1] : optarg, o, cfg)) != 0)
			return r;
	}
	if (optind < argc) {
		warnx("unexpected argument \"%s\" (see --help)",
		    cfggen_quote(argv[optind]));
		return -1;
	}
	return 0;
}

/* The services as the flags describe them; --key and addresses in order. */
static int
plan_from_options(struct cfggen *cfg, const struct options *o)
{
	struct cfggen_service *svc;
	size_t i, j, k = 0;

	if (o->nkeys > o->nservices) {
		warnx("--key: given %zu times for %zu service%s (-s)",
		    o->nkeys, o->nservices, o->nservices == 1 ? "" : "s");
		return -1;
	}
	if (o->naddresses > o->nservices * o->ninstances) {
		warnx("--instance-address: given %zu times for %zu instances "
		    "(-s %zu, -n %zu)", o->naddresses,
		    o->nservices * o->ninstances, o->nservices, o->ninstances);
		return -1;
	}
	if ((cfg->services = calloc(o->nservices, sizeof(*svc))) == NULL)
		err(1, "calloc");
	cfg->nservices = o->nservices;
	for (i = 0; i < cfg->nservices; i++) {
		svc = &cfg->services[i];
		if (i < o->nkeys && (svc->key_source = strdup(o->keys[i])) ==
		    NULL)
			err(1, "strdup");
		snprintf(svc->tag, sizeof(svc->tag), "%s", o->tag);
		cfggen_service_set_port(svc, o->port);
		if (o->target != NULL)
			snprintf(svc->target, sizeof(svc->target), "%s",
			    o->target);
		svc->ninstances = o->ninstances;
		if (cfggen_service_alloc_instances(svc) == -1)
			err(1, "calloc");
		for (j = 0; j < svc->ninstances && k < o->naddresses; j++) {
			memcpy(svc->instances[j].address, o->addresses[k++],
			    ONION_ADDRESS_LEN + 1);
			svc->instances[j].has_address = 1;
		}
	}
	return 0;
}

/*
 * An instance's name is Onionbalance's, <tag><n>.  Its folder (and its
 * HiddenServiceDir on the backend) is the name, with the service number
 * in front when there are several services, whose names repeat.
 */
static void
name_instances(struct cfggen *cfg)
{
	struct cfggen_instance *inst;
	size_t i, j;

	for (i = 0; i < cfg->nservices; i++)
		for (j = 0; j < cfg->services[i].ninstances; j++) {
			inst = &cfg->services[i].instances[j];
			snprintf(inst->name, sizeof(inst->name), "%s%zu",
			    cfg->services[i].tag, j + 1);
			if (cfg->nservices == 1)
				snprintf(inst->folder, sizeof(inst->folder),
				    "%s", inst->name);
			else
				snprintf(inst->folder, sizeof(inst->folder),
				    "service%zu-%s", i + 1, inst->name);
		}
}

/* Says why a key file cannot be opened, with owner and mode for EACCES. */
static void
warn_key_open(const char *path)
{
	int saved_errno = errno;
	struct stat st;

	if (saved_errno == EACCES && stat(path, &st) == 0)
		warnx("cannot read key file %s: %s (owner uid %lu, mode %04o; "
		    "this program runs as uid %lu)", cfggen_quote(path),
		    strerror(saved_errno), (unsigned long)st.st_uid,
		    (unsigned int)(st.st_mode & 07777),
		    (unsigned long)geteuid());
	else {
		errno = saved_errno;
		warn("cannot read key file %s", cfggen_quote(path));
	}
}

static int
read_key_file(struct masterkey *mk, const char *path)
{
	enum masterkey_error error;
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		warn_key_open(path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		warnx("key file %s: not a regular file", cfggen_quote(path));
		close(fd);
		return -1;
	}
	error = masterkey_read_fd(mk, fd);
	close(fd);
	if (error == MASTERKEY_ERR_IO)
		warn("cannot read key file %s", cfggen_quote(path));
	else if (error != MASTERKEY_OK)
		warnx("key file %s: %s", cfggen_quote(path),
		    masterkey_strerror(error));
	return error == MASTERKEY_OK ? 0 : -1;
}

static int
load_keys(struct cfggen *cfg)
{
	struct cfggen_service *svc;
	enum masterkey_error error;
	size_t i;

	for (i = 0; i < cfg->nservices; i++) {
		svc = &cfg->services[i];
		if ((svc->key = masterkey_new()) == NULL)
			errx(1, "out of secure memory");
		if (svc->key_source != NULL) {
			if (read_key_file(svc->key, svc->key_source) == -1)
				return -1;
		} else if ((error = masterkey_generate(svc->key)) !=
		    MASTERKEY_OK) {
			warnx("cannot generate a key: %s",
			    masterkey_strerror(error));
			return -1;
		}
		onion_address_from_pubkey(svc->address, svc->key->pub);
	}
	return 0;
}

static int
check_keys_distinct(const struct cfggen *cfg)
{
	size_t i, k;

	for (i = 0; i < cfg->nservices; i++)
		for (k = 0; k < i; k++)
			if (strcmp(cfg->services[i].address,
			    cfg->services[k].address) == 0) {
				warnx("services %zu and %zu have the same key "
				    "(%s.onion): one frontend, listed twice",
				    k + 1, i + 1, cfg->services[i].address);
				return -1;
			}
	return 0;
}

/*
 * The address of instance j of service i against the frontends and the
 * instances before it.  An address in two services would need one
 * ob_config with two MasterOnionAddress lines, which is a hand edit.
 */
static int
check_instance_address(const struct cfggen *cfg, size_t i, size_t j)
{
	const struct cfggen_instance *inst = &cfg->services[i].instances[j];
	const struct cfggen_instance *other;
	size_t k, l;

	if (strcmp(inst->address, cfg->services[i].address) == 0) {
		warnx("instance %s of service %zu: %s.onion is the frontend's "
		    "own address; an instance is another onion service",
		    inst->name, i + 1, inst->address);
		return -1;
	}
	for (k = 0; k <= i; k++)
		for (l = 0; l < (k == i ? j : cfg->services[k].ninstances);
		    l++) {
			other = &cfg->services[k].instances[l];
			if (!other->has_address ||
			    strcmp(other->address, inst->address) != 0)
				continue;
			if (k == i)
				warnx("instances %s and %s of service %zu have "
				    "the same address %s.onion", other->name,
				    inst->name, i + 1, inst->address);
			else
				warnx("instance %s of service %zu and instance "
				    "%s of service %zu have the same address "
				    "%s.onion; a backend of two frontends needs "
				    "one ob_config naming both, which this tool "
				    "does not write", other->name, k + 1,
				    inst->name, i + 1, inst->address);
			return -1;
		}
	return 0;
}

static int
check_plan(const struct cfggen *cfg)
{
	size_t i, j;

	if (check_keys_distinct(cfg) == -1)
		return -1;
	for (i = 0; i < cfg->nservices; i++)
		for (j = 0; j < cfg->services[i].ninstances; j++)
			if (cfg->services[i].instances[j].has_address &&
			    check_instance_address(cfg, i, j) == -1)
				return -1;
	return 0;
}

/* The key file written for svc reads back as the same key, mode 0600. */
static int
self_check_key(const struct cfggen *cfg, const struct cfggen_service *svc)
{
	char name[ONION_ADDRESS_LEN + sizeof(".key")];
	struct masterkey *mk;
	struct stat st;
	char *path;
	int ret = -1;

	snprintf(name, sizeof(name), "%s.key", svc->address);
	path = cfggen_path(cfg->output, name);
	if ((mk = masterkey_new()) == NULL)
		errx(1, "out of secure memory");
	if (read_key_file(mk, path) == -1)
		goto done;
	if (stat(path, &st) == -1 || (st.st_mode & 07777) != 0600)
		warnx("self-check: %s is not mode 0600", path);
	else if (memcmp(mk->pub, svc->key->pub, sizeof(mk->pub)) != 0 ||
	    mk->format != svc->key->format)
		warnx("self-check: %s does not read back as the key of "
		    "%s.onion", path, svc->address);
	else
		ret = 0;
 done:
	masterkey_free(mk);
	free(path);
	return ret;
}

static int differs(char *msg, size_t msglen, const char *fmt, ...)
    OB_PRINTF(3, 4);

/* Says what differs in msg; returns -1. */
static int
differs(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The parser made "<config dir>/<address>.key" of "key: <address>.key". */
static int
key_path_is(const char *path, const char *address)
{
	size_t len = strlen(path);

	return len > ONION_ADDRESS_LEN + 5 &&
	    path[len - ONION_ADDRESS_LEN - 5] == '/' &&
	    strncmp(path + len - ONION_ADDRESS_LEN - 4, address,
	    ONION_ADDRESS_LEN) == 0 &&
	    strcmp(path + len - 4, ".key") == 0;
}

/* The parsed config has exactly the plan's services and instances. */
static int
self_check_parsed(const struct cfggen *cfg, struct ob_config *parsed,
    char *msg, size_t msglen)
{
	const struct cfggen_instance *inst;
	const struct ob_config_instance *pinst;
	const struct ob_config_service *ps;
	size_t i, j;

	if (parsed->nservices != cfg->nservices)
		return differs(msg, msglen, "%zu services", parsed->nservices);
	for (i = 0; i < cfg->nservices; i++) {
		ps = &parsed->services[i];
		if (ob_config_set_identity(parsed, i,
		    cfg->services[i].key->pub, msg, msglen) == -1)
			return -1;
		if (!key_path_is(ps->key_path, cfg->services[i].address))
			return differs(msg, msglen, "service %zu has the key "
			    "%s", i + 1, ps->key_path);
		if (ps->ninstances != cfg->services[i].ninstances)
			return differs(msg, msglen, "service %zu has %zu "
			    "instances", i + 1, ps->ninstances);
		for (j = 0; j < ps->ninstances; j++) {
			inst = &cfg->services[i].instances[j];
			pinst = &ps->instances[j];
			if (strcmp(pinst->address, inst->address) != 0 ||
			    pinst->name == NULL ||
			    strcmp(pinst->name, inst->name) != 0)
				return differs(msg, msglen, "instance %zu of "
				    "service %zu differs", j + 1, i + 1);
		}
	}
	return 0;
}

/*
 * Reads back what was written, with the daemon's own parsers: each key,
 * and config.yaml when it has no placeholder (which the parser refuses).
 */
static int
self_check(const struct cfggen *cfg, int complete)
{
	struct ob_config *parsed;
	char msg[1024], *path;
	size_t i;
	int ret;

	for (i = 0; i < cfg->nservices; i++)
		if (self_check_key(cfg, &cfg->services[i]) == -1)
			return -1;
	if (!complete)
		return 0;
	path = cfggen_path(cfg->output, CFGGEN_CONFIG_NAME);
	if ((ret = ob_config_load(path, &parsed, msg, sizeof(msg))) == 0) {
		ret = self_check_parsed(cfg, parsed, msg, sizeof(msg));
		ob_config_free(parsed);
	}
	if (ret == -1)
		warnx("self-check of %s failed: %s", path, msg);
	free(path);
	return ret;
}

static int
plan_is_complete(const struct cfggen *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->nservices; i++)
		for (j = 0; j < cfg->services[i].ninstances; j++)
			if (!cfg->services[i].instances[j].has_address)
				return 0;
	return 1;
}

/* What was written and where it goes; README has the steps. */
static void
print_summary(const struct cfggen *cfg, int complete)
{
	const struct cfggen_service *svc;
	char *path;
	size_t i, j;

	printf("Done! Wrote the configuration into %s:\n", cfg->output);
	for (i = 0; i < cfg->nservices; i++) {
		svc = &cfg->services[i];
		printf("  frontend %s.onion\n    key %s.key (%s%s%s)\n",
		    svc->address, svc->address,
		    svc->key_source == NULL ? "new" : "imported from ",
		    svc->key_source == NULL ? "" : svc->key_source,
		    svc->key->format == MASTERKEY_FORMAT_TOR ?
		    ", tor's format" : ", PEM");
		printf("    instance folders:");
		for (j = 0; j < svc->ninstances; j++)
			printf(" %s/", svc->instances[j].folder);
		printf("\n");
	}
	path = cfggen_path(cfg->output, CFGGEN_README_NAME);
	printf("The management host gets %s and the .key file%s; each "
	    "backend host gets\none instance folder.  Step by step: %s\n",
	    CFGGEN_CONFIG_NAME, cfg->nservices == 1 ? "" : "s", path);
	free(path);
	if (!complete)
		printf("The instance addresses are not known yet: in %s,\n"
		    "replace each \"%s\" with one\n(the backends' tor "
		    "writes them into the file hostname of their\n"
		    "HiddenServiceDir).\n", CFGGEN_CONFIG_NAME,
		    CFGGEN_PLACEHOLDER);
}

static void
free_plan(struct cfggen *cfg, struct options *o)
{
	size_t i;

	for (i = 0; i < cfg->nservices; i++) {
		masterkey_free(cfg->services[i].key);
		free(cfg->services[i].key_source);
		free(cfg->services[i].instances);
	}
	free(cfg->services);
	free(cfg->output);
	free(o->keys);
	free(o->addresses);
}

static int
make_plan(struct cfggen *cfg, const struct options *o)
{
	if (o->nflags == 0 && !o->no_interactive) {
		if (cfggen_prompt(cfg, o->ninstances, o->tag) == -1)
			return -1;
	} else if (plan_from_options(cfg, o) == -1)
		return -1;
	name_instances(cfg);
	if (load_keys(cfg) == -1 || check_plan(cfg) == -1)
		return -1;
	return 0;
}

static int
generate(struct cfggen *cfg)
{
	char *text;
	size_t len;
	int complete = plan_is_complete(cfg);

	text = cfggen_config_text(cfg, &len);
	if (cfggen_write_all(cfg, text, len) == -1) {
		free(text);
		return -1;
	}
	free(text);
	if (self_check(cfg, complete) == -1) {
		cfggen_written_remove();
		return -1;
	}
	cfggen_written_forget();
	if (cfg->verbose > 0)
		print_summary(cfg, complete);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct options o = {
		.nservices = CFGGEN_DEFAULT_SERVICES,
		.ninstances = CFGGEN_DEFAULT_INSTANCES,
		.tag = CFGGEN_DEFAULT_TAG,
		.port = CFGGEN_DEFAULT_PORT,
	};
	struct cfggen cfg = { .verbose = 1 };
	int r, status = 1;

	log_init("onionbalanced-config", LOG_LEVEL_INFO);
	if (sodium_init() < 0)
		errx(1, "sodium_init failed");
	if (argc > 1 && strcmp(argv[1], "add-client") == 0)
		return cfggen_add_client(argc - 1, argv + 1);
	if ((cfg.output = strdup(CFGGEN_DEFAULT_OUTPUT)) == NULL)
		err(1, "strdup");
	snprintf(cfg.hs_dir_base, sizeof(cfg.hs_dir_base), "%s",
	    CFGGEN_DEFAULT_HS_DIR_BASE);
	if ((r = parse_command_line(argc, argv, &o, &cfg)) != 0)
		status = r == 1 ? 0 : 2;
	else if (make_plan(&cfg, &o) == 0 && generate(&cfg) == 0)
		status = 0;
	free_plan(&cfg, &o);
	return status;
}

/*
 * onionbalanced: the parent process.  It parses the command line and the
 * config, opens what the children may not open (key files, tor control
 * connections, the status socket), spawns keyd, fetchd and publishd,
 * restarts a child that dies, reloads on SIGHUP and stops everything on
 * SIGTERM or SIGINT.  See parent.h for the files and docs/operations.md
 * for the behaviour.
 */
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "parent.h"
#include "status_client.h"

enum long_only_opt {
	OPT_VERSION = 256,
	OPT_IS_TESTNET,
	OPT_HS_VERSION,
	OPT_CHECK,
	OPT_LIBEXECDIR,
	OPT_BACKOFF_MS,
	OPT_CHROOT_DIR,
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: onionbalanced [-c config.yaml] [-i address] [-p port]\n"
	    "                     [-s control-socket] [-v level] [--check]"
	    " [--is-testnet]\n"
	    "                     [--hs-version v3]\n"
	    "       onionbalanced status [-c config.yaml] [-s status-socket]"
	    " [--json]\n"
	    "                            [--watch[=SECONDS]]\n"
	    "       onionbalanced --version | --help\n"
	    "\n"
	    "  -c, --config FILE     config file (default $ONIONBALANCE_CONFIG,"
	    " else config.yaml)\n"
	    "  -i, --ip ADDRESS      tor control port address (default"
	    " 127.0.0.1)\n"
	    "  -p, --port PORT       tor control port (default 9051)\n"
	    "  -s, --socket PATH     tor control socket, tried before the port"
	    "\n"
	    "                        (default $ONIONBALANCE_TOR_CONTROL_SOCKET,"
	    " else\n"
	    "                        /var/run/tor/control; \"\": TCP only)\n"
	    "  -v, --verbosity LEVEL debug, info, warning (default), error\n"
	    "      --check           check the config, the keys and their"
	    " permissions, and\n"
	    "                        tor's control port with authentication;"
	    " print a verdict;\n"
	    "                        exit 1 on a problem; start nothing\n"
	    "      --is-testnet      accepted for Onionbalance; not needed\n"
	    "      --hs-version v3   accepted for Onionbalance (v3 is the only"
	    " one)\n"
	    "      --version         print the version\n"
	    "  -h, --help            print this\n"
	    "      --libexecdir DIR  run keyd, fetchd and publishd from DIR"
	    " (tests, demo)\n"
	    "      --restart-backoff-ms MS  first restart delay (tests;"
	    " default 1000)\n"
	    "\n"
	    "Environment: ONIONBALANCE_CONFIG, ONIONBALANCE_LOG_LEVEL,\n"
	    "ONIONBALANCE_STATUS_SOCKET_LOCATION,"
	    " ONIONBALANCE_TOR_CONTROL_SOCKET.\n"
	    "The config is Onionbalance's config.yaml; our additional keys"
	    " (log-level,\n"
	    "tor-control-*, fetch-interval, *-user) are in onionbalanced(8)"
	    " and\n"
	    "/usr/share/doc/onionbalanced/configuration.md.\n"
	    "Signals: SIGHUP reloads the config, SIGTERM/SIGINT stop.\n");
}

static int
parse_port(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

static int
parse_level(const char *s)
{
	/* Onionbalance's -v also takes "critical". */
	if (strcasecmp(s, "critical") == 0)
		return LOG_LEVEL_ERROR;
	return log_level_from_name(s);
}

/*
 * The level while the config loads: -v, else the environment, which
 * beats the file anyway (ob_config.h); so "ONIONBALANCE_LOG_LEVEL=error"
 * hides the config's warnings too.  A bad value is the loader's error.
 */
static enum log_level
first_level(const struct parent *p)
{
	const char *env = getenv("ONIONBALANCE_LOG_LEVEL");
	int level;

	if (p->ov.log_level >= 0)
		return (enum log_level)p->ov.log_level;
	if (env != NULL && (level = parse_level(env)) != -1)
		return (enum log_level)level;
	return OB_CONFIG_DEFAULT_LOG_LEVEL;
}

static void
bad_arg(const char *opt, const char *value, const char *want)
{
	fprintf(stderr, "onionbalanced: %s: \"%.80s\" is not %s\n", opt,
	    value, want);
	exit(2);
}

/* Handles one option; returns 1 to run --check, 0 otherwise. */
static int
handle_option(struct parent *p, int ch)
{
	uint8_t addr[16];

	switch (ch) {
	case 'c':
		p->config_path = optarg;
		return 0;
	case 'i':
		/* A usage error like any bad flag (2), not a config one. */
		if (inet_pton(AF_INET, optarg, addr) != 1 &&
		    inet_pton(AF_INET6, optarg, addr) != 1)
			bad_arg("-i", optarg, "an IPv4 or IPv6 address");
		p->ov.control_address = optarg;
		return 0;
	case 'p':
		if ((p->ov.control_port = parse_port(optarg)) == -1)
			bad_arg("-p", optarg, "a port from 1 to 65535");
		return 0;
	case 's':
		p->ov.control_socket = optarg;
		return 0;
	case 'v':
		if ((p->ov.log_level = parse_level(optarg)) == -1)
			bad_arg("-v", optarg, "debug, info, warning or error");
		return 0;
	case OPT_VERSION:
		printf("onionbalanced %s\n", OB_VERSION);
		exit(0);
	case OPT_IS_TESTNET:
		/* Intervals come from the consensus: nothing to switch. */
		return 0;
	case OPT_HS_VERSION:
		/* Onionbalance 0.2.x's flag; "v3" is its only choice too. */
		if (strcmp(optarg, "v3") != 0)
			bad_arg("--hs-version", optarg, "v3");
		return 0;
	case OPT_CHECK:
		return 1;
	case OPT_LIBEXECDIR:
		if (strlen(optarg) >= sizeof(p->libexecdir))
			bad_arg("--libexecdir", optarg, "a shorter path");
		snprintf(p->libexecdir, sizeof(p->libexecdir), "%s", optarg);
		return 0;
	case OPT_BACKOFF_MS:
		if ((p->backoff_min_ms = (unsigned)parse_port(optarg)) ==
		    (unsigned)-1)
			bad_arg("--restart-backoff-ms", optarg, "1 to 65535");
		return 0;
	case OPT_CHROOT_DIR:
		p->chroot_dir = optarg;
		return 0;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		/* parse_args() said which word. */
		exit(2);
	}
}

/* Returns 1 for --check. */
static int
parse_args(struct parent *p, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "ip", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "verbosity", required_argument, NULL, 'v' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "is-testnet", no_argument, NULL, OPT_IS_TESTNET },
		{ "hs-version", required_argument, NULL, OPT_HS_VERSION },
		{ "check", no_argument, NULL, OPT_CHECK },
		/* For tests and the demo: children from a build directory. */
		{ "libexecdir", required_argument, NULL, OPT_LIBEXECDIR },
		/* For tests: the first restart delay (default 1000). */
		{ "restart-backoff-ms", required_argument, NULL,
		    OPT_BACKOFF_MS },
		/* For tests: the children's empty root (as root). */
		{ "chroot-dir", required_argument, NULL, OPT_CHROOT_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, check = 0;

	/* Our own one-line messages for getopt's errors, as for the rest. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:i:p:s:v:h", longopts,
	    NULL)) != -1) {
		/* On an error, the word at fault is the last one read. */
		if (ch == ':' || ch == '?')
			fprintf(stderr, "onionbalanced: %s \"%.80s\" (see "
			    "--help)\n", ch == ':' ? "a value is missing after"
			    : "unknown option", argv[optind - 1]);
		check |= handle_option(p, ch);
	}
	if (optind != argc) {
		fprintf(stderr, "onionbalanced: unexpected argument \"%.80s\" "
		    "(options start with -; see --help)\n", argv[optind]);
		exit(2);
	}
	return check;
}

/* Children and socketpairs must never land on fds 0-2. */
static void
keep_std_fds_open(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", O_RDWR) != fd)
			exit(1);
}

static void
reload_config(struct parent *p)
{
	struct ob_config *next;
	char err[1024];

	log_info("SIGHUP: reloading %s", p->config_path);
	if (parent_config_load(p->config_path, &p->ov, &next, err,
	    sizeof(err)) == -1) {
		log_warnx("%s; keeping the old configuration", err);
		return;
	}
	if (parent_reload(p, next) == -1)
		ob_config_free(next);
}

static void
signal_cb(int sig, short what, void *arg)
{
	struct parent *p = arg;

	switch (sig) {
	case SIGCHLD:
		children_reap(p);
		break;
	case SIGHUP:
		if (!p->stopping)
			reload_config(p);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" :
		    "SIGINT");
		children_stop(p, 0);
		break;
	default:
		break;
	}
}

static void
setup_signals(struct parent *p)
{
	static const int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT };
	struct event *ev;

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if ((ev = evsignal_new(p->base, sigs[i], signal_cb, p)) ==
		    NULL || event_add(ev, NULL) == -1)
			fatalx("evsignal_new");
}

int
main(int argc, char *argv[])
{
	static struct parent p;
	char err[1024];
	int check;

	keep_std_fds_open();
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_client_main(argc - 1, argv + 1);
	p.ov.log_level = -1;
	p.status_fd = -1;
	p.backoff_min_ms = RESTART_MIN_MS;
	snprintf(p.libexecdir, sizeof(p.libexecdir), "%s", OB_LIBEXECDIR);
	p.chroot_dir = OB_CHROOT_DIR;
	check = parse_args(&p, argc, argv);
	log_init("onionbalanced", first_level(&p));
	if (p.config_path == NULL)
		p.config_path = ob_config_default_path();
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (check)
		return parent_check(&p);
	if (parent_config_load(p.config_path, &p.ov, &p.cfg, err,
	    sizeof(err)) == -1) {
		log_errorx("%s", err);
		return 1;
	}
	log_set_level(p.cfg->log_level);
	if ((p.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	setup_signals(&p);
	return parent_run(&p);
}

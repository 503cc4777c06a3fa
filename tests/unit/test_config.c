/*
 * The config parser against golden files in tests/data/config: the
 * examples of Onionbalance's documentation and the file its generator
 * writes parse into the expected struct; every error file gives exactly
 * its one-line message; unknown keys warn with their line; the
 * environment overrides as in Onionbalance; a failed reload keeps the
 * old config.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ob_config.h"
#include "onion_address.h"
#include "test.h"

#define ADDR_A	"k6udx3rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjskjwad"
#define PK_A	"57a83bee3278484659c1ea13c12a0c92279fefd56a65b2b389f67ddeb9ae9a64"
#define ADDR_B	"le5tsbi4izbr7pzfxabhcrfwe5jokzdpkvwgucbfh4rhf5r2fi3hgvid"
#define PK_B	"593b39051c46431fbf25b8027144b62752e5646f556c6a08253f2272f63a2a36"
#define ADDR_C	"cfehrmlk7fkfvbmwwtyegs3pvgg4vx26lj7reqizkp3j4s7ek7dqo2yd"
#define PK_C	"114878b16af9545a8596b4f0434b6fa98dcadf5e5a7f12411953f69e4be457c7"
#define ADDR_D	"vqej6pkpsolausp6cjribzket3tay3w37pywwgkbcqaen3nwkwgfn4yd"
#define PK_D	"ac089f3d4f93960a49fe126280e5449ee60c6edbfbf16b1941140046edb6558c"
#define ADDR_E	"wdyko23hf77iec6dmwkhrrgtglclflswbwzttag3c3u3ivdt76vllrid"
#define PK_E	"b0f0a76b672ffe820bc3659478c4d332c4b2ae560db33980db16e9b45473ffaa"
/* The identity point (small order), with a right checksum and version. */
#define ADDR_SMALL_ORDER "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd"

static const char *const env_vars[] = {
	"ONIONBALANCE_CONFIG", "ONIONBALANCE_LOG_LEVEL",
	"ONIONBALANCE_STATUS_SOCKET_LOCATION",
	"ONIONBALANCE_TOR_CONTROL_SOCKET",
};

/*
 * Every test starts in tests/data/config with none of Onionbalance's
 * variables set, so file names in messages are short and fixed.  Returns
 * the working directory as the kernel spells it (for resolved paths).
 */
static const char *
enter_data_dir(void)
{
	static char cwd[PATH_MAX];
	const char *data = getenv("OB_TEST_DATA");
	char dir[PATH_MAX];
	size_t i;

	snprintf(dir, sizeof(dir), "%s/config", data ? data : "tests/data");
	if (chdir(dir) == -1 || getcwd(cwd, sizeof(cwd)) == NULL) {
		perror(dir);
		abort();
	}
	for (i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
	return cwd;
}

static struct ob_config *
load_ok(const char *path)
{
	struct ob_config *cfg = NULL;
	char err[512] = "";

	if (ob_config_load(path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: unexpected error: %s\n", path, err);
		test_failures++;
		return NULL;
	}
	CHECK(cfg != NULL);
	return cfg;
}

/* Loads a file that must fail; the config pointer must stay untouched. */
static void
check_load_error(const char *path, const char *want)
{
	struct ob_config *cfg = (struct ob_config *)&cfg;
	char err[512] = "";

	CHECK_INT_EQ(ob_config_load(path, &cfg, err, sizeof(err)), -1);
	CHECK(cfg == (struct ob_config *)&cfg);
	CHECK(strchr(err, '\n') == NULL);
	CHECK_STR_EQ(err, want);
}

static void
check_instance(const struct ob_config_instance *inst, const char *address,
    const char *pubkey_hex, const char *name, unsigned long line)
{
	CHECK_STR_EQ(inst->address, address);
	CHECK_HEX(inst->pubkey, 32, pubkey_hex);
	if (name == NULL)
		CHECK(inst->name == NULL);
	else
		CHECK_STR_EQ(inst->name, name);
	CHECK_INT_EQ(inst->address_pos.line, line);
}

static void
check_defaults_except_sockets(const struct ob_config *cfg)
{
	CHECK_INT_EQ(cfg->log_level, LOG_LEVEL_WARN);
	CHECK_STR_EQ(cfg->control_address, "127.0.0.1");
	CHECK_INT_EQ(cfg->control_port, 9051);
	CHECK(cfg->control_password == NULL);
	CHECK_INT_EQ(cfg->fetch_interval, 120);
	CHECK_STR_EQ(cfg->keyd_user, "onionbalanced-keyd");
	CHECK_STR_EQ(cfg->fetchd_user, "onionbalanced-fetchd");
	CHECK_STR_EQ(cfg->publishd_user, "onionbalanced-publishd");
}

static void
test_onionbalance_status_socket_doc(void)
{
	const char *cwd = enter_data_dir();
	struct ob_config *cfg;
	char want[PATH_MAX + 100];

	if ((cfg = load_ok("valid/onionbalance-status-socket-doc.yaml")) == NULL)
		return;
	CHECK_STR_EQ(cfg->path, "valid/onionbalance-status-socket-doc.yaml");
	CHECK_STR_EQ(cfg->status_socket_path, "/home/user/test.sock");
	CHECK_INT_EQ(cfg->nservices, 1);
	snprintf(want, sizeof(want), "%s/valid/bvy46sg2b5dokczabwv2pabqlrps3lp"
	    "pweyrebhat6gjieo2avojdvad.key", cwd);
	CHECK_STR_EQ(cfg->services[0].key_path, want);
	CHECK_INT_EQ(cfg->services[0].key_pos.line, 7);
	CHECK_INT_EQ(cfg->services[0].key_pos.column, 8);
	CHECK_INT_EQ(cfg->services[0].ninstances, 1);
	/* Written with ".onion"; kept without. */
	check_instance(&cfg->services[0].instances[0],
	    "vkmiy6biqcyphtx5exswxl5sjus2vn2b6pzir7lz5akudhwbqk5muead",
	    "aa988c782880b0f3cefd25e56bafb24d25aab741f3f288fd79e815419ec182ba",
	    "node1", 5);
	CHECK_INT_EQ(cfg->services[0].instances[0].address_pos.column, 14);
	CHECK(!cfg->services[0].has_identity);
	CHECK_STR_EQ(cfg->control_socket, "/var/run/tor/control");
	check_defaults_except_sockets(cfg);
	ob_config_free(cfg);
}

/* onionbalance-config -n 3 -s 2 -t web, placeholders filled in. */
static void
test_generator_output_filled(void)
{
	const char *cwd = enter_data_dir();
	struct ob_config *cfg;
	const struct ob_config_service *s;
	char want[PATH_MAX + 100];

	if ((cfg = load_ok("valid/generator-filled.yaml")) == NULL)
		return;
	CHECK(cfg->status_socket_path == NULL);
	CHECK_INT_EQ(cfg->nservices, 2);
	s = &cfg->services[0];
	snprintf(want, sizeof(want), "%s/valid/l642a4sbrjhygjxbzpepingaojpu5sh"
	    "jc4lsim3au5cm3pneu54etbid.key", cwd);
	CHECK_STR_EQ(s->key_path, want);
	CHECK_INT_EQ(s->key_pos.line, 10);
	CHECK_INT_EQ(s->ninstances, 3);
	check_instance(&s->instances[0], ADDR_A, PK_A, "web1", 4);
	check_instance(&s->instances[1], ADDR_B, PK_B, "web2", 6);
	check_instance(&s->instances[2], ADDR_C, PK_C, "web3", 8);
	s = &cfg->services[1];
	snprintf(want, sizeof(want), "%s/valid/og5bfjsi56vmkkgqe67jxpadlo66mqm"
	    "sfmabgbncg6olpcjkpau5llad.key", cwd);
	CHECK_STR_EQ(s->key_path, want);
	CHECK_INT_EQ(s->key_pos.line, 18);
	CHECK_INT_EQ(s->ninstances, 3);
	check_instance(&s->instances[0], ADDR_D, PK_D, "web1", 12);
	check_instance(&s->instances[1], ADDR_E, PK_E, "web2", 14);
	/* One backend may serve two frontends. */
	check_instance(&s->instances[2], ADDR_A, PK_A, "web3", 16);
	check_defaults_except_sockets(cfg);
	ob_config_free(cfg);
}

static void
test_all_settings(void)
{
	const char *cwd = enter_data_dir();
	struct ob_config *cfg;
	char want[PATH_MAX + 100];

	if ((cfg = load_ok("valid/all-settings.yaml")) == NULL)
		return;
	CHECK_STR_EQ(cfg->status_socket_path, "/run/onionbalanced/status.sock");
	CHECK_INT_EQ(cfg->log_level, LOG_LEVEL_DEBUG);
	CHECK_STR_EQ(cfg->control_socket, "/run/tor/control");
	CHECK_STR_EQ(cfg->control_address, "127.0.0.2");
	CHECK_INT_EQ(cfg->control_port, 9151);
	CHECK_STR_EQ(cfg->control_password, "correct horse");
	CHECK_INT_EQ(cfg->fetch_interval, 120);
	CHECK_STR_EQ(cfg->keyd_user, "_obkeyd");
	CHECK_STR_EQ(cfg->fetchd_user, "ob-fetchd");
	CHECK_STR_EQ(cfg->publishd_user, "ob_publishd2");
	CHECK_INT_EQ(cfg->nservices, 2);
	/* An absolute key path stays, cleaned of the double slash. */
	CHECK_STR_EQ(cfg->services[0].key_path,
	    "/etc/onionbalanced/frontend.key");
	CHECK_INT_EQ(cfg->services[0].ninstances, 2);
	check_instance(&cfg->services[0].instances[0], ADDR_A, PK_A,
	    "backend-1", 15);
	check_instance(&cfg->services[0].instances[1], ADDR_B, PK_B, NULL, 17);
	/* Relative: against the config file's directory. */
	snprintf(want, sizeof(want), "%s/valid/hs_keys/hs_ed25519_secret_key",
	    cwd);
	CHECK_STR_EQ(cfg->services[1].key_path, want);
	CHECK_INT_EQ(cfg->services[1].ninstances, 1);
	check_instance(&cfg->services[1].instances[0], ADDR_C, PK_C, NULL, 20);
	ob_config_free(cfg);
}

static void
test_flow_style_and_empty_sockets(void)
{
	const char *cwd = enter_data_dir();
	struct ob_config *cfg;
	char want[PATH_MAX + 100];

	if ((cfg = load_ok("valid/flow-style.yaml")) == NULL)
		return;
	/* ".." is kept: it is not ours to resolve across symlinks. */
	snprintf(want, sizeof(want), "%s/valid/../keys/a.key", cwd);
	CHECK_STR_EQ(cfg->services[0].key_path, want);
	CHECK_INT_EQ(cfg->services[0].ninstances, 2);
	check_instance(&cfg->services[0].instances[0], ADDR_A, PK_A, "one", 1);
	check_instance(&cfg->services[0].instances[1], ADDR_B, PK_B, NULL, 1);
	CHECK(cfg->status_socket_path == NULL);
	CHECK(cfg->control_socket == NULL);
	ob_config_free(cfg);
}

/* The same file named three ways resolves its key to the same path. */
static void
test_relative_and_absolute_config_path(void)
{
	const char *cwd = enter_data_dir();
	const char *names[3];
	struct ob_config *cfg;
	char want[PATH_MAX + 100], abs[PATH_MAX + 100];
	size_t i;

	snprintf(want, sizeof(want), "%s/valid/frontend.key", cwd);
	snprintf(abs, sizeof(abs), "%s/valid/minimal.yaml", cwd);
	names[0] = "valid/minimal.yaml";
	names[1] = "./valid//minimal.yaml";
	names[2] = abs;
	for (i = 0; i < 3; i++) {
		if ((cfg = load_ok(names[i])) == NULL)
			continue;
		CHECK_STR_EQ(cfg->path, names[i]);
		CHECK_STR_EQ(cfg->services[0].key_path, want);
		check_instance(&cfg->services[0].instances[0], ADDR_A, PK_A,
		    NULL, 4);
		CHECK(cfg->status_socket_path == NULL);
		CHECK_STR_EQ(cfg->control_socket, "/var/run/tor/control");
		check_defaults_except_sockets(cfg);
		ob_config_free(cfg);
	}
	if (chdir("valid") == -1)
		abort();
	if ((cfg = load_ok("minimal.yaml")) != NULL) {
		CHECK_STR_EQ(cfg->services[0].key_path, want);
		ob_config_free(cfg);
	}
}

/* Relative socket paths: the working directory, as in Onionbalance. */
static void
test_relative_socket_paths(void)
{
	const char *cwd = enter_data_dir();
	struct ob_config *cfg;
	char want[PATH_MAX + 100];

	if ((cfg = load_ok("valid/relative-sockets.yaml")) == NULL)
		return;
	snprintf(want, sizeof(want), "%s/run/status.sock", cwd);
	CHECK_STR_EQ(cfg->status_socket_path, want);
	snprintf(want, sizeof(want), "%s/control", cwd);
	CHECK_STR_EQ(cfg->control_socket, want);
	snprintf(want, sizeof(want), "%s/run/metrics.sock", cwd);
	CHECK_STR_EQ(cfg->metrics_socket_path, want);
	CHECK(cfg->metrics_address == NULL);
	ob_config_free(cfg);
}

#define MINIMAL_SERVICES "services:\n- key: frontend.key\n" \
	"  instances:\n  - address: " ADDR_B "\n"

/* metrics-location: a path and/or a loopback ADDRESS:PORT, off unless set. */
static void
test_metrics_location(void)
{
	static const struct {
		const char *value, *path, *address;
		unsigned port;
	} ok[] = {
		{ "", NULL, NULL, 0 },
		{ "metrics.sock", "metrics.sock", NULL, 0 },
		{ "/run/ob/m.sock", "/run/ob/m.sock", NULL, 0 },
		{ "127.0.0.1:9100", NULL, "127.0.0.1", 9100 },
		{ "127.1.2.3:1", NULL, "127.1.2.3", 1 },
		{ "'[::1]:65535'", NULL, "::1", 65535 },
		{ "[m.sock, 127.0.0.1:9100]", "m.sock", "127.0.0.1", 9100 },
		{ "['[::1]:9100', ./a:1]", "./a:1", "::1", 9100 },
	};
	static const struct {
		const char *value, *why;
	} bad[] = {
		{ "0.0.0.0:9100", "\"0.0.0.0:9100\" is not a loopback address "
		    "(127.0.0.0/8 or [::1]): the metrics have no TLS or "
		    "authentication; put a reverse proxy with TLS and "
		    "authentication in front of a loopback listener" },
		{ "192.168.1.2:9100", "\"192.168.1.2:9100\" is not a loopback" },
		{ "'[::]:9100'", "\"[::]:9100\" is not a loopback" },
		{ "localhost:9100", "\"localhost:9100\" is not ADDRESS:PORT "
		    "with a numeric address" },
		{ "127.0.0.1:0", "\"127.0.0.1:0\": the port is not in "
		    "1..65535" },
		{ "127.0.0.1:70000", "\"127.0.0.1:70000\": the port is not" },
		{ "[a.sock, b.sock]", "more than one unix socket" },
		{ "[127.0.0.1:1, 127.0.0.1:2]", "more than one TCP listener" },
		{ "[a, 127.0.0.1:1, b]", "3 locations, more than the 2 allowed" },
		{ "[]", "the list is empty" },
		{ "{a: b}", "expected a value, found a mapping" },
	};
	struct ob_config *cfg;
	char text[512], err[512], want[400];
	size_t i;
	int n;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		n = snprintf(text, sizeof(text), MINIMAL_SERVICES
		    "metrics-location: %s\n", ok[i].value);
		if (ob_config_parse_buffer(text, (size_t)n, "m.yaml", &cfg,
		    err, sizeof(err)) == -1) {
			fprintf(stderr, "%s: unexpected error: %s\n",
			    ok[i].value, err);
			test_failures++;
			continue;
		}
		if (ok[i].path == NULL)
			CHECK(cfg->metrics_socket_path == NULL);
		else
			CHECK_STR_EQ(cfg->metrics_socket_path, ok[i].path);
		if (ok[i].address == NULL)
			CHECK(cfg->metrics_address == NULL);
		else
			CHECK_STR_EQ(cfg->metrics_address, ok[i].address);
		CHECK_INT_EQ(cfg->metrics_port, ok[i].port);
		ob_config_free(cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = snprintf(text, sizeof(text), MINIMAL_SERVICES
		    "metrics-location: %s\n", bad[i].value);
		CHECK_INT_EQ(ob_config_parse_buffer(text, (size_t)n, "m.yaml",
		    &cfg, err, sizeof(err)), -1);
		/* line 5, the value's column; in a list the item's key */
		snprintf(want, sizeof(want), "m.yaml:5:");
		CHECK(strncmp(err, want, strlen(want)) == 0);
		CHECK(strstr(err, ": metrics-location") != NULL);
		if (strstr(err, bad[i].why) == NULL) {
			fprintf(stderr, "%s: got \"%s\"\n", bad[i].value, err);
			test_failures++;
		}
	}
	/* the full message of the first */
	n = snprintf(text, sizeof(text), MINIMAL_SERVICES
	    "metrics-location: 0.0.0.0:9100\n");
	(void)ob_config_parse_buffer(text, (size_t)n, "m.yaml", &cfg, err,
	    sizeof(err));
	snprintf(want, sizeof(want), "m.yaml:5:19: metrics-location: %s",
	    bad[0].why);
	CHECK_STR_EQ(err, want);
}

/* From a buffer: no file system, no environment, paths as written. */
static void
test_parse_buffer(void)
{
	static const char text[] = "services:\n- key: frontend.key\n"
	    "  instances:\n  - address: " ADDR_B ".onion\n"
	    "status-socket-location: status.sock\n";
	static const struct {
		const char *name, *key_path;
	} cases[] = {
		{ "config.yaml", "frontend.key" },
		{ "etc//ob/config.yaml", "etc/ob/frontend.key" },
		{ "/etc/ob/config.yaml", "/etc/ob/frontend.key" },
		{ "/config.yaml", "/frontend.key" },
	};
	struct ob_config *cfg = NULL;
	char err[512];
	size_t i;

	enter_data_dir();
	setenv("ONIONBALANCE_STATUS_SOCKET_LOCATION", "/env.sock", 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (ob_config_parse_buffer(text, sizeof(text) - 1,
		    cases[i].name, &cfg, err, sizeof(err)) == -1) {
			fprintf(stderr, "unexpected error: %s\n", err);
			test_failures++;
			continue;
		}
		CHECK_STR_EQ(cfg->path, cases[i].name);
		CHECK_STR_EQ(cfg->services[0].key_path, cases[i].key_path);
		CHECK_STR_EQ(cfg->status_socket_path, "status.sock");
		check_instance(&cfg->services[0].instances[0], ADDR_B, PK_B,
		    NULL, 4);
		ob_config_free(cfg);
	}
	unsetenv("ONIONBALANCE_STATUS_SOCKET_LOCATION");
	/* Not NUL-terminated: only len bytes count. */
	CHECK_INT_EQ(ob_config_parse_buffer("services: []garbage", 12, "x",
	    &cfg, err, sizeof(err)), -1);
	CHECK_STR_EQ(err, "x:1:11: services: the list is empty (at least one "
	    "is needed)");
}

/*
 * The liveness settings: defaults, a service's settings inherited by its
 * instances, an instance's own winning, and each bad value named with
 * its line and key.
 */
static void
test_probe_settings(void)
{
	static const char text[] = "probe-interval: 10\nprobe-timeout: 20\n"
	    "services:\n- key: a.key\n  health-check: http\n"
	    "  health-check-path: /healthz\n  instances:\n"
	    "  - address: " ADDR_A "\n  - address: " ADDR_B "\n"
	    "    probe-port: 8080\n    health-check: tcp\n"
	    "- key: b.key\n  probe-port: 443\n  instances:\n"
	    "  - address: " ADDR_C "\n    health-check-path: /up\n";
	static const struct {
		const char *text, *message;
	} bad[] = {
		{ "probe-interval: 3601\n", "x:1:17: probe-interval: \"3601\" "
		    "is not a number from 0 to 3600" },
		{ "probe-timeout: 1\n", "x:1:16: probe-timeout: \"1\" is not "
		    "a number from 2 to 300" },
		{ "services:\n- key: a\n  health-check: ping\n  instances:\n"
		    "  - address: " ADDR_A "\n", "x:3:17: services[0]."
		    "health-check: unknown health check \"ping\" (none, tcp, "
		    "http)" },
		{ "services:\n- key: a\n  instances:\n  - address: " ADDR_A
		    "\n    probe-port: 70000\n", "x:5:17: services[0]."
		    "instances[0].probe-port: \"70000\" is not a number from "
		    "1 to 65535" },
		{ "services:\n- key: a\n  health-check-path: health\n"
		    "  instances:\n  - address: " ADDR_A "\n", "x:3:22: "
		    "services[0].health-check-path: \"health\" is not an HTTP "
		    "path (starts with '/', no spaces or control characters, "
		    "at most 200 bytes)" },
	};
	const struct ob_config_probe *pr;
	struct ob_config *cfg = NULL;
	char err[512];
	size_t i;

	enter_data_dir();
	if (ob_config_parse_buffer(text, sizeof(text) - 1, "x", &cfg, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "unexpected error: %s\n", err);
		test_failures++;
		return;
	}
	CHECK_INT_EQ(cfg->probe_interval, 10);
	CHECK_INT_EQ(cfg->probe_timeout, 20);
	pr = &cfg->services[0].instances[0].probe;
	CHECK_INT_EQ(pr->port, 80);
	CHECK_INT_EQ(pr->check, OB_HEALTH_HTTP);
	CHECK_STR_EQ(pr->path, "/healthz");
	pr = &cfg->services[0].instances[1].probe;
	CHECK_INT_EQ(pr->port, 8080);
	CHECK_INT_EQ(pr->check, OB_HEALTH_TCP);
	CHECK_STR_EQ(pr->path, "/healthz");
	pr = &cfg->services[1].instances[0].probe;
	CHECK_INT_EQ(pr->port, 443);
	CHECK_INT_EQ(pr->check, OB_HEALTH_NONE);
	CHECK_STR_EQ(pr->path, "/up");
	ob_config_free(cfg);

	/* Without the keys (Onionbalance's file): our defaults. */
	/* text + 37: after the two top-level probe lines */
	if (ob_config_parse_buffer(text + 37, sizeof(text) - 1 - 37, "x", &cfg,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "unexpected error: %s\n", err);
		test_failures++;
		return;
	}
	CHECK_INT_EQ(cfg->probe_interval, OB_CONFIG_DEFAULT_PROBE_INTERVAL);
	CHECK_INT_EQ(cfg->probe_timeout, OB_CONFIG_DEFAULT_PROBE_TIMEOUT);
	pr = &cfg->services[1].instances[0].probe;
	CHECK_INT_EQ(pr->port, 443);
	ob_config_free(cfg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = NULL;
		if (ob_config_parse_buffer(bad[i].text, strlen(bad[i].text),
		    "x", &cfg, err, sizeof(err)) != -1) {
			fprintf(stderr, "case %zu parsed\n", i);
			test_failures++;
			ob_config_free(cfg);
			continue;
		}
		CHECK_STR_EQ(err, bad[i].message);
	}
}

/* descriptors and intro-points-per-descriptor: values, and bad ones. */
static void
test_publish_settings(void)
{
	static const char text[] = "services:\n- key: a.key\n"
	    "  descriptors: shared\n  intro-points-per-descriptor: 3\n"
	    "  instances:\n  - address: " ADDR_A "\n"
	    "- key: b.key\n  instances:\n  - address: " ADDR_B "\n";
	static const struct {
		const char *text, *message;
	} bad[] = {
		{ "services:\n- key: a\n  descriptors: distinct\n  instances:\n"
		    "  - address: " ADDR_A "\n", "x:3:16: services[0]."
		    "descriptors: unknown value \"distinct\" (auto, shared)" },
		{ "services:\n- key: a\n  intro-points-per-descriptor: 21\n"
		    "  instances:\n  - address: " ADDR_A "\n", "x:3:32: "
		    "services[0].intro-points-per-descriptor: \"21\" is not a "
		    "number from 1 to 20" },
	};
	struct ob_config *cfg = NULL;
	char err[512];
	size_t i;

	enter_data_dir();
	if (ob_config_parse_buffer(text, sizeof(text) - 1, "x", &cfg, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "unexpected error: %s\n", err);
		test_failures++;
		return;
	}
	CHECK_INT_EQ(cfg->services[0].shared_only, 1);
	CHECK_INT_EQ(cfg->services[0].per_descriptor, 3);
	CHECK_INT_EQ(cfg->services[1].shared_only, 0);
	CHECK_INT_EQ(cfg->services[1].per_descriptor, 0);
	ob_config_free(cfg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = NULL;
		if (ob_config_parse_buffer(bad[i].text, strlen(bad[i].text),
		    "x", &cfg, err, sizeof(err)) != -1) {
			fprintf(stderr, "case %zu parsed\n", i);
			test_failures++;
			ob_config_free(cfg);
			continue;
		}
		CHECK_STR_EQ(err, bad[i].message);
	}
}

/* Loads path with stderr going to a file; returns what was written. */
static char *
capture_stderr(struct ob_config **cfg, const char *path)
{
	FILE *tmp;
	char *out;
	long n;
	int saved;

	fflush(stderr);
	if ((tmp = tmpfile()) == NULL || (saved = dup(2)) == -1 ||
	    dup2(fileno(tmp), 2) == -1)
		abort();
	*cfg = load_ok(path);
	fflush(stderr);
	if (dup2(saved, 2) == -1 || close(saved) == -1)
		abort();
	if ((n = ftell(tmp)) < 0 || fseek(tmp, 0, SEEK_SET) != 0 ||
	    (out = calloc(1, (size_t)n + 1)) == NULL ||
	    fread(out, 1, (size_t)n, tmp) != (size_t)n)
		abort();
	fclose(tmp);
	return out;
}

static void
test_unknown_keys_warn_with_line(void)
{
	static const char want[] =
	    "test_config: [warning] valid/unknown-keys.yaml:2:1: "
	    "REFRESH_INTERVAL: Onionbalance v2 setting, ignored\n"
	    "test_config: [warning] valid/unknown-keys.yaml:8:5: "
	    "services[0].instances[0].auth: Onionbalance v2 setting, ignored\n"
	    "test_config: [warning] valid/unknown-keys.yaml:9:5: "
	    "services[0].instances[0].weight: unknown key, ignored\n"
	    "test_config: [warning] valid/unknown-keys.yaml:10:3: "
	    "services[0].colour: unknown key, ignored\n"
	    "test_config: [warning] valid/unknown-keys.yaml:11:1: "
	    "status-sokcet-location: unknown key, ignored\n";
	struct ob_config *cfg;
	char *out;

	enter_data_dir();
	out = capture_stderr(&cfg, "valid/unknown-keys.yaml");
	CHECK_STR_EQ(out, want);
	free(out);
	if (cfg == NULL)
		return;
	CHECK_INT_EQ(cfg->services[0].ninstances, 1);
	check_instance(&cfg->services[0].instances[0], ADDR_A, PK_A, "node1",
	    6);
	CHECK(cfg->status_socket_path == NULL);
	ob_config_free(cfg);
}

/* Onionbalance's own files give no warning at all. */
static void
test_no_warnings_for_onionbalance_files(void)
{
	static const char *const files[] = {
		"valid/onionbalance-status-socket-doc.yaml",
		"valid/generator-filled.yaml",
		"valid/all-settings.yaml",
	};
	struct ob_config *cfg;
	char *out;
	size_t i;

	enter_data_dir();
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		out = capture_stderr(&cfg, files[i]);
		CHECK_STR_EQ(out, "");
		CHECK(cfg != NULL);
		ob_config_free(cfg);
		free(out);
	}
}

static void
test_error_messages(void)
{
	static const struct {
		const char *file, *message;
	} cases[] = {
		{ "syntax", "5:4: YAML syntax error: did not find expected key "
		    "(while parsing a block mapping on line 2)" },
		{ "not-utf8", "2:8: not a YAML text: invalid leading UTF-8 "
		    "octet" },
		{ "empty", "1:1: services: missing (the file is empty; "
		    "onionbalanced-config writes a first one)" },
		{ "no-services", "1:1: services: missing (the list of frontend "
		    "services)" },
		{ "top-not-mapping", "1:1: expected a mapping of settings, "
		    "found a list" },
		{ "key-not-name", "1:1: a key must be a name, found a list" },
		{ "services-not-list", "2:3: services: expected a list of "
		    "services, found a mapping" },
		{ "services-empty", "1:11: services: the list is empty (at "
		    "least one is needed)" },
		{ "too-many-services", "3:1: services: 65 services, more than "
		    "the 64 allowed" },
		{ "service-not-mapping", "2:3: services[0]: expected a mapping "
		    "of settings, found a single value" },
		{ "missing-key", "2:3: services[0].key: missing (the file with "
		    "the frontend's private key)" },
		{ "key-empty", "2:8: services[0].key: empty" },
		{ "key-null", "2:7: services[0].key: expected a value, found "
		    "nothing" },
		{ "nul-byte", "2:8: services[0].key: contains a NUL byte" },
		{ "duplicate-setting", "5:3: services[0].key: given twice "
		    "(first on line 2)" },
		{ "missing-instances", "2:3: services[0].instances: missing "
		    "(the list of backend instances)" },
		{ "instances-not-list", "3:14: services[0].instances: expected "
		    "a list of instances, found a single value" },
		{ "instances-empty", "3:14: services[0].instances: the list is "
		    "empty (at least one is needed)" },
		{ "too-many-instances", "4:14: services[0].instances: 1001 "
		    "instances, more than the 1000 allowed" },
		{ "missing-address", "4:5: services[0].instances[0].address: "
		    "missing (the onion address of a backend)" },
		{ "name-not-string", "5:11: services[0].instances[0].name: "
		    "expected a value, found a list" },
		{ "generator-placeholder", "4:14: services[0].instances[0]."
		    "address: \"<Enter the instance onion address here>\" is "
		    "the placeholder that onionbalance-config writes: put the "
		    "onion address of a backend here" },
		{ "duplicate-instance", "7:14: services[0].instances[2]."
		    "address: " ADDR_A " is listed twice (also "
		    "services[0].instances[0] on line 4)" },
		{ "bad-log-level", "1:12: log-level: unknown log level "
		    "\"loud\" (debug, info, warning, error)" },
		{ "bad-port", "1:19: tor-control-port: \"70000\" is not a "
		    "number from 1 to 65535" },
		{ "bad-control-address", "1:22: tor-control-address: "
		    "\"localhost\" is not an IPv4 or IPv6 address" },
		{ "bad-fetch-interval", "1:17: fetch-interval: \"1\" is not a "
		    "number from 5 to 3600" },
		{ "bad-user", "1:12: keyd-user: \"Root\" is not a valid user "
		    "name (a-z, 0-9, '_', '-'; at most 32)" },
		{ "merge-key", "5:3: services[1].<<: YAML merge keys are not "
		    "supported; write the settings out" },
		{ "two-documents", "6:1: a second YAML document begins here; "
		    "the file must have one" },
		{ "v2-name-twice", "1:1: STATUS_SOCKET_LOCATION: the same "
		    "setting as status-socket-location on line 6 (its "
		    "Onionbalance v2 name); keep one" },
	};
	char path[128], want[1024];
	size_t i;

	enter_data_dir();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "errors/%s.yaml", cases[i].file);
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].message);
		check_load_error(path, want);
	}
}

/*
 * authorized-clients: keys in the file and .auth files of a directory
 * (others ignored, as tor ignores them), in that order; a bad key, a bad
 * file, a missing directory or a key given twice is one error line.
 */
static void
test_authorized_clients(void)
{
	static const char bad_key[] = "errors/auth-client-bad-key.yaml:4:5: "
	    "services[0].authorized-clients[0]: \"descriptor:x25519:MHVAQA7"
	    "YQU2SHN3X2QKKZYYTBTKNH6JN4LGX76DJLQZX26OC53X\" is not "
	    "\"descriptor:x25519:<key in base32, 52 characters>\"";
	static const char twice[] = "errors/auth-client-twice.yaml:4:3: "
	    "services[0].authorized-clients: the same client key is given "
	    "twice (keys 1 and 3, counting the directories' after the "
	    "list's)";
	struct ob_config *cfg;
	const char *cwd = enter_data_dir();
	char want[1024];

	if ((cfg = load_ok("valid/authorized-clients.yaml")) == NULL)
		return;
	CHECK_INT_EQ(cfg->services[0].nauth_clients, 3);
	/* the list's key, then alice.auth and bob.auth; not README.txt */
	CHECK_HEX(cfg->services[0].auth_clients[0], 32, "61ea0803f8853523b7"
	    "77d414ace3130cd4d3f92de2cd7ff8695c337d79c2eeee");
	CHECK_HEX(cfg->services[0].auth_clients[1], 32, "2bd806c97f0e00af1a"
	    "1fc3328fa763a9269723c8db8fac4f93af71db186d6e90");
	CHECK_HEX(cfg->services[0].auth_clients[2], 32, "81b637d8fcd2c6da63"
	    "59e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9");
	ob_config_free(cfg);
	check_load_error("errors/auth-client-bad-key.yaml", bad_key);
	check_load_error("errors/auth-client-twice.yaml", twice);
	snprintf(want, sizeof(want), "errors/auth-client-bad-file.yaml:4:5: "
	    "services[0].authorized-clients: %s/errors/../clients/bad/"
	    "carol.auth: not one line \"descriptor:x25519:<key in base32>\" "
	    "(tor's authorized_clients format)", cwd);
	check_load_error("errors/auth-client-bad-file.yaml", want);
	snprintf(want, sizeof(want), "errors/auth-client-no-dir.yaml:4:5: "
	    "services[0].authorized-clients: %s/errors/../clients/missing: "
	    "No such file or directory", cwd);
	check_load_error("errors/auth-client-no-dir.yaml", want);
}

/*
 * Restricted backends: an instance's client-key file (a .auth_private
 * for its own address) and a service's client-auth-dir (tor's
 * ClientOnionAuthDir: the file for an instance's address gives its key;
 * others and non-.auth_private files are ignored).  A key for another
 * address, a bad or missing file, two keys for one backend: one error
 * line naming file, line and key.
 */
static void
test_client_keys(void)
{
	struct ob_config *cfg;
	const struct ob_config_instance *in;
	const char *cwd = enter_data_dir();
	char want[1024];

	if ((cfg = load_ok("valid/client-keys.yaml")) == NULL)
		return;
	in = cfg->services[0].instances;
	CHECK(in[0].has_client_key);
	CHECK_HEX(in[0].client_key, 32, "0102030405060708090a0b0c0d0e0f10"
	    "1112131415161718191a1b1c1d1e1f20");
	CHECK(in[1].has_client_key);
	CHECK_HEX(in[1].client_key, 32, "2122232425262728292a2b2c2d2e2f30"
	    "3132333435363738393a3b3c3d3e3f40");
	CHECK(!in[2].has_client_key);	/* no file for it: an open backend */
	ob_config_free(cfg);

	snprintf(want, sizeof(want), "errors/client-key-other-address.yaml:"
	    "5:17: services[0].instances[0].client-key: %s/errors/../clients/"
	    "keys/backend-b.auth_private is a key for bvy46sg2b5dokczabwv2pab"
	    "qlrps3lppweyrebhat6gjieo2avojdvad, not for this instance (k6udx3"
	    "rspbeemwob5ij4ckqmsitz736vnjs3fm4j6z655onotjskjwad)", cwd);
	check_load_error("errors/client-key-other-address.yaml", want);
	snprintf(want, sizeof(want), "errors/client-key-bad.yaml:5:17: "
	    "services[0].instances[0].client-key: %s/errors/../clients/keys/"
	    "bad.auth_private: not one line \"<address>:descriptor:x25519:"
	    "<private key in base32>\" (tor's ClientOnionAuthDir format)",
	    cwd);
	check_load_error("errors/client-key-bad.yaml", want);
	snprintf(want, sizeof(want), "errors/client-key-missing.yaml:5:17: "
	    "services[0].instances[0].client-key: %s/errors/../clients/keys/"
	    "missing.auth_private: No such file or directory", cwd);
	check_load_error("errors/client-key-missing.yaml", want);
	snprintf(want, sizeof(want), "errors/client-auth-dir-twice.yaml:3:20: "
	    "services[0].client-auth-dir: %s/errors/../clients/private-twice/"
	    "one.auth_private and %s/errors/../clients/private-twice/"
	    "two.auth_private are both for k6udx3rspbeemwob5ij4ckqmsitz736vnj"
	    "s3fm4j6z655onotjskjwad", cwd, cwd);
	check_load_error("errors/client-auth-dir-twice.yaml", want);
	check_load_error("errors/client-key-empty.yaml",
	    "errors/client-key-empty.yaml:5:17: services[0].instances[0]."
	    "client-key: empty");
}

/* The reason comes from onion_address_strerror(). */
static void
test_bad_onion_addresses(void)
{
	static const struct {
		const char *file, *pos, *address;
		enum onion_address_error error;
	} cases[] = {
		{ "onionbalance-tutorial", "3:14", "wmilwokvqistssclrjdi5arzrct"
		    "n6bznkwmosvfyobmyv2fc3idbpwyd.onion",
		    ONION_ADDRESS_ERR_CHECKSUM },
		{ "address-length", "4:14", "k6udx3rspbeemwob5ij4ckqmsitz736vn"
		    "js3fm4j6z655onotjskjwa", ONION_ADDRESS_ERR_LENGTH },
		{ "address-alphabet", "4:14", "k6udx3rspbeemwob5ij4ckqmsitz736"
		    "vnjs3fm4j6z655onotjskjw1d", ONION_ADDRESS_ERR_ALPHABET },
		{ "address-version", "4:14", "k6udx3rspbeemwob5ij4ckqmsitz736v"
		    "njs3fm4j6z655onotjscfkae", ONION_ADDRESS_ERR_VERSION },
		{ "address-key", "4:14", ADDR_SMALL_ORDER ".onion",
		    ONION_ADDRESS_ERR_KEY },
	};
	char path[128], want[1024];
	size_t i;

	enter_data_dir();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "errors/%s.yaml", cases[i].file);
		snprintf(want, sizeof(want), "%s:%s: services[0].instances[0]."
		    "address: bad onion address \"%s\": %s", path,
		    cases[i].pos, cases[i].address,
		    onion_address_strerror(cases[i].error));
		check_load_error(path, want);
	}
}

static void
test_duplicate_key_path(void)
{
	const char *cwd = enter_data_dir();
	char want[PATH_MAX + 200];

	snprintf(want, sizeof(want), "errors/duplicate-key-path.yaml:5:8: "
	    "services[1].key: same key file as services[0].key on line 2 "
	    "(%s/errors/hs/a.key)", cwd);
	check_load_error("errors/duplicate-key-path.yaml", want);
}

static void
test_file_errors(void)
{
	char dir[] = "/tmp/ob-config-test-XXXXXX", path[64];
	int fd;

	enter_data_dir();
	check_load_error("errors/no-such-file.yaml",
	    "errors/no-such-file.yaml: No such file or directory");
	check_load_error("valid", "valid: not a regular file");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    ftruncate(fd, OB_CONFIG_MAX_FILE_SIZE + 1) == -1 || close(fd) == -1)
		abort();
	{
		char want[128];

		snprintf(want, sizeof(want), "%s: larger than 1048576 bytes",
		    path);
		check_load_error(path, want);
	}
	unlink(path);
	rmdir(dir);
}

static void
test_environment(void)
{
	const char *cwd = enter_data_dir();
	struct ob_config *cfg;
	char want[PATH_MAX + 100];

	CHECK_STR_EQ(ob_config_default_path(), "config.yaml");
	setenv("ONIONBALANCE_CONFIG", "", 1);
	CHECK_STR_EQ(ob_config_default_path(), "config.yaml");
	setenv("ONIONBALANCE_CONFIG", "/etc/onionbalance/config.yaml", 1);
	CHECK_STR_EQ(ob_config_default_path(), "/etc/onionbalance/config.yaml");

	/* The environment wins over the file (as Onionbalance's does). */
	setenv("ONIONBALANCE_STATUS_SOCKET_LOCATION", "env/status.sock", 1);
	setenv("ONIONBALANCE_LOG_LEVEL", "INFO", 1);
	setenv("ONIONBALANCE_TOR_CONTROL_SOCKET", "/env/control", 1);
	if ((cfg = load_ok("valid/all-settings.yaml")) != NULL) {
		snprintf(want, sizeof(want), "%s/env/status.sock", cwd);
		CHECK_STR_EQ(cfg->status_socket_path, want);
		CHECK_INT_EQ(cfg->log_level, LOG_LEVEL_INFO);
		CHECK_STR_EQ(cfg->control_socket, "/env/control");
		ob_config_free(cfg);
	}

	/* Empty: ignored, except that an empty control socket means none. */
	setenv("ONIONBALANCE_STATUS_SOCKET_LOCATION", "", 1);
	setenv("ONIONBALANCE_LOG_LEVEL", "", 1);
	setenv("ONIONBALANCE_TOR_CONTROL_SOCKET", "", 1);
	if ((cfg = load_ok("valid/all-settings.yaml")) != NULL) {
		CHECK_STR_EQ(cfg->status_socket_path,
		    "/run/onionbalanced/status.sock");
		CHECK_INT_EQ(cfg->log_level, LOG_LEVEL_DEBUG);
		CHECK(cfg->control_socket == NULL);
		ob_config_free(cfg);
	}

	setenv("ONIONBALANCE_LOG_LEVEL", "loud\033[2J", 1);
	check_load_error("valid/minimal.yaml", "environment variable "
	    "ONIONBALANCE_LOG_LEVEL: unknown log level \"loud?[2J\" (debug, "
	    "info, warning, error)");
	enter_data_dir();
}

static void
write_file(const char *path, const char *text)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF)
		abort();
}

/*
 * SIGHUP after an edit: a broken file leaves the running config as it
 * was; a good one replaces it.  This is the pattern of ob_config.h.
 */
static int
reload(struct ob_config **cur, const char *path, char *err, size_t errlen)
{
	struct ob_config *next;

	if (ob_config_load(path, &next, err, errlen) == -1)
		return -1;
	ob_config_free(*cur);
	*cur = next;
	return 0;
}

static void
test_reload_keeps_old_config_on_error(void)
{
	char dir[] = "/tmp/ob-config-test-XXXXXX", path[64], err[512];
	struct ob_config *cur;

	enter_data_dir();
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	write_file(path, "services:\n- key: a.key\n  instances:\n"
	    "  - address: " ADDR_A "\n    name: one\n");
	if ((cur = load_ok(path)) == NULL)
		abort();

	/* The operator adds a backend with a typo in its address. */
	write_file(path, "services:\n- key: a.key\n  instances:\n"
	    "  - address: " ADDR_A "\n    name: one\n"
	    "  - address: " ADDR_B "x\n    name: two\n");
	CHECK_INT_EQ(reload(&cur, path, err, sizeof(err)), -1);
	CHECK(strstr(err, ":6:14: services[0].instances[1].address: bad "
	    "onion address") != NULL);
	CHECK_INT_EQ(cur->services[0].ninstances, 1);
	check_instance(&cur->services[0].instances[0], ADDR_A, PK_A, "one", 4);

	/* And fixes it. */
	write_file(path, "services:\n- key: a.key\n  instances:\n"
	    "  - address: " ADDR_A "\n    name: one\n"
	    "  - address: " ADDR_B "\n    name: two\n");
	CHECK_INT_EQ(reload(&cur, path, err, sizeof(err)), 0);
	CHECK_INT_EQ(cur->services[0].ninstances, 2);
	check_instance(&cur->services[0].instances[1], ADDR_B, PK_B, "two", 6);

	ob_config_free(cur);
	unlink(path);
	rmdir(dir);
}

static void
test_frontend_listed_as_instance(void)
{
	struct ob_config *cfg;
	uint8_t pk_b[32], pk_d[32], other[32];
	char err[512];

	enter_data_dir();
	if ((cfg = load_ok("valid/generator-filled.yaml")) == NULL)
		return;
	test_unhex(pk_b, 32, PK_B);
	test_unhex(pk_d, 32, PK_D);
	test_unhex(other, 32, "aa988c782880b0f3cefd25e56bafb24d25aab741f3f288"
	    "fd79e815419ec182ba");

	CHECK_INT_EQ(ob_config_check_instances(cfg, 0, other, err,
	    sizeof(err)), 0);
	CHECK_INT_EQ(ob_config_check_instances(cfg, 0, pk_b, err,
	    sizeof(err)), -1);
	CHECK_STR_EQ(err, "valid/generator-filled.yaml:6:14: services[0]."
	    "instances[1].address: " ADDR_B " is the frontend itself (the key "
	    "of services[0] on line 10); list the backends here");
	CHECK_INT_EQ(ob_config_check_instances(cfg, 2, other, err,
	    sizeof(err)), -1);
	CHECK_STR_EQ(err, "valid/generator-filled.yaml: no service 2");

	/* Service 1's own instance as its frontend. */
	CHECK_INT_EQ(ob_config_set_identity(cfg, 1, pk_d, err, sizeof(err)),
	    -1);
	CHECK_STR_EQ(err, "valid/generator-filled.yaml:12:14: services[1]."
	    "instances[0].address: " ADDR_D " is the frontend itself (the key "
	    "of services[1] on line 18); list the backends here");
	CHECK(!cfg->services[1].has_identity);
	/* Two services, one key under two names. */
	CHECK_INT_EQ(ob_config_set_identity(cfg, 0, other, err, sizeof(err)),
	    0);
	CHECK(cfg->services[0].has_identity);
	CHECK_HEX(cfg->services[0].identity, 32, "aa988c782880b0f3cefd25e56baf"
	    "b24d25aab741f3f288fd79e815419ec182ba");
	CHECK_INT_EQ(ob_config_set_identity(cfg, 1, other, err, sizeof(err)),
	    -1);
	CHECK_STR_EQ(err, "valid/generator-filled.yaml:18:8: services[1].key: "
	    "the same frontend (vkmiy6biqcyphtx5exswxl5sjus2vn2b6pzir7lz5akudh"
	    "wbqk5muead) as services[0].key on line 10");
	CHECK(!cfg->services[1].has_identity);
	/* Setting service 0 again (a reload of keys) is no conflict. */
	CHECK_INT_EQ(ob_config_set_identity(cfg, 0, other, err, sizeof(err)),
	    0);
	ob_config_free(cfg);
}

/*
 * The config.yaml that EOTK's and Onionspray's `ob-gather` writes for a
 * softmap project (docs/onionspray.md): Onionbalance v2's upper-case
 * settings first, then one service per softmap onion, each with the
 * project's worker onions, quoted and without ".onion".  The v2 names of
 * the status socket and the log level are read; the rest is ignored with
 * a warning each.
 */
static void
test_onionspray_softmap(void)
{
	static const char *const ignored[] = {
		"2:1: TOR_ADDRESS", "3:1: TOR_PORT", "5:1: REFRESH_INTERVAL",
		"6:1: INITIAL_DELAY", "7:1: PUBLISH_CHECK_INTERVAL",
		"8:1: DESCRIPTOR_OVERLAP_PERIOD",
		"9:1: DESCRIPTOR_UPLOAD_PERIOD",
		"10:1: DESCRIPTOR_VALIDITY_PERIOD",
	};
	struct ob_config *cfg;
	char want[2048] = "", line[160];
	char *out;
	size_t i;

	enter_data_dir();
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		snprintf(line, sizeof(line), "test_config: [warning] "
		    "valid/onionspray-softmap.yaml:%s: Onionbalance v2 "
		    "setting, ignored\n", ignored[i]);
		strncat(want, line, sizeof(want) - strlen(want) - 1);
	}
	out = capture_stderr(&cfg, "valid/onionspray-softmap.yaml");
	CHECK_STR_EQ(out, want);
	free(out);
	if (cfg == NULL)
		return;
	CHECK_STR_EQ(cfg->status_socket_path,
	    "/home/eotk/eotk/onionbalance.d/ob-status.sock");
	CHECK_INT_EQ(cfg->log_level, LOG_LEVEL_INFO);
	CHECK_INT_EQ(cfg->nservices, 2);
	CHECK_STR_EQ(cfg->services[0].key_path,
	    "/home/eotk/eotk/secrets.d/" ADDR_C ".v3sec.key");
	CHECK_STR_EQ(cfg->services[1].key_path,
	    "/home/eotk/eotk/secrets.d/" ADDR_D ".v3sec.key");
	for (i = 0; i < 2; i++) {
		CHECK_INT_EQ(cfg->services[i].ninstances, 2);
		check_instance(&cfg->services[i].instances[0], ADDR_A, PK_A,
		    NULL, 16 + 5 * i);
		check_instance(&cfg->services[i].instances[1], ADDR_B, PK_B,
		    NULL, 17 + 5 * i);
	}
	ob_config_free(cfg);
}

static void
test_init(void)
{
	/* Warnings must reach stderr for the capture test. */
	log_init("test_config", LOG_LEVEL_DEBUG);
}

TEST_MAIN(
	TEST_CASE(test_init),
	TEST_CASE(test_onionbalance_status_socket_doc),
	TEST_CASE(test_generator_output_filled),
	TEST_CASE(test_all_settings),
	TEST_CASE(test_flow_style_and_empty_sockets),
	TEST_CASE(test_relative_and_absolute_config_path),
	TEST_CASE(test_relative_socket_paths),
	TEST_CASE(test_parse_buffer),
	TEST_CASE(test_metrics_location),
	TEST_CASE(test_probe_settings),
	TEST_CASE(test_publish_settings),
	TEST_CASE(test_authorized_clients),
	TEST_CASE(test_client_keys),
	TEST_CASE(test_unknown_keys_warn_with_line),
	TEST_CASE(test_onionspray_softmap),
	TEST_CASE(test_no_warnings_for_onionbalance_files),
	TEST_CASE(test_error_messages),
	TEST_CASE(test_bad_onion_addresses),
	TEST_CASE(test_duplicate_key_path),
	TEST_CASE(test_file_errors),
	TEST_CASE(test_environment),
	TEST_CASE(test_reload_keeps_old_config_on_error),
	TEST_CASE(test_frontend_listed_as_instance),
)

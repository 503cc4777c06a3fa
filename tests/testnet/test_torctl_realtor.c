/*
 * The control-port client against a real tor (argv[1], Debian's), which
 * this test starts itself on 127.0.0.1 with DisableNetwork (nothing
 * leaves the machine), its own DataDirectory under a temporary directory
 * and a port tor picks (ControlPort auto).  Each tor dies with this
 * process (PR_SET_PDEATHSIG, and tor's own __OwningControllerProcess),
 * and is killed by its pid at the end.
 *
 * tor A: CookieAuthentication and HashedControlPassword, so it offers
 * SAFECOOKIE, COOKIE and HASHEDPASSWORD; tor B has no authentication
 * (NULL).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "torctl.h"
#include "torctl_events.h"
#include "test.h"

#define PASSWORD	"correct horse battery staple"
/* A syntactically valid v3 address (a backend of the test network). */
#define ADDR	"vckzlz6oomfw62y2l4rl36gt2qmeyl4qb6qz633eamuh3wgjceb2myyd"
#define NOFPR	"0123456789ABCDEF0123456789ABCDEF01234567"

static const char *tor_path;
static char tmpdir[] = "/tmp/torctl-realtor-XXXXXX";
static struct event_base *base;

struct tor {
	pid_t		pid;
	char		dir[256];
	uint16_t	port;
};
static struct tor tor_a, tor_b;

struct seen {
	int			 up, down, changes;
	char			 reason[256];
	int			 replies;
	enum torctl_status	 status;
	uint16_t		 code;
	char			 msg[256];
	char			 version[64];
	int			 hs_desc, received, failed;
};

static void
on_conn(struct torctl *ctl, bool connected, const char *reason, void *arg)
{
	struct seen *s = arg;

	s->changes++;
	if (connected)
		s->up++;
	else {
		s->down++;
		snprintf(s->reason, sizeof(s->reason), "%s", reason);
	}
}

static void
on_reply(struct torctl *ctl, enum torctl_status st,
    const struct torctl_reply *r, void *arg)
{
	struct seen *s = arg;
	const char *v;
	size_t len;

	s->replies++;
	s->status = st;
	s->code = r != NULL ? r->code : 0;
	snprintf(s->msg, sizeof(s->msg), "%s",
	    r != NULL ? torctl_reply_message(r) : "");
	if (r != NULL && (v = torctl_reply_getinfo(r, "version", &len)) != NULL)
		snprintf(s->version, sizeof(s->version), "%.*s", (int)len, v);
}

static void
on_hs_desc(struct torctl *ctl, const struct torctl_reply *ev, void *arg)
{
	struct torctl_hs_desc hd;
	struct seen *s = arg;
	const char *why;

	s->hs_desc++;
	if (torctl_parse_hs_desc(ev, &hd, &why) == -1) {
		fprintf(stderr, "unparsable HS_DESC (%s): %s\n", why,
		    ev->lines[0].text);
		test_failures++;
		return;
	}
	s->received += hd.action == TORCTL_HS_DESC_RECEIVED;
	s->failed += hd.action == TORCTL_HS_DESC_FAILED;
}

/* Runs the loop until *flag changes from before, or ms pass. */
static void
run_until(const int *flag, int before, int ms)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < ms && *flag == before; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
	}
}

static void
run_for(int ms)
{
	int never = 0;

	run_until(&never, 0, ms);
}

/* `tor --hash-password` output, the last line ("16:..."). */
static int
hash_password(char *out, size_t outlen)
{
	char cmd[512], line[256];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "'%s' --quiet --hash-password '%s'",
	    tor_path, PASSWORD);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), p) != NULL)
		if (strncmp(line, "16:", 3) == 0)
			snprintf(out, outlen, "%.*s", (int)strcspn(line, "\r\n"),
			    line);
	return pclose(p) == 0 && out[0] != '\0' ? 0 : -1;
}

static pid_t
spawn_tor(const struct tor *t, const char *hashed)
{
	char data[300], portfile[300], cookie[300], log[300], owner[32];
	char torrc[300];
	const char *argv[40];
	int n = 0;
	pid_t pid;

	/* Everything is on the command line; tor wants real (empty) files. */
	snprintf(torrc, sizeof(torrc), "%s/torrc", t->dir);
	snprintf(data, sizeof(data), "%s/data", t->dir);
	snprintf(portfile, sizeof(portfile), "%s/port", t->dir);
	snprintf(cookie, sizeof(cookie), "%s/cookie", t->dir);
	snprintf(log, sizeof(log), "notice file %s/tor.log", t->dir);
	snprintf(owner, sizeof(owner), "%ld", (long)getpid());
	argv[n++] = tor_path;
	argv[n++] = "-f";		argv[n++] = torrc;
	argv[n++] = "--defaults-torrc";	argv[n++] = torrc;
	argv[n++] = "--DataDirectory";	argv[n++] = data;
	argv[n++] = "--ControlPort";	argv[n++] = "127.0.0.1:auto";
	argv[n++] = "--ControlPortWriteToFile"; argv[n++] = portfile;
	argv[n++] = "--SocksPort";	argv[n++] = "0";
	argv[n++] = "--DisableNetwork";	argv[n++] = "1";
	argv[n++] = "--Log";		argv[n++] = log;
	argv[n++] = "--__OwningControllerProcess"; argv[n++] = owner;
	if (hashed != NULL) {
		argv[n++] = "--CookieAuthentication"; argv[n++] = "1";
		argv[n++] = "--CookieAuthFile";	argv[n++] = cookie;
		argv[n++] = "--HashedControlPassword"; argv[n++] = hashed;
	}
	argv[n] = NULL;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		/* Never outlive the test, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		/* execv() does not modify argv; its prototype predates const. */
		execv(tor_path, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	return pid;
}

/* Waits for tor's "PORT=127.0.0.1:NNNN" file. */
static int
wait_port(struct tor *t)
{
	char path[300], line[128];
	unsigned port;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/port", t->dir);
	for (i = 0; i < 300; i++) {
		if ((f = fopen(path, "r")) != NULL) {
			if (fgets(line, sizeof(line), f) != NULL &&
			    sscanf(line, "PORT=127.0.0.1:%u", &port) == 1 &&
			    port > 0 && port < 65536) {
				fclose(f);
				t->port = (uint16_t)port;
				return 0;
			}
			fclose(f);
		}
		if (waitpid(t->pid, NULL, WNOHANG) != 0)
			return -1;
		usleep(100000);
	}
	return -1;
}

static int
start_tor(struct tor *t, const char *name, const char *hashed)
{
	char torrc[300];
	FILE *f;

	snprintf(t->dir, sizeof(t->dir), "%s/%s", tmpdir, name);
	snprintf(torrc, sizeof(torrc), "%s/torrc", t->dir);
	if (mkdir(t->dir, 0700) != 0 || (f = fopen(torrc, "w")) == NULL)
		return -1;
	fclose(f);
	if ((t->pid = spawn_tor(t, hashed)) == -1)
		return -1;
	return wait_port(t);
}

static void
stop_tor(struct tor *t)
{
	int i;

	if (t->pid <= 0)
		return;
	kill(t->pid, SIGTERM);
	for (i = 0; i < 50 && waitpid(t->pid, NULL, WNOHANG) == 0; i++)
		usleep(100000);
	if (i == 50) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	t->pid = 0;
}

static void
print_log(const struct tor *t)
{
	char path[300], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tor.log", t->dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		fprintf(stderr, "%s: %s", t->dir, line);
	fclose(f);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
cleanup(void)
{
	stop_tor(&tor_a);
	stop_tor(&tor_b);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct torctl *
connect_to(const struct tor *t, unsigned methods, const char *password,
    const uint8_t *cookie, struct seen *s)
{
	struct torctl_config cfg = { 0 };
	struct torctl *ctl;

	cfg.host = "127.0.0.1";
	cfg.port = t->port;
	cfg.auth_methods = methods;
	cfg.password = password;
	cfg.cookie = cookie;
	cfg.reply_timeout_ms = 10000;
	cfg.backoff_min_ms = 200;
	cfg.on_conn = on_conn;
	cfg.arg = s;
	if ((ctl = torctl_new(base, &cfg)) == NULL || torctl_start(ctl) != 0)
		return ctl;
	run_until(&s->up, 0, 10000);
	return ctl;
}

static void
check_method(unsigned method, const char *password, const uint8_t *cookie)
{
	struct seen s = { 0 };
	struct torctl *ctl;

	ctl = connect_to(&tor_a, method, password, cookie, &s);
	CHECK(ctl != NULL);
	CHECK_INT_EQ(s.up, 1);
	if (ctl != NULL)
		CHECK_INT_EQ(torctl_auth_used(ctl), method);
	torctl_free(ctl);
}

static void
test_auth_methods(void)
{
	uint8_t cookie[TORCTL_COOKIE_LEN];
	char path[300];

	/* The cookie file named by PROTOCOLINFO. */
	check_method(TORCTL_AUTH_SAFECOOKIE, NULL, NULL);
	/* The cookie handed over as bytes, as the parent will. */
	snprintf(path, sizeof(path), "%s/cookie", tor_a.dir);
	CHECK_INT_EQ(torctl_cookie_read_path(path, cookie), 0);
	check_method(TORCTL_AUTH_SAFECOOKIE, NULL, cookie);
	check_method(TORCTL_AUTH_COOKIE, NULL, cookie);
	check_method(TORCTL_AUTH_HASHEDPASSWORD, PASSWORD, NULL);
}

/*
 * A connection the test opened itself, handed over as an fd (as the
 * parent will); without an address the client reports a failure instead
 * of retrying.
 */
static struct torctl *
adopt_to(const struct tor *t, unsigned methods, const char *password,
    const uint8_t *cookie, struct seen *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct torctl_config cfg = { 0 };
	struct torctl *ctl;
	int fd;

	sin.sin_port = htons(t->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return NULL;
	cfg.auth_methods = methods;
	cfg.password = password;
	cfg.cookie = cookie;
	cfg.on_conn = on_conn;
	cfg.arg = s;
	if ((ctl = torctl_new(base, &cfg)) == NULL ||
	    torctl_adopt_fd(ctl, fd, false) != 0) {
		close(fd);
		return ctl;
	}
	run_until(&s->changes, 0, 10000);
	return ctl;
}

static void
test_wrong_secrets_refused(void)
{
	uint8_t cookie[TORCTL_COOKIE_LEN];
	struct seen s = { 0 };
	struct torctl *ctl;

	ctl = adopt_to(&tor_a, TORCTL_AUTH_HASHEDPASSWORD, "wrong", NULL, &s);
	CHECK(ctl != NULL);
	CHECK_INT_EQ(s.up, 0);
	CHECK_INT_EQ(s.down, 1);
	CHECK(strstr(s.reason, "Password did not match") != NULL);
	torctl_free(ctl);

	/* tor's SAFECOOKIE hash will not match a wrong cookie: we stop. */
	memset(cookie, 0, sizeof(cookie));
	memset(&s, 0, sizeof(s));
	ctl = adopt_to(&tor_a, TORCTL_AUTH_SAFECOOKIE, NULL, cookie, &s);
	CHECK(ctl != NULL);
	CHECK_INT_EQ(s.up, 0);
	CHECK_INT_EQ(s.down, 1);
	CHECK(strstr(s.reason, "SAFECOOKIE server hash is wrong") != NULL);
	torctl_free(ctl);

	/* The right password over an adopted fd works. */
	memset(&s, 0, sizeof(s));
	ctl = adopt_to(&tor_a, TORCTL_AUTH_HASHEDPASSWORD, PASSWORD, NULL, &s);
	CHECK_INT_EQ(s.up, 1);
	torctl_free(ctl);
}

static void
test_commands(void)
{
	const char *keys[] = { "version" }, *badkey[] = { "no-such-key" };
	const char *events[] = { "HS_DESC", "HS_DESC_CONTENT" };
	const char *servers[] = { NOFPR };
	struct seen s = { 0 };
	struct torctl *ctl;
	int n;

	ctl = connect_to(&tor_a, TORCTL_AUTH_SAFECOOKIE, NULL, NULL, &s);
	if (ctl == NULL || s.up != 1) {
		CHECK(!"connected");
		torctl_free(ctl);
		return;
	}
	CHECK_INT_EQ(torctl_subscribe(ctl, "HS_DESC", on_hs_desc, &s), 0);

	n = s.replies;
	CHECK_INT_EQ(torctl_getinfo(ctl, keys, 1, on_reply, &s), 0);
	run_until(&s.replies, n, 5000);
	CHECK_INT_EQ(s.status, TORCTL_OK);
	CHECK(strncmp(s.version, "0.4.", 4) == 0);

	n = s.replies;
	CHECK_INT_EQ(torctl_getinfo(ctl, badkey, 1, on_reply, &s), 0);
	run_until(&s.replies, n, 5000);
	CHECK_INT_EQ(s.status, TORCTL_REJECTED);
	CHECK_INT_EQ(s.code, 552);
	CHECK(strstr(s.msg, "no-such-key") != NULL);

	n = s.replies;
	CHECK_INT_EQ(torctl_setevents(ctl, events, 2, on_reply, &s), 0);
	run_until(&s.replies, n, 5000);
	CHECK_INT_EQ(s.status, TORCTL_OK);

	n = s.replies;
	CHECK_INT_EQ(torctl_signal(ctl, "ACTIVE", on_reply, &s), 0);
	run_until(&s.replies, n, 5000);
	CHECK_INT_EQ(s.status, TORCTL_OK);

	/*
	 * HSFETCH with DisableNetwork and no consensus: tor 0.4.9.11 accepts
	 * it (250 OK) and then only logs "No live consensus"; no HS_DESC
	 * arrives.  Whatever comes must parse, and cannot be RECEIVED.
	 */
	n = s.replies;
	CHECK_INT_EQ(torctl_hsfetch(ctl, ADDR, NULL, 0, on_reply, &s), 0);
	run_until(&s.replies, n, 5000);
	CHECK_INT_EQ(s.status, TORCTL_OK);
	run_for(1500);
	CHECK_INT_EQ(s.received, 0);
	CHECK(torctl_is_ready(ctl));

	/* An HSDir tor does not know: a clean 552 with tor's words. */
	n = s.replies;
	CHECK_INT_EQ(torctl_hsfetch(ctl, ADDR, servers, 1, on_reply, &s), 0);
	run_until(&s.replies, n, 5000);
	CHECK_INT_EQ(s.status, TORCTL_REJECTED);
	CHECK_INT_EQ(s.code, 552);
	CHECK(strstr(s.msg, "not found") != NULL);

	n = s.replies;
	CHECK_INT_EQ(torctl_hspost(ctl, servers, 1, ADDR, "hs-descriptor 3\n",
	    16, on_reply, &s), 0);
	run_until(&s.replies, n, 5000);
	CHECK_INT_EQ(s.status, TORCTL_REJECTED);
	CHECK_INT_EQ(s.code, 552);

	/* Still in step: one more command gets its own reply. */
	n = s.replies;
	CHECK_INT_EQ(torctl_getinfo(ctl, keys, 1, on_reply, &s), 0);
	run_until(&s.replies, n, 5000);
	CHECK_INT_EQ(s.status, TORCTL_OK);
	torctl_free(ctl);
}

/* tor B: NULL authentication; then tor goes away under us. */
static void
test_null_and_tor_goes_away(void)
{
	struct seen s = { 0 };
	struct torctl *ctl;

	ctl = connect_to(&tor_b, 0, NULL, NULL, &s);
	CHECK_INT_EQ(s.up, 1);
	if (ctl != NULL)
		CHECK_INT_EQ(torctl_auth_used(ctl), TORCTL_AUTH_NULL);
	stop_tor(&tor_b);
	run_until(&s.down, 0, 10000);
	CHECK_INT_EQ(s.down, 1);
	CHECK(ctl != NULL && !torctl_is_ready(ctl));
	torctl_free(ctl);
}

int
main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_auth_methods),
		TEST_CASE(test_wrong_secrets_refused),
		TEST_CASE(test_commands),
		TEST_CASE(test_null_and_tor_goes_away),
	};
	char hashed[128];
	int rv;

	if (argc != 2) {
		fprintf(stderr, "usage: %s /path/to/tor\n", argv[0]);
		return 2;
	}
	tor_path = argv[1];
	log_init("test_torctl_realtor", LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL || (base = event_base_new()) == NULL) {
		perror("setup");
		return 1;
	}
	atexit(cleanup);
	if (hash_password(hashed, sizeof(hashed)) == -1) {
		fprintf(stderr, "%s --hash-password failed\n", tor_path);
		return 1;
	}
	if (start_tor(&tor_a, "a", hashed) == -1 ||
	    start_tor(&tor_b, "b", NULL) == -1) {
		fprintf(stderr, "could not start tor\n");
		print_log(&tor_a);
		print_log(&tor_b);
		return 1;
	}
	rv = test_main(cases, sizeof(cases) / sizeof(cases[0]));
	event_base_free(base);
	return rv;
}

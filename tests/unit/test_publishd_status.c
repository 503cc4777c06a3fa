/*
 * The status document: well-formed JSON (checked by a small strict
 * validator here, and by python's json module in the publishd_status_json
 * test, which runs this program with --dump), carrying Onionbalance's
 * fields and ours, with strings escaped.  The metrics of the same state:
 * Prometheus' text format, line by line (and by prometheus_client's
 * parser in publishd_metrics_parse, with --metrics); fetchd's fetch
 * results (PEER_INSTANCE_FETCH) counted per instance and outcome, and
 * refused when they name another key or do not have their exact size.
 */
#include <sys/wait.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer_msg.h"
#include "test.h"
#include "test_publishd_fixture.h"

/* --- a strict JSON validator (RFC 8259, no extensions) ------------------- */

static const char *json_value(const char *p, int depth);

static const char *
ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *
json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0')
				return NULL;
		}
		p++;
	}
	return p + 1;
}

static const char *
json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p))
		while (isdigit((unsigned char)*p))
			p++;
	else
		return NULL;
	return p;
}

static const char *
json_container(const char *p, int depth, char close, int keyed)
{
	p = ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (keyed) {
			if ((p = json_string(ws(p))) == NULL)
				return NULL;
			p = ws(p);
			if (*p++ != ':')
				return NULL;
		}
		if ((p = json_value(p, depth + 1)) == NULL)
			return NULL;
		p = ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *
json_value(const char *p, int depth)
{
	p = ws(p);
	if (depth > 32)
		return NULL;
	switch (*p) {
	case '{':
		return json_container(p, depth, '}', 1);
	case '[':
		return json_container(p, depth, ']', 0);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n':
		return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		return json_number(p);
	}
}

static int
json_valid(const char *doc)
{
	const char *end = json_value(doc, 0);

	return end != NULL && *ws(end) == '\0';
}

/* --- fixtures -------------------------------------------------------------- */

static int
fake_build(void *arg, struct pd *pd, struct pd_service *sv, int k,
    size_t v, time_t now, char *why, size_t whylen)
{
	if (k == PD_SECOND) {
		snprintf(why, whylen, "keyd said \"no\"\\\t");
		return -1;
	}
	free(sv->slot[k].variant[v].desc);
	sv->slot[k].variant[v].desc = strdup("d");
	sv->slot[k].variant[v].desc_len = 1;
	sv->slot[k].variant[v].revision = 42;
	sv->slot[k].variant[v].n_intro = sv->slot[k].variant[v].npicks;
	return 0;
}

static int
fake_post(void *arg, struct pd *pd, struct pd_service *sv, int k,
    size_t v, const char *fpr)
{
	return 0;
}

static char *
status_doc(struct pd *pd, time_t t)
{
	static const struct pd_ops ops = { fake_build, fake_post, NULL, NULL };
	struct peer_liveness_msg l;
	struct pd_net net;
	struct pd_ring ring;
	size_t len;
	char *doc;

	pd_init(pd, &ops);
	pd->uploads_enabled = 1;
	tpd_configure(pd, NULL, 3, 2, t);
	pd_instance_state(pd, 0, 2, pd->services[0].instances[2].key,
	    PEER_STATE_INVALID, t, "bad \x01 sig\xff", t);
	/* Instance 1 dropped by fetchd's probes. */
	memset(&l, 0, sizeof(l));
	l.instance = 1;
	memcpy(l.instance_key, pd->services[0].instances[1].key, 32);
	l.liveness = PEER_LIVENESS_DEAD;
	l.since = l.last_probe = (uint64_t)t;
	memcpy(l.outcome, "intro failed", 13);
	memcpy(l.reason, "no answer in 10 s", 18);
	if (pd_instance_liveness(pd, &l, t) == -1)
		abort();
	tpd_net(&net, TPD_VA);
	tpd_ring(&ring);
	pd_set_network(pd, &net, &ring, t);
	pd_tick(pd, t);
	pd_upload_result(pd, &pd->services[0],
	    pd->services[0].slot[PD_FIRST].targets[0].fpr, 0,
	    "UPLOAD_REJECTED", t + 1);
	pd_upload_result(pd, &pd->services[0],
	    pd->services[0].slot[PD_FIRST].targets[1].fpr, 1, "", t + 1);
	if ((doc = pd_status_json(pd, t + 2, &len)) == NULL)
		abort();
	CHECK_INT_EQ(strlen(doc), len);
	return doc;
}

static void
test_status_valid_json(void)
{
	struct pd pd;
	char *doc = status_doc(&pd, TPD_VA + 60);

	CHECK(json_valid(doc));
	/* the validator does refuse broken documents */
	CHECK(!json_valid("{\"a\":1,}"));
	CHECK(!json_valid("{\"a\":\"\x01\"}"));
	CHECK(!json_valid("[1] x"));
	free(doc);
	pd_clear(&pd);
}

static void
test_status_fields(void)
{
	static const char *const fields[] = {
		/* Onionbalance 0.2.2 hs_v3/status.py */
		"\"services\":", "\"onionAddress\":",
		"\"publishAttemptFirstDescriptor\":\"2023-11-14 22:01:00\"",
		"\"publishAttemptSecondDescriptor\":", "\"instances\":",
		"\"received\":\"2023-11-14 22:01:00\"",
		"\"introSetModified\":", "\"introPointsNum\":2",
		"\"descriptorReceived\":",
		/* ours */
		"\"timestamp\":\"2023-11-14 22:01:02\"", "\"consensus\":{",
		"\"timePeriodLengthMinutes\":1440", "\"hsdirNReplicas\":2",
		"\"state\":\"live\"", "\"state\":\"invalid\"",
		"\"stateDetail\":\"bad \\u0001 sig?\"",
		"\"name\":\"backend \\\"0\\\"\\u000a\"",
		"\"descriptor\":\"first\"", "\"timePeriod\":19674",
		"\"revisionCounter\":42", "\"hsdirs\":[{\"fingerprint\":",
		"\"lastResult\":\"FAILED\"", "\"reason\":\"UPLOAD_REJECTED\"",
		"\"lastResult\":\"UPLOADED\"", "\"state\":\"in-flight\"",
		"\"lastError\":\"keyd said \\\"no\\\"\\\\\\u0009\"",
		/* liveness */
		"\"liveness\":\"unknown\"", "\"liveness\":\"dead\"",
		"\"livenessSince\":\"2023-11-14 22:01:00\"",
		"\"lastProbeOutcome\":\"intro failed\"",
		"\"droppedReason\":\"no answer in 10 s\"",
		"\"droppedReason\":null", "\"inDescriptor\":false",
		"\"inDescriptor\":true", "\"unreachable\":null",
	};
	struct pd pd;
	char *doc = status_doc(&pd, TPD_VA + 60);
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strstr(doc, fields[i]) == NULL) {
			fprintf(stderr, "missing: %s\n", fields[i]);
			test_failures++;
		}
	CHECK(strstr(doc, ".onion\"") != NULL);
	free(doc);
	pd_clear(&pd);
}

static void
test_status_empty(void)
{
	static const struct pd_ops ops = { fake_build, fake_post, NULL, NULL };
	struct pd pd;
	size_t len;
	char *doc;

	pd_init(&pd, &ops);
	doc = pd_status_json(&pd, TPD_VA, &len);
	CHECK(doc != NULL && json_valid(doc));
	CHECK(doc != NULL && strstr(doc, "\"consensus\":null") != NULL);
	free(doc);
	pd_clear(&pd);
}

/* --- the metrics (Prometheus text format 0.0.4) --------------------------- */

static int
is_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || isdigit((unsigned char)s[0]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != ':')
			return 0;
	return 1;
}

/* {k="v",...}: returns the end, or NULL. */
static const char *
metrics_labels(const char *p)
{
	const char *k;

	if (*p != '{')
		return p;
	p++;
	for (;;) {
		for (k = p; isalnum((unsigned char)*p) || *p == '_'; p++)
			;
		if (!is_name(k, (size_t)(p - k)) || *p++ != '=' || *p++ != '"')
			return NULL;
		for (; *p != '"'; p++) {
			if (*p == '\\' && strchr("\\\"n", p[1]) != NULL &&
			    p[1] != '\0')
				p++;
			else if (*p == '\\' || *p == '\n' || *p == '\0')
				return NULL;
		}
		p++;
		if (*p == '}')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

/*
 * The text, line by line: "# HELP", then "# TYPE" of the same family,
 * once each per family, then only that family's samples, each
 * "name{labels} integer".  Returns how many samples, or -1.
 */
static int
metrics_valid(const char *text)
{
	char fam[128] = "", seen[8192] = " ";
	const char *p = text, *eol, *q;
	int samples = 0, have_type = 0;
	size_t n;

	for (; *p != '\0'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			return -1;	/* every line ends in \n */
		if (strncmp(p, "# HELP ", 7) == 0) {
			for (q = p + 7; *q != ' ' && q < eol; q++)
				;
			n = (size_t)(q - p - 7);
			if (!is_name(p + 7, n) || n >= sizeof(fam) - 2)
				return -1;
			snprintf(fam, sizeof(fam), " %.*s ", (int)n, p + 7);
			if (strstr(seen, fam) != NULL)
				return -1;	/* a family twice */
			if (strlen(seen) + strlen(fam) >= sizeof(seen))
				return -1;
			strcat(seen, fam + 1);
			have_type = 0;
			continue;
		}
		if (strncmp(p, "# TYPE ", 7) == 0) {
			n = strlen(fam) - 2;
			if (have_type || fam[0] == '\0' ||
			    strncmp(p + 7, fam + 1, n) != 0 || p[7 + n] != ' ')
				return -1;
			q = p + 8 + n;
			if ((size_t)(eol - q) != strlen("counter") &&
			    (size_t)(eol - q) != strlen("gauge"))
				return -1;
			if (strncmp(q, "counter\n", 8) != 0 &&
			    strncmp(q, "gauge\n", 6) != 0)
				return -1;
			have_type = 1;
			continue;
		}
		/* a sample of the current family */
		n = strlen(fam) - 2;
		if (!have_type || strncmp(p, fam + 1, n) != 0 ||
		    (p[n] != '{' && p[n] != ' '))
			return -1;
		if ((q = metrics_labels(p + n)) == NULL || *q++ != ' ')
			return -1;
		if (*q == '-')
			q++;
		if (!isdigit((unsigned char)*q))
			return -1;
		while (isdigit((unsigned char)*q))
			q++;
		if (q != eol)
			return -1;
		samples++;
	}
	return samples;
}

/*
 * fetchd's PEER_INSTANCE_FETCH naming instance inst of service 0 with
 * key, as publishd's peer channel hands it over; len cuts or pads the
 * payload (PEER_INSTANCE_FETCH_LEN: as built).
 */
static void
fetch_msg(struct ipc_msg *msg, uint32_t inst, const uint8_t key[32],
    uint32_t outcome, size_t len)
{
	static uint8_t buf[IPC_HDR_LEN + PEER_CAP];
	struct peer_fetch_msg r;
	struct ipc_builder b;

	memset(&r, 0, sizeof(r));
	r.instance = inst;
	memcpy(r.instance_key, key, 32);
	r.outcome = outcome;
	if (peer_fetch_build(&b, buf, sizeof(buf), &r) == -1 &&
	    outcome != 0)
		abort();
	if (outcome == 0)
		memset(buf + IPC_HDR_LEN + 40, 0, 4);
	memset(buf + IPC_HDR_LEN + PEER_INSTANCE_FETCH_LEN, 0, 8);
	memset(msg, 0, sizeof(*msg));
	msg->type = PEER_INSTANCE_FETCH;
	msg->payload = buf + IPC_HDR_LEN;
	msg->len = len;
	msg->fd = -1;
}

static void
send_fetch(struct pd *pd, uint32_t inst, uint32_t outcome)
{
	struct ipc_msg msg;

	fetch_msg(&msg, inst, pd->services[0].instances[inst].key, outcome,
	    PEER_INSTANCE_FETCH_LEN);
	pd_peer_message(pd, &msg, TPD_VA);
}

static char *
metrics_doc(struct pd *pd, struct keyd_client *kc, time_t t)
{
	char *doc = status_doc(pd, t);
	size_t len;
	char *text;

	free(doc);
	/* Instance 0: two new descriptors and a failure. */
	send_fetch(pd, 0, PEER_FETCH_NEW);
	send_fetch(pd, 0, PEER_FETCH_NEW);
	send_fetch(pd, 0, PEER_FETCH_FAILED);
	memset(kc, 0, sizeof(*kc));
	kc->signatures = 7;
	kc->refused[KEYD_ERR_REVISION] = 2;
	pd->have_parent_counters = 1;
	pd->child_restarts[1] = 3;
	pd->keyd_channel_drops = 1;
	if ((text = pd_metrics_text(pd, kc, "0.1.0\"x", t + 2, &len)) == NULL)
		abort();
	CHECK_INT_EQ(strlen(text), len);
	return text;
}

static void
test_metrics_format(void)
{
	struct keyd_client kc;
	struct pd pd;
	char *text = metrics_doc(&pd, &kc, TPD_VA + 60);

	CHECK(metrics_valid(text) > 50);
	/* the checker does refuse broken texts */
	CHECK(metrics_valid("# HELP a x\n# TYPE a gauge\na 1\n") == 1);
	CHECK(metrics_valid("# HELP a x\n# TYPE a gauge\na 1") == -1);
	CHECK(metrics_valid("# HELP a x\n# TYPE a gauge\nb 1\n") == -1);
	CHECK(metrics_valid("# HELP a x\n# TYPE a gauge\n# HELP a x\n") ==
	    -1);
	CHECK(metrics_valid("# HELP a x\n# TYPE a gauge\na{l=\"\n\"} 1\n") ==
	    -1);
	CHECK(metrics_valid("# HELP a x\n# TYPE a gauge\na{l=\"\\q\"} 1\n") ==
	    -1);
	CHECK(metrics_valid("# HELP a x\n# TYPE a summary\na 1\n") == -1);
	free(text);
	pd_clear(&pd);
}

static void
test_metrics_samples(void)
{
	static const char *const samples[] = {
		"onionbalanced_build_info{version=\"0.1.0\\\"x\"} 1\n",
		"onionbalanced_child_restarts_total{child=\"fetchd\"} 3\n",
		"onionbalanced_keyd_request_channel_drops_total 1\n",
		"onionbalanced_keyd_signatures_seen_by_publishd_total 7\n",
		"_refusals_seen_by_publishd_total{error=\"revision\"} 2\n",
		"onionbalanced_control_connected 1\n",
		"\",result=\"succeeded\"} 1\n", "\",result=\"failed\"} 1\n",
		"onionbalanced_descriptor_revision{service=\"",
		"\",descriptor=\"first\",time_period=\"19674\"} 42\n",
		"onionbalanced_descriptor_age_seconds{",
		"onionbalanced_descriptor_hsdirs_uploaded{",
		"onionbalanced_hsdir_uploads_total{service=\"",
		"onionbalanced_hsdir_last_success_timestamp_seconds{",
		/* the instance name 'backend "0"\n', escaped */
		",instance=\"backend \\\"0\\\"\\n\",address=\"",
		"\",state=\"invalid\"} 1\n", "\",liveness=\"dead\"} 1\n",
		"onionbalanced_instance_intro_points{",
		"onionbalanced_instance_descriptor_age_seconds{",
		"\",outcome=\"invalid\"} 1\n",
		"\",outcome=\"new\"} 2\n", "\",outcome=\"failed\"} 1\n",
		"# TYPE onionbalanced_instance_fetches_total counter\n",
		"# TYPE onionbalanced_uploads_total counter\n",
		"# TYPE onionbalanced_instance_state gauge\n",
	};
	struct keyd_client kc;
	struct pd pd;
	char *text = metrics_doc(&pd, &kc, TPD_VA + 60);
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		if (strstr(text, samples[i]) == NULL) {
			fprintf(stderr, "missing: %s\n", samples[i]);
			test_failures++;
		}
	/* the second descriptor never built: no revision, no age */
	CHECK(strstr(text, "descriptor=\"second\",time_period=\"19675\"} 0\n"
	    "# HELP onionbalanced_descriptor_built") == NULL);
	free(text);
	pd_clear(&pd);
}

/* instance_fetches_total of instance i and outcome o; -1 if absent. */
static long long
fetches(const struct pd *pd, const char *text, size_t i, uint32_t o)
{
	const struct pd_service *sv = &pd->services[0];
	char want[512];
	const char *p;

	snprintf(want, sizeof(want), "\nonionbalanced_instance_fetches_total"
	    "{service=\"%s.onion\",instance=\"backend \\\"%zu\\\"\\n\","
	    "address=\"%s.onion\",outcome=\"%s\"} ", sv->address, i,
	    sv->instances[i].address, peer_fetch_outcome_name(o));
	if ((p = strstr(text, want)) == NULL)
		return -1;
	return strtoll(p + strlen(want), NULL, 10);
}

/* Every instance's five counters, as they stand: want[i][o]. */
static void
check_fetches(struct pd *pd, long long want[][PEER_FETCH_EXPIRED + 1],
    size_t ninst)
{
	size_t len, i;
	uint32_t o;
	char *text = pd_metrics_text(pd, NULL, "v", TPD_VA, &len);

	if (text == NULL)
		abort();
	CHECK(metrics_valid(text) > 0);
	for (i = 0; i < ninst; i++)
		for (o = PEER_FETCH_NEW; o <= PEER_FETCH_EXPIRED; o++)
			CHECK_INT_EQ(fetches(pd, text, i, o), want[i][o]);
	free(text);
}

/* pd_peer_message() in a child: whether it ended it as fatalx() does. */
static int
fatal_in_child(struct pd *pd, const struct ipc_msg *msg)
{
	int status;
	pid_t pid;

	fflush(NULL);		/* or the child's exit() writes it again */
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		pd_peer_message(pd, msg, TPD_VA);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		abort();
	return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

static void
test_metrics_fetches(void)
{
	static const struct pd_ops ops = { fake_build, fake_post, NULL, NULL };
	long long want[3][PEER_FETCH_EXPIRED + 1];
	struct ipc_msg msg;
	struct pd pd;
	uint32_t o;

	pd_init(&pd, &ops);
	tpd_configure(&pd, NULL, 3, 2, TPD_VA);
	/* Every outcome of every instance from the start, at 0. */
	memset(want, 0, sizeof(want));
	check_fetches(&pd, want, 3);
	/* Each outcome rises by its own results, for its instance only. */
	for (o = PEER_FETCH_NEW; o <= PEER_FETCH_EXPIRED; o++) {
		send_fetch(&pd, 1, o);
		want[1][o]++;
		check_fetches(&pd, want, 3);
	}
	send_fetch(&pd, 2, PEER_FETCH_NOT_NEWER);
	send_fetch(&pd, 2, PEER_FETCH_NOT_NEWER);
	want[2][PEER_FETCH_NOT_NEWER] += 2;
	check_fetches(&pd, want, 3);
	/* Another instance's key, or a number we lack: not counted. */
	fetch_msg(&msg, 1, pd.services[0].instances[2].key, PEER_FETCH_NEW,
	    PEER_INSTANCE_FETCH_LEN);
	pd_peer_message(&pd, &msg, TPD_VA);
	fetch_msg(&msg, 3, pd.services[0].instances[2].key, PEER_FETCH_NEW,
	    PEER_INSTANCE_FETCH_LEN);
	pd_peer_message(&pd, &msg, TPD_VA);
	check_fetches(&pd, want, 3);
	/* A wrong size or an unknown outcome is a broken fetchd: fatal. */
	fetch_msg(&msg, 1, pd.services[0].instances[1].key, PEER_FETCH_NEW,
	    PEER_INSTANCE_FETCH_LEN);
	CHECK(!fatal_in_child(&pd, &msg));
	msg.len = PEER_INSTANCE_FETCH_LEN - 1;
	CHECK(fatal_in_child(&pd, &msg));
	msg.len = PEER_INSTANCE_FETCH_LEN + 1;
	CHECK(fatal_in_child(&pd, &msg));
	fetch_msg(&msg, 1, pd.services[0].instances[1].key, 0,
	    PEER_INSTANCE_FETCH_LEN);
	CHECK(fatal_in_child(&pd, &msg));
	check_fetches(&pd, want, 3);
	pd_clear(&pd);
}

static void
test_metrics_empty(void)
{
	static const struct pd_ops ops = { fake_build, fake_post, NULL, NULL };
	struct pd pd;
	size_t len;
	char *text;

	pd_init(&pd, &ops);
	text = pd_metrics_text(&pd, NULL, "v", TPD_VA, &len);
	CHECK(text != NULL && metrics_valid(text) > 0);
	CHECK(text != NULL && strstr(text, "child_restarts") == NULL);
	free(text);
	pd_clear(&pd);
}

static const struct test_case cases[] = {
	TEST_CASE(test_metrics_format),
	TEST_CASE(test_metrics_samples),
	TEST_CASE(test_metrics_empty),
	TEST_CASE(test_metrics_fetches),
	TEST_CASE(test_status_valid_json),
	TEST_CASE(test_status_fields),
	TEST_CASE(test_status_empty),
};

int
main(int argc, char *argv[])
{
	struct pd pd;
	char *doc;

	if (argc == 2 && strcmp(argv[1], "--metrics") == 0) {
		struct keyd_client kc;

		doc = metrics_doc(&pd, &kc, TPD_VA + 60);
		fputs(doc, stdout);
		free(doc);
		pd_clear(&pd);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--dump") == 0) {
		doc = status_doc(&pd, TPD_VA + 60);
		fputs(doc, stdout);
		free(doc);
		pd_clear(&pd);
		return 0;
	}
	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}

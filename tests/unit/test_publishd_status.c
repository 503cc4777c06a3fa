/*
 * The status document: well-formed JSON (checked by a small strict
 * validator here, and by python's json module in the publishd_status_json
 * test, which runs this program with --dump), carrying Onionbalance's
 * fields and ours, with strings escaped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    time_t now, char *why, size_t whylen)
{
	if (k == PD_SECOND) {
		snprintf(why, whylen, "keyd said \"no\"\\\t");
		return -1;
	}
	free(sv->slot[k].desc);
	sv->slot[k].desc = strdup("d");
	sv->slot[k].desc_len = 1;
	sv->slot[k].revision = 42;
	return 0;
}

static int
fake_post(void *arg, struct pd *pd, struct pd_service *sv, int k,
    const char *fpr)
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

static const struct test_case cases[] = {
	TEST_CASE(test_status_valid_json),
	TEST_CASE(test_status_fields),
	TEST_CASE(test_status_empty),
};

int
main(int argc, char *argv[])
{
	struct pd pd;
	char *doc;

	if (argc == 2 && strcmp(argv[1], "--dump") == 0) {
		doc = status_doc(&pd, TPD_VA + 60);
		fputs(doc, stdout);
		free(doc);
		pd_clear(&pd);
		return 0;
	}
	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}

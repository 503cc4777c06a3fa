#include <string.h>

#include "torctl_events.h"

#define MAX_WORD	256

static const char *const hs_desc_actions[] = {
	[TORCTL_HS_DESC_REQUESTED] = "REQUESTED",
	[TORCTL_HS_DESC_UPLOAD] = "UPLOAD",
	[TORCTL_HS_DESC_RECEIVED] = "RECEIVED",
	[TORCTL_HS_DESC_UPLOADED] = "UPLOADED",
	[TORCTL_HS_DESC_IGNORE] = "IGNORE",
	[TORCTL_HS_DESC_FAILED] = "FAILED",
	[TORCTL_HS_DESC_CREATED] = "CREATED",
};

const char *
torctl_hs_desc_action_str(enum torctl_hs_desc_action a)
{
	if ((size_t)a < sizeof(hs_desc_actions) / sizeof(hs_desc_actions[0]))
		return hs_desc_actions[a];
	return "?";
}

static int
all_in(const char *s, size_t len, const char *set)
{
	size_t i;

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

/* A v3 address as tor prints it in events: 56 base32 chars, no .onion. */
static int
valid_onion(const char *s)
{
	return all_in(s, TORCTL_ONION_LEN, "abcdefghijklmnopqrstuvwxyz234567");
}

static int
valid_blinded(const char *s)
{
	return all_in(s, TORCTL_BLINDED_B64_LEN,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

/*
 * "$<40 hex>" optionally followed by "~nick" or "=nick" (1-19 alnum), or
 * "UNKNOWN".  Copies the fingerprint (upper case) to fpr, "" for UNKNOWN.
 */
static int
parse_longname(const char *s, char fpr[TORCTL_FPR_HEX_LEN + 1])
{
	const char *hex = "0123456789ABCDEFabcdef";
	size_t i, nick;

	if (strcmp(s, "UNKNOWN") == 0) {
		fpr[0] = '\0';
		return 0;
	}
	if (s[0] != '$')
		return -1;
	for (i = 0; i < TORCTL_FPR_HEX_LEN; i++) {
		if (s[1 + i] == '\0' || strchr(hex, s[1 + i]) == NULL)
			return -1;
		fpr[i] = (char)(s[1 + i] >= 'a' ? s[1 + i] - 32 : s[1 + i]);
	}
	fpr[i] = '\0';
	s += 1 + TORCTL_FPR_HEX_LEN;
	if (*s == '\0')
		return 0;
	if (*s != '~' && *s != '=')
		return -1;
	nick = strlen(++s);
	if (nick < 1 || nick > 19 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") != nick)
		return -1;
	return 0;
}

int
torctl_event_keyword(const struct torctl_reply *r, char *out, size_t outlen)
{
	if (r->nlines == 0 || !torctl_reply_is_event(r))
		return -1;
	return torctl_word(r->lines[0].text, 0, out, outlen);
}

static int
parse_action(const char *s, enum torctl_hs_desc_action *a)
{
	size_t i;

	for (i = 0; i < sizeof(hs_desc_actions) / sizeof(hs_desc_actions[0]);
	    i++) {
		if (strcmp(s, hs_desc_actions[i]) == 0) {
			*a = (enum torctl_hs_desc_action)i;
			return 0;
		}
	}
	return -1;
}

/* The optional words after HsDir: [DescriptorID] then KEY=VALUE pairs. */
static int
parse_hs_desc_tail(const char *text, struct torctl_hs_desc *ev,
    const char **why)
{
	char w[MAX_WORD];
	size_t i = 5;

	if (torctl_word(text, i, w, sizeof(w)) == 0 && strchr(w, '=') == NULL) {
		if (!valid_blinded(w)) {
			*why = "malformed descriptor id";
			return -1;
		}
		strcpy(ev->blinded, w);
		i++;
	}
	for (; torctl_word(text, i, w, sizeof(w)) == 0; i++) {
		if (strchr(w, '=') == NULL) {
			*why = "unexpected word after the descriptor id";
			return -1;
		}
	}
	if (strstr(text, " REASON=") != NULL &&
	    torctl_kv_get(text, "REASON", ev->reason, sizeof(ev->reason)) ==
	    -1) {
		*why = "malformed REASON";
		return -1;
	}
	if (strstr(text, " HSDIR_INDEX=") != NULL &&
	    (torctl_kv_get(text, "HSDIR_INDEX", ev->hsdir_index,
	    sizeof(ev->hsdir_index)) == -1 ||
	    !all_in(ev->hsdir_index, 64, "0123456789ABCDEFabcdef"))) {
		*why = "malformed HSDIR_INDEX";
		return -1;
	}
	return 0;
}

int
torctl_parse_hs_desc(const struct torctl_reply *r, struct torctl_hs_desc *ev,
    const char **why)
{
	const char *text;
	char w[MAX_WORD];

	memset(ev, 0, sizeof(*ev));
	*why = "not a one-line HS_DESC event";
	if (r->nlines != 1 || r->code != 650)
		return -1;
	text = r->lines[0].text;
	if (torctl_word(text, 0, w, sizeof(w)) == -1 ||
	    strcmp(w, "HS_DESC") != 0)
		return -1;
	*why = "unknown action";
	if (torctl_word(text, 1, w, sizeof(w)) == -1 ||
	    parse_action(w, &ev->action) == -1)
		goto fail;
	*why = "malformed onion address";
	if (torctl_word(text, 2, ev->address, sizeof(ev->address)) == -1 ||
	    !valid_onion(ev->address))
		goto fail;
	*why = "malformed auth type";
	if (torctl_word(text, 3, ev->auth, sizeof(ev->auth)) == -1 ||
	    !all_in(ev->auth, strlen(ev->auth), "ABCDEFGHIJKLMNOPQRSTUVWXYZ_"))
		goto fail;
	*why = "malformed HSDir name";
	if (torctl_word(text, 4, ev->hsdir, sizeof(ev->hsdir)) == -1 ||
	    parse_longname(ev->hsdir, ev->hsdir_fpr) == -1)
		goto fail;
	if (parse_hs_desc_tail(text, ev, why) == -1)
		goto fail;
	return 0;
 fail:
	memset(ev, 0, sizeof(*ev));
	return -1;
}

int
torctl_parse_hs_desc_content(const struct torctl_reply *r,
    struct torctl_hs_desc_content *ev, const char **why)
{
	const struct torctl_line *l = &r->lines[0];
	char w[MAX_WORD];

	memset(ev, 0, sizeof(*ev));
	*why = "not an HS_DESC_CONTENT event";
	if (r->nlines != 2 || r->code != 650 || l->sep != '+' ||
	    l->data == NULL || strcmp(r->lines[1].text, "OK") != 0)
		return -1;
	if (torctl_word(l->text, 0, w, sizeof(w)) == -1 ||
	    strcmp(w, "HS_DESC_CONTENT") != 0)
		return -1;
	*why = "malformed HS_DESC_CONTENT header";
	if (torctl_word(l->text, 1, ev->address, sizeof(ev->address)) == -1 ||
	    !valid_onion(ev->address) ||
	    torctl_word(l->text, 2, ev->blinded, sizeof(ev->blinded)) == -1 ||
	    !valid_blinded(ev->blinded) ||
	    torctl_word(l->text, 3, ev->hsdir, sizeof(ev->hsdir)) == -1 ||
	    parse_longname(ev->hsdir, ev->hsdir_fpr) == -1 ||
	    torctl_word(l->text, 4, w, sizeof(w)) == 0) {
		memset(ev, 0, sizeof(*ev));
		return -1;
	}
	ev->body = l->data;
	/* tor writes an empty body as one empty line. */
	ev->body_len = l->data_len == 1 ? 0 : l->data_len;
	return 0;
}

int
torctl_parse_status_client(const struct torctl_reply *r,
    struct torctl_status_client *ev, const char **why)
{
	const char *text;
	char w[MAX_WORD];

	memset(ev, 0, sizeof(*ev));
	*why = "not a one-line STATUS_CLIENT event";
	if (r->nlines != 1 || r->code != 650)
		return -1;
	text = r->lines[0].text;
	if (torctl_word(text, 0, w, sizeof(w)) == -1 ||
	    strcmp(w, "STATUS_CLIENT") != 0)
		return -1;
	*why = "malformed STATUS_CLIENT event";
	if (torctl_word(text, 1, ev->severity, sizeof(ev->severity)) == -1 ||
	    (strcmp(ev->severity, "NOTICE") != 0 &&
	    strcmp(ev->severity, "WARN") != 0 &&
	    strcmp(ev->severity, "ERR") != 0) ||
	    torctl_word(text, 2, ev->action, sizeof(ev->action)) == -1 ||
	    !all_in(ev->action, strlen(ev->action),
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_")) {
		memset(ev, 0, sizeof(*ev));
		return -1;
	}
	return 0;
}

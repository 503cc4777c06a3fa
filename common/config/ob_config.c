/*
 * Parses Onionbalance's config.yaml (plus our additive settings) with the
 * libyaml document API into a struct ob_config.
 *
 * The walk is driven by one key table per mapping (top level, service,
 * instance): each key names a parser for its value.  Every error leaves
 * through config_error(), which writes the single "FILE:LINE:COL: KEY:
 * reason" line; everything allocated hangs off the struct being built, so
 * an error path only has to free that struct.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <yaml.h>

#include "auth_clients.h"
#include "log.h"
#include "ob_config.h"
#include "onion_address.h"

#define KEYPATH_MAX	128	/* "services[63].instances[999].address" */
#define QUOTED_MAX	80	/* a value as it appears in a message */

struct config_parser {
	const char	*name;		/* the file, for messages */
	const char	*keydir;	/* where relative key paths resolve */
	yaml_document_t	 doc;
	struct ob_config *cfg;
	char		*err;
	size_t		 errlen;
};

typedef int (*config_parse_fn)(struct config_parser *, yaml_node_t *,
    void *, const char *);

struct config_key {
	const char	*name;
	config_parse_fn	 parse;
	size_t		 offset;	/* of the field parse() fills */
	const char	*required;	/* what it is, if it must be given */
};

#define CONFIG_KEYS_MAX	16

static int config_error_at(struct config_parser *, struct ob_config_pos,
    const char *, const char *, ...) OB_PRINTF(4, 5);
static int config_error(struct config_parser *, const yaml_node_t *,
    const char *, const char *, ...) OB_PRINTF(4, 5);
static int config_verror(struct config_parser *, struct ob_config_pos,
    const char *, const char *, va_list) OB_PRINTF(4, 0);

static struct ob_config_pos
node_pos(const yaml_node_t *node)
{
	struct ob_config_pos pos;

	pos.line = (unsigned long)node->start_mark.line + 1;
	pos.column = (unsigned long)node->start_mark.column + 1;
	return pos;
}

/* One line, "FILE:LINE:COL: KEY: reason" (no "KEY: " when it is ""). */
static int
config_verror(struct config_parser *p, struct ob_config_pos pos,
    const char *keypath, const char *fmt, va_list ap)
{
	int n;

	n = snprintf(p->err, p->errlen, "%s:%lu:%lu: %s%s", p->name,
	    pos.line, pos.column, keypath, keypath[0] != '\0' ? ": " : "");
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	return -1;
}

static int
config_error_at(struct config_parser *p, struct ob_config_pos pos,
    const char *keypath, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(p, pos, keypath, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * An error about a node: its position, where libyaml counts lines and
 * columns from 0 and editors and compilers from 1.  Without a node (an
 * empty file) the position is 1:1.
 */
static int
config_error(struct config_parser *p, const yaml_node_t *node,
    const char *keypath, const char *fmt, ...)
{
	struct ob_config_pos pos = { 1, 1 };
	va_list ap;

	if (node != NULL)
		pos = node_pos(node);
	va_start(ap, fmt);
	config_verror(p, pos, keypath, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * A key path longer than KEYPATH_MAX is cut: it only names a place in a
 * message, and the line and column say exactly where.
 */
static void
keypath_join(char out[KEYPATH_MAX], const char *parent, const char *child)
{
	int n;

	if (parent[0] == '\0')
		n = snprintf(out, KEYPATH_MAX, "%s", child);
	else
		n = snprintf(out, KEYPATH_MAX, "%s.%s", parent, child);
	if (n < 0)
		out[0] = '\0';
}

/*
 * A value as it may appear in a message: printable ASCII only (a config
 * error must not smuggle terminal escapes into a log), and not too long.
 */
static void
quote_value(char out[QUOTED_MAX], const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 < QUOTED_MAX; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < len)
		out[n - 3] = out[n - 2] = out[n - 1] = '.';
	out[n] = '\0';
}

/* YAML's null: an empty or "~"/"null" plain scalar. */
static int
node_is_null(const yaml_node_t *node)
{
	const char *v;

	if (node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)node->data.scalar.value;
	return node->data.scalar.length == 0 || strcmp(v, "~") == 0 ||
	    strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	    strcmp(v, "NULL") == 0;
}

static const char *
node_describe(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return node_is_null(node) ? "nothing" : "a single value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_NO_NODE:
		break;
	}
	return "an empty node";
}

/*
 * The string of a scalar node, or NULL after an error.  NUL bytes (YAML
 * allows "\0" in double quotes) would silently cut a path short.
 */
static const char *
scalar_string(struct config_parser *p, yaml_node_t *node, const char *keypath,
    size_t *lenp)
{
	const char *v;
	size_t len;

	if (node->type != YAML_SCALAR_NODE || node_is_null(node)) {
		config_error(p, node, keypath, "expected a value, found %s",
		    node_describe(node));
		return NULL;
	}
	v = (const char *)node->data.scalar.value;
	len = node->data.scalar.length;
	if (memchr(v, '\0', len) != NULL) {
		config_error(p, node, keypath, "contains a NUL byte");
		return NULL;
	}
	if (lenp != NULL)
		*lenp = len;
	return v;
}

/*
 * Lexically cleans dir + "/" + rel (or rel alone when absolute): drops
 * empty and "." components.  ".." stays: resolving it lexically would be
 * wrong across a symlink.
 */
static char *
path_join_clean(const char *dir, const char *rel)
{
	char *joined, *out, *seg, *save = NULL;
	size_t n = 0, size;
	int absolute;

	if (rel[0] == '/' || dir == NULL || dir[0] == '\0')
		dir = "";
	size = strlen(dir) + strlen(rel) + 3;
	if ((joined = malloc(size)) == NULL)
		return NULL;
	if ((out = malloc(size)) == NULL) {
		free(joined);
		return NULL;
	}
	snprintf(joined, size, "%s/%s", dir, rel);
	absolute = dir[0] == '/' || (dir[0] == '\0' && rel[0] == '/');
	for (seg = strtok_r(joined, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		n += (size_t)snprintf(out + n, size - n, "%s%s",
		    (n > 0 || absolute) ? "/" : "", seg);
	}
	if (n == 0)
		snprintf(out, size, "%s", absolute ? "/" : ".");
	free(joined);
	return out;
}

/* The directory part of a path, lexically ("." when it has none). */
static char *
path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int
set_string(struct config_parser *p, yaml_node_t *node, char **field,
    const char *value, const char *keypath)
{
	char *copy;

	if ((copy = strdup(value)) == NULL)
		return config_error(p, node, keypath, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

/* A path, or nothing ("" or null) for "do not use one". */
static int
parse_optional_path(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	const char *v;
	size_t len;
	char **target = field;

	if (node_is_null(node) || (node->type == YAML_SCALAR_NODE &&
	    node->data.scalar.length == 0)) {
		free(*target);
		*target = NULL;
		return 0;
	}
	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	if (len >= PATH_MAX)
		return config_error(p, node, keypath,
		    "path longer than %d bytes", PATH_MAX - 1);
	return set_string(p, node, target, v, keypath);
}

static int
parse_nonempty_string(struct config_parser *p, yaml_node_t *node,
    void *field, const char *keypath)
{
	const char *v;
	size_t len;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	if (len == 0)
		return config_error(p, node, keypath, "empty");
	if (len > OB_CONFIG_MAX_NAME_LEN)
		return config_error(p, node, keypath,
		    "longer than %d bytes", OB_CONFIG_MAX_NAME_LEN);
	return set_string(p, node, field, v, keypath);
}

/*
 * The control-port password: copied, then wiped from the parsed document
 * so that only one copy lives on (ob_config_free() wipes that one).
 */
static int
parse_secret(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	int rv;

	rv = parse_nonempty_string(p, node, field, keypath);
	if (node->type == YAML_SCALAR_NODE)
		sodium_memzero(node->data.scalar.value,
		    node->data.scalar.length);
	return rv;
}

static int
parse_log_level(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	enum log_level *target = field;
	char quoted[QUOTED_MAX];
	const char *v;
	size_t len;
	int level;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	if ((level = log_level_from_name(v)) == -1) {
		quote_value(quoted, v, len);
		return config_error(p, node, keypath, "unknown log level "
		    "\"%s\" (debug, info, warning, error)", quoted);
	}
	*target = (enum log_level)level;
	return 0;
}

/* A decimal number in [min, max]; nothing else (no sign, no "0x"). */
static int
parse_number(struct config_parser *p, yaml_node_t *node, const char *keypath,
    unsigned long min, unsigned long max, unsigned long *out)
{
	char quoted[QUOTED_MAX];
	const char *v;
	size_t len, i;
	unsigned long n = 0;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	for (i = 0; i < len && v[i] >= '0' && v[i] <= '9' && n <= max; i++)
		n = n * 10 + (unsigned long)(v[i] - '0');
	if (len == 0 || i < len || n < min || n > max) {
		quote_value(quoted, v, len);
		return config_error(p, node, keypath,
		    "\"%s\" is not a number from %lu to %lu", quoted, min, max);
	}
	*out = n;
	return 0;
}

static int
parse_port(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	uint16_t *target = field;
	unsigned long n;

	if (parse_number(p, node, keypath, 1, 65535, &n) == -1)
		return -1;
	*target = (uint16_t)n;
	return 0;
}

/* A number of seconds in [min, max] into an unsigned int. */
static int
parse_seconds(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath, unsigned long min, unsigned long max)
{
	unsigned int *target = field;
	unsigned long n;

	if (parse_number(p, node, keypath, min, max, &n) == -1)
		return -1;
	*target = (unsigned int)n;
	return 0;
}

static int
parse_fetch_interval(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	return parse_seconds(p, node, field, keypath,
	    OB_CONFIG_MIN_FETCH_INTERVAL, OB_CONFIG_MAX_FETCH_INTERVAL);
}

static int
parse_probe_interval(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	return parse_seconds(p, node, field, keypath,
	    OB_CONFIG_MIN_PROBE_INTERVAL, OB_CONFIG_MAX_PROBE_INTERVAL);
}

static int
parse_probe_timeout(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	return parse_seconds(p, node, field, keypath,
	    OB_CONFIG_MIN_PROBE_TIMEOUT, OB_CONFIG_MAX_PROBE_TIMEOUT);
}

static int
parse_probe_port(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	struct ob_config_probe *probe = field;

	return parse_port(p, node, &probe->port, keypath);
}

static int
parse_health_check(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	static const char *const names[] = { "none", "tcp", "http" };
	struct ob_config_probe *probe = field;
	char quoted[QUOTED_MAX];
	const char *v;
	size_t len, i;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(v, names[i], len) == 0) {
			probe->check = (enum ob_health_check)i;
			probe->check_set = 1;
			return 0;
		}
	quote_value(quoted, v, len);
	return config_error(p, node, keypath, "unknown health check \"%s\" "
	    "(none, tcp, http)", quoted);
}

/* An HTTP path: "/" then printable ASCII without spaces. */
static int
parse_health_check_path(struct config_parser *p, yaml_node_t *node,
    void *field, const char *keypath)
{
	struct ob_config_probe *probe = field;
	char quoted[QUOTED_MAX];
	const char *v;
	size_t len, i;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	for (i = 0; i < len && v[i] > ' ' && v[i] < 0x7f; i++)
		;
	if (len == 0 || v[0] != '/' || i < len ||
	    len > OB_CONFIG_MAX_PROBE_PATH) {
		quote_value(quoted, v, len);
		return config_error(p, node, keypath, "\"%s\" is not an HTTP "
		    "path (starts with '/', no spaces or control characters, "
		    "at most %d bytes)", quoted, OB_CONFIG_MAX_PROBE_PATH);
	}
	memcpy(probe->path, v, len);
	probe->path[len] = '\0';
	return 0;
}

/*
 * An instance's probe settings: its own, else its service's, else the
 * defaults.  A path without an HTTP check is kept (harmless) so that
 * switching the check on later needs one line.
 */
static void
resolve_probe(struct ob_config_probe *in, const struct ob_config_probe *sv)
{
	if (in->port == 0)
		in->port = sv->port != 0 ? sv->port :
		    OB_CONFIG_DEFAULT_PROBE_PORT;
	if (!in->check_set) {
		in->check = sv->check_set ? sv->check : OB_HEALTH_NONE;
		in->check_set = 1;
	}
	if (in->path[0] == '\0')
		memcpy(in->path, sv->path[0] != '\0' ? sv->path : "/",
		    strlen(sv->path[0] != '\0' ? sv->path : "/") + 1);
}

/* An IPv4 or IPv6 address: the control port is on this host, by number. */
static int
parse_ip_address(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	struct in6_addr addr;
	char quoted[QUOTED_MAX];
	const char *v;
	size_t len;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	if (inet_pton(AF_INET, v, &addr) != 1 &&
	    inet_pton(AF_INET6, v, &addr) != 1) {
		quote_value(quoted, v, len);
		return config_error(p, node, keypath, "\"%s\" is not an IPv4 "
		    "or IPv6 address", quoted);
	}
	return set_string(p, node, field, v, keypath);
}

/*
 * A system user name as Debian's adduser accepts them by default
 * (lower case, digits, '-', '_'; not starting with a digit or '-'), at
 * most 32 bytes like the utmp limit; or "#N", a numeric uid (and gid)
 * without a passwd entry, which the tests use (docs/sandbox.md).
 */
static int
parse_user(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	static const char rest[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";
	char quoted[QUOTED_MAX];
	const char *v;
	size_t len;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	if (len >= 2 && len <= 11 && v[0] == '#' &&
	    strspn(v + 1, "0123456789") == len - 1)
		return set_string(p, node, field, v, keypath);
	if (len == 0 || len > 32 || strspn(v, rest) != len ||
	    !((v[0] >= 'a' && v[0] <= 'z') || v[0] == '_')) {
		quote_value(quoted, v, len);
		return config_error(p, node, keypath, "\"%s\" is not a valid "
		    "user name (a-z, 0-9, '_', '-'; at most 32)", quoted);
	}
	return set_string(p, node, field, v, keypath);
}

/*
 * Settings of Onionbalance v2 that v3 (and so we) ignore: a v2 config
 * still loads, with a warning that names them.
 */
static int
key_is_onionbalance_v2(const char *name)
{
	static const char *const v2_keys[] = {
		"REFRESH_INTERVAL", "PUBLISH_CHECK_INTERVAL", "INITIAL_DELAY",
		"LOG_LOCATION", "TOR_CONTROL_PASSWORD", "REPLICAS",
		"HSDIR_SET", "MAX_INTRO_POINTS", "DESCRIPTOR_OVERLAP_PERIOD",
		"DESCRIPTOR_UPLOAD_PERIOD", "DISTINCT_DESCRIPTORS", "auth",
		/* Older still; EOTK's and Onionspray's ob-gather writes them. */
		"TOR_ADDRESS", "TOR_PORT", "DESCRIPTOR_VALIDITY_PERIOD",
	};
	size_t i;

	for (i = 0; i < sizeof(v2_keys) / sizeof(v2_keys[0]); i++)
		if (strcmp(name, v2_keys[i]) == 0)
			return 1;
	return 0;
}

static void
warn_unknown_key(struct config_parser *p, const yaml_node_t *key,
    const char *keypath)
{
	struct ob_config_pos pos = node_pos(key);

	p->cfg->nwarnings++;
	if (key_is_onionbalance_v2((const char *)key->data.scalar.value))
		log_warnx("%s:%lu:%lu: %s: Onionbalance v2 setting, ignored",
		    p->name, pos.line, pos.column, keypath);
	else
		log_warnx("%s:%lu:%lu: %s: unknown key, ignored", p->name,
		    pos.line, pos.column, keypath);
}

static const struct config_key *
find_key(const struct config_key *keys, size_t nkeys, const yaml_node_t *key)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (key->data.scalar.length == strlen(keys[i].name) &&
		    strcmp((const char *)key->data.scalar.value,
		    keys[i].name) == 0)
			return &keys[i];
	return NULL;
}

static int
check_required(struct config_parser *p, yaml_node_t *node,
    const char *keypath, const struct config_key *keys, size_t nkeys,
    const unsigned long *seen)
{
	char childpath[KEYPATH_MAX];
	size_t i;

	for (i = 0; i < nkeys; i++) {
		if (keys[i].required == NULL || seen[i] != 0)
			continue;
		keypath_join(childpath, keypath, keys[i].name);
		return config_error(p, node, childpath, "missing (%s)",
		    keys[i].required);
	}
	return 0;
}

/*
 * Walks one mapping: each known key's value goes to its parser, an
 * unknown key is a warning, a repeated key an error (YAML loaders keep
 * the last one silently, which hides a mistake), then the required keys
 * must all have been seen.
 */
static int
parse_mapping(struct config_parser *p, yaml_node_t *node, const char *keypath,
    const struct config_key *keys, size_t nkeys, void *target)
{
	unsigned long seen[CONFIG_KEYS_MAX] = { 0 };
	char childpath[KEYPATH_MAX], quoted[QUOTED_MAX];
	const struct config_key *k;
	yaml_node_pair_t *pair;
	yaml_node_t *key, *value;
	size_t i;

	if (node->type != YAML_MAPPING_NODE)
		return config_error(p, node, keypath, "expected a mapping of "
		    "settings, found %s", node_describe(node));
	for (pair = node->data.mapping.pairs.start;
	    pair < node->data.mapping.pairs.top; pair++) {
		key = yaml_document_get_node(&p->doc, pair->key);
		value = yaml_document_get_node(&p->doc, pair->value);
		if (key == NULL || value == NULL)
			return config_error(p, node, keypath, "broken mapping");
		if (key->type != YAML_SCALAR_NODE ||
		    memchr(key->data.scalar.value, '\0',
		    key->data.scalar.length) != NULL)
			return config_error(p, key, keypath, "a key must be a "
			    "name, found %s", node_describe(key));
		quote_value(quoted, (const char *)key->data.scalar.value,
		    key->data.scalar.length);
		keypath_join(childpath, keypath, quoted);
		/* Ignoring a merge would silently drop what it brings in. */
		if (strcmp(quoted, "<<") == 0)
			return config_error(p, key, childpath, "YAML merge "
			    "keys are not supported; write the settings out");
		if ((k = find_key(keys, nkeys, key)) == NULL) {
			warn_unknown_key(p, key, childpath);
			continue;
		}
		i = (size_t)(k - keys);
		if (seen[i] != 0)
			return config_error(p, key, childpath,
			    "given twice (first on line %lu)", seen[i]);
		seen[i] = node_pos(key).line;
		if (k->parse(p, value, (char *)target + k->offset,
		    childpath) == -1)
			return -1;
	}
	return check_required(p, node, keypath, keys, nkeys, seen);
}

/* A list of 1 to max items; returns the count, or 0 after an error. */
static size_t
check_list(struct config_parser *p, yaml_node_t *node, const char *keypath,
    size_t max, const char *what)
{
	size_t n;

	if (node->type != YAML_SEQUENCE_NODE) {
		config_error(p, node, keypath, "expected a list of %s, found %s",
		    what, node_describe(node));
		return 0;
	}
	n = (size_t)(node->data.sequence.items.top -
	    node->data.sequence.items.start);
	if (n == 0)
		config_error(p, node, keypath, "the list is empty (at least "
		    "one is needed)");
	else if (n > max) {
		config_error(p, node, keypath, "%zu %s, more than the %zu "
		    "allowed", n, what, max);
		return 0;
	}
	return n;
}

static yaml_node_t *
list_item(struct config_parser *p, yaml_node_t *list, size_t i)
{
	return yaml_document_get_node(&p->doc,
	    list->data.sequence.items.start[i]);
}

/* The placeholder that onionbalance-config writes for each instance. */
static int
is_generator_placeholder(const char *v, size_t len)
{
	return len >= 2 && v[0] == '<' && v[len - 1] == '>';
}

static int
parse_instance_address(struct config_parser *p, yaml_node_t *node,
    void *field, const char *keypath)
{
	struct ob_config_instance *inst = field;
	enum onion_address_error error;
	char quoted[QUOTED_MAX];
	const char *v;
	size_t len;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	quote_value(quoted, v, len);
	if (is_generator_placeholder(v, len))
		return config_error(p, node, keypath, "\"%s\" is the "
		    "placeholder that onionbalance-config writes: put the "
		    "onion address of a backend here", quoted);
	error = onion_address_to_pubkey(inst->pubkey, v, len);
	if (error != ONION_ADDRESS_OK)
		return config_error(p, node, keypath,
		    "bad onion address \"%s\": %s", quoted,
		    onion_address_strerror(error));
	onion_address_from_pubkey(inst->address, inst->pubkey);
	inst->address_pos = node_pos(node);
	return 0;
}

/*
 * A file or directory named in the config: relative to the config file's
 * directory, as "key:" is.  field is the char * to set; the position goes
 * to the struct ob_config_pos right after it (both layouts below).
 */
static int
parse_config_path(struct config_parser *p, yaml_node_t *node, char **out,
    struct ob_config_pos *pos, const char *keypath)
{
	const char *v;
	size_t len;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	if (len == 0)
		return config_error(p, node, keypath, "empty");
	if (len >= PATH_MAX)
		return config_error(p, node, keypath,
		    "path longer than %d bytes", PATH_MAX - 1);
	if (memchr(v, '\0', len) != NULL)
		return config_error(p, node, keypath, "NUL byte in the path");
	if ((*out = path_join_clean(p->keydir, v)) == NULL)
		return config_error(p, node, keypath, "out of memory");
	*pos = node_pos(node);
	return 0;
}

static int
parse_instance_client_key(struct config_parser *p, yaml_node_t *node,
    void *field, const char *keypath)
{
	struct ob_config_instance *inst = field;

	return parse_config_path(p, node, &inst->client_key_path,
	    &inst->client_key_pos, keypath);
}

static int
parse_client_auth_dir(struct config_parser *p, yaml_node_t *node,
    void *field, const char *keypath)
{
	struct ob_config_service *svc = field;

	return parse_config_path(p, node, &svc->client_auth_dir,
	    &svc->client_auth_dir_pos, keypath);
}

static const struct config_key instance_keys[] = {
	{ "address", parse_instance_address, 0,
	    "the onion address of a backend" },
	{ "name", parse_nonempty_string,
	    offsetof(struct ob_config_instance, name), NULL },
	/* Ours: docs/configuration.md, "Liveness". */
	{ "probe-port", parse_probe_port,
	    offsetof(struct ob_config_instance, probe), NULL },
	{ "health-check", parse_health_check,
	    offsetof(struct ob_config_instance, probe), NULL },
	{ "health-check-path", parse_health_check_path,
	    offsetof(struct ob_config_instance, probe), NULL },
	/* Ours: docs/configuration.md, "Restricted backends". */
	{ "client-key", parse_instance_client_key, 0, NULL },
};

/* An instance listed twice would get twice the share of clients. */
static int
check_duplicate_instance(struct config_parser *p,
    const struct ob_config_service *svc, size_t i, const char *listpath)
{
	char addrpath[KEYPATH_MAX];
	size_t j;

	for (j = 0; j < i; j++) {
		if (sodium_memcmp(svc->instances[j].pubkey,
		    svc->instances[i].pubkey, 32) != 0)
			continue;
		snprintf(addrpath, sizeof(addrpath), "%s[%zu].address",
		    listpath, i);
		return config_error_at(p, svc->instances[i].address_pos,
		    addrpath, "%s is listed twice "
		    "(also %s[%zu] on line %lu)", svc->instances[i].address,
		    listpath, j, svc->instances[j].address_pos.line);
	}
	return 0;
}

static int
parse_instances(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	struct ob_config_service *svc = field;
	char itempath[KEYPATH_MAX];
	yaml_node_t *item;
	size_t n, i;

	if ((n = check_list(p, node, keypath, OB_CONFIG_MAX_INSTANCES,
	    "instances")) == 0)
		return -1;
	if ((svc->instances = calloc(n, sizeof(*svc->instances))) == NULL)
		return config_error(p, node, keypath, "out of memory");
	svc->ninstances = n;
	for (i = 0; i < n; i++) {
		if ((item = list_item(p, node, i)) == NULL)
			return config_error(p, node, keypath, "broken list");
		snprintf(itempath, sizeof(itempath), "%s[%zu]", keypath, i);
		if (parse_mapping(p, item, itempath, instance_keys,
		    sizeof(instance_keys) / sizeof(instance_keys[0]),
		    &svc->instances[i]) == -1)
			return -1;
		if (check_duplicate_instance(p, svc, i, keypath) == -1)
			return -1;
	}
	return 0;
}

/* Resolved against the config file's directory, as Onionbalance does. */
static int
parse_service_key(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	struct ob_config_service *svc = field;
	const char *v;
	size_t len;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	if (len == 0)
		return config_error(p, node, keypath, "empty");
	if (len >= PATH_MAX)
		return config_error(p, node, keypath,
		    "path longer than %d bytes", PATH_MAX - 1);
	if ((svc->key_path = path_join_clean(p->keydir, v)) == NULL)
		return config_error(p, node, keypath, "out of memory");
	svc->key_pos = node_pos(node);
	return 0;
}

/* descriptors: "auto" (distinct when one is not enough) or "shared". */
static int
parse_descriptors(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	int *shared_only = field;
	char quoted[QUOTED_MAX];
	const char *v;
	size_t len;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	if (len == 4 && memcmp(v, "auto", 4) == 0)
		*shared_only = 0;
	else if (len == 6 && memcmp(v, "shared", 6) == 0)
		*shared_only = 1;
	else {
		quote_value(quoted, v, len);
		return config_error(p, node, keypath, "unknown value \"%s\" "
		    "(auto, shared)", quoted);
	}
	return 0;
}

/* A tor client refuses a descriptor with more than 20 intro points. */
static int
parse_per_descriptor(struct config_parser *p, yaml_node_t *node,
    void *field, const char *keypath)
{
	unsigned int *target = field;
	unsigned long n;

	if (parse_number(p, node, keypath, 1, OB_CONFIG_MAX_PER_DESCRIPTOR,
	    &n) == -1)
		return -1;
	*target = (unsigned int)n;
	return 0;
}

/*
 * authorized-clients: a list of tor's "descriptor:x25519:<base32>" keys
 * and of directories of .auth files (relative to the config file's
 * directory), read later by ob_config_load().
 */
static int
parse_auth_client_item(struct config_parser *p, yaml_node_t *node,
    struct ob_config_service *svc, const char *itempath)
{
	uint8_t key[AUTH_CLIENT_KEY_LEN], (*grown)[32];
	char quoted[QUOTED_MAX];
	const char *v;
	size_t len;

	if ((v = scalar_string(p, node, itempath, &len)) == NULL)
		return -1;
	if (len >= 11 && memcmp(v, "descriptor:", 11) == 0) {
		if (auth_client_parse(v, len, key) == -1) {
			quote_value(quoted, v, len);
			return config_error(p, node, itempath, "\"%s\" is not "
			    "\"%s<key in base32, %d characters>\"", quoted,
			    AUTH_CLIENT_PREFIX, AUTH_CLIENT_B32_LEN);
		}
		grown = reallocarray(svc->auth_clients,
		    svc->nauth_clients + 1, sizeof(*grown));
		if (grown == NULL)
			return config_error(p, node, itempath, "out of memory");
		svc->auth_clients = grown;
		memcpy(grown[svc->nauth_clients++], key, sizeof(key));
		return 0;
	}
	if (len == 0)
		return config_error(p, node, itempath, "empty");
	if (len >= PATH_MAX)
		return config_error(p, node, itempath,
		    "path longer than %d bytes", PATH_MAX - 1);
	if (svc->nauth_client_dirs == OB_CONFIG_MAX_AUTH_CLIENT_DIRS)
		return config_error(p, node, itempath, "more than %d "
		    "directories", OB_CONFIG_MAX_AUTH_CLIENT_DIRS);
	if ((svc->auth_client_dirs[svc->nauth_client_dirs] =
	    path_join_clean(p->keydir, v)) == NULL)
		return config_error(p, node, itempath, "out of memory");
	svc->auth_client_dir_pos[svc->nauth_client_dirs++] = node_pos(node);
	return 0;
}

static int
parse_authorized_clients(struct config_parser *p, yaml_node_t *node,
    void *field, const char *keypath)
{
	struct ob_config_service *svc = field;
	char itempath[KEYPATH_MAX];
	yaml_node_t *item;
	size_t n, i;

	if ((n = check_list(p, node, keypath, OB_CONFIG_MAX_AUTH_CLIENTS,
	    "client keys and directories")) == 0)
		return -1;
	svc->auth_clients_pos = node_pos(node);
	for (i = 0; i < n; i++) {
		if ((item = list_item(p, node, i)) == NULL)
			return config_error(p, node, keypath, "broken list");
		snprintf(itempath, sizeof(itempath), "%s[%zu]", keypath, i);
		if (parse_auth_client_item(p, item, svc, itempath) == -1)
			return -1;
	}
	return 0;
}

static const struct config_key service_keys[] = {
	{ "key", parse_service_key, 0,
	    "the file with the frontend's private key" },
	{ "instances", parse_instances, 0,
	    "the list of backend instances" },
	{ "probe-port", parse_probe_port,
	    offsetof(struct ob_config_service, probe), NULL },
	{ "health-check", parse_health_check,
	    offsetof(struct ob_config_service, probe), NULL },
	{ "health-check-path", parse_health_check_path,
	    offsetof(struct ob_config_service, probe), NULL },
	/* Ours: docs/configuration.md, "Distinct descriptors". */
	{ "descriptors", parse_descriptors,
	    offsetof(struct ob_config_service, shared_only), NULL },
	{ "intro-points-per-descriptor", parse_per_descriptor,
	    offsetof(struct ob_config_service, per_descriptor), NULL },
	/* Ours: docs/configuration.md, "Client authorization". */
	{ "authorized-clients", parse_authorized_clients, 0, NULL },
	/* Ours: docs/configuration.md, "Restricted backends". */
	{ "client-auth-dir", parse_client_auth_dir, 0, NULL },
};

/*
 * Two services with one key file would publish the same frontend twice.
 * (The same key under two names is caught later, by identity, in
 * ob_config_set_identity().)
 */
static int
check_duplicate_key_path(struct config_parser *p, size_t i,
    const char *keypath)
{
	const struct ob_config *cfg = p->cfg;
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(cfg->services[j].key_path,
		    cfg->services[i].key_path) == 0)
			return config_error_at(p, cfg->services[i].key_pos,
			    keypath, "same key file "
			    "as services[%zu].key on line %lu (%s)", j,
			    cfg->services[j].key_pos.line,
			    cfg->services[i].key_path);
	return 0;
}

static int
parse_services(struct config_parser *p, yaml_node_t *node, void *field,
    const char *keypath)
{
	struct ob_config *cfg = field;
	char itempath[KEYPATH_MAX], keypathbuf[KEYPATH_MAX];
	yaml_node_t *item;
	size_t n, i;

	if ((n = check_list(p, node, keypath, OB_CONFIG_MAX_SERVICES,
	    "services")) == 0)
		return -1;
	if ((cfg->services = calloc(n, sizeof(*cfg->services))) == NULL)
		return config_error(p, node, keypath, "out of memory");
	cfg->nservices = n;
	for (i = 0; i < n; i++) {
		if ((item = list_item(p, node, i)) == NULL)
			return config_error(p, node, keypath, "broken list");
		snprintf(itempath, sizeof(itempath), "%s[%zu]", keypath, i);
		if (parse_mapping(p, item, itempath, service_keys,
		    sizeof(service_keys) / sizeof(service_keys[0]),
		    &cfg->services[i]) == -1)
			return -1;
		keypath_join(keypathbuf, itempath, "key");
		if (check_duplicate_key_path(p, i, keypathbuf) == -1)
			return -1;
		for (size_t j = 0; j < cfg->services[i].ninstances; j++)
			resolve_probe(&cfg->services[i].instances[j].probe,
			    &cfg->services[i].probe);
	}
	return 0;
}

/*
 * One metrics-location item is TCP when it ends in ":PORT" and has no
 * '/' (a path with a colon in its last part would need a "./"): the
 * docs say so.
 */
static int
metrics_item_is_tcp(const char *v, size_t len)
{
	const char *colon = strrchr(v, ':');

	if (colon == NULL || memchr(v, '/', len) != NULL || colon[1] == '\0')
		return 0;
	return strspn(colon + 1, "0123456789") == strlen(colon + 1);
}

/*
 * ADDRESS:PORT of the metrics listener.  Only loopback: the metrics are
 * served without TLS or authentication, and what they show (backends,
 * HSDirs, timings) is for the operator alone.
 */
static int
parse_metrics_tcp(struct config_parser *p, yaml_node_t *node, const char *v,
    const char *keypath)
{
	struct in6_addr a6;
	struct in_addr a4;
	char addr[INET6_ADDRSTRLEN + 2], quoted[QUOTED_MAX];
	const char *colon = strrchr(v, ':');
	size_t alen = (size_t)(colon - v);
	unsigned long port;
	int loopback;

	quote_value(quoted, v, strlen(v));
	port = strtoul(colon + 1, NULL, 10);
	if (strlen(colon + 1) > 5 || port == 0 || port > 65535)
		return config_error(p, node, keypath, "\"%s\": the port is "
		    "not in 1..65535", quoted);
	if (alen >= sizeof(addr))
		return config_error(p, node, keypath, "\"%s\" is not "
		    "ADDRESS:PORT with a numeric address", quoted);
	memcpy(addr, v, alen);
	addr[alen] = '\0';
	if (alen >= 2 && addr[0] == '[' && addr[alen - 1] == ']') {
		addr[alen - 1] = '\0';
		memmove(addr, addr + 1, alen - 1);
		if (inet_pton(AF_INET6, addr, &a6) != 1)
			return config_error(p, node, keypath, "\"%s\" is not "
			    "ADDRESS:PORT with a numeric address", quoted);
		loopback = IN6_IS_ADDR_LOOPBACK(&a6);
	} else if (inet_pton(AF_INET, addr, &a4) == 1)
		loopback = (ntohl(a4.s_addr) >> 24) == 127;
	else
		return config_error(p, node, keypath, "\"%s\" is not "
		    "ADDRESS:PORT with a numeric address (an IPv6 address in "
		    "brackets)", quoted);
	if (!loopback)
		return config_error(p, node, keypath, "\"%s\" is not a "
		    "loopback address (127.0.0.0/8 or [::1]): the metrics "
		    "have no TLS or authentication; put a reverse proxy with "
		    "TLS and authentication in front of a loopback listener",
		    quoted);
	if (p->cfg->metrics_address != NULL)
		return config_error(p, node, keypath, "more than one TCP "
		    "listener");
	if (set_string(p, node, &p->cfg->metrics_address, addr,
	    keypath) == -1)
		return -1;
	p->cfg->metrics_port = (uint16_t)port;
	return 0;
}

static int
parse_metrics_item(struct config_parser *p, yaml_node_t *node,
    const char *keypath)
{
	const char *v;
	size_t len;

	if ((v = scalar_string(p, node, keypath, &len)) == NULL)
		return -1;
	if (len == 0)
		return config_error(p, node, keypath, "an empty location");
	if (metrics_item_is_tcp(v, len))
		return parse_metrics_tcp(p, node, v, keypath);
	if (p->cfg->metrics_socket_path != NULL)
		return config_error(p, node, keypath, "more than one unix "
		    "socket");
	if (len >= PATH_MAX)
		return config_error(p, node, keypath,
		    "path longer than %d bytes", PATH_MAX - 1);
	return set_string(p, node, &p->cfg->metrics_socket_path, v, keypath);
}

/*
 * metrics-location: a unix socket path and/or a loopback ADDRESS:PORT,
 * one value or a list of at most two; nothing (null) is off.
 */
static int
parse_metrics_location(struct config_parser *p, yaml_node_t *node,
    void *field, const char *keypath)
{
	char itempath[KEYPATH_MAX];
	yaml_node_t *item;
	size_t n, i;

	(void)field;
	free(p->cfg->metrics_socket_path);
	free(p->cfg->metrics_address);
	p->cfg->metrics_socket_path = p->cfg->metrics_address = NULL;
	p->cfg->metrics_port = 0;
	if (node_is_null(node))
		return 0;
	if (node->type != YAML_SEQUENCE_NODE)
		return parse_metrics_item(p, node, keypath);
	if ((n = check_list(p, node, keypath, 2, "locations")) == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((item = list_item(p, node, i)) == NULL)
			return config_error(p, node, keypath, "broken list");
		snprintf(itempath, sizeof(itempath), "%s[%zu]", keypath, i);
		if (parse_metrics_item(p, item, itempath) == -1)
			return -1;
	}
	return 0;
}

static const struct config_key top_keys[] = {
	/* Onionbalance's. */
	{ "services", parse_services, 0,
	    "the list of frontend services" },
	{ "status-socket-location", parse_optional_path,
	    offsetof(struct ob_config, status_socket_path), NULL },
	/*
	 * Onionbalance v2's names of two settings, which EOTK's and
	 * Onionspray's ob-gather still writes (docs/onionspray.md): read
	 * with the same meaning (check_v2_names()).
	 */
	{ "STATUS_SOCKET_LOCATION", parse_optional_path,
	    offsetof(struct ob_config, status_socket_path), NULL },
	{ "LOG_LEVEL", parse_log_level,
	    offsetof(struct ob_config, log_level), NULL },
	/* Ours. */
	{ "metrics-location", parse_metrics_location, 0, NULL },
	{ "log-level", parse_log_level,
	    offsetof(struct ob_config, log_level), NULL },
	{ "tor-control-socket", parse_optional_path,
	    offsetof(struct ob_config, control_socket), NULL },
	{ "tor-control-address", parse_ip_address,
	    offsetof(struct ob_config, control_address), NULL },
	{ "tor-control-port", parse_port,
	    offsetof(struct ob_config, control_port), NULL },
	{ "tor-control-password", parse_secret,
	    offsetof(struct ob_config, control_password), NULL },
	{ "fetch-interval", parse_fetch_interval,
	    offsetof(struct ob_config, fetch_interval), NULL },
	{ "probe-interval", parse_probe_interval,
	    offsetof(struct ob_config, probe_interval), NULL },
	{ "probe-timeout", parse_probe_timeout,
	    offsetof(struct ob_config, probe_timeout), NULL },
	{ "keyd-user", parse_user,
	    offsetof(struct ob_config, keyd_user), NULL },
	{ "fetchd-user", parse_user,
	    offsetof(struct ob_config, fetchd_user), NULL },
	{ "publishd-user", parse_user,
	    offsetof(struct ob_config, publishd_user), NULL },
};

_Static_assert(sizeof(top_keys) / sizeof(top_keys[0]) <= CONFIG_KEYS_MAX,
    "seen[] in parse_mapping() is too small");

static struct ob_config *
config_new(const char *name)
{
	struct ob_config *cfg;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return NULL;
	cfg->log_level = OB_CONFIG_DEFAULT_LOG_LEVEL;
	cfg->control_port = OB_CONFIG_DEFAULT_CONTROL_PORT;
	cfg->fetch_interval = OB_CONFIG_DEFAULT_FETCH_INTERVAL;
	cfg->probe_interval = OB_CONFIG_DEFAULT_PROBE_INTERVAL;
	cfg->probe_timeout = OB_CONFIG_DEFAULT_PROBE_TIMEOUT;
	cfg->path = strdup(name);
	cfg->control_socket = strdup(OB_CONFIG_DEFAULT_CONTROL_SOCKET);
	cfg->control_address = strdup(OB_CONFIG_DEFAULT_CONTROL_ADDRESS);
	cfg->keyd_user = strdup(OB_CONFIG_DEFAULT_KEYD_USER);
	cfg->fetchd_user = strdup(OB_CONFIG_DEFAULT_FETCHD_USER);
	cfg->publishd_user = strdup(OB_CONFIG_DEFAULT_PUBLISHD_USER);
	if (cfg->path == NULL || cfg->control_socket == NULL ||
	    cfg->control_address == NULL || cfg->keyd_user == NULL ||
	    cfg->fetchd_user == NULL || cfg->publishd_user == NULL) {
		ob_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void
ob_config_free(struct ob_config *cfg)
{
	size_t i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nservices; i++) {
		for (j = 0; j < cfg->services[i].ninstances; j++) {
			struct ob_config_instance *in =
			    &cfg->services[i].instances[j];

			free(in->name);
			free(in->client_key_path);
			free(in->client_key_file);
			sodium_memzero(in->client_key, sizeof(in->client_key));
		}
		free(cfg->services[i].instances);
		free(cfg->services[i].key_path);
		free(cfg->services[i].auth_clients);
		for (j = 0; j < cfg->services[i].nauth_client_dirs; j++)
			free(cfg->services[i].auth_client_dirs[j]);
		free(cfg->services[i].client_auth_dir);
	}
	free(cfg->services);
	if (cfg->control_password != NULL) {
		sodium_memzero(cfg->control_password,
		    strlen(cfg->control_password));
		free(cfg->control_password);
	}
	free(cfg->path);
	free(cfg->status_socket_path);
	free(cfg->metrics_socket_path);
	free(cfg->metrics_address);
	free(cfg->control_socket);
	free(cfg->control_address);
	free(cfg->keyd_user);
	free(cfg->fetchd_user);
	free(cfg->publishd_user);
	free(cfg);
}

/*
 * libyaml's reader reports a byte offset (bad UTF-8, say) rather than a
 * line; count the lines so that every message has the same shape.
 */
static void
offset_to_pos(const char *buf, size_t len, size_t offset,
    struct ob_config_pos *pos)
{
	size_t i;

	pos->line = 1;
	pos->column = 1;
	for (i = 0; i < offset && i < len; i++) {
		if (buf[i] == '\n') {
			pos->line++;
			pos->column = 1;
		} else
			pos->column++;
	}
}

static int
yaml_error(struct config_parser *p, const yaml_parser_t *parser,
    const char *buf, size_t len)
{
	struct ob_config_pos pos, ctx;
	const char *problem;

	problem = parser->problem != NULL ? parser->problem : "unknown";
	if (parser->error == YAML_MEMORY_ERROR)
		return config_error(p, NULL, "", "out of memory");
	if (parser->error == YAML_READER_ERROR) {
		offset_to_pos(buf, len, parser->problem_offset, &pos);
		return config_error_at(p, pos, "", "not a YAML text: %s",
		    problem);
	}
	pos.line = (unsigned long)parser->problem_mark.line + 1;
	pos.column = (unsigned long)parser->problem_mark.column + 1;
	if (parser->context == NULL)
		return config_error_at(p, pos, "", "YAML syntax error: %s",
		    problem);
	ctx.line = (unsigned long)parser->context_mark.line + 1;
	return config_error_at(p, pos, "", "YAML syntax error: %s (%s on "
	    "line %lu)", problem, parser->context, ctx.line);
}

/*
 * A second document ("---") would be silently ignored by a loader that
 * reads one; Onionbalance's safe_load() refuses it, and so do we.
 */
static int
check_single_document(struct config_parser *p, yaml_parser_t *parser,
    const char *buf, size_t len)
{
	yaml_document_t next;
	yaml_node_t *root;
	int rv = 0;

	if (!yaml_parser_load(parser, &next))
		return yaml_error(p, parser, buf, len);
	if ((root = yaml_document_get_root_node(&next)) != NULL)
		rv = config_error(p, root, "", "a second YAML document begins "
		    "here; the file must have one");
	yaml_document_delete(&next);
	return rv;
}

/* The key node named name in the mapping map, or NULL. */
static const yaml_node_t *
mapping_key(struct config_parser *p, const yaml_node_t *map, const char *name)
{
	const yaml_node_pair_t *pair;
	const yaml_node_t *key;

	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		key = yaml_document_get_node(&p->doc, pair->key);
		if (key != NULL && key->type == YAML_SCALAR_NODE &&
		    key->data.scalar.length == strlen(name) &&
		    memcmp(key->data.scalar.value, name, strlen(name)) == 0)
			return key;
	}
	return NULL;
}

/*
 * A setting under both its v2 name and its own is an error, as a key
 * given twice is: which one wins would depend on the order.
 */
static int
check_v2_names(struct config_parser *p, const yaml_node_t *root)
{
	static const char *const names[][2] = {
		{ "STATUS_SOCKET_LOCATION", "status-socket-location" },
		{ "LOG_LEVEL", "log-level" },
	};
	const yaml_node_t *v2, *v3;
	size_t i;

	if (root->type != YAML_MAPPING_NODE)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v2 = mapping_key(p, root, names[i][0]);
		v3 = mapping_key(p, root, names[i][1]);
		if (v2 != NULL && v3 != NULL)
			return config_error(p, v2, names[i][0], "the same "
			    "setting as %s on line %lu (its Onionbalance v2 "
			    "name); keep one", names[i][1], node_pos(v3).line);
	}
	return 0;
}

static int
parse_document(struct config_parser *p, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	int rv = -1;

	if (!yaml_parser_initialize(&parser))
		return config_error(p, NULL, "", "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &p->doc)) {
		yaml_error(p, &parser, buf, len);
		yaml_parser_delete(&parser);
		return -1;
	}
	if (check_single_document(p, &parser, buf, len) == -1)
		goto out;
	if ((root = yaml_document_get_root_node(&p->doc)) == NULL) {
		config_error(p, NULL, "services", "missing (the file is "
		    "empty; onionbalanced-config writes a first one)");
		goto out;
	}
	if (check_v2_names(p, root) == -1)
		goto out;
	rv = parse_mapping(p, root, "", top_keys,
	    sizeof(top_keys) / sizeof(top_keys[0]), p->cfg);
out:
	yaml_document_delete(&p->doc);
	yaml_parser_delete(&parser);
	return rv;
}

static int
config_parse(const char *buf, size_t len, const char *name,
    const char *keydir, struct ob_config **out, char *err, size_t errlen)
{
	struct config_parser p;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.keydir = keydir;
	p.err = err;
	p.errlen = errlen;
	if ((p.cfg = config_new(name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (parse_document(&p, buf, len) == -1) {
		ob_config_free(p.cfg);
		return -1;
	}
	*out = p.cfg;
	return 0;
}

int
ob_config_parse_buffer(const char *buf, size_t len, const char *name,
    struct ob_config **out, char *err, size_t errlen)
{
	char *keydir;
	int rv;

	if ((keydir = path_dirname(name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	rv = config_parse(buf, len, name, keydir, out, err, errlen);
	free(keydir);
	return rv;
}

const char *
ob_config_default_path(void)
{
	const char *env = getenv("ONIONBALANCE_CONFIG");

	return (env != NULL && env[0] != '\0') ? env : OB_CONFIG_DEFAULT_PATH;
}

/* Reads the whole file; it must be a regular file of sane size. */
static char *
read_config_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size > OB_CONFIG_MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    OB_CONFIG_MAX_FILE_SIZE);
		goto fail;
	}
	/* One byte more than the cap, to notice a file that grew. */
	if ((buf = malloc(OB_CONFIG_MAX_FILE_SIZE + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while ((n = read(fd, buf + len, OB_CONFIG_MAX_FILE_SIZE + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || (len += (size_t)n) > OB_CONFIG_MAX_FILE_SIZE)
			break;
	}
	if (n == -1 || len > OB_CONFIG_MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: %s", path, n == -1 ?
		    strerror(errno) : "grew beyond the size limit");
		goto fail;
	}
	close(fd);
	*lenp = len;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* Lexically absolute, against the working directory when relative. */
static char *
absolute_path(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return path_join_clean(NULL, path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	return path_join_clean(cwd, path);
}

/*
 * The environment, as Onionbalance reads it: a non-empty
 * ONIONBALANCE_STATUS_SOCKET_LOCATION or ONIONBALANCE_LOG_LEVEL wins
 * over the file; ONIONBALANCE_TOR_CONTROL_SOCKET wins whenever it is
 * set, and set but empty means "no control socket" (Onionbalance then
 * fails to open "" and goes on to TCP).
 */
static int
apply_environment(struct ob_config *cfg, char *err, size_t errlen)
{
	char quoted[QUOTED_MAX];
	const char *env;
	char **field;
	int level;

	if ((env = getenv("ONIONBALANCE_STATUS_SOCKET_LOCATION")) != NULL &&
	    env[0] != '\0') {
		field = &cfg->status_socket_path;
		free(*field);
		if ((*field = strdup(env)) == NULL)
			goto nomem;
	}
	if ((env = getenv("ONIONBALANCE_TOR_CONTROL_SOCKET")) != NULL) {
		field = &cfg->control_socket;
		free(*field);
		*field = NULL;
		if (env[0] != '\0' && (*field = strdup(env)) == NULL)
			goto nomem;
	}
	if ((env = getenv("ONIONBALANCE_LOG_LEVEL")) != NULL &&
	    env[0] != '\0') {
		if ((level = log_level_from_name(env)) == -1) {
			quote_value(quoted, env, strlen(env));
			snprintf(err, errlen, "environment variable "
			    "ONIONBALANCE_LOG_LEVEL: unknown log level \"%s\" "
			    "(debug, info, warning, error)", quoted);
			return -1;
		}
		cfg->log_level = (enum log_level)level;
	}
	return 0;
nomem:
	snprintf(err, errlen, "%s: out of memory", cfg->path);
	return -1;
}

/*
 * A relative socket path means the working directory at start, as in
 * Onionbalance; pin it now, before anyone changes directory.
 */
static int
absolute_socket_paths(struct ob_config *cfg, char *err, size_t errlen)
{
	char **fields[3], *abs;
	size_t i;

	fields[0] = &cfg->status_socket_path;
	fields[1] = &cfg->control_socket;
	fields[2] = &cfg->metrics_socket_path;
	for (i = 0; i < 3; i++) {
		if (*fields[i] == NULL || (*fields[i])[0] == '/')
			continue;
		if ((abs = absolute_path(*fields[i])) == NULL) {
			snprintf(err, errlen, "%s: %s: %s", cfg->path,
			    *fields[i], strerror(errno));
			return -1;
		}
		free(*fields[i]);
		*fields[i] = abs;
	}
	return 0;
}

/* No key twice: a copy would be a mistake (two names, one client). */
static int
check_auth_clients(const struct ob_config *cfg, size_t i, char *err,
    size_t errlen)
{
	const struct ob_config_service *svc = &cfg->services[i];
	size_t a, b;

	for (a = 0; a < svc->nauth_clients; a++)
		for (b = a + 1; b < svc->nauth_clients; b++)
			if (sodium_memcmp(svc->auth_clients[a],
			    svc->auth_clients[b], 32) == 0) {
				snprintf(err, errlen, "%s:%lu:%lu: services"
				    "[%zu].authorized-clients: the same client "
				    "key is given twice (keys %zu and %zu, "
				    "counting the directories' after the "
				    "list's)", cfg->path,
				    svc->auth_clients_pos.line,
				    svc->auth_clients_pos.column, i, a + 1,
				    b + 1);
				return -1;
			}
	return 0;
}

/*
 * Each authorized-clients directory's .auth files; a reload reads them
 * again, so that SIGHUP adds and removes clients.
 */
static int
read_auth_client_dirs(struct ob_config *cfg, char *err, size_t errlen)
{
	struct ob_config_service *svc;
	char why[PATH_MAX + 160];
	size_t i, j;

	for (i = 0; i < cfg->nservices; i++) {
		svc = &cfg->services[i];
		for (j = 0; j < svc->nauth_client_dirs; j++)
			if (auth_client_dir_read(svc->auth_client_dirs[j],
			    &svc->auth_clients, &svc->nauth_clients,
			    OB_CONFIG_MAX_AUTH_CLIENTS, why, sizeof(why)) ==
			    -1) {
				snprintf(err, errlen, "%s:%lu:%lu: services"
				    "[%zu].authorized-clients: %s", cfg->path,
				    svc->auth_client_dir_pos[j].line,
				    svc->auth_client_dir_pos[j].column, i,
				    why);
				return -1;
			}
		if (check_auth_clients(cfg, i, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* client-auth-dir: the file for an instance's address gives its key. */
static int
client_dir_found(void *arg, const char *file, const char *address,
    const uint8_t key[32], char *err, size_t errlen)
{
	struct ob_config_service *svc = arg;
	struct ob_config_instance *in;
	size_t j;

	for (j = 0; j < svc->ninstances; j++) {
		in = &svc->instances[j];
		/* An instance's own client-key comes first. */
		if (in->client_key_path != NULL ||
		    strcmp(in->address, address) != 0)
			continue;
		if (in->client_key_file != NULL) {
			/* Two keys for one backend: which is meant? */
			snprintf(err, errlen, "%s and %s are both for %s",
			    in->client_key_file, file, address);
			return -1;
		}
		if ((in->client_key_file = strdup(file)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", file);
			return -1;
		}
		memcpy(in->client_key, key, sizeof(in->client_key));
		in->has_client_key = 1;
	}
	return 0;	/* a key for another service is no error, as in tor */
}

static int
read_instance_client_key(const struct ob_config *cfg, size_t i, size_t j,
    struct ob_config_instance *in, char *err, size_t errlen)
{
	char address[AUTH_PRIVATE_ADDRESS_LEN + 1], why[PATH_MAX + 160];

	if (auth_private_file_read(in->client_key_path, address,
	    in->client_key, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%lu:%lu: services[%zu].instances"
		    "[%zu].client-key: %s", cfg->path, in->client_key_pos.line,
		    in->client_key_pos.column, i, j, why);
		return -1;
	}
	if (strcmp(address, in->address) != 0) {
		sodium_memzero(in->client_key, sizeof(in->client_key));
		snprintf(err, errlen, "%s:%lu:%lu: services[%zu].instances"
		    "[%zu].client-key: %s is a key for %s, not for this "
		    "instance (%s)", cfg->path, in->client_key_pos.line,
		    in->client_key_pos.column, i, j, in->client_key_path,
		    address, in->address);
		return -1;
	}
	if ((in->client_key_file = strdup(in->client_key_path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", cfg->path);
		return -1;
	}
	in->has_client_key = 1;
	return 0;
}

/*
 * The restricted backends' client keys, from each instance's client-key
 * file and each service's client-auth-dir; a reload reads them again.
 */
static int
read_client_keys(struct ob_config *cfg, char *err, size_t errlen)
{
	struct ob_config_service *svc;
	char why[PATH_MAX + 160];
	size_t i, j;

	for (i = 0; i < cfg->nservices; i++) {
		svc = &cfg->services[i];
		for (j = 0; j < svc->ninstances; j++)
			if (svc->instances[j].client_key_path != NULL &&
			    read_instance_client_key(cfg, i, j,
			    &svc->instances[j], err, errlen) == -1)
				return -1;
		if (svc->client_auth_dir == NULL)
			continue;
		if (auth_private_dir_read(svc->client_auth_dir,
		    client_dir_found, svc, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%lu:%lu: services[%zu]."
			    "client-auth-dir: %s", cfg->path,
			    svc->client_auth_dir_pos.line,
			    svc->client_auth_dir_pos.column, i, why);
			return -1;
		}
	}
	return 0;
}

int
ob_config_load(const char *path, struct ob_config **out, char *err,
    size_t errlen)
{
	struct ob_config *cfg;
	char *buf, *abspath = NULL, *keydir = NULL;
	size_t len = 0;
	int rv = -1;

	if ((buf = read_config_file(path, &len, err, errlen)) == NULL)
		return -1;
	if ((abspath = absolute_path(path)) == NULL ||
	    (keydir = path_dirname(abspath)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (config_parse(buf, len, path, keydir, &cfg, err, errlen) == -1)
		goto out;
	if (apply_environment(cfg, err, errlen) == -1 ||
	    absolute_socket_paths(cfg, err, errlen) == -1 ||
	    read_auth_client_dirs(cfg, err, errlen) == -1 ||
	    read_client_keys(cfg, err, errlen) == -1) {
		ob_config_free(cfg);
		goto out;
	}
	*out = cfg;
	rv = 0;
out:
	/* The file may hold the control-port password. */
	sodium_memzero(buf, len);
	free(buf);
	free(abspath);
	free(keydir);
	return rv;
}

int
ob_config_check_instances(const struct ob_config *cfg, size_t service_index,
    const uint8_t frontend_pubkey[32], char *err, size_t errlen)
{
	const struct ob_config_service *svc;
	const struct ob_config_instance *inst;
	size_t i;

	if (service_index >= cfg->nservices) {
		snprintf(err, errlen, "%s: no service %zu", cfg->path,
		    service_index);
		return -1;
	}
	svc = &cfg->services[service_index];
	for (i = 0; i < svc->ninstances; i++) {
		inst = &svc->instances[i];
		if (sodium_memcmp(inst->pubkey, frontend_pubkey, 32) != 0)
			continue;
		snprintf(err, errlen, "%s:%lu:%lu: services[%zu].instances[%zu]"
		    ".address: %s is the frontend itself (the key of "
		    "services[%zu] on line %lu); list the backends here",
		    cfg->path, inst->address_pos.line,
		    inst->address_pos.column, service_index, i,
		    inst->address, service_index, svc->key_pos.line);
		return -1;
	}
	return 0;
}

int
ob_config_set_identity(struct ob_config *cfg, size_t service_index,
    const uint8_t frontend_pubkey[32], char *err, size_t errlen)
{
	struct ob_config_service *svc;
	char address[ONION_ADDRESS_LEN + 1];
	size_t j;

	if (ob_config_check_instances(cfg, service_index, frontend_pubkey,
	    err, errlen) == -1)
		return -1;
	svc = &cfg->services[service_index];
	for (j = 0; j < cfg->nservices; j++) {
		if (j == service_index || !cfg->services[j].has_identity ||
		    sodium_memcmp(cfg->services[j].identity,
		    frontend_pubkey, 32) != 0)
			continue;
		onion_address_from_pubkey(address, frontend_pubkey);
		snprintf(err, errlen, "%s:%lu:%lu: services[%zu].key: the "
		    "same frontend (%s) as services[%zu].key on line %lu",
		    cfg->path, svc->key_pos.line, svc->key_pos.column,
		    service_index, address, j, cfg->services[j].key_pos.line);
		return -1;
	}
	memcpy(svc->identity, frontend_pubkey, 32);
	svc->has_identity = 1;
	return 0;
}

/*
 * onionbalanced-config: interactive mode, as onionbalance-config's (same
 * questions, same order, same defaults), plus the ports of the backends'
 * torrc and the instance addresses, when known.
 *
 * Answers are read from stdin a line at a time, terminal or not, so a
 * script can pipe them in; an empty line takes the default.  A bad answer
 * is said and asked again; the end of the input gives up.
 */
#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ob_config.h"
#include "onionbalanced-config.h"

/*
 * Asks; returns the answer without the line end or trailing blanks (in a
 * buffer that the next question reuses), or NULL at the end of input.
 */
static const char *ask(const char *fmt, ...) OB_PRINTF(1, 2);

static const char *
ask(const char *fmt, ...)
{
	static char *line;
	static size_t cap;
	ssize_t n;
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	if ((n = getline(&line, &cap, stdin)) == -1) {
		if (ferror(stdin))
			warn("cannot read the answer");
		else
			warnx("end of input at a question; nothing written "
			    "(use --no-interactive to take all defaults)");
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
	    line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	return line;
}

/* Asks "<question> (default: <*out>): " until the answer is a count. */
static int
ask_count(size_t *out, unsigned long max, const char *what,
    const char *question)
{
	const char *a;

	for (;;) {
		if ((a = ask("%s (default: %zu): ", question, *out)) == NULL)
			return -1;
		if (*a == '\0' || cfggen_parse_count(a, max, what, out) == 0)
			return 0;
	}
}

static int
ask_key(struct cfggen_service *svc, size_t i)
{
	const char *a;

	a = ask("Service #%zu: Enter path to master service private key "
	    "(i.e. path to 'hs_ed25519_secret_key') (Leave empty to generate "
	    "a key): ", i);
	if (a == NULL)
		return -1;
	if (*a != '\0' && (svc->key_source = strdup(a)) == NULL)
		err(1, "strdup");
	return 0;
}

static int
ask_tag(struct cfggen_service *svc, size_t i, const char *default_tag)
{
	const char *a;

	for (;;) {
		a = ask("Service #%zu: Provide a tag name to group these "
		    "instances [%s]: ", i, default_tag);
		if (a == NULL)
			return -1;
		if (*a == '\0')
			a = default_tag;
		if (cfggen_check_tag(a, "tag") == 0)
			break;
	}
	snprintf(svc->tag, sizeof(svc->tag), "%s", a);
	return 0;
}

static int
ask_ports(struct cfggen_service *svc, size_t i)
{
	const char *a;
	uint16_t port = svc->virtual_port;

	do {
		a = ask("Service #%zu: Specify the service virtual port (for "
		    "client connections) [%u]: ", i, (unsigned int)port);
		if (a == NULL)
			return -1;
	} while (*a != '\0' && cfggen_parse_port(a, "virtual port",
	    &port) == -1);
	cfggen_service_set_port(svc, port);
	for (;;) {
		a = ask("Service #%zu: Specify the service target IP and port "
		    "(where your service is listening) [%s]: ", i, svc->target);
		if (a == NULL)
			return -1;
		if (*a == '\0')
			return 0;
		if (cfggen_check_target(a, "target") == 0)
			break;
	}
	snprintf(svc->target, sizeof(svc->target), "%s", a);
	return 0;
}

static int
ask_addresses(struct cfggen_service *svc, size_t i)
{
	struct cfggen_instance *inst;
	const char *a;
	size_t j;

	for (j = 0; j < svc->ninstances; j++) {
		inst = &svc->instances[j];
		do {
			a = ask("Service #%zu: Onion address of instance "
			    "%s%zu (Leave empty if not known yet): ", i,
			    svc->tag, j + 1);
			if (a == NULL)
				return -1;
		} while (*a != '\0' && cfggen_parse_address(a, "address",
		    inst->address) == -1);
		inst->has_address = (*a != '\0');
	}
	return 0;
}

static int
ask_service(struct cfggen_service *svc, size_t i, size_t default_instances,
    const char *default_tag)
{
	char prompt[128];

	snprintf(prompt, sizeof(prompt), "Service #%zu: Number of instance "
	    "services to create", i);
	svc->ninstances = default_instances;
	if (ask_key(svc, i) == -1 ||
	    ask_count(&svc->ninstances, OB_CONFIG_MAX_INSTANCES, "instances",
	    prompt) == -1 ||
	    ask_tag(svc, i, default_tag) == -1 ||
	    ask_ports(svc, i) == -1)
		return -1;
	if (cfggen_service_alloc_instances(svc) == -1)
		err(1, "calloc");
	return ask_addresses(svc, i);
}

int
cfggen_prompt(struct cfggen *cfg, size_t default_instances,
    const char *default_tag)
{
	const char *a;
	size_t i, nservices = CFGGEN_DEFAULT_SERVICES;

	if ((a = ask("Enter path to store generated config [%s]: ",
	    cfg->output)) == NULL)
		return -1;
	if (*a != '\0') {
		free(cfg->output);
		if ((cfg->output = strdup(a)) == NULL)
			err(1, "strdup");
	}
	if (ask_count(&nservices, OB_CONFIG_MAX_SERVICES, "services",
	    "Number of services (frontends) to create") == -1)
		return -1;
	/* Counted only once they exist: free_plan() walks them on EOF. */
	if ((cfg->services = calloc(nservices,
	    sizeof(*cfg->services))) == NULL)
		err(1, "calloc");
	cfg->nservices = nservices;
	for (i = 0; i < cfg->nservices; i++) {
		cfggen_service_set_port(&cfg->services[i],
		    CFGGEN_DEFAULT_PORT);
		if (ask_service(&cfg->services[i], i + 1, default_instances,
		    default_tag) == -1)
			return -1;
	}
	return 0;
}

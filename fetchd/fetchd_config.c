/*
 * fetchd's instance set: built from the parent's PC_CONFIG_BEGIN ..
 * PC_CONFIG_END stream, and replaced whole on a reload, keeping the state
 * (descriptor, schedule) of every instance whose key stays.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fetchd_private.h"
#include "log.h"

struct fetchd *
fetchd_new(const struct fetchd_ops *ops)
{
	struct fetchd *fd;

	if ((fd = calloc(1, sizeof(*fd))) == NULL)
		return NULL;
	fd->ops = *ops;
	return fd;
}

static void
free_instances(struct fetchd_instance *inst, size_t n)
{
	size_t i;

	for (i = 0; i < n && inst != NULL; i++) {
		free(inst[i].desc);
		free(inst[i].verified);
		sodium_memzero(inst[i].client_key, sizeof(inst[i].client_key));
	}
	free(inst);
}

static void
drop_pending(struct fetchd *fd)
{
	free_instances(fd->pending_inst, fd->pending_ninst);
	free(fd->pending_services);
	fd->pending_inst = NULL;
	fd->pending_ninst = 0;
	fd->pending_services = NULL;
	fd->pending_nservices = 0;
	fd->pending = false;
}

void
fetchd_free(struct fetchd *fd)
{
	if (fd == NULL)
		return;
	drop_pending(fd);
	free_instances(fd->inst, fd->ninst);
	fetchd_hsdirs_free(fd->hsdirs);
	free(fd->tor_auth);
	free(fd);
}

int
fetchd_config_begin(struct fetchd *fd, uint32_t generation,
    uint32_t fetch_interval_s, uint32_t nservices)
{
	if (fd->pending || nservices == 0 || fetch_interval_s == 0 ||
	    (fd->generation != 0 && generation <= fd->generation))
		return -1;
	fd->pending_services = calloc(nservices, sizeof(*fd->pending_services));
	if (fd->pending_services == NULL)
		fatal("config");
	fd->pending = true;
	fd->pending_generation = generation;
	fd->pending_interval_s = fetch_interval_s;
	fd->pending_nservices = nservices;
	return 0;
}

int
fetchd_config_service(struct fetchd *fd, uint32_t service,
    const uint8_t key[32], uint32_t ninstances)
{
	struct fetchd_config_service *s;
	struct fetchd_instance *grown;
	size_t total;

	if (!fd->pending || service >= fd->pending_nservices)
		return -1;
	s = &fd->pending_services[service];
	/* In order, so that instances fill the array service by service. */
	if ((service > 0 && fd->pending_services[service - 1].ninstances == 0) ||
	    s->ninstances != 0 || ninstances == 0 ||
	    ninstances > PEER_CAP)	/* far above any config's limit */
		return -1;
	s->ninstances = ninstances;
	memcpy(s->key, key, sizeof(s->key));
	total = fd->pending_ninst + ninstances;
	if ((grown = reallocarray(fd->pending_inst, total,
	    sizeof(*grown))) == NULL)
		fatal("config");
	memset(grown + fd->pending_ninst, 0, ninstances * sizeof(*grown));
	fd->pending_inst = grown;
	fd->pending_ninst = total;
	return 0;
}

/* The slot of (service, instance): services fill the array in order. */
static struct fetchd_instance *
pending_slot(struct fetchd *fd, uint32_t service, uint32_t instance)
{
	size_t base = 0;
	uint32_t i;

	if (service >= fd->pending_nservices ||
	    instance >= fd->pending_services[service].ninstances)
		return NULL;
	for (i = 0; i < service; i++)
		base += fd->pending_services[i].ninstances;
	if (base + instance >= fd->pending_ninst)
		return NULL;	/* a later service has not been announced */
	return &fd->pending_inst[base + instance];
}

int
fetchd_config_instance(struct fetchd *fd, uint32_t service,
    uint32_t instance, const uint8_t key[32], const char *name)
{
	struct fetchd_instance *in;
	uint8_t check[32];

	if (!fd->pending || (in = pending_slot(fd, service, instance)) == NULL ||
	    in->name[0] != '\0' || name[0] == '\0' ||
	    strlen(name) > PROTO_NAME_MAX)
		return -1;
	/* The parent checked the address; a key that is no point is a bug. */
	onion_address_from_pubkey(in->address, key);
	if (onion_address_to_pubkey(check, in->address, ONION_ADDRESS_LEN) !=
	    ONION_ADDRESS_OK)
		return -1;
	in->service = service;
	in->instance = instance;
	memcpy(in->key, key, sizeof(in->key));
	memcpy(in->name, name, strlen(name) + 1);
	in->state = PEER_STATE_NO_DESCRIPTOR;
	memcpy(in->detail, "not fetched yet", sizeof("not fetched yet"));
	fetchd_probe_config_default(&in->probe.cfg);
	in->probe.liveness = PEER_LIVENESS_UNKNOWN;
	fd->pending_services[service].nseen++;
	return 0;
}

int
fetchd_config_probe(struct fetchd *fd, uint32_t service, uint32_t instance,
    const struct fetchd_probe_config *cfg)
{
	struct fetchd_instance *in;

	if (!fd->pending || (in = pending_slot(fd, service, instance)) == NULL ||
	    in->name[0] == '\0' ||
	    cfg->timeout_s == 0 || cfg->port == 0 ||
	    cfg->check > PROBE_CHECK_HTTP || cfg->path[0] != '/' ||
	    memchr(cfg->path, '\0', sizeof(cfg->path)) == NULL)
		return -1;
	in->probe.cfg = *cfg;
	return 0;
}

int
fetchd_config_client_key(struct fetchd *fd, uint32_t service,
    uint32_t instance, const uint8_t key[32])
{
	struct fetchd_instance *in;

	if (!fd->pending || (in = pending_slot(fd, service, instance)) == NULL ||
	    in->name[0] == '\0' || in->has_client_key ||
	    sodium_is_zero(key, 32))
		return -1;
	memcpy(in->client_key, key, sizeof(in->client_key));
	in->has_client_key = true;
	return 0;
}

/*
 * Moves the state of the first old instance with the same key (not yet
 * taken) into the new one.  The same backend in two services has two
 * entries; each keeps one.
 */
static void
keep_state(struct fetchd_instance *new, struct fetchd_instance *old,
    size_t nold)
{
	struct fetchd_probe_config cfg;
	size_t i;

	for (i = 0; i < nold; i++) {
		if (old[i].name[0] == '\0' ||
		    sodium_memcmp(old[i].key, new->key, 32) != 0)
			continue;
		new->desc = old[i].desc;
		old[i].desc = NULL;
		new->desc_first_seen = old[i].desc_first_seen;
		new->desc_stale_at = old[i].desc_stale_at;
		new->state = old[i].state;
		new->state_since = old[i].state_since;
		memcpy(new->detail, old[i].detail, sizeof(new->detail));
		new->in_flight = old[i].in_flight;
		new->fetch_deadline = old[i].fetch_deadline;
		new->last_fetch = old[i].last_fetch;
		new->next_fetch = old[i].next_fetch;
		new->not_found = old[i].not_found;
		memcpy(new->last_warning, old[i].last_warning,
		    sizeof(new->last_warning));
		/* Liveness stays; how to probe is the new configuration's. */
		cfg = new->probe.cfg;
		new->probe = old[i].probe;
		new->probe.cfg = cfg;
		memcpy(new->hsdir, old[i].hsdir, sizeof(new->hsdir));
		memcpy(new->hsdir_used, old[i].hsdir_used,
		    sizeof(new->hsdir_used));
		new->hsdir_requested = old[i].hsdir_requested;
		old[i].name[0] = '\0';	/* taken */
		return;
	}
}

int
fetchd_config_end(struct fetchd *fd, uint32_t generation, time_t now)
{
	size_t i;

	if (!fd->pending || generation != fd->pending_generation)
		return -1;
	for (i = 0; i < fd->pending_nservices; i++)
		if (fd->pending_services[i].ninstances == 0 ||
		    fd->pending_services[i].nseen !=
		    fd->pending_services[i].ninstances)
			return -1;
	for (i = 0; i < fd->pending_ninst; i++) {
		fd->pending_inst[i].state_since = now;
		keep_state(&fd->pending_inst[i], fd->inst, fd->ninst);
	}
	free_instances(fd->inst, fd->ninst);
	fd->inst = fd->pending_inst;
	fd->ninst = fd->pending_ninst;
	fd->pending_inst = NULL;
	fd->pending_ninst = 0;
	fd->generation = generation;
	fd->fetch_interval_s = fd->pending_interval_s;
	drop_pending(fd);
	log_info("configuration %u: %zu instance(s), fetch interval %u s",
	    generation, fd->ninst, fd->fetch_interval_s);
	if (fd->connected)
		fetchd_client_auth_sync(fd);
	fetchd_resync(fd);
	fetchd_schedule_round(fd, now, "new configuration");
	return 0;
}

void
fetchd_resync(struct fetchd *fd)
{
	size_t i;

	for (i = 0; i < fd->ninst; i++)
		fetchd_report_latest(fd, &fd->inst[i]);
}

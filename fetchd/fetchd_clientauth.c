/*
 * Restricted backends (docs/configuration.md, "Restricted backends"):
 * fetchd decrypts their descriptors itself (fetchd_events.c), but the
 * liveness probes connect to them through the management tor, which can
 * open a restricted service only with the client key.  So fetchd gives
 * tor each key with ONION_CLIENT_AUTH_ADD, ephemeral (never written to
 * tor's disk), and gives them again whenever tor may have lost them: a
 * new control connection (tor may have restarted) and a NEWNYM, which
 * purges tor's ephemeral client keys (hs_client_purge_state()).  A key
 * the configuration no longer has is taken back.
 */
#include <stdlib.h>
#include <string.h>

#include "fetchd_private.h"
#include "log.h"

/* The key of address, from the first restricted instance with it. */
static const struct fetchd_instance *
restricted_instance(const struct fetchd *fd, const char *address)
{
	size_t i;

	for (i = 0; i < fd->ninst; i++)
		if (fd->inst[i].has_client_key &&
		    strcmp(fd->inst[i].address, address) == 0)
			return &fd->inst[i];
	return NULL;
}

static void
take_back_unused(struct fetchd *fd)
{
	size_t i;

	for (i = 0; i < fd->ntor_auth; i++) {
		if (restricted_instance(fd, fd->tor_auth[i]) != NULL)
			continue;
		log_info("%s: client key no longer configured; removing it "
		    "from tor", fd->tor_auth[i]);
		if (fd->ops.client_auth_remove(fd->ops.arg,
		    fd->tor_auth[i]) == -1)
			log_warnx("%s: cannot ask tor to remove the client key",
			    fd->tor_auth[i]);
	}
	free(fd->tor_auth);
	fd->tor_auth = NULL;
	fd->ntor_auth = 0;
}

/* Whether address is already among those given (an instance twice). */
static bool
given(const struct fetchd *fd, const char *address)
{
	size_t i;

	for (i = 0; i < fd->ntor_auth; i++)
		if (strcmp(fd->tor_auth[i], address) == 0)
			return true;
	return false;
}

static void
give(struct fetchd *fd, const struct fetchd_instance *in)
{
	char (*grown)[ONION_ADDRESS_LEN + 1];

	if (fd->ops.client_auth_add(fd->ops.arg, in->address,
	    in->client_key) == -1) {
		log_warnx("%s: cannot give tor the client key; its liveness "
		    "probes will fail", in->name);
		return;
	}
	if ((grown = reallocarray(fd->tor_auth, fd->ntor_auth + 1,
	    sizeof(*grown))) == NULL)
		fatal("client keys");
	fd->tor_auth = grown;
	memcpy(grown[fd->ntor_auth++], in->address, ONION_ADDRESS_LEN + 1);
}

void
fetchd_client_auth_sync(struct fetchd *fd)
{
	size_t i;

	take_back_unused(fd);
	for (i = 0; i < fd->ninst; i++) {
		const struct fetchd_instance *in = &fd->inst[i];

		if (in->has_client_key &&
		    restricted_instance(fd, in->address) == in &&
		    !given(fd, in->address))
			give(fd, in);
	}
	if (fd->ntor_auth > 0)
		log_info("gave tor %zu client key(s) for restricted backends",
		    fd->ntor_auth);
}

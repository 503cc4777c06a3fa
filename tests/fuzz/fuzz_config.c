/*
 * libFuzzer target for the config parser: any bytes must give either a
 * config that keeps the parser's promises or one line of error, never a
 * crash, a leak or a read outside the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth_clients.h"
#include "encoding.h"
#include "log.h"
#include "ob_config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_config(const struct ob_config *cfg)
{
	const struct ob_config_service *svc;
	uint8_t pubkey[32];
	char err[512];
	size_t i, j;

	if (cfg->nservices == 0 || cfg->nservices > OB_CONFIG_MAX_SERVICES)
		abort();
	for (i = 0; i < cfg->nservices; i++) {
		svc = &cfg->services[i];
		if (svc->key_path == NULL || svc->ninstances == 0 ||
		    svc->ninstances > OB_CONFIG_MAX_INSTANCES)
			abort();
		for (j = 0; j < svc->ninstances; j++)
			/* A buffer's parse reads no key file. */
			if (strlen(svc->instances[j].address) !=
			    ONION_ADDRESS_LEN ||
			    svc->instances[j].has_client_key)
				abort();
		if (svc->nauth_clients > OB_CONFIG_MAX_AUTH_CLIENTS ||
		    svc->nauth_client_dirs > OB_CONFIG_MAX_AUTH_CLIENT_DIRS ||
		    (svc->nauth_clients > 0) != (svc->auth_clients != NULL))
			abort();
		/* An instance's own key as the frontend must be refused. */
		memcpy(pubkey, svc->instances[0].pubkey, sizeof(pubkey));
		if (ob_config_check_instances(cfg, i, pubkey, err,
		    sizeof(err)) != -1 || strchr(err, '\n') != NULL)
			abort();
	}
}

/*
 * The same bytes as one line of an .auth file: a key that parses is the
 * one its base32 says (decoding it again gives the same text).
 */
static void
check_auth_line(const uint8_t *data, size_t size)
{
	uint8_t key[AUTH_CLIENT_KEY_LEN], again[AUTH_CLIENT_KEY_LEN];
	char b32[AUTH_CLIENT_B32_LEN + 1];

	if (auth_client_parse((const char *)data, size, key) == -1)
		return;
	if (base32_encode(b32, sizeof(b32), key, sizeof(key)) !=
	    AUTH_CLIENT_B32_LEN ||
	    base32_decode(again, sizeof(again), b32, AUTH_CLIENT_B32_LEN) !=
	    AUTH_CLIENT_KEY_LEN || memcmp(key, again, sizeof(key)) != 0)
		abort();
}

/*
 * And as an .auth_private file: what parses has an address of exactly
 * 56 characters without ':' (tor's field split) and a key.
 */
static void
check_auth_private_line(const uint8_t *data, size_t size)
{
	char address[AUTH_PRIVATE_ADDRESS_LEN + 1];
	uint8_t key[AUTH_CLIENT_KEY_LEN];

	if (auth_private_parse((const char *)data, size, address, key) == -1)
		return;
	if (strlen(address) != AUTH_PRIVATE_ADDRESS_LEN ||
	    strchr(address, ':') != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialized;
	struct ob_config *cfg = NULL;
	char err[512];

	if (!initialized) {
		/* Unknown keys are warnings: keep the fuzzer's output quiet. */
		log_init("fuzz_config", LOG_LEVEL_ERROR);
		initialized = 1;
	}
	check_auth_line(data, size);
	check_auth_private_line(data, size);
	if (ob_config_parse_buffer((const char *)data, size, "fuzz.yaml",
	    &cfg, err, sizeof(err)) == -1) {
		if (cfg != NULL || err[0] == '\0' || strchr(err, '\n') != NULL)
			abort();
		return 0;
	}
	check_config(cfg);
	ob_config_free(cfg);
	return 0;
}

/*
 * onionbalanced-config: writes a new configuration for onionbalanced (and
 * for Onionbalance, which reads the same config.yaml and key files).
 *
 * The tool first builds a plan in memory (struct cfggen): the services
 * with their keys, loaded or generated, and their instances.  The plan is
 * checked as a whole, then written with every file created exclusively,
 * then read back; on any failure what was created is removed again, so a
 * run either writes everything or nothing.
 *
 * Files: onionbalanced-config.c (command line, plan, self-check),
 * -check.c (validation of what a user types), -prompt.c (interactive
 * mode), -write.c (the files and their text).
 */
#ifndef OB_ONIONBALANCED_CONFIG_H
#define OB_ONIONBALANCED_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "masterkey.h"
#include "onion_address.h"

#define CFGGEN_CONFIG_NAME	"config.yaml"
#define CFGGEN_README_NAME	"README"
#define CFGGEN_TORRC_NAME	"torrc"
#define CFGGEN_OBCONFIG_NAME	"ob_config"
/* What onionbalance-config writes where it does not know an address. */
#define CFGGEN_PLACEHOLDER	"<Enter the instance onion address here>"

/* Onionbalance's defaults, and ours for what Onionbalance lacks. */
#define CFGGEN_DEFAULT_OUTPUT	"config/"
#define CFGGEN_DEFAULT_SERVICES	1
#define CFGGEN_DEFAULT_INSTANCES 2
#define CFGGEN_DEFAULT_TAG	"node"
#define CFGGEN_DEFAULT_PORT	80
#define CFGGEN_DEFAULT_HS_DIR_BASE "/var/lib/tor"

#define CFGGEN_TAG_MAX		32	/* bytes of a tag */
#define CFGGEN_NAME_MAX		64	/* tag, number, NUL */
#define CFGGEN_FOLDER_MAX	96	/* "service<n>-", a name */
#define CFGGEN_TARGET_MAX	256	/* a HiddenServicePort target */
#define CFGGEN_PATH_MAX		1024	/* --hs-dir-base */

struct cfggen_instance {
	char		 name[CFGGEN_NAME_MAX];		/* its "name:" */
	char		 folder[CFGGEN_FOLDER_MAX];	/* folder, HiddenServiceDir */
	int		 has_address;
	char		 address[ONION_ADDRESS_LEN + 1];
};

struct cfggen_service {
	char		*key_source;	/* --key file; NULL: generate a key */
	struct masterkey *key;		/* secure memory; NULL until loaded */
	char		 address[ONION_ADDRESS_LEN + 1];	/* frontend */
	char		 tag[CFGGEN_TAG_MAX + 1];
	uint16_t	 virtual_port;
	char		 target[CFGGEN_TARGET_MAX];
	struct cfggen_instance *instances;
	size_t		 ninstances;
};

struct cfggen {
	char		*output;	/* the output directory */
	char		 hs_dir_base[CFGGEN_PATH_MAX];	/* on the backends */
	struct cfggen_service *services;
	size_t		 nservices;
	int		 verbose;	/* 0 quiet, 1 summary, 2 every file */
};

#define CFGGEN_QUOTE_MAX	200

/*
 * What the user typed, fit for one line of a message (control characters
 * escaped, cut after CFGGEN_QUOTE_MAX bytes); the next call reuses the
 * buffer it returns.
 */
const char *cfggen_quote(const char *s);

/*
 * Validation of one value typed by the user: each returns 0, or prints
 * one line naming the option (what) and the problem and returns -1.
 */
int	cfggen_parse_count(const char *s, unsigned long max, const char *what,
	    size_t *out);
int	cfggen_parse_port(const char *s, const char *what, uint16_t *out);
int	cfggen_check_tag(const char *s, const char *what);
int	cfggen_check_target(const char *s, const char *what);
int	cfggen_check_hs_dir_base(const char *s, const char *what);
/* Stores the canonical form (56 chars, no ".onion") in out. */
int	cfggen_parse_address(const char *s, const char *what,
	    char out[ONION_ADDRESS_LEN + 1]);

/* Sets a service's port, and its target (port: "127.0.0.1:<port>"). */
void	cfggen_service_set_port(struct cfggen_service *svc, uint16_t port);
/* Allocates svc->ninstances instances (no address yet); -1 on ENOMEM. */
int	cfggen_service_alloc_instances(struct cfggen_service *svc);

/*
 * Interactive mode: asks for the output directory, the number of
 * services and, per service, key, instances, tag, ports and addresses;
 * the defaults are what *cfg holds.  Reads answers from stdin, one line
 * each (a terminal or not).  Allocates cfg->services.  -1 on end of input
 * or a read error (said on stderr).
 */
int	cfggen_prompt(struct cfggen *cfg, size_t default_instances,
	    const char *default_tag);

/*
 * Writes everything in the plan below cfg->output, creating every file
 * and folder exclusively; refuses (before writing anything) if one of
 * them exists.  config_text is config.yaml.  On error removes what it
 * created and returns -1; on success returns 0.  cfggen_written_remove()
 * undoes a successful write (when the self-check afterwards fails).
 */
int	cfggen_write_all(const struct cfggen *cfg, const char *config_text,
	    size_t config_len);
void	cfggen_written_remove(void);
void	cfggen_written_forget(void);

/* The text of config.yaml (malloc'd, NUL-terminated). */
char   *cfggen_config_text(const struct cfggen *cfg, size_t *len);
/* "<output>/<name>" (malloc'd); exits on ENOMEM. */
char   *cfggen_path(const char *dir, const char *name);

/* onionbalanced-config add-client (onionbalanced-config-client.c). */
int	cfggen_add_client(int argc, char *argv[]);

#endif

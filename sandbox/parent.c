/*
 * onionbalanced: the parent process.  It parses the command line and config,
 * opens what the children may not open, and spawns keyd, fetchd and
 * publishd.  Until the daemon lands it only reports its version.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: onionbalanced [--version] [--help]\n"
	    "\n"
	    "Onionbalance for Tor v3 onion services, as a privilege-separated\n"
	    "daemon. The daemon itself is not built yet; see README.md.\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	log_init("onionbalanced", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			printf("onionbalanced %s\n", OB_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	usage(stderr);
	return 2;
}

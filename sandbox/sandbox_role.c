/*
 * The sandbox's roles by name: what the sequence (sandbox.c) and the
 * filters (sandbox_filter.c) both say in their messages, and how the
 * filters check that a role exists.
 */
#include "log.h"
#include "sandbox.h"

static const char *const role_names[SANDBOX_NROLES] = {
	[SANDBOX_KEYD] = "keyd",
	[SANDBOX_FETCHD] = "fetchd",
	[SANDBOX_PUBLISHD] = "publishd",
};

const char *
sandbox_role_name(enum sandbox_role role)
{
	if ((unsigned)role >= SANDBOX_NROLES)
		fatalx("sandbox: no role %d", (int)role);
	return role_names[role];
}

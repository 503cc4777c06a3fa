/*
 * One child, whatever its role: its name, where its binary is, and how
 * it is ended when its channel is gone or it broke the protocol.  Every
 * file of the parent that talks to a child calls these; they call none
 * of those files.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "parent.h"

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_KEYD] = "keyd",
	[ROLE_FETCHD] = "fetchd",
	[ROLE_PUBLISHD] = "publishd",
};

const char *
child_role_name(enum child_role role)
{
	return role_names[role];
}

int
child_binary_path(const struct parent *p, enum child_role role, char *out,
    size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", p->libexecdir,
	    role_names[role]);

	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Checked before forking, so a missing binary is said plainly. */
	return access(out, X_OK);
}

void
child_close_channel(struct child *c)
{
	if (c->ev_read != NULL) {
		event_free(c->ev_read);
		c->ev_read = NULL;
	}
	if (c->ch.fd != -1 || c->ch.rbuf != NULL) {
		ipc_channel_close(&c->ch);
		c->ch.fd = -1;
		c->ch.rbuf = NULL;
	}
}

/*
 * The channel is gone or the child broke the protocol: it cannot be
 * trusted to go on.  It is killed; the reaper logs and restarts it.
 */
void
child_lost(struct child *c, const char *why)
{
	if (!c->parent->stopping)
		log_warnx("%s %s; ending it", c->name, why);
	child_close_channel(c);
	if (c->pid != -1)
		kill(c->pid, SIGKILL);
}

/*
 * EOF: the child is exiting (the reaper will say why) or has dropped its
 * channel, which leaves it useless; either way it goes.
 */
void
child_eof(struct child *c)
{
	log_debug("%s closed its channel", c->name);
	child_close_channel(c);
	if (c->pid != -1)
		kill(c->pid, SIGTERM);
}

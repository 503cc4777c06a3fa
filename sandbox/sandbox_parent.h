/*
 * The parent's side of the sandbox (docs/sandbox.md): whom each child
 * becomes, the empty directory it is shut in, and what the parent itself
 * gives up.
 */
#ifndef OB_SANDBOX_PARENT_H
#define OB_SANDBOX_PARENT_H

#include <stddef.h>

#include "ob_config.h"
#include "sandbox.h"

/* The configured user of role: keyd-user, fetchd-user, publishd-user. */
const char *sandbox_user_name(const struct ob_config *cfg,
	    enum sandbox_role role);

/*
 * Resolves name into ids: "#N" is uid N with gid N (for tests; no
 * /etc/passwd entry needed), anything else a user from the passwd
 * database with its primary group.  Root (uid 0) is refused.  0, or -1
 * with one line in err.
 */
int	sandbox_resolve_user(const char *name, const char *dir,
	    struct sandbox_user *out, char *err, size_t errlen);

/*
 * The environment entry "OB_SANDBOX=uid:gid:dir" a child of role needs
 * when the parent runs as root (making dir if it is missing); "" when it
 * does not (the child then stays this user).  0, or -1 with err (an
 * unknown user, an unusable directory).
 */
int	sandbox_child_env(const struct ob_config *cfg, enum sandbox_role role,
	    const char *dir, char *out, size_t outlen, char *err,
	    size_t errlen);

/*
 * Once, before the first child: as root, checks that the three users
 * exist and differ, makes the empty directory if it is missing and checks
 * it, then drops every capability the parent does not need
 * (docs/sandbox.md says which it keeps and why).  Not root: says once
 * that the children run as this user.  0, or -1 with err.
 */
int	sandbox_parent_setup(const struct ob_config *cfg, const char *dir,
	    char *err, size_t errlen);

#endif

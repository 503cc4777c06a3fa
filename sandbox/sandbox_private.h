/*
 * What the files of the sandbox library share; not for the daemons.
 *
 *   sandbox.c          the sequence, OB_SANDBOX in a child
 *   sandbox_child.c    every child's start-up before its sandbox; its exit
 *   sandbox_role.c     the roles' names
 *   sandbox_fs.c       the empty directory; hiding the file system
 *                      without root (user + mount namespace)
 *   sandbox_user.c     OB_SANDBOX's text form
 *   sandbox_filter.c   the seccomp allowlists of keyd, fetchd, publishd
 */
#ifndef OB_SANDBOX_PRIVATE_H
#define OB_SANDBOX_PRIVATE_H

#include <sys/types.h>

/*
 * 0 if dir is a directory owned by owner, writable by nobody else, with
 * nothing in it; -1 with errno otherwise (ENOTEMPTY, EPERM for the owner
 * or the mode, ENOTDIR).
 */
int	sandbox_check_empty_dir(const char *dir, uid_t owner);

/*
 * Not root: a new user and mount namespace whose root is an empty
 * read-only tmpfs, when the kernel allows unprivileged namespaces; if it
 * does not, says so and leaves the file system visible (the filter still
 * denies every open).
 */
void	sandbox_hide_fs_unprivileged(void);

/*
 * Sanitizer builds (meson option sandbox_sanitizer_compat): lets the
 * sanitizer runtime cache what it would otherwise read from /proc later.
 * Nothing in a production build.
 */
void	sandbox_sanitizer_prepare(void);

#endif

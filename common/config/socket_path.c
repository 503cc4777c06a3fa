/*
 * Why connecting to a configured socket path failed, in words an operator
 * can act on: shared by the parent (tor's control socket) and
 * "onionbalanced status" (the status socket).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>

#include "socket_path.h"

const char *
socket_path_problem(const char *path, int error)
{
	struct stat st;

	/* connect() says ECONNREFUSED for a path that is no socket. */
	if ((error != ECONNREFUSED && error != ENOTSOCK) ||
	    stat(path, &st) == -1 || S_ISSOCK(st.st_mode))
		return NULL;
	return S_ISREG(st.st_mode) ? "a regular file, not a socket" :
	    S_ISDIR(st.st_mode) ? "a directory, not a socket" :
	    "not a socket";
}

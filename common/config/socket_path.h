/*
 * Why connecting to a configured socket path failed (socket_path.c).
 */
#ifndef OB_SOCKET_PATH_H
#define OB_SOCKET_PATH_H

/*
 * What path is when connecting to it failed with error because it is no
 * socket ("a regular file, not a socket"), else NULL.
 */
const char *socket_path_problem(const char *path, int error);

#endif

/*
 * "onionbalanced status" (status_client.c): asks the parent's status
 * socket and prints a summary; the status document is read into a tree
 * by status_json.c, as untrusted input.
 */
#ifndef OB_STATUS_CLIENT_H
#define OB_STATUS_CLIENT_H

/* argv[0] is "status"; the exit code of the command. */
int	status_client_main(int argc, char *argv[]);

#endif

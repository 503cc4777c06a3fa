/*
 * The publishd process around the logic of publishd.h: its channels, its
 * control connection, its status socket, its metrics endpoint and its
 * timer.  Shared by publishd.c, proc.c, control.c, status_socket.c and
 * metrics_http.c only.
 */
#ifndef OB_PUBLISHD_PROC_H
#define OB_PUBLISHD_PROC_H

#include <stdbool.h>

#include <event2/event.h>

#include "publishd.h"

struct evhttp;
struct torctl;

struct pd_proc {
	struct event_base	*base;
	struct pd		 pd;
	struct keyd_client	 kc;
	struct pd_builder	 builder;
	struct ipc_channel	 parent;
	struct event		*parent_ev;
	struct ipc_channel	 peer;		/* fd -1 while there is none */
	struct event		*peer_ev;
	struct torctl		*ctl;
	bool			 consensus_pending;	/* GETINFO in flight */
	bool			 consensus_again;	/* asked meanwhile */
	int			 status_fd;
	struct event		*status_ev;
	struct evhttp		*metrics_http;	/* NULL: no metrics socket */
	int			 metrics_nfds;
	struct event		*timer;
	/* the configuration being received */
	struct pd_service	*cfg;
	size_t			 cfg_n;
	uint32_t		 cfg_gen;
	bool			 cfg_pending;
	uint8_t			 buf[IPC_HDR_LEN + PC_CAP];
};

/* proc.c */
void	proc_rearm(struct pd_proc *p);
void	proc_send_parent(struct pd_proc *p, enum parent_child_msg type,
	    const uint32_t *u32);

/* control.c */
void	control_adopt(struct pd_proc *p, int fd);
void	control_free(struct pd_proc *p);
int	control_post(void *arg, struct pd *pd, struct pd_service *sv,
	    int slot, size_t variant, const char *fpr);

/* status_socket.c */
void	status_socket_set(struct pd_proc *p, int fd);
void	status_socket_close(struct pd_proc *p);

/* metrics_http.c */
void	metrics_socket_add(struct pd_proc *p, int fd);
void	metrics_close(struct pd_proc *p);

#endif

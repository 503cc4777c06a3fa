/*
 * The status socket: the parent binds and listens (it owns the path and
 * its permissions) and hands us the listening fd.  Each client gets the
 * status document and the connection is closed, as Onionbalance does.
 * Writes are non-blocking, and a client that does not read in
 * STATUS_WRITE_TIMEOUT_S is dropped, so no client can stall publishd.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "proc.h"

#define STATUS_WRITE_TIMEOUT_S	10

static void
client_done(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}

static void
serve_client(struct pd_proc *p, int fd)
{
	struct timeval tv = { STATUS_WRITE_TIMEOUT_S, 0 };
	struct bufferevent *bev;
	char *doc;
	size_t len;

	if ((doc = pd_status_json(&p->pd, time(NULL), &len)) == NULL) {
		log_warnx("status: out of memory");
		close(fd);
		return;
	}
	if ((bev = bufferevent_socket_new(p->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("status: cannot serve a client");
		close(fd);
		free(doc);
		return;
	}
	bufferevent_setcb(bev, NULL, client_done, client_event, p);
	bufferevent_set_timeouts(bev, NULL, &tv);
	if (bufferevent_write(bev, doc, len) == -1 ||
	    bufferevent_enable(bev, EV_WRITE) == -1)
		bufferevent_free(bev);
	free(doc);
}

static void
status_accept(evutil_socket_t sock, short what, void *arg)
{
	struct pd_proc *p = arg;
	int fd;

	fd = accept4(sock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("status: accept");
		return;
	}
	serve_client(p, fd);
}

void
status_socket_close(struct pd_proc *p)
{
	if (p->status_ev != NULL)
		event_free(p->status_ev);
	p->status_ev = NULL;
	if (p->status_fd != -1)
		close(p->status_fd);
	p->status_fd = -1;
}

void
status_socket_set(struct pd_proc *p, int fd)
{
	status_socket_close(p);
	if (evutil_make_socket_nonblocking(fd) == -1)
		fatal("status socket");
	p->status_fd = fd;
	if ((p->status_ev = event_new(p->base, fd, EV_READ | EV_PERSIST,
	    status_accept, p)) == NULL || event_add(p->status_ev, NULL) == -1)
		fatalx("status socket event");
}

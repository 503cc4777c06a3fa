/*
 * The metrics endpoint: GET /metrics over HTTP on the listening sockets
 * the parent made (a unix socket and/or a loopback TCP port; publishd
 * binds nothing).  libevent's evhttp does the HTTP; requests are bounded
 * in header size and time, and only GET and HEAD are served.  Every
 * scrape builds the text afresh from publishd's state (metrics.c).
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "config.h"
#include "log.h"
#include "proc.h"

#define METRICS_MAX_HEADERS	8192	/* bytes of request line + headers */
#define METRICS_MAX_BODY	0	/* a GET has none */
#define METRICS_TIMEOUT_S	10
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

static void
metrics_request(struct evhttp_request *req, void *arg)
{
	struct pd_proc *p = arg;
	struct evbuffer *body;
	char *text;
	size_t len;

	if ((text = pd_metrics_text(&p->pd, &p->kc, OB_VERSION, time(NULL),
	    &len)) == NULL) {
		log_warnx("metrics: out of memory");
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if ((body = evbuffer_new()) == NULL ||
	    evbuffer_add(body, text, len) == -1 ||
	    evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", METRICS_CONTENT_TYPE) == -1)
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	else
		evhttp_send_reply(req, HTTP_OK, "OK", body);
	if (body != NULL)
		evbuffer_free(body);
	free(text);
}

static void
metrics_http_new(struct pd_proc *p)
{
	if ((p->metrics_http = evhttp_new(p->base)) == NULL)
		fatalx("metrics: evhttp_new");
	evhttp_set_max_headers_size(p->metrics_http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(p->metrics_http, METRICS_MAX_BODY);
	evhttp_set_timeout(p->metrics_http, METRICS_TIMEOUT_S);
	evhttp_set_allowed_methods(p->metrics_http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	/* Any other path: evhttp's 404. */
	if (evhttp_set_cb(p->metrics_http, "/metrics", metrics_request,
	    p) != 0)
		fatalx("metrics: evhttp_set_cb");
}

void
metrics_socket_add(struct pd_proc *p, int fd)
{
	if (p->metrics_nfds >= PC_METRICS_FDS_MAX)
		fatalx("parent: more than %d METRICS_FD", PC_METRICS_FDS_MAX);
	if (p->metrics_http == NULL)
		metrics_http_new(p);
	if (evutil_make_socket_nonblocking(fd) == -1)
		fatal("metrics socket");
	/* evhttp closes it when freed */
	if (evhttp_accept_socket_with_handle(p->metrics_http, fd) == NULL)
		fatalx("metrics: cannot serve the socket");
	p->metrics_nfds++;
}

void
metrics_close(struct pd_proc *p)
{
	if (p->metrics_http != NULL)
		evhttp_free(p->metrics_http);
	p->metrics_http = NULL;
	p->metrics_nfds = 0;
}

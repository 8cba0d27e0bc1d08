/*
 * wsd's metrics endpoint (WSD_METRICS_ADDR, wsd --metrics): GET /metrics
 * answers the aggregated Prometheus text, anything else 404 or 405.  It
 * faces the network, so every connection is bounded: one request of at
 * most HTTPD_REQ_MAX bytes, a deadline from accept to the last byte sent
 * (a trickling or never-reading peer is cut, not waited for), at most
 * HTTPD_CONNS_MAX connections at once, then "Connection: close".
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knob.h"
#include "log.h"
#include "wsd.h"
#include "xmalloc.h"

#define HTTPD_REQ_MAX		4096
#define HTTPD_CONNS_MAX		64

struct httpd_conn {
	uv_tcp_t	 tcp;
	uv_timer_t	 timer;
	uv_write_t	 w;
	char		 req[HTTPD_REQ_MAX + 1];
	size_t		 len;
	char		*resp;
	int		 answered;
	int		 handles;	/* open handles: freed at 0 */
};

/* What a request gets, by what its request line says. */
enum httpd_verdict {
	HV_OK,
	HV_NOT_FOUND,
	HV_BAD_METHOD,
	HV_BAD_REQUEST,
	HV_TOO_LARGE,
};

static const struct {
	const char	*status;
	const char	*extra;		/* more header lines */
	const char	*body;
} httpd_replies[] = {
	[HV_OK] = { "200 OK", "", NULL },
	[HV_NOT_FOUND] = { "404 Not Found", "", "not found: try GET /metrics\n" },
	[HV_BAD_METHOD] = { "405 Method Not Allowed", "Allow: GET\r\n",
	    "only GET /metrics\n" },
	[HV_BAD_REQUEST] = { "400 Bad Request", "", "bad request\n" },
	[HV_TOO_LARGE] = { "431 Request Header Fields Too Large", "",
	    "request too large\n" },
};

static uv_tcp_t		 httpd_server;
static int		 httpd_on;
static unsigned		 httpd_nconns;
static uint64_t		 httpd_deadline_ms;	/* WSD_METRICS_TIMEOUT_MS */

int
httpd_listen(const char *addr, char **err)
{
	struct addrinfo hints, *res = NULL;
	char host[256], *colon;
	const char *port;
	int fd = -1, one = 1, rc;
	size_t hl;

	*err = NULL;
	colon = strrchr(addr, ':');
	if (colon == NULL || colon[1] == '\0' ||
	    (hl = (size_t)(colon - addr)) >= sizeof host) {
		if (asprintf(err, "metrics address \"%s\": expected HOST:PORT",
		    addr) < 0)
			*err = NULL;
		return -1;
	}
	memcpy(host, addr, hl);
	host[hl] = '\0';
	port = colon + 1;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host != '\0' ? host : NULL, port, &hints,
	    &res)) != 0) {
		if (asprintf(err, "metrics address \"%s\": %s", addr,
		    gai_strerror(rc)) < 0)
			*err = NULL;
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, 64) < 0) {
		if (asprintf(err, "metrics address \"%s\": %s", addr,
		    strerror(errno)) < 0)
			*err = NULL;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void
httpd_free_cb(uv_handle_t *h)
{
	struct httpd_conn *c = h->data;

	if (--c->handles > 0)
		return;
	free(c->resp);
	free(c);
	httpd_nconns--;
}

static void
httpd_conn_close(struct httpd_conn *c)
{
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	uv_close((uv_handle_t *)&c->tcp, httpd_free_cb);
	uv_close((uv_handle_t *)&c->timer, httpd_free_cb);
}

static void
httpd_timer_cb(uv_timer_t *t)
{
	httpd_conn_close(t->data);	/* too slow to ask or to read */
}

static void
httpd_write_cb(uv_write_t *w, int status)
{
	(void)status;
	httpd_conn_close(w->data);
}

/* The verdict of a complete request head in c->req. */
static enum httpd_verdict
httpd_judge(const char *req)
{
	const char *sp, *target, *end;
	size_t tl;

	if ((sp = strchr(req, ' ')) == NULL)
		return HV_BAD_REQUEST;
	target = sp + 1;
	if ((end = strchr(target, ' ')) == NULL ||
	    strncmp(end + 1, "HTTP/1.", 7) != 0)
		return HV_BAD_REQUEST;
	if ((size_t)(sp - req) != 3 || strncmp(req, "GET", 3) != 0)
		return HV_BAD_METHOD;
	tl = strcspn(target, "? ");
	if (tl != 8 || strncmp(target, "/metrics", 8) != 0)
		return HV_NOT_FOUND;
	return HV_OK;
}

static void
httpd_answer(struct httpd_conn *c, enum httpd_verdict v)
{
	char *body = NULL;
	const char *b;
	uv_buf_t buf;
	int n;

	c->answered = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (v == HV_OK && (body = scrape_text()) == NULL) {
		httpd_conn_close(c);
		return;
	}
	b = body != NULL ? body : httpd_replies[v].body;
	n = asprintf(&c->resp, "HTTP/1.1 %s\r\n%sContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    httpd_replies[v].status, httpd_replies[v].extra,
	    v == HV_OK ? "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8", strlen(b), b);
	free(body);
	if (n < 0) {
		c->resp = NULL;
		httpd_conn_close(c);
		return;
	}
	c->w.data = c;
	buf = uv_buf_init(c->resp, (unsigned)n);
	if (uv_write(&c->w, (uv_stream_t *)&c->tcp, &buf, 1,
	    httpd_write_cb) != 0)
		httpd_conn_close(c);
}

static void
httpd_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct httpd_conn *c = h->data;

	(void)hint;
	/* c->req keeps a byte for the '\0'; a full buffer is answered */
	*buf = uv_buf_init(c->req + c->len, (unsigned)(HTTPD_REQ_MAX -
	    c->len));
}

static void
httpd_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct httpd_conn *c = s->data;

	(void)buf;
	if (c->answered)
		return;
	if (nread < 0) {
		httpd_conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") != NULL ||
	    strstr(c->req, "\n\n") != NULL)
		httpd_answer(c, httpd_judge(c->req));
	else if (c->len >= HTTPD_REQ_MAX)
		httpd_answer(c, HV_TOO_LARGE);
}

static void
httpd_accept_cb(uv_stream_t *server, int status)
{
	struct httpd_conn *c;

	if (status < 0)
		return;
	c = xcalloc(1, sizeof *c);
	uv_tcp_init(wsd_loop, &c->tcp);
	uv_timer_init(wsd_loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	httpd_nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
	    httpd_nconns > HTTPD_CONNS_MAX) {
		httpd_conn_close(c);	/* over the cap: dropped unanswered */
		return;
	}
	uv_timer_start(&c->timer, httpd_timer_cb, httpd_deadline_ms, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, httpd_alloc_cb,
	    httpd_read_cb) != 0)
		httpd_conn_close(c);
}

int
httpd_open(uv_loop_t *loop, int fd)
{
	httpd_deadline_ms = knob_or_default(KNOB_WSD_METRICS_TIMEOUT_MS);
	uv_tcp_init(loop, &httpd_server);
	if (uv_tcp_open(&httpd_server, fd) != 0 ||
	    uv_listen((uv_stream_t *)&httpd_server, 64, httpd_accept_cb) != 0) {
		uv_close((uv_handle_t *)&httpd_server, NULL);
		return -1;
	}
	httpd_on = 1;
	return 0;
}

int
httpd_fd(void)
{
	uv_os_fd_t fd;

	return httpd_on && uv_fileno((uv_handle_t *)&httpd_server, &fd) == 0 ?
	    fd : -1;
}

void
httpd_close(void)
{
	if (!httpd_on)
		return;
	httpd_on = 0;
	uv_close((uv_handle_t *)&httpd_server, NULL);
}

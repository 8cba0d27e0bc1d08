/* The handshake stage: accepted sockets until their request is complete. */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "edge.h"
#include "httpreq.h"
#include "log.h"
#include "metrics.h"

#define EDGE_BUCKETS		4096	/* source addresses, chained */
/*
 * One read at most.  Reads are recvfrom(): recv() is rxguard.c's, for
 * lws's reads of WebSocket frames.
 */
#define EDGE_READ		16384
#define EDGE_LINGER_MS		2000	/* reading what follows a refusal */

/* A source address with handshakes in progress. */
struct edge_addr {
	struct edge_addr	*next;
	uint32_t		 count;
	uint8_t			 len;		/* 4 or 16 */
	uint8_t			 a[16];
};

enum edge_state {
	EDGE_READING,		/* the request is arriving */
	EDGE_LINGER,		/* refused and answered: draining its input */
};

struct edge_conn {
	uv_poll_t		 poll;		/* first: the handle's data */
	struct deadline		 dl;
	struct edge_conn	*next, *prev;	/* every conn, for close_all */
	struct edge_addr	*addr;
	char			*buf;
	size_t			 len;
	struct httpreq		 req;
	int			 fd;
	enum edge_state		 state;
};

static uv_loop_t		*edge_loop;
static struct edge_config	 edge_conf;
static edge_ready_cb		 edge_ready;
static struct edge_addr		*edge_buckets[EDGE_BUCKETS];
static uint64_t			 edge_seed;
static struct deadline_heap	 edge_heap;
static uv_timer_t		 edge_timer;
static struct edge_conn		*edge_conns;
static size_t			 edge_nconns;
static char			 edge_scratch[EDGE_READ];

static void	edge_poll_cb(uv_poll_t *, int, int);

int
edge_init(uv_loop_t *loop, const struct edge_config *conf, edge_ready_cb cb)
{
	edge_loop = loop;
	edge_conf = *conf;
	edge_ready = cb;
	deadline_heap_init(&edge_heap);
	/* a keyed hash: peers choose their IPv6 addresses */
	if (getrandom(&edge_seed, sizeof edge_seed, GRND_NONBLOCK) !=
	    sizeof edge_seed)
		edge_seed = uv_hrtime();
	return uv_timer_init(loop, &edge_timer);
}

size_t
edge_count(void)
{
	return edge_nconns;
}

/* The address key: IPv4 (also when mapped into IPv6) or IPv6. */
static int
edge_key(const struct sockaddr *sa, socklen_t salen, uint8_t *a)
{
	const struct sockaddr_in	*s4 = (const void *)sa;
	const struct sockaddr_in6	*s6 = (const void *)sa;

	if (sa->sa_family == AF_INET && salen >= sizeof *s4) {
		memcpy(a, &s4->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof *s6) {
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(a, s6->sin6_addr.s6_addr + 12, 4);
			return 4;
		}
		memcpy(a, &s6->sin6_addr, 16);
		return 16;
	}
	return 0;	/* unix sockets: one shared key */
}

static size_t
edge_hash(const uint8_t *a, size_t len)
{
	uint64_t	h = 0xcbf29ce484222325ull ^ edge_seed;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ a[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	return (size_t)(h % EDGE_BUCKETS);
}

/* The entry for an address, created when absent; NULL on ENOMEM. */
static struct edge_addr *
edge_addr_get(const uint8_t *a, size_t len)
{
	struct edge_addr	**b = &edge_buckets[edge_hash(a, len)], *e;

	for (e = *b; e != NULL; e = e->next)
		if (e->len == len && memcmp(e->a, a, len) == 0)
			return e;
	if ((e = calloc(1, sizeof *e)) == NULL)
		return NULL;
	e->len = (uint8_t)len;
	memcpy(e->a, a, len);
	e->next = *b;
	*b = e;
	return e;
}

static void
edge_addr_put(struct edge_addr *e)
{
	struct edge_addr	**p;

	if (--e->count > 0)
		return;
	for (p = &edge_buckets[edge_hash(e->a, e->len)]; *p != e;
	    p = &(*p)->next)
		;
	*p = e->next;
	free(e);
}

static void	edge_timer_cb(uv_timer_t *);

/* One timer for every conn: due at the earliest deadline. */
static void
edge_arm(void)
{
	struct deadline	*top = deadline_top(&edge_heap);
	int64_t		 now = (int64_t)uv_now(edge_loop);

	if (top == NULL)
		uv_timer_stop(&edge_timer);
	else
		uv_timer_start(&edge_timer, edge_timer_cb,
		    top->at > now ? (uint64_t)(top->at - now) : 0, 0);
}

static void
edge_free_cb(uv_handle_t *h)
{
	free(h->data);
}

/*
 * Forget a conn.  Its poll handle is closed at once: uv_close() takes the
 * fd out of epoll before returning, so lws may register the same fd next.
 */
static void
edge_forget(struct edge_conn *c)
{
	deadline_remove(&edge_heap, &c->dl);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		edge_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	edge_nconns--;
	edge_addr_put(c->addr);
	free(c->buf);
	c->buf = NULL;
	c->poll.data = c;
	uv_close((uv_handle_t *)&c->poll, edge_free_cb);
}

static void
edge_drop(struct edge_conn *c)
{
	int	fd = c->fd;

	edge_forget(c);
	close(fd);
}

/*
 * Answer a refused request: JSON for the API (POST), text otherwise.  It
 * fits any socket buffer, so one send() takes it or the peer is gone.
 */
static void
edge_refuse_write(int fd, const struct httpreq *r)
{
	char		 out[512], body[160];
	const char	*why = r->error != NULL ? r->error :
			    httpreq_reason(r->status);
	int		 n, json = r->method == HTTPREQ_POST, blen;

	blen = snprintf(body, sizeof body, json ?
	    "{\"ok\":false,\"error\":\"%s\"}" : "%s\n", why);
	n = snprintf(out, sizeof out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %d\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "%s"
	    "\r\n%s", r->status, httpreq_reason(r->status),
	    json ? "application/json" : "text/plain", blen,
	    r->status == 426 ? "Upgrade: websocket\r\n"
	    "Sec-WebSocket-Version: 13\r\n" : r->status == 503 ?
	    "Retry-After: 1\r\n" : "", body);
	if (n > 0 && (size_t)n < sizeof out)
		(void)send(fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * After the answer, read (and drop) what the peer still sends for a
 * moment: closing with unread input would reset the connection, and the
 * peer could lose the answer with it.
 */
static void
edge_refuse(struct edge_conn *c)
{
	metrics.errors++;
	log_json(LOG_DEBUG, json_pack("{s:i,s:s}", "status", c->req.status,
	    "error", c->req.error ? c->req.error : ""), "request refused");
	edge_refuse_write(c->fd, &c->req);
	shutdown(c->fd, SHUT_WR);
	c->state = EDGE_LINGER;
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
	deadline_add(&edge_heap, &c->dl, (int64_t)uv_now(edge_loop) +
	    EDGE_LINGER_MS);
	edge_arm();
}

/*
 * The request is complete: take the subprotocol lines out of the head
 * (lws 4.1 drops a connection offering only names it does not serve; ws.c
 * answers with the first one, as Node's ws does) and the body's framing
 * lines (lws 4.1 misreads a body handed over with the head: ws.c gets it
 * decoded, apart), and hand the socket to lws.  After a handshake, bytes the peer sent early
 * (frames) go along; after a plain request, nothing more is served.
 */
static void
edge_handoff(int fd, char *buf, size_t len, const struct httpreq *r)
{
	char		 proto[HTTPREQ_PROTOCOL_MAX + 1];
	struct chunked	 ch;
	size_t		 i, cut = 0, head = r->head_len, blen = 0;
	char		*body = buf + r->head_len;

	if (r->websocket && r->protocol.len > 0) {
		memcpy(proto, buf + r->protocol.off, r->protocol.len);
		proto[r->protocol.len] = '\0';
	}
	if (r->chunked) {
		/* in place: the data never runs ahead of its framing */
		chunked_init(&ch);
		(void)chunked_feed(&ch, body, r->total - r->head_len, body,
		    &blen, r->max_body);
	} else if (!r->websocket)
		blen = r->total - r->head_len;
	else
		head = len;
	for (i = r->nstrip; i > 0; i--) {	/* from the last: offsets hold */
		const struct httpreq_span *s = &r->strip[i - 1];

		memmove(buf + s->off, buf + s->off + s->len,
		    head - cut - s->off - s->len);
		cut += s->len;
	}
	edge_ready(fd, buf, head - cut, blen > 0 ? body : NULL, blen,
	    r->websocket && r->protocol.len > 0 ? proto : NULL);
}

/* The head asked for 100 Continue and the body is awaited: say it once. */
static void
edge_continue(struct edge_conn *c)
{
	static const char	ok[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (c->req.expect_continue && c->req.state == HTTPREQ_S_BODY) {
		c->req.expect_continue = 0;
		(void)send(c->fd, ok, sizeof ok - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
}

/* Read what is there; 1 complete, 0 more to come, -1 closed or failed. */
static int
edge_read(struct edge_conn *c)
{
	ssize_t	 n;
	char	*nb;
	int	 r;

	n = recvfrom(c->fd, edge_scratch, sizeof edge_scratch, 0, NULL, NULL);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (n < 0 || c->state == EDGE_LINGER)
		return 0;
	if ((nb = realloc(c->buf, c->len + (size_t)n)) == NULL)
		return -1;
	c->buf = nb;
	memcpy(c->buf + c->len, edge_scratch, (size_t)n);
	c->len += (size_t)n;
	r = httpreq_feed(&c->req, c->buf, c->len);
	if (r == HTTPREQ_ERROR) {
		edge_refuse(c);
		return 0;
	}
	edge_continue(c);
	return r == HTTPREQ_DONE;
}

static void
edge_done(struct edge_conn *c)
{
	struct httpreq	 req = c->req;
	char		*buf = c->buf;
	size_t		 len = c->len;
	int		 fd = c->fd;

	c->buf = NULL;
	edge_forget(c);		/* first: lws polls the fd next */
	edge_handoff(fd, buf, len, &req);
	free(buf);
}

static void
edge_poll_cb(uv_poll_t *p, int status, int events)
{
	struct edge_conn	*c = p->data;
	int			 r;

	(void)events;
	r = status < 0 ? -1 : edge_read(c);
	if (r < 0)
		edge_drop(c);
	else if (r > 0)
		edge_done(c);
}

static void
edge_timer_cb(uv_timer_t *t)
{
	struct deadline		*d;
	struct edge_conn	*c;
	int64_t			 now = (int64_t)uv_now(edge_loop);

	(void)t;
	while ((d = deadline_top(&edge_heap)) != NULL && d->at <= now) {
		c = (struct edge_conn *)((char *)d -
		    offsetof(struct edge_conn, dl));
		if (c->state == EDGE_READING)
			metrics.errors++;	/* too slow: closed unanswered */
		edge_drop(c);
	}
	edge_arm();
}

/* A conn for a request still arriving (or refused: lingering). */
static struct edge_conn *
edge_conn_new(int fd, struct edge_addr *a, const char *buf, size_t len,
    const struct httpreq *r)
{
	struct edge_conn	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if (len > 0 && (c->buf = malloc(len)) == NULL) {
		free(c);
		return NULL;
	}
	if (uv_poll_init(edge_loop, &c->poll, fd) != 0) {
		free(c->buf);
		free(c);
		return NULL;
	}
	if (len > 0)
		memcpy(c->buf, buf, len);
	c->len = len;
	c->req = *r;
	c->fd = fd;
	c->addr = a;
	a->count++;
	c->poll.data = c;
	c->next = edge_conns;
	if (edge_conns != NULL)
		edge_conns->prev = c;
	edge_conns = c;
	edge_nconns++;
	uv_poll_start(&c->poll, UV_READABLE, edge_poll_cb);
	deadline_add(&edge_heap, &c->dl, (int64_t)uv_now(edge_loop) +
	    (int64_t)edge_conf.timeout_ms);
	edge_arm();
	return c;
}

void
edge_accept(int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct httpreq		 req;
	struct edge_addr	*a;
	struct edge_conn	*c;
	uint8_t			 key[16];
	ssize_t			 n;
	int			 r = HTTPREQ_MORE;

	/*
	 * Most requests are already here when the connection is accepted:
	 * read, and hand a complete one over without allocating anything.
	 */
	httpreq_init(&req, edge_conf.max_head, edge_conf.max_body);
	n = recvfrom(fd, edge_scratch, sizeof edge_scratch, 0, NULL, NULL);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(fd);
		return;
	}
	if (n < 0)
		n = 0;
	if (n > 0)
		r = httpreq_feed(&req, edge_scratch, (size_t)n);
	if (r == HTTPREQ_DONE) {
		edge_handoff(fd, edge_scratch, (size_t)n, &req);
		return;
	}
	a = edge_addr_get(key, (size_t)edge_key(sa, salen, key));
	if (a == NULL) {
		close(fd);
		return;
	}
	if (edge_conf.per_ip > 0 && a->count >= 2 * edge_conf.per_ip) {
		/* far over the cap: closed at once, unanswered */
		metrics.errors++;
		close(fd);
		return;
	}
	if (edge_conf.per_ip > 0 && a->count >= edge_conf.per_ip) {
		/*
		 * Over the cap: answered 503 with Retry-After and closed
		 * gently (edge_refuse), so a client behind a busy address
		 * sees why and retries instead of a reset.  The lingering
		 * conn counts against the address: past twice the cap the
		 * close is plain.
		 */
		req.state = HTTPREQ_S_ERROR;
		req.status = 503;
		req.error = "too many requests in progress from this address";
		r = HTTPREQ_ERROR;
	}
	c = edge_conn_new(fd, a, edge_scratch, (size_t)n, &req);
	if (c == NULL) {
		a->count++;
		edge_addr_put(a);
		close(fd);
		return;
	}
	if (r == HTTPREQ_ERROR)
		edge_refuse(c);
	else
		edge_continue(c);
}

void
edge_close_all(void)
{
	struct edge_conn	*c;

	/*
	 * At exit: a request still arriving gets 503 with Retry-After (the
	 * client retries, on another instance), and its input is read first
	 * so that the close is a FIN, not a reset.
	 */
	while ((c = edge_conns) != NULL) {
		if (c->state == EDGE_READING) {
			c->req.status = 503;
			c->req.error = "shutting down";
			edge_refuse_write(c->fd, &c->req);
			while (recvfrom(c->fd, edge_scratch, sizeof edge_scratch,
			    MSG_DONTWAIT, NULL, NULL) > 0)
				;
		}
		edge_drop(c);
	}
	uv_timer_stop(&edge_timer);
}

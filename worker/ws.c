/* The libwebsockets layer: context on our loop, protocol callback, HTTP routes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "bus.h"
#include "channels.h"
#include "chunked.h"
#include "hub.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "rules.h"
#include "session.h"
#include "ws.h"

/*
 * Client messages are small (subscribe, ping): a modest receive buffer
 * keeps the per-connection allocation lws makes small; longer messages
 * arrive in pieces and are joined here up to max_message.
 */
#define WS_RX_BUFFER	128
/* How long a peer has to answer our close frame once it is sent. */
#define WS_CLOSE_ACK_SECS	2
/* One send() may carry this much (coalesced frames). */
#define WS_TX_PACKET	(256 * 1024)

/*
 * A POST /api/publish waiting for Redis to answer.  One is kept ready
 * (ws_spare): a publish delivered locally hands it back unused, so only
 * one that waits costs an allocation.
 */
struct ws_pending {
	struct lws	*wsi;		/* NULL once the request went away */
};

enum ws_route {
	WS_ROUTE_NONE = 0,
	WS_ROUTE_PUBLISH,		/* reading the body */
	WS_ROUTE_PUBLISH_WAIT,		/* waiting for hub_publish_out */
	WS_ROUTE_PUBLISH_DONE,		/* result ready: reply when writable */
};

struct ws_http {
	char			*body;
	size_t			 len;
	struct chunked		 ch;
	int			 chunked;	/* body in chunked framing */
	struct ws_pending	*pending;
	enum ws_route		 route;
	int			 ok;
	long long		 receivers;
};

struct ws_conn {
	struct session		 s;
	char			*rx;		/* a message arriving in pieces */
	uint32_t		 rxlen;
};

/* Per-connection memory: an HTTP request, or then a WebSocket session. */
struct ws_pss {
	enum { WS_KIND_NONE, WS_KIND_HTTP, WS_KIND_WS } kind;
	union {
		struct ws_conn	 ws;
		struct ws_http	 http;
	};
};

static struct lws_context	*ws_context;
static struct lws_vhost		*ws_vhost;
static struct ws_config		 ws_conf;
static struct bus		*ws_bus;
static struct ws_pending	*ws_spare;
static time_t			 ws_started;
static size_t			 ws_nconns;	/* every wsi, HTTP or WebSocket */

static int	ws_callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);

/*
 * No lws keepalive: session.c pings every socket from one timer.  lws's
 * own would re-insert a timer per socket into a sorted list on every pong.
 */
static const lws_retry_bo_t ws_no_validity = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};

static const struct lws_protocols ws_protocols[] = {
	{
		.name = "fonana-ws",
		.callback = ws_callback,
		.per_session_data_size = sizeof(struct ws_pss),
		.rx_buffer_size = WS_RX_BUFFER,
		.tx_packet_size = WS_TX_PACKET,
	},
	{ .name = NULL }
};

/*
 * lws log lines go through our logger.  They can quote a request line, so
 * anything after "token=" or "Bearer " is masked before it is written.
 */
static void
ws_log_cb(int level, const char *line)
{
	static const char	*marks[] = { "token=", "Bearer ", "session-token" };
	char			 buf[1024], *p, *q;
	size_t			 i, n;

	snprintf(buf, sizeof buf, "%s", line);
	for (i = 0; i < sizeof marks / sizeof marks[0]; i++) {
		for (p = buf; (p = strcasestr(p, marks[i])) != NULL; p = q) {
			q = p + strlen(marks[i]);
			n = strcspn(q, " &;\"'\r\n");
			if (n >= 4) {	/* the line never grows */
				memmove(q + 4, q + n, strlen(q + n) + 1);
				n = 4;
			}
			memset(q, '*', n);
			q += n;
		}
	}
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_json(level & LLL_ERR ? LOG_ERROR : LOG_WARN,
	    json_pack("{s:s}", "component", "lws"), "%s", buf);
}

int
ws_init(uv_loop_t *loop, const struct ws_config *conf, char **err)
{
	static void				*loops[1];
	struct lws_context_creation_info	 info;

	ws_conf = *conf;
	ws_started = time(NULL);
	/* never LLL_PARSER and above: they print request bytes, tokens too */
	lws_set_log_level(conf->lws_log_level >= 0 ? conf->lws_log_level &
	    (LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO | LLL_DEBUG) : LLL_ERR,
	    ws_log_cb);

	loops[0] = loop;
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_LIBUV |
	    LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
	    LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
	info.foreign_loops = loops;
	info.count_threads = 1;
	info.max_http_header_data = 16384;	/* NextAuth cookies are big */
	info.max_http_header_pool = 32;
	info.timeout_secs = 10;
	ws_context = lws_create_context(&info);
	if (ws_context == NULL) {
		*err = strdup("lws_create_context failed (is "
		    "libwebsockets-evlib-uv installed?)");
		return -1;
	}

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.retry_and_idle_policy = &ws_no_validity;
	info.protocols = ws_protocols;
	info.vhost_name = "wsworker";
	info.options = LWS_SERVER_OPTION_LIBUV;
	ws_vhost = lws_create_vhost(ws_context, &info);
	if (ws_vhost == NULL) {
		*err = strdup("lws_create_vhost failed");
		lws_context_destroy(ws_context);
		ws_context = NULL;
		return -1;
	}
	return 0;
}

void
ws_set_bus(struct bus *bus)
{
	ws_bus = bus;
}

int
ws_adopt(int fd)
{
	if (ws_vhost == NULL || lws_adopt_socket_vhost(ws_vhost, fd) == NULL) {
		metrics.errors++;
		return -1;	/* lws closed the fd */
	}
	return 0;
}

size_t
ws_connection_count(void)
{
	return ws_nconns;
}

void
ws_destroy(void)
{
	if (ws_context != NULL) {
		lws_context_destroy(ws_context);
		ws_context = NULL;
		ws_vhost = NULL;
	}
	free(ws_spare);
	ws_spare = NULL;
}

int
ws_conn_write(void *conn, const void *buf, size_t len)
{
	/* Already framed: LWS_WRITE_RAW sends the bytes as they are. */
	return lws_write(conn, (unsigned char *)(uintptr_t)buf, len,
	    LWS_WRITE_RAW) < 0 ? -1 : 0;
}

int
ws_conn_fd(void *conn)
{
	return lws_get_socket_fd(conn);
}

int
ws_conn_buffered(void *conn)
{
	return lws_partial_buffered(conn);
}

void
ws_conn_want_writable(void *conn)
{
	lws_callback_on_writable(conn);
}

void
ws_conn_close(void *conn, int code, const char *reason, int wait_secs)
{
	unsigned char	p[4 + 123];
	size_t		n;

	/*
	 * lws 4.1 sends the lws_close_reason() frame only when a close is
	 * started from a RECEIVE callback: returning -1 from WRITEABLE or a
	 * timeout close marks the socket unusable and skips it.  So the
	 * close frame is written here; the peer's answering close ends the
	 * connection (see WS_PEER_INITIATED_CLOSE), or the timeout does.
	 */
	n = strlen(reason);
	if (n > 123)
		n = 123;
	p[0] = 0x88;			/* FIN, close */
	p[1] = (unsigned char)(n + 2);
	p[2] = (unsigned char)(code >> 8);
	p[3] = (unsigned char)code;
	memcpy(p + 4, reason, n);
	if (lws_write(conn, p, n + 4, LWS_WRITE_RAW) < 0)
		lws_set_timeout(conn, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
	else
		lws_set_timeout(conn, PENDING_TIMEOUT_CLOSE_ACK,
		    lws_partial_buffered(conn) ? wait_secs : WS_CLOSE_ACK_SECS);
}

void
ws_conn_close_sent(void *conn)
{
	lws_set_timeout(conn, PENDING_TIMEOUT_CLOSE_ACK, WS_CLOSE_ACK_SECS);
}

void
ws_conn_kill_after(void *conn, int secs)
{
	lws_set_timeout(conn, PENDING_TIMEOUT_USER_OK,
	    secs > 0 ? secs : LWS_TO_KILL_ASYNC);
}

/* A header as a malloc'd string, or NULL when absent. */
static char *
ws_header(struct lws *wsi, enum lws_token_indexes h)
{
	char	*s;
	int	 n;

	n = lws_hdr_total_length(wsi, h);
	if (n <= 0)
		return NULL;
	if ((s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	if (lws_hdr_copy(wsi, s, n + 1, h) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int
ws_ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char	d = alen != blen;
	size_t		i;

	for (i = 0; i < alen; i++)
		d |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
	return d == 0 && blen > 0;
}

static int
ws_origin_allowed(const char *origin)
{
	const char	*p, *e;
	size_t		 n, olen;

	if (ws_conf.allowed_origins == NULL || *ws_conf.allowed_origins == '\0')
		return 1;
	if (origin == NULL)
		return 1;	/* not a browser: Origin protects browsers */
	olen = strlen(origin);
	for (p = ws_conf.allowed_origins; *p != '\0'; p = e) {
		while (*p == ' ' || *p == ',')
			p++;
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		while (n > 0 && p[n - 1] == '/')
			n--;
		if (n > 0 && n == olen && strncasecmp(p, origin, n) == 0)
			return 1;
		if (n == 1 && *p == '*')
			return 1;
	}
	return 0;
}

/* Write a complete response (headers and body); 0 or -1. */
static int
ws_http_write(struct lws *wsi, unsigned int status, const char *ctype,
    const char *body, size_t len)
{
	unsigned char	 hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start;
	unsigned char	*end = hdr + sizeof hdr - 1, *b;
	int		 n;

	if (status == 426) {
		/* lws 4.1's status table has no text for 426 */
		n = snprintf((char *)p, (size_t)(end - p),
		    "HTTP/1.1 426 Upgrade Required\x0d\x0a");
		p += n;
		if (lws_add_http_header_by_name(wsi,
		    (unsigned char *)"content-type:", (unsigned char *)ctype,
		    (int)strlen(ctype), &p, end) ||
		    lws_add_http_header_by_name(wsi, (unsigned char *)"upgrade:",
		    (unsigned char *)"websocket", 9, &p, end) ||
		    lws_add_http_header_content_length(wsi, len, &p, end))
			return -1;
	} else if (lws_add_http_common_headers(wsi, status, ctype, len, &p,
	    end))
		return -1;
	if (lws_add_http_header_by_name(wsi, (unsigned char *)"cache-control:",
	    (unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (len > 0) {
		if ((b = malloc(LWS_PRE + len)) == NULL)
			return -1;
		memcpy(b + LWS_PRE, body, len);
		n = lws_write(wsi, b + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
		free(b);
		if (n < 0)
			return -1;
	}
	return 0;
}

/* Write a complete response; returns what the HTTP callback should. */
static int
ws_http_reply(struct lws *wsi, unsigned int status, const char *ctype,
    const char *body, size_t len)
{
	if (ws_http_write(wsi, status, ctype, body, len) != 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
ws_http_json(struct lws *wsi, unsigned int status, json_t *v)
{
	char	*text;
	int	 r;

	if (v == NULL)
		return -1;
	text = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (text == NULL)
		return -1;
	r = ws_http_reply(wsi, status, "application/json", text, strlen(text));
	free(text);
	return r;
}

static int
ws_redis_state(void)
{
	if (ws_bus == NULL)
		return -1;
	return bus_is_up(ws_bus) ? 1 : 0;
}

static int
ws_db_state(void)
{
	if (!pg_configured())
		return -1;
	return pg_is_up() ? 1 : 0;
}

/*
 * A database down is reported, but stays 200: the sockets, their events
 * and every rule without SQL still work, and a balancer that dropped every
 * instance at once over it would cut all clients (docs/worker.md).
 */
static int
ws_health(struct lws *wsi)
{
	int	redis = ws_redis_state(), db = ws_db_state();

	return ws_http_json(wsi, redis == 0 ? 503 : 200,
	    json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}",
	    "status", redis == 0 || db == 0 ? "degraded" : "ok",
	    "redis", metrics_link_name(redis),
	    "database", metrics_link_name(db),
	    "connections", (json_int_t)session_count(),
	    "subscriptions", (json_int_t)hub_subscription_count(),
	    "channels", (json_int_t)hub_channel_count(),
	    "uptime", (json_int_t)(time(NULL) - ws_started),
	    "pid", (json_int_t)getpid()));
}

static int
ws_metrics(struct lws *wsi)
{
	struct metrics_gauges	 g;
	char			*text;
	int			 r;

	g.active_connections = session_count();
	g.subscriptions = hub_subscription_count();
	g.channels = hub_channel_count();
	g.redis = ws_redis_state();
	g.database = ws_db_state();
	pg_get_stats(&g.db);
	rules_get_stats(&g.rules);
	if ((text = metrics_render(&g)) == NULL)
		return -1;
	r = ws_http_reply(wsi, 200, "text/plain; version=0.0.4", text,
	    strlen(text));
	free(text);
	return r;
}

static int
ws_error(struct lws *wsi, unsigned int status, const char *msg)
{
	return ws_http_json(wsi, status, json_pack("{s:b,s:s}", "ok", 0,
	    "error", msg));
}

/* The API key check of POST /api/publish (constant time). */
static int
ws_api_authorized(struct lws *wsi)
{
	char		*h;
	const char	*p;
	int		 ok = 0;

	if ((h = ws_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION)) == NULL)
		return 0;
	p = h;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "Bearer ", 7) == 0) {
		p += 7;
		while (*p == ' ')
			p++;
		ok = ws_ct_equal(p, strlen(p), ws_conf.api_key,
		    strlen(ws_conf.api_key));
	}
	explicit_bzero(h, strlen(h));
	free(h);
	return ok;
}

static void
ws_publish_cb(void *arg, int ok, long long receivers)
{
	struct ws_pending	*pd = arg;
	struct ws_pss		*pss;

	if (pd->wsi != NULL) {
		pss = lws_wsi_user(pd->wsi);
		pss->http.pending = NULL;
		pss->http.route = WS_ROUTE_PUBLISH_DONE;
		pss->http.ok = ok;
		pss->http.receivers = receivers;
		if (!ok)
			metrics.errors++;
		lws_callback_on_writable(pd->wsi);
	}
	free(pd);
}

/*
 * The body of POST /api/publish is complete.  It is the event itself with
 * one routing member added, "channel" (the key); every other member is the
 * event's and reaches the clients as sent (fonana's flat events such as
 * {"type":"notification","userId":…,"notification":{…}} arrive whole).
 */
static int
ws_publish(struct lws *wsi, struct ws_http *h)
{
	json_t			*req, *chv;
	const char		*channel, *type;
	char			*payload;
	struct ws_pending	*pd;
	size_t			 n;
	int			 delivered;

	req = json_loadb(h->body ? h->body : "", h->len, 0, NULL);
	channel = json_string_value(json_object_get(req, "channel"));
	type = json_string_value(json_object_get(req, "type"));
	if (!json_is_object(req) || channel == NULL || type == NULL ||
	    !channels_key_valid(channel)) {
		json_decref(req);
		metrics.errors++;
		return ws_error(wsi, 400, "expected {\"channel\":\"KEY\","
		    "\"type\":\"…\",…event members}");
	}
	/* The key outlives its member: the event is req without it. */
	chv = json_incref(json_object_get(req, "channel"));
	json_object_del(req, "channel");
	if ((payload = json_dumps(req, JSON_COMPACT)) == NULL) {
		json_decref(chv);
		json_decref(req);
		return ws_error(wsi, 500, "out of memory");
	}
	log_json(LOG_DEBUG, json_pack("{s:s,s:s}", "channel", channel,
	    "type", type), "publish");
	if (ws_spare == NULL && (ws_spare = malloc(sizeof *pd)) == NULL) {
		free(payload);
		json_decref(chv);
		json_decref(req);
		return ws_error(wsi, 500, "out of memory");
	}
	pd = ws_spare;
	pd->wsi = wsi;
	delivered = hub_publish_out(channel, payload, strlen(payload), &n,
	    ws_publish_cb, pd);
	free(payload);
	json_decref(chv);
	json_decref(req);
	if (delivered)
		return ws_http_json(wsi, 200, json_pack("{s:b,s:I}", "ok", 1,
		    "receivers", (json_int_t)n));
	ws_spare = NULL;	/* ws_publish_cb frees it */
	h->pending = pd;
	h->route = WS_ROUTE_PUBLISH_WAIT;
	return 0;
}

/* A piece of the POST /api/publish body. */
static int
ws_http_body(struct lws *wsi, struct ws_http *h, const char *in, size_t len)
{
	char	*nb;
	int	 r;

	if ((nb = realloc(h->body, h->len + len + 1)) == NULL)
		return -1;
	h->body = nb;
	if (!h->chunked) {
		if (h->len + len > ws_conf.max_publish) {
			ws_error(wsi, 413, "body too large");
			return -1;
		}
		memcpy(h->body + h->len, in, len);
		h->len += len;
		return 0;
	}
	/*
	 * lws 4.1 never completes a chunked body: once the last chunk is
	 * here, answer, and close the connection after the answer (lws still
	 * expects body bytes on it).
	 */
	r = chunked_feed(&h->ch, in, len, h->body, &h->len, ws_conf.max_publish);
	if (r < 0) {
		ws_error(wsi, 400, "bad chunked body");
		return -1;
	}
	if (r == 0)
		return 0;
	r = ws_publish(wsi, h);
	free(h->body);
	h->body = NULL;
	h->len = 0;
	if (h->route == WS_ROUTE_PUBLISH_WAIT ||
	    h->route == WS_ROUTE_PUBLISH_DONE)
		return r;	/* answered, then closed, when writable */
	return -1;
}

static int
ws_http(struct lws *wsi, struct ws_http *h, const char *path)
{
	char	*te;
	int	 get, post, n;

	memset(h, 0, sizeof *h);
	get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	if (get && strcmp(path, "/health") == 0)
		return ws_health(wsi);
	if (get && strcmp(path, "/metrics") == 0)
		return ws_metrics(wsi);
	if (post && strcmp(path, "/api/publish") == 0) {
		if (ws_conf.api_key == NULL || *ws_conf.api_key == '\0')
			return ws_error(wsi, 404, "not found");
		if (!ws_api_authorized(wsi)) {
			metrics.errors++;
			return ws_error(wsi, 401, "unauthorized");
		}
		n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
		if (n > 0) {
			char	cl[32];

			lws_hdr_copy(wsi, cl, sizeof cl,
			    WSI_TOKEN_HTTP_CONTENT_LENGTH);
			if (strtoull(cl, NULL, 10) > ws_conf.max_publish)
				return ws_error(wsi, 413, "body too large");
		}
		h->route = WS_ROUTE_PUBLISH;
		te = ws_header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING);
		if (te != NULL && strcasestr(te, "chunked") != NULL) {
			h->chunked = 1;
			chunked_init(&h->ch);
		}
		free(te);
		return 0;	/* the body follows */
	}
	n = ws_http_reply(wsi, 426, "text/plain", "Upgrade Required", 16);
	/* a body we won't read would be taken for the next request */
	return get ? n : -1;
}

/* The peer's address, or NULL (lws writes its error text instead). */
static const char *
ws_peer(struct lws *wsi, char *buf, size_t len)
{
	buf[0] = '\0';
	if (lws_get_peer_simple(wsi, buf, len) == NULL || buf[0] == '\0' ||
	    strncmp(buf, "getpeername", 11) == 0)
		return NULL;
	return buf;
}

static void
ws_open(struct lws *wsi, struct ws_conn *c)
{
	struct session_creds	 cr;
	char			*query, *authz, *cookie, remote[64];

	query = ws_header(wsi, WSI_TOKEN_HTTP_URI_ARGS);
	authz = ws_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	cookie = ws_header(wsi, WSI_TOKEN_HTTP_COOKIE);
	cr.query = query;
	cr.authorization = authz;
	cr.cookie = cookie;
	cr.remote = ws_peer(wsi, remote, sizeof remote);
	c->rx = NULL;
	c->rxlen = 0;
	session_open(&c->s, wsi, &cr);
	if (query != NULL) {
		explicit_bzero(query, strlen(query));
		free(query);
	}
	if (authz != NULL) {
		explicit_bzero(authz, strlen(authz));
		free(authz);
	}
	if (cookie != NULL) {
		explicit_bzero(cookie, strlen(cookie));
		free(cookie);
	}
}

/* A piece of a client message; whole messages go to the session. */
static int
ws_receive(struct lws *wsi, struct ws_conn *c, const char *in, size_t len)
{
	size_t	remaining, total;
	char	*nrx;

	if (c->s.state != SESSION_OPEN)
		return 0;	/* closing: what it says no longer matters */
	remaining = lws_remaining_packet_payload(wsi);
	total = (size_t)c->rxlen + len + remaining;
	if (total > ws_conf.max_message) {
		metrics.errors++;
		free(c->rx);
		c->rx = NULL;
		c->rxlen = 0;
		log_json(LOG_INFO, json_pack("{s:s,s:I}", "user", c->s.user,
		    "size", (json_int_t)total), "client message too big");
		session_close(&c->s, SESSION_TOO_BIG);
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
		    (unsigned char *)"Message too big", 15);
		return -1;
	}
	if (lws_is_final_fragment(wsi) && remaining == 0 && c->rxlen == 0) {
		session_message(&c->s, in, len);
		return 0;
	}
	if ((nrx = realloc(c->rx, (size_t)c->rxlen + len + 1)) == NULL)
		return -1;
	c->rx = nrx;
	memcpy(c->rx + c->rxlen, in, len);
	c->rxlen += (uint32_t)len;
	if (lws_is_final_fragment(wsi) && remaining == 0) {
		session_message(&c->s, c->rx, c->rxlen);
		free(c->rx);
		c->rx = NULL;
		c->rxlen = 0;
	}
	return 0;
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ws_pss	*pss = user;
	char		*origin, remote[64];
	int		 ok;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		origin = ws_header(wsi, WSI_TOKEN_ORIGIN);
		ok = ws_origin_allowed(origin);
		if (!ok) {
			log_json(LOG_INFO, json_pack("{s:s}", "origin", origin),
			    "origin not allowed");
			metrics.errors++;
		}
		free(origin);
		if (!ok) {
			/* lws completes the transaction when we return 1 */
			ws_http_write(wsi, 403, "text/plain", "Forbidden", 9);
			return 1;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		pss->kind = WS_KIND_WS;
		ws_open(wsi, &pss->ws);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (pss->kind != WS_KIND_WS)
			return 0;
		return ws_receive(wsi, &pss->ws, in, len);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		/* answering our close: don't echo another one */
		if (pss->kind == WS_KIND_WS &&
		    pss->ws.s.state == SESSION_CLOSING)
			return 1;
		return 0;
	case LWS_CALLBACK_RECEIVE_PONG:
		if (pss->kind != WS_KIND_WS)
			return 0;
		session_pong(&pss->ws.s);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->kind != WS_KIND_WS)
			return 0;
		session_writable(&pss->ws.s);
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (pss == NULL || pss->kind != WS_KIND_WS)
			return 0;
		free(pss->ws.rx);
		pss->ws.rx = NULL;
		session_closed(&pss->ws.s, ws_peer(wsi, remote, sizeof remote));
		return 0;

	case LWS_CALLBACK_HTTP:
		pss->kind = WS_KIND_HTTP;
		return ws_http(wsi, &pss->http, in != NULL ? in : "/");
	case LWS_CALLBACK_HTTP_BODY:
		if (pss->kind != WS_KIND_HTTP ||
		    pss->http.route != WS_ROUTE_PUBLISH)
			return 0;
		return ws_http_body(wsi, &pss->http, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (pss->kind != WS_KIND_HTTP ||
		    pss->http.route != WS_ROUTE_PUBLISH)
			return ws_http_reply(wsi, 426, "text/plain",
			    "Upgrade Required", 16);
		ok = ws_publish(wsi, &pss->http);
		free(pss->http.body);
		pss->http.body = NULL;
		pss->http.len = 0;
		return ok;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (pss == NULL || pss->kind != WS_KIND_HTTP ||
		    pss->http.route != WS_ROUTE_PUBLISH_DONE)
			return 0;
		pss->http.route = WS_ROUTE_NONE;
		if (!pss->http.ok)
			ok = ws_error(wsi, 503, "redis unavailable");
		else
			ok = ws_http_json(wsi, 200, json_pack("{s:b,s:I}",
			    "ok", 1, "receivers",
			    (json_int_t)pss->http.receivers));
		return pss->http.chunked ? -1 : ok;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss != NULL && pss->kind == WS_KIND_HTTP) {
			if (pss->http.pending != NULL)
				pss->http.pending->wsi = NULL;
			pss->http.pending = NULL;
			free(pss->http.body);
			pss->http.body = NULL;
		}
		return 0;
	case LWS_CALLBACK_WSI_CREATE:
		ws_nconns++;
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (ws_nconns > 0)
			ws_nconns--;
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

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
#include "history.h"
#include "hub.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "rules.h"
#include "rxguard.h"
#include "session.h"
#include "utf8.h"
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
	WS_ROUTE_PUBLISH_WAIT,		/* waiting for hub_publish_out */
	WS_ROUTE_PUBLISH_DONE,		/* result ready: reply when writable */
};

struct ws_http {
	struct ws_pending	*pending;
	enum ws_route		 route;
	int			 ok;
	long long		 receivers;
};

struct ws_conn {
	struct session		 s;
	char			*rx;		/* a message arriving in pieces */
	uint32_t		 rxlen;
	struct utf8		 text;		/* the text message so far */
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
static int			 ws_log_level;

/*
 * The request being adopted: lws serves it inside ws_adopt(), so the
 * callbacks it makes meanwhile find its subprotocol and body here.
 */
static struct {
	const char		*protocol;
	const char		*body;
	size_t			 len;
	const char		*early;		/* frames sent before the 101 */
	size_t			 early_len;
} ws_adopting;

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

/* A close frame may go out now: lws holds no half-sent frame. */
static int
ws_idle_cb(void *conn)
{
	return !lws_partial_buffered(conn);
}

static char *ws_origins_owned, *ws_api_key_owned;

int
ws_set_access(const char *allowed_origins, const char *api_key)
{
	char *o = NULL, *k = NULL;

	if ((allowed_origins != NULL && (o = strdup(allowed_origins)) == NULL) ||
	    (api_key != NULL && *api_key != '\0' &&
	    (k = strdup(api_key)) == NULL)) {
		free(o);
		return -1;
	}
	if (ws_api_key_owned != NULL)
		explicit_bzero(ws_api_key_owned, strlen(ws_api_key_owned));
	free(ws_origins_owned);
	free(ws_api_key_owned);
	ws_conf.allowed_origins = ws_origins_owned = o;
	ws_conf.api_key = ws_api_key_owned = k;
	return 0;
}

static const struct session_conn_ops ws_conn_ops;

int
ws_init(uv_loop_t *loop, const struct ws_config *conf, char **err)
{
	static void				*loops[1];
	struct lws_context_creation_info	 info;

	ws_conf = *conf;
	if (ws_set_access(conf->allowed_origins, conf->api_key) != 0) {
		*err = strdup("out of memory");
		return -1;
	}
	ws_started = time(NULL);
	/* never LLL_PARSER and above: they print request bytes, tokens too */
	ws_log_level = conf->lws_log_level >= 0 ? conf->lws_log_level &
	    (LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO | LLL_DEBUG) : LLL_ERR;
	lws_set_log_level(ws_log_level, ws_log_cb);

	loops[0] = loop;
	memset(&info, 0, sizeof info);
	/*
	 * Not LWS_SERVER_OPTION_VALIDATE_UTF8: lws 4.1 drops a close frame
	 * with a bad reason without the 1007; ws_receive() validates.
	 */
	info.options = LWS_SERVER_OPTION_LIBUV |
	    LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
	    LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
	info.foreign_loops = loops;
	info.count_threads = 1;
	/*
	 * lws sees only complete requests (edge.c), so a header buffer is
	 * held for the moment one is parsed and answered, never while a
	 * peer trickles: the pool needs no small fixed size.  The data
	 * holds the head's values, which WS_MAX_HEAD bounds.
	 */
	info.max_http_header_data = WS_MAX_HEAD + 1024;
	info.max_http_header_pool = 0;
	info.max_http_header_pool2 = 1u << 20;
	info.timeout_secs = 10;
	ws_context = lws_create_context(&info);
	if (ws_context == NULL) {
		*err = strdup("lws_create_context failed (is "
		    "libwebsockets-evlib-uv installed?)");
		return -1;
	}

	rxguard_init(ws_idle_cb);
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
	session_set_conn(&ws_conn_ops);
	return 0;
}

void
ws_set_bus(struct bus *bus)
{
	ws_bus = bus;
}

int
ws_adopt(int fd, const char *head, size_t len, const char *body,
    size_t body_len, const char *protocol)
{
	const char	*end;

	if (ws_vhost == NULL) {
		close(fd);
		return -1;
	}
	/*
	 * lws 4.1 serves the bytes at once, inside this call, and logs a
	 * line at error level each time it does: errors are muted for the
	 * call.  The body is not among the bytes (lws 4.1 hands a body that
	 * came with the head in the adopted buffer to HTTP_BODY from the
	 * wrong place): ws_http() takes it from ws_adopting.
	 */
	rxguard_forget(fd);	/* a new socket on a number seen before */
	if ((end = memmem(head, len, "\r\n\r\n", 4)) != NULL) {
		ws_adopting.early = end + 4;
		ws_adopting.early_len = len - (size_t)(end + 4 - head);
	}
	ws_adopting.protocol = protocol;
	ws_adopting.body = body;
	ws_adopting.len = body_len;
	lws_set_log_level(ws_log_level & ~LLL_ERR, NULL);
	/* NULL: refused, or served and closed already */
	(void)lws_adopt_socket_vhost_readbuf(ws_vhost, fd, head, len);
	lws_set_log_level(ws_log_level, NULL);
	memset(&ws_adopting, 0, sizeof ws_adopting);
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

static int
ws_conn_write(void *conn, const void *buf, size_t len)
{
	/* Already framed: LWS_WRITE_RAW sends the bytes as they are. */
	return lws_write(conn, (unsigned char *)(uintptr_t)buf, len,
	    LWS_WRITE_RAW) < 0 ? -1 : 0;
}

static int
ws_conn_fd(void *conn)
{
	return lws_get_socket_fd(conn);
}

static int
ws_conn_buffered(void *conn)
{
	return lws_partial_buffered(conn);
}

static void
ws_conn_want_writable(void *conn)
{
	lws_callback_on_writable(conn);
}

static void
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
	else if (wait_secs > 0)
		lws_set_timeout(conn, PENDING_TIMEOUT_CLOSE_ACK,
		    lws_partial_buffered(conn) ? wait_secs : WS_CLOSE_ACK_SECS);
}

static void
ws_conn_close_sent(void *conn)
{
	lws_set_timeout(conn, PENDING_TIMEOUT_CLOSE_ACK, WS_CLOSE_ACK_SECS);
}

static void
ws_conn_kill_after(void *conn, int secs)
{
	lws_set_timeout(conn, PENDING_TIMEOUT_USER_OK,
	    secs > 0 ? secs : LWS_TO_KILL_ASYNC);
}

static const struct session_conn_ops ws_conn_ops = {
	.fd = ws_conn_fd,
	.write = ws_conn_write,
	.buffered = ws_conn_buffered,
	.want_writable = ws_conn_want_writable,
	.close = ws_conn_close,
	.close_sent = ws_conn_close_sent,
	.kill_after = ws_conn_kill_after,
};

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
	    lws_add_http_header_by_name(wsi, (unsigned char *)"connection:",
	    (unsigned char *)"close", 5, &p, end) ||
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

/*
 * Write a complete response; returns what the HTTP callback should: -1,
 * the connection closes once the answer is out.  One request per
 * connection, so that no second one reaches lws without edge.c.
 */
static int
ws_http_reply(struct lws *wsi, unsigned int status, const char *ctype,
    const char *body, size_t len)
{
	ws_http_write(wsi, status, ctype, body, len);
	return -1;
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
 * The request's Idempotency-Key into buf: 1 when there is one, 0 when
 * none, -1 when it is not one wsd accepts (history_idem_valid).
 */
static int
ws_idem(struct lws *wsi, char buf[HISTORY_IDEM_MAX + 1])
{
	static const char	name[] = "idempotency-key:";
	int			 n;

	n = lws_hdr_custom_length(wsi, name, (int)sizeof(name) - 1);
	if (n < 0)
		return 0;
	if (n > HISTORY_IDEM_MAX ||
	    lws_hdr_custom_copy(wsi, buf, HISTORY_IDEM_MAX + 1, name,
	    (int)sizeof(name) - 1) < 0)
		return -1;
	return history_idem_valid(buf) ? 1 : -1;
}

/*
 * The body of POST /api/publish (edge.c read it whole).  It is the event itself with
 * one routing member added, "channel" (the key); every other member is the
 * event's and reaches the clients as sent (fonana's flat events such as
 * {"type":"notification","userId":…,"notification":{…}} arrive whole).
 */
static int
ws_publish(struct lws *wsi, struct ws_http *h, const char *body, size_t len)
{
	json_t			*req, *chv;
	const char		*channel, *type;
	char			*payload, idem[HISTORY_IDEM_MAX + 1];
	struct ws_pending	*pd;
	size_t			 n;
	int			 delivered, has_idem;

	req = json_loadb(body != NULL ? body : "", len, 0, NULL);
	channel = json_string_value(json_object_get(req, "channel"));
	type = json_string_value(json_object_get(req, "type"));
	if (!json_is_object(req) || channel == NULL || type == NULL ||
	    !channels_key_valid(channel)) {
		json_decref(req);
		metrics.errors++;
		return ws_error(wsi, 400, "expected {\"channel\":\"KEY\","
		    "\"type\":\"…\",…event members}");
	}
	if ((has_idem = ws_idem(wsi, idem)) < 0) {
		json_decref(req);
		metrics.errors++;
		return ws_error(wsi, 400, "Idempotency-Key: 1 to 128 of "
		    "A-Z a-z 0-9 . _ -");
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
	delivered = hub_publish_out(channel, payload, strlen(payload),
	    has_idem ? idem : NULL, &n, ws_publish_cb, pd);
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

static int
ws_http(struct lws *wsi, struct ws_http *h, const char *path)
{
	int	get, post, n;

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
		/* edge.c answered 413 for a body over WS_MAX_PUBLISH */
		return ws_publish(wsi, h, ws_adopting.body, ws_adopting.len);
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
	utf8_init(&c->text);
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
	/* RFC 6455 §8.1: text is UTF-8, checked as it comes (fragments) */
	if (!lws_frame_is_binary(wsi) &&
	    (utf8_feed(&c->text, in, len) != 0 ||
	    (lws_is_final_fragment(wsi) && remaining == 0 &&
	    !utf8_complete(&c->text)))) {
		metrics.errors++;
		free(c->rx);
		c->rx = NULL;
		c->rxlen = 0;
		lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD,
		    (unsigned char *)"Invalid UTF-8", 13);
		return -1;
	}
	if (lws_is_final_fragment(wsi) && remaining == 0)
		utf8_init(&c->text);
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

/* The subprotocol of the 101 (edge.c took the offer out of the request). */
static int
ws_add_protocol(struct lws *wsi, struct lws_process_html_args *a)
{
	unsigned char	*p, *end;

	if (ws_adopting.protocol == NULL || a == NULL)
		return 0;
	p = (unsigned char *)a->p;
	end = p + a->max_len;
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_PROTOCOL,
	    (const unsigned char *)ws_adopting.protocol,
	    (int)strlen(ws_adopting.protocol), &p, end))
		return -1;
	a->max_len -= (int)(p - (unsigned char *)a->p);
	a->p = (char *)p;
	return 0;
}

/*
 * RFC 6455 §7.4: the codes a peer may send (1012-1014 are registered
 * since); 1005, 1006 and 1015 only ever stand for "none" locally.
 */
static int
ws_close_code_valid(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return 1;
	return code >= 1000 && code <= 1014 && (code < 1004 || code > 1006);
}

/*
 * A close frame from the peer: 0 to echo it, or the code to answer a bad
 * one with (1002: 1-byte payload or a code no one may send; 1007: a
 * reason that is not UTF-8).
 */
static int
ws_close_check(const unsigned char *in, size_t len)
{
	if (len == 0)
		return 0;
	if (len == 1 || !ws_close_code_valid((unsigned)in[0] << 8 | in[1]))
		return LWS_CLOSE_STATUS_PROTOCOL_ERR;
	if (!utf8_valid(in + 2, len - 2))
		return LWS_CLOSE_STATUS_INVALID_PAYLOAD;
	return 0;
}

/* An upgrade from an Origin not in ALLOWED_ORIGINS gets 403. */
static int
ws_confirm_upgrade(struct lws *wsi)
{
	char	*origin = ws_header(wsi, WSI_TOKEN_ORIGIN);
	int	 ok = ws_origin_allowed(origin);

	if (!ok) {
		log_json(LOG_INFO, json_pack("{s:s}", "origin", origin),
		    "origin not allowed");
		metrics.errors++;
	}
	free(origin);
	if (ok)
		return 0;
	/*
	 * lws completes the transaction when we return 1 and would wait for
	 * a next request: end the connection instead, like every plain
	 * answer (see ws_http_reply).
	 */
	ws_http_write(wsi, 403, "text/plain", "Forbidden", 9);
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	return 1;
}

/* The peer's close frame: echoed by lws when valid, else 1002 / 1007. */
static int
ws_peer_close(struct lws *wsi, struct ws_pss *pss, const void *in, size_t len)
{
	int	code;

	/* answering our close: don't echo another one */
	if (pss->kind == WS_KIND_WS && pss->ws.s.state == SESSION_CLOSING)
		return 1;
	if ((code = ws_close_check(in, len)) == 0)
		return 0;	/* lws echoes it */
	metrics.errors++;
	ws_conn_close(wsi, code, code == LWS_CLOSE_STATUS_PROTOCOL_ERR ?
	    "Bad close frame" : "Invalid UTF-8", WS_CLOSE_ACK_SECS);
	return 1;
}

/* A POST /api/publish that waited for Redis: its answer. */
static int
ws_publish_reply(struct lws *wsi, struct ws_http *h)
{
	h->route = WS_ROUTE_NONE;
	if (!h->ok)
		return ws_error(wsi, 503, "redis unavailable");
	return ws_http_json(wsi, 200, json_pack("{s:b,s:I}", "ok", 1,
	    "receivers", (json_int_t)h->receivers));
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ws_pss	*pss = user;
	char		 remote[64];

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return ws_confirm_upgrade(wsi);
	case LWS_CALLBACK_ESTABLISHED:
		pss->kind = WS_KIND_WS;
		rxguard_watch(lws_get_socket_fd(wsi), wsi);
		rxguard_seen(lws_get_socket_fd(wsi), ws_adopting.early,
		    ws_adopting.early_len);
		ws_open(wsi, &pss->ws);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (pss->kind != WS_KIND_WS)
			return 0;
		return ws_receive(wsi, &pss->ws, in, len);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return ws_peer_close(wsi, pss, in, len);
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
		rxguard_forget(lws_get_socket_fd(wsi));
		session_closed(&pss->ws.s, ws_peer(wsi, remote, sizeof remote));
		return 0;

	case LWS_CALLBACK_ADD_HEADERS:
		return ws_add_protocol(wsi, in);
	case LWS_CALLBACK_HTTP:
		pss->kind = WS_KIND_HTTP;
		return ws_http(wsi, &pss->http, in != NULL ? in : "/");
	case LWS_CALLBACK_HTTP_BODY:
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		/*
		 * The body came from edge.c (ws_adopt) and the request is
		 * answered, or waits for Redis: what lws 4.1 takes for a
		 * body here is the head again, and its default completion
		 * would start on a next request.
		 */
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (pss == NULL || pss->kind != WS_KIND_HTTP ||
		    pss->http.route != WS_ROUTE_PUBLISH_DONE)
			return 0;
		return ws_publish_reply(wsi, &pss->http);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss != NULL && pss->kind == WS_KIND_HTTP) {
			if (pss->http.pending != NULL)
				pss->http.pending->wsi = NULL;
			pss->http.pending = NULL;
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

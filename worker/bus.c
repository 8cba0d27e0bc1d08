/*
 * The Redis bus: pub/sub fan-out over hiredis async on the worker's libuv
 * loop, with reconnects, resubscription and Redis Sentinel failover.
 *
 * Two links go to the master: the subscriber link (SUBSCRIBE, messages)
 * and the command link (PUBLISH, ROLE).  The bus is "up" when both are
 * connected, authenticated, the command link has passed its checks (SELECT,
 * ROLE with Sentinel) and every key of the subscription set is confirmed
 * subscribed.  Any failure drops both links and starts over after a backoff;
 * with Sentinel, starting over means asking the sentinels again.
 *
 * Liveness: every WS_REDIS_PING_MS the command link publishes to a private
 * heartbeat channel that the subscriber link is subscribed to.  The reply
 * proves the command link alive, the message the subscriber link (PING
 * cannot be used there: hiredis 0.14 mismatches its reply in subscribed
 * mode).  The heartbeat subscription also keeps the link's subscription
 * count above zero, which hiredis 0.14 needs: its context leaves subscribed
 * mode when an UNSUBSCRIBE reply says 0, and then asserts on the reply to a
 * SUBSCRIBE that was already in flight.
 *
 * Teardown: hiredis runs the callbacks of a context while freeing it, and a
 * context freed inside one of its reply callbacks is only freed when the
 * callback returns.  So every context's `data` points at its link and is
 * cleared before the bus lets go of it; callbacks of a detached context do
 * nothing (but free their own privdata).  A context is never freed from its
 * connect or disconnect callback (hiredis frees it right after those).  The
 * bus memory itself is freed by the close callback of its last timer, so it
 * stays valid until the loop runs again: code that calls out to the user
 * checks for BUS_CLOSED afterwards and touches nothing else.
 *
 * The libuv adapter is ours, not <adapters/libuv.h>: hiredis 0.14's adapter
 * ignores a poll error status, so a refused connection (POLLERR) is never
 * reported and the context hangs forever.  Ours hands the error to hiredis,
 * which then sees the socket error and disconnects.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis.h>
#include <async.h>
#include <uv.h>

#include "bus.h"
#include "log.h"

#define BUS_PORT		6379
#define BUS_SENTINEL_PORT	26379
#define BUS_BACKOFF_MIN_MS	100
#define BUS_BACKOFF_MAX_MS	5000
#define BUS_PING_MS		5000
#define BUS_CONNECT_TIMEOUT_MS	3000
#define BUS_CHUNK		1000	/* channels per resubscribing SUBSCRIBE */
#define BUS_HB_MISSES		2	/* heartbeat ticks without an answer */
#define BUS_PREFIX		"ws:"
#define BUS_PREFIX_LEN		3

enum bus_state {
	BUS_WAIT,	/* no master link; the retry timer runs (backoff) */
	BUS_DISCOVER,	/* Sentinel: asking sentinels[query_idx] for the master */
	BUS_CONNECT,	/* master links opening: connect, AUTH, SELECT, ROLE,
			   resubscribe; the deadline timer runs */
	BUS_UP,		/* both links ready; the heartbeat timer runs */
	BUS_CLOSED,	/* bus_free was called; waiting for handles to close */
};

enum bus_link_kind {
	BUS_LINK_CMD,		/* master: PUBLISH, ROLE, heartbeat */
	BUS_LINK_SUB,		/* master: SUBSCRIBE, messages */
	BUS_LINK_QUERY,		/* a sentinel, asked where the master is */
	BUS_LINK_WATCH,		/* a sentinel, subscribed to +switch-master */
};

/* What a setup reply answers (the privdata of bus_setup_cb). */
enum bus_step {
	BUS_STEP_AUTH,
	BUS_STEP_SELECT,
	BUS_STEP_PING,		/* last handshake step without Sentinel */
	BUS_STEP_ROLE,		/* last handshake step with Sentinel */
	BUS_STEP_QUERY,		/* SENTINEL get-master-addr-by-name */
	BUS_STEP_HB_PUB,	/* heartbeat PUBLISH */
	BUS_STEP_HB_ROLE,	/* heartbeat ROLE (Sentinel) */
};

/* Heartbeat answers still awaited (bus->hb_wait). */
#define BUS_HB_PUB	0x1
#define BUS_HB_MSG	0x2
#define BUS_HB_ROLE	0x4

struct bus_addr {
	char		*host;
	int		 port;
};

struct bus_link {
	struct bus		*bus;
	enum bus_link_kind	 kind;
	redisAsyncContext	*ac;
	int			 ready;
	int			 synced;	/* sub: the set was sent */
	uint64_t		 sub_sent;	/* sub: channels sent */
	uint64_t		 sub_acked;	/* sub: confirmations received */
	uint64_t		 sync_target;	/* sub: sub_sent after the set */
};

/*
 * A publish waiting for its reply (on the inflight list, owned by hiredis
 * as privdata) or for its failure to be reported (on the failed queue).
 * Its callback runs exactly once; bus_free runs the outstanding ones and
 * orphans the inflight ones (cb = NULL) for hiredis to hand back.
 */
struct bus_pub {
	struct bus_pub	*next;
	struct bus_pub	**pprev;	/* inflight only */
	struct bus	*bus;
	bus_publish_cb	 cb;
	void		*arg;
};

struct bus {
	uv_loop_t		*loop;
	enum bus_state		 state;
	int			 reported_up;
	struct bus_config	 cfg;

	struct bus_addr		*sentinels;
	size_t			 nsentinels;
	size_t			 query_idx;
	size_t			 query_tried;
	size_t			 watch_idx;
	unsigned		 watch_attempt;

	char			*master_host;	/* where the links go */
	int			 master_port;
	char			 addr[300];	/* bus_current_addr */

	struct bus_link		 cmd;
	struct bus_link		 sub;
	struct bus_link		 query;
	struct bus_link		 watch;

	uv_timer_t		 retry_timer;
	uv_timer_t		 deadline_timer;
	uv_timer_t		 ping_timer;
	uv_timer_t		 fail_timer;
	uv_timer_t		 watch_timer;
	int			 open_handles;

	unsigned		 attempt;
	int			 hb_wait;
	int			 hb_misses;
	char			 hb_chan[64];
	size_t			 hb_len;

	bus_keys_cb		 keys_cb;	/* the caller's subscription set */
	size_t			 nkeys;		/* its size, for the log */

	struct bus_pub		*inflight;
	struct bus_pub		*failed;
	struct bus_pub		**failed_tail;

	char			*last_error;	/* last warning logged */

	bus_message_cb		 message_cb;
	bus_state_cb		 state_cb;
	void			*arg;
};

static void	bus_connect_cb(const redisAsyncContext *, int);
static void	bus_disconnect_cb(const redisAsyncContext *, int);
static void	bus_setup_cb(redisAsyncContext *, void *, void *);
static void	bus_sub_cb(redisAsyncContext *, void *, void *);
static void	bus_watch_cb(redisAsyncContext *, void *, void *);
static void	bus_pub_cb(redisAsyncContext *, void *, void *);
static void	bus_fail(struct bus *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	bus_connect_start(struct bus *);
static void	bus_discover_try(struct bus *);
static void	bus_watch_start(struct bus *);
static void	bus_watch_retry(struct bus *);
static void	bus_retry_cb(uv_timer_t *);
static void	bus_deadline_cb(uv_timer_t *);
static void	bus_ping_cb(uv_timer_t *);
static void	bus_fail_cb(uv_timer_t *);
static void	bus_watch_timer_cb(uv_timer_t *);

/* --- the libuv adapter ------------------------------------------------ */

struct bus_ev {
	redisAsyncContext	*ac;
	uv_poll_t		 poll;
	int			 events;
};

static void
bus_ev_poll_cb(uv_poll_t *h, int status, int events)
{
	struct bus_ev	*ev = h->data;

	/* On an error, let hiredis try what it waited for and see why. */
	if (status < 0)
		events = ev->events;
	if (ev->ac != NULL && (events & UV_READABLE))
		redisAsyncHandleRead(ev->ac);
	if (ev->ac != NULL && (events & UV_WRITABLE))
		redisAsyncHandleWrite(ev->ac);
}

static void
bus_ev_update(struct bus_ev *ev)
{
	if (ev->events != 0)
		uv_poll_start(&ev->poll, ev->events, bus_ev_poll_cb);
	else
		uv_poll_stop(&ev->poll);
}

static void
bus_ev_add_read(void *p)
{
	struct bus_ev	*ev = p;

	ev->events |= UV_READABLE;
	bus_ev_update(ev);
}

static void
bus_ev_del_read(void *p)
{
	struct bus_ev	*ev = p;

	ev->events &= ~UV_READABLE;
	bus_ev_update(ev);
}

static void
bus_ev_add_write(void *p)
{
	struct bus_ev	*ev = p;

	ev->events |= UV_WRITABLE;
	bus_ev_update(ev);
}

static void
bus_ev_del_write(void *p)
{
	struct bus_ev	*ev = p;

	ev->events &= ~UV_WRITABLE;
	bus_ev_update(ev);
}

static void
bus_ev_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void
bus_ev_cleanup(void *p)
{
	struct bus_ev	*ev = p;

	ev->ac = NULL;
	uv_close((uv_handle_t *)&ev->poll, bus_ev_close_cb);
}

static int
bus_ev_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	struct bus_ev	*ev;

	if (ac->ev.data != NULL)
		return -1;
	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return -1;
	if (uv_poll_init(loop, &ev->poll, ac->c.fd) != 0) {
		free(ev);
		return -1;
	}
	ev->ac = ac;
	ev->poll.data = ev;
	ac->ev.data = ev;
	ac->ev.addRead = bus_ev_add_read;
	ac->ev.delRead = bus_ev_del_read;
	ac->ev.addWrite = bus_ev_add_write;
	ac->ev.delWrite = bus_ev_del_write;
	ac->ev.cleanup = bus_ev_cleanup;
	return 0;
}

/* --- configuration ---------------------------------------------------- */

static char *
bus_errorf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	return s;
}

static int
bus_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) into a new string; NULL on a bad escape. */
static char *
bus_unescape(const char *s, size_t len)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(out);
			return NULL;
		}
		if ((hi = bus_hexval((unsigned char)s[i + 1])) == -1 ||
		    (lo = bus_hexval((unsigned char)s[i + 2])) == -1) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* A decimal number in [min, max], the whole of s[0..len). */
static int
bus_number(const char *s, size_t len, long long min, long long max,
    long long *out)
{
	long long	 v = 0;
	size_t		 i;

	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "host[:port]" or "[v6][:port]" from s[0..len). */
static int
bus_parse_hostport(const char *s, size_t len, int defport, char **host,
    int *port, const char **why)
{
	const char	*h = s, *colon = NULL;
	size_t		 hlen = len;
	long long	 v;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL) {
			*why = "unclosed '[' in the host";
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(close - h);
		if ((size_t)(close + 1 - s) < len) {
			if (close[1] != ':') {
				*why = "junk after ']'";
				return -1;
			}
			colon = close + 1;
		}
	} else if ((colon = memchr(s, ':', len)) != NULL)
		hlen = (size_t)(colon - s);
	if (hlen == 0) {
		*why = "no host";
		return -1;
	}
	*port = defport;
	if (colon != NULL) {
		if (bus_number(colon + 1, (size_t)(s + len - colon - 1), 1,
		    65535, &v) == -1) {
			*why = "bad port (want 1-65535)";
			return -1;
		}
		*port = (int)v;
	}
	if ((*host = strndup(h, hlen)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

/* "db=N" and "password=…" parameters of a URL's query. */
static int
bus_parse_query(const char *q, int *db, char **password, char **err)
{
	const char	*p = q, *end, *eq;
	long long	 v;

	while (*p != '\0') {
		end = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && eq - p == 2 && strncmp(p, "db", 2) == 0) {
			if (bus_number(eq + 1, (size_t)(end - eq - 1), 0,
			    INT_MAX, &v) == -1) {
				*err = bus_errorf("REDIS_URL: bad database "
				    "number '%.*s'", (int)(end - eq - 1),
				    eq + 1);
				return -1;
			}
			*db = (int)v;
		} else if (eq != NULL && eq - p == 8 &&
		    strncmp(p, "password", 8) == 0) {
			free(*password);
			*password = bus_unescape(eq + 1,
			    (size_t)(end - eq - 1));
			if (*password == NULL) {
				*err = bus_errorf("REDIS_URL: bad "
				    "percent-encoding in the password");
				return -1;
			}
		} else if (end > p) {
			*err = bus_errorf("REDIS_URL: unknown parameter "
			    "'%.*s' (known: db, password)", (int)(end - p), p);
			return -1;
		}
		p = *end == '&' ? end + 1 : end;
	}
	return 0;
}

int
bus_config_parse_url(struct bus_config *cfg, const char *url, char **err)
{
	const char	*rest, *at, *colon, *slash, *q, *hp_end, *why;
	char		*host = NULL, *path = NULL, *user = NULL, *pw = NULL;
	char		*qs = NULL;
	int		 port = 0, db = 0, is_unix;
	long long	 v;

	*err = NULL;
	if (strncasecmp(url, "rediss://", 9) == 0) {
		*err = bus_errorf("REDIS_URL: TLS (rediss://) is not "
		    "supported");
		return -1;
	}
	if (strncasecmp(url, "redis://", 8) == 0) {
		rest = url + 8;
		is_unix = 0;
	} else if (strncasecmp(url, "unix://", 7) == 0) {
		rest = url + 7;
		is_unix = 1;
	} else {
		*err = bus_errorf("REDIS_URL: unsupported scheme in '%.*s' "
		    "(want redis://host:port/db or unix:///path)",
		    (int)strcspn(url, ":"), url);
		return -1;
	}

	/* The query is split off first: a password may hold '/'. */
	if ((q = strchr(rest, '?')) != NULL) {
		if ((qs = strdup(q + 1)) == NULL)
			goto oom;
	} else
		q = rest + strlen(rest);

	/* [[user]:password@]: the last '@' ends it. */
	at = NULL;
	for (const char *p = rest; p < q; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon != NULL) {
			if (colon > rest &&
			    (user = bus_unescape(rest,
			    (size_t)(colon - rest))) == NULL) {
				*err = bus_errorf("REDIS_URL: bad "
				    "percent-encoding in the user name");
				goto fail;
			}
			colon++;
		} else
			colon = rest;	/* no ':': it is the password */
		if (at > colon &&
		    (pw = bus_unescape(colon, (size_t)(at - colon))) == NULL) {
			*err = bus_errorf("REDIS_URL: bad percent-encoding in "
			    "the password");
			goto fail;
		}
		rest = at + 1;
	}

	if (is_unix) {
		if (rest[0] != '/' || q == rest + 1) {
			*err = bus_errorf("REDIS_URL: unix:// needs an "
			    "absolute socket path (unix:///path/redis.sock)");
			goto fail;
		}
		if ((path = strndup(rest, (size_t)(q - rest))) == NULL)
			goto oom;
	} else {
		slash = memchr(rest, '/', (size_t)(q - rest));
		hp_end = slash != NULL ? slash : q;
		if (bus_parse_hostport(rest, (size_t)(hp_end - rest), BUS_PORT,
		    &host, &port, &why) == -1) {
			*err = bus_errorf("REDIS_URL: %s in '%.*s'", why,
			    (int)(hp_end - rest), rest);
			goto fail;
		}
		if (slash != NULL && q > slash + 1) {
			if (bus_number(slash + 1, (size_t)(q - slash - 1), 0,
			    INT_MAX, &v) == -1) {
				*err = bus_errorf("REDIS_URL: bad database "
				    "number '%.*s'", (int)(q - slash - 1),
				    slash + 1);
				goto fail;
			}
			db = (int)v;
		}
	}
	if (qs != NULL && bus_parse_query(qs, &db, &pw, err) == -1)
		goto fail;

	free(cfg->host);
	free(cfg->unix_path);
	free(cfg->user);
	free(cfg->password);
	cfg->host = host;
	cfg->port = port;
	cfg->unix_path = path;
	cfg->db = db;
	cfg->user = user;
	cfg->password = pw;
	free(qs);
	return 0;

oom:
	*err = bus_errorf("REDIS_URL: out of memory");
fail:
	free(host);
	free(path);
	free(user);
	free(pw);
	free(qs);
	return -1;
}

/* "h:p,h:p" into an array; the default port is 26379. */
static int
bus_parse_sentinels(const char *s, struct bus_addr **out, size_t *n,
    char **err)
{
	struct bus_addr	*a = NULL, *na;
	size_t		 cnt = 0, len;
	const char	*p = s, *end, *why;

	*out = NULL;
	*n = 0;
	for (;;) {
		end = p + strcspn(p, ",");
		while (p < end && isspace((unsigned char)*p))
			p++;
		len = (size_t)(end - p);
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len > 0) {
			if ((na = reallocarray(a, cnt + 1, sizeof(*a))) ==
			    NULL) {
				*err = bus_errorf("REDIS_SENTINELS: out of "
				    "memory");
				goto fail;
			}
			a = na;
			if (bus_parse_hostport(p, len, BUS_SENTINEL_PORT,
			    &a[cnt].host, &a[cnt].port, &why) == -1) {
				*err = bus_errorf("REDIS_SENTINELS: %s in "
				    "'%.*s'", why, (int)len, p);
				goto fail;
			}
			cnt++;
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (cnt == 0) {
		*err = bus_errorf("REDIS_SENTINELS: no sentinel address "
		    "(want host:port,host:port)");
		goto fail;
	}
	*out = a;
	*n = cnt;
	return 0;
fail:
	while (cnt > 0)
		free(a[--cnt].host);
	free(a);
	return -1;
}

static void
bus_sentinels_free(struct bus_addr *a, size_t n)
{
	while (n > 0)
		free(a[--n].host);
	free(a);
}

static const char *
bus_getenv(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* A milliseconds knob: unset keeps *out. */
static int
bus_env_ms(const char *name, uint64_t *out, char **err)
{
	const char	*v = bus_getenv(name);
	long long	 n;

	if (v == NULL)
		return 0;
	if (bus_number(v, strlen(v), 1, 86400000, &n) == -1) {
		*err = bus_errorf("%s: '%s' is not a number of milliseconds "
		    "(1-86400000)", name, v);
		return -1;
	}
	*out = (uint64_t)n;
	return 0;
}

/* NAME, else the content of the file NAME_FILE (one newline trimmed). */
static int
bus_env_secret(const char *name, char **out, char **err)
{
	char		 fname[64];
	const char	*v, *path;
	FILE		*f;
	char		 buf[4096];
	size_t		 n;

	*out = NULL;
	snprintf(fname, sizeof(fname), "%s_FILE", name);
	v = bus_getenv(name);
	path = bus_getenv(fname);
	if (v != NULL && path != NULL) {
		*err = bus_errorf("%s and %s are both set; use one", name,
		    fname);
		return -1;
	}
	if (v != NULL) {
		if ((*out = strdup(v)) == NULL)
			goto oom;
		return 0;
	}
	if (path == NULL)
		return 0;
	if ((f = fopen(path, "r")) == NULL) {
		*err = bus_errorf("%s: %s: %s", fname, path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f) || !feof(f)) {
		*err = bus_errorf("%s: %s: %s", fname, path, ferror(f) ?
		    "read error" : "longer than 4095 bytes");
		fclose(f);
		return -1;
	}
	fclose(f);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if ((*out = strndup(buf, n)) == NULL)
		goto oom;
	return 0;
oom:
	*err = bus_errorf("%s: out of memory", name);
	return -1;
}

int
bus_config_from_env(struct bus_config *cfg, char **err)
{
	const char	*url, *sentinels, *name;
	struct bus_addr	*a;
	size_t		 n;
	char		*pw = NULL;

	memset(cfg, 0, sizeof(*cfg));
	*err = NULL;
	cfg->backoff_min_ms = BUS_BACKOFF_MIN_MS;
	cfg->backoff_max_ms = BUS_BACKOFF_MAX_MS;
	cfg->ping_ms = BUS_PING_MS;
	cfg->connect_timeout_ms = BUS_CONNECT_TIMEOUT_MS;

	url = bus_getenv("REDIS_URL");
	sentinels = bus_getenv("REDIS_SENTINELS");
	if (url != NULL && sentinels != NULL) {
		*err = bus_errorf("REDIS_URL and REDIS_SENTINELS are both "
		    "set; use one");
		return -1;
	}
	if (bus_env_ms("WS_REDIS_BACKOFF_MIN_MS", &cfg->backoff_min_ms,
	    err) == -1 ||
	    bus_env_ms("WS_REDIS_BACKOFF_MAX_MS", &cfg->backoff_max_ms,
	    err) == -1 ||
	    bus_env_ms("WS_REDIS_PING_MS", &cfg->ping_ms, err) == -1 ||
	    bus_env_ms("WS_REDIS_CONNECT_TIMEOUT_MS",
	    &cfg->connect_timeout_ms, err) == -1)
		goto fail;
	if (cfg->backoff_max_ms < cfg->backoff_min_ms) {
		*err = bus_errorf("WS_REDIS_BACKOFF_MAX_MS (%" PRIu64 ") is "
		    "less than WS_REDIS_BACKOFF_MIN_MS (%" PRIu64 ")",
		    cfg->backoff_max_ms, cfg->backoff_min_ms);
		goto fail;
	}
	if (url == NULL && sentinels == NULL)
		return 0;

	if (bus_env_secret("REDIS_PASSWORD", &pw, err) == -1)
		goto fail;
	if (url != NULL) {
		if (bus_config_parse_url(cfg, url, err) == -1)
			goto fail;
	} else {
		if (bus_parse_sentinels(sentinels, &a, &n, err) == -1)
			goto fail;
		bus_sentinels_free(a, n);
		if ((cfg->sentinels = strdup(sentinels)) == NULL)
			goto oom;
		if (bus_env_secret("REDIS_SENTINEL_PASSWORD",
		    &cfg->sentinel_password, err) == -1)
			goto fail;
	}
	name = bus_getenv("REDIS_MASTER_NAME");
	if ((cfg->master_name = strdup(name != NULL ? name : "mymaster")) ==
	    NULL)
		goto oom;
	/* A password in the URL wins over REDIS_PASSWORD. */
	if (cfg->password == NULL) {
		cfg->password = pw;
		pw = NULL;
	}
	free(pw);
	return 1;
oom:
	*err = bus_errorf("Redis configuration: out of memory");
fail:
	free(pw);
	bus_config_free(cfg);
	return -1;
}

void
bus_config_free(struct bus_config *cfg)
{
	free(cfg->host);
	free(cfg->unix_path);
	free(cfg->sentinels);
	free(cfg->master_name);
	free(cfg->user);
	if (cfg->password != NULL)
		explicit_bzero(cfg->password, strlen(cfg->password));
	free(cfg->password);
	if (cfg->sentinel_password != NULL)
		explicit_bzero(cfg->sentinel_password,
		    strlen(cfg->sentinel_password));
	free(cfg->sentinel_password);
	memset(cfg, 0, sizeof(*cfg));
}

static int
bus_config_copy(struct bus_config *dst, const struct bus_config *src)
{
	memset(dst, 0, sizeof(*dst));
	*dst = *src;
	dst->host = dst->unix_path = dst->sentinels = dst->master_name = NULL;
	dst->user = dst->password = dst->sentinel_password = NULL;
#define BUS_DUP(f) do {							\
	if (src->f != NULL && (dst->f = strdup(src->f)) == NULL)	\
		goto fail;						\
} while (0)
	BUS_DUP(host);
	BUS_DUP(unix_path);
	BUS_DUP(sentinels);
	BUS_DUP(master_name);
	BUS_DUP(user);
	BUS_DUP(password);
	BUS_DUP(sentinel_password);
#undef BUS_DUP
	if (dst->master_name == NULL &&
	    (dst->master_name = strdup("mymaster")) == NULL)
		goto fail;
	if (dst->port == 0)
		dst->port = BUS_PORT;
	if (dst->backoff_min_ms == 0)
		dst->backoff_min_ms = BUS_BACKOFF_MIN_MS;
	if (dst->backoff_max_ms == 0)
		dst->backoff_max_ms = BUS_BACKOFF_MAX_MS;
	if (dst->backoff_max_ms < dst->backoff_min_ms)
		dst->backoff_max_ms = dst->backoff_min_ms;
	if (dst->ping_ms == 0)
		dst->ping_ms = BUS_PING_MS;
	if (dst->connect_timeout_ms == 0)
		dst->connect_timeout_ms = BUS_CONNECT_TIMEOUT_MS;
	return 0;
fail:
	bus_config_free(dst);
	return -1;
}

uint64_t
bus_backoff_delay(uint64_t min_ms, uint64_t max_ms, unsigned attempt,
    uint32_t rnd)
{
	uint64_t	 d = min_ms > 0 ? min_ms : 1;

	while (attempt-- > 0 && d < max_ms)
		d *= 2;
	if (d > max_ms)
		d = max_ms > 0 ? max_ms : 1;
	/* Jitter over the upper half, so that workers spread out. */
	return d - d / 2 + rnd % (d / 2 + 1);
}

/* --- links ------------------------------------------------------------ */

static void
bus_log_error(struct bus *b, const char *msg)
{
	if (b->last_error != NULL && strcmp(b->last_error, msg) == 0) {
		log_debug("redis: %s", msg);
		return;
	}
	log_warn("redis: %s", msg);
	free(b->last_error);
	b->last_error = strdup(msg);
}

static void
bus_link_close(struct bus_link *l)
{
	redisAsyncContext	*ac = l->ac;

	l->ac = NULL;
	l->ready = 0;
	l->synced = 0;
	if (ac != NULL) {
		ac->data = NULL;
		redisAsyncFree(ac);
	}
}

static int
bus_link_open(struct bus_link *l, const char *host, int port,
    const char *path, char *why, size_t whylen)
{
	struct bus		*b = l->bus;
	redisAsyncContext	*ac;

	bus_link_close(l);
	l->sub_sent = l->sub_acked = l->sync_target = 0;
	if (path != NULL)
		ac = redisAsyncConnectUnix(path);
	else
		ac = redisAsyncConnect(host, port);
	if (ac == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (ac->err) {
		snprintf(why, whylen, "%s: %s", path != NULL ? path : host,
		    ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	if (bus_ev_attach(ac, b->loop) == -1) {
		snprintf(why, whylen, "cannot watch the socket");
		redisAsyncFree(ac);
		return -1;
	}
	if (path == NULL)
		redisEnableKeepAlive(&ac->c);
	ac->data = l;
	l->ac = ac;
	redisAsyncSetConnectCallback(ac, bus_connect_cb);
	redisAsyncSetDisconnectCallback(ac, bus_disconnect_cb);
	return 0;
}

static int
bus_send_auth(struct bus_link *l, const char *user, const char *password)
{
	const char	*argv[3];
	size_t		 lens[3];
	int		 argc = 0;

	argv[argc] = "AUTH";
	lens[argc++] = 4;
	if (user != NULL) {
		argv[argc] = user;
		lens[argc++] = strlen(user);
	}
	argv[argc] = password;
	lens[argc++] = strlen(password);
	return redisAsyncCommandArgv(l->ac, bus_setup_cb,
	    (void *)(intptr_t)BUS_STEP_AUTH, argc, argv, lens);
}

/* Channel names collected for bus_sub_sync, sent BUS_CHUNK at a time. */
struct bus_sync {
	struct bus_link	*l;
	size_t		 used;			/* bytes of buf */
	int		 n;			/* names in buf */
	size_t		 off[BUS_CHUNK], len[BUS_CHUNK];
	char		 buf[BUS_CHUNK * 64];
};

static void
bus_sync_send(struct bus_sync *y)
{
	const char	*argv[BUS_CHUNK + 1];
	size_t		 lens[BUS_CHUNK + 1];
	int		 i;

	if (y->n == 0)
		return;
	argv[0] = "SUBSCRIBE";
	lens[0] = 9;
	for (i = 0; i < y->n; i++) {
		argv[i + 1] = y->buf + y->off[i];
		lens[i + 1] = y->len[i];
	}
	redisAsyncCommandArgv(y->l->ac, bus_sub_cb, NULL, y->n + 1, argv,
	    lens);
	y->l->sub_sent += (uint64_t)y->n;
	y->n = 0;
	y->used = 0;
}

/* bus_put_key for bus_sub_sync: keys are shorter than BUS_KEY_MAX. */
static void
bus_sync_put(void *ctx, const char *key, size_t klen)
{
	struct bus_sync	*y = ctx;
	size_t		 len = BUS_PREFIX_LEN + klen;

	if (klen >= BUS_KEY_MAX)
		return;		/* refused by bus_subscribe already */
	if (y->used + len > sizeof(y->buf))
		bus_sync_send(y);
	memcpy(y->buf + y->used, BUS_PREFIX, BUS_PREFIX_LEN);
	memcpy(y->buf + y->used + BUS_PREFIX_LEN, key, klen);
	y->off[y->n] = y->used;
	y->len[y->n] = len;
	y->used += len;
	if (++y->n == BUS_CHUNK)
		bus_sync_send(y);
}

/* SUBSCRIBE the heartbeat channel, then every key of the caller's set. */
static void
bus_sub_sync(struct bus_link *l)
{
	struct bus	*b = l->bus;
	struct bus_sync	 y;
	const char	*argv[2];
	size_t		 lens[2];

	argv[0] = "SUBSCRIBE";
	lens[0] = 9;
	argv[1] = b->hb_chan;
	lens[1] = b->hb_len;
	redisAsyncCommandArgv(l->ac, bus_sub_cb, NULL, 2, argv, lens);
	l->sub_sent++;
	y.l = l;
	y.used = 0;
	y.n = 0;
	if (b->keys_cb != NULL)
		b->keys_cb(b->arg, bus_sync_put, &y);
	bus_sync_send(&y);
	l->sync_target = l->sub_sent;
	l->synced = 1;
}

/*
 * The first commands of a fresh link, pipelined.  Called from hiredis's
 * connect callback, so nothing here may free a context or call the user:
 * every outcome arrives through a reply callback.
 */
static void
bus_link_handshake(struct bus_link *l)
{
	struct bus		*b = l->bus;
	const struct bus_config	*c = &b->cfg;
	const char		*argv[3];
	size_t			 lens[3];

	switch (l->kind) {
	case BUS_LINK_CMD:
		if (c->password != NULL)
			bus_send_auth(l, c->user, c->password);
		if (c->db != 0)
			redisAsyncCommand(l->ac, bus_setup_cb,
			    (void *)(intptr_t)BUS_STEP_SELECT, "SELECT %d",
			    c->db);
		if (b->nsentinels > 0)
			redisAsyncCommand(l->ac, bus_setup_cb,
			    (void *)(intptr_t)BUS_STEP_ROLE, "ROLE");
		else
			redisAsyncCommand(l->ac, bus_setup_cb,
			    (void *)(intptr_t)BUS_STEP_PING, "PING");
		break;
	case BUS_LINK_SUB:
		if (c->password != NULL)
			bus_send_auth(l, c->user, c->password);
		bus_sub_sync(l);
		break;
	case BUS_LINK_QUERY:
		if (c->sentinel_password != NULL)
			bus_send_auth(l, NULL, c->sentinel_password);
		argv[0] = "SENTINEL";
		lens[0] = 8;
		argv[1] = "get-master-addr-by-name";
		lens[1] = strlen(argv[1]);
		argv[2] = c->master_name;
		lens[2] = strlen(c->master_name);
		redisAsyncCommandArgv(l->ac, bus_setup_cb,
		    (void *)(intptr_t)BUS_STEP_QUERY, 3, argv, lens);
		break;
	case BUS_LINK_WATCH:
		if (c->sentinel_password != NULL)
			bus_send_auth(l, NULL, c->sentinel_password);
		redisAsyncCommand(l->ac, bus_watch_cb, NULL,
		    "SUBSCRIBE +switch-master");
		break;
	}
}

/* A link failed (it is already closed or detached). */
static void
bus_link_failed(struct bus_link *l, const char *why)
{
	struct bus	*b = l->bus;
	if (b->state == BUS_CLOSED)
		return;
	switch (l->kind) {
	case BUS_LINK_CMD:
	case BUS_LINK_SUB:
		/* Not naming the link keeps repeated failures to one log. */
		if (b->state == BUS_CONNECT || b->state == BUS_UP)
			bus_fail(b, "%s: %s", b->addr, why);
		break;
	case BUS_LINK_QUERY:
		if (b->state != BUS_DISCOVER)
			break;
		log_debug("redis: sentinel %s:%d: %s",
		    b->sentinels[b->query_idx].host,
		    b->sentinels[b->query_idx].port, why);
		uv_timer_stop(&b->deadline_timer);
		b->query_idx = (b->query_idx + 1) % b->nsentinels;
		b->query_tried++;
		bus_discover_try(b);
		break;
	case BUS_LINK_WATCH:
		log_debug("redis: sentinel watch %s:%d: %s",
		    b->sentinels[b->watch_idx].host,
		    b->sentinels[b->watch_idx].port, why);
		bus_watch_retry(b);
		break;
	}
}

static void
bus_connect_cb(const redisAsyncContext *cac, int status)
{
	redisAsyncContext	*ac = (redisAsyncContext *)cac;
	struct bus_link		*l = ac->data;

	if (l == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context when this returns. */
		l->ac = NULL;
		ac->data = NULL;
		bus_link_failed(l, ac->errstr[0] != '\0' ? ac->errstr :
		    "cannot connect");
		return;
	}
	bus_link_handshake(l);
}

static void
bus_disconnect_cb(const redisAsyncContext *cac, int status)
{
	redisAsyncContext	*ac = (redisAsyncContext *)cac;
	struct bus_link		*l = ac->data;

	if (l == NULL)
		return;
	/* The context is being freed. */
	l->ac = NULL;
	l->ready = 0;
	l->synced = 0;
	ac->data = NULL;
	bus_link_failed(l, status == REDIS_OK || ac->errstr[0] == '\0' ?
	    "connection closed" : ac->errstr);
}

/* An error reply or a wrong answer on link l: drop it. */
static void
bus_link_error(struct bus_link *l, const char *fmt, ...)
{
	char	 why[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	bus_link_close(l);
	bus_link_failed(l, why);
}

/* --- state ------------------------------------------------------------ */

static uint32_t
bus_random(void)
{
	return arc4random();
}

/* Tell the user about a transition; the last thing a handler does. */
static void
bus_notify(struct bus *b)
{
	int	 up = b->state == BUS_UP;

	if (b->state == BUS_CLOSED || up == b->reported_up)
		return;
	b->reported_up = up;
	if (b->state_cb != NULL)
		b->state_cb(b->arg, up);
}

static void
bus_check_up(struct bus *b)
{
	if (b->state != BUS_CONNECT || !b->cmd.ready || !b->sub.ready)
		return;
	b->state = BUS_UP;
	b->attempt = 0;
	b->hb_wait = 0;
	b->hb_misses = 0;
	uv_timer_stop(&b->deadline_timer);
	uv_timer_start(&b->ping_timer, bus_ping_cb, b->cfg.ping_ms,
	    b->cfg.ping_ms);
	free(b->last_error);
	b->last_error = NULL;
	log_info("redis: up on %s (%zu subscriptions)", b->addr, b->nkeys);
	bus_notify(b);
}

/* Close the master links and the query, stop their timers. */
static void
bus_drop(struct bus *b, enum bus_state next)
{
	b->state = next;
	uv_timer_stop(&b->deadline_timer);
	uv_timer_stop(&b->ping_timer);
	uv_timer_stop(&b->retry_timer);
	bus_link_close(&b->query);
	bus_link_close(&b->cmd);
	bus_link_close(&b->sub);
}

static void
bus_fail(struct bus *b, const char *fmt, ...)
{
	char		 why[600];
	va_list		 ap;
	uint64_t	 delay;

	if (b->state == BUS_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	bus_drop(b, BUS_WAIT);
	if (b->state == BUS_CLOSED)
		return;
	bus_log_error(b, why);
	delay = bus_backoff_delay(b->cfg.backoff_min_ms, b->cfg.backoff_max_ms,
	    b->attempt, bus_random());
	if (b->attempt < 32)
		b->attempt++;
	uv_timer_start(&b->retry_timer, bus_retry_cb, delay, 0);
	bus_notify(b);
}

static void
bus_set_addr(struct bus *b, const char *host, int port)
{
	char	*h;

	if ((h = strdup(host)) == NULL)
		return;
	free(b->master_host);
	b->master_host = h;
	b->master_port = port;
	if (strchr(host, ':') != NULL)
		snprintf(b->addr, sizeof(b->addr), "[%s]:%d", host, port);
	else
		snprintf(b->addr, sizeof(b->addr), "%s:%d", host, port);
}

static void
bus_connect_start(struct bus *b)
{
	char	 why[512];

	b->state = BUS_CONNECT;
	if (bus_link_open(&b->cmd, b->master_host, b->master_port,
	    b->cfg.unix_path, why, sizeof(why)) == -1 ||
	    bus_link_open(&b->sub, b->master_host, b->master_port,
	    b->cfg.unix_path, why, sizeof(why)) == -1) {
		bus_fail(b, "%s: %s", b->addr, why);
		return;
	}
	uv_timer_start(&b->deadline_timer, bus_deadline_cb,
	    b->cfg.connect_timeout_ms, 0);
}

static void
bus_discover_try(struct bus *b)
{
	struct bus_addr	*s;
	char		 why[512];

	while (b->state == BUS_DISCOVER) {
		if (b->query_tried >= b->nsentinels) {
			bus_fail(b, "no sentinel answered for master '%s'",
			    b->cfg.master_name);
			return;
		}
		s = &b->sentinels[b->query_idx];
		if (bus_link_open(&b->query, s->host, s->port, NULL, why,
		    sizeof(why)) == 0) {
			uv_timer_start(&b->deadline_timer, bus_deadline_cb,
			    b->cfg.connect_timeout_ms, 0);
			return;
		}
		log_debug("redis: sentinel %s:%d: %s", s->host, s->port, why);
		b->query_idx = (b->query_idx + 1) % b->nsentinels;
		b->query_tried++;
	}
}

static void
bus_start(struct bus *b)
{
	if (b->nsentinels > 0) {
		b->state = BUS_DISCOVER;
		b->query_tried = 0;
		bus_discover_try(b);
	} else
		bus_connect_start(b);
}

/* The master moved (a +switch-master announcement). */
static void
bus_switch_master(struct bus *b, const char *host, int port)
{
	if (b->state == BUS_CLOSED)
		return;
	if ((b->state == BUS_CONNECT || b->state == BUS_UP) &&
	    b->master_host != NULL && strcmp(b->master_host, host) == 0 &&
	    b->master_port == port)
		return;
	log_info("redis: sentinel: master '%s' switched to %s:%d",
	    b->cfg.master_name, host, port);
	bus_drop(b, BUS_WAIT);
	bus_set_addr(b, host, port);
	b->attempt = 0;
	bus_connect_start(b);
	bus_notify(b);
}

/* --- reply callbacks --------------------------------------------------- */

static int
bus_reply_is(const redisReply *r, const char *s)
{
	size_t	 len = strlen(s);

	return r != NULL && (r->type == REDIS_REPLY_STRING ||
	    r->type == REDIS_REPLY_STATUS) && r->len == len &&
	    strncasecmp(r->str, s, len) == 0;
}

static void
bus_role_check(struct bus_link *l, const redisReply *r, int hb)
{
	struct bus		*b = l->bus;
	const redisReply	*role = NULL;

	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING)
		role = r->element[0];
	if (role != NULL && bus_reply_is(role, "master")) {
		if (hb)
			b->hb_wait &= ~BUS_HB_ROLE;
		else {
			l->ready = 1;
			bus_check_up(b);
		}
		return;
	}
	bus_link_error(l, "not the master (ROLE says %.*s)",
	    role != NULL ? (int)role->len : 1, role != NULL ? role->str : "?");
}

static void
bus_query_answer(struct bus_link *l, const redisReply *r)
{
	struct bus	*b = l->bus;
	long long	 port;
	char		 host[256];

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len == 0 || r->element[0]->len >= sizeof(host) ||
	    bus_number(r->element[1]->str, r->element[1]->len, 1, 65535,
	    &port) == -1) {
		bus_link_error(l, "does not know master '%s'",
		    b->cfg.master_name);
		return;
	}
	memcpy(host, r->element[0]->str, r->element[0]->len);
	host[r->element[0]->len] = '\0';
	bus_link_close(l);
	uv_timer_stop(&b->deadline_timer);
	bus_set_addr(b, host, (int)port);
	log_debug("redis: sentinel %s:%d says master '%s' is %s",
	    b->sentinels[b->query_idx].host, b->sentinels[b->query_idx].port,
	    b->cfg.master_name, b->addr);
	bus_connect_start(b);
	if (b->watch.ac == NULL && !uv_is_active(
	    (uv_handle_t *)&b->watch_timer)) {
		b->watch_idx = b->query_idx;
		bus_watch_start(b);
	}
}

static void
bus_setup_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_link	*l = ac->data;
	struct bus	*b;
	redisReply	*r = reply;
	enum bus_step	 step = (enum bus_step)(intptr_t)priv;

	if (l == NULL || r == NULL)
		return;
	b = l->bus;
	if (r->type == REDIS_REPLY_ERROR) {
		bus_link_error(l, "%s: %.*s", step == BUS_STEP_AUTH ? "AUTH" :
		    step == BUS_STEP_SELECT ? "SELECT" : "command",
		    (int)r->len, r->str);
		return;
	}
	switch (step) {
	case BUS_STEP_AUTH:
	case BUS_STEP_SELECT:
		break;
	case BUS_STEP_PING:
		l->ready = 1;
		bus_check_up(b);
		break;
	case BUS_STEP_ROLE:
		bus_role_check(l, r, 0);
		break;
	case BUS_STEP_HB_ROLE:
		bus_role_check(l, r, 1);
		break;
	case BUS_STEP_QUERY:
		bus_query_answer(l, r);
		break;
	case BUS_STEP_HB_PUB:
		if (r->type != REDIS_REPLY_INTEGER || r->integer < 1) {
			bus_fail(b, "heartbeat on %s: the subscriber link is "
			    "not subscribed", b->addr);
			return;
		}
		b->hb_wait &= ~BUS_HB_PUB;
		break;
	}
}

static void
bus_sub_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_link	*l = ac->data;
	struct bus	*b;
	redisReply	*r = reply, *t, *ch, *pl;

	(void)priv;
	if (l == NULL || r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements < 3)
		return;
	b = l->bus;
	t = r->element[0];
	ch = r->element[1];
	pl = r->element[2];
	if (t->type != REDIS_REPLY_STRING || ch->type != REDIS_REPLY_STRING)
		return;
	if (t->len == 7 && memcmp(t->str, "message", 7) == 0) {
		if (pl->type != REDIS_REPLY_STRING)
			return;
		if (ch->len == b->hb_len &&
		    memcmp(ch->str, b->hb_chan, b->hb_len) == 0) {
			b->hb_wait &= ~BUS_HB_MSG;
			return;
		}
		if (ch->len <= BUS_PREFIX_LEN ||
		    memcmp(ch->str, BUS_PREFIX, BUS_PREFIX_LEN) != 0)
			return;
		if (b->message_cb != NULL)
			b->message_cb(b->arg, ch->str + BUS_PREFIX_LEN,
			    ch->len - BUS_PREFIX_LEN, pl->str, pl->len);
	} else if (t->len == 9 && memcmp(t->str, "subscribe", 9) == 0) {
		l->sub_acked++;
		if (!l->ready && l->synced && l->sub_acked >= l->sync_target) {
			l->ready = 1;
			bus_check_up(b);
		}
	}
}

static void
bus_watch_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_link	*l = ac->data;
	struct bus	*b;
	redisReply	*r = reply, *t, *pl;
	char		 msg[600], *f[5], *save = NULL;
	size_t		 n = 0;
	long long	 port;

	(void)priv;
	if (l == NULL || r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements < 3)
		return;
	b = l->bus;
	t = r->element[0];
	pl = r->element[2];
	if (bus_reply_is(t, "subscribe")) {
		l->ready = 1;
		b->watch_attempt = 0;
		uv_timer_stop(&b->watch_timer);
		return;
	}
	if (!bus_reply_is(t, "message") || pl->type != REDIS_REPLY_STRING ||
	    pl->len >= sizeof(msg))
		return;
	/* "<name> <old-ip> <old-port> <new-ip> <new-port>" */
	memcpy(msg, pl->str, pl->len);
	msg[pl->len] = '\0';
	for (char *p = strtok_r(msg, " ", &save); p != NULL && n < 5;
	    p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 5 || strcmp(f[0], b->cfg.master_name) != 0 ||
	    bus_number(f[4], strlen(f[4]), 1, 65535, &port) == -1)
		return;
	bus_switch_master(b, f[3], (int)port);
}

static void
bus_pub_unlink(struct bus_pub *p)
{
	if ((*p->pprev = p->next) != NULL)
		p->next->pprev = p->pprev;
	p->next = NULL;
	p->pprev = NULL;
}

/* Report a failed publish from the loop, not from where it failed. */
static void
bus_pub_fail(struct bus *b, struct bus_pub *p)
{
	p->next = NULL;
	*b->failed_tail = p;
	b->failed_tail = &p->next;
	if (!uv_is_active((uv_handle_t *)&b->fail_timer))
		uv_timer_start(&b->fail_timer, bus_fail_cb, 0, 0);
}

static void
bus_pub_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_pub	*p = priv;
	redisReply	*r = reply;
	bus_publish_cb	 cb = p->cb;
	void		*arg = p->arg;

	(void)ac;
	if (cb == NULL) {
		/* Orphaned by bus_free, which already called back. */
		free(p);
		return;
	}
	bus_pub_unlink(p);
	if (r == NULL) {
		/* The link went away. */
		bus_pub_fail(p->bus, p);
		return;
	}
	free(p);
	if (r->type == REDIS_REPLY_INTEGER)
		cb(arg, 1, r->integer);
	else
		cb(arg, 0, 0);
}

/* --- timers ----------------------------------------------------------- */

static void
bus_retry_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;

	if (b->state == BUS_WAIT)
		bus_start(b);
}

static void
bus_deadline_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;

	if (b->state == BUS_DISCOVER) {
		bus_link_close(&b->query);
		bus_link_failed(&b->query, "timed out");
	} else if (b->state == BUS_CONNECT)
		bus_fail(b, "%s: timed out connecting", b->addr);
}

static void
bus_ping_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;
	const char	*argv[3];
	size_t		 lens[3];

	if (b->state != BUS_UP)
		return;
	if (b->hb_wait != 0) {
		if (++b->hb_misses >= BUS_HB_MISSES)
			bus_fail(b, "%s: no heartbeat answer (%s)", b->addr,
			    b->hb_wait & BUS_HB_PUB ? "command link" :
			    b->hb_wait & BUS_HB_MSG ? "subscriber link" :
			    "ROLE");
		return;
	}
	b->hb_misses = 0;
	b->hb_wait = BUS_HB_PUB | BUS_HB_MSG;
	argv[0] = "PUBLISH";
	lens[0] = 7;
	argv[1] = b->hb_chan;
	lens[1] = b->hb_len;
	argv[2] = "";
	lens[2] = 0;
	redisAsyncCommandArgv(b->cmd.ac, bus_setup_cb,
	    (void *)(intptr_t)BUS_STEP_HB_PUB, 3, argv, lens);
	if (b->nsentinels > 0) {
		b->hb_wait |= BUS_HB_ROLE;
		redisAsyncCommand(b->cmd.ac, bus_setup_cb,
		    (void *)(intptr_t)BUS_STEP_HB_ROLE, "ROLE");
	}
}

static void
bus_fail_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;
	struct bus_pub	*p;

	/* One at a time: a callback may call bus_free, which runs the rest. */
	while (b->state != BUS_CLOSED && (p = b->failed) != NULL) {
		if ((b->failed = p->next) == NULL)
			b->failed_tail = &b->failed;
		p->cb(p->arg, 0, 0);
		free(p);
	}
}

static void
bus_watch_start(struct bus *b)
{
	struct bus_addr	*s = &b->sentinels[b->watch_idx];
	char		 why[512];

	if (b->state == BUS_CLOSED)
		return;
	if (bus_link_open(&b->watch, s->host, s->port, NULL, why,
	    sizeof(why)) == -1) {
		log_debug("redis: sentinel watch %s:%d: %s", s->host, s->port,
		    why);
		bus_watch_retry(b);
		return;
	}
	/* The timer is the deadline until the subscription is confirmed. */
	uv_timer_start(&b->watch_timer, bus_watch_timer_cb,
	    b->cfg.connect_timeout_ms, 0);
}

static void
bus_watch_retry(struct bus *b)
{
	uint64_t	 delay;

	if (b->state == BUS_CLOSED)
		return;
	bus_link_close(&b->watch);
	b->watch_idx = (b->watch_idx + 1) % b->nsentinels;
	delay = bus_backoff_delay(b->cfg.backoff_min_ms, b->cfg.backoff_max_ms,
	    b->watch_attempt, bus_random());
	if (b->watch_attempt < 32)
		b->watch_attempt++;
	uv_timer_start(&b->watch_timer, bus_watch_timer_cb, delay, 0);
}

static void
bus_watch_timer_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;

	if (b->watch.ac != NULL) {
		log_debug("redis: sentinel watch %s:%d: timed out",
		    b->sentinels[b->watch_idx].host,
		    b->sentinels[b->watch_idx].port);
		bus_watch_retry(b);
	} else
		bus_watch_start(b);
}

/* --- the API ---------------------------------------------------------- */

static void
bus_handle_closed_cb(uv_handle_t *h)
{
	struct bus	*b = h->data;

	if (--b->open_handles > 0)
		return;
	bus_sentinels_free(b->sentinels, b->nsentinels);
	free(b->master_host);
	free(b->last_error);
	bus_config_free(&b->cfg);
	free(b);
}

static uv_timer_t *
bus_timers(struct bus *b, size_t i)
{
	uv_timer_t	*t[] = { &b->retry_timer, &b->deadline_timer,
			    &b->ping_timer, &b->fail_timer, &b->watch_timer };

	return i < sizeof(t) / sizeof(t[0]) ? t[i] : NULL;
}

struct bus *
bus_new(uv_loop_t *loop, const struct bus_config *cfg, bus_message_cb mcb,
    bus_state_cb scb, bus_keys_cb kcb, void *arg)
{
	struct bus	*b;
	char		*err = NULL;
	uv_timer_t	*t;
	size_t		 i;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->loop = loop;
	b->message_cb = mcb;
	b->state_cb = scb;
	b->keys_cb = kcb;
	b->arg = arg;
	b->failed_tail = &b->failed;
	b->cmd.bus = b->sub.bus = b->query.bus = b->watch.bus = b;
	b->cmd.kind = BUS_LINK_CMD;
	b->sub.kind = BUS_LINK_SUB;
	b->query.kind = BUS_LINK_QUERY;
	b->watch.kind = BUS_LINK_WATCH;
	if (bus_config_copy(&b->cfg, cfg) == -1)
		goto fail;
	if (b->cfg.sentinels != NULL) {
		if (bus_parse_sentinels(b->cfg.sentinels, &b->sentinels,
		    &b->nsentinels, &err) == -1) {
			log_error("%s", err != NULL ? err : "REDIS_SENTINELS");
			free(err);
			goto fail;
		}
	} else if (b->cfg.unix_path != NULL) {
		snprintf(b->addr, sizeof(b->addr), "%s", b->cfg.unix_path);
	} else if (b->cfg.host != NULL) {
		bus_set_addr(b, b->cfg.host, b->cfg.port);
		if (b->master_host == NULL)
			goto fail;
	} else {
		log_error("redis: no address to connect to");
		goto fail;
	}
	b->hb_len = (size_t)snprintf(b->hb_chan, sizeof(b->hb_chan),
	    "wsd:bus:heartbeat:%08x%08x", arc4random(), arc4random());

	for (i = 0; (t = bus_timers(b, i)) != NULL; i++) {
		uv_timer_init(loop, t);
		t->data = b;
		b->open_handles++;
	}
	bus_start(b);
	if (b->nsentinels > 0 && b->state != BUS_CLOSED)
		bus_watch_start(b);
	return b;
fail:
	bus_sentinels_free(b->sentinels, b->nsentinels);
	free(b->master_host);
	bus_config_free(&b->cfg);
	free(b);
	return NULL;
}

/* (UN)SUBSCRIBE ws:<key> now, when the link has replayed the set. */
static void
bus_sub_send(struct bus *b, const char *cmd, const char *key)
{
	char		 chan[BUS_PREFIX_LEN + BUS_KEY_MAX];
	size_t		 klen = strlen(key);
	const char	*argv[2];
	size_t		 lens[2];

	if (b->sub.ac == NULL || !b->sub.synced)
		return;		/* the next bus_sub_sync has it */
	memcpy(chan, BUS_PREFIX, BUS_PREFIX_LEN);
	memcpy(chan + BUS_PREFIX_LEN, key, klen);
	argv[0] = cmd;
	lens[0] = strlen(cmd);
	argv[1] = chan;
	lens[1] = BUS_PREFIX_LEN + klen;
	if (redisAsyncCommandArgv(b->sub.ac, bus_sub_cb, NULL, 2, argv,
	    lens) == REDIS_OK && cmd[0] == 'S')
		b->sub.sub_sent++;
}

void
bus_subscribe(struct bus *b, const char *key)
{
	if (b->state == BUS_CLOSED)
		return;
	if (strlen(key) >= BUS_KEY_MAX) {
		log_error("redis: key too long to subscribe: %.40s...", key);
		return;
	}
	b->nkeys++;
	bus_sub_send(b, "SUBSCRIBE", key);
}

void
bus_unsubscribe(struct bus *b, const char *key)
{
	if (b->state == BUS_CLOSED || strlen(key) >= BUS_KEY_MAX)
		return;
	b->nkeys--;
	bus_sub_send(b, "UNSUBSCRIBE", key);
}

size_t
bus_subscription_count(const struct bus *b)
{
	return b->nkeys;
}

void
bus_publish(struct bus *b, const char *key, const char *payload, size_t len,
    bus_publish_cb cb, void *arg)
{
	struct bus_pub	*p = NULL;
	size_t		 klen = strlen(key);
	char		 sbuf[256], *chan = sbuf;
	const char	*argv[3];
	size_t		 lens[3];
	int		 rc = REDIS_ERR;

	if (b->state == BUS_CLOSED) {
		/* Only reachable from a callback run by bus_free. */
		if (cb != NULL)
			cb(arg, 0, 0);
		return;
	}
	if (cb != NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			cb(arg, 0, 0);
			return;
		}
		p->bus = b;
		p->cb = cb;
		p->arg = arg;
	}
	if (b->state == BUS_UP && b->cmd.ac != NULL) {
		if (BUS_PREFIX_LEN + klen + 1 > sizeof(sbuf))
			chan = malloc(BUS_PREFIX_LEN + klen + 1);
		if (chan != NULL) {
			memcpy(chan, BUS_PREFIX, BUS_PREFIX_LEN);
			memcpy(chan + BUS_PREFIX_LEN, key, klen);
			argv[0] = "PUBLISH";
			lens[0] = 7;
			argv[1] = chan;
			lens[1] = BUS_PREFIX_LEN + klen;
			argv[2] = payload;
			lens[2] = len;
			rc = redisAsyncCommandArgv(b->cmd.ac,
			    p != NULL ? bus_pub_cb : NULL, p, 3, argv, lens);
			if (chan != sbuf)
				free(chan);
		}
	}
	if (p == NULL)
		return;
	if (rc == REDIS_OK) {
		if ((p->next = b->inflight) != NULL)
			p->next->pprev = &p->next;
		b->inflight = p;
		p->pprev = &b->inflight;
	} else
		bus_pub_fail(b, p);
}

int
bus_is_up(const struct bus *b)
{
	return b->state == BUS_UP;
}

const char *
bus_current_addr(const struct bus *b)
{
	return b->state == BUS_UP ? b->addr : NULL;
}

void
bus_free(struct bus *b)
{
	struct bus_pub	*p;
	bus_publish_cb	 cb;
	uv_timer_t	*t;
	size_t		 i;

	if (b == NULL || b->state == BUS_CLOSED)
		return;
	b->state = BUS_CLOSED;
	/* Every publish gets its callback, now or never. */
	while ((p = b->inflight) != NULL) {
		bus_pub_unlink(p);
		cb = p->cb;
		p->cb = NULL;		/* hiredis frees it */
		cb(p->arg, 0, 0);
	}
	while ((p = b->failed) != NULL) {
		b->failed = p->next;
		p->cb(p->arg, 0, 0);
		free(p);
	}
	b->failed_tail = &b->failed;
	bus_link_close(&b->query);
	bus_link_close(&b->cmd);
	bus_link_close(&b->sub);
	bus_link_close(&b->watch);
	for (i = 0; (t = bus_timers(b, i)) != NULL; i++)
		uv_close((uv_handle_t *)t, bus_handle_closed_cb);
}

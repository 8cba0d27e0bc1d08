/*
 * The Redis bus's configuration: the environment, REDIS_URL and
 * REDIS_SENTINELS parsing, the defaults and the backoff schedule.  Pure:
 * no hiredis, no loop, so test_bus_config links without them.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bus_int.h"
#include "env.h"
#include "hexdigit.h"
#include "knob.h"

#define BUS_PORT		6379
#define BUS_SENTINEL_PORT	26379

/* A timer's default: the knob table's, the one truth (common/knob.c). */
static uint64_t
bus_config_dflt(enum knob_id id)
{
	return knob_at(id)->dflt;
}

static char *
bus_config_errorf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	return s;
}

/* Percent-decode s[0..len) into a new string; NULL on a bad escape. */
static char *
bus_config_unescape(const char *s, size_t len)
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
		if ((hi = hexdigit((unsigned char)s[i + 1])) == -1 ||
		    (lo = hexdigit((unsigned char)s[i + 2])) == -1) {
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
int
bus_config_number(const char *s, size_t len, long long min, long long max,
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
bus_config_hostport(const char *s, size_t len, int defport, char **host,
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
		if (bus_config_number(colon + 1, (size_t)(s + len - colon - 1),
		    1, 65535, &v) == -1) {
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
bus_config_query(const char *q, int *db, char **password, char **err)
{
	const char	*p = q, *end, *eq;
	long long	 v;

	while (*p != '\0') {
		end = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && eq - p == 2 && strncmp(p, "db", 2) == 0) {
			if (bus_config_number(eq + 1, (size_t)(end - eq - 1),
			    0, INT_MAX, &v) == -1) {
				*err = bus_config_errorf("REDIS_URL: bad "
				    "database number '%.*s'",
				    (int)(end - eq - 1), eq + 1);
				return -1;
			}
			*db = (int)v;
		} else if (eq != NULL && eq - p == 8 &&
		    strncmp(p, "password", 8) == 0) {
			free(*password);
			*password = bus_config_unescape(eq + 1,
			    (size_t)(end - eq - 1));
			if (*password == NULL) {
				*err = bus_config_errorf("REDIS_URL: bad "
				    "percent-encoding in the password");
				return -1;
			}
		} else if (end > p) {
			*err = bus_config_errorf("REDIS_URL: unknown "
			    "parameter '%.*s' (known: db, password)",
			    (int)(end - p), p);
			return -1;
		}
		p = *end == '&' ? end + 1 : end;
	}
	return 0;
}

/* What a REDIS_URL names, while it is parsed. */
struct bus_config_url {
	char	*host;
	char	*path;
	char	*user;
	char	*pw;
	int	 port;
	int	 db;
};

/*
 * [[user]:password@] at the start of rest[0..q): the last '@' ends it.
 * Returns where the address starts, or NULL with *err.
 */
static const char *
bus_config_userinfo(const char *rest, const char *q, struct bus_config_url *u,
    char **err)
{
	const char	*at = NULL, *colon;

	for (const char *p = rest; p < q; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return rest;
	colon = memchr(rest, ':', (size_t)(at - rest));
	if (colon != NULL) {
		if (colon > rest && (u->user = bus_config_unescape(rest,
		    (size_t)(colon - rest))) == NULL) {
			*err = bus_config_errorf("REDIS_URL: bad "
			    "percent-encoding in the user name");
			return NULL;
		}
		colon++;
	} else
		colon = rest;	/* no ':': it is the password */
	if (at > colon && (u->pw = bus_config_unescape(colon,
	    (size_t)(at - colon))) == NULL) {
		*err = bus_config_errorf("REDIS_URL: bad percent-encoding in "
		    "the password");
		return NULL;
	}
	return at + 1;
}

/* The socket path (unix://) or host[:port][/db] of rest[0..q). */
static int
bus_config_address(const char *rest, const char *q, int is_unix,
    struct bus_config_url *u, char **err)
{
	const char	*slash, *hp_end, *why;
	long long	 v;

	if (is_unix) {
		if (rest[0] != '/' || q == rest + 1) {
			*err = bus_config_errorf("REDIS_URL: unix:// needs an "
			    "absolute socket path (unix:///path/redis.sock)");
			return -1;
		}
		if ((u->path = strndup(rest, (size_t)(q - rest))) == NULL) {
			*err = bus_config_errorf("REDIS_URL: out of memory");
			return -1;
		}
		return 0;
	}
	slash = memchr(rest, '/', (size_t)(q - rest));
	hp_end = slash != NULL ? slash : q;
	if (bus_config_hostport(rest, (size_t)(hp_end - rest), BUS_PORT,
	    &u->host, &u->port, &why) == -1) {
		*err = bus_config_errorf("REDIS_URL: %s in '%.*s'", why,
		    (int)(hp_end - rest), rest);
		return -1;
	}
	if (slash != NULL && q > slash + 1) {
		if (bus_config_number(slash + 1, (size_t)(q - slash - 1), 0,
		    INT_MAX, &v) == -1) {
			*err = bus_config_errorf("REDIS_URL: bad database "
			    "number '%.*s'", (int)(q - slash - 1), slash + 1);
			return -1;
		}
		u->db = (int)v;
	}
	return 0;
}

int
bus_config_parse_url(struct bus_config *cfg, const char *url, char **err)
{
	struct bus_config_url	 u = { 0 };
	const char		*rest, *q;
	char			*qs = NULL;
	int			 is_unix;

	*err = NULL;
	if (strncasecmp(url, "rediss://", 9) == 0) {
		*err = bus_config_errorf("REDIS_URL: TLS (rediss://) is not "
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
		*err = bus_config_errorf("REDIS_URL: unsupported scheme in "
		    "'%.*s' (want redis://host:port/db or unix:///path)",
		    (int)strcspn(url, ":"), url);
		return -1;
	}

	/* The query is split off first: a password may hold '/'. */
	if ((q = strchr(rest, '?')) != NULL) {
		if ((qs = strdup(q + 1)) == NULL) {
			*err = bus_config_errorf("REDIS_URL: out of memory");
			return -1;
		}
	} else
		q = rest + strlen(rest);
	if ((rest = bus_config_userinfo(rest, q, &u, err)) == NULL ||
	    bus_config_address(rest, q, is_unix, &u, err) == -1 ||
	    (qs != NULL && bus_config_query(qs, &u.db, &u.pw, err) == -1)) {
		free(u.host);
		free(u.path);
		free(u.user);
		free(u.pw);
		free(qs);
		return -1;
	}
	free(qs);
	free(cfg->host);
	free(cfg->unix_path);
	free(cfg->user);
	free(cfg->password);
	cfg->host = u.host;
	cfg->port = u.port;
	cfg->unix_path = u.path;
	cfg->db = u.db;
	cfg->user = u.user;
	cfg->password = u.pw;
	return 0;
}

/* "h:p,h:p" into an array; the default port is 26379. */
int
bus_config_sentinels(const char *s, struct bus_addr **out, size_t *n,
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
				*err = bus_config_errorf("REDIS_SENTINELS: "
				    "out of memory");
				goto fail;
			}
			a = na;
			if (bus_config_hostport(p, len, BUS_SENTINEL_PORT,
			    &a[cnt].host, &a[cnt].port, &why) == -1) {
				*err = bus_config_errorf("REDIS_SENTINELS: "
				    "%s in '%.*s'", why, (int)len, p);
				goto fail;
			}
			cnt++;
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (cnt == 0) {
		*err = bus_config_errorf("REDIS_SENTINELS: no sentinel "
		    "address (want host:port,host:port)");
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

void
bus_config_sentinels_free(struct bus_addr *a, size_t n)
{
	while (n > 0)
		free(a[--n].host);
	free(a);
}

static const char *
bus_config_getenv(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* A knob (common/knob.c): unset keeps *out. */
static int
bus_config_knob(enum knob_id id, uint64_t *out, char **err)
{
	uint64_t	 v;
	int		 r;

	if ((r = knob_get(id, &v, err)) == 1)
		*out = v;
	return r < 0 ? -1 : 0;
}

/*
 * NAME, else the content of the file NAME_FILE names, read as wsd reads
 * it.  Its warning (a file other users may read) is left to wsd, which
 * gives it for the files an app declares; the worker only refuses.
 */
static int
bus_config_secret(const char *name, char **out, char **err)
{
	struct diag	 errors, warnings;
	int		 r;

	diag_init(&errors);
	diag_init(&warnings);
	r = secrets_getenv(name, out, &errors, &warnings);
	if (r == -1)
		*err = bus_config_errorf("%s", errors.n > 0 ? errors.msgs[0] :
		    "out of memory");
	diag_free(&errors);
	diag_free(&warnings);
	return r == -1 ? -1 : 0;
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
	cfg->backoff_min_ms = bus_config_dflt(KNOB_WS_REDIS_BACKOFF_MIN_MS);
	cfg->backoff_max_ms = bus_config_dflt(KNOB_WS_REDIS_BACKOFF_MAX_MS);
	cfg->ping_ms = bus_config_dflt(KNOB_WS_REDIS_PING_MS);
	cfg->connect_timeout_ms =
	    bus_config_dflt(KNOB_WS_REDIS_CONNECT_TIMEOUT_MS);

	url = bus_config_getenv("REDIS_URL");
	sentinels = bus_config_getenv("REDIS_SENTINELS");
	if (url != NULL && sentinels != NULL) {
		*err = bus_config_errorf("REDIS_URL and REDIS_SENTINELS are "
		    "both set; use one");
		return -1;
	}
	if (bus_config_knob(KNOB_WS_REDIS_BACKOFF_MIN_MS, &cfg->backoff_min_ms,
	    err) == -1 ||
	    bus_config_knob(KNOB_WS_REDIS_BACKOFF_MAX_MS, &cfg->backoff_max_ms,
	    err) == -1 ||
	    bus_config_knob(KNOB_WS_REDIS_PING_MS, &cfg->ping_ms, err) == -1 ||
	    bus_config_knob(KNOB_WS_REDIS_CONNECT_TIMEOUT_MS,
	    &cfg->connect_timeout_ms, err) == -1)
		goto fail;
	if (cfg->backoff_max_ms < cfg->backoff_min_ms) {
		*err = bus_config_errorf("WS_REDIS_BACKOFF_MAX_MS (%" PRIu64
		    ") is less than WS_REDIS_BACKOFF_MIN_MS (%" PRIu64 ")",
		    cfg->backoff_max_ms, cfg->backoff_min_ms);
		goto fail;
	}
	if (url == NULL && sentinels == NULL)
		return 0;

	if (bus_config_secret("REDIS_PASSWORD", &pw, err) == -1)
		goto fail;
	if (url != NULL) {
		if (bus_config_parse_url(cfg, url, err) == -1)
			goto fail;
	} else {
		if (bus_config_sentinels(sentinels, &a, &n, err) == -1)
			goto fail;
		bus_config_sentinels_free(a, n);
		if ((cfg->sentinels = strdup(sentinels)) == NULL)
			goto oom;
		if (bus_config_secret("REDIS_SENTINEL_PASSWORD",
		    &cfg->sentinel_password, err) == -1)
			goto fail;
	}
	name = bus_config_getenv("REDIS_MASTER_NAME");
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
	*err = bus_config_errorf("Redis configuration: out of memory");
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

int
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
		dst->backoff_min_ms =
		    bus_config_dflt(KNOB_WS_REDIS_BACKOFF_MIN_MS);
	if (dst->backoff_max_ms == 0)
		dst->backoff_max_ms =
		    bus_config_dflt(KNOB_WS_REDIS_BACKOFF_MAX_MS);
	if (dst->backoff_max_ms < dst->backoff_min_ms)
		dst->backoff_max_ms = dst->backoff_min_ms;
	if (dst->ping_ms == 0)
		dst->ping_ms = bus_config_dflt(KNOB_WS_REDIS_PING_MS);
	if (dst->connect_timeout_ms == 0)
		dst->connect_timeout_ms =
		    bus_config_dflt(KNOB_WS_REDIS_CONNECT_TIMEOUT_MS);
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

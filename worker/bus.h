/*
 * The Redis bus (SPEC §4.4–4.5): hiredis async on the worker's libuv loop,
 * one subscriber link and one command link, reconnect with backoff,
 * resubscribe after reconnect, Redis Sentinel discovery and failover.
 * hiredis stays inside worker/bus*.c (the map: bus_int.h).  Channel names
 * on Redis are "ws:<key>"; this API speaks keys without the prefix.
 */
#ifndef WSD_BUS_H
#define WSD_BUS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct bus;

struct bus_config {
	/* Exactly one of url / sentinels is set. */
	char		*host;		/* from REDIS_URL redis://[:pw@]host:port/db */
	int		 port;
	char		*unix_path;	/* from REDIS_URL unix:///path */
	int		 db;
	char		*sentinels;	/* REDIS_SENTINELS "h:p,h:p" */
	char		*master_name;	/* REDIS_MASTER_NAME, default "mymaster" */
	char		*password;	/* URL password, else REDIS_PASSWORD */
	uint64_t	 backoff_min_ms;	/* WS_REDIS_BACKOFF_MIN_MS, 100 */
	uint64_t	 backoff_max_ms;	/* WS_REDIS_BACKOFF_MAX_MS, 5000 */
	/* Added with bus.c; 0 / NULL means the default. */
	char		*user;		/* REDIS_URL redis://user:pw@… (ACL) */
	char		*sentinel_password; /* REDIS_SENTINEL_PASSWORD */
	uint64_t	 ping_ms;	/* WS_REDIS_PING_MS, 5000: heartbeat */
	uint64_t	 connect_timeout_ms; /* WS_REDIS_CONNECT_TIMEOUT_MS, 3000 */
	uint64_t	 history_size;	/* WS_HISTORY_SIZE, 1000 events/channel */
	uint64_t	 history_ttl;	/* WS_HISTORY_TTL, 86400 s (0: none) */
};

/*
 * Fill from the process environment (REDIS_URL, REDIS_SENTINELS,
 * REDIS_MASTER_NAME, REDIS_PASSWORD or REDIS_PASSWORD_FILE,
 * REDIS_SENTINEL_PASSWORD or _FILE, WS_REDIS_BACKOFF_MIN_MS,
 * WS_REDIS_BACKOFF_MAX_MS, WS_REDIS_PING_MS, WS_REDIS_CONNECT_TIMEOUT_MS).
 * Returns 1 when Redis is configured, 0 when not, -1 with *err (malloc'd,
 * names the variable) when invalid.
 */
int	bus_config_from_env(struct bus_config *, char **err);
/*
 * Parse one URL (unit-testable); -1 with *err on failure.  Sets host, port,
 * unix_path, db, user, password (freeing what they held).
 */
int	bus_config_parse_url(struct bus_config *, const char *url, char **err);
void	bus_config_free(struct bus_config *);

#define BUS_KEY_MAX	1024	/* longest key + 1 (the worker's: 256) */

/*
 * A message on ws:<key>; payload is not NUL-terminated and not kept.  A
 * key unsubscribed a moment ago may still get one: the caller drops it.
 */
typedef void (*bus_message_cb)(void *arg, const char *key, size_t keylen,
	    const char *payload, size_t len);
/* The link went up (1) or down (0). */
typedef void (*bus_state_cb)(void *arg, int up);
/* A publish finished: ok, and PUBLISH's receiver count. */
typedef void (*bus_publish_cb)(void *arg, int ok, long long receivers);
/*
 * The subscription set is the caller's, not the bus's: after every
 * (re)connect the bus calls keys_cb, which calls put(ctx, key, len) once
 * per key it holds, and SUBSCRIBEs them all.
 */
typedef void (*bus_put_key)(void *ctx, const char *key, size_t len);
typedef void (*bus_keys_cb)(void *arg, bus_put_key put, void *ctx);

struct bus	*bus_new(uv_loop_t *, const struct bus_config *,
		    bus_message_cb, bus_state_cb, bus_keys_cb, void *arg);
/*
 * The caller calls subscribe when a key enters its set (its first local
 * subscriber) and unsubscribe when it leaves (its last); keys are shorter
 * than BUS_KEY_MAX.  bus_subscribe returns a ticket, 0 when the link is
 * not ready (the resubscription when it is, then the link's coming up,
 * confirm it): Redis has the key subscribed once the subscribed callback
 * reports the key with a ticket at least as large.
 */
uint64_t bus_subscribe(struct bus *, const char *key);
/* Redis confirmed a SUBSCRIBE of ws:<key>; arg is bus_new's. */
typedef void (*bus_subscribed_cb)(void *arg, const char *key, size_t keylen,
	    uint64_t ticket);
void	bus_on_subscribed(struct bus *, bus_subscribed_cb);
void	bus_unsubscribe(struct bus *, const char *key);
size_t	bus_subscription_count(const struct bus *);
/*
 * Append payload to the key's history and PUBLISH it on ws:<key> with its
 * position (history.h), in one server-side script (EVALSHA, EVAL again
 * when Redis answers NOSCRIPT).  idem (NULL: none) is the publish's
 * idempotency key (history_idem_valid): one already stored is not stored
 * or published again, and answers receivers = 0.  When the link is down,
 * cb runs with ok = 0 (from the loop, never from inside bus_publish).  cb
 * may be NULL.
 */
void	bus_publish(struct bus *, const char *key, const char *payload,
	    size_t len, const char *idem, bus_publish_cb, void *arg);
/*
 * A channel's history position and, from `since` on (inclusive), its
 * entries: pointers valid during the callback only; NULL when the link
 * failed.  Every fetch gets its callback exactly once, like a publish.
 */
struct bus_entry {
	const char	*id, *ev, *prev, *idem;	/* idem: NULL if none */
	size_t		 idlen, evlen, prevlen, idemlen;
};
struct bus_history {
	const char	*epoch, *last;
	size_t		 epochlen, lastlen;
	size_t		 n;
	struct bus_entry *e;
};
typedef void (*bus_history_cb)(void *arg, const struct bus_history *);
void	bus_history_fetch(struct bus *, const char *key, const char *since,
	    bus_history_cb, void *arg);
int	bus_is_up(const struct bus *);
/* "host:port" of the current master, or NULL. */
const char *bus_current_addr(const struct bus *);
/*
 * Close both links and free; no callback runs after this returns.  Every
 * bus_publish gets its callback exactly once: those still pending get
 * ok = 0 from inside bus_free.  Its libuv handles finish closing when the
 * loop runs next (uv_run until it ends).  May be called from inside any
 * bus callback.
 */
void	bus_free(struct bus *);

/*
 * The reconnect delay before attempt `attempt` (0 = first retry): min_ms
 * doubled per attempt, capped at max_ms, then jittered into its upper half
 * with `rnd`.  Pure, for tests.
 */
uint64_t bus_backoff_delay(uint64_t min_ms, uint64_t max_ms, unsigned attempt,
	    uint32_t rnd);

#endif

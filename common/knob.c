/*
 * The one table of numeric environment knobs and the one reader of them.
 * Each row keeps the default, range and meaning of 0 its old parser had;
 * docs (README.md "Every numeric knob") list the same rows, and a unit test
 * holds the two together.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knob.h"
#include "log.h"

#define KNOB_DAY_MS	86400000ULL

#define W	KNOB_WSD
#define C	KNOB_WSCTL
#define K	KNOB_WSWORKER

static const struct knob knob_table[KNOB_COUNT] = {
	[KNOB_WSD_STATS_INTERVAL_MS] = { "WSD_STATS_INTERVAL_MS", W,
	    1000, 1, UINT64_MAX, NULL, "ms",
	    "cpu/memory sampling and the memory-limit check" },
	[KNOB_WSD_CTL_IDLE_MS] = { "WSD_CTL_IDLE_MS", W,
	    60000, 1, UINT64_MAX, NULL, "ms",
	    "an idle control connection is closed after this" },
	[KNOB_WSD_CRASH_WINDOW_MS] = { "WSD_CRASH_WINDOW_MS", W,
	    120000, 0, UINT64_MAX, "crash loops go unseen", "ms",
	    "sliding window for crash loops" },
	[KNOB_WSD_BACKOFF_RESET_MS] = { "WSD_BACKOFF_RESET_MS", W,
	    30000, 0, UINT64_MAX, "every restart resets the backoff", "ms",
	    "uptime that resets the exponential backoff" },
	[KNOB_WSD_BACKOFF_MAX_MS] = { "WSD_BACKOFF_MAX_MS", W,
	    15000, 0, UINT64_MAX, "no cap", "ms",
	    "exponential backoff cap" },
	[KNOB_WSD_SCALE_SETTLE_MS] = { "WSD_SCALE_SETTLE_MS", W,
	    300, 0, UINT64_MAX, "no settling", "ms",
	    "a slot being removed keeps serving this long after new connects "
	    "stop going there" },
	[KNOB_WSD_METRICS_TIMEOUT_MS] = { "WSD_METRICS_TIMEOUT_MS", W,
	    5000, 1, 600000, NULL, "ms",
	    "a metrics connection is closed this long after it was accepted" },
	[KNOB_WSD_CONFIG_JS_TIMEOUT_MS] = { "WSD_CONFIG_JS_TIMEOUT_MS", W | C,
	    10000, 1, 3600000, NULL, "ms",
	    "how long node may evaluate a .config.js ecosystem file" },
	[KNOB_WSD_WATCH_MAX_DIRS] = { "WSD_WATCH_MAX_DIRS", W,
	    4096, 1, 1048576, NULL, "",
	    "directories one app's watch follows (inotify watches)" },
	[KNOB_WSCTL_TIMEOUT_MS] = { "WSCTL_TIMEOUT_MS", C,
	    10000, 1, 3599999, NULL, "ms",
	    "read-only commands' wait for an answer" },
	[KNOB_WS_PORT] = { "WS_PORT", K,
	    3002, 1, 65535, NULL, "",
	    "port, when wsd does not hand over a socket" },
	[KNOB_WS_SEND_QUEUE_MAX] = { "WS_SEND_QUEUE_MAX", K,
	    1 << 20, 1024, UINT32_MAX / 2, NULL, "bytes",
	    "queued bytes per socket before close 1008" },
	[KNOB_WS_MAX_SUBSCRIPTIONS] = { "WS_MAX_SUBSCRIPTIONS", K,
	    256, 1, 65535, NULL, "",
	    "channels per socket" },
	[KNOB_WS_PING_INTERVAL_MS] = { "WS_PING_INTERVAL_MS", K,
	    30000, 0, KNOB_DAY_MS, "no pings", "ms",
	    "WebSocket ping period" },
	[KNOB_WS_MAX_MESSAGE] = { "WS_MAX_MESSAGE", K,
	    64 * 1024, 16, 64 * 1024 * 1024, NULL, "bytes",
	    "client message cap" },
	[KNOB_WS_MAX_PUBLISH] = { "WS_MAX_PUBLISH", K,
	    1024 * 1024, 1024, 64 * 1024 * 1024, NULL, "bytes",
	    "POST /api/publish body cap" },
	[KNOB_WS_LWS_LOG_LEVEL] = { "WS_LWS_LOG_LEVEL", K,
	    1, 0, 0xffff, "no libwebsockets logs", "",
	    "libwebsockets log bits (1: errors; above 31 ignored)" },
	[KNOB_WS_HANDSHAKE_TIMEOUT_MS] = { "WS_HANDSHAKE_TIMEOUT_MS", K,
	    5000, 100, 600000, NULL, "ms",
	    "the whole request must arrive within this" },
	[KNOB_WS_HANDSHAKE_PER_IP] = { "WS_HANDSHAKE_PER_IP", K,
	    64, 0, 1000000, "no cap", "",
	    "requests in progress per client address" },
	[KNOB_WS_DRAIN_TIMEOUT_MS] = { "WS_DRAIN_TIMEOUT_MS", K,
	    1000, 0, 600000, "no wait", "ms",
	    "longest wait for clients to leave on drain" },
	[KNOB_WS_DRAIN_SPREAD_MS] = { "WS_DRAIN_SPREAD_MS", K,
	    4000, 0, KNOB_DRAIN_MAX_MS, "all at once", "ms",
	    "a drain closes its clients one by one over this window" },
	[KNOB_WSD_KILL_TIMEOUT_MS] = { "WSD_KILL_TIMEOUT_MS", K,
	    0, 0, KNOB_DAY_MS, "unknown", "ms",
	    "set by wsd: the app's kill_timeout, the exit's margin" },
	[KNOB_WSD_DRAIN_MAX_MS] = { "WSD_DRAIN_MAX_MS", K,
	    0, 0, KNOB_DRAIN_MAX_MS, "the spread is capped by kill_timeout",
	    "ms",
	    "set by wsd: the longest drain window it waits for beyond "
	    "kill_timeout" },
	[KNOB_WS_STATS_INTERVAL_MS] = { "WS_STATS_INTERVAL_MS", K,
	    1000, 0, 3600000, "no reports", "ms",
	    "stats reported to wsd" },
	[KNOB_WS_HISTORY_SIZE] = { "WS_HISTORY_SIZE", K,
	    1000, 1, 10000000, NULL, "",
	    "events kept per channel" },
	[KNOB_WS_HISTORY_TTL] = { "WS_HISTORY_TTL", K,
	    86400, 0, 365ULL * 86400, "forever", "s",
	    "a channel's history lives this long after its last publish" },
	[KNOB_WS_REDIS_BACKOFF_MIN_MS] = { "WS_REDIS_BACKOFF_MIN_MS", K,
	    100, 1, KNOB_DAY_MS, NULL, "ms",
	    "Redis reconnect backoff, first" },
	[KNOB_WS_REDIS_BACKOFF_MAX_MS] = { "WS_REDIS_BACKOFF_MAX_MS", K,
	    5000, 1, KNOB_DAY_MS, NULL, "ms",
	    "Redis reconnect backoff, cap" },
	[KNOB_WS_REDIS_PING_MS] = { "WS_REDIS_PING_MS", K,
	    5000, 1, KNOB_DAY_MS, NULL, "ms",
	    "Redis link heartbeat" },
	[KNOB_WS_REDIS_CONNECT_TIMEOUT_MS] = { "WS_REDIS_CONNECT_TIMEOUT_MS", K,
	    3000, 1, KNOB_DAY_MS, NULL, "ms",
	    "Redis connect timeout" },
	[KNOB_WS_DB_POOL] = { "WS_DB_POOL", K,
	    2, 1, 64, NULL, "",
	    "PostgreSQL connections per worker" },
	[KNOB_WS_DB_TIMEOUT_MS] = { "WS_DB_TIMEOUT_MS", K,
	    2000, 10, 600000, NULL, "ms",
	    "per query" },
	[KNOB_WS_DB_CONNECT_TIMEOUT_MS] = { "WS_DB_CONNECT_TIMEOUT_MS", K,
	    5000, 10, 600000, NULL, "ms",
	    "PostgreSQL connect timeout" },
	[KNOB_WS_DB_BACKOFF_MS] = { "WS_DB_BACKOFF_MS", K,
	    100, 1, 600000, NULL, "ms",
	    "PostgreSQL reconnect backoff, first" },
	[KNOB_WS_DB_BACKOFF_MAX_MS] = { "WS_DB_BACKOFF_MAX_MS", K,
	    5000, 1, 600000, NULL, "ms",
	    "PostgreSQL reconnect backoff, cap" },
	[KNOB_WS_DB_QUEUE_MAX] = { "WS_DB_QUEUE_MAX", K,
	    10000, 1, 10000000, NULL, "",
	    "queries waiting for a connection" },
	[KNOB_WS_RULES_CACHE_MS] = { "WS_RULES_CACHE_MS", K,
	    5000, 0, 3600000, "no cache", "ms",
	    "how long a database answer is cached per (user, channel)" },
	[KNOB_WS_RULES_CACHE_MAX] = { "WS_RULES_CACHE_MAX", K,
	    100000, 1, 10000000, NULL, "",
	    "database answers cached" },
};

#undef W
#undef C
#undef K

const struct knob *
knob_at(size_t i)
{
	return i < KNOB_COUNT ? &knob_table[i] : NULL;
}

const struct knob *
knob_find(const char *name)
{
	size_t i;

	for (i = 0; i < KNOB_COUNT; i++)
		if (strcmp(knob_table[i].name, name) == 0)
			return &knob_table[i];
	return NULL;
}

int
knob_parse(enum knob_id id, const char *s, uint64_t *value, char **err)
{
	const struct knob *k = &knob_table[id];
	const char *p;
	unsigned long long v;

	*value = k->dflt;
	if (s == NULL || *s == '\0')
		return 0;
	/* Digits only: strtoull alone would take " 5", "+5" and "-5". */
	for (p = s; *p >= '0' && *p <= '9'; p++)
		;
	errno = 0;
	v = *p == '\0' ? strtoull(s, NULL, 10) : 0;
	if (*p != '\0' || errno != 0 || v < k->min || v > k->max) {
		if (asprintf(err, "%s: expected a number%s%s from %" PRIu64
		    " to %" PRIu64 ", got \"%s\"", k->name,
		    *k->unit != '\0' ? " of " : "", k->unit, k->min, k->max,
		    s) < 0)
			*err = NULL;
		return -1;
	}
	*value = v;
	return 0;
}

int
knob_get(enum knob_id id, uint64_t *value, char **err)
{
	const char *s = getenv(knob_table[id].name);

	if (knob_parse(id, s, value, err) != 0)
		return -1;
	return s != NULL && *s != '\0';
}

/* Knobs read again and again (per app, per retiring slot) warn once. */
static unsigned char knob_warned[KNOB_COUNT];

uint64_t
knob_or_default(enum knob_id id)
{
	uint64_t v;
	char *err = NULL;

	if (knob_get(id, &v, &err) < 0 && !knob_warned[id]) {
		knob_warned[id] = 1;
		log_warn("%s: using %" PRIu64, err != NULL ? err :
		    knob_table[id].name, v);
	}
	free(err);
	return v;
}

/*
 * Every numeric environment knob of wsd, wsworker and wsctl in one table,
 * read by one rule: unset or empty → the default; otherwise decimal digits
 * only, within [min, max]; anything else is an error naming the variable
 * and the range.  What a bad value does is the program's: wsd and wsctl
 * warn and use the default, wsworker refuses to start (exit 78).
 *
 * Not knobs, so not here: descriptors and protocols wsd or systemd hand
 * over (WSD_LISTEN_FD, WSD_IPC_FD, LISTEN_FDS, WATCHDOG_USEC …), whose
 * absence means "none" rather than a default, and WSD_SOCKET_MODE, an
 * octal mode.
 */
#ifndef WSD_KNOB_H
#define WSD_KNOB_H

#include <stddef.h>
#include <stdint.h>

enum knob_id {
	/* wsd */
	KNOB_WSD_STATS_INTERVAL_MS,
	KNOB_WSD_CTL_IDLE_MS,
	KNOB_WSD_CRASH_WINDOW_MS,
	KNOB_WSD_BACKOFF_RESET_MS,
	KNOB_WSD_BACKOFF_MAX_MS,
	KNOB_WSD_SCALE_SETTLE_MS,
	KNOB_WSD_METRICS_TIMEOUT_MS,
	KNOB_WSD_CONFIG_JS_TIMEOUT_MS,
	KNOB_WSD_WATCH_MAX_DIRS,
	/* wsctl */
	KNOB_WSCTL_TIMEOUT_MS,
	/* wsworker */
	KNOB_WS_PORT,
	KNOB_WS_SEND_QUEUE_MAX,
	KNOB_WS_MAX_SUBSCRIPTIONS,
	KNOB_WS_PING_INTERVAL_MS,
	KNOB_WS_MAX_MESSAGE,
	KNOB_WS_MAX_PUBLISH,
	KNOB_WS_LWS_LOG_LEVEL,
	KNOB_WS_HANDSHAKE_TIMEOUT_MS,
	KNOB_WS_HANDSHAKE_PER_IP,
	KNOB_WS_DRAIN_TIMEOUT_MS,
	KNOB_WS_DRAIN_SPREAD_MS,
	KNOB_WSD_KILL_TIMEOUT_MS,
	KNOB_WSD_DRAIN_MAX_MS,
	KNOB_WS_STATS_INTERVAL_MS,
	KNOB_WS_HISTORY_SIZE,
	KNOB_WS_HISTORY_TTL,
	KNOB_WS_REDIS_BACKOFF_MIN_MS,
	KNOB_WS_REDIS_BACKOFF_MAX_MS,
	KNOB_WS_REDIS_PING_MS,
	KNOB_WS_REDIS_CONNECT_TIMEOUT_MS,
	KNOB_WS_DB_POOL,
	KNOB_WS_DB_TIMEOUT_MS,
	KNOB_WS_DB_CONNECT_TIMEOUT_MS,
	KNOB_WS_DB_BACKOFF_MS,
	KNOB_WS_DB_BACKOFF_MAX_MS,
	KNOB_WS_DB_QUEUE_MAX,
	KNOB_WS_RULES_CACHE_MS,
	KNOB_WS_RULES_CACHE_MAX,
	KNOB_COUNT
};

/*
 * The longest drain spread (WS_DRAIN_SPREAD_MS's maximum), and the longest
 * drain window wsd waits for past kill_timeout (WSD_DRAIN_MAX_MS): what an
 * instance announces beyond it is cut, so none makes itself unkillable.
 */
#define KNOB_DRAIN_MAX_MS	600000

/* Which programs read a knob (a bit set). */
#define KNOB_WSD	0x1
#define KNOB_WSCTL	0x2
#define KNOB_WSWORKER	0x4

struct knob {
	const char	*name;
	unsigned	 progs;		/* KNOB_WSD | … */
	uint64_t	 dflt;
	uint64_t	 min, max;
	const char	*zero;		/* what 0 means; NULL: not allowed */
	const char	*unit;		/* "ms", "s", "bytes", "" */
	const char	*doc;		/* one line */
};

const struct knob	*knob_at(size_t);	/* NULL past the end */
const struct knob	*knob_find(const char *name);
/*
 * The value of text for knob id: 0 and *value set, or -1 with *err (to
 * free) naming the variable and the allowed range.  NULL or "" → default.
 */
int	knob_parse(enum knob_id, const char *text, uint64_t *value,
	    char **err);
/*
 * The knob from the environment: 1 set and valid, 0 unset (*value the
 * default), -1 bad (*value the default, *err the reason, to free).
 */
int	knob_get(enum knob_id, uint64_t *value, char **err);
/* wsd's and wsctl's rule: a bad value is warned about, the default used. */
uint64_t knob_or_default(enum knob_id);

#endif

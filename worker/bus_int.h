/*
 * The Redis bus's private half: struct bus and what its files share.  Only
 * worker/bus*.c include it; hiredis types appear here as incomplete structs
 * and only bus.c, bus_ev.c, bus_link.c and bus_sentinel.c include hiredis.
 *
 * The files: bus_config.c (the environment, REDIS_URL, the backoff; pure),
 * bus_ev.c (hiredis on libuv), bus_link.c (one hiredis connection and its
 * handshake), bus_sentinel.c (discovery and +switch-master), bus.c (the
 * state machine, pub/sub and the API of bus.h).
 *
 * Two links go to the master: the subscriber link (SUBSCRIBE, messages)
 * and the command link (PUBLISH, ROLE).  The bus is "up" when both are
 * connected, authenticated, the command link has passed its checks (SELECT,
 * ROLE with Sentinel) and every key of the subscription set is confirmed
 * subscribed.  Any failure drops both links and starts over after a backoff;
 * with Sentinel, starting over means asking the sentinels again.
 */
#ifndef WSD_BUS_INT_H
#define WSD_BUS_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "bus.h"

struct redisAsyncContext;
struct redisReply;

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

/* What a setup reply answers (the privdata of bus_setup_cb). */
enum bus_step {
	BUS_STEP_SELECT,
	BUS_STEP_PING,		/* last handshake step without Sentinel */
	BUS_STEP_ROLE,		/* last handshake step with Sentinel */
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

/*
 * What a link does once connected, and when it fails: its owner's (bus.c
 * for the master links, bus_sentinel.c for the sentinel ones), set by
 * bus_new; bus_link.c, below both, calls them.
 */
struct bus_link;
struct bus_link_ops {
	void	(*handshake)(struct bus_link *);
	void	(*failed)(struct bus_link *, const char *why);
};

/* The links: cmd (master: PUBLISH, ROLE, heartbeat), sub (master:
 * SUBSCRIBE, messages), query (a sentinel, asked where the master is),
 * watch (a sentinel, subscribed to +switch-master). */
struct bus_link {
	struct bus		*bus;
	const struct bus_link_ops *ops;
	struct redisAsyncContext *ac;
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
	bus_publish_cb	 cb;		/* a publish, or */
	bus_history_cb	 hcb;		/* a history fetch */
	void		*arg;
	int		 retried;	/* sent again as EVAL after NOSCRIPT */
	size_t		 keylen, len, idemlen;
	char		 buf[];		/* key, payload or since, idem key */
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
	bus_subscribed_cb	 subscribed_cb;
	bus_state_cb		 state_cb;
	void			*arg;
};

/* bus_config.c */
/* A decimal number in [min, max], the whole of s[0..len). */
int	bus_config_number(const char *s, size_t len, long long min,
	    long long max, long long *out);
/* REDIS_SENTINELS "h:p,h:p" into an array; -1 with *err (malloc'd). */
int	bus_config_sentinels(const char *s, struct bus_addr **out, size_t *n,
	    char **err);
void	bus_config_sentinels_free(struct bus_addr *, size_t);
/* A deep copy with every default filled in; -1 on ENOMEM. */
int	bus_config_copy(struct bus_config *dst, const struct bus_config *src);

/* bus_ev.c */
int	bus_ev_attach(struct redisAsyncContext *, uv_loop_t *);

/* bus_link.c */
/* Connect l (closing what it held) to host:port, or to path. */
int	bus_link_open(struct bus_link *l, const char *host, int port,
	    const char *path, char *why, size_t whylen);
void	bus_link_close(struct bus_link *);
/* Hand a link's failure to its owner (bus.c or bus_sentinel.c). */
void	bus_link_failed(struct bus_link *, const char *why);
/* An error reply or a wrong answer on the link: close it, then failed. */
void	bus_link_error(struct bus_link *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	bus_link_auth(struct bus_link *, const char *user,
	    const char *password);
/* A string or status reply equal to s (any case). */
int	bus_link_reply_is(const struct redisReply *, const char *s);

/*
 * bus_sentinel.c, below bus.c: what it asks of the state machine above it
 * goes through these, which bus_new sets (bus_sentinel_set_ops) before any
 * discovery: fail and start over, close the master links, report a
 * transition, where the master is, open the master links, the deadline of
 * the query, the next backoff delay.
 */
struct bus_sentinel_ops {
	void	 (*fail)(struct bus *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
	void	 (*drop)(struct bus *, enum bus_state next);
	void	 (*notify)(struct bus *);
	void	 (*set_addr)(struct bus *, const char *host, int port);
	void	 (*connect_start)(struct bus *);
	void	 (*deadline_start)(struct bus *);
	uint64_t (*next_delay)(const struct bus *, unsigned *attempt);
};
void	bus_sentinel_set_ops(const struct bus_sentinel_ops *);
void	bus_sentinel_discover(struct bus *);
void	bus_sentinel_watch_start(struct bus *);
/* The query and watch links' handshakes and failure handlers. */
extern const struct bus_link_ops bus_sentinel_query_ops;
extern const struct bus_link_ops bus_sentinel_watch_ops;

/* bus.c */
void	bus_fail(struct bus *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	bus_drop(struct bus *, enum bus_state next);
void	bus_notify(struct bus *);
void	bus_set_addr(struct bus *, const char *host, int port);
void	bus_connect_start(struct bus *);
/* Give the query or the master links connect_timeout_ms to get ready. */
void	bus_deadline_start(struct bus *);
/* The next delay of a retry sequence counted by *attempt. */
uint64_t bus_next_delay(const struct bus *, unsigned *attempt);

#endif

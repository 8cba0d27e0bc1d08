/* wsbench's shared declarations: the client engine, the process probes, the clock. */
#ifndef WSBENCH_H
#define WSBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* Why a connection attempt failed; the churn mode counts each. */
enum wb_fail {
	WB_OK,
	WB_REFUSED,	/* connect(): ECONNREFUSED */
	WB_RESET,	/* ECONNRESET / EPIPE / EOF before the welcome */
	WB_HANDSHAKE,	/* not a 101 or a bad Sec-WebSocket-Accept */
	WB_NOWELCOME,	/* closed (e.g. 1008) before {"type":"connected"} */
	WB_SUBSCRIBE,	/* the subscription was refused or never answered */
	WB_TIMEOUT,	/* no welcome (or subscribed) within the deadline */
	WB_OTHER,	/* socket(), bind(), EADDRNOTAVAIL … */
	WB_NFAIL
};

extern const char *const wb_fail_names[WB_NFAIL];

/* Connection states, in the order a connection moves through them. */
enum wb_state {
	WB_CONNECTING,	/* non-blocking connect() in progress */
	WB_UPGRADING,	/* HTTP upgrade request sent, waiting for the 101 */
	WB_WELCOME,	/* upgraded, waiting for {"type":"connected"} */
	WB_SUBSCRIBING,	/* subscribe sent, waiting for "subscribed" */
	WB_READY,	/* authenticated (and subscribed): counts as up */
	WB_CLOSING,	/* close frame sent, waiting for the server's close */
	WB_PROBING,	/* a plain HTTP GET /health probe (respawn mode) */
	WB_DEAD		/* closed; freed by the engine */
};

struct wb_conn;

/* What a mode plugs into the engine. */
struct wb_hooks {
	void	(*ready_cb)(struct wb_conn *);	/* reached WB_READY */
	void	(*text_cb)(struct wb_conn *, const char *, size_t);
	void	(*fail_cb)(struct wb_conn *, enum wb_fail);
	void	(*done_cb)(struct wb_conn *);	/* closed after READY */
	void	(*probe_cb)(struct wb_conn *, long pid);	/* -1 = failed */
};

struct wb_conn {
	int		 fd;
	enum wb_state	 state;
	uint32_t	 id;
	uint32_t	 events;	/* epoll events registered */
	int64_t		 t_start;	/* monotonic ns at connect() */
	int64_t		 deadline;	/* monotonic ns, 0 = none */
	char		*out;		/* unsent bytes (rare: writes are small) */
	size_t		 outlen, outoff;
	char		*rest;		/* an incomplete frame or header */
	size_t		 restlen;
	char		*frag;		/* a fragmented message being assembled */
	size_t		 fraglen;
	uint8_t		 fragop;
	char		 key[32];	/* Sec-WebSocket-Key (base64 of 16 bytes) */
	/* mode data */
	int64_t		 next_seq;
	uint64_t	 received;
	int		 close_after_welcome;
	int		 connected;	/* connect() completed */
	struct wb_conn	*next, *prev;	/* live list */
};

struct wb_engine {
	int		 epfd;
	char		 host[64];
	uint16_t	 port;
	const char	*path;		/* "/" */
	const char	*subscribe;	/* subscribe frame text, NULL = none */
	const char	*sub_fmt;	/* with %s = user id, or NULL */
	unsigned char	*secret;
	size_t		 secretlen;
	const char	*user_prefix;
	uint32_t	 user_base, users;	/* user ids user_base … +users-1 */
	int64_t		 timeout_ns;	/* per-connection deadline */
	int		 close_after_welcome;	/* churn: close once READY */
	int		 src_first, src_last;	/* 127.0.0.x source range */
	int		 src_next;
	struct wb_hooks	 hooks;
	struct wb_conn	*live;
	uint32_t	 nlive;
	uint32_t	 inflight;	/* not yet READY or failed */
	uint32_t	 next_id;
	uint64_t	 fails[WB_NFAIL];
	char		**tokens;	/* minted lazily per user */
};

/* engine.c */
int	 wb_engine_init(struct wb_engine *);
int	 wb_connect(struct wb_engine *, int probe);	/* 0 or -1 */
int	 wb_close(struct wb_engine *, struct wb_conn *, int graceful);
int	 wb_send_text(struct wb_engine *, struct wb_conn *, const char *,
	    size_t);
int	 wb_poll(struct wb_engine *, int timeout_ms);
void	 wb_expire(struct wb_engine *);
void	 wb_engine_free(struct wb_engine *);
int64_t	 wb_now(void);			/* CLOCK_MONOTONIC ns */
int64_t	 wb_realtime(void);		/* CLOCK_REALTIME ns */
int	 wb_json_type_is(const char *, size_t, const char *);
int	 wb_json_int(const char *, size_t, const char *, int64_t *);

/* proc.c: a process tree's RSS and CPU time, from /proc. */
struct wb_procstat {
	uint64_t	rss;		/* bytes, summed over the trees */
	uint64_t	ticks;		/* utime + stime (+ reaped children) */
	uint64_t	cpu_ns;		/* schedstat run time of all threads */
	int		nprocs;
};
int	 wb_proc_parse_pids(const char *, pid_t *, int);
int	 wb_procstat(const pid_t *, int, struct wb_procstat *);
double	 wb_ticks_to_s(uint64_t);

/* hist.c: a latency histogram with 10 µs buckets. */
struct wb_hist {
	uint32_t	*b;
	uint64_t	 n;
	int64_t		 max_ns;
	double		 sum_ns;
};
int	 wb_hist_init(struct wb_hist *);
void	 wb_hist_add(struct wb_hist *, int64_t ns);
double	 wb_hist_pct_ms(const struct wb_hist *, double pct);
void	 wb_hist_free(struct wb_hist *);

/* Print one result line (steals the reference). */
void	 wb_emit(json_t *);

#endif

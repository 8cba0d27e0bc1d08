/*
 * The application's PostgreSQL database (SPEC §4.10): a small pool of libpq
 * connections on the libuv loop, never blocking.  Statements are registered
 * before pg_init() and prepared on every connection; a query's rows come
 * back as JSON, typed from the column types.  libpq stays in pg.c.
 */
#ifndef WSD_PG_H
#define WSD_PG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct pg_config {
	const char	*url;			/* DATABASE_URL: URI or conninfo */
	unsigned	 pool;			/* WS_DB_POOL */
	uint64_t	 timeout_ms;		/* WS_DB_TIMEOUT_MS */
	uint64_t	 connect_timeout_ms;	/* WS_DB_CONNECT_TIMEOUT_MS */
	uint64_t	 backoff_ms;		/* WS_DB_BACKOFF_MS, doubled … */
	uint64_t	 backoff_max_ms;	/* … up to WS_DB_BACKOFF_MAX_MS */
	unsigned	 queue_max;		/* WS_DB_QUEUE_MAX */
};

struct pg_stats {
	uint64_t	queries;	/* sent to the server */
	uint64_t	failures;	/* errors, timeouts, refused while down */
	uint64_t	timeouts;	/* of which past WS_DB_TIMEOUT_MS */
	uint64_t	connects;	/* connections that became ready */
	unsigned	ready;		/* connections up now */
	unsigned	pool;
};

/*
 * The rows of a query as a JSON array of objects (column name → value), or
 * NULL when the database could not answer (down, timeout, error).  Called
 * from the loop, never from inside pg_query().  The array is borrowed.
 */
typedef void	(*pg_done_cb)(void *arg, json_t *rows);

/*
 * Whether `url` parses as libpq's URI or conninfo (no connection made).
 * The parser's own message is not given: it may quote the password.
 */
int	pg_url_valid(const char *url);
/* Register `sql` (with $1, $2 … as text parameters): its handle, or -1. */
int	pg_statement(const char *sql, const char *origin);
int	pg_init(uv_loop_t *, const struct pg_config *);
void	pg_shutdown(void);
/* Whether DATABASE_URL was given (pg_init ran). */
int	pg_configured(void);
/* At least one connection is ready. */
int	pg_is_up(void);
void	pg_get_stats(struct pg_stats *);
/*
 * Run statement `stmt` with `n` text parameters: 0 when `cb` will be
 * called, -1 (and never a call) when the database cannot take it now.
 */
int	pg_query(int stmt, const char *const *params, int n, pg_done_cb cb,
	    void *arg);

#endif

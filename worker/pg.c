/* The PostgreSQL pool: libpq connections driven by the libuv loop. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "pg.h"

#define PG_STATEMENTS_MAX	32

/* Type oids of pg_type (stable across server versions). */
#define PG_OID_BOOL		16
#define PG_OID_INT8		20
#define PG_OID_INT2		21
#define PG_OID_INT4		23
#define PG_OID_OID		26
#define PG_OID_JSON		114
#define PG_OID_FLOAT4		700
#define PG_OID_FLOAT8		701
#define PG_OID_DATE		1082
#define PG_OID_TIMESTAMP	1114
#define PG_OID_TIMESTAMPTZ	1184
#define PG_OID_JSONB		3802
#define PG_OID_NUMERIC		1700

/*
 * One connection.  DOWN → CONNECTING → SETUP → READY ⇄ BUSY; any error, or
 * the client-side timer, goes back to DOWN, whose timer reconnects.
 */
enum pg_conn_state {
	PG_DOWN,	/* no connection; the timer reconnects after a backoff */
	PG_CONNECTING,	/* PQconnectPoll in progress */
	PG_SETUP,	/* session settings, then each statement, being prepared */
	PG_READY,	/* idle: may take a query */
	PG_BUSY,	/* one query in flight */
};

struct pg_query {
	struct pg_query	*next;
	int		 stmt;
	int		 n;
	uint64_t	 queued_at;
	pg_done_cb	 cb;
	void		*arg;
	char		*params[2];
};

struct pg_conn {
	PGconn		*pq;
	uv_poll_t	*poll;		/* on PQsocket; freed by its close */
	int		 fd;
	int		 events;	/* what the poll waits for */
	enum pg_conn_state state;
	int		 step;		/* SETUP: 0 = settings, i + 1 = statement i */
	int		 failed;	/* a result of the command was an error */
	uint64_t	 backoff_ms;
	uv_timer_t	 timer;		/* backoff, connect or query timeout */
	struct pg_query	*q;		/* BUSY: the query in flight */
	json_t		*rows;		/* BUSY: its first result */
	unsigned	 index;
};

static struct {
	uv_loop_t	*loop;
	struct pg_config conf;
	struct pg_conn	*conns;
	struct pg_query	*qhead, *qtail;
	unsigned	 nqueued;
	uv_timer_t	 queue_timer;
	struct pg_stats	 stats;
	int		 configured;
	int		 was_up;
	char		*password;	/* from the URL: kept out of the logs */
	char		*sql[PG_STATEMENTS_MAX];
	const char	*origin[PG_STATEMENTS_MAX];
	int		 nsql;
} pg;

static void	pg_conn_poll_cb(uv_poll_t *, int, int);
static void	pg_conn_connect(struct pg_conn *);
static void	pg_conn_drop(struct pg_conn *, const char *);
static void	pg_dispatch(void);

int
pg_url_valid(const char *url)
{
	PQconninfoOption	*o;
	char			*err = NULL;

	if ((o = PQconninfoParse(url, &err)) == NULL) {
		PQfreemem(err);
		return 0;
	}
	PQconninfoFree(o);
	return 1;
}

/* The URL's password, if any, to scrub from libpq's messages. */
static char *
pg_url_password(const char *url)
{
	PQconninfoOption	*o, *p;
	char			*pw = NULL;

	if ((o = PQconninfoParse(url, NULL)) == NULL)
		return NULL;
	for (p = o; p->keyword != NULL; p++) {
		if (strcmp(p->keyword, "password") == 0 && p->val != NULL &&
		    *p->val != '\0')
			pw = strdup(p->val);
	}
	PQconninfoFree(o);
	return pw;
}

int
pg_statement(const char *sql, const char *origin)
{
	if (pg.nsql >= PG_STATEMENTS_MAX)
		return -1;
	if ((pg.sql[pg.nsql] = strdup(sql)) == NULL)
		return -1;
	pg.origin[pg.nsql] = origin;
	return pg.nsql++;
}

int
pg_configured(void)
{
	return pg.configured;
}

int
pg_is_up(void)
{
	return pg.stats.ready > 0;
}

void
pg_get_stats(struct pg_stats *st)
{
	*st = pg.stats;
}

/* A connection that may answer soon: the queue waits for it. */
static int
pg_any_alive(void)
{
	unsigned	i;

	for (i = 0; i < pg.conf.pool; i++) {
		if (pg.conns[i].state != PG_DOWN)
			return 1;
	}
	return 0;
}

static void
pg_query_free(struct pg_query *q)
{
	int	i;

	for (i = 0; i < q->n; i++)
		free(q->params[i]);
	free(q);
}

static void
pg_query_done(struct pg_query *q, json_t *rows)
{
	if (rows == NULL)
		pg.stats.failures++;
	q->cb(q->arg, rows);
	pg_query_free(q);
}

static void
pg_link_log(void)
{
	int	up = pg_is_up();

	if (up == pg.was_up)
		return;
	pg.was_up = up;
	log_json(up ? LOG_INFO : LOG_WARN, json_pack("{s:s}", "database",
	    up ? "up" : "down"), up ? "database link up" :
	    "database link down");
}

/* Fail everything queued (no connection left to answer). */
static void
pg_queue_fail(void)
{
	struct pg_query	*q;

	while ((q = pg.qhead) != NULL) {
		pg.qhead = q->next;
		pg.nqueued--;
		pg_query_done(q, NULL);
	}
	pg.qtail = NULL;
	uv_timer_stop(&pg.queue_timer);
}

static void
pg_poll_close_cb(uv_handle_t *h)
{
	free(h);
}

static void
pg_conn_unpoll(struct pg_conn *c)
{
	if (c->poll != NULL) {
		uv_close((uv_handle_t *)c->poll, pg_poll_close_cb);
		c->poll = NULL;
	}
	c->fd = -1;
	c->events = 0;
}

/* Watch PQsocket for `events`; the socket may change while connecting. */
static int
pg_conn_watch(struct pg_conn *c, int events)
{
	int	fd = PQsocket(c->pq);

	if (fd < 0)
		return -1;
	if (c->poll != NULL && fd != c->fd)
		pg_conn_unpoll(c);
	if (c->poll == NULL) {
		if ((c->poll = malloc(sizeof *c->poll)) == NULL)
			return -1;
		if (uv_poll_init(pg.loop, c->poll, fd) != 0) {
			free(c->poll);
			c->poll = NULL;
			return -1;
		}
		c->poll->data = c;
		c->fd = fd;
		c->events = 0;
	}
	if (events != c->events) {
		if (uv_poll_start(c->poll, events, pg_conn_poll_cb) != 0)
			return -1;
		c->events = events;
	}
	return 0;
}

static void
pg_conn_timer_cb(uv_timer_t *t)
{
	struct pg_conn	*c = t->data;

	if (c->state == PG_DOWN) {
		pg_conn_connect(c);
		return;
	}
	if (c->state == PG_BUSY) {
		/*
		 * PQcancel() blocks on a new connection: drop this one
		 * instead; statement_timeout stops the backend's query.
		 */
		pg.stats.timeouts++;
		log_json(LOG_WARN, json_pack("{s:I,s:s}", "timeout_ms",
		    (json_int_t)pg.conf.timeout_ms, "statement",
		    pg.origin[c->q->stmt]), "database query timed out");
	} else {
		log_json(LOG_WARN, json_pack("{s:I}", "timeout_ms",
		    (json_int_t)pg.conf.connect_timeout_ms),
		    "database connect timed out");
	}
	c->backoff_ms = 0;	/* the server is there, only slow */
	pg_conn_drop(c, "timeout");
}

/* Drop the connection, fail its query, reconnect after a backoff. */
static void
pg_conn_drop(struct pg_conn *c, const char *why)
{
	struct pg_query	*q = c->q;
	int		 was = c->state;

	if (was >= PG_READY)
		pg.stats.ready--;
	if (was != PG_DOWN)
		log_json(LOG_WARN, json_pack("{s:I,s:s}", "connection",
		    (json_int_t)c->index, "error", why),
		    "database connection lost");
	pg_conn_unpoll(c);
	if (c->pq != NULL) {
		PQfinish(c->pq);
		c->pq = NULL;
	}
	json_decref(c->rows);
	c->rows = NULL;
	c->q = NULL;
	c->state = PG_DOWN;
	uv_timer_stop(&c->timer);
	uv_timer_start(&c->timer, pg_conn_timer_cb, c->backoff_ms, 0);
	c->backoff_ms = c->backoff_ms == 0 ? pg.conf.backoff_ms :
	    c->backoff_ms * 2;
	if (c->backoff_ms > pg.conf.backoff_max_ms)
		c->backoff_ms = pg.conf.backoff_max_ms;
	if (q != NULL)
		pg_query_done(q, NULL);
	pg_link_log();
	if (!pg_any_alive())
		pg_queue_fail();
}

/* libpq's message, one line, for the logs. */
static const char *
pg_conn_error(struct pg_conn *c)
{
	static char	 buf[256];
	const char	*m = c->pq != NULL ? PQerrorMessage(c->pq) : "";
	size_t		 i;

	snprintf(buf, sizeof buf, "%s", *m != '\0' ? m : "connection failed");
	if (pg.password != NULL && strstr(buf, pg.password) != NULL)
		snprintf(buf, sizeof buf, "connection failed (message withheld: "
		    "it quotes the password)");
	for (i = 0; buf[i] != '\0'; i++) {
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	}
	while (i > 0 && buf[i - 1] == ' ')
		buf[--i] = '\0';
	return buf;
}

static void
pg_conn_connect(struct pg_conn *c)
{
	static const char *const keys[] = { "dbname", "application_name",
	    "client_encoding", NULL };
	const char	*vals[] = { pg.conf.url, "wsworker", "UTF8", NULL };

	c->pq = PQconnectStartParams(keys, vals, 1);
	if (c->pq == NULL || PQstatus(c->pq) == CONNECTION_BAD) {
		pg_conn_drop(c, pg_conn_error(c));
		return;
	}
	c->state = PG_CONNECTING;
	uv_timer_start(&c->timer, pg_conn_timer_cb,
	    pg.conf.connect_timeout_ms, 0);
	/* the first PQconnectPoll waits for the socket to be writable */
	if (pg_conn_watch(c, UV_WRITABLE) != 0)
		pg_conn_drop(c, "cannot poll the database socket");
}

/* Send what libpq buffered; wait for writable while it has more. */
static int
pg_conn_flush(struct pg_conn *c)
{
	int	r = PQflush(c->pq);

	if (r < 0)
		return -1;
	return pg_conn_watch(c, UV_READABLE | (r == 1 ? UV_WRITABLE : 0));
}

/* The next SETUP command, or READY when all are done. */
static int
pg_conn_setup_next(struct pg_conn *c)
{
	char	name[32], settings[160];
	int	r;

	if (c->step == 0) {
		/* also set on the server: a query we gave up on stops there */
		snprintf(settings, sizeof settings,
		    "SET statement_timeout = %llu; SET TimeZone = 'UTC'; "
		    "SET DateStyle = 'ISO, YMD'",
		    (unsigned long long)pg.conf.timeout_ms);
		r = PQsendQuery(c->pq, settings);
	} else if (c->step <= pg.nsql) {
		snprintf(name, sizeof name, "wsd_%d", c->step - 1);
		r = PQsendPrepare(c->pq, name, pg.sql[c->step - 1], 0, NULL);
	} else {
		c->state = PG_READY;
		c->backoff_ms = 0;
		uv_timer_stop(&c->timer);
		pg.stats.ready++;
		pg.stats.connects++;
		pg_link_log();
		pg_dispatch();
		return 0;
	}
	if (r != 1)
		return -1;
	return pg_conn_flush(c);
}

/* One value of a text-format result as JSON, typed by its column. */
static json_t *
pg_value(Oid type, const char *v, size_t len)
{
	json_t	*j;
	char	*end;
	double	 d;
	int	 y, mo, day, h, mi, s, n = 0;
	char	 frac[8] = "000", buf[40];

	switch (type) {
	case PG_OID_BOOL:
		return json_boolean(v[0] == 't');
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8:
	case PG_OID_OID:
		return json_integer(strtoll(v, &end, 10));
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		/* NaN and Infinity: null, as JSON.stringify() writes them */
		d = strtod(v, &end);
		return isfinite(d) ? json_real(d) : json_null();
	case PG_OID_NUMERIC:
		/* Prisma's Decimal is a string without trailing zeros */
		if (strchr(v, '.') != NULL && strchr(v, 'e') == NULL &&
		    strchr(v, 'E') == NULL) {
			while (len > 0 && v[len - 1] == '0')
				len--;
			if (len > 0 && v[len - 1] == '.')
				len--;
		}
		break;
	case PG_OID_JSON:
	case PG_OID_JSONB:
		if ((j = json_loadb(v, len, JSON_DECODE_ANY, NULL)) != NULL)
			return j;
		break;
	case PG_OID_DATE:
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
		/*
		 * DateStyle ISO, TimeZone UTC: "2024-05-01 10:00:00.5+00";
		 * JavaScript's toISOString() has milliseconds and a Z.
		 */
		if (sscanf(v, "%4d-%2d-%2d%n", &y, &mo, &day, &n) != 3 ||
		    n != 10)
			break;
		h = mi = s = 0;
		if (v[n] == ' ') {
			if (sscanf(v + n, " %2d:%2d:%2d", &h, &mi, &s) != 3)
				break;
			n += 9;
			if (v[n] == '.') {
				size_t	i;

				for (i = 0; i < 3 && isdigit((unsigned char)
				    v[n + 1 + i]); i++)
					frac[i] = v[n + 1 + i];
			}
		}
		snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%sZ",
		    y, mo, day, h, mi, s, frac);
		return json_string(buf);
	default:
		break;
	}
	/* text, enums, numeric (Prisma's Decimal is a string too), … */
	return json_stringn(v, len);
}

static json_t *
pg_rows(const PGresult *res)
{
	json_t	*rows, *row;
	int	 nr = PQntuples(res), nf = PQnfields(res), i, k;

	if ((rows = json_array()) == NULL)
		return NULL;
	for (i = 0; i < nr; i++) {
		if ((row = json_object()) == NULL)
			break;
		for (k = 0; k < nf; k++)
			json_object_set_new(row, PQfname(res, k),
			    PQgetisnull(res, i, k) ? json_null() :
			    pg_value(PQftype(res, k), PQgetvalue(res, i, k),
			    (size_t)PQgetlength(res, i, k)));
		json_array_append_new(rows, row);
	}
	return rows;
}

/* A result of the command in progress. */
static void
pg_conn_result(struct pg_conn *c, PGresult *res)
{
	ExecStatusType	st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		if (!c->failed) {
			const char *m = PQresultErrorMessage(res);

			log_json(LOG_WARN, json_pack("{s:s,s:s%}", "statement",
			    c->state == PG_BUSY ? pg.origin[c->q->stmt] :
			    c->step == 0 ? "session settings" :
			    pg.origin[c->step - 1], "error", m,
			    strcspn(m, "\n")), "database error");
		}
		c->failed = 1;
	} else if (c->state == PG_BUSY && c->rows == NULL) {
		c->rows = pg_rows(res);
	}
	PQclear(res);
}

/* The command in progress has all its results. */
static void
pg_conn_command_done(struct pg_conn *c)
{
	struct pg_query	*q;
	json_t		*rows;

	if (c->state == PG_SETUP) {
		if (c->failed) {
			/* a statement the server refuses: fail closed */
			pg_conn_drop(c, "setup failed");
			return;
		}
		c->step++;
		if (pg_conn_setup_next(c) != 0)
			pg_conn_drop(c, pg_conn_error(c));
		return;
	}
	q = c->q;
	rows = c->failed ? NULL : c->rows;
	c->q = NULL;
	c->rows = NULL;
	c->state = PG_READY;
	uv_timer_stop(&c->timer);
	pg_query_done(q, rows);
	json_decref(rows);
	pg_dispatch();
}

static void
pg_conn_read(struct pg_conn *c)
{
	PGresult	*res;

	if (PQconsumeInput(c->pq) != 1) {
		pg_conn_drop(c, pg_conn_error(c));
		return;
	}
	while (c->state == PG_SETUP || c->state == PG_BUSY) {
		if (PQisBusy(c->pq))
			return;
		if ((res = PQgetResult(c->pq)) != NULL) {
			pg_conn_result(c, res);
			continue;
		}
		pg_conn_command_done(c);
		return;	/* the next command (if any) reads on its own */
	}
	if (PQstatus(c->pq) == CONNECTION_BAD)
		pg_conn_drop(c, pg_conn_error(c));
	else
		while ((res = PQgetResult(c->pq)) != NULL)
			PQclear(res);	/* nothing was asked: a notice */
}

static void
pg_conn_poll_connect(struct pg_conn *c)
{
	PostgresPollingStatusType	st = PQconnectPoll(c->pq);

	/*
	 * libpq may have closed the socket and opened another (next host,
	 * SSL refused) that got the same number: epoll forgot the old one,
	 * so register afresh at every step of the connect.
	 */
	if (c->poll != NULL) {
		uv_poll_stop(c->poll);
		c->events = 0;
	}
	switch (st) {
	case PGRES_POLLING_READING:
		if (pg_conn_watch(c, UV_READABLE) != 0)
			pg_conn_drop(c, "cannot poll the database socket");
		return;
	case PGRES_POLLING_WRITING:
		if (pg_conn_watch(c, UV_WRITABLE) != 0)
			pg_conn_drop(c, "cannot poll the database socket");
		return;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->pq, 1) != 0) {
			pg_conn_drop(c, pg_conn_error(c));
			return;
		}
		c->state = PG_SETUP;
		c->step = 0;
		c->failed = 0;
		if (pg_conn_setup_next(c) != 0)
			pg_conn_drop(c, pg_conn_error(c));
		return;
	default:
		pg_conn_drop(c, pg_conn_error(c));
		return;
	}
}

static void
pg_conn_poll_cb(uv_poll_t *h, int status, int events)
{
	struct pg_conn	*c = h->data;

	if (status < 0) {
		pg_conn_drop(c, uv_strerror(status));
		return;
	}
	if (c->state == PG_CONNECTING) {
		pg_conn_poll_connect(c);
		return;
	}
	if ((events & UV_WRITABLE) && pg_conn_flush(c) != 0) {
		pg_conn_drop(c, pg_conn_error(c));
		return;
	}
	if (events & UV_READABLE)
		pg_conn_read(c);
}

static int
pg_conn_send(struct pg_conn *c, struct pg_query *q)
{
	char	name[32];

	snprintf(name, sizeof name, "wsd_%d", q->stmt);
	c->q = q;
	c->rows = NULL;
	c->failed = 0;
	c->state = PG_BUSY;
	pg.stats.queries++;
	uv_timer_start(&c->timer, pg_conn_timer_cb, pg.conf.timeout_ms, 0);
	if (PQsendQueryPrepared(c->pq, name, q->n,
	    (const char *const *)q->params, NULL, NULL, 0) != 1 ||
	    pg_conn_flush(c) != 0)
		return -1;
	return 0;
}

static void
pg_queue_timer_cb(uv_timer_t *t)
{
	(void)t;
	pg_dispatch();
}

static void
pg_queue_arm(void)
{
	uint64_t	now = uv_now(pg.loop), due;

	if (pg.qhead == NULL) {
		uv_timer_stop(&pg.queue_timer);
		return;
	}
	due = pg.qhead->queued_at + pg.conf.timeout_ms;
	uv_timer_start(&pg.queue_timer, pg_queue_timer_cb,
	    due > now ? due - now : 0, 0);
}

/* Give queued queries to ready connections; fail those waited too long. */
static void
pg_dispatch(void)
{
	struct pg_query	*q;
	uint64_t	 now = uv_now(pg.loop);
	unsigned	 i;

	while ((q = pg.qhead) != NULL &&
	    q->queued_at + pg.conf.timeout_ms <= now) {
		pg.qhead = q->next;
		pg.nqueued--;
		pg.stats.timeouts++;
		pg_query_done(q, NULL);
	}
	for (i = 0; i < pg.conf.pool && pg.qhead != NULL; i++) {
		struct pg_conn	*c = &pg.conns[i];

		if (c->state != PG_READY)
			continue;
		q = pg.qhead;
		pg.qhead = q->next;
		pg.nqueued--;
		if (pg_conn_send(c, q) != 0)
			pg_conn_drop(c, pg_conn_error(c));
	}
	if (pg.qhead == NULL)
		pg.qtail = NULL;
	pg_queue_arm();
}

int
pg_query(int stmt, const char *const *params, int n, pg_done_cb cb,
    void *arg)
{
	struct pg_query	*q;
	int		 i;

	if (!pg.configured || stmt < 0 || stmt >= pg.nsql || n < 0 ||
	    n > 2 || !pg_any_alive() || pg.nqueued >= pg.conf.queue_max) {
		pg.stats.failures++;
		return -1;
	}
	if ((q = calloc(1, sizeof *q)) == NULL)
		return -1;
	q->stmt = stmt;
	q->cb = cb;
	q->arg = arg;
	q->queued_at = uv_now(pg.loop);
	for (i = 0; i < n; i++) {
		if ((q->params[i] = strdup(params[i])) == NULL) {
			pg_query_free(q);
			return -1;
		}
		q->n = i + 1;
	}
	if (pg.qtail != NULL)
		pg.qtail->next = q;
	else
		pg.qhead = q;
	pg.qtail = q;
	pg.nqueued++;
	/* from the loop, not here: cb never runs inside pg_query */
	if (!uv_is_active((uv_handle_t *)&pg.queue_timer) ||
	    pg.qhead == q)
		uv_timer_start(&pg.queue_timer, pg_queue_timer_cb, 0, 0);
	return 0;
}

int
pg_init(uv_loop_t *loop, const struct pg_config *conf)
{
	unsigned	i;

	pg.loop = loop;
	pg.conf = *conf;
	pg.stats.pool = conf->pool;
	if ((pg.conns = calloc(conf->pool, sizeof *pg.conns)) == NULL)
		return -1;
	uv_timer_init(loop, &pg.queue_timer);
	uv_unref((uv_handle_t *)&pg.queue_timer);
	pg.configured = 1;
	pg.password = pg_url_password(conf->url);
	for (i = 0; i < conf->pool; i++) {
		pg.conns[i].index = i;
		pg.conns[i].fd = -1;
		uv_timer_init(loop, &pg.conns[i].timer);
		uv_unref((uv_handle_t *)&pg.conns[i].timer);
		pg.conns[i].timer.data = &pg.conns[i];
		pg_conn_connect(&pg.conns[i]);
	}
	return 0;
}

void
pg_shutdown(void)
{
	unsigned	i;
	int		k;

	if (!pg.configured)
		return;
	pg.configured = 0;
	for (i = 0; i < pg.conf.pool; i++) {
		struct pg_conn	*c = &pg.conns[i];

		pg_conn_unpoll(c);
		if (c->pq != NULL)
			PQfinish(c->pq);
		c->pq = NULL;
		uv_timer_stop(&c->timer);
		if (c->q != NULL)
			pg_query_done(c->q, NULL);
		c->q = NULL;
		json_decref(c->rows);
		c->rows = NULL;
		c->state = PG_DOWN;
	}
	pg_queue_fail();
	if (pg.password != NULL) {
		explicit_bzero(pg.password, strlen(pg.password));
		free(pg.password);
		pg.password = NULL;
	}
	for (k = 0; k < pg.nsql; k++)
		free(pg.sql[k]);
	pg.nsql = 0;
}

/*
 * The aggregated metrics wsd serves (SPEC §4.9): one row of figures per
 * instance slot, the carry-over that keeps a slot's counters from going
 * backwards when its process is replaced, and the Prometheus text with
 * per-app sums.  Pure: rows in, text out; supervisor/scrape.c fills the
 * rows from the instance table.
 *
 * Series are labelled app and instance (the slot), never pid: a restart
 * must not start new series, so the pid is the value of an info series.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsd.h"

enum metrics_src {
	MS_WSD,		/* wsd's own figure, filled by scrape.c */
	MS_STAT,	/* a number in the worker's IPC stats */
	MS_LINK,	/* "up" / "down" in the worker's IPC stats */
};

struct metrics_def {
	const char		*name;	/* after wsd_instance_ / wsd_app_ */
	const char		*type;	/* Prometheus type */
	enum metrics_src	 src;
	const char		*stat;	/* MS_STAT, MS_LINK: the key */
	int			 carry;	/* a counter carried across pids */
	int			 sum;	/* summed per app */
	const char		*help;
};

static const struct metrics_def metrics_defs[MF_COUNT] = {
	[MF_RESTARTS] = { "restarts_total", "counter", MS_WSD, NULL, 0, 1,
	    "Processes restarted in the slot." },
	[MF_UNSTABLE] = { "unstable_restarts_total", "counter", MS_WSD, NULL,
	    0, 1, "Restarts of processes that exited before min_uptime." },
	[MF_UPTIME] = { "uptime_seconds", "gauge", MS_WSD, NULL, 0, 0,
	    "Seconds since the slot's process started (0 when none runs)." },
	[MF_MEMORY] = { "memory_bytes", "gauge", MS_WSD, NULL, 0, 1,
	    "Resident memory of the process tree." },
	[MF_MEMORY_LIMIT] = { "memory_limit_bytes", "gauge", MS_WSD, NULL,
	    0, 0, "max_memory_restart (0 = none)." },
	[MF_CPU_SECONDS] = { "cpu_seconds_total", "counter", MS_WSD, NULL,
	    1, 1, "CPU time of the slot's processes." },
	[MF_CPU_PERCENT] = { "cpu_percent", "gauge", MS_WSD, NULL, 0, 1,
	    "CPU use over the last sample, percent of one core." },
	[MF_ACTIVE] = { "active_connections", "gauge", MS_STAT,
	    "connections", 0, 1, "Open authenticated WebSocket connections." },
	[MF_CONNECTIONS] = { "connections_total", "counter", MS_STAT,
	    "total_connections", 1, 1, "WebSocket connections upgraded." },
	[MF_MESSAGES] = { "messages_total", "counter", MS_STAT, "messages",
	    1, 1, "Messages received from clients." },
	[MF_DELIVERIES] = { "deliveries_total", "counter", MS_STAT,
	    "deliveries", 1, 1, "Event frames queued to sockets." },
	[MF_EVENTS] = { "events_total", "counter", MS_STAT, "events", 1, 1,
	    "Events fanned out to local subscribers." },
	[MF_AUTH_FAILURES] = { "auth_failures_total", "counter", MS_STAT,
	    "auth_failures", 1, 1, "Connections refused for a bad token." },
	[MF_ERRORS] = { "errors_total", "counter", MS_STAT, "errors", 1, 1,
	    "Errors (bad input, slow consumers, publish failures)." },
	[MF_SLOW_CLOSES] = { "slow_consumer_closes_total", "counter",
	    MS_STAT, "slow_consumer_closes", 1, 1,
	    "Sockets closed for a send queue over its cap." },
	[MF_SUBSCRIPTIONS] = { "subscriptions", "gauge", MS_STAT,
	    "subscriptions", 0, 1, "Channel subscriptions of open sockets." },
	[MF_CHANNELS] = { "channels", "gauge", MS_STAT, "channels", 0, 1,
	    "Channel keys with a local subscriber." },
	[MF_REDIS_UP] = { "redis_up", "gauge", MS_LINK, "redis", 0, 1,
	    "Whether the Redis link is up (per app: instances up)." },
};

/* The states a status series is written for, one series each. */
static const enum inst_state metrics_states[] = {
	ST_STOPPED, ST_LAUNCHING, ST_ONLINE, ST_STOPPING, ST_WAITING,
	ST_ERRORED,
};

void
metrics_row_stats(struct metrics_row *r, const json_t *stats,
    const struct metrics_carry *c, int live)
{
	const struct metrics_def *d;
	const char *s;
	json_t *v;
	int i;

	for (i = 0; i < MF_COUNT; i++) {
		d = &metrics_defs[i];
		if (d->src == MS_WSD)
			continue;
		v = json_object_get(stats, d->stat);
		if (!live && !d->carry)
			r->has[i] = 0;	/* a dead process's gauges went with it */
		else if (d->src == MS_LINK) {
			s = json_string_value(v);
			r->has[i] = s != NULL && (strcmp(s, "up") == 0 ||
			    strcmp(s, "down") == 0);
			r->v[i] = r->has[i] && strcmp(s, "up") == 0;
		} else if (json_is_number(v) && json_number_value(v) >= 0) {
			r->has[i] = 1;
			r->v[i] = json_number_value(v);
		} else
			r->has[i] = 0;
	}
	metrics_row_carry(r, c);
}

void
metrics_row_carry(struct metrics_row *r, const struct metrics_carry *c)
{
	int i;

	for (i = 0; i < MF_COUNT; i++) {
		if (!metrics_defs[i].carry || c == NULL)
			continue;
		/* A slot whose process has not reported yet still shows what
		 * its earlier processes counted. */
		if (!r->has[i] && c->base[i] > 0) {
			r->has[i] = 1;
			r->v[i] = 0;
		}
		r->v[i] += c->base[i];
	}
}

void
metrics_carry_fold(struct metrics_carry *c, const struct metrics_row *r)
{
	int i;

	for (i = 0; i < MF_COUNT; i++)
		if (metrics_defs[i].carry && r->has[i] && r->v[i] > c->base[i])
			c->base[i] = r->v[i];
}

/* A label value as the exposition format quotes it. */
static void
metrics_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
metrics_value(FILE *f, double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		fprintf(f, " %.0f\n", v);
	else
		fprintf(f, " %.6f\n", v);
}

static void
metrics_head(FILE *f, const char *scope, const char *name,
    const char *type, const char *help)
{
	fprintf(f, "# HELP wsd_%s_%s %s\n# TYPE wsd_%s_%s %s\n", scope, name,
	    help, scope, name, type);
}

static void
metrics_inst_labels(FILE *f, const char *scope, const char *name,
    const struct metrics_row *r)
{
	fprintf(f, "wsd_%s_%s{app=\"", scope, name);
	metrics_label(f, r->app);
	fprintf(f, "\",instance=\"%d\"", r->slot);
}

/* Whether r is the first row of its app (the sums are written there). */
static int
metrics_first_of_app(const struct metrics_row *rows, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(rows[j].app, rows[i].app) == 0)
			return 0;
	return 1;
}

/* Per-app figures that are no row's: the slots, the slots online. */
enum { MA_SLOTS = MF_COUNT, MA_ONLINE };

/* Row r's value of `fig` (a figure or MA_*); 0 when it has none. */
static int
metrics_value_of(const struct metrics_row *r, int fig, double *v)
{
	if (fig == MA_SLOTS || fig == MA_ONLINE) {
		*v = fig == MA_SLOTS || r->state == ST_ONLINE;
		return 1;
	}
	*v = r->v[fig];
	return r->has[fig];
}

/* wsd_app_<name>{app} for each app: the sum over its rows that have fig. */
static void
metrics_sums(FILE *f, const struct metrics_row *rows, size_t n, int fig,
    const char *name)
{
	size_t i, j;
	double sum, v;
	int any;

	for (i = 0; i < n; i++) {
		if (!metrics_first_of_app(rows, i))
			continue;
		sum = 0;
		any = 0;
		for (j = i; j < n; j++) {
			if (strcmp(rows[j].app, rows[i].app) != 0 ||
			    !metrics_value_of(&rows[j], fig, &v))
				continue;
			sum += v;
			any = 1;
		}
		if (!any)
			continue;
		fprintf(f, "wsd_app_%s{app=\"", name);
		metrics_label(f, rows[i].app);
		fputs("\"}", f);
		metrics_value(f, sum);
	}
}

char *
metrics_text(const struct metrics_row *rows, size_t n)
{
	const struct metrics_def *d;
	char *out = NULL;
	size_t len = 0, i, k;
	FILE *f;
	int fig;

	if ((f = open_memstream(&out, &len)) == NULL)
		return NULL;
	metrics_head(f, "instance", "info", "gauge",
	    "The slot's current process (pid 0 when none runs).");
	for (i = 0; i < n; i++) {
		metrics_inst_labels(f, "instance", "info", &rows[i]);
		fprintf(f, ",pid=\"%ld\"} 1\n", (long)rows[i].pid);
	}
	metrics_head(f, "instance", "status", "gauge",
	    "1 for the slot's current status.");
	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof metrics_states /
		    sizeof metrics_states[0]; k++) {
			metrics_inst_labels(f, "instance", "status", &rows[i]);
			fprintf(f, ",status=\"%s\"} %d\n",
			    policy_state_name(metrics_states[k]),
			    rows[i].state == metrics_states[k]);
		}
	for (fig = 0; fig < MF_COUNT; fig++) {
		d = &metrics_defs[fig];
		metrics_head(f, "instance", d->name, d->type, d->help);
		for (i = 0; i < n; i++) {
			if (!rows[i].has[fig])
				continue;
			metrics_inst_labels(f, "instance", d->name, &rows[i]);
			fputc('}', f);
			metrics_value(f, rows[i].v[fig]);
		}
	}
	metrics_head(f, "app", "instances", "gauge", "Instance slots.");
	metrics_sums(f, rows, n, MA_SLOTS, "instances");
	metrics_head(f, "app", "instances_online", "gauge",
	    "Instance slots online.");
	metrics_sums(f, rows, n, MA_ONLINE, "instances_online");
	for (fig = 0; fig < MF_COUNT; fig++) {
		d = &metrics_defs[fig];
		if (!d->sum)
			continue;
		metrics_head(f, "app", d->name, d->type, d->help);
		metrics_sums(f, rows, n, fig, d->name);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Counters of the worker and the Prometheus text at GET /metrics. */
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"

struct metrics metrics;

const char *
metrics_link_name(int redis)
{
	if (redis < 0)
		return "none";
	return redis ? "up" : "down";
}

/* One series of the exposition text: a row of metrics_render's tables. */
struct metrics_series {
	const char		*name;
	const char		*type;		/* "counter" or "gauge" */
	const char		*help;
	unsigned long long	 v;
};

static void
metrics_write(FILE *f, const struct metrics_series *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", v[i].name,
		    v[i].help, v[i].name, v[i].type, v[i].name, v[i].v);
}

#define METRICS_N(a)	(sizeof (a) / sizeof (a)[0])

char *
metrics_render(const struct metrics_gauges *g)
{
	const struct metrics_series base[] = {
		{ "ws_active_connections", "gauge", "Open authenticated WebSocket connections.", g->active_connections },
		{ "ws_total_connections", "counter", "WebSocket connections upgraded.", metrics.total_connections },
		{ "ws_total_messages", "counter", "Messages received from clients.", metrics.total_messages },
		{ "ws_auth_failures", "counter", "Connections refused for a bad token.", metrics.auth_failures },
		{ "ws_errors", "counter", "Errors (bad input, slow consumers, publish failures).", metrics.errors },
		{ "ws_deliveries_total", "counter", "Event frames queued to sockets.", metrics.deliveries },
		{ "ws_events_total", "counter", "Events fanned out to local subscribers.", metrics.events },
		{ "ws_slow_consumer_closes_total", "counter", "Sockets closed for a send queue over its cap.", metrics.slow_closes },
		{ "ws_subscriptions", "gauge", "Channel subscriptions of open sockets.", g->subscriptions },
		{ "ws_channels", "gauge", "Channel keys with a local subscriber.", g->channels },
	};
	const struct metrics_series redis[] = {
		{ "ws_redis_up", "gauge", "Whether the Redis link is up.", (unsigned long long)g->redis },
	};
	const struct metrics_series db[] = {
		{ "ws_db_up", "gauge", "Whether a database connection is ready.", (unsigned long long)g->database },
		{ "ws_db_connections_ready", "gauge", "Pool connections ready.", g->db.ready },
		{ "ws_db_queries_total", "counter", "Queries sent to the database.", g->db.queries },
		{ "ws_db_failures_total", "counter", "Queries the database did not answer (down, error, timeout).", g->db.failures },
		{ "ws_db_timeouts_total", "counter", "Queries past WS_DB_TIMEOUT_MS.", g->db.timeouts },
		{ "ws_db_connects_total", "counter", "Connections that became ready.", g->db.connects },
	};
	const struct metrics_series rules[] = {
		{ "ws_rules_cache_hits_total", "counter", "Channel rule answers taken from the cache.", g->rules.hits },
		{ "ws_rules_cache_misses_total", "counter", "Channel rule answers asked of the database.", g->rules.misses },
		{ "ws_rules_coalesced_total", "counter", "Rule checks that joined the same query in flight.", g->rules.coalesced },
		{ "ws_rules_cached", "gauge", "Channel rule answers held in the cache.", g->rules.cached },
	};
	char	*out = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&out, &len)) == NULL)
		return NULL;
	metrics_write(f, base, METRICS_N(base));
	if (g->redis >= 0)
		metrics_write(f, redis, METRICS_N(redis));
	if (g->database >= 0)
		metrics_write(f, db, METRICS_N(db));
	metrics_write(f, rules, METRICS_N(rules));
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

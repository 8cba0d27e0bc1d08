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

char *
metrics_render(const struct metrics_gauges *g)
{
	char	*out = NULL;
	size_t	 len = 0;
	FILE	*f;

	f = open_memstream(&out, &len);
	if (f == NULL)
		return NULL;
	fprintf(f,
	    "# HELP ws_active_connections Open authenticated WebSocket connections.\n"
	    "# TYPE ws_active_connections gauge\n"
	    "ws_active_connections %llu\n"
	    "# HELP ws_total_connections WebSocket connections upgraded.\n"
	    "# TYPE ws_total_connections counter\n"
	    "ws_total_connections %llu\n"
	    "# HELP ws_total_messages Messages received from clients.\n"
	    "# TYPE ws_total_messages counter\n"
	    "ws_total_messages %llu\n"
	    "# HELP ws_auth_failures Connections refused for a bad token.\n"
	    "# TYPE ws_auth_failures counter\n"
	    "ws_auth_failures %llu\n"
	    "# HELP ws_errors Errors (bad input, slow consumers, publish failures).\n"
	    "# TYPE ws_errors counter\n"
	    "ws_errors %llu\n"
	    "# HELP ws_deliveries_total Event frames queued to sockets.\n"
	    "# TYPE ws_deliveries_total counter\n"
	    "ws_deliveries_total %llu\n"
	    "# HELP ws_events_total Events fanned out to local subscribers.\n"
	    "# TYPE ws_events_total counter\n"
	    "ws_events_total %llu\n"
	    "# HELP ws_slow_consumer_closes_total Sockets closed for a send queue over its cap.\n"
	    "# TYPE ws_slow_consumer_closes_total counter\n"
	    "ws_slow_consumer_closes_total %llu\n"
	    "# HELP ws_subscriptions Channel subscriptions of open sockets.\n"
	    "# TYPE ws_subscriptions gauge\n"
	    "ws_subscriptions %llu\n"
	    "# HELP ws_channels Channel keys with a local subscriber.\n"
	    "# TYPE ws_channels gauge\n"
	    "ws_channels %llu\n",
	    (unsigned long long)g->active_connections,
	    (unsigned long long)metrics.total_connections,
	    (unsigned long long)metrics.total_messages,
	    (unsigned long long)metrics.auth_failures,
	    (unsigned long long)metrics.errors,
	    (unsigned long long)metrics.deliveries,
	    (unsigned long long)metrics.events,
	    (unsigned long long)metrics.slow_closes,
	    (unsigned long long)g->subscriptions,
	    (unsigned long long)g->channels);
	if (g->redis >= 0)
		fprintf(f,
		    "# HELP ws_redis_up Whether the Redis link is up.\n"
		    "# TYPE ws_redis_up gauge\n"
		    "ws_redis_up %d\n", g->redis);
	if (g->database >= 0)
		fprintf(f,
		    "# HELP ws_db_up Whether a database connection is ready.\n"
		    "# TYPE ws_db_up gauge\n"
		    "ws_db_up %d\n"
		    "# HELP ws_db_connections_ready Pool connections ready.\n"
		    "# TYPE ws_db_connections_ready gauge\n"
		    "ws_db_connections_ready %u\n"
		    "# HELP ws_db_queries_total Queries sent to the database.\n"
		    "# TYPE ws_db_queries_total counter\n"
		    "ws_db_queries_total %llu\n"
		    "# HELP ws_db_failures_total Queries the database did not answer (down, error, timeout).\n"
		    "# TYPE ws_db_failures_total counter\n"
		    "ws_db_failures_total %llu\n"
		    "# HELP ws_db_timeouts_total Queries past WS_DB_TIMEOUT_MS.\n"
		    "# TYPE ws_db_timeouts_total counter\n"
		    "ws_db_timeouts_total %llu\n"
		    "# HELP ws_db_connects_total Connections that became ready.\n"
		    "# TYPE ws_db_connects_total counter\n"
		    "ws_db_connects_total %llu\n",
		    g->database, g->db.ready,
		    (unsigned long long)g->db.queries,
		    (unsigned long long)g->db.failures,
		    (unsigned long long)g->db.timeouts,
		    (unsigned long long)g->db.connects);
	fprintf(f,
	    "# HELP ws_rules_cache_hits_total Channel rule answers taken from the cache.\n"
	    "# TYPE ws_rules_cache_hits_total counter\n"
	    "ws_rules_cache_hits_total %llu\n"
	    "# HELP ws_rules_cache_misses_total Channel rule answers asked of the database.\n"
	    "# TYPE ws_rules_cache_misses_total counter\n"
	    "ws_rules_cache_misses_total %llu\n"
	    "# HELP ws_rules_coalesced_total Rule checks that joined the same query in flight.\n"
	    "# TYPE ws_rules_coalesced_total counter\n"
	    "ws_rules_coalesced_total %llu\n"
	    "# HELP ws_rules_cached Channel rule answers held in the cache.\n"
	    "# TYPE ws_rules_cached gauge\n"
	    "ws_rules_cached %llu\n",
	    (unsigned long long)g->rules.hits,
	    (unsigned long long)g->rules.misses,
	    (unsigned long long)g->rules.coalesced,
	    (unsigned long long)g->rules.cached);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

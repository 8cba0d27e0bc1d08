/*
 * The worker's counters and their Prometheus text rendering (SPEC §4.9):
 * the Node fonana-ws names plus deliveries, Redis link and subscriptions,
 * the database link and the channel rules' cache.
 */
#ifndef WSD_METRICS_H
#define WSD_METRICS_H

#include <stdint.h>

#include "pg.h"
#include "rules.h"

struct metrics {
	uint64_t	total_connections;	/* WebSocket upgrades */
	uint64_t	total_messages;		/* client messages received */
	uint64_t	auth_failures;
	uint64_t	errors;			/* bad input, slow consumers, … */
	uint64_t	deliveries;		/* event frames queued to sockets */
	uint64_t	events;			/* events fanned out */
	uint64_t	slow_closes;		/* send queue over its cap */
};

extern struct metrics metrics;

/* Live values the counters don't hold. */
struct metrics_gauges {
	uint64_t	active_connections;
	uint64_t	subscriptions;		/* (socket, key) pairs */
	uint64_t	channels;		/* keys with a local subscriber */
	int		redis;			/* 1 up, 0 down, -1 not configured */
	int		database;		/* likewise, DATABASE_URL */
	struct pg_stats	db;
	struct rules_stats rules;
};

/* The exposition text, malloc'd; NULL on ENOMEM. */
char	*metrics_render(const struct metrics_gauges *);
/* "up", "down" or "none". */
const char *metrics_link_name(int);

#endif

/*
 * Who may subscribe to a channel (SPEC §4.10): each channel type's rule —
 * `owner`, `public` or `sql:QUERY` run against the application's database
 * — from the environment over fonana's defaults, and the short-lived cache
 * of database answers per (user, channel), with one query in flight per
 * (user, channel) however many sockets ask.
 */
#ifndef WSD_RULES_H
#define WSD_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "channels.h"

enum rules_verdict {
	RULES_ALLOW,
	RULES_DENY,
	RULES_FAIL,	/* the database could not answer: fail closed */
	RULES_PENDING,	/* the callback will say */
};

struct rules_config {
	uint64_t	cache_ms;	/* WS_RULES_CACHE_MS */
	size_t		cache_max;	/* WS_RULES_CACHE_MAX */
};

struct rules_stats {
	uint64_t	hits;		/* answered from the cache */
	uint64_t	misses;		/* a query was sent */
	uint64_t	coalesced;	/* joined a query in flight */
	uint64_t	cached;		/* answers held now */
};

typedef void	(*rules_done_cb)(void *arg, enum rules_verdict);

/*
 * Read WS_RULES_FILE and WS_RULE_<TYPE> over the defaults and register the
 * SQL rules with pg (before pg_init).  -1 with *err (malloc'd, naming the
 * variable) for a bad rule.  `have_db`: whether DATABASE_URL is set.
 */
int	rules_configure(const struct rules_config *, int have_db, char **err);
void	rules_shutdown(void);
/*
 * May `user` subscribe to `ref`?  ALLOW, DENY or FAIL at once, or PENDING
 * and `cb` is called later (never from inside rules_check).  With a NULL
 * `cb`, PENDING only says the database must be asked: nothing is started.
 */
enum rules_verdict rules_check(const struct channel_ref *, const char *user,
	    rules_done_cb cb, void *arg);
/* An owner rule lets only the owner unsubscribe too (answers at once). */
int	rules_may_leave(const struct channel_ref *, const char *user);
void	rules_get_stats(struct rules_stats *);

#endif

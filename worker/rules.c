/* Channel rules from the configuration and the cache of the database's answers. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "pg.h"
#include "rules.h"

extern char **environ;

enum rules_kind {
	RULES_OWNER,	/* the channel's id is the token's user */
	RULES_PUBLIC,	/* any authenticated user */
	RULES_SQL,	/* the database says, one boolean row */
};

struct rules_rule {
	enum rules_kind	 kind;
	int		 stmt;		/* RULES_SQL: pg's handle, -1 without DB */
	char		*origin;	/* where it was set, for logs and errors */
	const char	*sql;		/* RULES_SQL, while configuring: the query */
};

/* A caller waiting for a query in flight. */
struct rules_waiter {
	struct rules_waiter	*next;
	rules_done_cb		 cb;
	void			*arg;
};

/*
 * One (type, user, id): in flight (its waiters attached) or answered
 * (on the age list, oldest first, until it expires or is evicted).
 */
struct rules_entry {
	struct rules_entry	*hnext;
	struct rules_entry	*anext, *aprev;
	struct rules_waiter	*waiters, **wtail;
	uint64_t		 expires;
	uint32_t		 hash;
	uint8_t			 pending;
	uint8_t			 allow;
	size_t			 keylen;
	char			 key[];	/* type NUL user NUL id */
};

static struct {
	struct rules_config	 conf;
	struct rules_rule	*rules;
	size_t			 nrules;
	struct rules_entry	**table;
	size_t			 size;		/* buckets, a power of two */
	struct rules_entry	*ahead, *atail;	/* answered, oldest first */
	struct rules_stats	 stats;
} rules;

/* Monotonic: answers expire in the order they were given. */
static uint64_t
rules_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "owner", "public" or "sql:QUERY" into `r`; -1 when none of them. */
static int
rules_parse(const char *text, const char *origin, struct rules_rule *r,
    int have_db, char **err)
{
	const char	*sql;

	r->stmt = -1;
	if ((r->origin = strdup(origin)) == NULL)
		return -1;
	if (strcmp(text, "owner") == 0) {
		r->kind = RULES_OWNER;
		return 0;
	}
	if (strcmp(text, "public") == 0) {
		r->kind = RULES_PUBLIC;
		return 0;
	}
	if (strncmp(text, "sql:", 4) == 0) {
		for (sql = text + 4; isspace((unsigned char)*sql); sql++)
			;
		if (*sql == '\0') {
			if (asprintf(err, "%s: empty SQL query", origin) < 0)
				*err = NULL;
			return -1;
		}
		r->kind = RULES_SQL;
		r->sql = sql;
		if (have_db && (r->stmt = pg_statement(sql, r->origin)) < 0) {
			if (asprintf(err, "%s: too many SQL rules", origin) < 0)
				*err = NULL;
			return -1;
		}
		return 0;
	}
	if (asprintf(err, "%s: expected owner, public or sql:QUERY, got "
	    "\"%.40s\"", origin, text) < 0)
		*err = NULL;
	return -1;
}

/* WS_RULE_<TYPE> for `type`. */
static void
rules_var(const char *type, char *buf, size_t len)
{
	size_t	i, n;

	n = (size_t)snprintf(buf, len, "WS_RULE_");
	for (i = 0; type[i] != '\0' && n + 1 < len; i++)
		buf[n++] = (char)toupper((unsigned char)type[i]);
	buf[n] = '\0';
}

/* The rules file: {"post":"sql:…","creator":"public"}, types by name. */
static json_t *
rules_file(const char *path, char **err)
{
	json_error_t	 je;
	json_t		*v, *x;
	const char	*k;
	size_t		 i;

	if ((v = json_load_file(path, 0, &je)) == NULL) {
		if (asprintf(err, "WS_RULES_FILE=%s: line %d: %s", path,
		    je.line, je.text) < 0)
			*err = NULL;
		return NULL;
	}
	if (!json_is_object(v)) {
		if (asprintf(err, "WS_RULES_FILE=%s: expected an object of "
		    "channel type → rule", path) < 0)
			*err = NULL;
		json_decref(v);
		return NULL;
	}
	json_object_foreach(v, k, x) {
		for (i = 0; i < channels_count(); i++) {
			if (strcmp(channels_type(i), k) == 0)
				break;
		}
		if (i == channels_count() || !json_is_string(x)) {
			if (asprintf(err, "WS_RULES_FILE=%s: \"%s\": %s", path,
			    k, i == channels_count() ? "no such channel type" :
			    "the rule must be a string") < 0)
				*err = NULL;
			json_decref(v);
			return NULL;
		}
	}
	return v;
}

/* A WS_RULE_ variable for no channel type is a typo, not a no-op. */
static int
rules_unknown_vars(char **err)
{
	char	 var[64];
	size_t	 i, n;
	char	**e;

	for (e = environ; *e != NULL; e++) {
		if (strncmp(*e, "WS_RULE_", 8) != 0)
			continue;
		n = strcspn(*e, "=");
		for (i = 0; i < channels_count(); i++) {
			rules_var(channels_type(i), var, sizeof var);
			if (strlen(var) == n && strncmp(*e, var, n) == 0)
				break;
		}
		if (i == channels_count()) {
			if (asprintf(err, "%.*s: no such channel type", (int)n,
			    *e) < 0)
				*err = NULL;
			return -1;
		}
	}
	return 0;
}

static void
rules_log(size_t i, int have_db)
{
	const struct rules_rule	*r = &rules.rules[i];
	static const char	*kinds[] = {
		[RULES_OWNER] = "owner", [RULES_PUBLIC] = "public",
		[RULES_SQL] = "sql",
	};

	if (r->kind == RULES_SQL && !have_db) {
		log_json(LOG_ERROR, json_pack("{s:s,s:s}", "channel",
		    channels_type(i), "rule", r->origin),
		    "this rule needs DATABASE_URL, which is not set: every "
		    "subscribe to this channel type is refused");
	} else if (r->kind == RULES_PUBLIC &&
	    strncmp(channels_default_rule(i), "sql:", 4) == 0) {
		/* today's behaviour for posts, taken on purpose: say it loud */
		log_json(LOG_WARN, json_pack("{s:s,s:s}", "channel",
		    channels_type(i), "rule", r->origin),
		    "channel type is public: any authenticated user may "
		    "subscribe to any of them, paid ones included");
	} else {
		log_json(LOG_INFO, json_pack("{s:s,s:s,s:s,s:s?}", "channel",
		    channels_type(i), "rule", kinds[r->kind], "from",
		    r->origin, "sql", r->sql), "channel rule");
	}
}

int
rules_configure(const struct rules_config *conf, int have_db, char **err)
{
	const char	*path, *text, *origin;
	char		 var[64], where[96];
	json_t		*file = NULL;
	size_t		 i;
	int		 r = 0;

	*err = NULL;
	rules.conf = *conf;
	for (rules.size = 64; rules.size < conf->cache_max && rules.size <
	    (1u << 20); rules.size *= 2)
		;
	rules.table = calloc(rules.size, sizeof *rules.table);
	rules.nrules = channels_count();
	rules.rules = calloc(rules.nrules, sizeof *rules.rules);
	if (rules.table == NULL || rules.rules == NULL)
		return -1;
	if (rules_unknown_vars(err) != 0)
		return -1;
	path = getenv("WS_RULES_FILE");
	if (path != NULL && *path != '\0' &&
	    (file = rules_file(path, err)) == NULL)
		return -1;
	for (i = 0; i < rules.nrules && r == 0; i++) {
		rules_var(channels_type(i), var, sizeof var);
		text = getenv(var);
		origin = var;
		if (text == NULL && file != NULL && (text = json_string_value(
		    json_object_get(file, channels_type(i)))) != NULL) {
			snprintf(where, sizeof where, "WS_RULES_FILE \"%s\"",
			    channels_type(i));
			origin = where;
		}
		if (text == NULL) {
			text = channels_default_rule(i);
			origin = "default";
		}
		r = rules_parse(text, origin, &rules.rules[i], have_db, err);
		if (r == 0)
			rules_log(i, have_db);
		rules.rules[i].sql = NULL;	/* may point into the file */
	}
	json_decref(file);
	return r;
}

static uint32_t
rules_hash(const char *key, size_t len)
{
	uint32_t	h = 5381;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h << 5) + h + (unsigned char)key[i];
	return h ^ (h >> 16);
}

static struct rules_entry **
rules_slot(const char *key, size_t len, uint32_t h)
{
	struct rules_entry	**pp;

	for (pp = &rules.table[h & (rules.size - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if ((*pp)->hash == h && (*pp)->keylen == len &&
		    memcmp((*pp)->key, key, len) == 0)
			break;
	}
	return pp;
}

static void
rules_age_unlink(struct rules_entry *e)
{
	if (e->aprev != NULL)
		e->aprev->anext = e->anext;
	else
		rules.ahead = e->anext;
	if (e->anext != NULL)
		e->anext->aprev = e->aprev;
	else
		rules.atail = e->aprev;
	e->anext = e->aprev = NULL;
	rules.stats.cached--;
}

/* Unhash and free an entry (its waiters are already served). */
static void
rules_entry_free(struct rules_entry *e)
{
	struct rules_entry	**pp = rules_slot(e->key, e->keylen, e->hash);

	if (*pp == e)
		*pp = e->hnext;
	if (!e->pending)
		rules_age_unlink(e);
	free(e);
}

/* Expired answers, and the oldest beyond the cap, go. */
static void
rules_trim(uint64_t now)
{
	while (rules.ahead != NULL && (rules.ahead->expires <= now ||
	    rules.stats.cached > rules.conf.cache_max))
		rules_entry_free(rules.ahead);
}

static void
rules_answer_cb(void *arg, json_t *rows)
{
	struct rules_entry	*e = arg;
	struct rules_waiter	*w, *next;
	enum rules_verdict	 v;
	json_t			*row, *val;
	const char		*k;

	v = RULES_FAIL;
	if (rows != NULL) {
		v = RULES_DENY;
		row = json_array_get(rows, 0);
		val = NULL;
		json_object_foreach(row, k, val)
			break;	/* the first column */
		if (json_is_true(val))
			v = RULES_ALLOW;
	}
	w = e->waiters;
	e->waiters = NULL;
	/* settled before anyone is told: a waiter may ask again at once */
	if (v == RULES_FAIL || rules.conf.cache_ms == 0) {
		rules_entry_free(e);
	} else {
		e->pending = 0;
		e->allow = v == RULES_ALLOW;
		e->expires = rules_now_ms() + rules.conf.cache_ms;
		e->aprev = rules.atail;
		if (rules.atail != NULL)
			rules.atail->anext = e;
		else
			rules.ahead = e;
		rules.atail = e;
		rules.stats.cached++;
		rules_trim(0);
	}
	for (; w != NULL; w = next) {
		next = w->next;
		w->cb(w->arg, v);
		free(w);
	}
}

enum rules_verdict
rules_check(const struct channel_ref *ref, const char *user,
    rules_done_cb cb, void *arg)
{
	const struct rules_rule	*r = &rules.rules[ref->type];
	struct rules_entry	**pp, *e;
	struct rules_waiter	*w;
	const char		*params[2];
	char			 key[3 * CHANNEL_KEY_MAX];
	size_t			 len;
	uint32_t		 h;
	int			 n;

	switch (r->kind) {
	case RULES_OWNER:
		return user != NULL && strcmp(ref->id, user) == 0 ?
		    RULES_ALLOW : RULES_DENY;
	case RULES_PUBLIC:
		return RULES_ALLOW;
	case RULES_SQL:
		break;
	}
	if (r->stmt < 0 || user == NULL)
		return RULES_FAIL;
	n = snprintf(key, sizeof key, "%zu%c%s%c%s", ref->type, '\0', user,
	    '\0', ref->id);
	if (n < 0 || (size_t)n >= sizeof key)
		return RULES_FAIL;
	len = (size_t)n;
	h = rules_hash(key, len);
	rules_trim(rules_now_ms());
	pp = rules_slot(key, len, h);
	if ((e = *pp) != NULL && !e->pending) {
		rules.stats.hits++;
		return e->allow ? RULES_ALLOW : RULES_DENY;
	}
	if (cb == NULL)
		return RULES_PENDING;	/* the caller only asked */
	if ((w = malloc(sizeof *w)) == NULL)
		return RULES_FAIL;
	w->next = NULL;
	w->cb = cb;
	w->arg = arg;
	if (e != NULL) {
		rules.stats.coalesced++;
		*e->wtail = w;
		e->wtail = &w->next;
		return RULES_PENDING;
	}
	if ((e = calloc(1, sizeof *e + len)) == NULL) {
		free(w);
		return RULES_FAIL;
	}
	memcpy(e->key, key, len);
	e->keylen = len;
	e->hash = h;
	e->pending = 1;
	e->waiters = w;
	e->wtail = &w->next;
	params[0] = user;
	params[1] = ref->id;
	if (pg_query(r->stmt, params, 2, rules_answer_cb, e) != 0) {
		free(w);
		free(e);
		return RULES_FAIL;
	}
	rules.stats.misses++;
	e->hnext = *pp;
	*pp = e;
	return RULES_PENDING;
}

int
rules_may_leave(const struct channel_ref *ref, const char *user)
{
	if (rules.rules[ref->type].kind != RULES_OWNER)
		return 1;
	return user != NULL && strcmp(ref->id, user) == 0;
}

void
rules_get_stats(struct rules_stats *st)
{
	*st = rules.stats;
}

void
rules_shutdown(void)
{
	size_t	i;

	while (rules.ahead != NULL)
		rules_entry_free(rules.ahead);
	for (i = 0; i < rules.nrules; i++)
		free(rules.rules[i].origin);
	free(rules.rules);
	free(rules.table);
	rules.rules = NULL;
	rules.table = NULL;
	rules.nrules = 0;
}

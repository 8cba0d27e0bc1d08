/* The key → subscribers index and the fan-out of events to local sockets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "frame.h"
#include "history.h"
#include "hub.h"
#include "log.h"
#include "metrics.h"
#include "session.h"

struct hub_entry {
	struct hub_entry	*next;		/* hash chain */
	struct hub_sub		*subs;		/* subscribers of this key */
	uint32_t		 hash;
	uint32_t		 nsubs;
	size_t			 keylen;
	char			 key[];
};

/* One (session, key) pair: on the key's list and on the session's. */
struct hub_sub {
	struct hub_sub		*enext;
	struct hub_sub		**eprev;
	struct hub_entry	*e;
	struct session		*s;
	struct hub_sub		*snext;
};

static struct bus	 *hub_bus;
static struct hub_entry	**hub_table;
static size_t		  hub_size;	/* buckets, a power of two */
static size_t		  hub_nkeys;
static size_t		  hub_nsubs;

static uint32_t
hub_hash(const char *key, size_t len)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h;
}

void
hub_set_bus(struct bus *bus)
{
	hub_bus = bus;
}

static struct hub_entry *
hub_find(const char *key, size_t len, uint32_t h)
{
	struct hub_entry	*e;

	if (hub_size == 0)
		return NULL;
	for (e = hub_table[h & (hub_size - 1)]; e != NULL; e = e->next) {
		if (e->hash == h && e->keylen == len &&
		    memcmp(e->key, key, len) == 0)
			return e;
	}
	return NULL;
}

static int
hub_grow(void)
{
	struct hub_entry	**nt, *e, *next;
	size_t			  nsize, i;

	nsize = hub_size ? hub_size * 2 : 256;
	nt = calloc(nsize, sizeof *nt);
	if (nt == NULL)
		return -1;
	for (i = 0; i < hub_size; i++) {
		for (e = hub_table[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nt[e->hash & (nsize - 1)];
			nt[e->hash & (nsize - 1)] = e;
		}
	}
	free(hub_table);
	hub_table = nt;
	hub_size = nsize;
	return 0;
}

static struct hub_entry *
hub_entry_get(const char *key)
{
	struct hub_entry	*e;
	size_t			 len = strlen(key);
	uint32_t		 h = hub_hash(key, len);

	if ((e = hub_find(key, len, h)) != NULL)
		return e;
	if (hub_nkeys >= hub_size && hub_grow() != 0)
		return NULL;
	e = malloc(sizeof *e + len + 1);
	if (e == NULL)
		return NULL;
	e->hash = h;
	e->subs = NULL;
	e->nsubs = 0;
	e->keylen = len;
	memcpy(e->key, key, len + 1);
	e->next = hub_table[h & (hub_size - 1)];
	hub_table[h & (hub_size - 1)] = e;
	hub_nkeys++;
	if (hub_bus != NULL)
		bus_subscribe(hub_bus, e->key);
	return e;
}

static void
hub_entry_release(struct hub_entry *e)
{
	struct hub_entry	**pp;

	if (e->nsubs > 0)
		return;
	for (pp = &hub_table[e->hash & (hub_size - 1)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	hub_nkeys--;
	if (hub_bus != NULL)
		bus_unsubscribe(hub_bus, e->key);
	free(e);
}

int
hub_subscribe(struct hub_sub **list, struct session *s, const char *key)
{
	struct hub_sub		*sub;
	struct hub_entry	*e;

	for (sub = *list; sub != NULL; sub = sub->snext) {
		if (strcmp(sub->e->key, key) == 0)
			return 0;
	}
	if ((sub = malloc(sizeof *sub)) == NULL)
		return -1;
	if ((e = hub_entry_get(key)) == NULL) {
		free(sub);
		return -1;
	}
	sub->e = e;
	sub->s = s;
	sub->enext = e->subs;
	if (e->subs != NULL)
		e->subs->eprev = &sub->enext;
	sub->eprev = &e->subs;
	e->subs = sub;
	e->nsubs++;
	sub->snext = *list;
	*list = sub;
	hub_nsubs++;
	return 1;
}

static void
hub_sub_free(struct hub_sub *sub)
{
	struct hub_entry	*e = sub->e;

	*sub->eprev = sub->enext;
	if (sub->enext != NULL)
		sub->enext->eprev = sub->eprev;
	e->nsubs--;
	hub_nsubs--;
	free(sub);
	hub_entry_release(e);
}

int
hub_unsubscribe(struct hub_sub **list, const char *key)
{
	struct hub_sub	**pp, *sub;

	for (pp = list; (sub = *pp) != NULL; pp = &sub->snext) {
		if (strcmp(sub->e->key, key) == 0) {
			*pp = sub->snext;
			hub_sub_free(sub);
			return 1;
		}
	}
	return 0;
}

void
hub_unsubscribe_all(struct hub_sub **list)
{
	struct hub_sub	*sub;

	while ((sub = *list) != NULL) {
		*list = sub->snext;
		hub_sub_free(sub);
	}
}

size_t
hub_publish(const char *key, size_t keylen, const char *payload, size_t len)
{
	struct hub_entry	*e;
	struct hub_sub		*sub, *next;
	struct frame		*f;
	struct history_pos	 pos;
	char			*plain = NULL;
	size_t			 n = 0;

	e = hub_find(key, keylen, hub_hash(key, keylen));
	if (e == NULL || e->nsubs == 0)
		return 0;
	/* Published with a position: plain sockets get the event as sent. */
	if (history_parse(payload, len, &pos)) {
		if ((plain = malloc(pos.cut + 1)) == NULL) {
			log_error("out of memory framing an event");
			metrics.errors++;
			return 0;
		}
		len = history_plain(payload, &pos, plain);
		payload = plain;
	}
	f = frame_new(payload, len);
	free(plain);
	if (f == NULL) {
		log_error("out of memory framing an event");
		metrics.errors++;
		return 0;
	}
	metrics.events++;
	/*
	 * A session cut for a slow consumer leaves this list while we walk
	 * it (its subscriptions stay until lws closes it), so take next
	 * first anyway.
	 */
	for (sub = e->subs; sub != NULL; sub = next) {
		next = sub->enext;
		if (session_send(sub->s, f) == 0)
			n++;
	}
	metrics.deliveries += n;
	frame_unref(f);
	return n;
}

int
hub_publish_out(const char *key, const char *payload, size_t len,
    size_t *receivers, bus_publish_cb cb, void *arg)
{
	if (hub_bus != NULL) {
		bus_publish(hub_bus, key, payload, len, cb, arg);
		return 0;
	}
	*receivers = hub_publish(key, strlen(key), payload, len);
	return 1;
}

void
hub_each_key(void *arg, bus_put_key put, void *ctx)
{
	struct hub_entry	*e;
	size_t			 i;

	(void)arg;
	for (i = 0; i < hub_size; i++)
		for (e = hub_table[i]; e != NULL; e = e->next)
			put(ctx, e->key, e->keylen);
}

int
hub_has_key(const char *key, size_t keylen)
{
	return hub_find(key, keylen, hub_hash(key, keylen)) != NULL;
}

size_t
hub_subscription_count(void)
{
	return hub_nsubs;
}

size_t
hub_channel_count(void)
{
	return hub_nkeys;
}

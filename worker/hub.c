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

struct hub_entry {
	struct hub_entry	*next;		/* hash chain */
	struct hub_sub		*subs;		/* subscribers of this key */
	struct hub_sub		*psubs;		/* those that asked for positions */
	uint32_t		 hash;
	uint32_t		 nsubs;
	size_t			 keylen;
	char			 key[];
};

/*
 * One (session, key) pair: on the key's list and on the session's.  A
 * subscriber with positions is a struct hub_psub, on the key's psubs list,
 * and its `s` carries HUB_POS in its low bit: plain subscribers, almost
 * all of them, pay nothing for the feature.
 */
struct hub_sub {
	struct hub_sub		*enext;
	struct hub_sub		**eprev;
	struct hub_entry	*e;
	struct session		*s;
	struct hub_sub		*snext;
};

#define HUB_POS		((uintptr_t)1)
/* Live events held per subscriber at most; past it, history has them. */
#define HUB_HELD_MAX	4096

/* A live event held while its subscriber fetches what came before it. */
struct hub_held {
	struct hub_held		*next;
	struct frame		*f;		/* with offset and epoch */
	char			 off[HISTORY_ID_MAX];
	char			 prev[HISTORY_ID_MAX];
	char			 epoch[HISTORY_ID_MAX];
};

/*
 * A history fetch in flight.  Its subscriber may leave meanwhile (ps is
 * then NULL); the fetch frees itself when Redis answers.
 */
struct hub_fetch {
	struct hub_psub		*ps;
	hub_pos_cb		 cb;		/* the first fetch: the reply */
	void			*arg;
};

struct hub_psub {
	struct hub_sub		 sub;
	struct hub_fetch	*fetch;
	struct hub_held		*held, **held_tail;
	uint32_t		 nheld;
	int			 gap;		/* a fetch is owed (link down) */
	char			 last[HISTORY_ID_MAX];	/* "" until known */
	char			 epoch[HISTORY_ID_MAX];
};

static struct bus	 *hub_bus;
static const struct hub_ops *hub_ops;
static struct hub_psub	 *hub_psub_of(struct hub_sub *);
static void		  hub_psub_free(struct hub_psub *);
static void		  hub_held_flush(struct hub_psub *);
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

void
hub_set_ops(const struct hub_ops *ops)
{
	hub_ops = ops;
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
	e->psubs = NULL;
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
	struct hub_psub		*ps = hub_psub_of(sub);

	*sub->eprev = sub->enext;
	if (sub->enext != NULL)
		sub->enext->eprev = sub->eprev;
	e->nsubs--;
	hub_nsubs--;
	if (ps != NULL)
		hub_psub_free(ps);
	else
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

/* --- subscribers with positions --------------------------------------- */

static struct hub_psub *
hub_psub_of(struct hub_sub *sub)
{
	return ((uintptr_t)sub->s & HUB_POS) ? (struct hub_psub *)sub : NULL;
}

static struct session *
hub_psub_session(const struct hub_psub *ps)
{
	return (struct session *)((uintptr_t)ps->sub.s & ~HUB_POS);
}

static int
hub_id_eq(const char *a, const char *b, size_t blen)
{
	return strlen(a) == blen && memcmp(a, b, blen) == 0;
}

/* Copy a position string; -1 when it does not fit. */
static int
hub_id_set(char dst[HISTORY_ID_MAX], const char *src, size_t len)
{
	if (len >= HISTORY_ID_MAX)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static void
hub_held_pop(struct hub_psub *ps)
{
	struct hub_held	*h = ps->held;

	if ((ps->held = h->next) == NULL)
		ps->held_tail = &ps->held;
	ps->nheld--;
	frame_unref(h->f);
	free(h);
}

static void
hub_psub_free(struct hub_psub *ps)
{
	if (ps->fetch != NULL)
		ps->fetch->ps = NULL;	/* the fetch frees itself */
	while (ps->held != NULL)
		hub_held_pop(ps);
	free(ps);
}

static void	hub_fetch_cb(void *, const struct bus_history *);

/* Ask Redis for the key's position and what follows ps->last. */
static int
hub_fetch_start(struct hub_psub *ps, hub_pos_cb cb, void *arg)
{
	struct hub_fetch	*fx;

	if ((fx = calloc(1, sizeof *fx)) == NULL) {
		ps->gap = 1;
		return -1;
	}
	fx->ps = ps;
	fx->cb = cb;
	fx->arg = arg;
	ps->fetch = fx;
	ps->gap = 0;
	bus_history_fetch(hub_bus, ps->sub.e->key, ps->last, hub_fetch_cb, fx);
	return 0;
}

/* Send an event with its position; ps->last moves to it. */
static void
hub_pos_deliver(struct hub_psub *ps, struct frame *f, const char *off,
    size_t offlen)
{
	if (hub_ops->send(hub_psub_session(ps), f) == 0)
		metrics.deliveries++;
	(void)hub_id_set(ps->last, off, offlen);
}

/*
 * Deliver the held live events in order: a duplicate (at or before
 * ps->last) is dropped, the next one in the chain is sent, a gap asks
 * Redis for what is missing (the rest stays held), a new epoch is a
 * resync.
 */
static void
hub_held_flush(struct hub_psub *ps)
{
	struct hub_held	*h;
	int		 c;

	while (ps->fetch == NULL && (h = ps->held) != NULL) {
		if (strcmp(h->epoch, ps->epoch) != 0) {
			/* History was lost (Redis restarted, key deleted). */
			hub_ops->resync(hub_psub_session(ps), ps->sub.e->key);
			(void)hub_id_set(ps->epoch, h->epoch, strlen(h->epoch));
			hub_pos_deliver(ps, h->f, h->off, strlen(h->off));
		} else if (history_cmp(h->off, strlen(h->off), ps->last,
		    strlen(ps->last), &c) == 0 && c <= 0) {
			/* already delivered */
		} else if (strcmp(h->prev, ps->last) == 0)
			hub_pos_deliver(ps, h->f, h->off, strlen(h->off));
		else {
			(void)hub_fetch_start(ps, NULL, NULL);
			return;
		}
		hub_held_pop(ps);
	}
}

static int
hub_held_push(struct hub_psub *ps, const struct history_pos *pos,
    struct frame *pf)
{
	struct hub_held	*h;

	if (ps->nheld >= HUB_HELD_MAX) {
		/* Redis is slow to answer: drop them, the fetch after has them. */
		while (ps->held != NULL)
			hub_held_pop(ps);
		return -1;
	}
	if ((h = malloc(sizeof *h)) == NULL ||
	    hub_id_set(h->off, pos->offset, pos->offsetlen) != 0 ||
	    hub_id_set(h->prev, pos->prev, pos->prevlen) != 0 ||
	    hub_id_set(h->epoch, pos->epoch, pos->epochlen) != 0) {
		free(h);
		return -1;
	}
	h->f = frame_ref(pf);
	h->next = NULL;
	*ps->held_tail = h;
	ps->held_tail = &h->next;
	ps->nheld++;
	return 0;
}

/* A live event for the key's subscribers with positions. */
static size_t
hub_pos_fan_out(struct hub_entry *e, const struct history_pos *pos,
    struct frame *f, struct frame *pf)
{
	struct hub_sub	*sub, *next;
	struct hub_psub	*ps;
	size_t		 n = metrics.deliveries;

	for (sub = e->psubs; sub != NULL; sub = next) {
		next = sub->enext;
		ps = (struct hub_psub *)sub;
		if (pos == NULL) {
			/* a legacy PUBLISH: delivered, without a position */
			if (hub_ops->send(hub_psub_session(ps), f) == 0)
				metrics.deliveries++;
		} else if (ps->fetch == NULL && !ps->gap && ps->held == NULL &&
		    hub_id_eq(ps->epoch, pos->epoch, pos->epochlen) &&
		    hub_id_eq(ps->last, pos->prev, pos->prevlen))
			hub_pos_deliver(ps, pf, pos->offset, pos->offsetlen);
		else {
			if (hub_held_push(ps, pos, pf) != 0) {
				metrics.errors++;
				ps->gap = 1;	/* history has it */
			}
			/* a failed fetch is tried again with the next event */
			if (ps->gap && ps->fetch == NULL && ps->last[0] != '\0')
				(void)hub_fetch_start(ps, NULL, NULL);
			else
				hub_held_flush(ps);
		}
	}
	return metrics.deliveries - n;
}

/* Is what follows `last` in h complete?  The index to resume from, or -1. */
static long
hub_fetch_resume_at(const struct hub_psub *ps, const struct bus_history *h)
{
	if (!hub_id_eq(ps->epoch, h->epoch, h->epochlen))
		return -1;
	if (h->n == 0)
		return hub_id_eq(ps->last, h->last, h->lastlen) ? 0 : -1;
	if (hub_id_eq(ps->last, h->e[0].id, h->e[0].idlen))
		return 1;
	if (hub_id_eq(ps->last, h->e[0].prev, h->e[0].prevlen))
		return 0;
	return -1;	/* trimmed, expired, or lost in a failover */
}

static void
hub_fetch_cb(void *arg, const struct bus_history *h)
{
	struct hub_fetch	*fx = arg;
	struct hub_psub		*ps = fx->ps;
	struct frame		*f;
	char			*buf;
	size_t			 i, len;
	long			 at = 0;
	int			 resync = 0;

	if (ps == NULL || h == NULL || h->epochlen >= HISTORY_ID_MAX ||
	    h->lastlen >= HISTORY_ID_MAX) {
		if (ps != NULL) {
			ps->fetch = NULL;
			ps->gap = 1;	/* fetched again when the link is back */
		}
		if (fx->cb != NULL)
			fx->cb(fx->arg, HUB_POS_FAIL, NULL, NULL);
		free(fx);
		return;
	}
	if (ps->last[0] != '\0' && (at = hub_fetch_resume_at(ps, h)) < 0) {
		resync = 1;
		at = (long)h->n;	/* none of them */
	}
	if (ps->last[0] == '\0' || resync) {
		(void)hub_id_set(ps->last, h->last, h->lastlen);
		(void)hub_id_set(ps->epoch, h->epoch, h->epochlen);
		at = (long)h->n;
	}
	/* The reply first; the socket may leave inside the callback. */
	if (fx->cb != NULL)
		fx->cb(fx->arg, resync ? HUB_POS_RESYNC : HUB_POS_OK,
		    ps->last, ps->epoch);
	else if (resync)
		hub_ops->resync(hub_psub_session(ps), ps->sub.e->key);
	if ((ps = fx->ps) == NULL) {
		free(fx);
		return;
	}
	ps->fetch = NULL;
	free(fx);
	for (i = (size_t)at; i < h->n; i++) {
		len = history_with_pos_len(h->e[i].evlen, h->e[i].idlen,
		    h->epochlen);
		if (h->e[i].evlen == 0 || h->e[i].ev[h->e[i].evlen - 1] != '}')
			f = frame_new(h->e[i].ev, h->e[i].evlen);
		else if ((buf = malloc(len)) == NULL)
			f = NULL;
		else {
			len = history_with_pos(h->e[i].ev, h->e[i].evlen,
			    h->e[i].id, h->e[i].idlen, h->epoch, h->epochlen,
			    buf);
			f = frame_new(buf, len);
			free(buf);
		}
		if (f == NULL) {
			metrics.errors++;
			ps->gap = 1;
			return;
		}
		hub_pos_deliver(ps, f, h->e[i].id, h->e[i].idlen);
		frame_unref(f);
	}
	hub_held_flush(ps);
}

int
hub_subscribe_pos(struct hub_sub **list, struct session *s, const char *key,
    const char *since, const char *epoch, int *added, hub_pos_cb cb,
    void *arg)
{
	struct hub_psub		*ps;
	struct hub_entry	*e;
	int			 c, r, removed;

	if (hub_bus == NULL) {
		r = hub_subscribe(list, s, key);
		*added = r == 1;
		return r < 0 ? -1 : 0;
	}
	removed = hub_unsubscribe(list, key);
	*added = !removed;
	if ((ps = calloc(1, sizeof *ps)) == NULL)
		goto fail;
	ps->held_tail = &ps->held;
	/* A `since` that is not one of ours cannot be honoured: resync. */
	if (since != NULL && epoch != NULL &&
	    history_cmp(since, strlen(since), since, strlen(since), &c) == 0 &&
	    hub_id_set(ps->last, since, strlen(since)) == 0 &&
	    hub_id_set(ps->epoch, epoch, strlen(epoch)) == 0)
		;
	else if (since != NULL || epoch != NULL) {
		strcpy(ps->last, "0-0");
		strcpy(ps->epoch, "-");		/* never an epoch */
	}
	if ((e = hub_entry_get(key)) == NULL) {
		free(ps);
		goto fail;
	}
	ps->sub.e = e;
	ps->sub.s = (struct session *)((uintptr_t)s | HUB_POS);
	ps->sub.enext = e->psubs;
	if (e->psubs != NULL)
		e->psubs->eprev = &ps->sub.enext;
	ps->sub.eprev = &e->psubs;
	e->psubs = &ps->sub;
	e->nsubs++;
	ps->sub.snext = *list;
	*list = &ps->sub;
	hub_nsubs++;
	if (hub_fetch_start(ps, cb, arg) != 0) {
		(void)hub_unsubscribe(list, key);
		goto fail;
	}
	return 1;
fail:
	*added = removed ? -1 : 0;	/* the old subscription is gone */
	return -1;
}

void
hub_repair(void)
{
	struct hub_entry	*e;
	struct hub_sub		*sub;
	struct hub_psub		*ps;
	size_t			 i;

	for (i = 0; i < hub_size; i++)
		for (e = hub_table[i]; e != NULL; e = e->next)
			for (sub = e->psubs; sub != NULL; sub = sub->enext) {
				ps = (struct hub_psub *)sub;
				if (ps->fetch == NULL && ps->last[0] != '\0')
					(void)hub_fetch_start(ps, NULL, NULL);
			}
}

/* Deliver f to the plain subscribers of e; returns how many took it. */
static size_t
hub_fan_out(struct hub_sub *list, struct frame *f)
{
	struct hub_sub	*sub, *next;
	size_t		 n = 0;

	/*
	 * A session cut for a slow consumer leaves this list while we walk
	 * it (its subscriptions stay until lws closes it), so take next
	 * first anyway.
	 */
	for (sub = list; sub != NULL; sub = next) {
		next = sub->enext;
		if (hub_ops->send(sub->s, f) == 0)
			n++;
	}
	return n;
}

size_t
hub_publish(const char *key, size_t keylen, const char *payload, size_t len)
{
	struct hub_entry	*e;
	struct frame		*f, *pf = NULL;
	struct history_pos	 pos;
	char			*buf = NULL;
	size_t			 n = 0, plen;
	int			 has_pos;

	e = hub_find(key, keylen, hub_hash(key, keylen));
	if (e == NULL || e->nsubs == 0)
		return 0;
	/* Published with a position: plain sockets get the event as sent. */
	if ((has_pos = history_parse(payload, len, &pos))) {
		plen = history_positioned_len(&pos);
		if ((buf = malloc(plen > pos.cut + 1 ? plen : pos.cut + 1)) ==
		    NULL)
			goto oom;
		if (e->psubs != NULL) {
			plen = history_positioned(payload, &pos, buf);
			if ((pf = frame_new(buf, plen)) == NULL)
				goto oom;
		}
		len = history_plain(payload, &pos, buf);
		f = frame_new(buf, len);
	} else
		f = frame_new(payload, len);
	if (f == NULL)
		goto oom;
	metrics.events++;
	n = hub_fan_out(e->subs, f);
	metrics.deliveries += n;
	if (e->psubs != NULL)	/* counts its own deliveries */
		n += hub_pos_fan_out(e, has_pos ? &pos : NULL, f, pf);
	frame_unref(f);
	if (pf != NULL)
		frame_unref(pf);
	free(buf);
	return n;
oom:
	log_error("out of memory framing an event");
	metrics.errors++;
	if (pf != NULL)
		frame_unref(pf);
	free(buf);
	return 0;
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

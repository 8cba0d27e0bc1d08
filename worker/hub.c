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
	struct hub_fetch	*fetch;		/* the key's history read in flight */
	uint64_t		 sub_ticket;	/* its SUBSCRIBE until confirmed */
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
 * A key's history read in flight: one per key, whatever the number of its
 * subscribers that wait for it.  Its key may go meanwhile (e is then
 * NULL); the read frees itself when Redis answers.
 */
struct hub_fetch {
	struct hub_entry	*e;
};

/*
 * Where a subscriber with positions stands.  LIVE: events go straight to
 * it.  WANT: it owes a history read (just subscribed, a gap in the chain,
 * the link came back); the key's next read covers it.  FETCH: the read in
 * flight covers it.  Outside LIVE, live events are held.
 */
enum hub_ps_state {
	HUB_PS_LIVE,
	HUB_PS_WANT,
	HUB_PS_FETCH,
};

struct hub_psub {
	struct hub_sub		 sub;
	hub_pos_cb		 cb;		/* the subscribe's reply, until sent */
	void			*arg;
	struct hub_held		*held, **held_tail;
	uint32_t		 nheld;
	uint8_t			 state;		/* enum hub_ps_state */
	uint8_t			 resync;	/* owed before its next event */
	char			 last[HISTORY_ID_MAX];	/* "" until known */
	char			 epoch[HISTORY_ID_MAX];
};

static struct bus	 *hub_bus;
static const struct hub_ops *hub_ops;
static struct hub_psub	 *hub_psub_of(struct hub_sub *);
static void		  hub_psub_free(struct hub_psub *);
static void		  hub_held_flush(struct hub_psub *);
static void		  hub_entry_fetch(struct hub_entry *);
static struct hub_psub	 *hub_current;	/* the one hub_fetch_cb serves */
/* A key's fetch while hub_fetch_cb serves its answer: no new read yet. */
static struct hub_fetch	  hub_serving;
static void		  hub_subscribed_cb(void *, const char *, size_t,
			    uint64_t);
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
	if (bus != NULL)
		bus_on_subscribed(bus, hub_subscribed_cb);
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
	e->fetch = NULL;
	e->sub_ticket = 0;
	e->nsubs = 0;
	e->keylen = len;
	memcpy(e->key, key, len + 1);
	e->next = hub_table[h & (hub_size - 1)];
	hub_table[h & (hub_size - 1)] = e;
	hub_nkeys++;
	if (hub_bus != NULL)
		e->sub_ticket = bus_subscribe(hub_bus, e->key);
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
	if (e->fetch != NULL)
		e->fetch->e = NULL;	/* the read frees itself */
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

static void	hub_fetch_cb(void *, const struct bus_history *);

static void
hub_psub_free(struct hub_psub *ps)
{
	hub_pos_cb	 cb = ps->cb;
	void		*arg = ps->arg;

	if (ps == hub_current)
		hub_current = NULL;	/* hub_fetch_cb must not touch it */
	while (ps->held != NULL)
		hub_held_pop(ps);
	free(ps);
	/* Its reply is owed exactly once: the socket is leaving. */
	if (cb != NULL)
		cb(arg, HUB_POS_FAIL, NULL, NULL);
}

/* Send an event with its position; ps->last moves to it. */
static void
hub_pos_deliver(struct hub_psub *ps, struct frame *f, const char *off,
    size_t offlen)
{
	/* A resync found by a read goes right before the channel's next
	 * event: a client knows by it which channel the new epoch is. */
	if (ps->resync) {
		ps->resync = 0;
		hub_ops->resync(hub_psub_session(ps), ps->sub.e->key);
	}
	if (hub_ops->send(hub_psub_session(ps), f) == 0)
		metrics.deliveries++;
	(void)hub_id_set(ps->last, off, offlen);
}

/* ps owes a history read: the key's next one covers it. */
static void
hub_psub_want(struct hub_psub *ps)
{
	ps->state = HUB_PS_WANT;
	hub_entry_fetch(ps->sub.e);
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

	while (ps->state == HUB_PS_LIVE && (h = ps->held) != NULL) {
		if (strcmp(h->epoch, ps->epoch) != 0) {
			/* History was lost (Redis restarted, key deleted). */
			ps->resync = 1;
			(void)hub_id_set(ps->epoch, h->epoch, strlen(h->epoch));
			hub_pos_deliver(ps, h->f, h->off, strlen(h->off));
		} else if (history_cmp(h->off, strlen(h->off), ps->last,
		    strlen(ps->last), &c) == 0 && c <= 0) {
			/* already delivered */
		} else if (strcmp(h->prev, ps->last) == 0)
			hub_pos_deliver(ps, h->f, h->off, strlen(h->off));
		else {
			hub_psub_want(ps);
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
		/* Redis is slow to answer: drop them, the read after has them. */
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
		} else if (ps->state == HUB_PS_LIVE && ps->held == NULL &&
		    hub_id_eq(ps->epoch, pos->epoch, pos->epochlen) &&
		    hub_id_eq(ps->last, pos->prev, pos->prevlen))
			hub_pos_deliver(ps, pf, pos->offset, pos->offsetlen);
		else if (hub_held_push(ps, pos, pf) != 0) {
			metrics.errors++;
			hub_psub_want(ps);	/* history has it */
		} else if (ps->state == HUB_PS_LIVE)
			hub_held_flush(ps);
		else
			hub_entry_fetch(e);	/* a failed read: again */
	}
	return metrics.deliveries - n;
}

/*
 * Start the key's history read for every subscriber that owes one, from
 * the oldest position among them, unless one is in flight (its answer
 * starts the next) or the key's SUBSCRIBE is not confirmed yet: reading
 * before it could miss an event published in between.
 */
static void
hub_entry_fetch(struct hub_entry *e)
{
	struct hub_sub	*sub;
	struct hub_psub	*ps;
	struct hub_fetch *fx;
	const char	*since = "";
	int		 c, any = 0;

	if (e->fetch != NULL || e->sub_ticket != 0)
		return;
	for (sub = e->psubs; sub != NULL; sub = sub->enext) {
		ps = (struct hub_psub *)sub;
		if (ps->state != HUB_PS_WANT)
			continue;
		any = 1;
		/* "-" is no epoch: such a socket resyncs whatever comes. */
		if (ps->last[0] != '\0' && strcmp(ps->epoch, "-") != 0 &&
		    (since[0] == '\0' || (history_cmp(ps->last,
		    strlen(ps->last), since, strlen(since), &c) == 0 && c < 0)))
			since = ps->last;
	}
	if (!any || (fx = malloc(sizeof *fx)) == NULL)
		return;		/* tried again with the next event */
	fx->e = e;
	e->fetch = fx;
	for (sub = e->psubs; sub != NULL; sub = sub->enext) {
		ps = (struct hub_psub *)sub;
		if (ps->state == HUB_PS_WANT)
			ps->state = HUB_PS_FETCH;
	}
	bus_history_fetch(hub_bus, e->key, since, hub_fetch_cb, fx);
}

/*
 * Where ps resumes in h (entries from the oldest position asked, in
 * order): the index of the first entry after ps->last, or -1 when h
 * cannot prove that nothing is missing after it.
 */
static long
hub_fetch_resume_at(const struct hub_psub *ps, const struct bus_history *h)
{
	size_t	lo = 0, hi = h->n, mid;
	int	c;

	if (!hub_id_eq(ps->epoch, h->epoch, h->epochlen))
		return -1;
	/* The first entry past ps->last. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (history_cmp(h->e[mid].id, h->e[mid].idlen, ps->last,
		    strlen(ps->last), &c) != 0)
			return -1;
		if (c <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0)
		return hub_id_eq(ps->last, h->e[lo - 1].id,
		    h->e[lo - 1].idlen) ? (long)lo : -1;
	if (h->n == 0)
		return hub_id_eq(ps->last, h->last, h->lastlen) ? 0 : -1;
	/* ps->last is older than the read: the chain must reach it. */
	return hub_id_eq(ps->last, h->e[0].prev, h->e[0].prevlen) ? 0 : -1;
}

/* Entry i of h with its position, framed once for every subscriber. */
static struct frame *
hub_fetch_frame(const struct bus_history *h, size_t i, struct frame **fr)
{
	const struct bus_entry	*en = &h->e[i];
	char			*buf;
	size_t			 len;

	if (fr[i] != NULL)
		return fr[i];
	if (en->evlen == 0 || en->ev[en->evlen - 1] != '}')
		return fr[i] = frame_new(en->ev, en->evlen);
	len = history_with_pos_len(en->evlen, en->idlen, h->epochlen,
	    en->idemlen);
	if ((buf = malloc(len)) == NULL)
		return NULL;
	len = history_with_pos(en->ev, en->evlen, en->id, en->idlen,
	    h->epoch, h->epochlen, en->idem, en->idemlen, buf);
	fr[i] = frame_new(buf, len);
	free(buf);
	return fr[i];
}

/* Hand one subscriber its part of the key's read. */
static void
hub_fetch_serve(struct hub_psub *ps, const struct bus_history *h,
    struct frame **fr)
{
	struct frame	*f;
	hub_pos_cb	 cb = ps->cb;
	long		 at = (long)h->n;
	size_t		 i;
	int		 resync = 0;

	ps->state = HUB_PS_LIVE;
	if (ps->last[0] != '\0' && (at = hub_fetch_resume_at(ps, h)) < 0)
		resync = 1;
	if (ps->last[0] == '\0' || resync) {
		(void)hub_id_set(ps->last, h->last, h->lastlen);
		(void)hub_id_set(ps->epoch, h->epoch, h->epochlen);
		at = (long)h->n;
	}
	if (cb != NULL) {
		/* The reply first; the socket may leave inside it. */
		ps->cb = NULL;
		hub_current = ps;
		cb(ps->arg, resync ? HUB_POS_RESYNC : HUB_POS_OK, ps->last,
		    ps->epoch);
		if (hub_current == NULL)
			return;
	} else if (resync)
		ps->resync = 1;
	for (i = (size_t)at; i < h->n; i++) {
		if ((f = hub_fetch_frame(h, i, fr)) == NULL) {
			metrics.errors++;
			ps->state = HUB_PS_WANT;
			return;
		}
		hub_pos_deliver(ps, f, h->e[i].id, h->e[i].idlen);
	}
	hub_held_flush(ps);
}

static void
hub_fetch_cb(void *arg, const struct bus_history *h)
{
	struct hub_fetch	*fx = arg;
	struct hub_entry	*e = fx->e;
	struct hub_sub		*sub, *next;
	struct hub_psub		*ps;
	struct frame		**fr = NULL;
	hub_pos_cb		 cb;
	size_t			 i;
	int			 ok, again = 0;

	free(fx);
	if (e == NULL)
		return;		/* every subscriber left, their replies sent */
	/*
	 * A gap found while serving asks for a read: it waits until every
	 * subscriber of this answer is served, or it would take theirs.
	 */
	e->fetch = &hub_serving;
	ok = h != NULL && h->epochlen < HISTORY_ID_MAX &&
	    h->lastlen < HISTORY_ID_MAX &&
	    (h->n == 0 || (fr = calloc(h->n, sizeof *fr)) != NULL);
	/*
	 * Pinned while its subscribers are served: a reply may make one
	 * leave.  Only that one: a socket has one subscription per key, and
	 * what the reply runs touches that socket alone.
	 */
	e->nsubs++;
	for (sub = e->psubs; sub != NULL; sub = next) {
		next = sub->enext;
		ps = (struct hub_psub *)sub;
		if (ps->state != HUB_PS_FETCH)
			continue;
		if (ok) {
			hub_fetch_serve(ps, h, fr);
			continue;
		}
		/* fetched again when the link is back */
		ps->state = HUB_PS_WANT;
		if ((cb = ps->cb) != NULL) {
			ps->cb = NULL;
			cb(ps->arg, HUB_POS_FAIL, NULL, NULL);
		}
	}
	hub_current = NULL;
	for (i = 0; fr != NULL && i < h->n; i++)
		if (fr[i] != NULL)
			frame_unref(fr[i]);
	free(fr);
	/*
	 * Those that came meanwhile or found a gap read next; after a failed
	 * read only those awaiting their reply (so the link's absence does
	 * not spin: the link coming back repairs the rest).
	 */
	for (sub = e->psubs; sub != NULL; sub = sub->enext) {
		ps = (struct hub_psub *)sub;
		if (ps->state == HUB_PS_WANT && (ok || ps->cb != NULL))
			again = 1;
	}
	e->fetch = NULL;
	e->nsubs--;
	if (again)
		hub_entry_fetch(e);
	hub_entry_release(e);
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
	ps->cb = cb;
	ps->arg = arg;
	/* Its read waits for the key's SUBSCRIBE (or a read in flight). */
	hub_psub_want(ps);
	return 1;
fail:
	*added = removed ? -1 : 0;	/* the old subscription is gone */
	return -1;
}

/*
 * Redis confirmed a SUBSCRIBE of `key`: the history reads that waited for
 * it may start, and miss nothing published since.
 */
static void
hub_subscribed_cb(void *arg, const char *key, size_t keylen, uint64_t ticket)
{
	struct hub_entry	*e = hub_find(key, keylen, hub_hash(key, keylen));

	(void)arg;
	/* An earlier SUBSCRIBE's answer does not count (churned keys). */
	if (e == NULL || e->sub_ticket == 0 || ticket < e->sub_ticket)
		return;
	e->sub_ticket = 0;
	hub_entry_fetch(e);
}

void
hub_link_changed(int up)
{
	struct hub_entry	*e;
	struct hub_sub		*sub;
	struct hub_psub		*ps;
	size_t			 i;

	/*
	 * Up: every key is subscribed again, and whatever was published
	 * while the link was away is in history: one read per key serves
	 * all its subscribers.  Down: the reads waiting for a SUBSCRIBE go
	 * now, and fail, so that no subscribe reply waits for the link.
	 */
	for (i = 0; i < hub_size; i++)
		for (e = hub_table[i]; e != NULL; e = e->next) {
			e->sub_ticket = 0;
			for (sub = e->psubs; up && sub != NULL;
			    sub = sub->enext) {
				ps = (struct hub_psub *)sub;
				if (ps->state == HUB_PS_LIVE &&
				    ps->last[0] != '\0')
					ps->state = HUB_PS_WANT;
			}
			hub_entry_fetch(e);
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
    const char *idem, size_t *receivers, bus_publish_cb cb, void *arg)
{
	if (hub_bus != NULL) {
		bus_publish(hub_bus, key, payload, len, idem, cb, arg);
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

/*
 * The subscription index: channel key → local subscribers.  The first local
 * subscriber of a key subscribes the worker on the bus, the last one leaving
 * unsubscribes it.  An event is framed once and the same buffer is queued
 * to every subscriber.
 */
#ifndef WSD_HUB_H
#define WSD_HUB_H

#include <stddef.h>

#include "bus.h"

struct session;
struct hub_sub;

/* The bus to follow and publish to, or NULL when Redis is not configured. */
void	hub_set_bus(struct bus *);

/*
 * Where events go: the sockets above the hub (session.c, which sets these
 * in session_init, before any subscribe).  send queues a shared frame
 * (reference taken; -1 when not queued), resync tells the socket that
 * key's history was lost.
 */
struct frame;
struct hub_ops {
	int	(*send)(struct session *, struct frame *);
	void	(*resync)(struct session *, const char *key);
};
void	hub_set_ops(const struct hub_ops *);

/*
 * Subscribe `s` (whose subscription list is *list) to `key`: 1 when it was
 * new, 0 when already subscribed, -1 on ENOMEM.
 */
int	hub_subscribe(struct hub_sub **list, struct session *s, const char *key);
/*
 * What the first history fetch of a subscriber with positions found: the
 * channel's current offset and epoch, and whether the socket must resync
 * (its `since` could not be honoured).  Pointers valid during the call.
 */
enum hub_pos_result {
	HUB_POS_OK,
	HUB_POS_RESYNC,
	HUB_POS_FAIL,		/* no answer from Redis (or the socket left) */
};
typedef void (*hub_pos_cb)(void *arg, enum hub_pos_result,
	    const char *offset, const char *epoch);

/*
 * Subscribe `s` to `key` with positions: its events carry "offset" and
 * "epoch".  since/epoch (NULL for none) is where the socket left off.
 * Replaces a subscription to the key it already had: *added is the change
 * in the socket's subscription count (1, 0, or -1 when it failed after
 * removing the old one).  Returns 1: cb(arg, …) runs exactly once, later;
 * the missed events go out after it returns, then the live ones, in order
 * and none twice.  Returns 0 without history (no Redis): subscribed
 * without positions, cb never runs.  -1 on ENOMEM.
 */
int	hub_subscribe_pos(struct hub_sub **list, struct session *s,
	    const char *key, const char *since, const char *epoch,
	    int *added, hub_pos_cb cb, void *arg);
/*
 * The Redis link went up or down (a bus_state_cb's news).  Up: every key
 * with subscribers with positions reads, once, what its subscribers
 * missed meanwhile, and each gets it from its own last offset.
 */
void	hub_link_changed(int up);

/* 1 when removed, 0 when it was not subscribed. */
int	hub_unsubscribe(struct hub_sub **list, const char *key);
void	hub_unsubscribe_all(struct hub_sub **list);

/* Deliver an event for `key` to the local subscribers; returns how many. */
size_t	hub_publish(const char *key, size_t keylen, const char *payload,
	    size_t len);

/*
 * Publish an event from this worker (POST /api/publish).  With a bus it
 * goes to Redis, and every worker's subscribers get it from there (this
 * worker's through hub_publish): returns 0, and cb(arg, ok, receivers)
 * runs exactly once, later, never from inside this call.  Without a bus
 * it goes to the local subscribers at once: returns 1 with *receivers set,
 * and cb never runs.  idem (NULL: none) is the publish's idempotency key,
 * honoured with a bus (bus_publish).
 */
int	hub_publish_out(const char *key, const char *payload, size_t len,
	    const char *idem, size_t *receivers, bus_publish_cb cb, void *arg);

/* The keys with local subscribers, for the bus (a bus_keys_cb). */
void	hub_each_key(void *arg, bus_put_key put, void *ctx);
/* 1 when `key` has local subscribers. */
int	hub_has_key(const char *key, size_t keylen);

size_t	hub_subscription_count(void);
size_t	hub_channel_count(void);

#endif

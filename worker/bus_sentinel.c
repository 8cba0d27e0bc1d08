/*
 * Redis Sentinel for the bus: asking the sentinels where the master is
 * (the query link, one sentinel after another), and watching one of them
 * for +switch-master (the watch link, kept open while the bus lives).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hiredis.h>
#include <async.h>
#include <uv.h>

#include "bus_int.h"
#include "log.h"

static const struct bus_sentinel_ops *bus_sentinel_up;

static void	bus_sentinel_watch_timer_cb(uv_timer_t *);

void
bus_sentinel_set_ops(const struct bus_sentinel_ops *ops)
{
	bus_sentinel_up = ops;
}

/* Open the query link to the next sentinel that takes a connection. */
static void
bus_sentinel_try(struct bus *b)
{
	struct bus_addr	*s;
	char		 why[512];

	while (b->state == BUS_DISCOVER) {
		if (b->query_tried >= b->nsentinels) {
			bus_sentinel_up->fail(b, "no sentinel answered for master '%s'",
			    b->cfg.master_name);
			return;
		}
		s = &b->sentinels[b->query_idx];
		if (bus_link_open(&b->query, s->host, s->port, NULL, why,
		    sizeof(why)) == 0) {
			bus_sentinel_up->deadline_start(b);
			return;
		}
		log_debug("redis: sentinel %s:%d: %s", s->host, s->port, why);
		b->query_idx = (b->query_idx + 1) % b->nsentinels;
		b->query_tried++;
	}
}

void
bus_sentinel_discover(struct bus *b)
{
	b->state = BUS_DISCOVER;
	b->query_tried = 0;
	bus_sentinel_try(b);
}

static void
bus_sentinel_query_failed(struct bus_link *l, const char *why)
{
	struct bus	*b = l->bus;

	if (b->state != BUS_DISCOVER)
		return;
	log_debug("redis: sentinel %s:%d: %s", b->sentinels[b->query_idx].host,
	    b->sentinels[b->query_idx].port, why);
	uv_timer_stop(&b->deadline_timer);
	b->query_idx = (b->query_idx + 1) % b->nsentinels;
	b->query_tried++;
	bus_sentinel_try(b);
}

/* The sentinel named the master: connect there, and start watching. */
static void
bus_sentinel_answer(struct bus_link *l, const redisReply *r)
{
	struct bus	*b = l->bus;
	long long	 port;
	char		 host[256];

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len == 0 || r->element[0]->len >= sizeof(host) ||
	    bus_config_number(r->element[1]->str, r->element[1]->len, 1,
	    65535, &port) == -1) {
		bus_link_error(l, "does not know master '%s'",
		    b->cfg.master_name);
		return;
	}
	memcpy(host, r->element[0]->str, r->element[0]->len);
	host[r->element[0]->len] = '\0';
	bus_link_close(l);
	uv_timer_stop(&b->deadline_timer);
	bus_sentinel_up->set_addr(b, host, (int)port);
	log_debug("redis: sentinel %s:%d says master '%s' is %s",
	    b->sentinels[b->query_idx].host, b->sentinels[b->query_idx].port,
	    b->cfg.master_name, b->addr);
	bus_sentinel_up->connect_start(b);
	if (b->watch.ac == NULL && !uv_is_active(
	    (uv_handle_t *)&b->watch_timer)) {
		b->watch_idx = b->query_idx;
		bus_sentinel_watch_start(b);
	}
}

static void
bus_sentinel_query_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_link	*l = ac->data;
	redisReply	*r = reply;

	(void)priv;
	if (l == NULL || r == NULL)
		return;
	if (r->type == REDIS_REPLY_ERROR)
		bus_link_error(l, "command: %.*s", (int)r->len, r->str);
	else
		bus_sentinel_answer(l, r);
}

static void
bus_sentinel_query_handshake(struct bus_link *l)
{
	const struct bus_config	*c = &l->bus->cfg;
	const char		*argv[3];
	size_t			 lens[3];

	if (c->sentinel_password != NULL)
		bus_link_auth(l, NULL, c->sentinel_password);
	argv[0] = "SENTINEL";
	lens[0] = 8;
	argv[1] = "get-master-addr-by-name";
	lens[1] = strlen(argv[1]);
	argv[2] = c->master_name;
	lens[2] = strlen(c->master_name);
	redisAsyncCommandArgv(l->ac, bus_sentinel_query_cb, NULL, 3, argv,
	    lens);
}

/* The master moved (a +switch-master announcement). */
static void
bus_sentinel_switch(struct bus *b, const char *host, int port)
{
	if (b->state == BUS_CLOSED)
		return;
	if ((b->state == BUS_CONNECT || b->state == BUS_UP) &&
	    b->master_host != NULL && strcmp(b->master_host, host) == 0 &&
	    b->master_port == port)
		return;
	log_info("redis: sentinel: master '%s' switched to %s:%d",
	    b->cfg.master_name, host, port);
	bus_sentinel_up->drop(b, BUS_WAIT);
	bus_sentinel_up->set_addr(b, host, port);
	b->attempt = 0;
	bus_sentinel_up->connect_start(b);
	bus_sentinel_up->notify(b);
}

static void
bus_sentinel_watch_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_link	*l = ac->data;
	struct bus	*b;
	redisReply	*r = reply, *t, *pl;
	char		 msg[600], *f[5], *save = NULL;
	size_t		 n = 0;
	long long	 port;

	(void)priv;
	if (l == NULL || r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements < 3)
		return;
	b = l->bus;
	t = r->element[0];
	pl = r->element[2];
	if (bus_link_reply_is(t, "subscribe")) {
		l->ready = 1;
		b->watch_attempt = 0;
		uv_timer_stop(&b->watch_timer);
		return;
	}
	if (!bus_link_reply_is(t, "message") || pl->type != REDIS_REPLY_STRING ||
	    pl->len >= sizeof(msg))
		return;
	/* "<name> <old-ip> <old-port> <new-ip> <new-port>" */
	memcpy(msg, pl->str, pl->len);
	msg[pl->len] = '\0';
	for (char *p = strtok_r(msg, " ", &save); p != NULL && n < 5;
	    p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 5 || strcmp(f[0], b->cfg.master_name) != 0 ||
	    bus_config_number(f[4], strlen(f[4]), 1, 65535, &port) == -1)
		return;
	bus_sentinel_switch(b, f[3], (int)port);
}

static void
bus_sentinel_watch_handshake(struct bus_link *l)
{
	const struct bus_config	*c = &l->bus->cfg;

	if (c->sentinel_password != NULL)
		bus_link_auth(l, NULL, c->sentinel_password);
	redisAsyncCommand(l->ac, bus_sentinel_watch_cb, NULL,
	    "SUBSCRIBE +switch-master");
}

/* Close the watch link and try the next sentinel after a backoff. */
static void
bus_sentinel_watch_retry(struct bus *b)
{
	if (b->state == BUS_CLOSED)
		return;
	bus_link_close(&b->watch);
	b->watch_idx = (b->watch_idx + 1) % b->nsentinels;
	uv_timer_start(&b->watch_timer, bus_sentinel_watch_timer_cb,
	    bus_sentinel_up->next_delay(b, &b->watch_attempt), 0);
}

void
bus_sentinel_watch_start(struct bus *b)
{
	struct bus_addr	*s = &b->sentinels[b->watch_idx];
	char		 why[512];

	if (b->state == BUS_CLOSED)
		return;
	if (bus_link_open(&b->watch, s->host, s->port, NULL, why,
	    sizeof(why)) == -1) {
		log_debug("redis: sentinel watch %s:%d: %s", s->host, s->port,
		    why);
		bus_sentinel_watch_retry(b);
		return;
	}
	/* The timer is the deadline until the subscription is confirmed. */
	uv_timer_start(&b->watch_timer, bus_sentinel_watch_timer_cb,
	    b->cfg.connect_timeout_ms, 0);
}

static void
bus_sentinel_watch_failed(struct bus_link *l, const char *why)
{
	struct bus	*b = l->bus;

	log_debug("redis: sentinel watch %s:%d: %s",
	    b->sentinels[b->watch_idx].host, b->sentinels[b->watch_idx].port,
	    why);
	bus_sentinel_watch_retry(b);
}

static void
bus_sentinel_watch_timer_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;

	if (b->watch.ac != NULL)
		bus_sentinel_watch_failed(&b->watch, "timed out");
	else
		bus_sentinel_watch_start(b);
}

const struct bus_link_ops bus_sentinel_query_ops = {
	.handshake = bus_sentinel_query_handshake,
	.failed = bus_sentinel_query_failed,
};
const struct bus_link_ops bus_sentinel_watch_ops = {
	.handshake = bus_sentinel_watch_handshake,
	.failed = bus_sentinel_watch_failed,
};

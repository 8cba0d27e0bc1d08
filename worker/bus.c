/*
 * The Redis bus (bus.h): its state machine, the two master links' handshake,
 * pub/sub over them, the heartbeat and the API.  struct bus and the other
 * files of the bus are described in bus_int.h.
 *
 * Liveness: every WS_REDIS_PING_MS the command link publishes to a private
 * heartbeat channel that the subscriber link is subscribed to.  The reply
 * proves the command link alive, the message the subscriber link (PING
 * cannot be used there: hiredis 0.14 mismatches its reply in subscribed
 * mode).  The heartbeat subscription also keeps the link's subscription
 * count above zero, which hiredis 0.14 needs: its context leaves subscribed
 * mode when an UNSUBSCRIBE reply says 0, and then asserts on the reply to a
 * SUBSCRIBE that was already in flight.
 *
 * The bus memory is freed by the close callback of its last timer, so it
 * stays valid until the loop runs again: code that calls out to the user
 * checks for BUS_CLOSED afterwards and touches nothing else.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis.h>
#include <async.h>
#include <uv.h>

#include "bus_int.h"
#include "history.h"
#include "knob.h"
#include "log.h"

#define BUS_CHUNK		1000	/* channels per resubscribing SUBSCRIBE */
#define BUS_HB_MISSES		2	/* heartbeat ticks without an answer */

static void	bus_setup_cb(redisAsyncContext *, void *, void *);
static void	bus_sub_cb(redisAsyncContext *, void *, void *);
static void	bus_pub_cb(redisAsyncContext *, void *, void *);
static void	bus_retry_cb(uv_timer_t *);
static void	bus_deadline_cb(uv_timer_t *);
static void	bus_ping_cb(uv_timer_t *);
static void	bus_fail_cb(uv_timer_t *);
static int	bus_pub_send(struct bus *, struct bus_pub *);
static void	bus_pub_failed(struct bus_pub *);
static void	bus_pub_inflight(struct bus *, struct bus_pub *);

/* --- state ------------------------------------------------------------ */

static void
bus_log_error(struct bus *b, const char *msg)
{
	if (b->last_error != NULL && strcmp(b->last_error, msg) == 0) {
		log_debug("redis: %s", msg);
		return;
	}
	log_warn("redis: %s", msg);
	free(b->last_error);
	b->last_error = strdup(msg);
}

/* Tell the user about a transition; the last thing a handler does. */
void
bus_notify(struct bus *b)
{
	int	 up = b->state == BUS_UP;

	if (b->state == BUS_CLOSED || up == b->reported_up)
		return;
	b->reported_up = up;
	if (b->state_cb != NULL)
		b->state_cb(b->arg, up);
}

static void
bus_check_up(struct bus *b)
{
	if (b->state != BUS_CONNECT || !b->cmd.ready || !b->sub.ready)
		return;
	b->state = BUS_UP;
	b->attempt = 0;
	b->hb_wait = 0;
	b->hb_misses = 0;
	uv_timer_stop(&b->deadline_timer);
	uv_timer_start(&b->ping_timer, bus_ping_cb, b->cfg.ping_ms,
	    b->cfg.ping_ms);
	free(b->last_error);
	b->last_error = NULL;
	log_info("redis: up on %s (%zu subscriptions)", b->addr, b->nkeys);
	bus_notify(b);
}

/* Close the master links and the query, stop their timers. */
void
bus_drop(struct bus *b, enum bus_state next)
{
	b->state = next;
	uv_timer_stop(&b->deadline_timer);
	uv_timer_stop(&b->ping_timer);
	uv_timer_stop(&b->retry_timer);
	bus_link_close(&b->query);
	bus_link_close(&b->cmd);
	bus_link_close(&b->sub);
}

uint64_t
bus_next_delay(const struct bus *b, unsigned *attempt)
{
	uint64_t	 delay;

	delay = bus_backoff_delay(b->cfg.backoff_min_ms, b->cfg.backoff_max_ms,
	    *attempt, arc4random());
	if (*attempt < 32)
		(*attempt)++;
	return delay;
}

void
bus_fail(struct bus *b, const char *fmt, ...)
{
	char		 why[600];
	va_list		 ap;

	if (b->state == BUS_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	bus_drop(b, BUS_WAIT);
	if (b->state == BUS_CLOSED)
		return;
	bus_log_error(b, why);
	uv_timer_start(&b->retry_timer, bus_retry_cb,
	    bus_next_delay(b, &b->attempt), 0);
	bus_notify(b);
}

void
bus_set_addr(struct bus *b, const char *host, int port)
{
	char	*h;

	if ((h = strdup(host)) == NULL)
		return;
	free(b->master_host);
	b->master_host = h;
	b->master_port = port;
	if (strchr(host, ':') != NULL)
		snprintf(b->addr, sizeof(b->addr), "[%s]:%d", host, port);
	else
		snprintf(b->addr, sizeof(b->addr), "%s:%d", host, port);
}

void
bus_deadline_start(struct bus *b)
{
	uv_timer_start(&b->deadline_timer, bus_deadline_cb,
	    b->cfg.connect_timeout_ms, 0);
}

void
bus_connect_start(struct bus *b)
{
	char	 why[512];

	b->state = BUS_CONNECT;
	if (bus_link_open(&b->cmd, b->master_host, b->master_port,
	    b->cfg.unix_path, why, sizeof(why)) == -1 ||
	    bus_link_open(&b->sub, b->master_host, b->master_port,
	    b->cfg.unix_path, why, sizeof(why)) == -1) {
		bus_fail(b, "%s: %s", b->addr, why);
		return;
	}
	bus_deadline_start(b);
}

static void
bus_start(struct bus *b)
{
	if (b->nsentinels > 0)
		bus_sentinel_discover(b);
	else
		bus_connect_start(b);
}

/* --- the master links ------------------------------------------------- */

static void
bus_master_failed(struct bus_link *l, const char *why)
{
	struct bus	*b = l->bus;

	/* Not naming the link keeps repeated failures to one log. */
	if (b->state == BUS_CONNECT || b->state == BUS_UP)
		bus_fail(b, "%s: %s", b->addr, why);
}

/* AUTH, SELECT, then ROLE (Sentinel) or PING, pipelined. */
static void
bus_cmd_handshake(struct bus_link *l)
{
	struct bus		*b = l->bus;
	const struct bus_config	*c = &b->cfg;

	if (c->password != NULL)
		bus_link_auth(l, c->user, c->password);
	if (c->db != 0)
		redisAsyncCommand(l->ac, bus_setup_cb,
		    (void *)(intptr_t)BUS_STEP_SELECT, "SELECT %d", c->db);
	if (b->nsentinels > 0)
		redisAsyncCommand(l->ac, bus_setup_cb,
		    (void *)(intptr_t)BUS_STEP_ROLE, "ROLE");
	else
		redisAsyncCommand(l->ac, bus_setup_cb,
		    (void *)(intptr_t)BUS_STEP_PING, "PING");
}

/* Channel names collected for bus_sub_handshake, sent BUS_CHUNK at a time. */
struct bus_sync {
	struct bus_link	*l;
	size_t		 used;			/* bytes of buf */
	int		 n;			/* names in buf */
	size_t		 off[BUS_CHUNK], len[BUS_CHUNK];
	char		 buf[BUS_CHUNK * 64];
};

static void
bus_sync_send(struct bus_sync *y)
{
	const char	*argv[BUS_CHUNK + 1];
	size_t		 lens[BUS_CHUNK + 1];
	int		 i;

	if (y->n == 0)
		return;
	argv[0] = "SUBSCRIBE";
	lens[0] = 9;
	for (i = 0; i < y->n; i++) {
		argv[i + 1] = y->buf + y->off[i];
		lens[i + 1] = y->len[i];
	}
	redisAsyncCommandArgv(y->l->ac, bus_sub_cb, NULL, y->n + 1, argv,
	    lens);
	y->l->sub_sent += (uint64_t)y->n;
	y->n = 0;
	y->used = 0;
}

/* bus_put_key for bus_sub_handshake: keys are shorter than BUS_KEY_MAX. */
static void
bus_sync_put(void *ctx, const char *key, size_t klen)
{
	struct bus_sync	*y = ctx;
	size_t		 len = BUS_PREFIX_LEN + klen;

	if (klen >= BUS_KEY_MAX)
		return;		/* refused by bus_subscribe already */
	if (y->used + len > sizeof(y->buf))
		bus_sync_send(y);
	memcpy(y->buf + y->used, BUS_PREFIX, BUS_PREFIX_LEN);
	memcpy(y->buf + y->used + BUS_PREFIX_LEN, key, klen);
	y->off[y->n] = y->used;
	y->len[y->n] = len;
	y->used += len;
	if (++y->n == BUS_CHUNK)
		bus_sync_send(y);
}

/* AUTH, SUBSCRIBE the heartbeat channel, then every key of the set. */
static void
bus_sub_handshake(struct bus_link *l)
{
	struct bus	*b = l->bus;
	struct bus_sync	 y;
	const char	*argv[2];
	size_t		 lens[2];

	if (b->cfg.password != NULL)
		bus_link_auth(l, b->cfg.user, b->cfg.password);
	argv[0] = "SUBSCRIBE";
	lens[0] = 9;
	argv[1] = b->hb_chan;
	lens[1] = b->hb_len;
	redisAsyncCommandArgv(l->ac, bus_sub_cb, NULL, 2, argv, lens);
	l->sub_sent++;
	y.l = l;
	y.used = 0;
	y.n = 0;
	if (b->keys_cb != NULL)
		b->keys_cb(b->arg, bus_sync_put, &y);
	bus_sync_send(&y);
	l->sync_target = l->sub_sent;
	l->synced = 1;
}


/* --- replies ---------------------------------------------------------- */

static void
bus_role_check(struct bus_link *l, const redisReply *r, int hb)
{
	struct bus		*b = l->bus;
	const redisReply	*role = NULL;

	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING)
		role = r->element[0];
	if (role != NULL && bus_link_reply_is(role, "master")) {
		if (hb)
			b->hb_wait &= ~BUS_HB_ROLE;
		else {
			l->ready = 1;
			bus_check_up(b);
		}
		return;
	}
	bus_link_error(l, "not the master (ROLE says %.*s)",
	    role != NULL ? (int)role->len : 1, role != NULL ? role->str : "?");
}

static void
bus_setup_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_link	*l = ac->data;
	struct bus	*b;
	redisReply	*r = reply;
	enum bus_step	 step = (enum bus_step)(intptr_t)priv;

	if (l == NULL || r == NULL)
		return;
	b = l->bus;
	if (r->type == REDIS_REPLY_ERROR) {
		bus_link_error(l, "%s: %.*s",
		    step == BUS_STEP_SELECT ? "SELECT" : "command",
		    (int)r->len, r->str);
		return;
	}
	switch (step) {
	case BUS_STEP_SELECT:
		break;
	case BUS_STEP_PING:
		l->ready = 1;
		bus_check_up(b);
		break;
	case BUS_STEP_ROLE:
		bus_role_check(l, r, 0);
		break;
	case BUS_STEP_HB_ROLE:
		bus_role_check(l, r, 1);
		break;
	case BUS_STEP_HB_PUB:
		if (r->type != REDIS_REPLY_INTEGER || r->integer < 1) {
			bus_fail(b, "heartbeat on %s: the subscriber link is "
			    "not subscribed", b->addr);
			return;
		}
		b->hb_wait &= ~BUS_HB_PUB;
		break;
	}
}

static void
bus_sub_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_link	*l = ac->data;
	struct bus	*b;
	redisReply	*r = reply, *t, *ch, *pl;

	(void)priv;
	if (l == NULL || r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements < 3)
		return;
	b = l->bus;
	t = r->element[0];
	ch = r->element[1];
	pl = r->element[2];
	if (t->type != REDIS_REPLY_STRING || ch->type != REDIS_REPLY_STRING)
		return;
	if (t->len == 7 && memcmp(t->str, "message", 7) == 0) {
		if (pl->type != REDIS_REPLY_STRING)
			return;
		if (ch->len == b->hb_len &&
		    memcmp(ch->str, b->hb_chan, b->hb_len) == 0) {
			b->hb_wait &= ~BUS_HB_MSG;
			return;
		}
		if (ch->len <= BUS_PREFIX_LEN ||
		    memcmp(ch->str, BUS_PREFIX, BUS_PREFIX_LEN) != 0)
			return;
		if (b->message_cb != NULL)
			b->message_cb(b->arg, ch->str + BUS_PREFIX_LEN,
			    ch->len - BUS_PREFIX_LEN, pl->str, pl->len);
	} else if (t->len == 9 && memcmp(t->str, "subscribe", 9) == 0) {
		l->sub_acked++;
		if (b->subscribed_cb != NULL && ch->len > BUS_PREFIX_LEN &&
		    memcmp(ch->str, BUS_PREFIX, BUS_PREFIX_LEN) == 0)
			b->subscribed_cb(b->arg, ch->str + BUS_PREFIX_LEN,
			    ch->len - BUS_PREFIX_LEN, l->sub_acked);
		if (!l->ready && l->synced && l->sub_acked >= l->sync_target) {
			l->ready = 1;
			bus_check_up(b);
		}
	}
}

static void
bus_pub_unlink(struct bus_pub *p)
{
	if ((*p->pprev = p->next) != NULL)
		p->next->pprev = p->pprev;
	p->next = NULL;
	p->pprev = NULL;
}

/* Report a failed publish from the loop, not from where it failed. */
static void
bus_pub_fail(struct bus *b, struct bus_pub *p)
{
	p->next = NULL;
	*b->failed_tail = p;
	b->failed_tail = &p->next;
	if (!uv_is_active((uv_handle_t *)&b->fail_timer))
		uv_timer_start(&b->fail_timer, bus_fail_cb, 0, 0);
}

static int
bus_reply_noscript(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
	    memcmp(r->str, "NOSCRIPT", 8) == 0;
}

/* The callback of a publish or fetch that did not happen. */
static void
bus_pub_failed(struct bus_pub *p)
{
	if (p->hcb != NULL)
		p->hcb(p->arg, NULL);
	else if (p->cb != NULL)
		p->cb(p->arg, 0, 0);
}

static int
bus_reply_str(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING ||
	    r->type == REDIS_REPLY_STATUS);
}

/* {epoch, last, [[id, [f, v, …]], …]} → h; -1 when malformed. */
static int
bus_history_parse(const redisReply *r, struct bus_history *h)
{
	const redisReply	*x, *e, *f;
	size_t			 i, j;

	memset(h, 0, sizeof *h);
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    !bus_reply_str(r->element[0]) || !bus_reply_str(r->element[1]))
		return -1;
	h->epoch = r->element[0]->str;
	h->epochlen = r->element[0]->len;
	h->last = r->element[1]->str;
	h->lastlen = r->element[1]->len;
	if (r->elements < 3)
		return 0;
	x = r->element[2];
	if (x->type != REDIS_REPLY_ARRAY)
		return -1;
	if (x->elements > 0 &&
	    (h->e = calloc(x->elements, sizeof *h->e)) == NULL)
		return -1;
	for (i = 0; i < x->elements; i++) {
		e = x->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
		    !bus_reply_str(e->element[0]) ||
		    e->element[1]->type != REDIS_REPLY_ARRAY)
			goto bad;
		h->e[h->n].id = e->element[0]->str;
		h->e[h->n].idlen = e->element[0]->len;
		f = e->element[1];
		for (j = 0; j + 1 < f->elements; j += 2) {
			if (!bus_reply_str(f->element[j]) ||
			    !bus_reply_str(f->element[j + 1]) ||
			    f->element[j]->len != 1)
				continue;
			if (f->element[j]->str[0] == 'e') {
				h->e[h->n].ev = f->element[j + 1]->str;
				h->e[h->n].evlen = f->element[j + 1]->len;
			} else if (f->element[j]->str[0] == 'p') {
				h->e[h->n].prev = f->element[j + 1]->str;
				h->e[h->n].prevlen = f->element[j + 1]->len;
			} else if (f->element[j]->str[0] == 'i' &&
			    f->element[j + 1]->len <= HISTORY_IDEM_MAX &&
			    history_idem_valid(f->element[j + 1]->str)) {
				h->e[h->n].idem = f->element[j + 1]->str;
				h->e[h->n].idemlen = f->element[j + 1]->len;
			}
		}
		/* Entries not written by the script are not ours: skipped. */
		if (h->e[h->n].ev != NULL && h->e[h->n].prev != NULL)
			h->n++;
	}
	return 0;
bad:
	free(h->e);
	h->e = NULL;
	return -1;
}

static void
bus_pub_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_pub		*p = priv;
	redisReply		*r = reply;
	struct bus_history	 h;

	(void)ac;
	if (p->bus == NULL) {
		/* Orphaned by bus_free, which already called back. */
		free(p);
		return;
	}
	bus_pub_unlink(p);
	if (r == NULL) {
		/* The link went away. */
		bus_pub_fail(p->bus, p);
		return;
	}
	if (bus_reply_noscript(r) && !p->retried) {
		/* A restarted or flushed Redis forgot the script. */
		p->retried = 1;
		if (bus_pub_send(p->bus, p) == REDIS_OK) {
			bus_pub_inflight(p->bus, p);
			return;
		}
		bus_pub_fail(p->bus, p);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR)
		bus_log_error(p->bus, r->str);
	if (p->hcb != NULL) {
		if (bus_history_parse(r, &h) == 0) {
			p->hcb(p->arg, &h);
			free(h.e);
		} else
			p->hcb(p->arg, NULL);
	} else if (p->cb != NULL) {
		if (r->type == REDIS_REPLY_INTEGER)
			p->cb(p->arg, 1, r->integer);
		else
			p->cb(p->arg, 0, 0);
	}
	free(p);
}

/* --- timers ----------------------------------------------------------- */

static void
bus_retry_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;

	if (b->state == BUS_WAIT)
		bus_start(b);
}

static void
bus_deadline_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;

	if (b->state == BUS_DISCOVER) {
		bus_link_close(&b->query);
		bus_link_failed(&b->query, "timed out");
	} else if (b->state == BUS_CONNECT)
		bus_fail(b, "%s: timed out connecting", b->addr);
}

static void
bus_ping_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;
	const char	*argv[3];
	size_t		 lens[3];

	if (b->state != BUS_UP)
		return;
	if (b->hb_wait != 0) {
		if (++b->hb_misses >= BUS_HB_MISSES)
			bus_fail(b, "%s: no heartbeat answer (%s)", b->addr,
			    b->hb_wait & BUS_HB_PUB ? "command link" :
			    b->hb_wait & BUS_HB_MSG ? "subscriber link" :
			    "ROLE");
		return;
	}
	b->hb_misses = 0;
	b->hb_wait = BUS_HB_PUB | BUS_HB_MSG;
	argv[0] = "PUBLISH";
	lens[0] = 7;
	argv[1] = b->hb_chan;
	lens[1] = b->hb_len;
	argv[2] = "";
	lens[2] = 0;
	redisAsyncCommandArgv(b->cmd.ac, bus_setup_cb,
	    (void *)(intptr_t)BUS_STEP_HB_PUB, 3, argv, lens);
	if (b->nsentinels > 0) {
		b->hb_wait |= BUS_HB_ROLE;
		redisAsyncCommand(b->cmd.ac, bus_setup_cb,
		    (void *)(intptr_t)BUS_STEP_HB_ROLE, "ROLE");
	}
}

static void
bus_fail_cb(uv_timer_t *t)
{
	struct bus	*b = t->data;
	struct bus_pub	*p;

	/* One at a time: a callback may call bus_free, which runs the rest. */
	while (b->state != BUS_CLOSED && (p = b->failed) != NULL) {
		if ((b->failed = p->next) == NULL)
			b->failed_tail = &b->failed;
		bus_pub_failed(p);
		free(p);
	}
}

/* --- the API ---------------------------------------------------------- */

static void
bus_handle_closed_cb(uv_handle_t *h)
{
	struct bus	*b = h->data;

	if (--b->open_handles > 0)
		return;
	bus_config_sentinels_free(b->sentinels, b->nsentinels);
	free(b->master_host);
	free(b->last_error);
	bus_config_free(&b->cfg);
	free(b);
}

static uv_timer_t *
bus_timers(struct bus *b, size_t i)
{
	uv_timer_t	*t[] = { &b->retry_timer, &b->deadline_timer,
			    &b->ping_timer, &b->fail_timer, &b->watch_timer };

	return i < sizeof(t) / sizeof(t[0]) ? t[i] : NULL;
}

static const struct bus_link_ops bus_cmd_ops = {
	.handshake = bus_cmd_handshake,
	.failed = bus_master_failed,
};
static const struct bus_link_ops bus_sub_ops = {
	.handshake = bus_sub_handshake,
	.failed = bus_master_failed,
};
static const struct bus_sentinel_ops bus_sentinel_ops = {
	.fail = bus_fail,
	.drop = bus_drop,
	.notify = bus_notify,
	.set_addr = bus_set_addr,
	.connect_start = bus_connect_start,
	.deadline_start = bus_deadline_start,
	.next_delay = bus_next_delay,
};

struct bus *
bus_new(uv_loop_t *loop, const struct bus_config *cfg, bus_message_cb mcb,
    bus_state_cb scb, bus_keys_cb kcb, void *arg)
{
	struct bus	*b;
	char		*err = NULL;
	uv_timer_t	*t;
	size_t		 i;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	bus_sentinel_set_ops(&bus_sentinel_ops);
	b->loop = loop;
	b->message_cb = mcb;
	b->state_cb = scb;
	b->keys_cb = kcb;
	b->arg = arg;
	b->failed_tail = &b->failed;
	b->cmd.bus = b->sub.bus = b->query.bus = b->watch.bus = b;
	b->cmd.ops = &bus_cmd_ops;
	b->sub.ops = &bus_sub_ops;
	b->query.ops = &bus_sentinel_query_ops;
	b->watch.ops = &bus_sentinel_watch_ops;
	if (bus_config_copy(&b->cfg, cfg) == -1)
		goto fail;
	if (b->cfg.sentinels != NULL) {
		if (bus_config_sentinels(b->cfg.sentinels, &b->sentinels,
		    &b->nsentinels, &err) == -1) {
			log_error("%s", err != NULL ? err : "REDIS_SENTINELS");
			free(err);
			goto fail;
		}
	} else if (b->cfg.unix_path != NULL) {
		snprintf(b->addr, sizeof(b->addr), "%s", b->cfg.unix_path);
	} else if (b->cfg.host != NULL) {
		bus_set_addr(b, b->cfg.host, b->cfg.port);
		if (b->master_host == NULL)
			goto fail;
	} else {
		log_error("redis: no address to connect to");
		goto fail;
	}
	b->hb_len = (size_t)snprintf(b->hb_chan, sizeof(b->hb_chan),
	    "wsd:bus:heartbeat:%08x%08x", arc4random(), arc4random());

	for (i = 0; (t = bus_timers(b, i)) != NULL; i++) {
		uv_timer_init(loop, t);
		t->data = b;
		b->open_handles++;
	}
	bus_start(b);
	if (b->nsentinels > 0 && b->state != BUS_CLOSED)
		bus_sentinel_watch_start(b);
	return b;
fail:
	bus_config_sentinels_free(b->sentinels, b->nsentinels);
	free(b->master_host);
	bus_config_free(&b->cfg);
	free(b);
	return NULL;
}

/*
 * (UN)SUBSCRIBE ws:<key> now, when the link has replayed the set: the
 * SUBSCRIBE's ticket (its rank among the link's SUBSCRIBEs), else 0.
 */
static uint64_t
bus_sub_send(struct bus *b, const char *cmd, const char *key)
{
	char		 chan[BUS_PREFIX_LEN + BUS_KEY_MAX];
	size_t		 klen = strlen(key);
	const char	*argv[2];
	size_t		 lens[2];

	if (b->sub.ac == NULL || !b->sub.synced)
		return 0;	/* the next bus_sub_sync has it */
	memcpy(chan, BUS_PREFIX, BUS_PREFIX_LEN);
	memcpy(chan + BUS_PREFIX_LEN, key, klen);
	argv[0] = cmd;
	lens[0] = strlen(cmd);
	argv[1] = chan;
	lens[1] = BUS_PREFIX_LEN + klen;
	if (redisAsyncCommandArgv(b->sub.ac, bus_sub_cb, NULL, 2, argv,
	    lens) != REDIS_OK || cmd[0] != 'S')
		return 0;
	return ++b->sub.sub_sent;
}

uint64_t
bus_subscribe(struct bus *b, const char *key)
{
	if (b->state == BUS_CLOSED)
		return 0;
	if (strlen(key) >= BUS_KEY_MAX) {
		log_error("redis: key too long to subscribe: %.40s...", key);
		return 0;
	}
	b->nkeys++;
	return bus_sub_send(b, "SUBSCRIBE", key);
}

void
bus_on_subscribed(struct bus *b, bus_subscribed_cb cb)
{
	b->subscribed_cb = cb;
}

void
bus_unsubscribe(struct bus *b, const char *key)
{
	if (b->state == BUS_CLOSED || strlen(key) >= BUS_KEY_MAX)
		return;
	b->nkeys--;
	(void)bus_sub_send(b, "UNSUBSCRIBE", key);
}

size_t
bus_subscription_count(const struct bus *b)
{
	return b->nkeys;
}

/*
 * Send p's script call on the command link: EVALSHA, or EVAL (which also
 * caches the script) once Redis said NOSCRIPT.  A publish: KEYS ws:K
 * ws:h:K ws:m:K [ws:d:K:ID], ARGV event maxlen ttl epoch; a fetch: KEYS
 * ws:h:K ws:m:K, ARGV since epoch ttl.
 */
static int
bus_pub_send(struct bus *b, struct bus_pub *p)
{
	static const char *pre[4] = { BUS_PREFIX, "ws:h:", "ws:m:", "ws:d:" };
	char		 size[24], ttl[24], epoch[HISTORY_EPOCH_LEN + 1];
	char		 sbuf[4][256];
	char		*keys[4] = { sbuf[0], sbuf[1], sbuf[2], sbuf[3] };
	const char	*argv[11];
	size_t		 lens[11], i, k, n = 0, plen, first, nkeys, extra;
	int		 fetch = p->hcb != NULL, rc = REDIS_ERR;

	if (history_new_epoch(epoch) != 0)
		return REDIS_ERR;
	snprintf(size, sizeof(size), "%" PRIu64, b->cfg.history_size ?
	    b->cfg.history_size : knob_at(KNOB_WS_HISTORY_SIZE)->dflt);
	snprintf(ttl, sizeof(ttl), "%" PRIu64, b->cfg.history_ttl);
	argv[n++] = p->retried ? "EVAL" : "EVALSHA";
	argv[n++] = p->retried ?
	    (fetch ? history_fetch_script : history_script) :
	    (fetch ? history_fetch_script_sha() : history_script_sha());
	nkeys = fetch ? 2 : p->idemlen > 0 ? 4 : 3;
	argv[n++] = nkeys == 2 ? "2" : nkeys == 3 ? "3" : "4";
	first = fetch ? 1 : 0;
	for (i = first; i < first + nkeys; i++) {
		/* ws:d:K:ID */
		extra = i == 3 ? 1 + p->idemlen : 0;
		plen = strlen(pre[i]);
		if (plen + p->keylen + extra + 1 > sizeof(sbuf[i]) &&
		    (keys[i] = malloc(plen + p->keylen + extra + 1)) == NULL)
			goto out;
		memcpy(keys[i], pre[i], plen);
		memcpy(keys[i] + plen, p->buf, p->keylen);
		if (extra > 0) {
			keys[i][plen + p->keylen] = ':';
			memcpy(keys[i] + plen + p->keylen + 1,
			    p->buf + p->keylen + p->len, p->idemlen);
		}
		argv[n] = keys[i];
		lens[n++] = plen + p->keylen + extra;
	}
	k = n;
	argv[n] = p->buf + p->keylen;		/* event or since */
	lens[n++] = p->len;
	if (!fetch)
		argv[n++] = size;
	argv[n++] = fetch ? epoch : ttl;
	argv[n++] = fetch ? ttl : epoch;
	for (i = 0; i < n; i++)
		if (i < 3 || i > k)
			lens[i] = strlen(argv[i]);
	rc = redisAsyncCommandArgv(b->cmd.ac, bus_pub_cb, p, (int)n, argv,
	    lens);
out:
	for (i = 0; i < 4; i++)
		if (keys[i] != sbuf[i])
			free(keys[i]);
	return rc;
}

static void
bus_pub_inflight(struct bus *b, struct bus_pub *p)
{
	if ((p->next = b->inflight) != NULL)
		p->next->pprev = &p->next;
	b->inflight = p;
	p->pprev = &b->inflight;
}

static void
bus_pub_start(struct bus *b, const char *key, const char *payload,
    size_t len, const char *idem, bus_publish_cb cb, bus_history_cb hcb,
    void *arg)
{
	struct bus_pub	*p;
	size_t		 klen = strlen(key);
	size_t		 ilen = idem != NULL ? strlen(idem) : 0;

	if (b->state == BUS_CLOSED) {
		/* Only reachable from a callback run by bus_free. */
		if (hcb != NULL)
			hcb(arg, NULL);
		else if (cb != NULL)
			cb(arg, 0, 0);
		return;
	}
	/* Kept with its text: a NOSCRIPT answer sends it again. */
	if ((p = calloc(1, sizeof(*p) + klen + len + ilen)) == NULL) {
		if (hcb != NULL)
			hcb(arg, NULL);
		else if (cb != NULL)
			cb(arg, 0, 0);
		return;
	}
	p->bus = b;
	p->cb = cb;
	p->hcb = hcb;
	p->arg = arg;
	p->keylen = klen;
	p->len = len;
	p->idemlen = ilen;
	memcpy(p->buf, key, klen);
	memcpy(p->buf + klen, payload, len);
	if (ilen > 0)
		memcpy(p->buf + klen + len, idem, ilen);
	if (b->state == BUS_UP && b->cmd.ac != NULL &&
	    bus_pub_send(b, p) == REDIS_OK)
		bus_pub_inflight(b, p);
	else
		bus_pub_fail(b, p);
}

void
bus_publish(struct bus *b, const char *key, const char *payload, size_t len,
    const char *idem, bus_publish_cb cb, void *arg)
{
	bus_pub_start(b, key, payload, len, idem, cb, NULL, arg);
}

void
bus_history_fetch(struct bus *b, const char *key, const char *since,
    bus_history_cb cb, void *arg)
{
	bus_pub_start(b, key, since, strlen(since), NULL, NULL, cb, arg);
}

int
bus_is_up(const struct bus *b)
{
	return b->state == BUS_UP;
}

const char *
bus_current_addr(const struct bus *b)
{
	return b->state == BUS_UP ? b->addr : NULL;
}

void
bus_free(struct bus *b)
{
	struct bus_pub	*p;
	uv_timer_t	*t;
	size_t		 i;

	if (b == NULL || b->state == BUS_CLOSED)
		return;
	b->state = BUS_CLOSED;
	/* Every publish gets its callback, now or never. */
	while ((p = b->inflight) != NULL) {
		bus_pub_unlink(p);
		p->bus = NULL;		/* hiredis frees it */
		bus_pub_failed(p);
	}
	while ((p = b->failed) != NULL) {
		b->failed = p->next;
		bus_pub_failed(p);
		free(p);
	}
	b->failed_tail = &b->failed;
	bus_link_close(&b->query);
	bus_link_close(&b->cmd);
	bus_link_close(&b->sub);
	bus_link_close(&b->watch);
	for (i = 0; (t = bus_timers(b, i)) != NULL; i++)
		uv_close((uv_handle_t *)t, bus_handle_closed_cb);
}

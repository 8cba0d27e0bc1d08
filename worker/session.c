/* Per-socket state: auth at open, message handlers, send queue, liveness. */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "channels.h"
#include "frame.h"
#include "hub.h"
#include "log.h"
#include "metrics.h"
#include "rules.h"
#include "session.h"
#include "unread.h"

#define SESSION_PING_OUT	0x01	/* pinged, no pong yet */
#define SESSION_DIRTY		0x02	/* on the flush list */
#define SESSION_LISTED		0x04	/* on the session list */
#define SESSION_CLOSE_SENT	0x08	/* close handed to the ws layer */
#define SESSION_SLOW		0x10	/* cut as a slow consumer */
#define SESSION_CLOSE_OUT	0x20	/* the close frame is on the wire */

#define SESSION_COALESCE_MAX	(256 * 1024)	/* bytes per coalesced write */
#define SESSION_IOV_MAX		64		/* frames per coalesced write */
#define SESSION_KILL_SECS	5	/* close handshake, drain */
/*
 * A slow consumer may still read what the kernel holds and then our close
 * frame; its queue is freed at once, only lws's partial write is kept.
 */
#define SESSION_SLOW_KILL_SECS	30

/* A client message read while an earlier one awaits the database. */
struct session_msg {
	struct session_msg	*next;
	size_t			 len;
	char			 data[];
};

/*
 * A socket's message waiting for the database, and the socket's later
 * messages, answered in order once it is done.  The completion reaches
 * the session only through `s`, which session_closed() clears: a socket
 * gone mid-query leaves this for the completion to free.
 */
struct session_wait {
	struct session		*s;		/* NULL once the socket is gone */
	json_t			*channel;	/* the subscribe in progress */
	json_t			*since;		/* its "since", or NULL */
	int			 pos;		/* it asked for positions */
	struct channel_ref	 ref;
	struct session_msg	*head, **tail;
	size_t			 bytes;		/* queued message bytes */
};

static struct session_config	 session_conf;
static int			 session_draining;
static struct session		*session_list;
/*
 * Where session_close_some() goes on: the sessions before it are closing
 * (a session that opens during a drain goes first and is closed at once),
 * so each step of a drain is O(1), not a walk past every closed one.
 */
static struct session		*session_drain_next;
/*
 * The process is exiting: the sessions lws drops now are counted in the
 * "exiting" line, not logged one by one (thousands of lines through wsd's
 * pipe would hold up an exit that must come before kill_timeout).
 */
static int			 session_exiting;
static void			(*session_drain_closed)(void);
static size_t			 session_n;
static struct session		*session_dirty;
static struct frame		*session_ping_frame;
static const struct session_conn_ops *session_conn;

/* Indexed by enum session_close_why. */
static const struct {
	uint16_t	 code;
	const char	*reason;
} session_closes[] = {
	[SESSION_GOING_AWAY] =		{ 1001, "going away" },
	[SESSION_PING_TIMEOUT] =	{ 1001, "ping timeout" },
	[SESSION_UNAUTHORIZED] =	{ 1008, "Unauthorized" },
	[SESSION_SLOW_CONSUMER] =	{ 1008, "slow consumer" },
	[SESSION_TOO_BIG] =		{ 1009, "Message too big" },
	[SESSION_WRITE_ERROR] =		{ 1011, "write error" },
	[SESSION_NO_MEMORY] =		{ 1011, "out of memory" },
	[SESSION_BACKLOG] =		{ 1008, "too many pending messages" },
};
static struct deadline_heap	 session_expiries;
static uv_check_t		 session_flush_check;
static uv_idle_t		 session_flush_idle;
static uv_timer_t		 session_ping_timer;
static uv_timer_t		 session_expiry_timer;

static void	session_flush(struct session *);
static void	session_expiry_arm(void);
static void	session_handle(struct session *, const char *, size_t);

static int64_t
session_now_ms(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
session_flush_cb(uv_check_t *h)
{
	struct session	*s;

	while ((s = session_dirty) != NULL) {
		session_dirty = s->dirty_next;
		s->dirty_next = NULL;
		s->flags &= ~SESSION_DIRTY;
		session_flush(s);
	}
	uv_check_stop(h);
	uv_idle_stop(&session_flush_idle);
}

static void
session_flush_idle_cb(uv_idle_t *h)
{
	(void)h;	/* only there to make the poll not block */
}

static void
session_ping_cb(uv_timer_t *h)
{
	struct session	*s, *next;

	(void)h;
	for (s = session_list; s != NULL; s = next) {
		next = s->next;
		if (s->state != SESSION_OPEN)
			continue;
		if (s->flags & SESSION_PING_OUT) {
			log_json(LOG_INFO, json_pack("{s:s}", "user", s->user),
			    "no pong since the last ping: closing");
			session_close(s, SESSION_PING_TIMEOUT);
			continue;
		}
		s->flags |= SESSION_PING_OUT;
		/*
		 * Queued behind the data, never written in the middle of a
		 * frame; a consumer too slow to get to it times out.
		 */
		(void)session_send(s, session_ping_frame);
	}
}

static void
session_expiry_cb(uv_timer_t *h)
{
	struct deadline	*d;
	struct session	*s;
	int64_t		 now = session_now_ms();

	(void)h;
	while ((d = deadline_top(&session_expiries)) != NULL && d->at <= now) {
		deadline_remove(&session_expiries, d);
		s = (struct session *)((char *)d -
		    offsetof(struct session, expiry));
		log_json(LOG_INFO, json_pack("{s:s}", "user", s->user),
		    "token expired: closing");
		session_close(s, SESSION_UNAUTHORIZED);
	}
	session_expiry_arm();
}

static void
session_expiry_arm(void)
{
	struct deadline	*d;
	int64_t		 delay;

	if ((d = deadline_top(&session_expiries)) == NULL) {
		uv_timer_stop(&session_expiry_timer);
		return;
	}
	delay = d->at - session_now_ms();
	if (delay < 0)
		delay = 0;
	uv_timer_start(&session_expiry_timer, session_expiry_cb,
	    (uint64_t)delay + 1, 0);
}

static const struct hub_ops session_hub_ops = {
	.send = session_send,
	.resync = session_resync,
};

void
session_set_conn(const struct session_conn_ops *ops)
{
	session_conn = ops;
}

int
session_init(uv_loop_t *loop, const struct session_config *conf)
{
	session_conf = *conf;
	hub_set_ops(&session_hub_ops);
	/* lws 4.1 reports no RECEIVE_PONG for an empty pong: send a byte */
	if ((session_ping_frame = frame_new_op(FRAME_PING, "p", 1)) == NULL)
		return -1;
	deadline_heap_init(&session_expiries);
	uv_check_init(loop, &session_flush_check);
	uv_idle_init(loop, &session_flush_idle);
	uv_timer_init(loop, &session_ping_timer);
	uv_timer_init(loop, &session_expiry_timer);
	uv_unref((uv_handle_t *)&session_expiry_timer);
	uv_unref((uv_handle_t *)&session_ping_timer);
	if (conf->ping_interval_ms > 0)
		uv_timer_start(&session_ping_timer, session_ping_cb,
		    conf->ping_interval_ms, conf->ping_interval_ms);
	return 0;
}

void
session_shutdown(void)
{
	uv_check_stop(&session_flush_check);
	uv_idle_stop(&session_flush_idle);
	uv_timer_stop(&session_ping_timer);
	uv_timer_stop(&session_expiry_timer);
	frame_unref(session_ping_frame);
	session_ping_frame = NULL;
}

size_t
session_count(void)
{
	return session_n;
}

static void
session_mark_dirty(struct session *s)
{
	if (s->flags & SESSION_DIRTY)
		return;
	s->flags |= SESSION_DIRTY;
	s->dirty_next = session_dirty;
	session_dirty = s;
	/*
	 * The flush runs after the loop's poll phase, once for everything
	 * the I/O callbacks queued.  The idle handle keeps that poll from
	 * blocking when the frames were queued by a timer (a ping, an
	 * expiry close), which would otherwise wait for the next event.
	 */
	if (!uv_is_active((uv_handle_t *)&session_flush_check)) {
		uv_check_start(&session_flush_check, session_flush_cb);
		uv_idle_start(&session_flush_idle, session_flush_idle_cb);
	}
}

static void
session_dirty_remove(struct session *s)
{
	struct session	**pp;

	if (!(s->flags & SESSION_DIRTY))
		return;
	for (pp = &session_dirty; *pp != NULL; pp = &(*pp)->dirty_next) {
		if (*pp == s) {
			*pp = s->dirty_next;
			break;
		}
	}
	s->flags &= ~SESSION_DIRTY;
	s->dirty_next = NULL;
}

int
session_send(struct session *s, struct frame *f)
{
	if (s->state != SESSION_OPEN)
		return -1;
	/* the cap is on backlog: one frame alone may be bigger than it */
	if (s->q.bytes > 0 &&
	    (size_t)s->q.bytes + f->len > session_conf.send_queue_max) {
		log_json(LOG_WARN, json_pack("{s:s,s:I}", "user", s->user,
		    "queued", (json_int_t)s->q.bytes),
		    "send queue over its cap: closing a slow consumer");
		metrics.errors++;
		metrics.slow_closes++;
		fqueue_clear(&s->q);
		session_close(s, SESSION_SLOW_CONSUMER);
		s->flags |= SESSION_SLOW;
		return -1;
	}
	if (fqueue_push(&s->q, f) != 0)
		return -1;
	session_mark_dirty(s);
	return 0;
}

/* Queue a message of our own (a reply), framed for this socket only. */
static void
session_send_json(struct session *s, json_t *msg)
{
	struct frame	*f;
	char		*text;

	if (msg == NULL)
		return;
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (text == NULL)
		return;
	f = frame_new(text, strlen(text));
	free(text);
	if (f == NULL)
		return;
	session_send(s, f);
	frame_unref(f);
}

/*
 * Hand the queue to the socket: frames are written straight from their
 * shared buffers, as many as SESSION_IOV_MAX in one sendmsg().  The socket
 * is written directly, not through lws_write(), which would cost a trip
 * through lws's buffered-output path per delivery.  Only the frame the
 * socket took part of is handed to lws, which copies the rest and sends it
 * before anything of its own (a pong to a client's ping, the close frame):
 * so nothing is ever spliced into the middle of a frame.  While lws holds
 * such a remainder, the queue waits for writable.
 */
static void
session_flush(struct session *s)
{
	struct iovec	 iov[SESSION_IOV_MAX];
	struct msghdr	 mh;
	struct frame	*f;
	size_t		 total, left;
	ssize_t		 n;
	uint32_t	 niov;

	while (s->q.len > 0) {
		if (session_conn->buffered(s->conn)) {
			session_conn->want_writable(s->conn);
			return;
		}
		total = 0;
		niov = 0;
		for (; niov < s->q.len && niov < SESSION_IOV_MAX &&
		    total < SESSION_COALESCE_MAX; niov++) {
			f = fqueue_at(&s->q, niov);
			iov[niov].iov_base = f->data;
			iov[niov].iov_len = f->len;
			total += f->len;
		}
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = iov;
		mh.msg_iovlen = niov;
		n = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			session_conn->want_writable(s->conn);
			return;
		}
		left = n < 0 ? 0 : (size_t)n;
		while (left > 0) {
			f = fqueue_at(&s->q, 0);
			if (left < f->len &&
			    session_conn->write(s->conn, f->data + left,
			    f->len - left) < 0)
				n = -1;
			left -= left < f->len ? left : f->len;
			fqueue_pop(&s->q);
		}
		if (n < 0) {
			fqueue_clear(&s->q);
			session_close(s, SESSION_WRITE_ERROR);
			s->flags |= SESSION_CLOSE_SENT;	/* nothing more to send */
			session_conn->kill_after(s->conn, 0);
			return;
		}
	}
	if (s->state == SESSION_CLOSING && !(s->flags & SESSION_CLOSE_SENT)) {
		s->flags |= SESSION_CLOSE_SENT;
		session_conn->close(s->conn, session_closes[s->close_why].code,
		    session_closes[s->close_why].reason,
		    session_draining ? 0 : s->flags & SESSION_SLOW ?
		    SESSION_SLOW_KILL_SECS : SESSION_KILL_SECS);
	}
}

int
session_writable(struct session *s)
{
	session_flush(s);
	if ((s->flags & (SESSION_CLOSE_SENT | SESSION_CLOSE_OUT)) ==
	    SESSION_CLOSE_SENT && !session_conn->buffered(s->conn)) {
		s->flags |= SESSION_CLOSE_OUT;
		session_conn->close_sent(s->conn);
	}
	return 0;
}

void
session_close(struct session *s, enum session_close_why why)
{
	if (s->state == SESSION_CLOSING)
		return;
	s->state = SESSION_CLOSING;
	s->close_why = (uint8_t)why;
	deadline_remove(&session_expiries, &s->expiry);
	/*
	 * Not lws_callback_on_writable() here: we may be inside lws's
	 * ESTABLISHED callback, where asking for writable makes lws 4.1
	 * drop the connection without a close frame.  The flush pass asks.
	 */
	session_mark_dirty(s);
}

size_t
session_close_some(size_t n)
{
	struct session	*s, *next;
	size_t		 k = 0;

	if (!session_draining)
		session_drain_next = session_list;
	session_draining = 1;
	for (s = session_drain_next; s != NULL && k < n; s = next) {
		next = s->next;
		if (s->state == SESSION_OPEN) {
			session_close(s, SESSION_GOING_AWAY);
			k++;
		}
	}
	session_drain_next = s;
	return k;
}

void
session_close_all(void)
{
	struct session	*s, *next;

	session_draining = 1;
	for (s = session_list; s != NULL; s = next) {
		next = s->next;
		session_close(s, SESSION_GOING_AWAY);
	}
}

void
session_close_now(void)
{
	session_close_all();
	session_flush_cb(&session_flush_check);
	session_exiting = 1;
}

/* The credential the request carried, first of query, bearer, cookie. */
static enum auth_status
session_authenticate(const struct session_creds *c, struct auth_result *res)
{
	struct auth_keys	 keys;
	enum auth_status	 st;
	char			*tok = NULL;
	int			 cookie = 0;

	keys = *auth_keys_current();	/* hot: a settings push swaps them */

	if (c->query != NULL)
		tok = auth_token_from_query(c->query);
	if ((tok == NULL || *tok == '\0') && c->authorization != NULL) {
		free(tok);
		tok = auth_token_from_bearer(c->authorization);
	}
	if ((tok == NULL || *tok == '\0') && c->cookie != NULL) {
		free(tok);
		tok = auth_session_from_cookie(c->cookie);
		cookie = 1;
	}
	if (tok == NULL || *tok == '\0')
		st = AUTH_MISSING;
	else if (cookie)
		st = auth_verify_session(&keys, tok, session_now_ms() / 1000,
		    res);
	else
		st = auth_verify_jwt(&keys, tok, session_now_ms() / 1000, res);
	if (tok != NULL) {
		explicit_bzero(tok, strlen(tok));
		free(tok);
	}
	return st;
}

void
session_open(struct session *s, void *conn, const struct session_creds *c)
{
	struct auth_result	 res;
	enum auth_status	 st;
	int64_t			 at;

	memset(s, 0, sizeof *s);
	s->conn = conn;
	s->fd = session_conn->fd(conn);
	s->state = SESSION_NEW;

	metrics.total_connections++;	/* every upgrade, as the Node server */
	memset(&res, 0, sizeof res);
	st = session_authenticate(c, &res);
	if (st != AUTH_OK) {
		metrics.auth_failures++;
		log_json(LOG_INFO, json_pack("{s:s?,s:s}", "remote", c->remote,
		    "reason", auth_strerror(st)), "authentication failed");
		session_close(s, SESSION_UNAUTHORIZED);
		return;
	}
	if ((s->user = strdup(res.user)) == NULL) {
		session_close(s, SESSION_NO_MEMORY);
		return;
	}
	s->state = SESSION_OPEN;
	s->next = session_list;
	if (session_list != NULL)
		session_list->prev = s;
	session_list = s;
	s->flags |= SESSION_LISTED;
	session_n++;

	at = res.exp * 1000;
	if (at <= session_now_ms())
		at = (res.exp + AUTH_LEEWAY_S) * 1000;
	if (deadline_add(&session_expiries, &s->expiry, at) == 0 &&
	    deadline_top(&session_expiries) == &s->expiry)
		session_expiry_arm();

	log_json(LOG_INFO, json_pack("{s:s,s:s?}", "user", s->user,
	    "remote", c->remote), "client connected");
	session_send_json(s, json_pack("{s:s,s:{s:s,s:s}}", "type", "connected",
	    "data", "userId", s->user,
	    "message", "Successfully connected to WebSocket server"));
	if (session_draining) {
		/* upgraded while we drain: welcome, then go to another instance */
		session_close(s, SESSION_GOING_AWAY);
	}
}

static void
session_msgs_free(struct session_msg *m)
{
	struct session_msg	*next;

	for (; m != NULL; m = next) {
		next = m->next;
		free(m);
	}
}

static void
session_wait_free(struct session_wait *w)
{
	session_msgs_free(w->head);
	json_decref(w->channel);
	json_decref(w->since);
	free(w);
}

void
session_closed(struct session *s, const char *remote)
{
	if (s->wait != NULL) {
		/* the query's completion frees it */
		s->wait->s = NULL;
		session_msgs_free(s->wait->head);
		s->wait->head = NULL;
		s->wait = NULL;
	}
	session_dirty_remove(s);
	fqueue_clear(&s->q);
	deadline_remove(&session_expiries, &s->expiry);
	hub_unsubscribe_all(&s->subs);
	if (s->flags & SESSION_LISTED) {
		if (session_drain_next == s)
			session_drain_next = s->next;
		if (s->prev != NULL)
			s->prev->next = s->next;
		else
			session_list = s->next;
		if (s->next != NULL)
			s->next->prev = s->prev;
		session_n--;
		if (!session_exiting)
			log_json(LOG_INFO, json_pack("{s:s,s:s?}", "user", s->user,
		    "remote", remote), "client disconnected");
	}
	free(s->user);
	memset(s, 0, sizeof *s);
	if (session_draining && session_drain_closed != NULL)
		session_drain_closed();
}

void
session_on_drain_close(void (*cb)(void))
{
	session_drain_closed = cb;
}

void
session_pong(struct session *s)
{
	s->flags &= ~SESSION_PING_OUT;
}

static void
session_deny(struct session *s, json_t *channel, const char *message)
{
	session_send_json(s, json_pack("{s:s,s:{s:s,s:O?}}", "type", "error",
	    "data", "message", message, "channel", channel));
}

/*
 * The socket's wait is over: answer what it queued meanwhile, in order,
 * until one of those messages waits for the database in turn.
 */
static void
session_resume(struct session *s)
{
	struct session_wait	*w = s->wait;
	struct session_msg	*m, *rest;

	s->wait = NULL;
	rest = w->head;
	w->head = NULL;
	session_wait_free(w);
	while ((m = rest) != NULL && s->state == SESSION_OPEN &&
	    s->wait == NULL) {
		rest = m->next;
		session_handle(s, m->data, m->len);
		free(m);
	}
	if (rest == NULL)
		return;
	if (s->wait == NULL || s->state != SESSION_OPEN) {
		session_msgs_free(rest);
		return;
	}
	/* nothing can have been queued yet: the rest leads the new queue */
	s->wait->head = rest;
	for (m = rest; ; m = m->next) {
		s->wait->bytes += m->len;
		if (m->next == NULL)
			break;
	}
	s->wait->tail = &m->next;
}

static void
session_unread_cb(void *arg, json_t *msg)
{
	struct session_wait	*w = arg;
	struct session		*s = w->s;

	if (s == NULL) {
		session_wait_free(w);
		return;
	}
	if (msg != NULL)
		session_send_json(s, json_incref(msg));
	else
		log_json(LOG_WARN, json_pack("{s:s}", "user", s->user),
		    "unread notifications: the database did not answer");
	session_resume(s);
}

void
session_resync(struct session *s, const char *key)
{
	session_send_json(s, json_pack("{s:s,s:{s:s}}", "type", "resync",
	    "data", "channelKey", key));
}

/* The first history answer of a subscribe with positions. */
static void
session_pos_cb(void *arg, enum hub_pos_result r, const char *offset,
    const char *epoch)
{
	struct session_wait	*w = arg;
	struct session		*s = w->s;

	if (s == NULL) {
		session_wait_free(w);
		return;
	}
	if (r == HUB_POS_FAIL) {
		if (hub_unsubscribe(&s->subs, w->ref.key) == 1)
			s->nsubs--;
		metrics.errors++;
		session_deny(s, w->channel, "Failed to subscribe");
		session_resume(s);
		return;
	}
	log_json(LOG_DEBUG, json_pack("{s:s,s:s,s:s}", "user", s->user,
	    "channel", w->ref.key, "offset", offset), "subscribed");
	session_send_json(s, json_pack("{s:s,s:{s:O,s:s},s:s,s:s}", "type",
	    "subscribed", "data", "channel", w->channel, "channelKey",
	    w->ref.key, "offset", offset, "epoch", epoch));
	if (r == HUB_POS_RESYNC)
		session_resync(s, w->ref.key);
	if (!unread_wanted(&w->ref, s->user) ||
	    unread_fetch(s->user, session_unread_cb, w) != 0)
		session_resume(s);
}

/* Subscribe with positions: 1 waiting for history, 0 done, -1 denied. */
static int
session_subscribe_pos(struct session *s, struct session_wait *w)
{
	const char	*off, *ep;
	int		 r, added;

	off = json_string_value(json_object_get(w->since, "offset"));
	ep = json_string_value(json_object_get(w->since, "epoch"));
	if (w->since != NULL) {
		/* not strings: a position we cannot honour, so a resync */
		off = off != NULL ? off : "";
		ep = ep != NULL ? ep : "";
	}
	r = hub_subscribe_pos(&s->subs, s, w->ref.key, off, ep, &added,
	    session_pos_cb, w);
	s->nsubs = (uint16_t)(s->nsubs + added);
	return r;
}

/*
 * The rule's verdict on a subscribe; 1 when the socket keeps waiting (for
 * its history position or its unread notifications).
 */
static int
session_subscribe_verdict(struct session *s, struct session_wait *w,
    enum rules_verdict v)
{
	int	r;

	if (s->state != SESSION_OPEN)
		return 0;
	if (v == RULES_DENY) {
		session_deny(s, w->channel, "Access denied to channel");
		return 0;
	}
	if (v != RULES_ALLOW) {
		/* fail closed: no database answer is no access */
		metrics.errors++;
		session_deny(s, w->channel, "Failed to subscribe");
		return 0;
	}
	if (s->nsubs >= session_conf.max_subscriptions) {
		session_deny(s, w->channel, "Too many subscriptions");
		return 0;
	}
	if (w->pos) {
		/* without Redis (0): a plain subscription, no history */
		if ((r = session_subscribe_pos(s, w)) == 1)
			return 1;	/* session_pos_cb answers */
	} else if ((r = hub_subscribe(&s->subs, s, w->ref.key)) == 1)
		s->nsubs++;
	if (r < 0) {
		metrics.errors++;
		session_deny(s, w->channel, "Internal error");
		return 0;
	}
	log_json(LOG_DEBUG, json_pack("{s:s,s:s}", "user", s->user,
	    "channel", w->ref.key), "subscribed");
	session_send_json(s, json_pack("{s:s,s:{s:O,s:s}}", "type",
	    "subscribed", "data", "channel", w->channel, "channelKey",
	    w->ref.key));
	return unread_wanted(&w->ref, s->user) &&
	    unread_fetch(s->user, session_unread_cb, w) == 0;
}

static void
session_rule_cb(void *arg, enum rules_verdict v)
{
	struct session_wait	*w = arg;
	struct session		*s = w->s;

	if (s == NULL) {
		session_wait_free(w);
		return;
	}
	if (!session_subscribe_verdict(s, w, v))
		session_resume(s);
}

static void
session_subscribe_cb(struct session *s, json_t *msg)
{
	struct session_wait	 now, *w;
	enum rules_verdict	 v;

	/*
	 * Answered at once (owner, public, cached): no allocation, so the
	 * common subscribe leaves nothing behind in the heap.
	 */
	memset(&now, 0, sizeof now);
	now.s = s;
	now.channel = json_object_get(msg, "channel");	/* borrowed */
	now.since = json_object_get(msg, "since");	/* borrowed */
	if (!json_is_object(now.since))
		now.since = NULL;
	now.pos = now.since != NULL ||
	    json_is_true(json_object_get(msg, "recover"));
	if (channels_resolve(now.channel, &now.ref) != 0)
		v = RULES_DENY;
	else
		v = rules_check(&now.ref, s->user, NULL, NULL);
	/* positions wait for Redis: they take the allocated path */
	if (v != RULES_PENDING && (v != RULES_ALLOW || (!now.pos &&
	    !unread_wanted(&now.ref, s->user)))) {
		(void)session_subscribe_verdict(s, &now, v);
		return;
	}
	/* the database is asked: the socket waits, with its own record */
	if ((w = malloc(sizeof *w)) == NULL) {
		session_deny(s, now.channel, "Internal error");
		return;
	}
	*w = now;
	w->tail = &w->head;
	json_incref(w->channel);
	json_incref(w->since);
	s->wait = w;
	if (v == RULES_PENDING &&
	    (v = rules_check(&w->ref, s->user, session_rule_cb, w)) ==
	    RULES_PENDING)
		return;
	/* answered after all (or allowed): it may still wait for the list */
	if (!session_subscribe_verdict(s, w, v))
		session_resume(s);
}

static void
session_unsubscribe_cb(struct session *s, json_t *msg)
{
	json_t			*channel = json_object_get(msg, "channel");
	struct channel_ref	 ref;

	if (channels_resolve(channel, &ref) != 0 ||
	    !rules_may_leave(&ref, s->user)) {
		session_deny(s, channel, "Access denied to channel");
		return;
	}
	if (hub_unsubscribe(&s->subs, ref.key) == 1)
		s->nsubs--;
	session_send_json(s, json_pack("{s:s,s:{s:O,s:s}}", "type",
	    "unsubscribed", "data", "channel", channel, "channelKey", ref.key));
}

static void
session_ping_msg_cb(struct session *s, json_t *msg)
{
	(void)msg;
	session_send_json(s, json_pack("{s:s}", "type", "pong"));
}

static const struct {
	const char	*type;
	void		(*handler)(struct session *, json_t *);
} session_handlers[] = {
	{ "subscribe",		session_subscribe_cb },
	{ "unsubscribe",	session_unsubscribe_cb },
	{ "ping",		session_ping_msg_cb },
};

/* One message, answered now (or its subscribe starts waiting). */
static void
session_handle(struct session *s, const char *data, size_t len)
{
	json_t		*msg;
	const char	*type;
	size_t		 i;

	msg = json_loadb(data, len, JSON_DECODE_ANY, NULL);
	if (msg == NULL || !json_is_object(msg)) {
		json_decref(msg);
		metrics.errors++;
		session_send_json(s, json_pack("{s:s,s:{s:s}}", "type", "error",
		    "data", "message", "Invalid message format"));
		return;
	}
	type = json_string_value(json_object_get(msg, "type"));
	if (type != NULL) {
		for (i = 0; i < sizeof session_handlers /
		    sizeof session_handlers[0]; i++) {
			if (strcmp(session_handlers[i].type, type) == 0) {
				session_handlers[i].handler(s, msg);
				break;
			}
		}
	}
	json_decref(msg);
}

void
session_message(struct session *s, const char *data, size_t len)
{
	struct session_wait	*w = s->wait;
	struct session_msg	*m;

	if (s->state != SESSION_OPEN)
		return;
	metrics.total_messages++;
	if (w == NULL) {
		session_handle(s, data, len);
		return;
	}
	/* answered in order: after the one the database is answering */
	if (w->bytes + len > session_conf.send_queue_max ||
	    (m = malloc(sizeof *m + len)) == NULL) {
		log_json(LOG_WARN, json_pack("{s:s,s:I}", "user", s->user,
		    "pending", (json_int_t)w->bytes),
		    "too many messages while waiting for the database: closing");
		metrics.errors++;
		session_close(s, SESSION_BACKLOG);
		return;
	}
	m->next = NULL;
	m->len = len;
	memcpy(m->data, data, len);
	*w->tail = m;
	w->tail = &m->next;
	w->bytes += len;
}

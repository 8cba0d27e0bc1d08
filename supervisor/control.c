/*
 * The control socket: accepting clients, reading their peer credentials,
 * framing requests, and sending replies in request order.
 *
 * A reply may be deferred (stop waits until the processes have exited), so
 * each client has a queue of replies; a finished one is sent only when
 * every earlier one has been.  Output never blocks the loop: what the
 * socket does not take at once waits in libuv's queue, and a client whose
 * queue passes CONTROL_QUEUE_MAX without reading is disconnected.
 *
 * Nobody may lock the daemon's operator out by holding connections open:
 * a connection with no request in progress is closed after WSD_CTL_IDLE_MS,
 * one process (pid) holds at most CONTROL_PER_PID connections and one
 * other user CONTROL_PER_UID, and CONTROL_RESERVED connections beyond
 * CONTROL_CLIENTS_MAX are kept for the daemon's uid and root.  When even
 * those are taken, such a peer pushes out the longest-idle connection.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knob.h"
#include "log.h"
#include "proto.h"
#include "wsd.h"

#define CONTROL_QUEUE_MAX	(1024 * 1024)
#define CONTROL_CLIENTS_MAX	512	/* for any peer */
#define CONTROL_RESERVED	16	/* more, for the daemon's uid and root */
#define CONTROL_PER_PID		32
#define CONTROL_PER_UID		64	/* a uid other than the daemon's or root */

struct reply {
	char			*line;
	int			 done;
	struct client		*client;	/* NULL once the client left */
	TAILQ_ENTRY(reply)	 entry;
};

struct client {
	uv_pipe_t		 pipe;
	struct linebuf		 lb;
	uid_t			 uid;
	pid_t			 pid;
	size_t			 queued;	/* bytes handed to libuv, not yet written */
	uint64_t		 active_ms;	/* last request byte or reply (wsd_now_ms) */
	int			 closing;
	TAILQ_HEAD(, reply)	 replies;
	LIST_ENTRY(client)	 entry;
};

struct control_write {
	uv_write_t	 req;
	struct client	*client;
	size_t		 len;
	char		 data[];
};

static uv_pipe_t		 control_server;
static int			 control_open_ok;
static LIST_HEAD(, client)	 control_clients = LIST_HEAD_INITIALIZER(control_clients);
static int			 control_nclients;
static uv_timer_t		 control_idle_timer;
static uint64_t			 control_idle_ms;
static char			*(*control_run_cb)(struct cmd_ctx *,
				    const char *);

static void	control_client_close(struct client *);

static void
control_write_cb(uv_write_t *req, int status)
{
	struct control_write *w = (struct control_write *)req;

	(void)status;
	if (w->client != NULL) {
		w->client->queued -= w->len;
		w->client->active_ms = wsd_now_ms();	/* it reads: not idle */
	}
	free(w);
}

static void
control_send(struct client *c, const char *line)
{
	struct control_write *w;
	size_t len = strlen(line);
	uv_buf_t b;
	int n = 0;

	if (c->closing)
		return;
	if (c->queued == 0) {
		b = uv_buf_init((char *)line, (unsigned)len);
		n = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
		if (n == UV_EAGAIN)
			n = 0;
		if (n < 0) {
			control_client_close(c);
			return;
		}
		if ((size_t)n == len)
			return;
	}
	len -= (size_t)n;
	if (c->queued + len > CONTROL_QUEUE_MAX) {
		log_json(LOG_WARN, json_pack("{sisi}", "peer_uid", (int)c->uid,
		    "peer_pid", (int)c->pid),
		    "control client does not read its replies: disconnected");
		control_client_close(c);
		return;
	}
	if ((w = malloc(sizeof *w + len)) == NULL) {
		control_client_close(c);
		return;
	}
	memcpy(w->data, line + n, len);
	w->client = c;
	w->len = len;
	b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1,
	    control_write_cb) != 0) {
		free(w);
		control_client_close(c);
		return;
	}
	c->queued += len;
}

/* Send every finished reply at the head of the queue. */
static void
control_flush(struct client *c)
{
	struct reply *r;

	while ((r = TAILQ_FIRST(&c->replies)) != NULL && r->done) {
		TAILQ_REMOVE(&c->replies, r, entry);
		c->active_ms = wsd_now_ms();
		if (r->line != NULL)
			control_send(c, r->line);
		free(r->line);
		free(r);
		if (c->closing)
			return;
	}
}

static struct reply *
control_reply_new(struct client *c)
{
	struct reply *r;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	r->client = c;
	TAILQ_INSERT_TAIL(&c->replies, r, entry);
	return r;
}

struct reply *
control_reply_defer(struct client *c)
{
	return control_reply_new(c);
}

void
control_reply_done(struct reply *r, char *line)
{
	struct client *c = r->client;

	if (c == NULL) {	/* the client left meanwhile */
		free(line);
		free(r);
		return;
	}
	r->line = line;
	r->done = 1;
	control_flush(c);
}

static void
control_reply_now(struct client *c, char *line)
{
	struct reply *r;

	if (line == NULL)
		line = proto_reply_error(NULL, "internal", "out of memory");
	if ((r = control_reply_new(c)) == NULL) {
		free(line);
		return;
	}
	control_reply_done(r, line);
}

static int
control_line_cb(void *arg, char *line, size_t len)
{
	struct client *c = arg;
	struct proto_request req;
	struct cmd_ctx ctx;
	const char *code;
	char *msg, *out;

	if (c->closing)
		return -1;
	if (line == NULL) {
		control_reply_now(c, proto_reply_error(NULL, "line_too_long",
		    "request line longer than %d bytes", LINEBUF_MAX));
		return c->closing;
	}
	if (len == 0 || (len == 1 && line[0] == '\r'))
		return 0;
	if (proto_parse_request(line, len, &req, &code, &msg) < 0) {
		control_reply_now(c, proto_reply_error(req.id, code, "%s",
		    msg != NULL ? msg : code));
		free(msg);
		proto_request_free(&req);
		return c->closing;
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.client = c;
	ctx.id = req.id;
	ctx.args = req.args;
	ctx.uid = c->uid;
	ctx.pid = c->pid;
	out = control_run_cb != NULL ? control_run_cb(&ctx, req.cmd) :
	    proto_reply_error(ctx.id, "unknown_command",
	    "unknown command \"%.64s\"", req.cmd);
	if (out != NULL)
		control_reply_now(c, out);
	proto_request_free(&req);
	return c->closing;
}

static void
control_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct client *c = s->data;

	if (nread < 0) {
		control_client_close(c);
		return;
	}
	c->active_ms = wsd_now_ms();
	linebuf_feed(&c->lb, buf->base, (size_t)nread, control_line_cb, c);
}

static void
control_client_free_cb(uv_handle_t *h)
{
	struct client *c = h->data;

	linebuf_free(&c->lb);
	free(c);
}

static void
control_client_close(struct client *c)
{
	struct reply *r, *next;

	if (c->closing)
		return;
	c->closing = 1;
	TAILQ_FOREACH_SAFE(r, &c->replies, entry, next) {
		TAILQ_REMOVE(&c->replies, r, entry);
		if (r->done) {
			free(r->line);
			free(r);
		} else
			r->client = NULL;	/* its owner frees it when done */
	}
	LIST_REMOVE(c, entry);
	control_nclients--;
	/* libuv cancels pending writes (their callbacks run) before the
	 * close callback frees c. */
	uv_close((uv_handle_t *)&c->pipe, control_client_free_cb);
}

/* The daemon's operator: its own uid, or root. */
static int
control_privileged(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* Waiting for nothing: no reply pending and every byte written. */
static int
control_idle(const struct client *c)
{
	return TAILQ_EMPTY(&c->replies) && c->queued == 0;
}

/* The idle connection that has been quiet longest, or NULL. */
static struct client *
control_longest_idle(void)
{
	struct client *c, *best = NULL;

	LIST_FOREACH(c, &control_clients, entry)
		if (control_idle(c) && (best == NULL ||
		    c->active_ms < best->active_ms))
			best = c;
	return best;
}

/*
 * Whether a new connection from (uid, pid) may stay: NULL, or why not.
 * May close the longest-idle connection to make room for the operator.
 */
static const char *
control_admit(uid_t uid, pid_t pid)
{
	struct client *c;
	int bypid = 0, byuid = 0;

	LIST_FOREACH(c, &control_clients, entry) {
		if (c->pid == pid)
			bypid++;
		if (c->uid == uid)
			byuid++;
	}
	if (bypid >= CONTROL_PER_PID)
		return "too many connections from this process";
	if (!control_privileged(uid)) {
		if (byuid >= CONTROL_PER_UID)
			return "too many connections from this user";
		if (control_nclients >= CONTROL_CLIENTS_MAX)
			return "too many connections";
		return NULL;
	}
	if (control_nclients < CONTROL_CLIENTS_MAX + CONTROL_RESERVED)
		return NULL;
	if ((c = control_longest_idle()) == NULL)
		return "too many connections";
	log_json(LOG_WARN, json_pack("{sisi}", "peer_uid", (int)c->uid,
	    "peer_pid", (int)c->pid),
	    "control socket full: the longest-idle connection closed");
	control_client_close(c);
	return NULL;
}

/* Say why, once and without waiting, then close. */
static void
control_refuse(struct client *c, const char *why)
{
	static uint64_t last_log;
	char *line;
	uv_buf_t b;

	if ((line = proto_reply_error(NULL, "too_many_connections",
	    "%s (limit %d per process, %d per user)", why, CONTROL_PER_PID,
	    CONTROL_PER_UID)) != NULL) {
		b = uv_buf_init(line, (unsigned)strlen(line));
		(void)uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
		free(line);
	}
	/* One line a second at most: refusals come in floods. */
	if (wsd_now_ms() - last_log >= 1000) {
		last_log = wsd_now_ms();
		log_json(LOG_WARN, json_pack("{sisi}", "peer_uid", (int)c->uid,
		    "peer_pid", (int)c->pid), "control connection refused: %s",
		    why);
	}
	uv_close((uv_handle_t *)&c->pipe, control_client_free_cb);
}

static void
control_connection_cb(uv_stream_t *server, int status)
{
	struct client *c;
	struct ucred cred;
	socklen_t len = sizeof cred;
	uv_os_fd_t fd;
	const char *why;

	if (status < 0)
		return;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return;
	uv_pipe_init(wsd_loop, &c->pipe, 0);
	c->pipe.data = c;
	TAILQ_INIT(&c->replies);
	linebuf_init(&c->lb, LINEBUF_MAX);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		uv_close((uv_handle_t *)&c->pipe, control_client_free_cb);
		return;
	}
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		uv_close((uv_handle_t *)&c->pipe, control_client_free_cb);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	if ((why = control_admit(c->uid, c->pid)) != NULL) {
		control_refuse(c, why);
		return;
	}
	c->active_ms = wsd_now_ms();
	LIST_INSERT_HEAD(&control_clients, c, entry);
	control_nclients++;
	uv_read_start((uv_stream_t *)&c->pipe, wsd_read_alloc_cb,
	    control_read_cb);
}

/*
 * Close the connections idle for control_idle_ms.  One that waits for a
 * reply (stop, restart, reload wait for processes) is not idle, however
 * long it waits.
 */
static void
control_idle_cb(uv_timer_t *t)
{
	struct client *c, *next;
	uint64_t now = wsd_now_ms();

	(void)t;
	for (c = LIST_FIRST(&control_clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (control_idle(c) && now - c->active_ms >= control_idle_ms)
			control_client_close(c);
	}
}

void
control_serve(char *(*run_cb)(struct cmd_ctx *, const char *cmd))
{
	control_run_cb = run_cb;
}

int
control_open(uv_loop_t *loop, int fd)
{
	int rc;

	uv_pipe_init(loop, &control_server, 0);
	if ((rc = uv_pipe_open(&control_server, fd)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&control_server, 128,
	    control_connection_cb)) != 0) {
		log_error("control socket: %s", uv_strerror(rc));
		return -1;
	}
	control_open_ok = 1;
	control_idle_ms = knob_or_default(KNOB_WSD_CTL_IDLE_MS);
	/* A sweep four times per period: a connection goes within 1.25×. */
	uv_timer_init(loop, &control_idle_timer);
	uv_timer_start(&control_idle_timer, control_idle_cb,
	    control_idle_ms / 4 + 1, control_idle_ms / 4 + 1);
	uv_unref((uv_handle_t *)&control_idle_timer);
	return 0;
}

int
control_fd(void)
{
	uv_os_fd_t fd;

	return control_open_ok && uv_fileno((uv_handle_t *)&control_server,
	    &fd) == 0 ? fd : -1;
}

void
control_close(void)
{
	struct client *c;

	while ((c = LIST_FIRST(&control_clients)) != NULL)
		control_client_close(c);
	if (control_open_ok) {
		uv_close((uv_handle_t *)&control_idle_timer, NULL);
		uv_close((uv_handle_t *)&control_server, NULL);
		control_open_ok = 0;
	}
}

/*
 * One WebSocket client (SPEC §4.2–4.3, 4.7): authentication at open, the
 * message handlers, the send queue with its cap, liveness pings and the
 * token-expiry deadline.  The struct lives in the WebSocket layer's
 * per-connection memory, so it is kept small.
 */
#ifndef WSD_SESSION_H
#define WSD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "deadline.h"
#include "fqueue.h"

struct frame;
struct hub_sub;
struct session_wait;

enum session_state {
	SESSION_NEW = 0,	/* upgraded, not yet opened */
	SESSION_OPEN,		/* authenticated: messages are served */
	SESSION_CLOSING,	/* a close was asked: nothing more is sent */
};

struct session {
	void			*conn;		/* the WebSocket layer's handle */
	char			*user;
	struct session		*next, *prev;	/* every open session */
	struct session		*dirty_next;	/* sessions with frames to flush */
	struct hub_sub		*subs;
	struct session_wait	*wait;		/* a database answer, if awaited */
	struct fqueue		 q;		/* frames to write */
	int			 fd;		/* the socket, written directly */
	uint16_t		 nsubs;
	uint8_t			 state;
	uint8_t			 flags;
	uint8_t			 close_why;	/* once CLOSING */
	struct deadline		 expiry;	/* token exp */
};

/*
 * Why a session is closed: each is one close code and reason (an index,
 * not the pair, keeps struct session, and lws's per-connection chunk, small).
 */
enum session_close_why {
	SESSION_GOING_AWAY,		/* 1001 going away: drain */
	SESSION_PING_TIMEOUT,		/* 1001 ping timeout */
	SESSION_UNAUTHORIZED,		/* 1008 Unauthorized */
	SESSION_SLOW_CONSUMER,		/* 1008 slow consumer */
	SESSION_TOO_BIG,		/* 1009 Message too big */
	SESSION_WRITE_ERROR,		/* 1011 write error */
	/*
	 * The worker's rule for running out of memory (docs/worker.md): it
	 * stays with the peer it happened for, whose socket alone closes.
	 */
	SESSION_NO_MEMORY,		/* 1011 out of memory */
	SESSION_BACKLOG,		/* 1008 too many pending messages */
};

struct session_config {
	size_t		send_queue_max;		/* WS_SEND_QUEUE_MAX */
	unsigned	max_subscriptions;	/* WS_MAX_SUBSCRIPTIONS */
	uint64_t	ping_interval_ms;	/* WS_PING_INTERVAL_MS, 0 = off */
};	/* the verification keys are auth.c's (auth_keys_current) */

/* The credentials a request carried (any may be NULL). */
struct session_creds {
	const char	*query;		/* the URI's query string */
	const char	*authorization;	/* Authorization header */
	const char	*cookie;	/* Cookie header */
	const char	*remote;	/* peer address, for logs */
};

/*
 * The socket under a session, which session.c writes whole frames to
 * itself (plain TCP: wsd has no TLS) while lws has nothing of its own left
 * to send.  ws.c, above, sets these in ws_init, before any session opens.
 * write hands lws bytes that are already framed (the rest of a frame the
 * socket took part of); lws keeps what the socket does not take, and
 * buffered is true until it is out.  want_writable asks for one
 * session_writable() call when the socket can take more.  close sends a
 * close frame with code and reason: the connection ends when the peer
 * answers, or after a short wait once the frame is out (wait_secs while
 * it is stuck behind data the peer has not read); close_sent: that frame
 * left, wait less.  kill_after drops the connection after `secs` whatever
 * it does.
 */
struct session_conn_ops {
	int	(*fd)(void *conn);
	int	(*write)(void *conn, const void *buf, size_t len);
	int	(*buffered)(void *conn);
	void	(*want_writable)(void *conn);
	void	(*close)(void *conn, int code, const char *reason,
		    int wait_secs);
	void	(*close_sent)(void *conn);
	void	(*kill_after)(void *conn, int secs);
};
void	session_set_conn(const struct session_conn_ops *);

/* Also gives the hub its way to the sessions (hub_set_ops). */
int	session_init(uv_loop_t *, const struct session_config *);
void	session_shutdown(void);

/*
 * A socket finished its upgrade: authenticate.  On success the welcome is
 * queued; otherwise the socket is closed with 1008 Unauthorized.
 */
void	session_open(struct session *, void *conn, const struct session_creds *);
/* One complete client message. */
void	session_message(struct session *, const char *data, size_t len);
void	session_pong(struct session *);
/*
 * The socket is writable: flush; -1 means close it now with close_code
 * and close_reason.
 */
int	session_writable(struct session *);
/* The socket is gone (any reason): free everything. */
void	session_closed(struct session *, const char *remote);

/* Queue a shared frame (reference taken); -1 when not queued. */
int	session_send(struct session *, struct frame *);
/* Tell the socket that key's history was lost: {"type":"resync",…}. */
void	session_resync(struct session *, const char *key);
/* Close with code and reason (sent once the queue is handed over). */
void	session_close(struct session *, enum session_close_why);
/* Drain: close every session with 1001 going away. */
void	session_close_all(void);
/*
 * At exit: close every session and write what it still owes at once (its
 * queued frames and the 1001 close frame, as far as its socket takes
 * them), so a client left at the drain deadline sees a close frame, not a
 * dropped connection.
 */
void	session_close_now(void);
/*
 * During a drain, cb runs after each session is gone: one loop iteration
 * can handle thousands of closing handshakes before any timer runs, and
 * the worker must see its exit deadline meanwhile.  cb may exit.
 */
void	session_on_drain_close(void (*cb)(void));
/*
 * Drain, spread: from now on a new session is closed at once; close up to
 * n of the open ones (1001 going away); returns how many were closed.
 */
size_t	session_close_some(size_t n);
size_t	session_count(void);

#endif

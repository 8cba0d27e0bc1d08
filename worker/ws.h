/*
 * The WebSocket layer: the libwebsockets context on the worker's libuv loop,
 * adoption of sockets with a complete request, the protocol callback, and
 * the plain HTTP routes (426, /health, /metrics, POST /api/publish).  The only file that
 * includes libwebsockets; the rest of the worker sees a connection as an
 * opaque handle and the ws_conn_* calls below.
 */
#ifndef WSD_WS_H
#define WSD_WS_H

#include <stddef.h>

#include <uv.h>

struct bus;

struct ws_config {
	const char	*allowed_origins;	/* comma list, NULL/empty = any */
	const char	*api_key;		/* WS_API_KEY, NULL = no API */
	size_t		 max_message;		/* WS_MAX_MESSAGE */
	size_t		 max_publish;		/* POST body cap */
	int		 lws_log_level;		/* lws LLL_ bits, -1 = errors */
};

/* The longest request head served (431 beyond): NextAuth cookies are big. */
#define WS_MAX_HEAD	16384

int	ws_init(uv_loop_t *, const struct ws_config *, char **err);
/*
 * Swap ALLOWED_ORIGINS and WS_API_KEY at run time (a hot settings push):
 * owned copies, NULL/empty as in ws_config.  They decide the next
 * upgrade or request; nothing open is closed.  0, or -1 on ENOMEM with
 * the old values kept.
 */
int	ws_set_access(const char *allowed_origins, const char *api_key);
/* The bus /health and /metrics report on, or NULL (publishes: hub.h). */
void	ws_set_bus(struct bus *);
/*
 * Serve a socket whose request is complete (edge.c), taking the fd: the
 * request head (and any bytes sent after a handshake), the decoded body,
 * and the subprotocol the 101 selects (the first one offered) or NULL.
 */
int	ws_adopt(int fd, const char *head, size_t len, const char *body,
	    size_t body_len, const char *protocol);
/* Connections lws holds: upgrading, HTTP or WebSocket. */
size_t	ws_connection_count(void);
/* Destroy the context (closes every connection without a close frame). */
void	ws_destroy(void);

/*
 * For session.c, which writes whole frames to the socket itself (plain
 * TCP: wsd has no TLS) while lws has nothing of its own left to send.
 * conn_write hands lws bytes that are already framed (the rest of a frame
 * the socket took part of); lws keeps what the socket does not take, and
 * conn_buffered is true until it is out.  conn_want_writable asks for one
 * session_writable() call when the socket can take more.
 */
int	ws_conn_fd(void *conn);
int	ws_conn_write(void *conn, const void *buf, size_t len);
int	ws_conn_buffered(void *conn);
void	ws_conn_want_writable(void *conn);
/*
 * Send a close frame with code and reason; the connection ends when the
 * peer answers, or after a short wait once the frame is out (wait_secs
 * while it is stuck behind data the peer has not read).  wait_secs 0: no
 * wait of its own, the caller's deadline ends it (a drain: lws keeps its
 * timeouts in one sorted list, and a drain closing thousands of sockets
 * would walk it for each).
 */
void	ws_conn_close(void *conn, int code, const char *reason, int wait_secs);
/* The close frame left (it was stuck behind buffered data): wait less. */
void	ws_conn_close_sent(void *conn);
/* Drop the connection after `secs` whatever it does. */
void	ws_conn_kill_after(void *conn, int secs);

#endif

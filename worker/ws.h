/*
 * The WebSocket layer: the libwebsockets context on the worker's libuv loop,
 * adoption of sockets with a complete request, the protocol callback, and
 * the plain HTTP routes (426, /health, /metrics, POST /api/publish).  The only file that
 * includes libwebsockets; the rest of the worker sees a connection as an
 * opaque handle and the calls ws_init gives session.c
 * (struct session_conn_ops).
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

#endif

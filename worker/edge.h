/*
 * The handshake stage: every accepted socket belongs here until its HTTP
 * request is complete (httpreq.c), within WS_HANDSHAKE_TIMEOUT_MS and at
 * most WS_HANDSHAKE_PER_IP at a time per source address; only then is it
 * handed to libwebsockets with the bytes read.  A socket that trickles
 * its request costs a small buffer and a poll handle, never one of lws's
 * header buffers, so it cannot keep complete requests waiting.
 */
#ifndef WSD_EDGE_H
#define WSD_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <uv.h>

struct edge_config {
	uint64_t	timeout_ms;	/* WS_HANDSHAKE_TIMEOUT_MS */
	unsigned	per_ip;		/* WS_HANDSHAKE_PER_IP */
	size_t		max_head;	/* request head cap (431) */
	size_t		max_body;	/* request body cap (413) */
};

/*
 * A complete request: serve `fd` (taking it).  `head` is the request head
 * without its Sec-WebSocket-Protocol, Content-Length and Transfer-Encoding
 * lines (after a handshake, with the bytes the peer sent early), `body`
 * the decoded body or NULL, `protocol` the first subprotocol offered
 * (NUL-terminated) or NULL.
 */
typedef void (*edge_ready_cb)(int fd, const char *head, size_t len,
    const char *body, size_t body_len, const char *protocol);

int	edge_init(uv_loop_t *, const struct edge_config *, edge_ready_cb);
/* Take an accepted socket and its peer's address. */
void	edge_accept(int fd, const struct sockaddr *, socklen_t);
/* Handshakes in progress. */
size_t	edge_count(void);
/*
 * End every handshake in progress (exit): a request still arriving is
 * answered 503 with Retry-After, its input read, then closed.
 */
void	edge_close_all(void);

#endif

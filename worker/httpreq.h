/*
 * An incremental reader of one HTTP/1.1 request (head, then the body when
 * it has one), so the worker's edge hands libwebsockets only complete
 * requests.  It checks the WebSocket handshake fields lws would let
 * through (version, key, subprotocol) and says which status to answer
 * when the request is refused.  Pure: no I/O, no allocation.
 */
#ifndef WSD_HTTPREQ_H
#define WSD_HTTPREQ_H

#include <stddef.h>
#include <stdint.h>

#include "chunked.h"

#define HTTPREQ_STRIP_MAX	7	/* lines lws must not see */
#define HTTPREQ_PROTOCOL_MAX	128	/* longest subprotocol name */

enum httpreq_result {
	HTTPREQ_ERROR = -1,	/* refused: answer req->status */
	HTTPREQ_MORE = 0,	/* incomplete: feed more bytes */
	HTTPREQ_DONE = 1,	/* complete: req->total bytes */
};

enum httpreq_method {
	HTTPREQ_OTHER = 0,
	HTTPREQ_GET,
	HTTPREQ_POST,
};

/* A piece of the caller's buffer. */
struct httpreq_span {
	uint32_t	off;
	uint32_t	len;
};

struct httpreq {
	size_t			max_head;	/* bigger: 431 */
	size_t			max_body;	/* bigger: 413 */
	enum {
		HTTPREQ_S_HEAD,		/* looking for the empty line */
		HTTPREQ_S_BODY,		/* head parsed, body arriving */
		HTTPREQ_S_DONE,
		HTTPREQ_S_ERROR,
	}			state;
	size_t			scanned;	/* bytes searched for the end */
	size_t			head_len;	/* with the final CRLF CRLF */
	size_t			total;		/* head + body, once done */
	int			status;		/* on error: 400, 413, 426 … */
	const char		*error;		/* on error: why, for logs */

	enum httpreq_method	method;
	struct httpreq_span	path;
	int			websocket;	/* Upgrade: websocket */
	int			conn_upgrade;	/* Connection: upgrade */
	int			version;	/* Sec-WebSocket-Version, -1 */
	int			nkey;
	struct httpreq_span	key;
	struct httpreq_span	protocol;	/* first offered, len 0 none */
	/* Sec-WebSocket-Protocol, Content-Length, Transfer-Encoding, Expect */
	struct httpreq_span	strip[HTTPREQ_STRIP_MAX];
	size_t			nstrip;
	int64_t			content_length;	/* -1 when absent */
	int			chunked;
	int			expect_continue; /* Expect: 100-continue */
	struct chunked		ch;
	size_t			body_fed;	/* raw body bytes decoded */
	size_t			body_len;	/* decoded body bytes */
};

void	httpreq_init(struct httpreq *, size_t max_head, size_t max_body);
/*
 * `buf` holds every byte received so far (`len`, never fewer than at the
 * last call).  Only the new bytes are examined.  After HTTPREQ_DONE the
 * request is buf[0 .. req->total); bytes after it belong to the peer's
 * next message (WebSocket frames sent early).
 */
int	httpreq_feed(struct httpreq *, const char *buf, size_t len);
/* The reason phrase of a status httpreq can answer. */
const char *httpreq_reason(int status);

#endif

/* One HTTP/1.1 request read incrementally: head, handshake checks, body. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "httpreq.h"

/* Raw chunked framing may carry this much beyond the decoded body cap. */
#define HTTPREQ_CHUNK_SLACK	65536

/* A header's value at b[off .. off + len); its line starts at `line`. */
typedef int httpreq_header_fn(struct httpreq *, const char *b, size_t off,
    size_t len, size_t line);

/* A header: a handler, or a list whose `word` sets the int at `flag`. */
struct httpreq_header {
	const char		*name;
	httpreq_header_fn	*fn;
	const char		*word;
	size_t			 flag;
};

static httpreq_header_fn	httpreq_ws_version, httpreq_ws_key,
				httpreq_ws_protocol, httpreq_content_length,
				httpreq_transfer_encoding, httpreq_expect;

/* The headers the edge decides on; lws reads the rest itself. */
static const struct httpreq_header httpreq_headers[] = {
	{ "upgrade", NULL, "websocket", offsetof(struct httpreq, websocket) },
	{ "connection", NULL, "upgrade",
	    offsetof(struct httpreq, conn_upgrade) },
	{ "sec-websocket-version", httpreq_ws_version, NULL, 0 },
	{ "sec-websocket-key", httpreq_ws_key, NULL, 0 },
	{ "sec-websocket-protocol", httpreq_ws_protocol, NULL, 0 },
	{ "content-length", httpreq_content_length, NULL, 0 },
	{ "transfer-encoding", httpreq_transfer_encoding, NULL, 0 },
	{ "expect", httpreq_expect, NULL, 0 },
};

static const struct {
	int		 status;
	const char	*reason;
} httpreq_reasons[] = {
	{ 400, "Bad Request" },
	{ 408, "Request Timeout" },
	{ 413, "Payload Too Large" },
	{ 426, "Upgrade Required" },
	{ 431, "Request Header Fields Too Large" },
	{ 503, "Service Unavailable" },
};

const char *
httpreq_reason(int status)
{
	size_t	i;

	for (i = 0; i < sizeof httpreq_reasons / sizeof httpreq_reasons[0];
	    i++)
		if (httpreq_reasons[i].status == status)
			return httpreq_reasons[i].reason;
	return "Error";
}

void
httpreq_init(struct httpreq *r, size_t max_head, size_t max_body)
{
	memset(r, 0, sizeof *r);
	r->max_head = max_head;
	r->max_body = max_body;
	r->state = HTTPREQ_S_HEAD;
	r->version = -1;
	r->content_length = -1;
}

static int
httpreq_fail(struct httpreq *r, int status, const char *why)
{
	r->state = HTTPREQ_S_ERROR;
	r->status = status;
	r->error = why;
	return HTTPREQ_ERROR;
}

/* RFC 7230 tchar. */
static int
httpreq_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Call fn on each comma-separated element of a list value, trimmed; an
 * element fn refuses, or an empty one, stops the walk with -1.
 */
static int
httpreq_each(struct httpreq *r, const char *b, size_t off, size_t len,
    int (*fn)(struct httpreq *, const char *, size_t, size_t))
{
	size_t	s, e, end = off + len;

	for (s = off; s <= end; s = e + 1) {
		for (e = s; e < end && b[e] != ','; e++)
			;
		while (s < e && (b[s] == ' ' || b[s] == '\t'))
			s++;
		size_t t = e;
		while (t > s && (b[t - 1] == ' ' || b[t - 1] == '\t'))
			t--;
		if (t == s || fn(r, b, s, t - s) != 0)
			return -1;
		if (e == end)
			break;
	}
	return 0;
}

static int
httpreq_is(const char *b, size_t off, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(b + off, word, len) == 0;
}

/* Whether a comma-separated list holds `word` (any case): Upgrade, Connection. */
static int
httpreq_list_has(const char *b, size_t off, size_t len, const char *word)
{
	size_t	s, e, t, end = off + len;

	for (s = off; s < end; s = e + 1) {
		for (e = s; e < end && b[e] != ','; e++)
			;
		while (s < e && (b[s] == ' ' || b[s] == '\t'))
			s++;
		for (t = e; t > s && (b[t - 1] == ' ' || b[t - 1] == '\t'); t--)
			;
		if (httpreq_is(b, s, t - s, word))
			return 1;
	}
	return 0;
}

static int
httpreq_ws_version(struct httpreq *r, const char *b, size_t off, size_t len,
    size_t line)
{
	(void)line;
	/* only "13" is version 13; a repeated header is no version */
	r->version = r->version == -1 && httpreq_is(b, off, len, "13") ?
	    13 : 0;
	return 0;
}

/* The key must be the base64 of 16 bytes (what Node's ws checks too). */
static int
httpreq_ws_key(struct httpreq *r, const char *b, size_t off, size_t len,
    size_t line)
{
	size_t	i;

	(void)line;
	r->nkey++;
	r->key.off = (uint32_t)off;
	r->key.len = (uint32_t)len;
	if (len != 24 || b[off + 22] != '=' || b[off + 23] != '=')
		r->key.len = 0;
	for (i = 0; i < 22 && r->key.len != 0; i++) {
		unsigned char c = (unsigned char)b[off + i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			r->key.len = 0;
	}
	return 0;
}

static int
httpreq_protocol_token(struct httpreq *r, const char *b, size_t off,
    size_t len)
{
	size_t	i;

	if (len > HTTPREQ_PROTOCOL_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if (!httpreq_tchar((unsigned char)b[off + i]))
			return -1;
	if (r->protocol.len == 0) {
		r->protocol.off = (uint32_t)off;
		r->protocol.len = (uint32_t)len;
	}
	return 0;
}

/* Remember a line the edge takes out of what lws sees; its length follows. */
static int
httpreq_strip(struct httpreq *r, size_t line)
{
	if (r->nstrip == HTTPREQ_STRIP_MAX)
		return -1;
	r->strip[r->nstrip].off = (uint32_t)line;
	r->strip[r->nstrip].len = 0;	/* set by httpreq_header_line() */
	r->nstrip++;
	return 0;
}

/* lws 4.1 drops a connection offering only names it does not serve. */
static int
httpreq_ws_protocol(struct httpreq *r, const char *b, size_t off, size_t len,
    size_t line)
{
	if (httpreq_strip(r, line) != 0)
		return -1;
	return httpreq_each(r, b, off, len, httpreq_protocol_token);
}

static int
httpreq_content_length(struct httpreq *r, const char *b, size_t off,
    size_t len, size_t line)
{
	int64_t	v = 0;
	size_t	i;

	/* the edge hands lws the body apart: lws 4.1 misreads one */
	if (len == 0 || len > 18 || r->content_length != -1 ||
	    httpreq_strip(r, line) != 0)
		return -1;	/* repeated: which one would lws believe? */
	for (i = 0; i < len; i++) {
		if (b[off + i] < '0' || b[off + i] > '9')
			return -1;
		v = v * 10 + (b[off + i] - '0');
	}
	r->content_length = v;
	return 0;
}

static int
httpreq_transfer_encoding(struct httpreq *r, const char *b, size_t off,
    size_t len, size_t line)
{
	if (r->chunked || !httpreq_is(b, off, len, "chunked") ||
	    httpreq_strip(r, line) != 0)
		return -1;
	r->chunked = 1;
	return 0;
}

/* The edge answers 100 Continue itself, as it reads the body. */
static int
httpreq_expect(struct httpreq *r, const char *b, size_t off, size_t len,
    size_t line)
{
	if (!httpreq_list_has(b, off, len, "100-continue"))
		return 0;
	r->expect_continue = 1;
	return httpreq_strip(r, line);
}

static const char *
httpreq_method_names[] = {
	[HTTPREQ_GET] = "GET",
	[HTTPREQ_POST] = "POST",
};

/* "METHOD /target HTTP/1.x" */
static int
httpreq_request_line(struct httpreq *r, const char *b, size_t len)
{
	size_t	i, m, p;

	for (m = 0; m < len && httpreq_tchar((unsigned char)b[m]); m++)
		;
	if (m == 0 || m >= len || b[m] != ' ')
		return httpreq_fail(r, 400, "bad method");
	for (i = HTTPREQ_GET; i <= HTTPREQ_POST; i++)
		if (strlen(httpreq_method_names[i]) == m &&
		    memcmp(b, httpreq_method_names[i], m) == 0)
			r->method = (enum httpreq_method)i;
	p = m + 1;
	if (p >= len || b[p] != '/')
		return httpreq_fail(r, 400, "bad request target");
	for (i = p; i < len && b[i] != ' '; i++)
		if ((unsigned char)b[i] <= 0x20 || b[i] == 0x7f)
			return httpreq_fail(r, 400, "bad request target");
	r->path.off = (uint32_t)p;
	r->path.len = (uint32_t)(i - p);
	if (len - i != 9 || memcmp(b + i, " HTTP/1.", 8) != 0 ||
	    (b[i + 8] != '0' && b[i + 8] != '1'))
		return httpreq_fail(r, 400, "bad HTTP version");
	return 0;
}

/* One "Name: value" line (without its CRLF) at b[s .. e). */
static int
httpreq_header_line(struct httpreq *r, const char *b, size_t s, size_t e)
{
	const struct httpreq_header	*h;
	size_t				 n, v, t, i;

	for (n = s; n < e && httpreq_tchar((unsigned char)b[n]); n++)
		;
	if (n == s || n == e || b[n] != ':')
		return httpreq_fail(r, 400, "bad header line");
	for (i = n + 1; i < e; i++)
		if (((unsigned char)b[i] < 0x20 && b[i] != '\t') ||
		    b[i] == 0x7f)
			return httpreq_fail(r, 400, "control byte in a "
			    "header");
	for (v = n + 1; v < e && (b[v] == ' ' || b[v] == '\t'); v++)
		;
	for (t = e; t > v && (b[t - 1] == ' ' || b[t - 1] == '\t'); t--)
		;
	for (i = 0; i < sizeof httpreq_headers / sizeof httpreq_headers[0];
	    i++) {
		h = &httpreq_headers[i];
		if (!httpreq_is(b, s, n - s, h->name))
			continue;
		if (h->fn == NULL) {
			*(int *)(void *)((char *)r + h->flag) |=
			    httpreq_list_has(b, v, t - v, h->word);
			break;
		}
		if (h->fn(r, b, v, t - v, s) != 0)
			return httpreq_fail(r, 400, "bad header value");
		if (r->nstrip > 0 && r->strip[r->nstrip - 1].off == s &&
		    r->strip[r->nstrip - 1].len == 0)
			r->strip[r->nstrip - 1].len = (uint32_t)(e + 2 - s);
		break;
	}
	return 0;
}

/* What a complete handshake must carry, RFC 6455 §4.2.1. */
static int
httpreq_handshake(struct httpreq *r)
{
	if (r->method != HTTPREQ_GET || !r->conn_upgrade)
		return httpreq_fail(r, 400, "bad upgrade request");
	if (r->version != 13)
		return httpreq_fail(r, 426, "unsupported WebSocket version");
	if (r->nkey != 1 || r->key.len == 0)
		return httpreq_fail(r, 400, "bad Sec-WebSocket-Key");
	if (r->content_length > 0 || r->chunked)
		return httpreq_fail(r, 400, "body on an upgrade");
	return 0;
}

static int
httpreq_head(struct httpreq *r, const char *b)
{
	size_t	s, e, end = r->head_len - 2;	/* the last CRLF ends it */

	for (e = 0; b[e] != '\r'; e++)
		;
	if (b[e + 1] != '\n')
		return httpreq_fail(r, 400, "bare CR");
	if (httpreq_request_line(r, b, e) != 0)
		return HTTPREQ_ERROR;
	for (s = e + 2; s < end; s = e + 2) {
		for (e = s; b[e] != '\r'; e++)
			if (b[e] == '\n')
				return httpreq_fail(r, 400, "bare LF");
		if (b[e + 1] != '\n')
			return httpreq_fail(r, 400, "bare CR");
		if (httpreq_header_line(r, b, s, e) != 0)
			return HTTPREQ_ERROR;
	}
	if (r->content_length >= 0 && r->chunked)
		return httpreq_fail(r, 400, "both Content-Length and chunked");
	if (r->websocket)
		return httpreq_handshake(r) == 0 ? 0 : HTTPREQ_ERROR;
	if (r->content_length > (int64_t)r->max_body)
		return httpreq_fail(r, 413, "body too large");
	return 0;
}

static int
httpreq_body(struct httpreq *r, const char *buf, size_t len)
{
	size_t	have = len - r->head_len;
	int	c;

	if (r->chunked) {
		c = chunked_feed(&r->ch, buf + r->head_len + r->body_fed,
		    have - r->body_fed, NULL, &r->body_len, r->max_body);
		if (c == -2 || (c == 0 &&
		    have > r->max_body + HTTPREQ_CHUNK_SLACK))
			return httpreq_fail(r, 413, "body too large");
		if (c < 0)
			return httpreq_fail(r, 400, "bad chunked body");
		if (c == 0) {
			r->body_fed = have;
			return HTTPREQ_MORE;
		}
		/* bytes after the last chunk are not this request's */
		r->total = r->head_len + r->body_fed + r->ch.used;
	} else {
		if (r->content_length > 0 &&
		    have < (size_t)r->content_length)
			return HTTPREQ_MORE;
		r->total = r->head_len + (r->content_length > 0 ?
		    (size_t)r->content_length : 0);
	}
	r->state = HTTPREQ_S_DONE;
	return HTTPREQ_DONE;
}

int
httpreq_feed(struct httpreq *r, const char *buf, size_t len)
{
	const char	*p;
	size_t		 from;

	switch (r->state) {
	case HTTPREQ_S_DONE:
		return HTTPREQ_DONE;
	case HTTPREQ_S_ERROR:
		return HTTPREQ_ERROR;
	case HTTPREQ_S_BODY:
		return httpreq_body(r, buf, len);
	case HTTPREQ_S_HEAD:
		break;
	}
	/* not a request at all (TLS, binary): no need to wait for more */
	if (len > 0 && !httpreq_tchar((unsigned char)buf[0]))
		return httpreq_fail(r, 400, "not an HTTP request");
	from = r->scanned > 3 ? r->scanned - 3 : 0;
	p = len > from ? memmem(buf + from, len - from, "\r\n\r\n", 4) : NULL;
	if (p == NULL) {
		r->scanned = len;
		if (len > r->max_head)
			return httpreq_fail(r, 431, "request head too large");
		return HTTPREQ_MORE;
	}
	r->head_len = (size_t)(p - buf) + 4;
	if (r->head_len > r->max_head)
		return httpreq_fail(r, 431, "request head too large");
	if (httpreq_head(r, buf) != 0)
		return HTTPREQ_ERROR;
	if (r->chunked)
		chunked_init(&r->ch);
	r->state = HTTPREQ_S_BODY;
	return httpreq_body(r, buf, len);
}

/*
 * The client engine: non-blocking sockets on one epoll, each speaking just
 * enough RFC 6455 to be a browser tab of fonana (upgrade with ?token=,
 * masked text frames, pong, close).
 *
 * Reads go through one shared 256 KiB buffer; a connection keeps only the
 * bytes of a frame that is not complete yet, so 10 000 idle clients cost
 * the generator almost nothing.  Writes are small (the upgrade request, a
 * subscribe, a pong, a close) and are buffered only when the kernel takes
 * less than all of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "jwtmint.h"
#include "wsbench.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

const char *const wb_fail_names[WB_NFAIL] = {
	"ok", "refused", "reset", "handshake", "no_welcome", "subscribe",
	"timeout", "other"
};

static char		 engine_buf[256 * 1024];
static uint64_t		 engine_rng = 0x9e3779b97f4a7c15ULL;

int64_t
wb_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t
wb_realtime(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint32_t
engine_rand32(void)
{
	/* xorshift64*: masks need not be secret here, only non-constant. */
	engine_rng ^= engine_rng >> 12;
	engine_rng ^= engine_rng << 25;
	engine_rng ^= engine_rng >> 27;
	return (uint32_t)((engine_rng * 2685821657736338717ULL) >> 32);
}

/* Finds "name" : and returns the position after the colon and spaces. */
static const char *
engine_json_member(const char *s, size_t len, const char *name)
{
	const char	*end = s + len, *p = s;
	size_t		 nl = strlen(name);

	while (p < end) {
		const char *q = memmem(p, (size_t)(end - p), name, nl);

		if (q == NULL)
			return NULL;
		p = q + nl;
		if (q > s && q[-1] == '"' && p < end && *p == '"') {
			p++;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (p < end && *p == ':') {
				p++;
				while (p < end && (*p == ' ' || *p == '\t'))
					p++;
				return p;
			}
		}
	}
	return NULL;
}

/* Does the first "type" member of a JSON text equal value? */
int
wb_json_type_is(const char *s, size_t len, const char *value)
{
	const char	*p = engine_json_member(s, len, "type");
	size_t		 vl = strlen(value);

	if (p == NULL || (size_t)(s + len - p) < vl + 2)
		return 0;
	return p[0] == '"' && memcmp(p + 1, value, vl) == 0 && p[vl + 1] == '"';
}

/* The integer value of the first member called name. */
int
wb_json_int(const char *s, size_t len, const char *name, int64_t *out)
{
	const char	*p = engine_json_member(s, len, name), *end = s + len;
	int64_t		 v = 0;
	int		 neg = 0, digits = 0;

	if (p == NULL)
		return -1;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	while (p < end && *p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

int
wb_engine_init(struct wb_engine *e)
{
	uint64_t	seed;

	if ((e->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if (e->path == NULL)
		e->path = "/";
	if (e->src_first == 0) {
		e->src_first = 2;
		e->src_last = 250;
	}
	e->src_next = e->src_first;
	if (e->users == 0)
		e->users = 1;
	if (e->user_prefix == NULL)
		e->user_prefix = "bench";
	if ((e->tokens = calloc(e->users, sizeof *e->tokens)) == NULL)
		return -1;
	if (RAND_bytes((unsigned char *)&seed, sizeof seed) == 1 && seed != 0)
		engine_rng = seed;
	return 0;
}

static void
engine_set_events(struct wb_engine *e, struct wb_conn *c, uint32_t ev)
{
	struct epoll_event	ee;

	if (c->events == ev)
		return;
	memset(&ee, 0, sizeof ee);
	ee.events = ev;
	ee.data.ptr = c;
	epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ee);
	c->events = ev;
}

static void
engine_unlink(struct wb_engine *e, struct wb_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		e->live = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	e->nlive--;
}

static void
engine_free_conn(struct wb_engine *e, struct wb_conn *c)
{
	if (c->fd != -1)
		close(c->fd);	/* also removes it from the epoll set */
	engine_unlink(e, c);
	free(c->out);
	free(c->rest);
	free(c->frag);
	free(c);
}

/* A failure before READY: count it, tell the mode, drop the connection. */
static void
engine_fail(struct wb_engine *e, struct wb_conn *c, enum wb_fail why)
{
	if (c->state == WB_PROBING) {
		if (e->hooks.probe_cb != NULL)
			e->hooks.probe_cb(c, -1);
		engine_free_conn(e, c);
		return;
	}
	if (c->state < WB_READY) {
		e->fails[why]++;
		e->inflight--;
		if (e->hooks.fail_cb != NULL)
			e->hooks.fail_cb(c, why);
	} else if (c->state == WB_READY && e->hooks.done_cb != NULL)
		e->hooks.done_cb(c);
	engine_free_conn(e, c);
}

static enum wb_fail
engine_errno_fail(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return WB_REFUSED;
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return WB_RESET;
	case ETIMEDOUT:
		return WB_TIMEOUT;
	default:
		return WB_OTHER;
	}
}

/* Writes (or queues) raw bytes; -1 when the socket is broken. */
static int
engine_write(struct wb_engine *e, struct wb_conn *c, const char *p, size_t n)
{
	ssize_t	w = 0;

	if (c->outlen == c->outoff) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			w = 0;
		}
		if ((size_t)w == n)
			return 0;
	}
	{
		size_t	 left = n - (size_t)w;
		char	*nb = realloc(c->out, c->outlen - c->outoff + left);

		if (nb == NULL)
			return -1;
		memmove(nb, nb + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
		memcpy(nb + c->outlen, p + w, left);
		c->outlen += left;
		c->out = nb;
	}
	engine_set_events(e, c, EPOLLIN | EPOLLOUT);
	return 0;
}

/* A masked client frame (RFC 6455 §5.3). */
static int
engine_frame(struct wb_engine *e, struct wb_conn *c, int op, const char *p,
    size_t n)
{
	char		 small[512], *f = small;
	size_t		 h = 2, i;
	uint32_t	 m = engine_rand32();
	unsigned char	 mask[4];
	int		 r;

	if (n >= 126)
		h += n > 0xffff ? 8 : 2;
	if (h + 4 + n > sizeof small && (f = malloc(h + 4 + n)) == NULL)
		return -1;
	f[0] = (char)(0x80 | op);
	if (n < 126)
		f[1] = (char)(0x80 | n);
	else if (n <= 0xffff) {
		f[1] = (char)(0x80 | 126);
		f[2] = (char)(n >> 8);
		f[3] = (char)n;
	} else {
		f[1] = (char)(0x80 | 127);
		for (i = 0; i < 8; i++)
			f[2 + i] = (char)((uint64_t)n >> (56 - 8 * i));
	}
	memcpy(mask, &m, 4);
	memcpy(f + h, mask, 4);
	for (i = 0; i < n; i++)
		f[h + 4 + i] = (char)(p[i] ^ mask[i & 3]);
	r = engine_write(e, c, f, h + 4 + n);
	if (f != small)
		free(f);
	return r;
}

int
wb_send_text(struct wb_engine *e, struct wb_conn *c, const char *p, size_t n)
{
	return engine_frame(e, c, 0x1, p, n);
}

int
wb_close(struct wb_engine *e, struct wb_conn *c, int graceful)
{
	static const char	code[2] = { 0x03, (char)0xe8 };	/* 1000 */

	if (graceful && c->state == WB_READY) {
		if (e->hooks.done_cb != NULL)
			e->hooks.done_cb(c);
		c->state = WB_CLOSING;
		c->deadline = wb_now() + 2000000000LL;
		if (engine_frame(e, c, 0x8, code, 2) == 0)
			return 0;
	} else if (c->state == WB_READY && e->hooks.done_cb != NULL)
		e->hooks.done_cb(c);
	engine_free_conn(e, c);
	return -1;
}

static const char *
engine_token(struct wb_engine *e, uint32_t u)
{
	char	user[96];
	int64_t	now = wb_realtime() / 1000000000LL;

	if (e->tokens[u] == NULL) {
		snprintf(user, sizeof user, "%s%u", e->user_prefix,
		    e->user_base + u);
		e->tokens[u] = jwt_mint_hs256(e->secret, e->secretlen, user,
		    now, now + 24 * 3600);
	}
	return e->tokens[u];
}

static int
engine_send_upgrade(struct wb_engine *e, struct wb_conn *c)
{
	unsigned char	 raw[16];
	char		 req[2048];
	const char	*tok;
	uint32_t	 u = c->id % e->users;
	int		 n;

	if (c->state == WB_PROBING) {
		n = snprintf(req, sizeof req, "GET /health HTTP/1.1\r\n"
		    "Host: %s:%u\r\nConnection: close\r\n\r\n", e->host,
		    e->port);
		return engine_write(e, c, req, (size_t)n);
	}
	if ((tok = engine_token(e, u)) == NULL)
		return -1;
	RAND_bytes(raw, sizeof raw);
	EVP_EncodeBlock((unsigned char *)c->key, raw, sizeof raw);
	n = snprintf(req, sizeof req,
	    "GET %s%stoken=%s HTTP/1.1\r\n"
	    "Host: %s:%u\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n",
	    e->path, strchr(e->path, '?') ? "&" : "?", tok, e->host, e->port,
	    c->key);
	if (n < 0 || (size_t)n >= sizeof req)
		return -1;
	c->state = WB_UPGRADING;
	return engine_write(e, c, req, (size_t)n);
}

int
wb_connect(struct wb_engine *e, int probe)
{
	struct wb_conn		*c;
	struct sockaddr_in	 src, dst;
	struct epoll_event	 ee;
	int			 one = 1, fd;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return -1;
	c->id = e->next_id++;
	c->state = probe ? WB_PROBING : WB_CONNECTING;
	c->t_start = wb_now();
	c->deadline = c->t_start + e->timeout_ns;
	c->fd = -1;
	c->close_after_welcome = e->close_after_welcome;
	c->next = e->live;
	if (e->live != NULL)
		e->live->prev = c;
	e->live = c;
	e->nlive++;
	if (!probe)
		e->inflight++;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		engine_fail(e, c, WB_OTHER);
		return -1;
	}
	c->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/*
	 * One source address per connection, round robin over 127.0.0.2-250:
	 * each address has its own ephemeral port range, so 50 000 clients
	 * never run out of ports; the port is chosen at connect() time.
	 */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)e->src_next);
	if (++e->src_next > e->src_last)
		e->src_next = e->src_first;
	if (bind(fd, (struct sockaddr *)&src, sizeof src) == -1) {
		engine_fail(e, c, WB_OTHER);
		return -1;
	}
	memset(&dst, 0, sizeof dst);
	dst.sin_family = AF_INET;
	dst.sin_port = htons(e->port);
	inet_pton(AF_INET, e->host, &dst.sin_addr);
	memset(&ee, 0, sizeof ee);
	ee.events = EPOLLIN | EPOLLOUT;
	ee.data.ptr = c;
	c->events = ee.events;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ee) == -1) {
		engine_fail(e, c, WB_OTHER);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof dst) == -1 &&
	    errno != EINPROGRESS) {
		engine_fail(e, c, engine_errno_fail(errno));
		return -1;
	}
	return 0;
}

/* The 101 response: status line and Sec-WebSocket-Accept. */
static int
engine_check_upgrade(struct wb_conn *c, const char *h, size_t n)
{
	static const char	 guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char		 sha[SHA_DIGEST_LENGTH];
	char			 cat[80], want[40];
	const char		*p, *end = h + n;
	size_t			 kl = strlen(c->key);

	if (n < 12 || memcmp(h, "HTTP/1.1 101", 12) != 0)
		return -1;
	memcpy(cat, c->key, kl);
	memcpy(cat + kl, guid, sizeof guid - 1);
	SHA1((unsigned char *)cat, kl + sizeof guid - 1, sha);
	EVP_EncodeBlock((unsigned char *)want, sha, sizeof sha);
	for (p = h; p < end; p++) {
		if ((p == h || p[-1] == '\n') && (size_t)(end - p) > 21 &&
		    strncasecmp(p, "Sec-WebSocket-Accept:", 21) == 0) {
			p += 21;
			while (p < end && *p == ' ')
				p++;
			return (size_t)(end - p) >= strlen(want) &&
			    memcmp(p, want, strlen(want)) == 0 ? 0 : -1;
		}
	}
	return -1;
}

static void
engine_ready(struct wb_engine *e, struct wb_conn *c)
{
	c->state = WB_READY;
	c->deadline = 0;
	e->inflight--;
	if (e->hooks.ready_cb != NULL)
		e->hooks.ready_cb(c);
}

/* A complete text message; returns -1 when c was freed. */
static int
engine_text(struct wb_engine *e, struct wb_conn *c, const char *p, size_t n)
{
	char	sub[512];
	int	len;

	switch (c->state) {
	case WB_WELCOME:
		if (!wb_json_type_is(p, n, "connected"))
			return 0;	/* not the welcome: keep waiting */
		if (e->subscribe == NULL && e->sub_fmt == NULL) {
			engine_ready(e, c);
			break;
		}
		if (e->sub_fmt != NULL) {
			char user[96];

			snprintf(user, sizeof user, "%s%u", e->user_prefix,
			    e->user_base + c->id % e->users);
			len = snprintf(sub, sizeof sub, e->sub_fmt, user);
		} else
			len = snprintf(sub, sizeof sub, "%s", e->subscribe);
		c->state = WB_SUBSCRIBING;
		if (wb_send_text(e, c, sub, (size_t)len) == -1) {
			engine_fail(e, c, WB_RESET);
			return -1;
		}
		break;
	case WB_SUBSCRIBING:
		if (wb_json_type_is(p, n, "subscribed"))
			engine_ready(e, c);
		else if (wb_json_type_is(p, n, "error")) {
			engine_fail(e, c, WB_SUBSCRIBE);
			return -1;
		}
		break;
	case WB_READY:
		if (e->hooks.text_cb != NULL)
			e->hooks.text_cb(c, p, n);
		break;
	default:
		break;
	}
	if (c->state == WB_READY && c->close_after_welcome)
		return wb_close(e, c, 1);
	return 0;
}

/*
 * Parses the frames in buf; returns the number of bytes consumed, or -1
 * when the connection was freed.
 */
static ssize_t
engine_frames(struct wb_engine *e, struct wb_conn *c, char *buf, size_t n)
{
	size_t	off = 0;

	while (n - off >= 2) {
		unsigned char	*h = (unsigned char *)buf + off;
		int		 fin = h[0] & 0x80, op = h[0] & 0x0f;
		int		 masked = h[1] & 0x80;
		uint64_t	 len = h[1] & 0x7f;
		size_t		 hl = 2, i;
		char		*pl;

		if (len == 126) {
			if (n - off < 4)
				break;
			len = ((uint64_t)h[2] << 8) | h[3];
			hl = 4;
		} else if (len == 127) {
			if (n - off < 10)
				break;
			len = 0;
			for (i = 0; i < 8; i++)
				len = (len << 8) | h[2 + i];
			hl = 10;
		}
		if (masked)
			hl += 4;
		if (len > (64u << 20)) {
			engine_fail(e, c, WB_HANDSHAKE);
			return -1;
		}
		if (n - off < hl + len)
			break;
		pl = buf + off + hl;
		if (masked)
			for (i = 0; i < len; i++)
				pl[i] ^= (char)h[hl - 4 + (i & 3)];
		off += hl + (size_t)len;

		switch (op) {
		case 0x0:	/* continuation */
		case 0x1:
		case 0x2:
			if (!fin || c->frag != NULL) {
				char *nf = realloc(c->frag, c->fraglen + len + 1);

				if (nf == NULL) {
					engine_fail(e, c, WB_OTHER);
					return -1;
				}
				memcpy(nf + c->fraglen, pl, len);
				c->frag = nf;
				c->fraglen += len;
				if (op != 0)
					c->fragop = (uint8_t)op;
				if (!fin)
					break;
				pl = c->frag;
				len = c->fraglen;
				c->frag = NULL;
				c->fraglen = 0;
				if (engine_text(e, c, pl, len) == -1) {
					free(pl);
					return -1;
				}
				free(pl);
				break;
			}
			if (engine_text(e, c, pl, len) == -1)
				return -1;
			break;
		case 0x8:	/* close */
			if (c->state == WB_CLOSING) {
				engine_free_conn(e, c);
				return -1;
			}
			engine_fail(e, c, c->state == WB_SUBSCRIBING ?
			    WB_SUBSCRIBE : WB_NOWELCOME);
			return -1;
		case 0x9:	/* ping */
			if (engine_frame(e, c, 0xA, pl, len) == -1) {
				engine_fail(e, c, WB_RESET);
				return -1;
			}
			break;
		default:	/* pong */
			break;
		}
	}
	return (ssize_t)off;
}

/* The /health body of a probe: its "pid". */
static int
engine_probe_input(struct wb_engine *e, struct wb_conn *c, char *buf,
    size_t n)
{
	const char	*body = memmem(buf, n, "\r\n\r\n", 4);
	int64_t		 pid;

	if (body != NULL && wb_json_int(body, (size_t)(buf + n - body), "pid",
	    &pid) == 0) {
		const char *p = memmem(body, (size_t)(buf + n - body), "\"pid\"", 5);
		/* The number must be followed by something: it is complete. */
		while (p < buf + n && *p != ':')
			p++;
		p++;
		while (p < buf + n && (*p == ' ' || (*p >= '0' && *p <= '9')))
			p++;
		if (p < buf + n) {
			if (e->hooks.probe_cb != NULL)
				e->hooks.probe_cb(c, (long)pid);
			engine_free_conn(e, c);
			return -1;
		}
	}
	return 0;
}

/* One read per readiness event (epoll is level-triggered). */
static void
engine_input(struct wb_engine *e, struct wb_conn *c)
{
	size_t	have = c->restlen;
	ssize_t	r, used = 0, f;

	if (have >= sizeof engine_buf / 2) {
		engine_fail(e, c, WB_HANDSHAKE);	/* a huge header */
		return;
	}
	if (have > 0)
		memcpy(engine_buf, c->rest, have);
	r = recv(c->fd, engine_buf + have, sizeof engine_buf - have, 0);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (r <= 0) {
		if (c->state == WB_PROBING) {
			if (engine_probe_input(e, c, engine_buf, have) == 0)
				engine_fail(e, c, WB_RESET);
			return;
		}
		if (c->state == WB_CLOSING) {
			engine_free_conn(e, c);
			return;
		}
		engine_fail(e, c, r == 0 ? WB_RESET : engine_errno_fail(errno));
		return;
	}
	have += (size_t)r;
	if (c->state == WB_PROBING) {
		if (engine_probe_input(e, c, engine_buf, have) == -1)
			return;
		goto keep;
	}
	if (c->state == WB_UPGRADING) {
		char *end = memmem(engine_buf, have, "\r\n\r\n", 4);

		if (end == NULL)
			goto keep;
		if (engine_check_upgrade(c, engine_buf,
		    (size_t)(end - engine_buf)) == -1) {
			engine_fail(e, c, WB_HANDSHAKE);
			return;
		}
		used = end + 4 - engine_buf;
		c->state = WB_WELCOME;
	}
	if ((f = engine_frames(e, c, engine_buf + used, have - (size_t)used)) ==
	    -1)
		return;
	used += f;
	memmove(engine_buf, engine_buf + used, have - (size_t)used);
	have -= (size_t)used;
keep:
	/* Keep the incomplete tail. */
	if (have == 0) {
		free(c->rest);
		c->rest = NULL;
	} else {
		char *nr = realloc(c->rest, have);

		if (nr == NULL) {
			engine_fail(e, c, WB_OTHER);
			return;
		}
		c->rest = nr;
		memcpy(c->rest, engine_buf, have);
	}
	c->restlen = have;
}

/* Connect completion and queued bytes; -1 when c was freed. */
static int
engine_output(struct wb_engine *e, struct wb_conn *c)
{
	int		err = 0;
	socklen_t	el = sizeof err;
	ssize_t		w;

	if (!c->connected) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 ||
		    err != 0) {
			engine_fail(e, c, engine_errno_fail(err ? err : errno));
			return -1;
		}
		c->connected = 1;
		engine_set_events(e, c, EPOLLIN);
		if (engine_send_upgrade(e, c) == -1) {
			engine_fail(e, c, WB_RESET);
			return -1;
		}
		return 0;
	}
	while (c->outoff < c->outlen) {
		w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			engine_fail(e, c, engine_errno_fail(errno));
			return -1;
		}
		c->outoff += (size_t)w;
	}
	c->outoff = c->outlen = 0;
	engine_set_events(e, c, EPOLLIN);
	return 0;
}

int
wb_poll(struct wb_engine *e, int timeout_ms)
{
	struct epoll_event	 ev[512];
	int			 n, i;

	n = epoll_wait(e->epfd, ev, 512, timeout_ms);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	/*
	 * A connection freed while handling an event of this batch cannot
	 * appear later in it: each fd is in a batch once, and only the
	 * connection being handled is ever freed.
	 */
	for (i = 0; i < n; i++) {
		struct wb_conn	*c = ev[i].data.ptr;
		uint32_t	 what = ev[i].events;

		if (!c->connected) {
			engine_output(e, c);
			continue;
		}
		if ((what & EPOLLOUT) && engine_output(e, c) == -1)
			continue;
		if (what & (EPOLLIN | EPOLLERR | EPOLLHUP))
			engine_input(e, c);
	}
	return n;
}

/* Fails every connection past its deadline (call every ~50 ms). */
void
wb_expire(struct wb_engine *e)
{
	struct wb_conn	*c, *next;
	int64_t		 now = wb_now();

	for (c = e->live; c != NULL; c = next) {
		next = c->next;
		if (c->deadline == 0 || c->deadline > now)
			continue;
		if (c->state == WB_CLOSING)
			engine_free_conn(e, c);
		else
			engine_fail(e, c, WB_TIMEOUT);
	}
}

void
wb_engine_free(struct wb_engine *e)
{
	uint32_t	i;

	while (e->live != NULL)
		engine_free_conn(e, e->live);
	if (e->tokens != NULL) {
		for (i = 0; i < e->users; i++)
			free(e->tokens[i]);
		free(e->tokens);
	}
	if (e->epfd != -1)
		close(e->epfd);
}

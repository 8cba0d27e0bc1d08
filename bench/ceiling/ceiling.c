/*
 * ceiling: the naive ceiling of SPEC §6, the server wsworker's fan-out is
 * measured against.  One thread, one level-triggered epoll, no JWT check,
 * and each Redis message framed once and written with one write() per
 * subscriber socket.
 *
 *   ceiling --port PORT [--redis HOST:PORT]
 *
 * It speaks just enough of the worker's protocol for wsbench: the upgrade
 * (any token is taken; its user is read, not verified, for the welcome),
 * the same welcome, subscribe / unsubscribe / ping replies, WebSocket ping
 * and close, GET /health with the pid.  Channel keys are the worker's
 * (post_<id>, notifications_<id> …) and the Redis channels "ws:<key>",
 * subscribed while a key has subscribers.  Nothing here is a product: a
 * dead Redis link ends the process, unknown input closes the connection.
 *
 * Memory: one struct conn per descriptor in an array sized to the
 * open-files limit (calloc'd, so a page costs only once a connection
 * touches it), an int per subscriber in its key's array, and a 16-byte
 * node per subscription; buffers only while input or output is partial.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "frame.h"		/* the worker's frame header encoder */

#define CEIL_PREFIX	"ws:"
#define CEIL_HDR_MAX	8192		/* an upgrade request larger is refused */
#define CEIL_MSG_MAX	65536		/* a client frame larger closes */
#define CEIL_OUT_MAX	(4u << 20)	/* a consumer this far behind is cut */
#define CEIL_KEY_MAX	256

/* Descriptors that are not clients, told apart in epoll's data. */
#define TAG_LISTEN	(-1)
#define TAG_REDIS	(-2)
#define TAG_SIGNAL	(-3)

enum conn_state {
	CONN_FREE,	/* no connection on this descriptor */
	CONN_HTTP,	/* reading the upgrade (or /health) request */
	CONN_OPEN,	/* upgraded: frames both ways */
};

/* Partial input or unsent output; most connections never have one. */
struct conn_io {
	char		*in;
	size_t		 inlen;
	char		*out;
	size_t		 outlen, outoff;
};

struct key;

struct keyref {
	struct keyref	*next;
	struct key	*k;
};

struct conn {
	struct conn_io	*io;
	struct keyref	*keys;		/* what this connection subscribed */
	uint8_t		 state;
	uint8_t		 pollout;	/* EPOLLOUT registered */
};

struct key {
	struct key	*next;		/* hash chain */
	uint32_t	 hash;
	int		*fds;		/* subscribers, in no order */
	uint32_t	 n, cap;
	int		 busy;		/* being fanned out: do not free */
	char		 name[];
};

static struct {
	int		 epfd, lfd, rfd, sfd;
	struct conn	*conns;		/* indexed by descriptor */
	int		 nconns;
	struct key	**tab;
	size_t		 tabsize, nkeys;
	redisReader	*reader;
	char		*rout;		/* unsent Redis commands */
	size_t		 routlen, routoff;
	int		 rpollout;
	int		 stop;
	uint64_t	 events, deliveries, queued, cut;
} cl;

static char	buf[256 * 1024];	/* every read goes through here */

static void	conn_close(int);

static void
usage(void)
{
	fprintf(stderr, "usage: ceiling --port PORT [--redis HOST:PORT]\n");
	exit(64);
}

static void
epoll_set(int fd, int tag, uint32_t ev, int op)
{
	struct epoll_event	ee;

	memset(&ee, 0, sizeof ee);
	ee.events = ev;
	ee.data.fd = tag;
	if (epoll_ctl(cl.epfd, op, fd, &ee) == -1 && op != EPOLL_CTL_DEL) {
		fprintf(stderr, "ceiling: epoll_ctl: %s\n", strerror(errno));
		exit(1);
	}
}

/* ---- keys ------------------------------------------------------------ */

static uint32_t
key_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;

	while (len-- > 0) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static struct key *
key_find(const char *name, size_t len, uint32_t h)
{
	struct key	*k;

	if (cl.tabsize == 0)
		return NULL;
	for (k = cl.tab[h & (cl.tabsize - 1)]; k != NULL; k = k->next)
		if (k->hash == h && strncmp(k->name, name, len) == 0 &&
		    k->name[len] == '\0')
			return k;
	return NULL;
}

/* Queue a command for Redis; it goes out when the socket takes it. */
static void
redis_send(const char *cmd, const char *arg)
{
	char	*s;
	int	 n;

	if ((n = redisFormatCommand(&s, "%s %s%s", cmd, CEIL_PREFIX, arg)) < 0) {
		fprintf(stderr, "ceiling: out of memory\n");
		exit(1);
	}
	if (cl.routoff == cl.routlen)
		cl.routoff = cl.routlen = 0;
	if ((cl.rout = realloc(cl.rout, cl.routlen + (size_t)n)) == NULL) {
		fprintf(stderr, "ceiling: out of memory\n");
		exit(1);
	}
	memcpy(cl.rout + cl.routlen, s, (size_t)n);
	cl.routlen += (size_t)n;
	free(s);
	if (!cl.rpollout) {
		epoll_set(cl.rfd, TAG_REDIS, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
		cl.rpollout = 1;
	}
}

static struct key *
key_get(const char *name)
{
	struct key	*k, **nt, *next;
	size_t		 len = strlen(name), i, ns;
	uint32_t	 h = key_hash(name, len);

	if ((k = key_find(name, len, h)) != NULL)
		return k;
	if (cl.nkeys >= cl.tabsize) {
		ns = cl.tabsize ? cl.tabsize * 2 : 256;
		if ((nt = calloc(ns, sizeof *nt)) == NULL)
			return NULL;
		for (i = 0; i < cl.tabsize; i++)
			for (k = cl.tab[i]; k != NULL; k = next) {
				next = k->next;
				k->next = nt[k->hash & (ns - 1)];
				nt[k->hash & (ns - 1)] = k;
			}
		free(cl.tab);
		cl.tab = nt;
		cl.tabsize = ns;
	}
	if ((k = calloc(1, sizeof *k + len + 1)) == NULL)
		return NULL;
	k->hash = h;
	memcpy(k->name, name, len + 1);
	k->next = cl.tab[h & (cl.tabsize - 1)];
	cl.tab[h & (cl.tabsize - 1)] = k;
	cl.nkeys++;
	redis_send("SUBSCRIBE", name);
	return k;
}

static void
key_release(struct key *k)
{
	struct key	**pp;

	if (k->n > 0 || k->busy)
		return;
	for (pp = &cl.tab[k->hash & (cl.tabsize - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	cl.nkeys--;
	redis_send("UNSUBSCRIBE", k->name);
	free(k->fds);
	free(k);
}

/* 1 = added, 0 = already there, -1 = no memory. */
static int
key_add(int fd, const char *name)
{
	struct conn	*c = &cl.conns[fd];
	struct keyref	*r;
	struct key	*k;
	int		*nf;

	for (r = c->keys; r != NULL; r = r->next)
		if (strcmp(r->k->name, name) == 0)
			return 0;
	if ((k = key_get(name)) == NULL || (r = malloc(sizeof *r)) == NULL)
		return -1;
	if (k->n == k->cap) {
		if ((nf = realloc(k->fds, (k->cap ? k->cap * 2 : 4) *
		    sizeof *nf)) == NULL) {
			free(r);
			key_release(k);
			return -1;
		}
		k->fds = nf;
		k->cap = k->cap ? k->cap * 2 : 4;
	}
	k->fds[k->n++] = fd;
	r->k = k;
	r->next = c->keys;
	c->keys = r;
	return 1;
}

/* Swap-remove: the order of subscribers means nothing. */
static void
key_del_fd(struct key *k, int fd)
{
	uint32_t	i;

	for (i = k->n; i-- > 0; )
		if (k->fds[i] == fd) {
			k->fds[i] = k->fds[--k->n];
			break;
		}
	key_release(k);
}

static void
key_remove(int fd, const char *name)
{
	struct keyref	**pp, *r;

	for (pp = &cl.conns[fd].keys; (r = *pp) != NULL; pp = &r->next)
		if (strcmp(r->k->name, name) == 0) {
			*pp = r->next;
			key_del_fd(r->k, fd);
			free(r);
			return;
		}
}

/* ---- output ---------------------------------------------------------- */

static struct conn_io *
conn_io(int fd)
{
	struct conn	*c = &cl.conns[fd];

	if (c->io == NULL)
		c->io = calloc(1, sizeof *c->io);
	return c->io;
}

static void
conn_io_trim(int fd)
{
	struct conn	*c = &cl.conns[fd];

	if (c->io != NULL && c->io->inlen == 0 &&
	    c->io->outoff == c->io->outlen) {
		free(c->io->in);
		free(c->io->out);
		free(c->io);
		c->io = NULL;
	}
}

/*
 * One write() of bytes to a client; -1 when it had to be closed.  What the
 * kernel does not take is buffered (not dropped: a torn frame would break
 * the stream) and later bytes queue behind it until EPOLLOUT drains them;
 * past CEIL_OUT_MAX the consumer is cut, as the worker cuts slow ones.
 */
static int
conn_write(int fd, const char *p, size_t n)
{
	struct conn	*c = &cl.conns[fd];
	struct conn_io	*io = c->io;
	ssize_t		 w = 0;
	char		*nb;

	if (io == NULL || io->outoff == io->outlen) {
		w = write(fd, p, n);
		if (w == (ssize_t)n)
			return 0;
		if (w == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				conn_close(fd);
				return -1;
			}
			w = 0;
		}
	}
	if ((io = conn_io(fd)) == NULL ||
	    io->outlen - io->outoff + n - (size_t)w > CEIL_OUT_MAX) {
		cl.cut++;
		conn_close(fd);
		return -1;
	}
	if (io->outoff > 0) {
		memmove(io->out, io->out + io->outoff, io->outlen - io->outoff);
		io->outlen -= io->outoff;
		io->outoff = 0;
	}
	if ((nb = realloc(io->out, io->outlen + n - (size_t)w)) == NULL) {
		conn_close(fd);
		return -1;
	}
	io->out = nb;
	memcpy(io->out + io->outlen, p + w, n - (size_t)w);
	io->outlen += n - (size_t)w;
	cl.queued++;
	if (!c->pollout) {
		epoll_set(fd, fd, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
		c->pollout = 1;
	}
	return 0;
}

static void
conn_flush(int fd)
{
	struct conn	*c = &cl.conns[fd];
	struct conn_io	*io = c->io;
	ssize_t		 w;

	while (io != NULL && io->outoff < io->outlen) {
		w = write(fd, io->out + io->outoff, io->outlen - io->outoff);
		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			conn_close(fd);
			return;
		}
		io->outoff += (size_t)w;
	}
	epoll_set(fd, fd, EPOLLIN, EPOLL_CTL_MOD);
	c->pollout = 0;
	conn_io_trim(fd);
}

static int
conn_frame(int fd, int op, const char *p, size_t n)
{
	char	 small[512], *f = small;
	size_t	 hl;
	int	 r;

	if (n + 10 > sizeof small && (f = malloc(n + 10)) == NULL)
		return -1;
	hl = frame_header((unsigned char *)f, op, n);
	memcpy(f + hl, p, n);
	r = conn_write(fd, f, hl + n);
	if (f != small)
		free(f);
	return r;
}

/* A reply of ours, serialized as the worker does (jansson, compact). */
static int
conn_json(int fd, json_t *j)
{
	char	*s;
	int	 r;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		return 0;
	}
	json_decref(j);
	r = conn_frame(fd, 0x1, s, strlen(s));
	free(s);
	return r;
}

/* ---- connections ----------------------------------------------------- */

static void
conn_close(int fd)
{
	struct conn	*c = &cl.conns[fd];
	struct keyref	*r;

	while ((r = c->keys) != NULL) {
		c->keys = r->next;
		key_del_fd(r->k, fd);
		free(r);
	}
	if (c->io != NULL) {
		free(c->io->in);
		free(c->io->out);
		free(c->io);
	}
	memset(c, 0, sizeof *c);
	close(fd);	/* also leaves the epoll set */
}

static void
accept_all(void)
{
	int	fd, one = 1;

	for (;;) {
		fd = accept4(cl.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "ceiling: accept: %s\n",
				    strerror(errno));
			return;
		}
		if (fd >= cl.nconns) {
			close(fd);
			continue;
		}
		/* As the worker does: an event must not wait for an ACK. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		cl.conns[fd].state = CONN_HTTP;
		epoll_set(fd, fd, EPOLLIN, EPOLL_CTL_ADD);
	}
}

/* The user of an unverified JWT (its payload's sub or userId). */
static void
token_user(const char *q, size_t qlen, char *user, size_t ulen)
{
	const char	*t, *end = q + qlen, *d1, *d2;
	unsigned char	 b64[1024], raw[800];
	json_t		*j, *v;
	size_t		 n, i;
	int		 r;

	snprintf(user, ulen, "anonymous");
	for (t = q + 1; t + 6 <= end; t++)
		if ((t[-1] == '?' || t[-1] == '&') && memcmp(t, "token=", 6) == 0)
			break;
	if (t + 6 > end)
		return;
	t += 6;
	if ((d1 = memchr(t, '.', (size_t)(end - t))) == NULL ||
	    (d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1))) == NULL)
		return;
	n = (size_t)(d2 - d1 - 1);
	if (n + 4 >= sizeof b64)
		return;
	for (i = 0; i < n; i++)
		b64[i] = d1[1 + i] == '-' ? '+' : d1[1 + i] == '_' ? '/' :
		    (unsigned char)d1[1 + i];
	while (i % 4 != 0)
		b64[i++] = '=';
	if ((r = EVP_DecodeBlock(raw, b64, (int)i)) <= 0)
		return;
	if ((j = json_loadb((char *)raw, (size_t)r, JSON_DISABLE_EOF_CHECK,
	    NULL)) == NULL)
		return;
	if ((v = json_object_get(j, "sub")) == NULL)
		v = json_object_get(j, "userId");
	if (json_is_string(v))
		snprintf(user, ulen, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(user, ulen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	json_decref(j);
}

/* The upgrade, or /health; returns bytes used, or -1 when closed. */
static ssize_t
conn_http(int fd, const char *p, size_t n)
{
	static const char	 guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	const char		*end, *h, *k = NULL, *q;
	unsigned char		 sha[SHA_DIGEST_LENGTH];
	char			 cat[128], acc[64], user[128], resp[512];
	char			 body[64];
	size_t			 kl = 0;
	json_t			*w;
	char			*ws;
	int			 len, bl;

	if ((end = memmem(p, n, "\r\n\r\n", 4)) == NULL) {
		if (n > CEIL_HDR_MAX) {
			conn_close(fd);
			return -1;
		}
		return 0;
	}
	for (h = p; h < end; h++) {
		if (h[0] == '\n' && (size_t)(end - h) > 19 &&
		    strncasecmp(h + 1, "Sec-WebSocket-Key:", 18) == 0) {
			for (k = h + 19; k < end && *k == ' '; k++)
				;
			for (kl = 0; k + kl < end && k[kl] != '\r' &&
			    k[kl] != ' '; kl++)
				;
			break;
		}
	}
	if (k == NULL || kl == 0 || kl > 64) {
		bl = snprintf(body, sizeof body, "{\"status\":\"ok\",\"pid\":%d}",
		    (int)getpid());
		if (n >= 11 && memcmp(p, "GET /health", 11) == 0)
			len = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\n"
			    "Content-Type: application/json\r\n"
			    "Connection: close\r\nContent-Length: %d\r\n\r\n"
			    "%s", bl, body);
		else
			len = snprintf(resp, sizeof resp, "HTTP/1.1 400 Bad "
			    "Request\r\nConnection: close\r\n"
			    "Content-Length: 0\r\n\r\n");
		(void)!write(fd, resp, (size_t)len);
		conn_close(fd);
		return -1;
	}
	memcpy(cat, k, kl);
	memcpy(cat + kl, guid, sizeof guid - 1);
	SHA1((unsigned char *)cat, kl + sizeof guid - 1, sha);
	EVP_EncodeBlock((unsigned char *)acc, sha, sizeof sha);
	q = memchr(p, ' ', (size_t)(end - p));
	h = q != NULL ? memchr(q + 1, ' ', (size_t)(end - q - 1)) : NULL;
	if (q != NULL && h != NULL)
		token_user(q + 1, (size_t)(h - q - 1), user, sizeof user);
	else
		snprintf(user, sizeof user, "anonymous");
	len = snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
	cl.conns[fd].state = CONN_OPEN;
	if (conn_write(fd, resp, (size_t)len) == -1)
		return -1;
	w = json_pack("{s:s,s:{s:s,s:s}}", "type", "connected", "data",
	    "userId", user, "message", "Successfully connected to WebSocket server");
	ws = w != NULL ? json_dumps(w, JSON_COMPACT) : NULL;
	json_decref(w);
	if (ws != NULL) {
		len = conn_frame(fd, 0x1, ws, strlen(ws));
		free(ws);
		if (len == -1)
			return -1;
	}
	return end + 4 - p;
}

/* The worker's channel table (worker/channels.c), access unchecked. */
static const struct {
	const char	*type, *member, *prefix;
} channel_rules[] = {
	{ "notifications",	"userId",	"notifications_" },
	{ "feed",		"userId",	"feed_" },
	{ "creator",		"id",		"creator_" },
	{ "post",		"postId",	"post_" },
};

static int
channel_key(json_t *ch, char *key, size_t len)
{
	const char	*type = json_string_value(json_object_get(ch, "type"));
	json_t		*id;
	size_t		 i;
	int		 n;

	if (type == NULL)
		return -1;
	for (i = 0; i < sizeof channel_rules / sizeof channel_rules[0]; i++) {
		if (strcmp(channel_rules[i].type, type) != 0)
			continue;
		id = json_object_get(ch, channel_rules[i].member);
		if (json_is_string(id))
			n = snprintf(key, len, "%s%s", channel_rules[i].prefix,
			    json_string_value(id));
		else if (json_is_integer(id))
			n = snprintf(key, len, "%s%" JSON_INTEGER_FORMAT,
			    channel_rules[i].prefix, json_integer_value(id));
		else
			return -1;
		return n > 0 && (size_t)n < len ? 0 : -1;
	}
	return -1;
}

/* A text message from a client; -1 when the connection was closed. */
static int
conn_message(int fd, const char *p, size_t n)
{
	json_t		*m, *ch;
	const char	*type;
	char		 key[CEIL_KEY_MAX];
	int		 r = 0, sub;

	m = json_loadb(p, n, 0, NULL);
	if (!json_is_object(m)) {
		json_decref(m);
		return conn_json(fd, json_pack("{s:s,s:{s:s}}", "type", "error",
		    "data", "message", "Invalid message format"));
	}
	if ((type = json_string_value(json_object_get(m, "type"))) == NULL)
		type = "";
	ch = json_object_get(m, "channel");
	if (strcmp(type, "ping") == 0)
		r = conn_json(fd, json_pack("{s:s}", "type", "pong"));
	else if ((sub = strcmp(type, "subscribe") == 0) ||
	    strcmp(type, "unsubscribe") == 0) {
		if (channel_key(ch, key, sizeof key) == -1 ||
		    (sub && key_add(fd, key) == -1))
			r = conn_json(fd, json_pack("{s:s,s:{s:s,s:O?}}", "type",
			    "error", "data", "message", "Access denied to channel",
			    "channel", ch));
		else {
			if (!sub)
				key_remove(fd, key);
			r = conn_json(fd, json_pack("{s:s,s:{s:O,s:s}}", "type",
			    sub ? "subscribed" : "unsubscribed", "data",
			    "channel", ch, "channelKey", key));
		}
	}
	json_decref(m);
	return r;
}

/* Client frames (masked); returns bytes used, or -1 when closed. */
static ssize_t
conn_frames(int fd, char *p, size_t n)
{
	size_t	off = 0;

	while (n - off >= 2) {
		unsigned char	*h = (unsigned char *)p + off;
		int		 op = h[0] & 0x0f;
		uint64_t	 len = h[1] & 0x7f;
		size_t		 hl = 6, i;
		char		*pl;

		/* Unmasked or fragmented client frames: not ours to serve. */
		if (!(h[1] & 0x80) || !(h[0] & 0x80) || op == 0) {
			conn_close(fd);
			return -1;
		}
		if (len == 126) {
			if (n - off < 4)
				break;
			len = ((uint64_t)h[2] << 8) | h[3];
			hl = 8;
		} else if (len == 127) {
			conn_close(fd);
			return -1;
		}
		if (len > CEIL_MSG_MAX) {
			conn_close(fd);
			return -1;
		}
		if (n - off < hl + len)
			break;
		pl = p + off + hl;
		for (i = 0; i < len; i++)
			pl[i] ^= (char)h[hl - 4 + (i & 3)];
		off += hl + (size_t)len;
		switch (op) {
		case 0x1:
			if (conn_message(fd, pl, (size_t)len) == -1)
				return -1;
			break;
		case 0x8:	/* echo the close, then hang up: no lingering */
			(void)conn_frame(fd, 0x8, pl, len >= 2 ? 2 : 0);
			conn_close(fd);
			return -1;
		case 0x9:
			if (conn_frame(fd, 0xA, pl, (size_t)len) == -1)
				return -1;
			break;
		default:	/* binary, pong */
			break;
		}
	}
	return (ssize_t)off;
}

/* One read per readiness event (level-triggered). */
static void
conn_input(int fd)
{
	struct conn	*c = &cl.conns[fd];
	size_t		 have = 0;
	ssize_t		 r, used = 0, f;

	if (c->io != NULL && c->io->inlen > 0) {
		have = c->io->inlen;
		memcpy(buf, c->io->in, have);
	}
	r = read(fd, buf + have, sizeof buf - have);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (r <= 0) {
		conn_close(fd);
		return;
	}
	have += (size_t)r;
	if (c->state == CONN_HTTP) {
		if ((used = conn_http(fd, buf, have)) <= 0) {
			if (used == -1)
				return;
			goto keep;
		}
	}
	if ((f = conn_frames(fd, buf + used, have - (size_t)used)) == -1)
		return;
	used += f;
	memmove(buf, buf + used, have - (size_t)used);
	have -= (size_t)used;
keep:
	if (have > 0) {
		struct conn_io	*io = conn_io(fd);
		char		*ni;

		if (io == NULL || have > CEIL_MSG_MAX + CEIL_HDR_MAX ||
		    (ni = realloc(io->in, have)) == NULL) {
			conn_close(fd);
			return;
		}
		memcpy(ni, buf, have);
		io->in = ni;
		io->inlen = have;
	} else if (c->io != NULL) {
		c->io->inlen = 0;
		conn_io_trim(fd);
	}
}

/* ---- Redis ----------------------------------------------------------- */

/*
 * The fan-out itself: the frame is built once, then one write() per
 * subscriber.  Walked from the end: a subscriber closed on a write error
 * is replaced in its slot by the last one, which was served already.
 */
static void
deliver(const char *chan, size_t chlen, const char *p, size_t n)
{
	struct key	*k;
	char		 small[1024], *f = small;
	size_t		 hl;
	uint32_t	 i;

	if (chlen <= sizeof CEIL_PREFIX - 1 ||
	    memcmp(chan, CEIL_PREFIX, sizeof CEIL_PREFIX - 1) != 0)
		return;
	chan += sizeof CEIL_PREFIX - 1;
	chlen -= sizeof CEIL_PREFIX - 1;
	if ((k = key_find(chan, chlen, key_hash(chan, chlen))) == NULL)
		return;		/* a late message of a released key */
	if (n + 10 > sizeof small && (f = malloc(n + 10)) == NULL)
		return;
	hl = frame_header((unsigned char *)f, 0x1, n);
	memcpy(f + hl, p, n);
	cl.events++;
	k->busy = 1;
	for (i = k->n; i-- > 0; )
		if (conn_write(k->fds[i], f, hl + n) == 0)
			cl.deliveries++;
	k->busy = 0;
	key_release(k);		/* if every subscriber was cut */
	if (f != small)
		free(f);
}

static void
redis_reply(redisReply *r)
{
	redisReply	**e = r->element;

	if (r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "ceiling: redis: %s\n", r->str);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING ||
	    e[2]->type != REDIS_REPLY_STRING || strcmp(e[0]->str, "message") != 0)
		return;		/* (un)subscribe confirmations */
	deliver(e[1]->str, e[1]->len, e[2]->str, e[2]->len);
}

static void
redis_input(void)
{
	ssize_t		 r;
	void		*reply;

	r = read(cl.rfd, buf, sizeof buf);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (r <= 0) {
		fprintf(stderr, "ceiling: redis link lost\n");
		exit(1);
	}
	if (redisReaderFeed(cl.reader, buf, (size_t)r) != REDIS_OK) {
		fprintf(stderr, "ceiling: redis: %s\n", cl.reader->errstr);
		exit(1);
	}
	for (;;) {
		if (redisReaderGetReply(cl.reader, &reply) != REDIS_OK) {
			fprintf(stderr, "ceiling: redis: %s\n", cl.reader->errstr);
			exit(1);
		}
		if (reply == NULL)
			break;
		redis_reply(reply);
		freeReplyObject(reply);
	}
}

static void
redis_output(void)
{
	ssize_t	w;

	while (cl.routoff < cl.routlen) {
		w = write(cl.rfd, cl.rout + cl.routoff, cl.routlen - cl.routoff);
		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ceiling: redis: %s\n", strerror(errno));
			exit(1);
		}
		cl.routoff += (size_t)w;
	}
	cl.routoff = cl.routlen = 0;
	epoll_set(cl.rfd, TAG_REDIS, EPOLLIN, EPOLL_CTL_MOD);
	cl.rpollout = 0;
}

static int
redis_open(const char *spec)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256];
	const char	*colon = strrchr(spec, ':');
	int		 fd = -1, one = 1;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof host)
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* ---- main ------------------------------------------------------------ */

static int
listen_on(int port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(fd, 4096) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	static const struct option	 lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "redis", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct epoll_event	 ev[512];
	struct rlimit		 rl;
	sigset_t		 ss;
	const char		*redis = "127.0.0.1:6379";
	int			 port = 0, ch, n, i, fd;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'r':
			redis = optarg;
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || port > 65535 || optind != argc)
		usage();
	/* The hard limit (20 000 here) cannot be raised; the soft one can. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur > (1u << 20))
		rl.rlim_cur = 1u << 20;
	cl.nconns = (int)rl.rlim_cur;
	if ((cl.conns = calloc((size_t)cl.nconns, sizeof *cl.conns)) == NULL) {
		fprintf(stderr, "ceiling: out of memory\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM and SIGINT arrive through the loop, as any other event. */
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if ((cl.sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    (cl.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		fprintf(stderr, "ceiling: %s\n", strerror(errno));
		return 1;
	}
	if ((cl.lfd = listen_on(port)) == -1) {
		fprintf(stderr, "ceiling: 127.0.0.1:%d: %s\n", port,
		    strerror(errno));
		return 1;
	}
	if ((cl.rfd = redis_open(redis)) == -1) {
		fprintf(stderr, "ceiling: cannot connect to redis %s\n", redis);
		return 1;
	}
	if ((cl.reader = redisReaderCreate()) == NULL)
		return 1;
	epoll_set(cl.sfd, TAG_SIGNAL, EPOLLIN, EPOLL_CTL_ADD);
	epoll_set(cl.lfd, TAG_LISTEN, EPOLLIN, EPOLL_CTL_ADD);
	epoll_set(cl.rfd, TAG_REDIS, EPOLLIN, EPOLL_CTL_ADD);
	fprintf(stderr, "ceiling: pid %d on 127.0.0.1:%d, redis %s\n",
	    (int)getpid(), port, redis);

	while (!cl.stop) {
		if ((n = epoll_wait(cl.epfd, ev, 512, -1)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ceiling: epoll_wait: %s\n",
			    strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			fd = ev[i].data.fd;
			switch (fd) {
			case TAG_SIGNAL:
				cl.stop = 1;
				break;
			case TAG_LISTEN:
				accept_all();
				break;
			case TAG_REDIS:
				if (ev[i].events & EPOLLOUT)
					redis_output();
				if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
					redis_input();
				break;
			default:
				/* Closed earlier in this batch (by a fan-out). */
				if (cl.conns[fd].state == CONN_FREE)
					break;
				if (ev[i].events & EPOLLOUT) {
					conn_flush(fd);
					if (cl.conns[fd].state == CONN_FREE)
						break;
				}
				if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
					conn_input(fd);
			}
		}
	}
	fprintf(stderr, "ceiling: stopping: %llu events, %llu deliveries, "
	    "%llu partial writes buffered, %llu consumers cut\n",
	    (unsigned long long)cl.events, (unsigned long long)cl.deliveries,
	    (unsigned long long)cl.queued, (unsigned long long)cl.cut);
	return 0;
}

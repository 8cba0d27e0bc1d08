/* recv() with a watch on the headers of WebSocket client frames. */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "rxguard.h"

enum {
	RXGUARD_AT_OPCODE = 0,		/* FIN, RSV, opcode */
	RXGUARD_AT_LENGTH,		/* MASK bit and 7-bit length */
	RXGUARD_AT_EXTENDED,		/* 16 or 64-bit length */
	RXGUARD_AT_MASK,		/* the 4-byte key */
	RXGUARD_AT_PAYLOAD,
};

struct rxguard_slot {
	struct rxguard	 g;
	void		*conn;
};

static struct rxguard_slot	*rxguard_v;	/* indexed by fd */
static size_t			 rxguard_n;
static rxguard_idle_cb		 rxguard_idle;

/* The reason of the close 1002 each fault gets. */
static const char *const rxguard_reasons[] = {
	[RXGUARD_UNMASKED] = "Unmasked frame",
	[RXGUARD_RESERVED] = "Reserved bits or opcode",
	[RXGUARD_CONTROL] = "Bad control frame",
	[RXGUARD_SEQUENCE] = "Bad fragment sequence",
	[RXGUARD_LENGTH] = "Bad frame length",
};

void
rxguard_init(rxguard_idle_cb cb)
{
	rxguard_idle = cb;
}

void
rxguard_watch(int fd, void *conn)
{
	struct rxguard_slot	*v;
	size_t			 n;

	if (fd < 0)
		return;
	if ((size_t)fd >= rxguard_n) {
		n = (size_t)fd * 2 + 64;
		if ((v = realloc(rxguard_v, n * sizeof *v)) == NULL)
			return;		/* unwatched: lws's behaviour */
		memset(v + rxguard_n, 0, (n - rxguard_n) * sizeof *v);
		rxguard_v = v;
		rxguard_n = n;
	}
	memset(&rxguard_v[fd], 0, sizeof rxguard_v[fd]);
	rxguard_v[fd].g.on = 1;
	rxguard_v[fd].conn = conn;
}

void
rxguard_forget(int fd)
{
	if (fd >= 0 && (size_t)fd < rxguard_n)
		memset(&rxguard_v[fd], 0, sizeof rxguard_v[fd]);
}

void
rxguard_seen(int fd, const void *buf, size_t len)
{
	if (fd >= 0 && (size_t)fd < rxguard_n && rxguard_v[fd].g.on &&
	    rxguard_scan(&rxguard_v[fd].g, buf, len) != RXGUARD_OK)
		rxguard_v[fd].g.on = 0;
}

/* A frame's first two bytes: what RFC 6455 §5.2-5.5 allows from a client. */
static enum rxguard_fault
rxguard_header(struct rxguard *g, unsigned char b1)
{
	unsigned	op = g->head & 0x0f, fin = g->head & 0x80;

	if (!(b1 & 0x80))
		return RXGUARD_UNMASKED;
	/* no extension is negotiated: no RSV bit may be set */
	if ((g->head & 0x70) != 0 || (op > 2 && op < 8) || op > 10)
		return RXGUARD_RESERVED;
	if (op >= 8)
		return fin && (b1 & 0x7f) <= 125 ? RXGUARD_OK :
		    RXGUARD_CONTROL;
	if ((op == 0) != g->fragmented)
		return RXGUARD_SEQUENCE;
	g->fragmented = !fin;
	return RXGUARD_OK;
}

enum rxguard_fault
rxguard_scan(struct rxguard *g, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	enum rxguard_fault	 f;
	size_t			 i = 0, k;

	while (i < len) {
		switch (g->phase) {
		case RXGUARD_AT_OPCODE:
			g->head = p[i++];
			g->phase = RXGUARD_AT_LENGTH;
			break;
		case RXGUARD_AT_LENGTH:
			if ((f = rxguard_header(g, p[i])) != RXGUARD_OK)
				return f;
			g->remain = p[i] & 0x7f;
			g->need = 4;
			g->phase = RXGUARD_AT_MASK;
			if (g->remain >= 126) {
				g->need = g->remain == 126 ? 2 : 8;
				g->remain = 0;
				g->phase = RXGUARD_AT_EXTENDED;
			}
			i++;
			break;
		case RXGUARD_AT_EXTENDED:
			if (g->need == 8 && (p[i] & 0x80))
				return RXGUARD_LENGTH;
			g->remain = g->remain << 8 | p[i++];
			if (--g->need == 0) {
				g->need = 4;
				g->phase = RXGUARD_AT_MASK;
			}
			break;
		case RXGUARD_AT_MASK:
			k = len - i < g->need ? len - i : g->need;
			i += k;
			g->need -= (uint8_t)k;
			if (g->need == 0)
				g->phase = g->remain > 0 ? RXGUARD_AT_PAYLOAD :
				    RXGUARD_AT_OPCODE;
			break;
		case RXGUARD_AT_PAYLOAD:
			k = len - i < g->remain ? len - i : (size_t)g->remain;
			i += k;
			g->remain -= k;
			if (g->remain == 0)
				g->phase = RXGUARD_AT_OPCODE;
			break;
		}
	}
	return RXGUARD_OK;
}

/* Close 1002 with the fault's reason, unless lws is mid-frame. */
static void
rxguard_refuse(int fd, void *conn, enum rxguard_fault f)
{
	unsigned char	 out[4 + 32];
	size_t		 n = strlen(rxguard_reasons[f]);

	if (rxguard_idle != NULL && !rxguard_idle(conn))
		return;
	out[0] = 0x88;			/* FIN, close */
	out[1] = (unsigned char)(n + 2);
	out[2] = 1002 >> 8;
	out[3] = 1002 & 0xff;
	memcpy(out + 4, rxguard_reasons[f], n);
	(void)send(fd, out, n + 4, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * lws's reads.  Sockets not watched (the edge reads with recvfrom(),
 * hiredis with read()) pass straight through.  At a bad frame the close
 * frame is written and lws is told the peer closed: it ends the
 * connection as it would for a FIN.
 */
ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	struct rxguard_slot	*s;
	enum rxguard_fault	 f;
	ssize_t			 n;

	n = recvfrom(fd, buf, len, flags, NULL, NULL);
	if (n <= 0 || fd < 0 || (size_t)fd >= rxguard_n ||
	    !(s = &rxguard_v[fd])->g.on || (flags & MSG_PEEK))
		return n;
	if ((f = rxguard_scan(&s->g, buf, (size_t)n)) == RXGUARD_OK)
		return n;
	metrics.errors++;
	rxguard_refuse(fd, s->conn, f);
	s->g.on = 0;
	return 0;
}

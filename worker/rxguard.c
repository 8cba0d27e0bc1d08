/* recv() with a watch on the mask bit of WebSocket client frames. */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "rxguard.h"

enum {
	RXGUARD_OPCODE = 0,	/* FIN, RSV, opcode */
	RXGUARD_LENGTH,		/* MASK bit and 7-bit length */
	RXGUARD_EXTENDED,	/* 16 or 64-bit length */
	RXGUARD_MASK,		/* the 4-byte key */
	RXGUARD_PAYLOAD,
};

struct rxguard_slot {
	struct rxguard	 g;
	void		*conn;
};

static struct rxguard_slot	*rxguard_v;	/* indexed by fd */
static size_t			 rxguard_n;
static rxguard_idle_cb		 rxguard_idle;

/* Close 1002, "Unmasked frame": what lws 4.1 would answer if it checked. */
static const unsigned char rxguard_close[] = {
	0x88, 16, 0x03, 0xea,
	'U', 'n', 'm', 'a', 's', 'k', 'e', 'd', ' ', 'f', 'r', 'a', 'm', 'e',
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

int
rxguard_scan(struct rxguard *g, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 i = 0, k;

	while (i < len) {
		switch (g->phase) {
		case RXGUARD_OPCODE:
			i++;
			g->phase = RXGUARD_LENGTH;
			break;
		case RXGUARD_LENGTH:
			if (!(p[i] & 0x80))
				return -1;
			g->remain = p[i] & 0x7f;
			g->need = 4;
			g->phase = RXGUARD_MASK;
			if (g->remain >= 126) {
				g->need = g->remain == 126 ? 2 : 8;
				g->remain = 0;
				g->phase = RXGUARD_EXTENDED;
			}
			i++;
			break;
		case RXGUARD_EXTENDED:
			g->remain = g->remain << 8 | p[i++];
			if (--g->need == 0) {
				g->need = 4;
				g->phase = RXGUARD_MASK;
			}
			break;
		case RXGUARD_MASK:
			k = len - i < g->need ? len - i : g->need;
			i += k;
			g->need -= (uint8_t)k;
			if (g->need == 0)
				g->phase = g->remain > 0 ? RXGUARD_PAYLOAD :
				    RXGUARD_OPCODE;
			break;
		case RXGUARD_PAYLOAD:
			k = len - i < g->remain ? len - i : (size_t)g->remain;
			i += k;
			g->remain -= k;
			if (g->remain == 0)
				g->phase = RXGUARD_OPCODE;
			break;
		}
	}
	return 0;
}

/*
 * lws's reads.  Sockets not watched (requests, Redis goes through read())
 * pass straight through.  At an unmasked frame the close frame is written
 * unless lws is half-way through sending something, and lws is told the
 * peer closed: it ends the connection as it would for a FIN.
 */
ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	struct rxguard_slot	*s;
	ssize_t			 n;

	n = recvfrom(fd, buf, len, flags, NULL, NULL);
	if (n <= 0 || fd < 0 || (size_t)fd >= rxguard_n ||
	    !(s = &rxguard_v[fd])->g.on || (flags & MSG_PEEK))
		return n;
	if (rxguard_scan(&s->g, buf, (size_t)n) == 0)
		return n;
	metrics.errors++;
	if (rxguard_idle == NULL || rxguard_idle(s->conn))
		(void)send(fd, rxguard_close, sizeof rxguard_close,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	s->g.on = 0;
	return 0;
}

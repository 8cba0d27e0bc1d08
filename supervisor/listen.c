/*
 * Listening sockets for cluster slots: one SO_REUSEPORT socket per slot,
 * bound by wsd and kept while the slot exists, so a connection queued on a
 * slot whose process restarts waits for the replacement instead of being
 * reset when a listener closes; and which of them new connections go to.
 *
 * Steering.  The kernel picks a socket of the reuseport group for each new
 * connection.  A classic BPF program attached to the group
 * (SO_ATTACH_REUSEPORT_CBPF, no privilege needed) returns an index into the
 * group's socket array instead, so wsd keeps a copy of that array: a socket
 * is appended when it starts listening, and when one is closed the last one
 * moves into its place (net/core/sock_reuseport.c, __reuseport_detach_sock;
 * with or without tcp_migrate_req).  The copy stays exact because wsd
 * closes a slot's socket only once no process of the slot holds it any
 * more: its close is the detach.  An index past the end makes the kernel
 * fall back to its own hash over every socket, so a stale program can
 * misroute a connection but never lose one.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsd.h"
#include "xmalloc.h"

static int
listen_bind(const char *host, int port, char **err)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, one = 1, family;

	*err = NULL;
	if (host == NULL || *host == '\0')
		host = "0.0.0.0";
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		family = AF_INET;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sl = sizeof *sin;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		family = AF_INET6;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sl = sizeof *sin6;
	} else {
		if (asprintf(err, "WS_HOST %s: not an IP address", host) < 0)
			*err = NULL;
		return -1;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    listen(fd, 511) < 0)
		goto fail;
	return fd;
fail:
	if (asprintf(err, "listen on %s:%d: %s", host, port,
	    strerror(errno)) < 0)
		*err = NULL;
	if (fd >= 0)
		close(fd);
	return -1;
}

int
listen_fd(const struct listen_group *g, int slot)
{
	return slot >= 0 && (size_t)slot < g->nslots ? g->fds[slot] : -1;
}

int
listen_slot(struct listen_group *g, int slot, const char *host, int port,
    char **err)
{
	int *nf, *no, fd;
	size_t i;

	*err = NULL;
	if ((fd = listen_fd(g, slot)) >= 0)
		return fd;
	if ((size_t)slot >= g->nslots) {
		if ((nf = realloc(g->fds, (slot + 1) * sizeof *nf)) == NULL)
			return -1;
		for (i = g->nslots; i <= (size_t)slot; i++)
			nf[i] = -1;
		g->fds = nf;
		g->nslots = slot + 1;
	}
	if ((no = realloc(g->order, (g->n + 1) * sizeof *no)) == NULL)
		return -1;
	g->order = no;
	if ((fd = listen_bind(host, port, err)) < 0)
		return -1;
	g->fds[slot] = fd;
	g->order[g->n++] = slot;
	g->stale = 1;
	return fd;
}

int
listen_queued(const struct listen_group *g, int slot)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	int fd = listen_fd(g, slot);

	/* A listener's tcpi_unacked is its accept queue length. */
	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	return (int)ti.tcpi_unacked;
}

void
listen_close(struct listen_group *g, int slot)
{
	size_t i;
	int fd = listen_fd(g, slot);

	if (fd < 0)
		return;
	close(fd);
	g->fds[slot] = -1;
	for (i = 0; i < g->n; i++)
		if (g->order[i] == slot)
			break;
	if (i < g->n)
		g->order[i] = g->order[--g->n];	/* as the kernel does */
	g->stale = 1;
}

void
listen_close_all(struct listen_group *g)
{
	size_t i;

	for (i = 0; i < g->nslots; i++)
		if (g->fds[i] >= 0)
			close(g->fds[i]);
	free(g->fds);
	free(g->order);
	free(g->steered);
	memset(g, 0, sizeof *g);
}

void
listen_adopt(struct listen_group *g, const int *fds, size_t nslots,
    const int *order, size_t n)
{
	listen_close_all(g);
	g->fds = xcalloc(nslots + 1, sizeof *g->fds);
	g->order = xcalloc(n + 1, sizeof *g->order);
	if (nslots > 0)
		memcpy(g->fds, fds, nslots * sizeof *fds);
	if (n > 0)
		memcpy(g->order, order, n * sizeof *order);
	g->nslots = nslots;
	g->n = n;
	g->stale = 1;	/* the program is attached again, to the same array */
}

/* Whether `slots` is what the attached program already picks from. */
static int
listen_steered(const struct listen_group *g, const int *slots, size_t n)
{
	return !g->stale && g->nsteered == n && (n == 0 ||
	    memcmp(g->steered, slots, n * sizeof *slots) == 0);
}

/* The group index of `slot`, or -1. */
static int
listen_index(const struct listen_group *g, int slot)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->order[i] == slot)
			return (int)i;
	return -1;
}

int
listen_steer(struct listen_group *g, const int *slots, size_t n, char **err)
{
	struct sock_filter *f;
	struct sock_fprog prog;
	size_t k = 0, i, prefix = 1;
	int *ns, idx, rc;

	*err = NULL;
	if (g->n == 0 || n == 0 || listen_steered(g, slots, n))
		return 0;
	/* ld rand; mod #n; then index j of the list → its group index. */
	if ((f = calloc(3 + 2 * n, sizeof *f)) == NULL ||
	    (ns = malloc(n * sizeof *ns)) == NULL) {
		free(f);
		return -1;
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
	f[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K,
	    (uint32_t)n);
	for (i = 0; i < n; i++) {
		if ((idx = listen_index(g, slots[i])) < 0)
			idx = (int)g->n;	/* no socket: the kernel's hash */
		if ((size_t)idx != i)
			prefix = 0;
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    (uint32_t)i, 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		    (uint32_t)idx);
	}
	if (prefix) {
		/* The slots are the first n sockets: the index is the pick. */
		k = 2;
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
	} else
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		    (uint32_t)g->n);
	prog.len = (unsigned short)k;
	prog.filter = f;
	rc = setsockopt(g->fds[g->order[0]], SOL_SOCKET,
	    SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog);
	free(f);
	if (rc < 0 && asprintf(err, "steering new connections: "
	    "SO_ATTACH_REUSEPORT_CBPF: %s", strerror(errno)) < 0)
		*err = NULL;
	/* Remembered even when refused: tried again (and reported) once
	 * the slots change, not on every event. */
	memcpy(ns, slots, n * sizeof *ns);
	free(g->steered);
	g->steered = ns;
	g->nsteered = n;
	g->stale = 0;
	return rc < 0 ? -1 : 0;
}

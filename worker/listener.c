/* The listening socket: inherited from wsd or bound here, accepted on libuv. */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"

#define LISTENER_BACKLOG	1024
#define LISTENER_BATCH		64	/* accepts per wakeup */
#define LISTENER_PAUSE_MS	100
#define LISTENER_FLUSH_MAX	4096	/* accepts a drain takes at most */

static int
listener_error(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
listener_error(char **err, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}

/* The fd wsd or systemd passed, or -1. */
static int
listener_inherited(char **err)
{
	const char	*s, *pid;
	char		*end;
	long		 fd;
	int		 on = 0;
	socklen_t	 len = sizeof on;

	if ((s = getenv("WSD_LISTEN_FD")) != NULL && *s != '\0') {
		fd = strtol(s, &end, 10);
		if (*end != '\0' || fd < 0 || fd > 65535)
			return listener_error(err, "WSD_LISTEN_FD: not a "
			    "file descriptor: %s", s), -2;
	} else if ((s = getenv("LISTEN_FDS")) != NULL && *s != '\0' &&
	    (pid = getenv("LISTEN_PID")) != NULL &&
	    strtol(pid, NULL, 10) == (long)getpid()) {
		if (strtol(s, NULL, 10) < 1)
			return -1;
		fd = 3;		/* SD_LISTEN_FDS_START */
	} else
		return -1;
	if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0)
		return listener_error(err, "inherited listening fd %ld: %s",
		    fd, strerror(errno)), -2;
	if (!on && listen((int)fd, LISTENER_BACKLOG) != 0)
		return listener_error(err, "listen on inherited fd %ld: %s",
		    fd, strerror(errno)), -2;
	return (int)fd;
}

static int
listener_bind(const char *host, int port, char **err)
{
	struct addrinfo	 hints, *res, *ai;
	char		 serv[16];
	int		 fd = -1, on = 1, e, saved = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof serv, "%d", port);
	if ((e = getaddrinfo(host, serv, &hints, &res)) != 0)
		return listener_error(err, "WS_HOST %s: %s", host,
		    gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
		    sizeof on) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LISTENER_BACKLOG) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return listener_error(err, "listen on %s:%d: %s", host, port,
		    strerror(saved));
	return fd;
}

int
listener_open(struct listener *l, uv_loop_t *loop, const char *host, int port,
    char **err)
{
	int	fd, fl;

	memset(l, 0, sizeof *l);
	l->loop = loop;
	l->fd = -1;
	fd = listener_inherited(err);
	if (fd == -2)
		return -1;
	if (fd >= 0)
		l->inherited = 1;
	else if ((fd = listener_bind(host, port, err)) < 0)
		return -1;
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	l->fd = fd;
	return 0;
}

static void listener_poll_cb(uv_poll_t *, int, int);

/* Nothing to accept right now (a listening socket polls readable when its
 * accept queue holds a connection). */
static int
listener_queue_empty(const struct listener *l)
{
	struct pollfd	p = { .fd = l->fd, .events = POLLIN };

	return poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN);
}

static void
listener_resume_cb(uv_timer_t *t)
{
	struct listener	*l = t->data;

	if (l->open)
		uv_poll_start(&l->poll, UV_READABLE, listener_poll_cb);
}

static void
listener_poll_cb(uv_poll_t *p, int status, int events)
{
	struct listener		*l = p->data;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, i, on = 1;

	(void)events;
	if (status < 0)
		return;
	for (i = 0; i < LISTENER_BATCH && l->open; i++) {
		sslen = sizeof ss;
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* level-triggered: pause instead of spinning */
				log_warn("accept: %s; pausing %d ms",
				    strerror(errno), LISTENER_PAUSE_MS);
				uv_poll_stop(&l->poll);
				uv_timer_start(&l->pause, listener_resume_cb,
				    LISTENER_PAUSE_MS, 0);
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
		l->cb(l->arg, fd, (struct sockaddr *)&ss, sslen);
	}
}

int
listener_start(struct listener *l, listener_accept_cb cb, void *arg)
{
	int	r;

	l->cb = cb;
	l->arg = arg;
	if ((r = uv_poll_init(l->loop, &l->poll, l->fd)) != 0)
		return r;
	uv_timer_init(l->loop, &l->pause);
	l->poll.data = l;
	l->pause.data = l;
	l->open = 1;
	return uv_poll_start(&l->poll, UV_READABLE, listener_poll_cb);
}

/*
 * Take what is queued now, then stop (a drain): with wsd steering new
 * connects away from this slot, nothing else arrives, and a connection
 * accepted here is served (welcome, then 1001 going away) instead of being
 * reset when the slot's socket closes — even when this process was too
 * starved of CPU to empty its queue before wsd asked it to drain.
 */
void
listener_flush_close(struct listener *l)
{
	int	i;

	for (i = 0; l->open && i < LISTENER_FLUSH_MAX / LISTENER_BATCH; i++) {
		if (listener_queue_empty(l))
			break;
		listener_poll_cb(&l->poll, 0, UV_READABLE);
	}
	listener_close(l);
}

void
listener_close(struct listener *l)
{
	if (l->open) {
		l->open = 0;
		uv_poll_stop(&l->poll);
		uv_timer_stop(&l->pause);
		uv_close((uv_handle_t *)&l->poll, NULL);
		uv_close((uv_handle_t *)&l->pause, NULL);
	}
	/*
	 * Closing our copy of an inherited socket leaves wsd's open: the
	 * connections queued on it wait for our replacement.
	 */
	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
}

/*
 * The hiredis async adapter for libuv: one uv_poll_t per hiredis context.
 *
 * Ours, not <adapters/libuv.h>: hiredis 0.14's adapter ignores a poll
 * error status, so a refused connection (POLLERR) is never reported and
 * the context hangs forever.  Ours hands the error to hiredis, which then
 * sees the socket error and disconnects.
 */
#include <stdlib.h>

#include <hiredis.h>
#include <async.h>
#include <uv.h>

#include "bus_int.h"

struct bus_ev {
	redisAsyncContext	*ac;
	uv_poll_t		 poll;
	int			 events;
};

static void
bus_ev_poll_cb(uv_poll_t *h, int status, int events)
{
	struct bus_ev	*ev = h->data;

	/* On an error, let hiredis try what it waited for and see why. */
	if (status < 0)
		events = ev->events;
	if (ev->ac != NULL && (events & UV_READABLE))
		redisAsyncHandleRead(ev->ac);
	if (ev->ac != NULL && (events & UV_WRITABLE))
		redisAsyncHandleWrite(ev->ac);
}

static void
bus_ev_update(struct bus_ev *ev)
{
	if (ev->events != 0)
		uv_poll_start(&ev->poll, ev->events, bus_ev_poll_cb);
	else
		uv_poll_stop(&ev->poll);
}

static void
bus_ev_add_read(void *p)
{
	struct bus_ev	*ev = p;

	ev->events |= UV_READABLE;
	bus_ev_update(ev);
}

static void
bus_ev_del_read(void *p)
{
	struct bus_ev	*ev = p;

	ev->events &= ~UV_READABLE;
	bus_ev_update(ev);
}

static void
bus_ev_add_write(void *p)
{
	struct bus_ev	*ev = p;

	ev->events |= UV_WRITABLE;
	bus_ev_update(ev);
}

static void
bus_ev_del_write(void *p)
{
	struct bus_ev	*ev = p;

	ev->events &= ~UV_WRITABLE;
	bus_ev_update(ev);
}

static void
bus_ev_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void
bus_ev_cleanup(void *p)
{
	struct bus_ev	*ev = p;

	ev->ac = NULL;
	uv_close((uv_handle_t *)&ev->poll, bus_ev_close_cb);
}

int
bus_ev_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	struct bus_ev	*ev;

	if (ac->ev.data != NULL)
		return -1;
	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return -1;
	if (uv_poll_init(loop, &ev->poll, ac->c.fd) != 0) {
		free(ev);
		return -1;
	}
	ev->ac = ac;
	ev->poll.data = ev;
	ac->ev.data = ev;
	ac->ev.addRead = bus_ev_add_read;
	ac->ev.delRead = bus_ev_del_read;
	ac->ev.addWrite = bus_ev_add_write;
	ac->ev.delWrite = bus_ev_del_write;
	ac->ev.cleanup = bus_ev_cleanup;
	return 0;
}

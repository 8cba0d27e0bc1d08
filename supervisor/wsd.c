/*
 * The daemon's shared context and clocks: set up once by main.c, read by
 * every room of the supervisor.
 */
#include <time.h>

#include "wsd.h"

const char		*wsd_home;
uv_loop_t		*wsd_loop;
struct env		 wsd_base_env;	/* wsd's own environment at start */
uint64_t		 wsd_started_ms;	/* epoch ms */
int			 wsd_foreground;	/* logs to stderr, not HOME/wsd.log */

/* main.c's: the rooms below it ask for a shutdown through this. */
static void		(*wsd_shutdown_cb)(const char *why);

/*
 * libuv calls a stream's read_cb right after its alloc_cb, on this one
 * thread: a read is handled before the next one is allocated, so the
 * control socket, the IPC and log pipes and the probes share one buffer.
 */
void
wsd_read_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char slab[16384];

	(void)h;
	(void)hint;
	buf->base = slab;
	buf->len = sizeof slab;
}

uint64_t
wsd_now_ms(void)
{
	return uv_hrtime() / 1000000;
}

uint64_t
wsd_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
wsd_set_shutdown(void (*cb)(const char *why))
{
	wsd_shutdown_cb = cb;
}

void
wsd_shutdown(const char *why)
{
	if (wsd_shutdown_cb != NULL)
		wsd_shutdown_cb(why);
}

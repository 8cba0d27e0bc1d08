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

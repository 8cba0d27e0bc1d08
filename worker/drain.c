/* The drain schedule (drain.h). */
#include "drain.h"

/*
 * Without wsd's wait, the spread may take half of kill_timeout, and the
 * exit comes a quarter of it (100 ms at least) before kill_timeout: the
 * last closes still need their close handshakes and the loop of a worker
 * holding thousands of clients runs late, so the margin grows with the
 * window.  With it, wsd's SIGKILL comes kill_timeout after the end of the
 * announced spread, and the same margin is kept before that.
 */
#define DRAIN_SPREAD_SHARE	50	/* % of kill_timeout */
#define DRAIN_EXIT_SHARE	25	/* % of kill_timeout */
#define DRAIN_EXIT_MARGIN_MS	100	/* at least */

void
drain_plan(struct drain_plan *p, uint64_t spread_ms, uint64_t timeout_ms,
    uint64_t kill_timeout_ms, uint64_t wait_max_ms)
{
	uint64_t	cap, margin;

	p->spread_ms = spread_ms;
	if (wait_max_ms > 0 && p->spread_ms > wait_max_ms)
		p->spread_ms = wait_max_ms;
	p->deadline_ms = p->spread_ms + timeout_ms;
	if (kill_timeout_ms == 0)
		return;
	cap = kill_timeout_ms * DRAIN_SPREAD_SHARE / 100;
	if (wait_max_ms == 0 && p->spread_ms > cap)
		p->spread_ms = cap;
	margin = kill_timeout_ms * DRAIN_EXIT_SHARE / 100;
	if (margin < DRAIN_EXIT_MARGIN_MS)
		margin = DRAIN_EXIT_MARGIN_MS;
	cap = kill_timeout_ms > margin ? kill_timeout_ms - margin : 0;
	if (wait_max_ms > 0)
		cap += p->spread_ms;	/* wsd waits out the spread */
	p->deadline_ms = p->spread_ms + timeout_ms;
	if (p->deadline_ms > cap)
		p->deadline_ms = cap;
	if (p->deadline_ms < p->spread_ms)
		p->deadline_ms = p->spread_ms;
}

uint64_t
drain_close_at(uint64_t spread_ms, size_t i, size_t n, uint32_t rnd)
{
	if (n == 0 || spread_ms == 0)
		return 0;
	/* slot i is [i, i + 1) * spread / n; rnd picks the point in it */
	return (spread_ms * i + ((spread_ms * rnd) >> 32)) / n;
}

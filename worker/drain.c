/* The drain schedule (drain.h). */
#include "drain.h"

#define DRAIN_SPREAD_SHARE	60	/* % of kill_timeout the spread may take */
#define DRAIN_EXIT_MARGIN_MS	100	/* exit this long before kill_timeout */

void
drain_plan(struct drain_plan *p, uint64_t spread_ms, uint64_t timeout_ms,
    uint64_t kill_timeout_ms)
{
	uint64_t	cap;

	p->spread_ms = spread_ms;
	p->deadline_ms = spread_ms + timeout_ms;
	if (kill_timeout_ms == 0)
		return;
	cap = kill_timeout_ms * DRAIN_SPREAD_SHARE / 100;
	if (p->spread_ms > cap)
		p->spread_ms = cap;
	cap = kill_timeout_ms > DRAIN_EXIT_MARGIN_MS ?
	    kill_timeout_ms - DRAIN_EXIT_MARGIN_MS : 0;
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

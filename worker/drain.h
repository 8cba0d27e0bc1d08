/*
 * The drain schedule: when each client of a draining worker is closed, so
 * that a reload spreads the reconnects over a window instead of sending
 * every client to the other instances in the same millisecond.  Pure.
 */
#ifndef WSD_DRAIN_H
#define WSD_DRAIN_H

#include <stddef.h>
#include <stdint.h>

struct drain_plan {
	uint64_t	spread_ms;	/* closes happen within [0, spread) */
	uint64_t	deadline_ms;	/* exit at the latest, from the start */
};

/*
 * The plan from WS_DRAIN_SPREAD_MS, WS_DRAIN_TIMEOUT_MS and what wsd said
 * at spawn: its kill_timeout (WSD_KILL_TIMEOUT_MS; 0 = unknown) and the
 * longest drain window it waits for past it (WSD_DRAIN_MAX_MS; 0 = none,
 * an older wsd or another supervisor).
 *
 * Without that wait the spread takes at most 50 % of kill_timeout and the
 * exit comes 25 % of it (100 ms at least) before it, so wsd never has to
 * SIGKILL a worker for spreading.  With it the spread is the one asked
 * (up to wait_max), the worker announces it (IPC ready's drain_ms), and
 * the exit comes that same margin before kill_timeout + spread.
 */
void		drain_plan(struct drain_plan *, uint64_t spread_ms,
		    uint64_t timeout_ms, uint64_t kill_timeout_ms,
		    uint64_t wait_max_ms);

/*
 * When client i of n (0-based) closes, from the start: evenly spaced,
 * each jittered within its slot by rnd (uniform 32 bits).
 */
uint64_t	drain_close_at(uint64_t spread_ms, size_t i, size_t n,
		    uint32_t rnd);

#endif

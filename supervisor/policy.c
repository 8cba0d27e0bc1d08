/*
 * The instance state machine and restart policy: pure, no clock and no I/O,
 * so that tests drive it with a fake clock.
 *
 * Crash loops: PM2 counts "unstable" restarts only while the uptime is
 * under min_uptime, so processes that live two seconds loop forever.  Here
 * an instance is errored when either max_restarts consecutive exits came
 * before min_uptime (PM2's rule), or max_restarts unasked exits of any
 * uptime fall in the sliding crash window (crash_window_ms).
 */
#include <string.h>

#include "exitcodes.h"
#include "policy.h"

static const char *state_names[] = {
	[ST_STOPPED] = "stopped",
	[ST_LAUNCHING] = "launching",
	[ST_ONLINE] = "online",
	[ST_STOPPING] = "stopping",
	[ST_WAITING] = "waiting restart",
	[ST_ERRORED] = "errored",
};

const char *
policy_state_name(enum inst_state s)
{
	if ((unsigned)s >= sizeof state_names / sizeof state_names[0])
		return "unknown";
	return state_names[s];
}

int
policy_running(enum inst_state s)
{
	return s == ST_LAUNCHING || s == ST_ONLINE || s == ST_STOPPING;
}

void
policy_init(struct policy_state *ps)
{
	memset(ps, 0, sizeof *ps);
	ps->state = ST_STOPPED;
	ps->last_code = -1;
}

uint64_t
policy_kill_after(const struct policy_conf *pc, const struct policy_state *ps)
{
	return pc->kill_timeout_ms + ps->drain_ms;
}

void
policy_reset(struct policy_state *ps)
{
	ps->consecutive_unstable = 0;
	ps->ncrashes = 0;
	ps->backoff_ms = 0;
	memset(ps->crashes, 0, sizeof ps->crashes);
}

unsigned
policy_crashes_in_window(const struct policy_conf *pc,
    const struct policy_state *ps, uint64_t now)
{
	unsigned i, n, count = 0;
	uint64_t t;

	n = ps->ncrashes < POLICY_WINDOW_MAX ? ps->ncrashes : POLICY_WINDOW_MAX;
	for (i = 0; i < n; i++) {
		t = ps->crashes[(ps->ncrashes - 1 - i) % POLICY_WINDOW_MAX];
		if (now - t > pc->crash_window_ms)
			break;
		count++;
	}
	return count;
}

static int
policy_stop_code(const struct policy_conf *pc, int code)
{
	size_t i;

	for (i = 0; i < pc->nstop_exit_codes; i++)
		if (pc->stop_exit_codes[i] == code)
			return 1;
	return 0;
}

static uint64_t
policy_delay(const struct policy_conf *pc, struct policy_state *ps,
    uint64_t uptime)
{
	uint64_t next;

	if (pc->exp_backoff_ms == 0)
		return pc->restart_delay_ms;
	if (ps->backoff_ms == 0 || uptime >= pc->backoff_reset_ms)
		next = pc->exp_backoff_ms;
	else
		next = ps->backoff_ms + ps->backoff_ms / 2;
	if (pc->backoff_max_ms != 0 && next > pc->backoff_max_ms)
		next = pc->backoff_max_ms;
	ps->backoff_ms = next;
	return next;
}

/* An exit nobody asked for, while launching or online. */
static void
policy_crash(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	uint64_t uptime = now - ps->started_at;
	unsigned limit;

	if (ev->code == EXIT_CONFIG) {
		ps->state = ST_ERRORED;
		out->why = "exit status 78 (bad configuration): not restarted";
		return;
	}
	if (ev->code >= 0 && policy_stop_code(pc, ev->code)) {
		ps->state = ST_STOPPED;
		out->why = "exit status is in stop_exit_codes";
		return;
	}
	if (!pc->autorestart) {
		ps->state = ST_STOPPED;
		out->why = "autorestart is off";
		return;
	}
	ps->crashes[ps->ncrashes % POLICY_WINDOW_MAX] = now;
	ps->ncrashes++;
	if (uptime < pc->min_uptime_ms) {
		ps->unstable++;
		ps->consecutive_unstable++;
	} else
		ps->consecutive_unstable = 0;

	/* At most max_restarts automatic restarts per crash loop: the next
	 * crash is the one that gives up. */
	limit = pc->max_restarts > 0 ? (unsigned)pc->max_restarts : 0;
	if (uptime < pc->min_uptime_ms && ps->consecutive_unstable > limit) {
		ps->state = ST_ERRORED;
		out->why = "too many unstable restarts (max_restarts)";
		return;
	}
	if (limit < POLICY_WINDOW_MAX &&
	    policy_crashes_in_window(pc, ps, now) > limit) {
		ps->state = ST_ERRORED;
		out->why = "crash loop: more than max_restarts exits in the crash window";
		return;
	}
	ps->state = ST_WAITING;
	out->act |= PACT_TIMER;
	out->timer_ms = policy_delay(pc, ps, uptime);
	out->why = "exited unexpectedly";
}

static void
policy_spawn(struct policy_state *ps, struct policy_out *out, int count)
{
	ps->state = ST_LAUNCHING;
	ps->killed = 0;
	ps->restart_pending = 0;
	out->act |= PACT_SPAWN;
	if (count) {
		ps->restarts++;
		out->act |= PACT_COUNT;
	}
}

/*
 * One handler per event: the transitions an event makes from each state.
 * They share policy_step's signature so that the table below is the
 * whole state machine's index.
 */
typedef void (*policy_on_fn)(const struct policy_conf *, struct policy_state *,
    const struct policy_event *, uint64_t, struct policy_out *);

static void
policy_on_start(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	(void)pc;
	(void)ev;
	(void)now;
	switch (ps->state) {
	case ST_STOPPED:
	case ST_ERRORED:
		policy_reset(ps);
		policy_spawn(ps, out, 0);
		break;
	case ST_WAITING:
		out->act |= PACT_TIMER_STOP;
		policy_spawn(ps, out, 1);
		break;
	case ST_STOPPING:
		ps->restart_pending = 1;
		break;
	default:
		break;
	}
}

/*
 * Launching or online: SIGINT (kill_signal) now, SIGKILL at kill_timeout,
 * later by the drain window the process announced: a worker closing its
 * clients one by one over that window is not cut off in the middle.
 */
static void
policy_begin_stop(const struct policy_conf *pc, struct policy_state *ps,
    struct policy_out *out, int restart)
{
	ps->state = ST_STOPPING;
	ps->restart_pending = restart;
	ps->killed = 0;
	out->act |= PACT_TIMER_STOP | PACT_KILL | PACT_TIMER;
	out->timer_ms = policy_kill_after(pc, ps);
}

static void
policy_on_restart(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	(void)ev;
	(void)now;
	policy_reset(ps);
	switch (ps->state) {
	case ST_LAUNCHING:
	case ST_ONLINE:
		policy_begin_stop(pc, ps, out, 1);
		break;
	case ST_STOPPING:
		ps->restart_pending = 1;
		break;
	default:
		out->act |= PACT_TIMER_STOP;
		policy_spawn(ps, out, ps->started_at != 0);
		break;
	}
}

/*
 * Only an online process is reloaded; the old one is no longer the
 * instance's (reload.c drains it once the replacement is online), so this
 * is a spawn counted as a restart, as PM2's reload counts it.
 */
static void
policy_on_reload(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	(void)pc;
	(void)ev;
	(void)now;
	if (ps->state == ST_ONLINE) {
		out->act |= PACT_TIMER_STOP;
		policy_spawn(ps, out, 1);
	}
}

static void
policy_on_stop(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	(void)ev;
	(void)now;
	switch (ps->state) {
	case ST_LAUNCHING:
	case ST_ONLINE:
		policy_begin_stop(pc, ps, out, 0);
		break;
	case ST_STOPPING:
		ps->restart_pending = 0;
		break;
	case ST_WAITING:
	case ST_ERRORED:
		out->act |= PACT_TIMER_STOP;
		ps->state = ST_STOPPED;
		break;
	default:
		break;
	}
}

static void
policy_on_spawned(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	(void)ev;
	ps->started_at = now;
	ps->drain_ms = 0;	/* the new process has announced nothing yet */
	if (pc->wait_ready) {
		ps->state = ST_LAUNCHING;
		out->act |= PACT_TIMER;
		out->timer_ms = pc->listen_timeout_ms;
	} else
		ps->state = ST_ONLINE;
}

static void
policy_on_spawn_failed(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	(void)pc;
	(void)ev;
	(void)now;
	ps->state = ST_ERRORED;
	out->why = "spawn failed";
}

/* Ready, maybe late (listen_timeout passed): the drain window counts too. */
static void
policy_on_ready(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	(void)now;
	if (ps->state == ST_LAUNCHING || ps->state == ST_ONLINE)
		ps->drain_ms = ev->drain_ms < pc->drain_max_ms ?
		    ev->drain_ms : pc->drain_max_ms;
	if (ps->state == ST_LAUNCHING) {
		ps->state = ST_ONLINE;
		out->act |= PACT_TIMER_STOP;
	}
}

static void
policy_on_timer(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	(void)pc;
	(void)ev;
	(void)now;
	switch (ps->state) {
	case ST_LAUNCHING:
		ps->state = ST_ONLINE;
		out->why = "listen_timeout passed without a ready message";
		break;
	case ST_STOPPING:
		if (!ps->killed) {
			ps->killed = 1;
			out->act |= PACT_SIGKILL;
			out->why = "kill_timeout passed: SIGKILL";
		}
		break;
	case ST_WAITING:
		policy_spawn(ps, out, 1);
		break;
	default:
		break;
	}
}

static void
policy_on_exit(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	ps->last_code = ev->code;
	ps->last_signal = ev->signal;
	switch (ps->state) {
	case ST_STOPPING:
		out->act |= PACT_TIMER_STOP;
		ps->killed = 0;
		if (ps->restart_pending)
			policy_spawn(ps, out, 1);
		else
			ps->state = ST_STOPPED;
		break;
	case ST_LAUNCHING:
	case ST_ONLINE:
		out->act |= PACT_TIMER_STOP;
		policy_crash(pc, ps, ev, now, out);
		break;
	default:
		break;
	}
}

static const policy_on_fn policy_on[] = {
	[PEV_START] = policy_on_start,
	[PEV_RESTART] = policy_on_restart,
	[PEV_RELOAD] = policy_on_reload,
	[PEV_STOP] = policy_on_stop,
	[PEV_SPAWNED] = policy_on_spawned,
	[PEV_SPAWN_FAILED] = policy_on_spawn_failed,
	[PEV_READY] = policy_on_ready,
	[PEV_TIMER] = policy_on_timer,
	[PEV_EXIT] = policy_on_exit,
};

void
policy_step(const struct policy_conf *pc, struct policy_state *ps,
    const struct policy_event *ev, uint64_t now, struct policy_out *out)
{
	enum inst_state before = ps->state;

	memset(out, 0, sizeof *out);
	if ((size_t)ev->type < sizeof policy_on / sizeof policy_on[0] &&
	    policy_on[ev->type] != NULL)
		policy_on[ev->type](pc, ps, ev, now, out);
	/* What `wsctl start` reports when an instance did not come up. */
	if (ps->state != before)
		ps->why = out->why;
}

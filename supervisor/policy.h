/*
 * The instance state machine and restart policy: a pure function of
 * (configuration, state, event, now) → (new state, actions), so that every
 * transition can be tested with a fake clock.
 */
#ifndef WSD_POLICY_H
#define WSD_POLICY_H

#include <stddef.h>
#include <stdint.h>

enum inst_state {
	ST_STOPPED,	/* not running and not asked to run */
	ST_LAUNCHING,	/* spawned, not ready yet */
	ST_ONLINE,	/* ready: IPC ready, listen_timeout passed, or no readiness wait */
	ST_STOPPING,	/* stop signal sent, waiting for the exit (SIGKILL at
			   kill_timeout + the drain window it announced) */
	ST_WAITING,	/* exited unasked; respawn when the restart delay ends */
	ST_ERRORED,	/* gave up: exit 78, too many crashes, or spawn failure */
};

enum policy_ev {
	PEV_START,	/* start requested */
	PEV_STOP,	/* stop requested */
	PEV_RESTART,	/* restart requested (stop if running, then start) */
	PEV_SPAWNED,	/* the process was forked */
	PEV_SPAWN_FAILED,
	PEV_READY,	/* IPC {"ready":true}, maybe with drain_ms */
	PEV_EXIT,	/* the process exited (code or signal in the event) */
	PEV_TIMER,	/* the instance's one timer fired */
	PEV_RELOAD,	/* reload: the caller set the online process aside; spawn its replacement */
};

/* Actions, a bit set the caller performs in this order. */
#define PACT_TIMER_STOP	0x01	/* cancel the timer */
#define PACT_KILL	0x02	/* send kill_signal to the process (group) */
#define PACT_SIGKILL	0x04	/* send SIGKILL to the process (group) */
#define PACT_SPAWN	0x08	/* fork a new process */
#define PACT_TIMER	0x10	/* arm the timer for out->timer_ms */
#define PACT_COUNT	0x20	/* a restart happened: ↺ + 1 (already done in state) */

struct policy_conf {
	int		 autorestart;
	int		 max_restarts;
	uint64_t	 min_uptime_ms;
	uint64_t	 restart_delay_ms;
	uint64_t	 exp_backoff_ms;	/* 0 = fixed restart_delay */
	const int	*stop_exit_codes;
	size_t		 nstop_exit_codes;
	uint64_t	 kill_timeout_ms;
	uint64_t	 drain_max_ms;		/* an announced drain window is cut to this */
	uint64_t	 listen_timeout_ms;
	int		 wait_ready;		/* stay launching until ready/listen_timeout */
	uint64_t	 crash_window_ms;	/* sliding window for crash loops */
	uint64_t	 backoff_reset_ms;	/* up this long: backoff back to base */
	uint64_t	 backoff_max_ms;	/* 15000 */
};

#define POLICY_WINDOW_MAX	64	/* crash times remembered */

struct policy_state {
	enum inst_state	 state;
	int		 restart_pending; /* stopping for a restart: spawn after exit */
	int		 killed;	/* SIGKILL sent in this stop */
	uint64_t	 drain_ms;	/* the process's drain window (its ready
					   said so, capped): its stop's SIGKILL
					   waits this much past kill_timeout */
	uint64_t	 started_at;	/* ms, last spawn (0 = never) */
	uint64_t	 backoff_ms;	/* next exponential delay (0 = base) */
	unsigned	 restarts;	/* ↺ */
	unsigned	 unstable;	/* restarts after an uptime < min_uptime */
	unsigned	 consecutive_unstable;
	uint64_t	 crashes[POLICY_WINDOW_MAX];	/* ring of unasked exit times */
	unsigned	 ncrashes;	/* total ever, ring index = n % MAX */
	int		 last_code;	/* -1 none */
	int		 last_signal;	/* 0 none */
	const char	*why;		/* static: why the last change of state
					   happened, NULL when nobody said */
};

struct policy_event {
	enum policy_ev	 type;
	int		 code;		/* PEV_EXIT: exit status, or -1 */
	int		 signal;	/* PEV_EXIT: terminating signal, or 0 */
	uint64_t	 drain_ms;	/* PEV_READY: the announced drain window */
};

struct policy_out {
	unsigned	 act;
	uint64_t	 timer_ms;
	const char	*why;		/* static, for the event log */
};

void	policy_init(struct policy_state *);
/* Apply one event; returns the actions to perform. */
void	policy_step(const struct policy_conf *, struct policy_state *,
	    const struct policy_event *, uint64_t now, struct policy_out *);
/* Unasked exits within the crash window ending at `now`. */
unsigned policy_crashes_in_window(const struct policy_conf *,
	    const struct policy_state *, uint64_t now);
/* Forget the crash history (a start or restart asked by a person). */
void	policy_reset(struct policy_state *);
/* How long a stop waits before SIGKILL: kill_timeout + the drain window. */
uint64_t policy_kill_after(const struct policy_conf *,
	    const struct policy_state *);
const char *policy_state_name(enum inst_state);
/* Whether a process may be running in this state. */
int	policy_running(enum inst_state);

#endif

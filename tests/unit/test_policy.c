/* The instance state machine and restart policy, driven with a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

struct fx {
	struct policy_conf	 pc;
	struct policy_state	 ps;
	struct policy_out	 out;
	uint64_t		 now;
	int			 stop_codes[2];
};

static struct fx fx;

static int
setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof fx);
	fx.pc.autorestart = 1;
	fx.pc.max_restarts = 16;
	fx.pc.min_uptime_ms = 1000;
	fx.pc.kill_timeout_ms = 1600;
	fx.pc.drain_max_ms = 600000;
	fx.pc.listen_timeout_ms = 3000;
	fx.pc.crash_window_ms = 120000;
	fx.pc.backoff_reset_ms = 30000;
	fx.pc.backoff_max_ms = 15000;
	fx.now = 1000000;
	policy_init(&fx.ps);
	return 0;
}

static void
ev(enum policy_ev type, int code, int sig)
{
	struct policy_event e = { type, code, sig, 0 };

	policy_step(&fx.pc, &fx.ps, &e, fx.now, &fx.out);
}

/* Start and, when the step asks for it, report the fork as done. */
static void
start(void)
{
	ev(PEV_START, 0, 0);
	assert_true(fx.out.act & PACT_SPAWN);
	ev(PEV_SPAWNED, 0, 0);
}

/* The restart delay ends: the caller's timer fires and it forks. */
static void
respawn(void)
{
	assert_int_equal(fx.ps.state, ST_WAITING);
	fx.now += fx.out.timer_ms;
	ev(PEV_TIMER, 0, 0);
	assert_true(fx.out.act & PACT_SPAWN);
	ev(PEV_SPAWNED, 0, 0);
}

static void
test_start_online_at_once(void **state)
{
	(void)state;
	start();
	assert_int_equal(fx.ps.state, ST_ONLINE);
	assert_int_equal(fx.ps.started_at, fx.now);
	assert_int_equal(fx.ps.restarts, 0);
}

static void
test_wait_ready(void **state)
{
	(void)state;
	fx.pc.wait_ready = 1;
	start();
	assert_int_equal(fx.ps.state, ST_LAUNCHING);
	assert_true(fx.out.act & PACT_TIMER);
	assert_int_equal(fx.out.timer_ms, 3000);
	ev(PEV_READY, 0, 0);
	assert_int_equal(fx.ps.state, ST_ONLINE);
	assert_true(fx.out.act & PACT_TIMER_STOP);
}

static void
test_listen_timeout(void **state)
{
	(void)state;
	fx.pc.wait_ready = 1;
	start();
	fx.now += 3000;
	ev(PEV_TIMER, 0, 0);
	assert_int_equal(fx.ps.state, ST_ONLINE);
	assert_non_null(fx.out.why);
}

static void
test_crash_restarts_with_delay(void **state)
{
	(void)state;
	fx.pc.restart_delay_ms = 250;
	start();
	fx.now += 5000;
	ev(PEV_EXIT, 1, 0);
	assert_int_equal(fx.ps.state, ST_WAITING);
	assert_true(fx.out.act & PACT_TIMER);
	assert_int_equal(fx.out.timer_ms, 250);
	assert_int_equal(fx.ps.last_code, 1);
	respawn();
	assert_int_equal(fx.ps.state, ST_ONLINE);
	assert_int_equal(fx.ps.restarts, 1);
	assert_int_equal(fx.ps.unstable, 0);
}

static void
test_killed_by_signal_restarts(void **state)
{
	(void)state;
	start();
	fx.now += 2000;
	ev(PEV_EXIT, -1, 9);
	assert_int_equal(fx.ps.state, ST_WAITING);
	assert_int_equal(fx.ps.last_signal, 9);
	assert_int_equal(fx.out.timer_ms, 0);
	respawn();
	assert_int_equal(fx.ps.restarts, 1);
}

static void
test_exit78_errored_at_once(void **state)
{
	(void)state;
	start();
	fx.now += 10;
	ev(PEV_EXIT, 78, 0);
	assert_int_equal(fx.ps.state, ST_ERRORED);
	assert_false(fx.out.act & (PACT_SPAWN | PACT_TIMER));
	/* Why is kept with the state (wsctl start reports it)... */
	assert_non_null(fx.ps.why);
	assert_non_null(strstr(fx.ps.why, "78"));
	/* ...and forgotten by the next change that gives none. */
	ev(PEV_START, 0, 0);
	assert_int_equal(fx.ps.state, ST_LAUNCHING);
	assert_null(fx.ps.why);
	/* Even a long-lived process exiting 78 is not respawned. */
	setup(NULL);
	start();
	fx.now += 100000;
	ev(PEV_EXIT, 78, 0);
	assert_int_equal(fx.ps.state, ST_ERRORED);
}

static void
test_stop_exit_codes(void **state)
{
	(void)state;
	fx.stop_codes[0] = 0;
	fx.stop_codes[1] = 3;
	fx.pc.stop_exit_codes = fx.stop_codes;
	fx.pc.nstop_exit_codes = 2;
	start();
	fx.now += 10;
	ev(PEV_EXIT, 3, 0);
	assert_int_equal(fx.ps.state, ST_STOPPED);
	start();
	fx.now += 10;
	ev(PEV_EXIT, 4, 0);
	assert_int_equal(fx.ps.state, ST_WAITING);
}

static void
test_autorestart_off(void **state)
{
	(void)state;
	fx.pc.autorestart = 0;
	start();
	fx.now += 10;
	ev(PEV_EXIT, 1, 0);
	assert_int_equal(fx.ps.state, ST_STOPPED);
	assert_false(fx.out.act & PACT_TIMER);
}

static void
test_unstable_loop_errored(void **state)
{
	int i;

	(void)state;
	fx.pc.max_restarts = 3;
	start();
	for (i = 0; i < 3; i++) {
		fx.now += 100;	/* under min_uptime */
		ev(PEV_EXIT, 1, 0);
		assert_int_equal(fx.ps.state, ST_WAITING);
		respawn();
	}
	fx.now += 100;
	ev(PEV_EXIT, 1, 0);
	assert_int_equal(fx.ps.state, ST_ERRORED);
	assert_int_equal(fx.ps.restarts, 3);
	assert_int_equal(fx.ps.unstable, 4);
	/* Errored stays errored: no timer fires a spawn. */
	ev(PEV_TIMER, 0, 0);
	assert_int_equal(fx.ps.state, ST_ERRORED);
	assert_false(fx.out.act & PACT_SPAWN);
}

/* PM2 never stops a loop of processes that live past min_uptime. */
static void
test_window_catches_slow_loop(void **state)
{
	int i;

	(void)state;
	fx.pc.max_restarts = 5;
	start();
	for (i = 0; i < 5; i++) {
		fx.now += 2000;	/* stable by min_uptime */
		ev(PEV_EXIT, 1, 0);
		assert_int_equal(fx.ps.state, ST_WAITING);
		respawn();
	}
	assert_int_equal(fx.ps.unstable, 0);
	fx.now += 2000;
	ev(PEV_EXIT, 1, 0);
	assert_int_equal(fx.ps.state, ST_ERRORED);
}

static void
test_window_slides(void **state)
{
	int i;

	(void)state;
	fx.pc.max_restarts = 3;
	fx.pc.crash_window_ms = 10000;
	start();
	/* One crash every 6 s: never more than 2 in a 10 s window. */
	for (i = 0; i < 20; i++) {
		fx.now += 6000;
		ev(PEV_EXIT, 1, 0);
		assert_int_equal(fx.ps.state, ST_WAITING);
		respawn();
	}
	assert_int_equal(policy_crashes_in_window(&fx.pc, &fx.ps, fx.now), 2);
}

static void
test_exp_backoff(void **state)
{
	uint64_t want[] = { 100, 150, 225, 337 };
	size_t i;

	(void)state;
	fx.pc.exp_backoff_ms = 100;
	fx.pc.max_restarts = 100;
	start();
	for (i = 0; i < 4; i++) {
		fx.now += 50;
		ev(PEV_EXIT, 1, 0);
		assert_int_equal(fx.out.timer_ms, want[i]);
		respawn();
	}
	/* Capped at backoff_max. */
	fx.pc.backoff_max_ms = 400;
	fx.now += 50;
	ev(PEV_EXIT, 1, 0);
	assert_int_equal(fx.out.timer_ms, 400);
	respawn();
	/* Up for backoff_reset: back to the base delay. */
	fx.now += 30000;
	ev(PEV_EXIT, 1, 0);
	assert_int_equal(fx.out.timer_ms, 100);
}

static void
test_stop_then_sigkill(void **state)
{
	(void)state;
	start();
	ev(PEV_STOP, 0, 0);
	assert_int_equal(fx.ps.state, ST_STOPPING);
	assert_true(fx.out.act & PACT_KILL);
	assert_true(fx.out.act & PACT_TIMER);
	assert_int_equal(fx.out.timer_ms, 1600);
	fx.now += 1600;
	ev(PEV_TIMER, 0, 0);
	assert_true(fx.out.act & PACT_SIGKILL);
	assert_int_equal(fx.ps.state, ST_STOPPING);
	ev(PEV_EXIT, -1, 9);
	assert_int_equal(fx.ps.state, ST_STOPPED);
	assert_false(fx.out.act & PACT_SPAWN);
	/* An asked-for stop is not a crash. */
	assert_int_equal(fx.ps.ncrashes, 0);
}

/* A process that announced its drain window is SIGKILLed that much later. */
static void
ready_drain(uint64_t drain_ms)
{
	struct policy_event e = { PEV_READY, 0, 0, drain_ms };

	policy_step(&fx.pc, &fx.ps, &e, fx.now, &fx.out);
}

static void
test_stop_waits_drain_window(void **state)
{
	(void)state;
	fx.pc.wait_ready = 1;
	start();
	ready_drain(3000);
	assert_int_equal(fx.ps.state, ST_ONLINE);
	ev(PEV_STOP, 0, 0);
	assert_true(fx.out.act & PACT_KILL);
	assert_int_equal(fx.out.timer_ms, 1600 + 3000);
	ev(PEV_EXIT, 0, 0);
	/* A restart's new process has announced nothing: kill_timeout. */
	ev(PEV_START, 0, 0);
	ev(PEV_SPAWNED, 0, 0);
	ev(PEV_READY, 0, 0);
	ev(PEV_RESTART, 0, 0);
	assert_int_equal(fx.out.timer_ms, 1600);
	fx.now += 1600;
	ev(PEV_TIMER, 0, 0);
	assert_true(fx.out.act & PACT_SIGKILL);
	ev(PEV_EXIT, -1, 9);
	assert_true(fx.out.act & PACT_SPAWN);
	ev(PEV_SPAWNED, 0, 0);
	/* What it announces past drain_max_ms is cut: it stays killable. */
	ready_drain(UINT64_MAX);
	ev(PEV_STOP, 0, 0);
	assert_int_equal(fx.out.timer_ms, 1600 + 600000);
}

static void
test_restart_running(void **state)
{
	(void)state;
	start();
	fx.now += 5000;
	ev(PEV_RESTART, 0, 0);
	assert_int_equal(fx.ps.state, ST_STOPPING);
	assert_true(fx.out.act & PACT_KILL);
	ev(PEV_EXIT, -1, 2);
	assert_true(fx.out.act & PACT_SPAWN);
	assert_int_equal(fx.ps.state, ST_LAUNCHING);
	ev(PEV_SPAWNED, 0, 0);
	assert_int_equal(fx.ps.state, ST_ONLINE);
	assert_int_equal(fx.ps.restarts, 1);
}

/* Reload: spawn the replacement at once (no kill), counted; only when online. */
static void
test_reload_spawns_without_kill(void **state)
{
	(void)state;
	fx.pc.wait_ready = 1;
	start();
	ev(PEV_READY, 0, 0);
	assert_int_equal(fx.ps.state, ST_ONLINE);
	fx.now += 5000;
	ev(PEV_RELOAD, 0, 0);
	assert_true(fx.out.act & PACT_SPAWN);
	assert_false(fx.out.act & (PACT_KILL | PACT_SIGKILL));
	assert_int_equal(fx.ps.state, ST_LAUNCHING);
	assert_int_equal(fx.ps.restarts, 1);
	ev(PEV_SPAWNED, 0, 0);
	assert_int_equal(fx.ps.state, ST_LAUNCHING);
	ev(PEV_READY, 0, 0);
	assert_int_equal(fx.ps.state, ST_ONLINE);
	/* Not online (launching, stopped): nothing happens. */
	ev(PEV_STOP, 0, 0);
	ev(PEV_EXIT, 0, 0);
	assert_int_equal(fx.ps.state, ST_STOPPED);
	ev(PEV_RELOAD, 0, 0);
	assert_int_equal(fx.out.act, 0);
	assert_int_equal(fx.ps.state, ST_STOPPED);
}

static void
test_restart_errored_resets_loop(void **state)
{
	(void)state;
	fx.pc.max_restarts = 0;
	start();
	fx.now += 10;
	ev(PEV_EXIT, 1, 0);
	assert_int_equal(fx.ps.state, ST_ERRORED);
	ev(PEV_RESTART, 0, 0);
	assert_true(fx.out.act & PACT_SPAWN);
	ev(PEV_SPAWNED, 0, 0);
	assert_int_equal(fx.ps.state, ST_ONLINE);
	assert_int_equal(fx.ps.consecutive_unstable, 0);
}

static void
test_stop_waiting_cancels(void **state)
{
	(void)state;
	fx.pc.restart_delay_ms = 5000;
	start();
	fx.now += 10;
	ev(PEV_EXIT, 1, 0);
	assert_int_equal(fx.ps.state, ST_WAITING);
	ev(PEV_STOP, 0, 0);
	assert_int_equal(fx.ps.state, ST_STOPPED);
	assert_true(fx.out.act & PACT_TIMER_STOP);
	ev(PEV_TIMER, 0, 0);	/* a stale timer does nothing */
	assert_int_equal(fx.ps.state, ST_STOPPED);
	assert_false(fx.out.act & PACT_SPAWN);
}

static void
test_spawn_failed(void **state)
{
	(void)state;
	ev(PEV_START, 0, 0);
	ev(PEV_SPAWN_FAILED, 0, 0);
	assert_int_equal(fx.ps.state, ST_ERRORED);
}

static void
test_stop_during_restart_wins(void **state)
{
	(void)state;
	start();
	ev(PEV_RESTART, 0, 0);
	ev(PEV_STOP, 0, 0);
	ev(PEV_EXIT, -1, 2);
	assert_int_equal(fx.ps.state, ST_STOPPED);
	assert_false(fx.out.act & PACT_SPAWN);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(policy_state_name(ST_WAITING), "waiting restart");
	assert_string_equal(policy_state_name(ST_LAUNCHING), "launching");
	assert_true(policy_running(ST_STOPPING));
	assert_false(policy_running(ST_WAITING));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_start_online_at_once, setup),
		cmocka_unit_test_setup(test_wait_ready, setup),
		cmocka_unit_test_setup(test_listen_timeout, setup),
		cmocka_unit_test_setup(test_crash_restarts_with_delay, setup),
		cmocka_unit_test_setup(test_killed_by_signal_restarts, setup),
		cmocka_unit_test_setup(test_exit78_errored_at_once, setup),
		cmocka_unit_test_setup(test_stop_exit_codes, setup),
		cmocka_unit_test_setup(test_autorestart_off, setup),
		cmocka_unit_test_setup(test_unstable_loop_errored, setup),
		cmocka_unit_test_setup(test_window_catches_slow_loop, setup),
		cmocka_unit_test_setup(test_window_slides, setup),
		cmocka_unit_test_setup(test_exp_backoff, setup),
		cmocka_unit_test_setup(test_stop_then_sigkill, setup),
		cmocka_unit_test_setup(test_stop_waits_drain_window, setup),
		cmocka_unit_test_setup(test_restart_running, setup),
		cmocka_unit_test_setup(test_reload_spawns_without_kill, setup),
		cmocka_unit_test_setup(test_restart_errored_resets_loop, setup),
		cmocka_unit_test_setup(test_stop_waiting_cancels, setup),
		cmocka_unit_test_setup(test_spawn_failed, setup),
		cmocka_unit_test_setup(test_stop_during_restart_wins, setup),
		cmocka_unit_test_setup(test_names, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

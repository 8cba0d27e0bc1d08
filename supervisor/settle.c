/*
 * The outcome of a start or restart: its reply waits until each instance
 * it touched has settled, and names those that did not come up.
 *
 * An instance is up once it is online and has stayed so for min_uptime
 * (the policy's line between a start and a crash loop: a process that
 * exits before it is an unstable restart), so a script that exits at once
 * is reported, not shown as started.  It failed when it is errored, or
 * stopped after an exit that was not clean (autorestart off).  The wait is
 * bounded: what has not settled by then (still launching, or crashing and
 * restarting) is reported as failed with its state; what is online then
 * counts as up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "wsd.h"
#include "xmalloc.h"

/* Past the longest stop, readiness wait and min_uptime of the apps: a
 * crash loop reaches errored within it unless restart delays are long. */
#define SETTLE_SLACK_MS		10000

enum settle_verdict {
	SV_WAIT,	/* not settled yet */
	SV_UP,		/* online for min_uptime, or stopped cleanly */
	SV_FAILED,	/* errored, stopped after a failed exit, or timed out */
};

struct settle {
	struct reply		*reply;
	json_t			*id;
	json_t			*data;		/* the reply's other members */
	int			*ids;
	unsigned char		*seen;		/* by id's index: seen online */
	size_t			 n;
	uint64_t		 started;	/* monotonic ms */
	uint64_t		 deadline;	/* monotonic ms */
	LIST_ENTRY(settle)	 entry;
};

static LIST_HEAD(, settle) settle_list = LIST_HEAD_INITIALIZER(settle_list);
static uv_timer_t	 settle_timer;
static int		 settle_timer_init;

/* A stop after an exit nobody asked for: clean when it exited 0 or with
 * one of its stop_exit_codes. */
static int
settle_clean_stop(const struct inst *in)
{
	size_t i;

	if (in->ps.last_signal > 0)
		return 0;
	if (in->ps.last_code <= 0)
		return 1;
	for (i = 0; i < in->app->pc.nstop_exit_codes; i++)
		if (in->app->pc.stop_exit_codes[i] == in->ps.last_code)
			return 1;
	return 0;
}

/*
 * The verdict now; *wake: when it changes without an event (min_uptime).
 * *seen: it was online at an earlier check.
 */
static enum settle_verdict
settle_inst(const struct inst *in, uint64_t now, uint64_t *wake,
    unsigned char *seen)
{
	uint64_t up_at;

	/* Came up, and something else (max_memory_restart, cron_restart,
	 * watch, a stop) replaces or stops it: not this start's failure. */
	if (in->reload != RL_NONE || (*seen && in->ps.state == ST_STOPPING))
		return SV_UP;
	switch (in->ps.state) {
	case ST_ONLINE:
		*seen = 1;
		up_at = in->ps.started_at + in->app->pc.min_uptime_ms;
		if (now >= up_at)
			return SV_UP;
		if (up_at < *wake)
			*wake = up_at;
		return SV_WAIT;
	case ST_ERRORED:
		return SV_FAILED;
	case ST_STOPPED:
		return settle_clean_stop(in) ? SV_UP : SV_FAILED;
	default:
		return SV_WAIT;
	}
}

/* "errored: <why>; last exit: code 1", for the CLI's ✗ line. */
static json_t *
settle_failure(const struct inst *in, int timed_out, uint64_t waited)
{
	char why[256], last[64] = "";
	int sig = in->ps.last_signal;

	if (timed_out)
		snprintf(why, sizeof why, "still %s after %llu ms",
		    policy_state_name(in->ps.state),
		    (unsigned long long)waited);
	else
		snprintf(why, sizeof why, "%s%s%s",
		    policy_state_name(in->ps.state),
		    in->ps.why != NULL ? ": " : "",
		    in->ps.why != NULL ? in->ps.why : "");
	if (sig > 0)
		snprintf(last, sizeof last, "; last exit: SIG%s",
		    sigabbrev_np(sig) != NULL ? sigabbrev_np(sig) : "?");
	else if (in->ps.last_code >= 0)
		snprintf(last, sizeof last, "; last exit: code %d",
		    in->ps.last_code);
	return json_pack("{sisssiss+ss}", "id", in->id, "name",
	    in->app->cfg.name, "instance", in->slot, "reason", why, last,
	    "status", policy_state_name(in->ps.state));
}

static void
settle_finish(struct settle *s, uint64_t now)
{
	json_t *insts = json_array(), *failed = json_array();
	struct inst *in;
	json_t *f;
	uint64_t wake = UINT64_MAX;
	enum settle_verdict sv;
	size_t i;

	LIST_REMOVE(s, entry);
	for (i = 0; i < s->n; i++) {
		if ((in = app_inst_by_id(s->ids[i])) == NULL)
			continue;	/* deleted meanwhile */
		json_array_append_new(insts, view_inst_json(in, 0));
		/* Online when time is up, not yet for min_uptime: up. */
		if ((sv = settle_inst(in, now, &wake, &s->seen[i])) == SV_UP ||
		    in->ps.state == ST_ONLINE)
			continue;
		f = settle_failure(in, sv == SV_WAIT, now - s->started);
		log_json(LOG_WARN, app_fields(in), "did not come up: %s",
		    json_string_value(json_object_get(f, "reason")));
		json_array_append_new(failed, f);
	}
	json_object_set_new(s->data, "instances", insts);
	json_object_set_new(s->data, "failed", failed);
	control_reply_done(s->reply, proto_reply_ok(s->id, s->data));
	json_decref(s->id);
	free(s->ids);
	free(s->seen);
	free(s);
}

/* Whether every instance of s has settled; *wake as settle_inst's. */
static int
settle_done(struct settle *s, uint64_t now, uint64_t *wake)
{
	struct inst *in;
	size_t i;
	int done = 1;

	for (i = 0; i < s->n; i++)
		if ((in = app_inst_by_id(s->ids[i])) != NULL &&
		    settle_inst(in, now, wake, &s->seen[i]) == SV_WAIT)
			done = 0;
	return done || now >= s->deadline;
}

static void
settle_timer_cb(uv_timer_t *t)
{
	(void)t;
	settle_check();
}

void
settle_check(void)
{
	struct settle *s, *next;
	uint64_t now = wsd_now_ms(), wake = UINT64_MAX;

	LIST_FOREACH_SAFE(s, &settle_list, entry, next) {
		if (settle_done(s, now, &wake))
			settle_finish(s, now);
		else if (s->deadline < wake)
			wake = s->deadline;
	}
	if (!settle_timer_init)
		return;
	if (wake == UINT64_MAX)
		uv_timer_stop(&settle_timer);
	else
		uv_timer_start(&settle_timer, settle_timer_cb,
		    wake > now ? wake - now : 0, 0);
}

char *
settle_reply(struct cmd_ctx *ctx, struct inst **v, size_t n, json_t *data)
{
	struct settle *s;
	uint64_t longest = 0, t;
	size_t i;

	s = xcalloc(1, sizeof *s);
	s->ids = xcalloc(n + 1, sizeof *s->ids);
	s->seen = xcalloc(n + 1, sizeof *s->seen);
	s->n = n;
	for (i = 0; i < n; i++) {
		s->ids[i] = v[i]->id;
		t = policy_kill_after(&v[i]->app->pc, &v[i]->ps) +
		    v[i]->app->pc.listen_timeout_ms +
		    v[i]->app->pc.min_uptime_ms;
		if (t > longest)
			longest = t;
	}
	s->id = json_incref(ctx->id != NULL ? ctx->id : json_null());
	s->data = data != NULL ? data : json_object();
	s->started = wsd_now_ms();
	s->deadline = s->started + longest + SETTLE_SLACK_MS;
	s->reply = control_reply_defer(ctx->client);
	LIST_INSERT_HEAD(&settle_list, s, entry);
	return NULL;
}

static void
settle_observe_cb(void)
{
	settle_check();
}

void
settle_init(void)
{
	uv_timer_init(wsd_loop, &settle_timer);
	uv_unref((uv_handle_t *)&settle_timer);
	settle_timer_init = 1;
	inst_observe(settle_observe_cb);
}

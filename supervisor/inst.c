/*
 * Each instance's lifecycle: events (child exits, timers, IPC messages,
 * requests) go through policy_step() and the actions it returns are
 * carried out here; a leader's exit waits for its process group; a slot
 * being taken away is steered away from and served out first.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ipcmsg.h"
#include "knob.h"
#include "log.h"
#include "wsd.h"

/* Called after each transition once the dust has settled, in the order
 * they were given: reload.c, command.c and settle.c (their deferred
 * replies), main.c. */
#define INST_OBSERVERS	8
static void		(*inst_observers[INST_OBSERVERS])(void);
static size_t		 inst_nobservers;
static int		 inst_in_step;
static const struct inst_reload_ops *inst_reload;

static void	inst_step(struct inst *, const struct policy_event *);

/* Whether a process of `in` accepts on the slot socket now. */
static int
inst_accepts(const struct inst *in)
{
	return (in->pid != 0 && in->ps.state == ST_ONLINE) ||
	    (in->old_pid != 0 && !in->old_signalled);
}

/*
 * Send new connections to the slots whose process accepts now: not to a
 * slot being taken away, nor to one whose process is restarting or not
 * ready yet (what is already queued there waits for it).  When no slot
 * accepts, to the slots that stay (their queues wait for a replacement).
 */
void
inst_steer(struct app *a)
{
	struct inst *in;
	size_t i, n = 0;
	char *err = NULL;
	int *v, pass;

	if (a->socks.n == 0 || (v = calloc(a->socks.nslots,
	    sizeof *v)) == NULL)
		return;
	for (pass = 0; pass < 3 && n == 0; pass++)
		for (i = 0; i < a->socks.nslots; i++) {
			in = i < a->ninsts ? a->insts[i] : NULL;
			if (listen_fd(&a->socks, (int)i) < 0 ||
			    (pass < 2 && (in == NULL || in->removing)) ||
			    (pass == 0 && !inst_accepts(in)))
				continue;
			v[n++] = (int)i;
		}
	if (listen_steer(&a->socks, v, n, &err) < 0)
		log_json(LOG_WARN, json_pack("{ss}", "app", a->cfg.name), "%s",
		    err != NULL ? err : "cannot steer new connections");
	free(err);
	free(v);
}

void
inst_set_reload(const struct inst_reload_ops *ops)
{
	inst_reload = ops;
}

void
inst_observe(void (*cb)(void))
{
	if (inst_nobservers < INST_OBSERVERS)
		inst_observers[inst_nobservers++] = cb;
}

void
inst_settled(void)
{
	size_t i;

	for (i = 0; i < inst_nobservers; i++)
		inst_observers[i]();
}

void
inst_ipc_cb(void *arg, const struct ipcmsg *m)
{
	struct inst *in = arg;

	if (m->settings_ok || m->settings_error != NULL)
		inst_reload->settings_ack(in, m->settings_error);
	if (m->ready) {
		struct policy_event ev = { PEV_READY, 0, 0, m->drain_ms };

		if (in->ps.state == ST_LAUNCHING)
			log_json(LOG_INFO, app_fields(in), "ready");
		inst_step(in, &ev);
	}
	if (m->stats != NULL) {
		json_decref(in->stats);
		in->stats = json_incref(m->stats);
	}
}

static void
inst_timer_cb(uv_timer_t *t)
{
	inst_event(t->data, PEV_TIMER, 0, 0);
}

static void
inst_apply(struct inst *in, const struct policy_out *po)
{
	int sig = in->app->cfg.kill_signal > 0 ? in->app->cfg.kill_signal : SIGINT;
	int group = in->app->cfg.treekill;

	if (po->act & PACT_TIMER_STOP)
		uv_timer_stop(&in->timer);
	if ((po->act & PACT_KILL) && in->pid > 0) {
		log_json(LOG_INFO, app_fields(in), "stopping with SIG%s, "
		    "SIGKILL after %llu ms (kill_timeout %llu + drain window "
		    "%llu)", sigabbrev_np(sig) != NULL ? sigabbrev_np(sig) : "?",
		    (unsigned long long)po->timer_ms,
		    (unsigned long long)in->app->pc.kill_timeout_ms,
		    (unsigned long long)in->ps.drain_ms);
		proc_signal(in->pid, sig, group);
		if (in->ipc != NULL)
			ipc_send(in->ipc, ipcmsg_drain());
	}
	if ((po->act & PACT_SIGKILL) && in->pid > 0) {
		log_json(LOG_WARN, app_fields(in), "%s", po->why);
		proc_signal(in->pid, SIGKILL, group);
	}
	if (po->act & PACT_TIMER)
		uv_timer_start(&in->timer, inst_timer_cb, po->timer_ms, 0);
	if (po->act & PACT_SPAWN) {
		if (spawn_inst(in, inst_ipc_cb) == 0)
			inst_event(in, PEV_SPAWNED, 0, 0);
		else
			inst_event(in, PEV_SPAWN_FAILED, 0, 0);
	}
}

/* One event through the policy, and its actions. */
static void
inst_step(struct inst *in, const struct policy_event *ev)
{
	struct policy_out po;
	enum inst_state before = in->ps.state;

	inst_in_step++;
	policy_step(&in->app->pc, &in->ps, ev, wsd_now_ms(), &po);
	if (in->ps.state != before) {
		if (in->ps.state == ST_WAITING)
			log_json(LOG_INFO, app_fields(in),
			    "restarting in %llu ms", (unsigned long long)po.timer_ms);
		else if (in->ps.state == ST_ERRORED)
			log_json(LOG_ERROR, app_fields(in), "errored: %s",
			    po.why != NULL ? po.why : "");
		else if (in->ps.state == ST_ONLINE || in->ps.state == ST_STOPPED)
			log_json(LOG_INFO, app_fields(in), "%s%s%s",
			    policy_state_name(in->ps.state),
			    po.why != NULL ? ": " : "", po.why != NULL ? po.why : "");
	}
	inst_apply(in, &po);
	inst_reload->advance(in);
	inst_steer(in->app);
	if (--inst_in_step > 0)
		return;
	app_inst_reap(in);	/* may free `in` */
	inst_settled();
}

void
inst_event(struct inst *in, enum policy_ev type, int code, int sig)
{
	struct policy_event ev = { type, code, sig, 0 };

	inst_step(in, &ev);
}

/* "exited with code N" / "killed by SIGX", from a waitpid() status. */
static void
inst_exit_what(char *buf, size_t len, int status)
{
	int sig;

	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited with code %d", WEXITSTATUS(status));
		return;
	}
	sig = WTERMSIG(status);
	snprintf(buf, len, "killed by SIG%s",
	    sigabbrev_np(sig) != NULL ? sigabbrev_np(sig) : "?");
}

/*
 * A leader whose group outlives it (children it started, killed with it
 * but not dead yet) is not gone: what they hold (a lock, a port bound
 * without SO_REUSEPORT, the log pipes) would fail the replacement.  Its
 * exit is handed to the policy once the group is empty: wsd is the
 * subreaper of those orphans, and every one it reaps, and the poll
 * (inst_poll), checks.  A group still there after INST_GROUP_WAIT_MS
 * (a process stuck in the kernel) is given up on.
 */
#define INST_GROUP_WAIT_MS	2000

/*
 * What comes as no event is polled every INST_POLL_MS while something waits
 * for it: a process group to empty (inst_group_check), a retiring slot's
 * queue to empty (inst_retire_check).  Each check says whether it waits.
 */
#define INST_POLL_MS		10

static uv_timer_t	 inst_poll_timer;
static int		 inst_poll_timer_init;

static int	inst_group_check(void);
static int	inst_retire_check(void);

static void
inst_poll_cb(uv_timer_t *t)
{
	int waiting = inst_group_check();

	waiting |= inst_retire_check();
	if (!waiting)
		uv_timer_stop(t);
}

static void
inst_poll(void)
{
	if (!inst_poll_timer_init) {
		uv_timer_init(wsd_loop, &inst_poll_timer);
		uv_unref((uv_handle_t *)&inst_poll_timer);
		inst_poll_timer_init = 1;
	}
	if (!uv_is_active((uv_handle_t *)&inst_poll_timer))
		uv_timer_start(&inst_poll_timer, inst_poll_cb, INST_POLL_MS,
		    INST_POLL_MS);
}

static void	inst_leader_exit(struct inst *, int status);

static int
inst_group_check(void)
{
	struct inst *in, *next;
	uint64_t now = wsd_now_ms();
	int waiting = 0;

	for (in = TAILQ_FIRST(app_insts()); in != NULL; in = next) {
		next = TAILQ_NEXT(in, entry);
		if (in->gone_at == 0)
			continue;
		if (kill(-in->pid, 0) == 0 || errno == EPERM) {
			if (now - in->gone_at < INST_GROUP_WAIT_MS) {
				waiting = 1;
				continue;
			}
			log_json(LOG_WARN, app_fields(in), "its process group "
			    "is still there %d ms after it exited: going on",
			    INST_GROUP_WAIT_MS);
		}
		in->gone_at = 0;
		inst_leader_exit(in, in->gone_status);	/* may free `in` */
		next = TAILQ_FIRST(app_insts());		/* the list may have changed */
	}
	return waiting;
}

void
inst_child_exit(pid_t pid, int status)
{
	struct inst *in;
	char what[64];

	TAILQ_FOREACH(in, app_insts(), entry)
		if (in->pid == pid || in->old_pid == pid)
			break;
	if (in == NULL) {
		/* An orphan we adopted: a waiting group may be empty now. */
		inst_group_check();
		return;
	}
	if (!WIFEXITED(status) && !WIFSIGNALED(status))
		return;
	/* What the leader left in its group would hold pipes and ports. */
	if (in->app->cfg.treekill)
		kill(-pid, SIGKILL);
	if (pid == in->old_pid) {
		inst_exit_what(what, sizeof what, status);
		/* The replaced process: never a crash, never restarted. */
		log_json(in->old_signalled || (WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0) ? LOG_INFO : LOG_WARN,
		    inst_reload->old_fields(in), "replaced process %s", what);
		inst_reload->old_gone(in);
		if (in->reload == RL_RETIRING)
			in->reload = RL_DONE;
		inst_steer(in->app);
		app_inst_reap(in);	/* may free `in` */
		if (inst_in_step == 0)
			inst_settled();
		return;
	}
	if (in->app->cfg.treekill && kill(-pid, 0) == 0) {
		in->gone_status = status;
		in->gone_at = wsd_now_ms();
		inst_poll();
		return;
	}
	inst_leader_exit(in, status);
}

/* The instance's own process is gone, with its whole group. */
static void
inst_leader_exit(struct inst *in, int status)
{
	char what[64], before[96];
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	inst_exit_what(what, sizeof what, status);
	log_json(code == 0 || in->ps.state == ST_STOPPING ? LOG_INFO : LOG_WARN,
	    app_fields(in), "%s", what);
	if (in->reload == RL_SPAWNING && in->old_pid != 0 &&
	    !in->old_signalled) {
		/* The replacement died before it was online: keep the old one. */
		ipc_close(in->ipc);
		in->ipc = NULL;
		in->pid = 0;
		in->ps.last_code = code;
		in->ps.last_signal = sig;
		snprintf(before, sizeof before, "%s before it was online",
		    what);
		inst_reload->restore(in, before);
		inst_steer(in->app);
		if (inst_in_step == 0)
			inst_settled();
		return;
	}
	in->pid = 0;
	ipc_close(in->ipc);
	in->ipc = NULL;
	inst_event(in, PEV_EXIT, code, sig);
}

void
inst_resume(struct inst *in, int64_t timer_ms)
{
	if (timer_ms >= 0)
		uv_timer_start(&in->timer, inst_timer_cb, (uint64_t)timer_ms, 0);
	if (in->pid != 0 && in->ps.state == ST_ONLINE)
		log_json(LOG_INFO, app_fields(in), "kept across the update");
}

int
inst_start(struct inst *in)
{
	inst_event(in, PEV_START, 0, 0);
	return 0;
}

void
inst_stop(struct inst *in)
{
	in->retire_at = 0;
	inst_reload->old_retire(in);
	inst_event(in, PEV_STOP, 0, 0);
}

void
inst_restart(struct inst *in)
{
	inst_event(in, PEV_RESTART, 0, 0);
}

/*
 * Taking a slot away (scale down, deleting one instance) strands nobody.
 * Its socket is first steered away from (inst_steer): no new connection
 * lands there.  The slot's process goes on accepting what is already
 * queued, and what is still completing its handshake, until the queue is
 * empty and WSD_SCALE_SETTLE_MS (300) have passed; then it is stopped (the
 * drain: clients get 1001 going away).  Its socket is closed once no
 * process of the slot holds it (app_inst_reap).  Not waited for: a slot
 * whose process does not accept (nobody would empty the queue), an app
 * being deleted whole (no slot stays to take over), and a queue still not
 * empty after kill_timeout.
 */
static int
inst_retire_waits(const struct inst *in, uint64_t now)
{
	const struct app *a = in->app;
	uint64_t settle = knob_or_default(KNOB_WSD_SCALE_SETTLE_MS);
	size_t i;
	int queued, stays = 0;

	for (i = 0; i < a->ninsts; i++)
		if (a->insts[i] != NULL && !a->insts[i]->removing)
			stays = 1;
	if (!stays || !inst_accepts(in) ||
	    (queued = listen_queued(&a->socks, in->slot)) < 0)
		return 0;
	if (now - in->retire_at < settle)
		return 1;
	return queued > 0 && now - in->retire_at < settle + a->pc.kill_timeout_ms;
}

static int
inst_retire_check(void)
{
	struct inst *in, *next;
	uint64_t now = wsd_now_ms();
	int waiting = 0;

	for (in = TAILQ_FIRST(app_insts()); in != NULL; in = next) {
		next = TAILQ_NEXT(in, entry);
		if (in->retire_at == 0)
			continue;
		if (inst_retire_waits(in, now)) {
			waiting = 1;
			continue;
		}
		in->retire_at = 0;
		inst_reload->old_retire(in);
		inst_event(in, PEV_STOP, 0, 0);	/* may free `in` */
		next = TAILQ_FIRST(app_insts());	/* the list may have changed */
	}
	return waiting;
}

void
inst_delete(struct inst *in)
{
	in->removing = 1;
	if ((in->retire_at = wsd_now_ms()) == 0)
		in->retire_at = 1;	/* 0 = not retiring */
	inst_steer(in->app);
	inst_poll();
	if (inst_retire_waits(in, wsd_now_ms())) {
		log_json(LOG_INFO, app_fields(in), "removing: new connects go "
		    "to the other instances; it stops once its queue is served");
		return;
	}
	in->retire_at = 0;
	inst_reload->old_retire(in);
	inst_event(in, PEV_STOP, 0, 0);
}

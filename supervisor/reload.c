/*
 * Reload jobs: the zero-downtime reload of a set of instances, one
 * instance at a time (reload_inst: the replacement starts, comes
 * online, then the old process drains and exits), and the reply once the
 * last old process is gone.
 *
 * A job re-reads each app's env files once, before that app's first
 * instance.  An instance that is not online (stopped, errored, waiting,
 * launching) has nothing to keep serving: it is restarted and waited for.
 * So is every instance of a fork-mode app, as PM2 does: a fork-mode
 * process may own its port (without SO_REUSEPORT) or its files alone, and
 * a replacement overlapping it would fail; cluster-mode instances share
 * the slot socket wsd holds, and are replaced with an overlap.
 * When a replacement fails, the job skips the rest of that app (the old
 * processes keep running) and goes on with the other apps; the reply then
 * is `reload_failed` with every error.  If none of the app's instances
 * had been replaced yet, the app gets back the env its processes run with,
 * so that a later crash restart does not bring up what just failed.
 *
 * Hot settings (SPEC §4.11, hot.c): when re-reading an app's env changed
 * only hot keys, each online instance that has spoken over IPC is sent
 * them instead and the job waits for its answer (HOT_ACK_MS at most).  An
 * instance that refuses them, does not answer, or never spoke IPC is
 * replaced as above.  Pushed instances keep every connection.
 *
 * Jobs queue per app: one asked by wsd itself (SIGHUP) waits while an
 * earlier job still has instances of the same app to do.  The control
 * commands refuse a busy app instead (command.c: `busy`), so a person
 * never waits behind a reload without knowing it.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"
#include "ipcmsg.h"
#include "log.h"
#include "proto.h"
#include "wsd.h"
#include "xmalloc.h"

/*
 * Zero-downtime reload of one instance.  The online process is set aside
 * (old_pid, old_ipc: its IPC messages are ignored from then on, so its
 * stats and a late "ready" never pass for the replacement's), and the
 * policy spawns the replacement as a counted restart: it gets the same
 * slot socket (wsd holds it), so both processes accept from one queue
 * during the overlap and nothing queued is lost when the old one stops
 * accepting.  Once the replacement is online the old process gets the
 * drain (IPC and kill_signal) and SIGKILL after kill_timeout.  Its exit is
 * reaped here and never reaches the policy; its output pipes are read to
 * EOF like any other's.  If the replacement exits, or cannot be spawned,
 * before it is online, the old process is the instance again, as if
 * nothing had happened (its policy state is restored).
 */
static json_t *
reload_old_fields(const struct inst *in)
{
	return json_pack("{sssisisi}", "app", in->app->cfg.name,
	    "instance", in->slot, "id", in->id, "pid", (int)in->old_pid);
}

static void
reload_old_ipc_cb(void *arg, const struct ipcmsg *m)
{
	(void)arg;
	(void)m;
}

static void
reload_handle_free_cb(uv_handle_t *h)
{
	free(h);
}

static void
reload_old_timer_cb(uv_timer_t *t)
{
	struct inst *in = t->data;
	siginfo_t si;

	/*
	 * It may have exited on time with its SIGCHLD not handled yet (a
	 * busy loop handles this timer first): then it is reaped next, not
	 * reported killed.  WNOWAIT leaves the reaping to proc.c.
	 */
	memset(&si, 0, sizeof si);
	if (in->old_pid > 0 && waitid(P_PID, (id_t)in->old_pid, &si,
	    WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == in->old_pid)
		return;
	if (in->old_pid > 0) {
		log_json(LOG_WARN, reload_old_fields(in),
		    "kill_timeout passed: SIGKILL to the replaced process");
		proc_signal(in->old_pid, SIGKILL, in->app->cfg.treekill);
	}
}

/*
 * Ask the replaced process to drain and exit; SIGKILL after kill_timeout
 * and the drain window it announced (old_ps: what it said when it was the
 * instance's process).
 */
static void
reload_old_retire(struct inst *in)
{
	int sig = in->app->cfg.kill_signal > 0 ? in->app->cfg.kill_signal : SIGINT;
	uint64_t after = policy_kill_after(&in->app->pc, &in->old_ps);

	if (in->old_pid == 0 || in->old_signalled)
		return;
	in->old_signalled = 1;
	log_json(LOG_INFO, reload_old_fields(in),
	    "replaced by pid %d: draining the old process with SIG%s, "
	    "SIGKILL after %llu ms (kill_timeout %llu + drain window %llu)",
	    (int)in->pid, sigabbrev_np(sig) != NULL ? sigabbrev_np(sig) : "?",
	    (unsigned long long)after,
	    (unsigned long long)in->app->pc.kill_timeout_ms,
	    (unsigned long long)in->old_ps.drain_ms);
	if (in->old_ipc != NULL)
		ipc_send(in->old_ipc, ipcmsg_drain());
	proc_signal(in->old_pid, sig, in->app->cfg.treekill);
	if (in->old_timer == NULL &&
	    (in->old_timer = malloc(sizeof *in->old_timer)) != NULL) {
		uv_timer_init(wsd_loop, in->old_timer);
		in->old_timer->data = in;
	}
	if (in->old_timer != NULL)
		uv_timer_start(in->old_timer, reload_old_timer_cb, after, 0);
}

/* The replaced process has exited (and been reaped). */
static void
reload_old_gone(struct inst *in)
{
	in->old_pid = 0;
	in->old_signalled = 0;
	ipc_close(in->old_ipc);
	in->old_ipc = NULL;
	if (in->old_timer != NULL) {
		uv_close((uv_handle_t *)in->old_timer, reload_handle_free_cb);
		in->old_timer = NULL;
	}
}

static void
reload_fail(struct inst *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reload_fail(struct inst *in, const char *fmt, ...)
{
	va_list ap;

	free(in->reload_why);
	va_start(ap, fmt);
	if (vasprintf(&in->reload_why, fmt, ap) < 0)
		in->reload_why = NULL;
	va_end(ap);
	in->reload = RL_FAILED;
}

/* The replacement is gone before it was online: the old process is back. */
static void
reload_restore(struct inst *in, const char *what)
{
	int last_code = in->ps.last_code, last_signal = in->ps.last_signal;

	/* Back to the old process's state and ↺; exit_code/exit_signal
	 * still tell how the replacement ended. */
	uv_timer_stop(&in->timer);
	in->ps = in->old_ps;
	in->ps.last_code = last_code;
	in->ps.last_signal = last_signal;
	in->pid = in->old_pid;
	in->ipc = in->old_ipc;
	ipc_set_cb(in->ipc, inst_ipc_cb, in);
	in->started_epoch = in->old_started_epoch;
	in->old_pid = 0;
	in->old_ipc = NULL;
	in->old_signalled = 0;
	reload_fail(in, "the replacement %s; pid %d keeps running", what,
	    (int)in->pid);
	log_json(LOG_ERROR, app_fields(in), "reload failed: %s",
	    in->reload_why != NULL ? in->reload_why : what);
}

/* After each event: move the reload on (drain the old one once online). */
static void
reload_advance(struct inst *in)
{
	if (in->reload != RL_SPAWNING)
		return;
	switch (in->ps.state) {
	case ST_LAUNCHING:
		return;
	case ST_ONLINE:
		if (in->old_pid != 0) {
			in->reload = RL_RETIRING;
			reload_old_retire(in);
		} else
			in->reload = RL_DONE;
		return;
	case ST_ERRORED:
		if (in->pid == 0 && in->old_pid != 0 && !in->old_signalled) {
			reload_restore(in, "could not be started "
			    "(wsd's log says why)");
			return;
		}
		/* FALLTHROUGH */
	default:
		reload_fail(in, "interrupted: the instance is %s",
		    policy_state_name(in->ps.state));
		return;
	}
}

int
reload_inst(struct inst *in)
{
	if (in->ps.state != ST_ONLINE || in->pid == 0 || in->old_pid != 0 ||
	    in->removing)
		return -1;
	free(in->reload_why);
	in->reload_why = NULL;
	in->old_pid = in->pid;
	in->old_ipc = in->ipc;
	in->old_signalled = 0;
	in->old_started_epoch = in->started_epoch;
	in->old_ps = in->ps;
	ipc_set_cb(in->old_ipc, reload_old_ipc_cb, NULL);
	in->pid = 0;
	in->ipc = NULL;
	in->reload = RL_SPAWNING;
	log_json(LOG_INFO, reload_old_fields(in), "reloading: starting the replacement");
	inst_event(in, PEV_RELOAD, 0, 0);
	return 0;
}

int
reload_result(struct inst *in, const char **why)
{
	*why = NULL;
	switch (in->reload) {
	case RL_DONE:
	case RL_NONE:
		return 1;
	case RL_FAILED:
		*why = in->reload_why != NULL ? in->reload_why : "failed";
		return -1;
	default:
		return 0;
	}
}

void
reload_forget(struct inst *in)
{
	if (in->reload == RL_DONE || in->reload == RL_FAILED)
		in->reload = RL_NONE;
}

enum reload_step {
	STEP_NEXT,	/* ids[cur] not started */
	STEP_RELOAD,	/* ids[cur] is being replaced */
	STEP_RESTART,	/* ids[cur] was not online: restarted, wait for online */
	STEP_PUSH,	/* ids[cur] was sent hot settings: wait for its answer */
};

/* How long an instance has to answer a settings push before it is replaced. */
#define HOT_ACK_MS	5000

/* An app's env before the job re-read it. */
struct reload_env {
	char			*name;
	struct env		 env;
	int			 replaced;	/* an instance runs the new env */
	enum hot_verdict	 verdict;	/* old env → new env */
	json_t			*changed;	/* HOT_PUSH: the key names */
	size_t			 npushed;	/* instances that took them */
	size_t			 nreplaced;	/* instances replaced/restarted */
};

struct reload_job {
	struct reply		*reply;		/* NULL: asked by wsd itself */
	json_t			*id;
	char			*why;
	int			*ids;		/* -1: skipped */
	int			*orig;		/* for the reply */
	size_t			 n;
	size_t			 cur;
	enum reload_step	 step;
	uint64_t		 spawns;	/* ids[cur]'s spawns when restarted */
	json_t			*errors;	/* strings */
	struct reload_env	*envs;		/* apps whose env was re-read */
	size_t			 nenvs;
	uv_timer_t		*push_timer;	/* STEP_PUSH: HOT_ACK_MS */
	int			 push_expired;
	TAILQ_ENTRY(reload_job)	 entry;
};

static TAILQ_HEAD(, reload_job) reload_jobs =
    TAILQ_HEAD_INITIALIZER(reload_jobs);

static void	reload_check(void);

/* Whether job `j` still has instances of app `a` to do. */
static int
reload_job_has(const struct reload_job *j, const struct app *a)
{
	struct inst *in;
	size_t k;

	for (k = j->cur; k < j->n; k++)
		if ((in = app_inst_by_id(j->ids[k])) != NULL && in->app == a)
			return 1;
	return 0;
}

int
reload_busy(const struct app *a)
{
	struct reload_job *j;

	TAILQ_FOREACH(j, &reload_jobs, entry)
		if (reload_job_has(j, a))
			return 1;
	return 0;
}

int
reload_idle(void)
{
	return TAILQ_EMPTY(&reload_jobs);
}

static struct reload_env *
reload_env_of(struct reload_job *j, const struct app *a)
{
	size_t i;

	for (i = 0; i < j->nenvs; i++)
		if (strcmp(j->envs[i].name, a->cfg.name) == 0)
			return &j->envs[i];
	return NULL;
}

static void
reload_error(struct reload_job *j, struct inst *in, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record an error for `in`'s app and skip the rest of that app. */
static void
reload_error(struct reload_job *j, struct inst *in, const char *fmt, ...)
{
	struct app *a = in->app;
	struct reload_env *re;
	struct inst *o;
	va_list ap;
	char *msg = NULL, *line = NULL;
	size_t k;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (asprintf(&line, "%s (id %d): %s", a->cfg.name, in->id,
	    msg != NULL ? msg : "failed") < 0)
		line = NULL;
	log_json(LOG_ERROR, json_pack("{sssisiss}", "app", a->cfg.name,
	    "instance", in->slot, "id", in->id, "reload", j->why),
	    "reload of %s stopped: %s", a->cfg.name,
	    msg != NULL ? msg : "failed");
	json_array_append_new(j->errors, json_string(line != NULL ? line :
	    "reload failed"));
	if ((re = reload_env_of(j, a)) != NULL && !re->replaced &&
	    re->env.n > 0 && in->pid != 0) {
		app_set_env(a, &re->env);
		re->replaced = 1;	/* nothing left to restore */
		log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
		    "the env the running processes were started with is kept");
	}
	for (k = j->cur + 1; k < j->n; k++)
		if ((o = app_inst_by_id(j->ids[k])) != NULL && o->app == a)
			j->ids[k] = -1;
	free(msg);
	free(line);
}

/* Whether an earlier job still has instances of `a` to do. */
static int
reload_blocked(const struct reload_job *j, const struct app *a)
{
	const struct reload_job *e;

	for (e = TAILQ_FIRST(&reload_jobs); e != NULL && e != j;
	    e = TAILQ_NEXT(e, entry))
		if (reload_job_has(e, a))
			return 1;
	return 0;
}

/* Re-read the env files of in's app once per job; 0 or -1 (recorded). */
static int
reload_env(struct reload_job *j, struct inst *in)
{
	struct reload_env *re;
	struct diag errors;
	size_t i;
	int rc = 0;

	if (reload_env_of(j, in->app) != NULL)
		return 0;
	j->envs = xreallocarray(j->envs, j->nenvs + 1, sizeof *j->envs);
	re = &j->envs[j->nenvs++];
	memset(re, 0, sizeof *re);
	re->name = xstrdup(in->app->cfg.name);
	re->changed = json_array();
	re->verdict = HOT_REPLACE;
	env_init(&re->env);
	env_copy(&re->env, app_ran_env(in->app));
	app_ran_env_drop(in->app);
	diag_init(&errors);
	if (app_update_env(in->app, &errors) < 0) {
		reload_error(j, in, "%s", errors.n > 0 ? errors.msgs[0] :
		    "cannot resolve the environment");
		for (i = 1; i < errors.n; i++)
			json_array_append_new(j->errors,
			    json_string(errors.msgs[i]));
		rc = -1;
	} else if (re->env.n > 0)	/* it ran with a resolved env */
		re->verdict = hot_compare(&re->env, &in->app->env, re->changed);
	diag_free(&errors);
	return rc;
}

/* Replace ids[cur]; afterwards the step says what to wait for. */
static void
reload_replace(struct reload_job *j, struct inst *in)
{
	struct reload_env *re = reload_env_of(j, in->app);

	if (re != NULL)
		re->nreplaced++;
	if (in->ps.state == ST_ONLINE &&
	    in->app->cfg.exec_mode == EXEC_CLUSTER &&
	    reload_inst(in) == 0) {
		j->step = STEP_RELOAD;
		return;
	}
	/* Fork mode, or nothing serving to keep: start it over (stop, then
	 * spawn) and wait until online. */
	j->spawns = in->spawns;
	j->step = STEP_RESTART;
	inst_restart(in);
}

static json_t *
reload_fields(const struct inst *in)
{
	return json_pack("{sssisi}", "app", in->app->cfg.name, "instance",
	    in->slot, "id", in->id);
}

static void
reload_push_timer_cb(uv_timer_t *t)
{
	struct reload_job *j = t->data;

	j->push_expired = 1;
	reload_check();
}

/* Send in's app's hot settings to `in`; 0 when the job now waits for it. */
static int
reload_push(struct reload_job *j, struct inst *in)
{
	struct reload_env *re = reload_env_of(j, in->app);

	/* Not online: its next process starts with the new env anyway. */
	if (re == NULL || re->verdict != HOT_PUSH || in->ps.state != ST_ONLINE)
		return -1;
	if (!ipc_heard(in->ipc) ||
	    ipc_send(in->ipc, ipcmsg_settings(hot_settings(&in->app->env))) < 0) {
		log_json(LOG_INFO, reload_fields(in), "hot settings: the instance "
		    "does not speak IPC; replacing it");
		return -1;
	}
	in->hot = HP_WAIT;
	free(in->hot_why);
	in->hot_why = NULL;
	if (j->push_timer == NULL) {
		j->push_timer = xmalloc(sizeof *j->push_timer);
		uv_timer_init(wsd_loop, j->push_timer);
		j->push_timer->data = j;
	}
	j->push_expired = 0;
	uv_timer_start(j->push_timer, reload_push_timer_cb, HOT_ACK_MS, 0);
	j->step = STEP_PUSH;
	return 0;
}

/* STEP_PUSH: 0 while waiting; else the push is over (replaced if refused). */
static int
reload_push_result(struct reload_job *j, struct inst *in)
{
	struct reload_env *re = reload_env_of(j, in->app);
	char *keys;

	if (in->hot == HP_WAIT && !j->push_expired &&
	    in->ps.state == ST_ONLINE)
		return 0;
	uv_timer_stop(j->push_timer);
	if (in->hot == HP_OK) {
		re->npushed++;
		re->replaced = 1;	/* it runs the new env */
		keys = json_dumps(re->changed, JSON_COMPACT);
		log_json(LOG_INFO, reload_fields(in), "hot settings pushed: %s",
		    keys != NULL ? keys : "");
		free(keys);
		in->hot = HP_NONE;
		j->step = STEP_NEXT;
		j->cur++;
		return 1;
	}
	log_json(LOG_WARN, reload_fields(in), "hot settings not applied (%s); "
	    "replacing the instance", in->hot == HP_REFUSED ?
	    (in->hot_why != NULL ? in->hot_why : "refused") :
	    in->hot == HP_WAIT && in->ps.state == ST_ONLINE ? "no answer" :
	    "the instance is no longer online");
	in->hot = HP_NONE;
	reload_replace(j, in);
	return 1;
}

int
reload_hot_only(struct inst **v, size_t n)
{
	struct diag errors;
	struct env old, ran;
	struct app *a;
	size_t i, k;
	int hot = n > 0;

	for (i = 0; i < n && hot; i++) {
		a = v[i]->app;
		for (k = 0; k < i && v[k]->app != a; k++)
			;
		if (k < i)
			continue;	/* seen */
		env_init(&old);
		env_init(&ran);
		env_copy(&old, &a->env);
		env_copy(&ran, app_ran_env(a));
		diag_init(&errors);
		hot = app_update_env(a, &errors) == 0 &&
		    hot_compare(&ran, &a->env, NULL) == HOT_PUSH;
		diag_free(&errors);
		env_free(&ran);
		app_set_env(a, &old);	/* the reload re-reads it */
	}
	return hot;
}

static void
reload_settings_ack(struct inst *in, const char *error)
{
	if (in->hot != HP_WAIT)
		return;		/* not asked: ignored */
	in->hot = error == NULL ? HP_OK : HP_REFUSED;
	free(in->hot_why);
	in->hot_why = error != NULL ? xstrdup(error) : NULL;
	reload_check();
}

/* Start ids[cur]; afterwards the step says what to wait for. */
static void
reload_begin(struct reload_job *j, struct inst *in)
{
	if (reload_env(j, in) < 0) {
		j->step = STEP_NEXT;
		j->cur++;
		return;
	}
	if (reload_push(j, in) < 0)
		reload_replace(j, in);
}

/* Move job `j` as far as it can go now; 1 when it has finished. */
static int
reload_job_step(struct reload_job *j)
{
	struct inst *in;
	const char *why;
	int r;

	while (j->cur < j->n) {
		if ((in = app_inst_by_id(j->ids[j->cur])) == NULL ||
		    in->removing) {
			j->step = STEP_NEXT;
			j->cur++;
			continue;
		}
		switch (j->step) {
		case STEP_NEXT:
			if (reload_blocked(j, in->app))
				return 0;
			reload_begin(j, in);
			break;
		case STEP_RELOAD:
			if ((r = reload_result(in, &why)) == 0)
				return 0;
			if (r < 0)
				reload_error(j, in, "%s", why);
			else if (reload_env_of(j, in->app) != NULL)
				reload_env_of(j, in->app)->replaced = 1;
			reload_forget(in);
			j->step = STEP_NEXT;
			j->cur++;
			break;
		case STEP_PUSH:
			if (!reload_push_result(j, in))
				return 0;
			break;
		case STEP_RESTART:
			if (in->spawns <= j->spawns &&
			    in->ps.state != ST_ERRORED &&
			    in->ps.state != ST_STOPPED)
				return 0;	/* not respawned yet */
			if (in->ps.state == ST_LAUNCHING)
				return 0;
			if (in->ps.state != ST_ONLINE)
				reload_error(j, in, "not online after its "
				    "restart (%s)", policy_state_name(in->ps.state));
			j->step = STEP_NEXT;
			j->cur++;
			break;
		}
	}
	return 1;
}

/*
 * What happened to each app: how many instances took the hot settings
 * (and which keys changed: names, never values), how many were replaced.
 * Logged, and the reply's "apps".
 */
static json_t *
reload_apps(struct reload_job *j)
{
	json_t *apps = json_array();
	struct reload_env *re;
	char *keys;
	size_t i;

	for (i = 0; i < j->nenvs; i++) {
		re = &j->envs[i];
		json_array_append_new(apps, json_pack("{sssIsIso}", "app",
		    re->name, "pushed", (json_int_t)re->npushed, "replaced",
		    (json_int_t)re->nreplaced, "keys", re->npushed > 0 ?
		    json_incref(re->changed) : json_array()));
		keys = json_dumps(re->changed, JSON_COMPACT);
		log_json(LOG_INFO, json_pack("{sssIsI}", "app", re->name,
		    "pushed", (json_int_t)re->npushed, "replaced",
		    (json_int_t)re->nreplaced), "reload of %s: hot settings "
		    "%s pushed to %zu, %zu replaced", re->name,
		    keys != NULL ? keys : "", re->npushed, re->nreplaced);
		free(keys);
	}
	return apps;
}

static void
reload_finish(struct reload_job *j)
{
	json_t *insts = json_array(), *apps;
	struct inst *in;
	size_t i;
	char *line;

	TAILQ_REMOVE(&reload_jobs, j, entry);
	apps = reload_apps(j);
	for (i = 0; i < j->n; i++)
		if ((in = app_inst_by_id(j->orig[i])) != NULL)
			json_array_append_new(insts, view_inst_json(in, 0));
	if (json_array_size(j->errors) == 0)
		log_json(LOG_INFO, json_pack("{ss}", "reload", j->why),
		    "reload done: %zu instance%s", j->n, j->n == 1 ? "" : "s");
	if (j->reply != NULL) {
		if (json_array_size(j->errors) == 0)
			line = proto_reply_ok(j->id, json_pack("{soso}",
			    "instances", insts, "apps", apps));
		else
			line = proto_reply_error_ex(j->id, "reload_failed",
			    json_pack("{sOsoso}", "errors", j->errors,
			    "instances", insts, "apps", apps), "%s%s",
			    json_string_value(json_array_get(j->errors, 0)),
			    json_array_size(j->errors) > 1 ?
			    " (and more: see errors)" : "");
		control_reply_done(j->reply, line);
	} else {
		json_decref(insts);
		json_decref(apps);
	}
	if (j->push_timer != NULL)
		uv_close((uv_handle_t *)j->push_timer, reload_handle_free_cb);
	json_decref(j->id);
	json_decref(j->errors);
	for (i = 0; i < j->nenvs; i++) {
		free(j->envs[i].name);
		env_free(&j->envs[i].env);
		json_decref(j->envs[i].changed);
	}
	free(j->envs);
	free(j->why);
	free(j->ids);
	free(j->orig);
	free(j);
}

static void
reload_check(void)
{
	static int running, again;
	struct reload_job *j, *next;

	/* Starting a replacement runs the app observer, which calls us. */
	if (running) {
		again = 1;
		return;
	}
	running = 1;
	do {
		again = 0;
		TAILQ_FOREACH_SAFE(j, &reload_jobs, entry, next)
			if (reload_job_step(j)) {
				reload_finish(j);
				again = 1;	/* a queued job may go on now */
				break;
			}
	} while (again);
	running = 0;
}

void
reload_start(struct inst **v, size_t n, struct reply *reply, json_t *id,
    const char *why)
{
	struct reload_job *j;
	size_t i;

	j = xcalloc(1, sizeof *j);
	j->ids = xcalloc(n + 1, sizeof *j->ids);
	j->orig = xcalloc(n + 1, sizeof *j->orig);
	j->reply = reply;
	j->id = json_incref(id != NULL ? id : json_null());
	j->why = xstrdup(why != NULL ? why : "reload");
	j->n = n;
	for (i = 0; i < n; i++)
		j->ids[i] = j->orig[i] = v[i]->id;
	j->errors = json_array();
	TAILQ_INSERT_TAIL(&reload_jobs, j, entry);
	log_json(LOG_INFO, json_pack("{ss}", "reload", j->why),
	    "reload of %zu instance%s", n, n == 1 ? "" : "s");
	reload_check();
}

static void
reload_settled_cb(void)
{
	reload_check();
}

static const struct inst_reload_ops reload_inst_ops = {
	.advance = reload_advance,
	.old_retire = reload_old_retire,
	.old_gone = reload_old_gone,
	.old_fields = reload_old_fields,
	.restore = reload_restore,
	.settings_ack = reload_settings_ack,
};

void
reload_init(void)
{
	inst_observe(reload_settled_cb);
	inst_set_reload(&reload_inst_ops);
}

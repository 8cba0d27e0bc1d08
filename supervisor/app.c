/*
 * The app and instance table: adding (a loaded app taken over), scaling,
 * freeing.  It sits below each instance's lifecycle (inst.c) and reload,
 * and asks them through the app_ops main.c gives app_init.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "ipcmsg.h"
#include "knob.h"
#include "log.h"
#include "wsd.h"
#include "xmalloc.h"

static struct app_list	 app_list = TAILQ_HEAD_INITIALIZER(app_list);
static struct inst_list	 inst_list = TAILQ_HEAD_INITIALIZER(inst_list);
static int		 app_next_id;
static const struct app_ops *app_ops;
/* The triggers above the table (watch.c) follow its apps through these. */
static void		(*app_added_cb)(struct app *);
static void		(*app_freed_cb)(struct app *);

static void	app_insert_by_id(struct inst_list *, struct inst *);

void
app_init(const struct app_ops *ops)
{
	app_ops = ops;
	app_next_id = 0;
}

int
app_next(void)
{
	return app_next_id;
}

/* The ids were set from a hand-over: keep the list by id, go on after. */
void
app_adopt_ids(int next_id)
{
	struct inst_list sorted = TAILQ_HEAD_INITIALIZER(sorted);
	struct inst *in;

	while ((in = TAILQ_FIRST(&inst_list)) != NULL) {
		TAILQ_REMOVE(&inst_list, in, entry);
		app_insert_by_id(&sorted, in);
	}
	TAILQ_CONCAT(&inst_list, &sorted, entry);
	app_next_id = next_id;
}

void
app_set_hooks(void (*added_cb)(struct app *), void (*freed_cb)(struct app *))
{
	app_added_cb = added_cb;
	app_freed_cb = freed_cb;
}

struct app_list *
app_all(void)
{
	return &app_list;
}

struct inst_list *
app_insts(void)
{
	return &inst_list;
}

struct inst *
app_inst_by_id(int id)
{
	struct inst *in;

	TAILQ_FOREACH(in, &inst_list, entry)
		if (in->id == id)
			return in;
	return NULL;
}

struct app *
app_by_name(const char *name)
{
	struct app *a;

	TAILQ_FOREACH(a, &app_list, entry)
		if (strcmp(a->cfg.name, name) == 0)
			return a;
	return NULL;
}

json_t *
app_fields(const struct inst *in)
{
	return json_pack("{sssisisi}", "app", in->app->cfg.name,
	    "instance", in->slot, "id", in->id, "pid", (int)in->pid);
}

int
app_target(json_t *target, struct inst ***out, size_t *n)
{
	struct inst *in, **v = NULL;
	const char *s = NULL;
	char *end;
	long id = -1;
	size_t cnt = 0, cap = 0;
	int all = 0;

	*out = NULL;
	*n = 0;
	if (json_is_integer(target))
		id = (long)json_integer_value(target);
	else if (json_is_string(target)) {
		s = json_string_value(target);
		if (strcmp(s, "all") == 0)
			all = 1;
		else if (*s != '\0') {
			long x = strtol(s, &end, 10);

			if (*end == '\0')
				id = x;
		}
	} else
		return -1;
	TAILQ_FOREACH(in, &inst_list, entry) {
		if (in->removing)
			continue;
		if (!all && in->id != id &&
		    (s == NULL || strcmp(in->app->cfg.name, s) != 0))
			continue;
		if (cnt == cap) {
			struct inst **nv;

			cap = cap ? cap * 2 : 8;
			if ((nv = realloc(v, cap * sizeof *v)) == NULL)
				break;
			v = nv;
		}
		v[cnt++] = in;
	}
	*out = v;
	*n = cnt;
	return cnt > 0 || all ? 0 : -1;
}

static void
app_fill_policy(struct app *a)
{
	struct policy_conf *pc = &a->pc;
	const struct app_config *c = &a->cfg;

	memset(pc, 0, sizeof *pc);
	pc->autorestart = c->autorestart;
	pc->max_restarts = c->max_restarts;
	pc->min_uptime_ms = c->min_uptime_ms;
	pc->restart_delay_ms = c->restart_delay_ms;
	pc->exp_backoff_ms = c->exp_backoff_ms;
	pc->stop_exit_codes = c->stop_exit_codes;
	pc->nstop_exit_codes = c->nstop_exit_codes;
	pc->kill_timeout_ms = c->kill_timeout_ms;
	pc->drain_max_ms = KNOB_DRAIN_MAX_MS;	/* spawn.c says so to the app */
	pc->listen_timeout_ms = c->listen_timeout_ms;
	pc->crash_window_ms = knob_or_default(KNOB_WSD_CRASH_WINDOW_MS);
	pc->backoff_reset_ms = knob_or_default(KNOB_WSD_BACKOFF_RESET_MS);
	pc->backoff_max_ms = knob_or_default(KNOB_WSD_BACKOFF_MAX_MS);
	/*
	 * Readiness: an app that says wait_ready, or a cluster app that is
	 * handed a listening socket (it serves a port: wsworker says ready
	 * over IPC once it accepts), stays launching until IPC ready or
	 * listen_timeout.  Anything else is online as soon as it is forked,
	 * as PM2 fork mode apps are.
	 */
	pc->wait_ready = c->wait_ready || a->listen_port > 0;
}

/* The port a cluster app serves, from the config or its resolved env. */
static int
app_port(const struct app *a)
{
	const char *p;

	if (a->cfg.exec_mode != EXEC_CLUSTER)
		return 0;
	if (a->cfg.port > 0)
		return a->cfg.port;
	if ((p = env_get(&a->env, "WS_PORT")) == NULL)
		p = env_get(&a->env, "PORT");
	return p != NULL ? atoi(p) : 0;
}

static void
app_update_port(struct app *a)
{
	int port = app_port(a);

	if (port != a->listen_port) {
		listen_close_all(&a->socks);
		a->listen_port = port;
	}
	app_fill_policy(a);
}

int
app_update_env(struct app *a, struct diag *errors)
{
	struct diag warnings;
	struct env env;
	size_t i;

	diag_init(&warnings);
	env_init(&env);
	if (eco_resolve_env(&a->cfg, a->env_mode, &wsd_base_env, &env,
	    errors, &warnings) < 0) {
		env_free(&env);
		diag_free(&warnings);
		return -1;
	}
	for (i = 0; i < warnings.n; i++)
		log_json(LOG_WARN, json_pack("{ss}", "app", a->cfg.name), "%s",
		    warnings.msgs[i]);
	diag_free(&warnings);
	env_free(&a->env);
	a->env = env;
	app_update_port(a);
	return 0;
}

void
app_set_env(struct app *a, struct env *env)
{
	env_free(&a->env);
	a->env = *env;
	env_init(env);
	app_update_port(a);
}

const struct env *
app_ran_env(const struct app *a)
{
	return a->ran_env_set ? &a->ran_env : &a->env;
}

void
app_ran_env_drop(struct app *a)
{
	if (a->ran_env_set)
		env_free(&a->ran_env);
	a->ran_env_set = 0;
}

/* The global list is kept ordered by id. */
static void
app_insert_by_id(struct inst_list *list, struct inst *in)
{
	struct inst *it;

	TAILQ_FOREACH(it, list, entry)
		if (it->id > in->id)
			break;
	if (it != NULL)
		TAILQ_INSERT_BEFORE(it, in, entry);
	else
		TAILQ_INSERT_TAIL(list, in, entry);
}

static struct inst *
app_inst_new(struct app *a, int slot)
{
	struct inst *in;

	if ((in = calloc(1, sizeof *in)) == NULL)
		return NULL;
	in->app = a;
	in->id = app_next_id++;
	in->slot = slot;
	in->created_at = wsd_epoch_ms();
	policy_init(&in->ps);
	uv_timer_init(wsd_loop, &in->timer);
	in->timer.data = in;
	app_insert_by_id(&inst_list, in);
	return in;
}

static void
app_inst_free_cb(uv_handle_t *h)
{
	struct inst *in = h->data;

	json_decref(in->stats);
	free(in->out_path);
	free(in->err_path);
	free(in->reload_why);
	free(in->hot_why);
	free(in);
}

static void
app_free(struct app *a)
{
	TAILQ_REMOVE(&app_list, a, entry);
	if (app_freed_cb != NULL)
		app_freed_cb(a);
	listen_close_all(&a->socks);
	env_free(&a->env);
	app_ran_env_drop(a);
	eco_app_free(&a->cfg);
	free(a->insts);
	free(a->config_file);
	free(a->env_mode);
	free(a);
}

/* A removed instance that no longer runs leaves the table. */
void
app_inst_reap(struct inst *in)
{
	struct app *a = in->app;
	size_t i;
	int left = 0, queued;

	if (!in->removing || in->pid != 0 || in->old_pid != 0 ||
	    policy_running(in->ps.state))
		return;
	/* No process holds the slot socket now: closing it is final. */
	if ((queued = listen_queued(&a->socks, in->slot)) > 0)
		log_json(LOG_WARN, app_fields(in), "%d connections queued on "
		    "the removed slot are reset", queued);
	listen_close(&a->socks, in->slot);
	TAILQ_REMOVE(&inst_list, in, entry);
	for (i = 0; i < a->ninsts; i++) {
		if (a->insts[i] == in)
			a->insts[i] = NULL;
		else if (a->insts[i] != NULL)
			left = 1;
	}
	while (a->ninsts > 0 && a->insts[a->ninsts - 1] == NULL)
		a->ninsts--;
	uv_timer_stop(&in->timer);
	uv_close((uv_handle_t *)&in->timer, app_inst_free_cb);
	if (!left)
		app_free(a);
	else
		app_ops->steer(a);
}

static int
app_grow(struct app *a, int n)
{
	struct inst **ni;
	int i;

	if ((size_t)n > a->ninsts) {
		if ((ni = realloc(a->insts, n * sizeof *ni)) == NULL)
			return -1;
		a->insts = ni;
		for (i = (int)a->ninsts; i < n; i++)
			a->insts[i] = NULL;
		a->ninsts = (size_t)n;
	}
	for (i = 0; i < n; i++)
		if (a->insts[i] == NULL &&
		    (a->insts[i] = app_inst_new(a, i)) == NULL)
			return -1;
	return 0;
}

/*
 * Why the app's slots cannot be changed now (NULL: they can): a reload or
 * a stop or restart of it is under way, or a slot to keep is still taken
 * by a stopping instance of an earlier scale down.  The count waits in
 * cfg.instances and app_scale_resume applies it once that has finished.
 */
static const char *
app_scale_blocker(const struct app *a)
{
	const struct inst *in;
	size_t i;

	if (app_ops->reloading(a))
		return "a reload of it is in progress";
	for (i = 0; i < a->ninsts; i++) {
		if ((in = a->insts[i]) == NULL)
			continue;
		if (!in->removing && in->ps.state == ST_STOPPING)
			return "a stop or restart of it is in progress";
		if (in->removing && in->retire_at == 0 &&
		    i < (size_t)a->cfg.instances)
			return "an instance it scaled down is still stopping";
	}
	return NULL;
}

/* A slot being removed that is wanted again: kept if it is only being
 * drained (1), else 0 (its instance stops; the slot is filled after). */
static int
app_keep(struct inst *in)
{
	if (in->retire_at == 0)
		return 0;
	in->removing = 0;
	in->retire_at = 0;
	log_json(LOG_INFO, app_fields(in), "kept: wanted again before it was "
	    "stopped");
	app_ops->steer(in->app);
	return 1;
}

/* Bring the slots to cfg.instances; new ones start unless the app is
 * stopped (then they wait, stopped, for `start`). */
static int
app_scale_apply(struct app *a)
{
	size_t i, n = (size_t)a->cfg.instances, old = a->ninsts;
	struct inst *in;
	int run = 0, *ids;	/* by slot: to act on, -1 none, -2 to create */

	for (i = 0; i < old; i++)
		if ((in = a->insts[i]) != NULL && !in->removing &&
		    in->ps.state != ST_STOPPED)
			run = 1;
	if ((ids = calloc(n + old + 1, sizeof *ids)) == NULL)
		return -1;
	for (i = 0; i < n + old; i++)
		ids[i] = -1;
	for (i = 0; i < n && i < old; i++)
		if ((in = a->insts[i]) != NULL && in->removing)
			app_keep(in);
		else if (in == NULL)
			ids[i] = -2;
	for (i = old; i < n; i++)
		ids[i] = -2;
	for (i = n; i < old; i++)
		if ((in = a->insts[i]) != NULL && !in->removing)
			ids[i] = in->id;
	if (app_grow(a, (int)n) < 0) {
		free(ids);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (ids[i] == -2)
			ids[i] = run ? a->insts[i]->id : -1;
	app_ops->steer(a);
	/* Acting may free an instance: look each up again by id. */
	for (i = 0; i < n + old; i++) {
		if (ids[i] < 0 || (in = app_inst_by_id(ids[i])) == NULL)
			continue;
		if (i < n)
			app_ops->start(in);
		else
			app_ops->remove(in);
	}
	free(ids);
	return 0;
}

int
app_scale(struct app *a, int n, const char **pending)
{
	*pending = NULL;
	if (n < 1)
		return -1;
	a->cfg.instances = n;
	if ((*pending = app_scale_blocker(a)) != NULL) {
		a->scale_pending = 1;
		log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
		    "scale to %d: waits, %s", n, *pending);
		return 0;
	}
	a->scale_pending = 0;
	return app_scale_apply(a);
}

void
app_scale_resume(void)
{
	struct app *a;

again:
	TAILQ_FOREACH(a, &app_list, entry) {
		if (!a->scale_pending || app_scale_blocker(a) != NULL)
			continue;
		a->scale_pending = 0;
		log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
		    "scale to %d: applied now", a->cfg.instances);
		app_scale_apply(a);
		goto again;	/* applying may have changed the list */
	}
}

int
app_add(struct config_app *ca, const char *config_file, int start,
    struct app **out)
{
	struct app *a, *old;
	size_t i;

	*out = NULL;
	if (!ca->ok)
		return -1;	/* its errors are in the config's */
	for (i = 0; i < ca->warnings.n; i++)
		log_json(LOG_WARN, json_pack("{ss}", "app", ca->cfg.name), "%s",
		    ca->warnings.msgs[i]);
	a = xcalloc(1, sizeof *a);
	a->cfg = ca->cfg;
	memset(&ca->cfg, 0, sizeof ca->cfg);
	a->config_file = config_file != NULL ? xstrdup(config_file) : NULL;
	a->env_mode = ca->mode;
	ca->mode = NULL;
	a->env = ca->env;
	env_init(&ca->env);
	app_update_port(a);
	if ((old = app_by_name(a->cfg.name)) != NULL) {
		/* Same name: the new definition replaces the old one in place;
		 * running processes keep running until restarted. */
		eco_app_free(&old->cfg);
		old->cfg = a->cfg;
		if (!old->ran_env_set) {
			old->ran_env = old->env;	/* hot settings: reload.c */
			old->ran_env_set = 1;
		} else
			env_free(&old->env);
		old->env = a->env;
		free(old->config_file);
		old->config_file = a->config_file;
		free(old->env_mode);
		old->env_mode = a->env_mode;
		free(a);
		a = old;
		app_update_port(a);
	} else {
		TAILQ_INSERT_TAIL(&app_list, a, entry);
		app_update_port(a);
	}
	if (app_grow(a, a->cfg.instances > 0 ? a->cfg.instances : 1) < 0)
		return -1;
	/* Fewer instances than before: the extra slots go. */
	for (i = (size_t)a->cfg.instances; i < a->ninsts; i++)
		if (a->insts[i] != NULL && !a->insts[i]->removing)
			app_ops->remove(a->insts[i]);
	/* A slot to keep still held by a stopping instance of a scale down
	 * is filled once that has stopped (app_scale_resume). */
	for (i = 0; i < a->ninsts && i < (size_t)a->cfg.instances; i++)
		if (a->insts[i] != NULL && a->insts[i]->removing &&
		    !app_keep(a->insts[i]))
			a->scale_pending = 1;
	if (app_added_cb != NULL)
		app_added_cb(a);
	(void)nodever_of(a);	/* asked now: known by the first listing */
	if (start)
		for (i = 0; i < a->ninsts && i < (size_t)a->cfg.instances; i++)
			if (a->insts[i] != NULL && !a->insts[i]->removing)
				app_ops->start(a->insts[i]);
	*out = a;
	return 0;
}

void
app_stop_all(void)
{
	struct inst *in, *next;

	TAILQ_FOREACH_SAFE(in, &inst_list, entry, next)
		app_ops->stop(in);
}

int
app_all_stopped(void)
{
	struct inst *in;

	TAILQ_FOREACH(in, &inst_list, entry)
		if (in->pid != 0 || in->old_pid != 0)
			return 0;
	return 1;
}

int
app_all_online(void)
{
	struct inst *in;

	TAILQ_FOREACH(in, &inst_list, entry)
		if (in->ps.state == ST_LAUNCHING || in->ps.state == ST_WAITING)
			return 0;
	return 1;
}

void
app_sample_stats(void)
{
	struct procstat *ps;
	struct inst *in;
	size_t n = 0, i;
	uint64_t now = wsd_now_ms();
	long hz = sysconf(_SC_CLK_TCK);

	TAILQ_FOREACH(in, &inst_list, entry)
		if (in->pid != 0)
			n++;
	if (n == 0 || (ps = calloc(n, sizeof *ps)) == NULL)
		return;
	i = 0;
	TAILQ_FOREACH(in, &inst_list, entry)
		if (in->pid != 0)
			ps[i++].pid = in->pid;
	procstat_sample(ps, n);
	i = 0;
	TAILQ_FOREACH(in, &inst_list, entry) {
		if (in->pid == 0)
			continue;
		if (in->cpu_at != 0 && now > in->cpu_at && ps[i].ticks >= in->cpu_ticks)
			in->cpu = (double)(ps[i].ticks - in->cpu_ticks) * 1000.0 /
			    (double)hz / (double)(now - in->cpu_at) * 100.0;
		in->cpu_ticks = ps[i].ticks;
		in->cpu_at = now;
		in->mem = ps[i].rss;
		i++;
	}
	free(ps);
}

void
app_reset_counters(struct inst *in)
{
	in->ps.restarts = 0;
	in->ps.unstable = 0;
}

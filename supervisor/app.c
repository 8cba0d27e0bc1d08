/*
 * The app and instance table, and each instance's lifecycle: events (child
 * exits, timers, IPC messages, requests) go through policy_step() and the
 * actions it returns are carried out here.
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

#include "cron.h"
#include "fsutil.h"
#include "ipcmsg.h"
#include "log.h"
#include "wsd.h"

static struct app_list	 app_list = TAILQ_HEAD_INITIALIZER(app_list);
static struct inst_list	 inst_list = TAILQ_HEAD_INITIALIZER(inst_list);
static int		 app_next_id;
static void		(*app_observer)(void);
static int		 app_in_step;

static void	app_event(struct inst *, enum policy_ev, int code, int sig);

static uint64_t
app_env_ms(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return dflt;
	v = strtoull(s, &end, 10);
	return *end == '\0' ? (uint64_t)v : dflt;
}

void
app_init(void)
{
	app_next_id = 0;
}

void
app_set_observer(void (*cb)(void))
{
	app_observer = cb;
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

static json_t *
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
	pc->listen_timeout_ms = c->listen_timeout_ms;
	pc->crash_window_ms = app_env_ms("WSD_CRASH_WINDOW_MS", 120000);
	pc->backoff_reset_ms = app_env_ms("WSD_BACKOFF_RESET_MS", 30000);
	pc->backoff_max_ms = app_env_ms("WSD_BACKOFF_MAX_MS", 15000);
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
	a->env_resolved = 1;
	app_update_port(a);
	return 0;
}

void
app_set_env(struct app *a, struct env *env)
{
	env_free(&a->env);
	a->env = *env;
	env_init(env);
	a->env_resolved = 1;
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

static struct inst *
app_inst_new(struct app *a, int slot)
{
	struct inst *in, *it;

	if ((in = calloc(1, sizeof *in)) == NULL)
		return NULL;
	in->app = a;
	in->id = app_next_id++;
	in->slot = slot;
	in->created_at = wsd_epoch_ms();
	policy_init(&in->ps);
	uv_timer_init(wsd_loop, &in->timer);
	in->timer.data = in;
	/* Keep the global list ordered by id. */
	TAILQ_FOREACH(it, &inst_list, entry)
		if (it->id > in->id)
			break;
	if (it != NULL)
		TAILQ_INSERT_BEFORE(it, in, entry);
	else
		TAILQ_INSERT_TAIL(&inst_list, in, entry);
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
app_cron_free_cb(uv_handle_t *h)
{
	free(h);
}

static void	app_cron_arm(struct app *);

/* cron_restart: reload the running instances, then wait for the next time. */
static void
app_cron_cb(uv_timer_t *t)
{
	struct app *a = t->data;
	struct inst **v;
	size_t i, n = 0;

	app_cron_arm(a);
	if (reload_busy(a)) {
		log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
		    "cron_restart %s: skipped, a reload is in progress",
		    a->cfg.cron_restart);
		return;
	}
	log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
	    "cron_restart %s: reloading", a->cfg.cron_restart);
	if ((v = calloc(a->ninsts + 1, sizeof *v)) == NULL)
		return;
	for (i = 0; i < a->ninsts; i++)
		if (a->insts[i] != NULL && !a->insts[i]->removing &&
		    (a->insts[i]->ps.state == ST_ONLINE ||
		    a->insts[i]->ps.state == ST_LAUNCHING))
			v[n++] = a->insts[i];
	if (n > 0)
		reload_start(v, n, NULL, NULL, "cron_restart");
	free(v);
}

static void
app_cron_arm(struct app *a)
{
	struct cron c;
	const char *err;
	time_t now, next;
	uint64_t ms;

	if (a->cron_timer != NULL)
		uv_timer_stop(a->cron_timer);
	if (a->cfg.cron_restart == NULL ||
	    cron_parse(a->cfg.cron_restart, &c, &err) < 0)
		return;
	if (a->cron_timer == NULL) {
		if ((a->cron_timer = malloc(sizeof *a->cron_timer)) == NULL)
			return;
		uv_timer_init(wsd_loop, a->cron_timer);
		a->cron_timer->data = a;
	}
	/* The loop's clock may fire a timer a little before the wall clock
	 * reaches the minute: never pick the same cron time twice. */
	now = (time_t)(wsd_epoch_ms() / 1000);
	next = cron_next(&c, now > a->cron_at ? now : (time_t)a->cron_at);
	a->cron_at = next;
	uv_update_time(wsd_loop);
	ms = (uint64_t)next * 1000 > wsd_epoch_ms() ?
	    (uint64_t)next * 1000 - wsd_epoch_ms() : 0;
	uv_timer_start(a->cron_timer, app_cron_cb, ms, 0);
}

static void
app_free(struct app *a)
{
	TAILQ_REMOVE(&app_list, a, entry);
	if (a->cron_timer != NULL)
		uv_close((uv_handle_t *)a->cron_timer, app_cron_free_cb);
	listen_close_all(&a->socks);
	env_free(&a->env);
	app_ran_env_drop(a);
	eco_app_free(&a->cfg);
	free(a->insts);
	free(a->config_file);
	free(a->env_mode);
	free(a);
}

/* Whether a process of `in` accepts on the slot socket now. */
static int
app_inst_accepts(const struct inst *in)
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
static void
app_steer(struct app *a)
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
			    (pass == 0 && !app_inst_accepts(in)))
				continue;
			v[n++] = (int)i;
		}
	if (listen_steer(&a->socks, v, n, &err) < 0)
		log_json(LOG_WARN, json_pack("{ss}", "app", a->cfg.name), "%s",
		    err != NULL ? err : "cannot steer new connections");
	free(err);
	free(v);
}

/* A removed instance that no longer runs leaves the table. */
static void
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
		app_steer(a);
}

/* Log path for an instance: defaults in $WSD_HOME/logs, -<id> per instance. */
static char *
app_log_path(const struct inst *in, const char *given, const char *kind)
{
	const struct app *a = in->app;
	const char *dot, *slash;
	char *p = NULL;
	int r;

	if (given == NULL) {
		if (a->cfg.merge_logs)
			r = asprintf(&p, "%s/logs/%s-%s.log", wsd_home,
			    a->cfg.name, kind);
		else
			r = asprintf(&p, "%s/logs/%s-%s-%d.log", wsd_home,
			    a->cfg.name, kind, in->id);
	} else if (a->cfg.merge_logs || a->cfg.instances <= 1 ||
	    strncmp(given, "/dev/", 5) == 0) {
		r = asprintf(&p, "%s", given);
	} else {
		slash = strrchr(given, '/');
		dot = strrchr(given, '.');
		if (dot == NULL || (slash != NULL && dot < slash))
			r = asprintf(&p, "%s-%d", given, in->id);
		else
			r = asprintf(&p, "%.*s-%d%s", (int)(dot - given), given,
			    in->id, dot);
	}
	return r < 0 ? NULL : p;
}

static int
app_is_js(const char *script)
{
	const char *dot = strrchr(script, '.');

	return dot != NULL && (strcmp(dot, ".js") == 0 ||
	    strcmp(dot, ".mjs") == 0 || strcmp(dot, ".cjs") == 0);
}

static void
app_ipc_cb(void *arg, const struct ipcmsg *m)
{
	struct inst *in = arg;

	if (m->settings_ok || m->settings_error != NULL)
		reload_settings_ack(in, m->settings_error);
	if (m->ready) {
		if (in->ps.state == ST_LAUNCHING)
			log_json(LOG_INFO, app_fields(in), "ready");
		app_event(in, PEV_READY, 0, 0);
	}
	if (m->stats != NULL) {
		json_decref(in->stats);
		in->stats = json_incref(m->stats);
	}
}

/* Fork the instance's process; 0 or -1 (logged). */
static int
app_spawn(struct inst *in)
{
	struct app *a = in->app;
	struct proc_spec sp;
	struct diag errs;
	struct env env;
	char *path = NULL, *interp = NULL, *err = NULL, **argv = NULL;
	char **envp = NULL, num[32];
	const char *interp_name = a->cfg.interpreter;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, sv[2] = { -1, -1 };
	int lfd = -1, rc = -1;
	size_t nargs = 0, i, k;
	pid_t pid;

	if (!a->env_resolved) {
		diag_init(&errs);
		if (app_update_env(a, &errs) < 0) {
			for (i = 0; i < errs.n; i++)
				log_json(LOG_ERROR, app_fields(in), "%s",
				    errs.msgs[i]);
			diag_free(&errs);
			return -1;
		}
		diag_free(&errs);
	}
	env_init(&env);
	env_copy(&env, &a->env);

	if (interp_name == NULL && app_is_js(a->cfg.script))
		interp_name = "node";
	if (interp_name != NULL && strcmp(interp_name, "none") == 0)
		interp_name = NULL;
	path = proc_resolve(a->cfg.script, a->cfg.cwd, &env);
	if (path == NULL) {
		log_json(LOG_ERROR, app_fields(in), "script %s not found",
		    a->cfg.script);
		goto out;
	}
	if (interp_name != NULL &&
	    (interp = proc_resolve(interp_name, NULL, &env)) == NULL) {
		log_json(LOG_ERROR, app_fields(in), "interpreter %s not found",
		    interp_name);
		goto out;
	}
	for (nargs = 0; a->cfg.args != NULL && a->cfg.args[nargs] != NULL; nargs++)
		;
	argv = calloc(nargs + 3, sizeof *argv);
	k = 0;
	if (interp != NULL)
		argv[k++] = interp;
	argv[k++] = path;
	for (i = 0; i < nargs; i++)
		argv[k++] = a->cfg.args[i];
	argv[k] = NULL;

	env_set(&env, "WSD_APP_NAME", a->cfg.name, 0);
	snprintf(num, sizeof num, "%d", in->slot);
	env_set(&env, "WSD_INSTANCE", num, 0);
	env_set(&env, "NODE_APP_INSTANCE", num, 0);
	snprintf(num, sizeof num, "%d", in->id);
	env_set(&env, "pm_id", num, 0);

	if (a->listen_port > 0) {
		lfd = listen_slot(&a->socks, in->slot,
		    env_get(&a->env, "WS_HOST"), a->listen_port, &err);
		if (lfd < 0) {
			log_json(LOG_ERROR, app_fields(in), "%s",
			    err != NULL ? err : "cannot listen");
			goto out;
		}
		env_set(&env, "LISTEN_FDS", "1", 0);
		/* Room for the child's pid, written after fork. */
		env_set(&env, "LISTEN_PID", "00000000000000000000", 0);
		env_set(&env, "WSD_LISTEN_FD", "3", 0);
		env_set(&env, "WSD_IPC_FD", "4", 0);
	} else {
		env_unset(&env, "LISTEN_FDS");
		env_unset(&env, "LISTEN_PID");
		env_unset(&env, "WSD_LISTEN_FD");
		env_set(&env, "WSD_IPC_FD", "3", 0);
	}
	envp = env_to_envp(&env);

	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_json(LOG_ERROR, app_fields(in), "pipe: %s", strerror(errno));
		goto out;
	}
	memset(&sp, 0, sizeof sp);
	sp.path = argv[0];
	sp.argv = argv;
	sp.envp = envp;
	sp.cwd = a->cfg.cwd;
	sp.listen_fd = lfd;
	sp.ipc_fd = sv[1];
	sp.out_fd = outp[1];
	sp.err_fd = errp[1];
	pid = proc_spawn(&sp, &err);
	close(outp[1]);
	close(errp[1]);
	close(sv[1]);
	outp[1] = errp[1] = sv[1] = -1;
	if (pid < 0) {
		log_json(LOG_ERROR, app_fields(in), "spawn: %s",
		    err != NULL ? err : "failed");
		goto out;
	}
	in->pid = pid;
	in->spawns++;
	in->started_epoch = wsd_epoch_ms();
	scrape_fold(in);	/* the old process's counters carry over */
	json_decref(in->stats);
	in->stats = NULL;
	in->cpu = 0;
	in->mem = 0;
	in->cpu_ticks = 0;
	in->cpu_at = 0;

	free(in->out_path);
	free(in->err_path);
	in->out_path = app_log_path(in, a->cfg.out_file, "out");
	in->err_path = app_log_path(in, a->cfg.error_file, "error");
	/* A failure shows when the log file is opened. */
	(void)fsutil_mkdirs_for(in->out_path);
	(void)fsutil_mkdirs_for(in->err_path);
	logcap_attach(outp[0], in->out_path, a->cfg.log_file,
	    a->cfg.time, a->cfg.log_date_format, a->cfg.log_max_size,
	    a->cfg.log_retain);
	logcap_attach(errp[0], in->err_path, a->cfg.log_file,
	    a->cfg.time, a->cfg.log_date_format, a->cfg.log_max_size,
	    a->cfg.log_retain);
	outp[0] = errp[0] = -1;
	in->ipc = ipc_open(wsd_loop, sv[0], app_ipc_cb, in);
	app_ran_env_drop(a);	/* its env is a->env */
	sv[0] = -1;
	log_json(LOG_INFO, app_fields(in), "started %s", path);
	rc = 0;
out:
	for (i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (sv[i] >= 0)
			close(sv[i]);
	}
	if (envp != NULL)
		env_envp_free(envp);
	env_free(&env);
	free(argv);
	free(path);
	free(interp);
	free(err);
	return rc;
}

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
app_old_fields(const struct inst *in)
{
	return json_pack("{sssisisi}", "app", in->app->cfg.name,
	    "instance", in->slot, "id", in->id, "pid", (int)in->old_pid);
}

static void
app_old_ipc_cb(void *arg, const struct ipcmsg *m)
{
	(void)arg;
	(void)m;
}

static void
app_handle_free_cb(uv_handle_t *h)
{
	free(h);
}

static void
app_old_timer_cb(uv_timer_t *t)
{
	struct inst *in = t->data;

	if (in->old_pid > 0) {
		log_json(LOG_WARN, app_old_fields(in),
		    "kill_timeout passed: SIGKILL to the replaced process");
		proc_signal(in->old_pid, SIGKILL, in->app->cfg.treekill);
	}
}

/* Ask the replaced process to drain and exit; SIGKILL after kill_timeout. */
static void
app_old_retire(struct inst *in)
{
	int sig = in->app->cfg.kill_signal > 0 ? in->app->cfg.kill_signal : SIGINT;

	if (in->old_pid == 0 || in->old_signalled)
		return;
	in->old_signalled = 1;
	log_json(LOG_INFO, app_old_fields(in),
	    "replaced by pid %d: draining the old process with SIG%s",
	    (int)in->pid, sigabbrev_np(sig) != NULL ? sigabbrev_np(sig) : "?");
	if (in->old_ipc != NULL)
		ipc_send(in->old_ipc, ipcmsg_drain());
	proc_signal(in->old_pid, sig, in->app->cfg.treekill);
	if (in->old_timer == NULL &&
	    (in->old_timer = malloc(sizeof *in->old_timer)) != NULL) {
		uv_timer_init(wsd_loop, in->old_timer);
		in->old_timer->data = in;
	}
	if (in->old_timer != NULL)
		uv_timer_start(in->old_timer, app_old_timer_cb,
		    in->app->pc.kill_timeout_ms, 0);
}

/* The replaced process has exited (and been reaped). */
static void
app_old_gone(struct inst *in)
{
	in->old_pid = 0;
	in->old_signalled = 0;
	ipc_close(in->old_ipc);
	in->old_ipc = NULL;
	if (in->old_timer != NULL) {
		uv_close((uv_handle_t *)in->old_timer, app_handle_free_cb);
		in->old_timer = NULL;
	}
}

static void
app_reload_fail(struct inst *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
app_reload_fail(struct inst *in, const char *fmt, ...)
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
app_reload_restore(struct inst *in, const char *what)
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
	ipc_set_cb(in->ipc, app_ipc_cb, in);
	in->started_epoch = in->old_started_epoch;
	in->old_pid = 0;
	in->old_ipc = NULL;
	in->old_signalled = 0;
	app_reload_fail(in, "the replacement %s; pid %d keeps running", what,
	    (int)in->pid);
	log_json(LOG_ERROR, app_fields(in), "reload failed: %s",
	    in->reload_why != NULL ? in->reload_why : what);
}

/* After each event: move the reload on (drain the old one once online). */
static void
app_reload_advance(struct inst *in)
{
	if (in->reload != RL_SPAWNING)
		return;
	switch (in->ps.state) {
	case ST_LAUNCHING:
		return;
	case ST_ONLINE:
		if (in->old_pid != 0) {
			in->reload = RL_RETIRING;
			app_old_retire(in);
		} else
			in->reload = RL_DONE;
		return;
	case ST_ERRORED:
		if (in->pid == 0 && in->old_pid != 0 && !in->old_signalled) {
			app_reload_restore(in, "could not be started "
			    "(wsd's log says why)");
			return;
		}
		/* FALLTHROUGH */
	default:
		app_reload_fail(in, "interrupted: the instance is %s",
		    policy_state_name(in->ps.state));
		return;
	}
}

int
app_reload_inst(struct inst *in)
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
	ipc_set_cb(in->old_ipc, app_old_ipc_cb, NULL);
	in->pid = 0;
	in->ipc = NULL;
	in->reload = RL_SPAWNING;
	log_json(LOG_INFO, app_old_fields(in), "reloading: starting the replacement");
	app_event(in, PEV_RELOAD, 0, 0);
	return 0;
}

int
app_reload_result(struct inst *in, const char **why)
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
app_reload_forget(struct inst *in)
{
	if (in->reload == RL_DONE || in->reload == RL_FAILED)
		in->reload = RL_NONE;
}

static void
app_timer_cb(uv_timer_t *t)
{
	app_event(t->data, PEV_TIMER, 0, 0);
}

static void
app_apply(struct inst *in, const struct policy_out *po)
{
	int sig = in->app->cfg.kill_signal > 0 ? in->app->cfg.kill_signal : SIGINT;
	int group = in->app->cfg.treekill;

	if (po->act & PACT_TIMER_STOP)
		uv_timer_stop(&in->timer);
	if ((po->act & PACT_KILL) && in->pid > 0) {
		log_json(LOG_INFO, app_fields(in), "stopping with SIG%s",
		    sigabbrev_np(sig) != NULL ? sigabbrev_np(sig) : "?");
		proc_signal(in->pid, sig, group);
		if (in->ipc != NULL)
			ipc_send(in->ipc, ipcmsg_drain());
	}
	if ((po->act & PACT_SIGKILL) && in->pid > 0) {
		log_json(LOG_WARN, app_fields(in), "%s", po->why);
		proc_signal(in->pid, SIGKILL, group);
	}
	if (po->act & PACT_TIMER)
		uv_timer_start(&in->timer, app_timer_cb, po->timer_ms, 0);
	if (po->act & PACT_SPAWN) {
		if (app_spawn(in) == 0)
			app_event(in, PEV_SPAWNED, 0, 0);
		else
			app_event(in, PEV_SPAWN_FAILED, 0, 0);
	}
}

static void
app_event(struct inst *in, enum policy_ev type, int code, int sig)
{
	struct policy_event ev = { type, code, sig };
	struct policy_out po;
	enum inst_state before = in->ps.state;

	app_in_step++;
	policy_step(&in->app->pc, &in->ps, &ev, wsd_now_ms(), &po);
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
	app_apply(in, &po);
	app_reload_advance(in);
	app_steer(in->app);
	if (--app_in_step > 0)
		return;
	app_inst_reap(in);	/* may free `in` */
	if (app_observer != NULL)
		app_observer();
}

/* "exited with code N" / "killed by SIGX", from a waitpid() status. */
static void
app_exit_what(char *buf, size_t len, int status)
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
 * (app_poll), checks.  A group still there after APP_GROUP_WAIT_MS
 * (a process stuck in the kernel) is given up on.
 */
#define APP_GROUP_WAIT_MS	2000

/*
 * What comes as no event is polled every APP_POLL_MS while something waits
 * for it: a process group to empty (app_group_check), a retiring slot's
 * queue to empty (app_retire_check).  Each check says whether it waits.
 */
#define APP_POLL_MS		10

static uv_timer_t	 app_poll_timer;
static int		 app_poll_timer_init;

static int	app_group_check(void);
static int	app_retire_check(void);

static void
app_poll_cb(uv_timer_t *t)
{
	int waiting = app_group_check();

	waiting |= app_retire_check();
	if (!waiting)
		uv_timer_stop(t);
}

static void
app_poll(void)
{
	if (!app_poll_timer_init) {
		uv_timer_init(wsd_loop, &app_poll_timer);
		uv_unref((uv_handle_t *)&app_poll_timer);
		app_poll_timer_init = 1;
	}
	if (!uv_is_active((uv_handle_t *)&app_poll_timer))
		uv_timer_start(&app_poll_timer, app_poll_cb, APP_POLL_MS,
		    APP_POLL_MS);
}

static void	app_leader_exit(struct inst *, int status);

static int
app_group_check(void)
{
	struct inst *in, *next;
	uint64_t now = wsd_now_ms();
	int waiting = 0;

	for (in = TAILQ_FIRST(&inst_list); in != NULL; in = next) {
		next = TAILQ_NEXT(in, entry);
		if (in->gone_at == 0)
			continue;
		if (kill(-in->pid, 0) == 0 || errno == EPERM) {
			if (now - in->gone_at < APP_GROUP_WAIT_MS) {
				waiting = 1;
				continue;
			}
			log_json(LOG_WARN, app_fields(in), "its process group "
			    "is still there %d ms after it exited: going on",
			    APP_GROUP_WAIT_MS);
		}
		in->gone_at = 0;
		app_leader_exit(in, in->gone_status);	/* may free `in` */
		next = TAILQ_FIRST(&inst_list);		/* the list may have changed */
	}
	return waiting;
}

void
app_child_exit(pid_t pid, int status)
{
	struct inst *in;
	char what[64];

	TAILQ_FOREACH(in, &inst_list, entry)
		if (in->pid == pid || in->old_pid == pid)
			break;
	if (in == NULL) {
		/* An orphan we adopted: a waiting group may be empty now. */
		app_group_check();
		return;
	}
	if (!WIFEXITED(status) && !WIFSIGNALED(status))
		return;
	/* What the leader left in its group would hold pipes and ports. */
	if (in->app->cfg.treekill)
		kill(-pid, SIGKILL);
	if (pid == in->old_pid) {
		app_exit_what(what, sizeof what, status);
		/* The replaced process: never a crash, never restarted. */
		log_json(in->old_signalled || (WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0) ? LOG_INFO : LOG_WARN,
		    app_old_fields(in), "replaced process %s", what);
		app_old_gone(in);
		if (in->reload == RL_RETIRING)
			in->reload = RL_DONE;
		app_steer(in->app);
		app_inst_reap(in);	/* may free `in` */
		if (app_in_step == 0 && app_observer != NULL)
			app_observer();
		return;
	}
	if (in->app->cfg.treekill && kill(-pid, 0) == 0) {
		in->gone_status = status;
		in->gone_at = wsd_now_ms();
		app_poll();
		return;
	}
	app_leader_exit(in, status);
}

/* The instance's own process is gone, with its whole group. */
static void
app_leader_exit(struct inst *in, int status)
{
	char what[64], before[96];
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	app_exit_what(what, sizeof what, status);
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
		app_reload_restore(in, before);
		app_steer(in->app);
		if (app_in_step == 0 && app_observer != NULL)
			app_observer();
		return;
	}
	in->pid = 0;
	ipc_close(in->ipc);
	in->ipc = NULL;
	app_event(in, PEV_EXIT, code, sig);
}

int
app_start_inst(struct inst *in)
{
	app_event(in, PEV_START, 0, 0);
	return 0;
}

void
app_stop_inst(struct inst *in)
{
	in->retire_at = 0;
	app_old_retire(in);
	app_event(in, PEV_STOP, 0, 0);
}

void
app_restart_inst(struct inst *in)
{
	app_event(in, PEV_RESTART, 0, 0);
}

/*
 * Taking a slot away (scale down, deleting one instance) strands nobody.
 * Its socket is first steered away from (app_steer): no new connection
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
app_retire_waits(const struct inst *in, uint64_t now)
{
	const struct app *a = in->app;
	uint64_t settle = app_env_ms("WSD_SCALE_SETTLE_MS", 300);
	size_t i;
	int queued, stays = 0;

	for (i = 0; i < a->ninsts; i++)
		if (a->insts[i] != NULL && !a->insts[i]->removing)
			stays = 1;
	if (!stays || !app_inst_accepts(in) ||
	    (queued = listen_queued(&a->socks, in->slot)) < 0)
		return 0;
	if (now - in->retire_at < settle)
		return 1;
	return queued > 0 && now - in->retire_at < settle + a->pc.kill_timeout_ms;
}

static int
app_retire_check(void)
{
	struct inst *in, *next;
	uint64_t now = wsd_now_ms();
	int waiting = 0;

	for (in = TAILQ_FIRST(&inst_list); in != NULL; in = next) {
		next = TAILQ_NEXT(in, entry);
		if (in->retire_at == 0)
			continue;
		if (app_retire_waits(in, now)) {
			waiting = 1;
			continue;
		}
		in->retire_at = 0;
		app_old_retire(in);
		app_event(in, PEV_STOP, 0, 0);	/* may free `in` */
		next = TAILQ_FIRST(&inst_list);	/* the list may have changed */
	}
	return waiting;
}

void
app_delete_inst(struct inst *in)
{
	in->removing = 1;
	if ((in->retire_at = wsd_now_ms()) == 0)
		in->retire_at = 1;	/* 0 = not retiring */
	app_steer(in->app);
	app_poll();
	if (app_retire_waits(in, wsd_now_ms())) {
		log_json(LOG_INFO, app_fields(in), "removing: new connects go "
		    "to the other instances; it stops once its queue is served");
		return;
	}
	in->retire_at = 0;
	app_old_retire(in);
	app_event(in, PEV_STOP, 0, 0);
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

	if (reload_busy(a))
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
	app_steer(in->app);
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
	app_steer(a);
	/* Acting may free an instance: look each up again by id. */
	for (i = 0; i < n + old; i++) {
		if (ids[i] < 0 || (in = app_inst_by_id(ids[i])) == NULL)
			continue;
		if (i < n)
			app_start_inst(in);
		else
			app_delete_inst(in);
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
app_add(struct app_config *cfg, const char *config_file, const char *mode,
    int start, struct diag *errors, struct app **out)
{
	struct app *a, *old;
	size_t i;

	*out = NULL;
	if ((a = calloc(1, sizeof *a)) == NULL)
		return -1;
	a->cfg = *cfg;
	memset(cfg, 0, sizeof *cfg);
	a->config_file = config_file != NULL ? strdup(config_file) : NULL;
	a->env_mode = mode != NULL ? strdup(mode) : NULL;
	env_init(&a->env);
	if (app_update_env(a, errors) < 0) {
		eco_app_free(&a->cfg);
		env_free(&a->env);
		free(a->config_file);
		free(a->env_mode);
		free(a);
		return -1;
	}
	if ((old = app_by_name(a->cfg.name)) != NULL) {
		/* Same name: the new definition replaces the old one in place;
		 * running processes keep running until restarted. */
		eco_app_free(&old->cfg);
		old->cfg = a->cfg;
		if (!old->ran_env_set && old->env_resolved) {
			old->ran_env = old->env;	/* hot settings: reload.c */
			old->ran_env_set = 1;
		} else
			env_free(&old->env);
		old->env = a->env;
		old->env_resolved = 1;
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
			app_delete_inst(a->insts[i]);
	/* A slot to keep still held by a stopping instance of a scale down
	 * is filled once that has stopped (app_scale_resume). */
	for (i = 0; i < a->ninsts && i < (size_t)a->cfg.instances; i++)
		if (a->insts[i] != NULL && a->insts[i]->removing &&
		    !app_keep(a->insts[i]))
			a->scale_pending = 1;
	app_cron_arm(a);
	if (start)
		for (i = 0; i < a->ninsts && i < (size_t)a->cfg.instances; i++)
			if (a->insts[i] != NULL && !a->insts[i]->removing)
				app_start_inst(a->insts[i]);
	*out = a;
	return 0;
}

void
app_stop_all(void)
{
	struct inst *in, *next;

	TAILQ_FOREACH_SAFE(in, &inst_list, entry, next)
		app_stop_inst(in);
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

static json_t *
app_env_json(const struct env *env)
{
	json_t *o = json_object();
	size_t i;
	char *v;

	for (i = 0; i < env->n; i++) {
		v = env_display(&env->v[i]);
		json_object_set_new(o, env->v[i].key,
		    json_string(v != NULL ? v : "****"));
		free(v);
	}
	return o;
}

/* The app's definition as written, with secret-looking values masked. */
static json_t *
app_config_json(const struct app *a)
{
	json_t *c, *v;
	const char *k;
	void *tmp;

	c = a->cfg.raw != NULL ? json_deep_copy(a->cfg.raw) : json_object();
	json_object_foreach_safe(c, tmp, k, v) {
		json_t *e, *ev;
		const char *ek;

		if (strcmp(k, "env") != 0 && strncmp(k, "env_", 4) != 0)
			continue;
		if (!json_is_object(v) || strcmp(k, "env_file") == 0)
			continue;
		e = v;
		json_object_foreach(e, ek, ev) {
			struct env_var var = { (char *)ek, NULL, 0 };
			char *shown;

			if (!json_is_string(ev))
				continue;
			var.value = (char *)json_string_value(ev);
			shown = env_display(&var);
			json_object_set_new(e, ek, json_string(shown != NULL ?
			    shown : "****"));
			free(shown);
		}
	}
	return c;
}

json_t *
app_inst_json(const struct inst *in, int details)
{
	const struct app *a = in->app;
	json_t *o, *conns = json_null();
	uint64_t now = wsd_epoch_ms();

	if (in->stats != NULL && json_is_integer(json_object_get(in->stats,
	    "connections")))
		conns = json_incref(json_object_get(in->stats, "connections"));
	o = json_pack("{si ss si ss sI ss si si sI sI sI}",
	    "id", in->id, "name", a->cfg.name, "instance", in->slot,
	    "exec_mode", a->cfg.exec_mode == EXEC_CLUSTER ? "cluster" : "fork",
	    "pid", (json_int_t)in->pid,
	    "status", policy_state_name(in->ps.state),
	    "restarts", (int)in->ps.restarts,
	    "unstable_restarts", (int)in->ps.unstable,
	    "started_at", (json_int_t)in->started_epoch,
	    "created_at", (json_int_t)in->created_at,
	    "uptime_ms", (json_int_t)(in->pid != 0 && in->started_epoch != 0 ?
	    now - in->started_epoch : 0));
	json_object_set_new(o, "exit_code", in->ps.last_code >= 0 ?
	    json_integer(in->ps.last_code) : json_null());
	if (in->ps.last_signal > 0) {
		char sn[32];

		snprintf(sn, sizeof sn, "SIG%s",
		    sigabbrev_np(in->ps.last_signal) != NULL ?
		    sigabbrev_np(in->ps.last_signal) : "?");
		json_object_set_new(o, "exit_signal", json_string(sn));
	} else
		json_object_set_new(o, "exit_signal", json_null());
	json_object_set_new(o, "cpu", json_real(in->pid != 0 ? in->cpu : 0));
	json_object_set_new(o, "memory", json_integer(in->pid != 0 ?
	    (json_int_t)in->mem : 0));
	json_object_set_new(o, "connections", conns);
	json_object_set_new(o, "instances", json_integer(a->cfg.instances));
	json_object_set_new(o, "autorestart", json_boolean(a->cfg.autorestart));
	json_object_set_new(o, "env_mode", a->env_mode != NULL ?
	    json_string(a->env_mode) : json_null());
	json_object_set_new(o, "config_file", a->config_file != NULL ?
	    json_string(a->config_file) : json_null());
	json_object_set_new(o, "out_file", in->out_path != NULL ?
	    json_string(in->out_path) : json_null());
	json_object_set_new(o, "error_file", in->err_path != NULL ?
	    json_string(in->err_path) : json_null());
	if (in->stats != NULL)
		json_object_set(o, "stats", in->stats);
	if (a->listen_port > 0)
		json_object_set_new(o, "port", json_integer(a->listen_port));
	if (in->reload == RL_SPAWNING || in->reload == RL_RETIRING)
		json_object_set_new(o, "reloading", json_true());
	if (in->old_pid != 0)
		json_object_set_new(o, "old_pid", json_integer(in->old_pid));
	if (details) {
		json_object_set_new(o, "config", app_config_json(a));
		json_object_set_new(o, "env", app_env_json(&a->env));
	}
	return o;
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
	/* max_memory_restart: over the limit → reload that instance (not
	 * while its app is being reloaded: a fresh process is coming). */
	TAILQ_FOREACH(in, &inst_list, entry) {
		uint64_t lim = in->app->cfg.max_memory_restart;

		if (lim > 0 && in->ps.state == ST_ONLINE && in->mem > lim &&
		    in->reload == RL_NONE && !reload_busy(in->app)) {
			log_json(LOG_WARN, app_fields(in), "memory limit reached "
			    "(%llu > %llu bytes): reloading",
			    (unsigned long long)in->mem, (unsigned long long)lim);
			reload_start(&in, 1, NULL, NULL, "max_memory_restart");
		}
	}
}

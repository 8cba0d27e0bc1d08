/*
 * The control commands: one handler per command of common/ctlcmd.c (which
 * says who may run it), and the waiters that answer a command once the
 * instances it touched have reached the state it waits for (stop,
 * delete; start and restart wait in settle.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlcmd.h"
#include "dump.h"
#include "log.h"
#include "proto.h"
#include "wsd.h"
#include "xmalloc.h"

enum wait_kind {
	WAIT_STOPPED,	/* each instance has no process */
	WAIT_GONE,	/* each instance left the table */
	WAIT_SETTLED,	/* each instance came up or failed: settle.c's */
};

struct waiter {
	enum wait_kind		 kind;
	struct reply		*reply;
	json_t			*id;
	int			*ids;
	size_t			 n;
	LIST_ENTRY(waiter)	 entry;
};

struct command {
	const char	*name;
	char		*(*fn)(struct cmd_ctx *);
};

static LIST_HEAD(, waiter) command_waiters = LIST_HEAD_INITIALIZER(command_waiters);

static json_t *
command_insts_json(struct inst **v, size_t n, int details)
{
	json_t *a = json_array(), *o, *w;
	size_t i;

	for (i = 0; i < n; i++) {
		o = view_inst_json(v[i], details);
		/* The watch's state is fswatch.c's, above the view. */
		if (details && (w = fswatch_json(v[i]->app)) != NULL)
			json_object_set_new(o, "watch", w);
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
command_ids_json(const int *ids, size_t n)
{
	json_t *a = json_array(), *o;
	struct inst *in;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((in = app_inst_by_id(ids[i])) == NULL)
			continue;
		o = view_inst_json(in, 0);
		json_array_append_new(a, o);
	}
	return a;
}

/* Resolve args.target; on failure *err is the reply. */
static int
command_target(struct cmd_ctx *ctx, int required, struct inst ***v,
    size_t *n, char **err)
{
	json_t *t = json_object_get(ctx->args, "target");

	*err = NULL;
	if (t == NULL || json_is_null(t)) {
		if (required) {
			*err = proto_reply_error(ctx->id, "bad_request",
			    "\"target\" is required");
			return -1;
		}
		t = json_string("all");
		app_target(t, v, n);
		json_decref(t);
		return 0;
	}
	if (!json_is_string(t) && !json_is_integer(t)) {
		*err = proto_reply_error(ctx->id, "bad_request",
		    "\"target\" must be a name, an id or \"all\"");
		return -1;
	}
	if (app_target(t, v, n) < 0) {
		if (json_is_string(t))
			*err = proto_reply_error(ctx->id, "no_such_app",
			    "no app or id matches \"%s\"", json_string_value(t));
		else
			*err = proto_reply_error(ctx->id, "no_such_app",
			    "no app or id matches %lld",
			    (long long)json_integer_value(t));
		return -1;
	}
	return 0;
}

/*
 * An app whose reload is under way refuses the commands that would change
 * its processes (`busy`): a stop or restart in the middle of a replacement
 * would fight the reload over the same slots.  Retry once the reload has
 * answered.  NULL when none of `v` is busy.
 */
static char *
command_busy(struct cmd_ctx *ctx, struct inst **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (reload_busy(v[i]->app))
			return proto_reply_error(ctx->id, "busy",
			    "%s is being reloaded: try again when the reload "
			    "has finished", v[i]->app->cfg.name);
	return NULL;
}

static int
command_waiter_done(struct waiter *w)
{
	struct inst *in;
	size_t i;

	for (i = 0; i < w->n; i++) {
		if ((in = app_inst_by_id(w->ids[i])) == NULL)
			continue;
		switch (w->kind) {
		case WAIT_STOPPED:
			if (in->pid != 0 || in->ps.state == ST_STOPPING)
				return 0;
			break;
		case WAIT_GONE:
			return 0;
		case WAIT_SETTLED:
			break;
		}
	}
	return 1;
}

static void
command_waiter_finish(struct waiter *w)
{
	json_t *data, *ids;
	size_t i;

	LIST_REMOVE(w, entry);
	if (w->kind == WAIT_GONE) {
		ids = json_array();
		for (i = 0; i < w->n; i++)
			json_array_append_new(ids, json_integer(w->ids[i]));
		data = json_pack("{so}", "deleted", ids);
	} else
		data = json_pack("{so}", "instances",
		    command_ids_json(w->ids, w->n));
	control_reply_done(w->reply, proto_reply_ok(w->id, data));
	json_decref(w->id);
	free(w->ids);
	free(w);
}

static void
command_check_waiters(void)
{
	struct waiter *w, *next;

	app_scale_resume();	/* a pending scale waited for this change */
	LIST_FOREACH_SAFE(w, &command_waiters, entry, next)
		if (command_waiter_done(w))
			command_waiter_finish(w);
}

/* Defer the reply until the instances reach the state `kind` waits for. */
static char *
command_wait(struct cmd_ctx *ctx, enum wait_kind kind, struct inst **v,
    size_t n)
{
	struct waiter *w;
	size_t i;

	w = xcalloc(1, sizeof *w);
	w->ids = xcalloc(n + 1, sizeof *w->ids);
	w->kind = kind;
	w->id = json_incref(ctx->id != NULL ? ctx->id : json_null());
	w->n = n;
	for (i = 0; i < n; i++)
		w->ids[i] = v[i]->id;
	w->reply = control_reply_defer(ctx->client);
	LIST_INSERT_HEAD(&command_waiters, w, entry);
	return NULL;
}

static char *
cmd_ping(struct cmd_ctx *ctx)
{
	json_t *d = json_pack("{sisssssIsi}",
	    "pid", (int)getpid(), "version", WSD_VERSION, "home", wsd_home,
	    "uptime_ms", (json_int_t)(wsd_epoch_ms() - wsd_started_ms),
	    "uid", (int)geteuid());
	json_t *u = update_json();

	json_object_update(d, u);
	json_decref(u);
	return proto_reply_ok(ctx->id, d);
}

static char *
cmd_list(struct cmd_ctx *ctx)
{
	json_t *a = json_array();
	struct inst *in;

	TAILQ_FOREACH(in, app_insts(), entry)
		json_array_append_new(a, view_inst_json(in, 0));
	return proto_reply_ok(ctx->id, json_pack("{so}", "instances", a));
}

/* The aggregated Prometheus text (as GET /metrics serves it). */
static char *
cmd_metrics(struct cmd_ctx *ctx)
{
	char *text, *r;

	if ((text = scrape_text()) == NULL)
		return proto_reply_error(ctx->id, "internal", "out of memory");
	r = proto_reply_ok(ctx->id, json_pack("{ss}", "text", text));
	free(text);
	return r;
}

/* wsd's recent log lines, oldest first (args.lines, default and max 64). */
static char *
cmd_events(struct cmd_ctx *ctx)
{
	json_t *n = json_object_get(ctx->args, "lines");

	if (n != NULL && (!json_is_integer(n) || json_integer_value(n) < 0))
		return proto_reply_error(ctx->id, "bad_request",
		    "\"lines\" must be a number from 0");
	return proto_reply_ok(ctx->id, json_pack("{so}", "events",
	    events_json(n != NULL ? (size_t)json_integer_value(n) : 64)));
}

static char *
cmd_describe(struct cmd_ctx *ctx)
{
	struct inst **v;
	size_t n;
	char *err, *r;

	if (command_target(ctx, 1, &v, &n, &err) < 0)
		return err;
	r = proto_reply_ok(ctx->id, json_pack("{so}", "instances",
	    command_insts_json(v, n, 1)));
	free(v);
	return r;
}

static char *
cmd_env(struct cmd_ctx *ctx)
{
	struct inst **v;
	const struct env *env;
	json_t *o;
	size_t n, i;
	char *err, *s;
	int reveal = json_is_true(json_object_get(ctx->args, "reveal"));

	if (reveal && ctx->uid != 0 && ctx->uid != geteuid())
		return proto_reply_error(ctx->id, "permission_denied",
		    "revealing secret values needs the daemon's uid or root");
	if (command_target(ctx, 1, &v, &n, &err) < 0)
		return err;
	if (n == 0) {
		free(v);
		return proto_reply_error(ctx->id, "no_such_app", "no instance");
	}
	env = &v[0]->app->env;
	o = json_object();
	for (i = 0; i < env->n; i++) {
		s = reveal ? xstrdup(env->v[i].value) : env_display(&env->v[i]);
		json_object_set_new(o, env->v[i].key, json_string(s != NULL ?
		    s : "****"));
		free(s);
	}
	if (reveal)
		log_json(LOG_INFO, json_pack("{sssisi}", "app",
		    v[0]->app->cfg.name, "peer_uid", (int)ctx->uid, "peer_pid",
		    (int)ctx->pid), "environment revealed to a client");
	free(v);
	return proto_reply_ok(ctx->id, json_pack("{so}", "env", o));
}

static char	*command_act(struct cmd_ctx *, struct inst **, size_t,
		    enum wait_kind, void (*)(struct inst *), json_t *);

static void
command_start_inst(struct inst *in)
{
	inst_start(in);
}

/* Whether an instance of the app runs or is about to (not stopped). */
static int
command_app_running(const struct app *a)
{
	size_t i;

	for (i = 0; a != NULL && i < a->ninsts; i++)
		if (a->insts[i] != NULL && !a->insts[i]->removing &&
		    a->insts[i]->ps.state != ST_STOPPED &&
		    a->insts[i]->ps.state != ST_ERRORED)
			return 1;
	return 0;
}

/*
 * `start FILE` on an app that runs: as PM2 does, its instances are
 * restarted, here with the file's whole new definition and env (PM2
 * passes the env only).  Not one being reloaded: that reload's
 * replacements already run the new definition's predecessor, so the app
 * is named in the warnings.  Those restarted go to `restarted`.
 */
static void
command_start_apply(struct app *a, json_t *restarted, json_t *warnings)
{
	size_t i;

	if (reload_busy(a)) {
		json_array_append_new(warnings, json_sprintf("%s is being "
		    "reloaded: its new definition applies at its next restart",
		    a->cfg.name));
		return;
	}
	json_array_append_new(restarted, json_string(a->cfg.name));
	log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
	    "restarting with the file's new definition");
	/* A restart frees nothing: only removed instances leave the table. */
	for (i = 0; i < a->ninsts; i++)
		if (a->insts[i] != NULL && !a->insts[i]->removing)
			inst_restart(a->insts[i]);
}

/* FILE loaded (its apps of args.only): NULL, else the error reply. */
static char *
command_load(struct cmd_ctx *ctx, struct config *c, const char *file,
    const struct config_opts *o)
{
	char *r;

	if (config_load(c, file, o) < 0 ||
	    command_pm2_only(c, ctx->args, &c->errors) < 0) {
		r = proto_reply_config_error(ctx->id, &c->errors);
		config_free(c);
		return r;
	}
	return NULL;
}

/* `update`: an app in the table keeps the --env mode it runs with. */
static const char *
command_mode_of_cb(const char *name, const char *mode)
{
	struct app *a = name != NULL ? app_by_name(name) : NULL;

	return a != NULL ? a->env_mode : mode;
}

/*
 * start FILE with `update`: the new definitions of the file's apps that
 * are in the table (of `only`), applied without starting or restarting
 * anything, for `wsctl reload|restart FILE`, which then act on the apps
 * (a reload pushes what only changed hot settings).  Others are skipped.
 */
static char *
command_update_file(struct cmd_ctx *ctx, const char *file)
{
	struct config c;
	struct config_opts o = { NULL, &wsd_base_env, command_mode_of_cb };
	struct app *a;
	json_t *updated;
	size_t i;
	char *r;

	if ((r = command_load(ctx, &c, file, &o)) != NULL)
		return r;
	updated = json_array();
	for (i = 0; i < c.napps; i++)
		if (app_by_name(c.apps[i].cfg.name) != NULL &&
		    app_add(&c.apps[i], c.path, 0, &a) == 0)
			json_array_append_new(updated, json_string(a->cfg.name));
	config_free(&c);
	return proto_reply_ok(ctx->id, json_pack("{so}", "updated", updated));
}

/*
 * Load FILE and add its apps (those running are restarted with their new
 * definition); the reply, once they have settled, lists their instances.
 */
static char *
command_start_file(struct cmd_ctx *ctx, const char *file, const char *mode)
{
	struct config c;
	struct config_opts o = { mode, &wsd_base_env, NULL };
	struct inst **v;
	struct app *a;
	size_t i, k, n = 0, cap = 0;
	json_t *data, *w, *restarted;
	char *r;
	int running;

	/* Every app's env is resolved first, so a bad one starts nothing. */
	if ((r = command_load(ctx, &c, file, &o)) != NULL)
		return r;
	w = json_array();
	restarted = json_array();
	for (i = 0; i < c.warnings.n; i++) {
		json_array_append_new(w, json_string(c.warnings.msgs[i]));
		log_warn("%s", c.warnings.msgs[i]);
	}
	for (i = 0; i < c.napps; i++)
		cap += c.apps[i].cfg.instances > 0 ?
		    (size_t)c.apps[i].cfg.instances : 1;
	v = xcalloc(cap + 1, sizeof *v);
	for (i = 0; i < c.napps; i++) {
		running = command_app_running(app_by_name(c.apps[i].cfg.name));
		if (app_add(&c.apps[i], c.path, 1, &a) < 0)
			continue;
		if (running)
			command_start_apply(a, restarted, w);
		for (k = 0; k < a->ninsts && n < cap; k++)
			if (a->insts[k] != NULL && !a->insts[k]->removing)
				v[n++] = a->insts[k];
	}
	data = json_pack("{soso}", "warnings", w, "restarted", restarted);
	config_free(&c);
	return command_act(ctx, v, n, WAIT_SETTLED, NULL, data);
}

static char *
cmd_start(struct cmd_ctx *ctx)
{
	json_t *file = json_object_get(ctx->args, "file");
	json_t *mode = json_object_get(ctx->args, "env");
	struct inst **v;
	size_t n;
	char *err, *r;

	if (file != NULL && !json_is_null(file)) {
		if (!json_is_string(file) || json_string_value(file)[0] != '/')
			return proto_reply_error(ctx->id, "bad_request",
			    "\"file\" must be an absolute path");
		if (mode != NULL && !json_is_null(mode) && !json_is_string(mode))
			return proto_reply_error(ctx->id, "bad_request",
			    "\"env\" must be a string");
		if (json_is_true(json_object_get(ctx->args, "update")))
			return command_update_file(ctx,
			    json_string_value(file));
		return command_start_file(ctx, json_string_value(file),
		    json_is_string(mode) ? json_string_value(mode) : NULL);
	}
	if (command_target(ctx, 1, &v, &n, &err) < 0)
		return err;
	if ((r = command_busy(ctx, v, n)) != NULL) {
		free(v);
		return r;
	}
	return command_act(ctx, v, n, WAIT_SETTLED, command_start_inst, NULL);
}

/* The target's instances, none of them mid-reload; else an error reply. */
static char *
command_idle_target(struct cmd_ctx *ctx, struct inst ***v, size_t *n)
{
	char *err;

	if (command_target(ctx, 1, v, n, &err) < 0)
		return err;
	if ((err = command_busy(ctx, *v, *n)) != NULL) {
		free(*v);
		*v = NULL;
	}
	return err;
}

/*
 * Register the reply (sent once every instance reaches `kind`; data, moved,
 * is what a settled reply says besides), then apply `act` to each.  Acting
 * may free an instance or finish at once, so each is looked up again by
 * id.  Frees v.
 */
static char *
command_act(struct cmd_ctx *ctx, struct inst **v, size_t n,
    enum wait_kind kind, void (*act)(struct inst *), json_t *data)
{
	struct inst *in;
	size_t i;
	char *r;
	int *ids;

	ids = xcalloc(n + 1, sizeof *ids);
	for (i = 0; i < n; i++)
		ids[i] = v[i]->id;
	if (kind == WAIT_SETTLED)
		r = settle_reply(ctx, v, n, data);
	else
		r = command_wait(ctx, kind, v, n);
	free(v);
	for (i = 0; act != NULL && i < n; i++) {
		if ((in = app_inst_by_id(ids[i])) != NULL)
			act(in);
	}
	free(ids);
	command_check_waiters();
	settle_check();
	return r;
}

static char *
cmd_stop(struct cmd_ctx *ctx)
{
	struct inst **v;
	size_t n;
	char *r;

	if ((r = command_idle_target(ctx, &v, &n)) != NULL)
		return r;
	return command_act(ctx, v, n, WAIT_STOPPED, inst_stop, NULL);
}

static char *
command_restart(struct cmd_ctx *ctx, int update_env)
{
	struct inst **v;
	struct diag errors;
	size_t n, i, k;
	char *r;

	if ((r = command_idle_target(ctx, &v, &n)) != NULL)
		return r;
	/* Hot settings hook (SPEC §4.11): only those changed → push them. */
	if (update_env && reload_hot_only(v, n)) {
		reload_start(v, n, control_reply_defer(ctx->client), ctx->id,
		    "wsctl restart --update-env");
		free(v);
		return NULL;
	}
	if (update_env) {
		diag_init(&errors);
		for (i = 0; i < n; i++) {
			for (k = 0; k < i; k++)
				if (v[k]->app == v[i]->app)
					break;
			if (k == i)
				app_update_env(v[i]->app, &errors);
		}
		if (errors.n > 0) {
			r = proto_reply_config_error(ctx->id, &errors);
			diag_free(&errors);
			free(v);
			return r;
		}
		diag_free(&errors);
	}
	return command_act(ctx, v, n, WAIT_SETTLED, inst_restart, NULL);
}

static char *
cmd_restart(struct cmd_ctx *ctx)
{
	return command_restart(ctx,
	    json_is_true(json_object_get(ctx->args, "update_env")));
}

/* Zero-downtime reload (reload.c); answered once every old process is gone. */
static char *
cmd_reload(struct cmd_ctx *ctx)
{
	struct inst **v;
	size_t n;
	char *r;

	if ((r = command_idle_target(ctx, &v, &n)) != NULL)
		return r;
	if (n == 0) {
		free(v);
		return proto_reply_ok(ctx->id, json_pack("{so}", "instances",
		    json_array()));
	}
	reload_start(v, n, control_reply_defer(ctx->client), ctx->id,
	    "wsctl reload");
	free(v);
	return NULL;
}

static char *
cmd_delete(struct cmd_ctx *ctx)
{
	struct inst **v;
	size_t n;
	char *r;

	if ((r = command_idle_target(ctx, &v, &n)) != NULL)
		return r;
	return command_act(ctx, v, n, WAIT_GONE, inst_delete, NULL);
}

/*
 * `instances` sets the count, `delta` (+N/-N) changes it: the daemon does
 * the sum, on the count the last request asked for (applied or still
 * pending), so concurrent relative requests add up.
 */
static char *
cmd_scale(struct cmd_ctx *ctx)
{
	json_t *t = json_object_get(ctx->args, "target");
	json_t *nj = json_object_get(ctx->args, "instances");
	json_t *dj = json_object_get(ctx->args, "delta");
	struct app *a;
	const char *pending;
	json_int_t n;
	json_t *data;

	if (!json_is_string(t) || (nj == NULL) == (dj == NULL) ||
	    (nj != NULL && !json_is_integer(nj)) ||
	    (dj != NULL && !json_is_integer(dj)))
		return proto_reply_error(ctx->id, "bad_request",
		    "scale needs \"target\" (an app name) and either "
		    "\"instances\" (1-1024) or \"delta\" (+N/-N)");
	if ((a = app_by_name(json_string_value(t))) == NULL)
		return proto_reply_error(ctx->id, "no_such_app",
		    "no app named \"%s\"", json_string_value(t));
	if (nj != NULL)
		n = json_integer_value(nj);
	else if (json_integer_value(dj) < -1024 ||
	    json_integer_value(dj) > 1024)
		n = -1;
	else
		n = a->cfg.instances + json_integer_value(dj);
	if (n < 1 || n > 1024) {
		if (nj != NULL)
			return proto_reply_error(ctx->id, "bad_request",
			    "\"instances\" must be 1-1024, not %lld",
			    (long long)n);
		return proto_reply_error(ctx->id, "bad_request", "%s has %d "
		    "instances: %+lld would make %lld (1-1024)", a->cfg.name,
		    a->cfg.instances, (long long)json_integer_value(dj),
		    (long long)a->cfg.instances + json_integer_value(dj));
	}
	if (app_scale(a, (int)n, &pending) < 0)
		return proto_reply_error(ctx->id, "internal", "scale failed");
	data = json_pack("{sosi}", "instances", view_app_insts(&a, 1),
	    "desired", (int)n);
	if (pending != NULL)
		json_object_set_new(data, "pending", json_string(pending));
	return proto_reply_ok(ctx->id, data);
}

static char *
cmd_logs(struct cmd_ctx *ctx)
{
	struct inst **v;
	json_t *files = json_array();
	size_t n, i;
	char *err, *r;

	if (command_target(ctx, 0, &v, &n, &err) < 0) {
		json_decref(files);
		return err;
	}
	for (i = 0; i < n; i++) {
		if (v[i]->out_path != NULL)
			json_array_append_new(files, json_pack("{sissssss}",
			    "id", v[i]->id, "name", v[i]->app->cfg.name,
			    "type", "out", "path", v[i]->out_path));
		if (v[i]->err_path != NULL)
			json_array_append_new(files, json_pack("{sissssss}",
			    "id", v[i]->id, "name", v[i]->app->cfg.name,
			    "type", "err", "path", v[i]->err_path));
	}
	free(v);
	r = proto_reply_ok(ctx->id, json_pack("{so}", "files", files));
	return r;
}

static int
command_has(json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static char *
cmd_flush(struct cmd_ctx *ctx)
{
	struct inst **v;
	json_t *done = json_array();
	size_t n, i, k;
	char *err;
	const char *p[3];

	if (command_target(ctx, 0, &v, &n, &err) < 0) {
		json_decref(done);
		return err;
	}
	for (i = 0; i < n; i++) {
		p[0] = v[i]->out_path;
		p[1] = v[i]->err_path;
		p[2] = v[i]->app->cfg.log_file;
		for (k = 0; k < 3; k++) {
			if (p[k] == NULL || command_has(done, p[k]))
				continue;
			if (logcap_truncate(p[k]) == 0)
				json_array_append_new(done, json_string(p[k]));
		}
	}
	free(v);
	return proto_reply_ok(ctx->id, json_pack("{so}", "truncated", done));
}

static char *
cmd_reload_logs(struct cmd_ctx *ctx)
{
	logcap_reopen_all();
	return proto_reply_ok(ctx->id, json_object());
}

static char *
cmd_save(struct cmd_ctx *ctx)
{
	size_t napps;
	char *err = NULL, *path, *r;

	switch (dump_save(wsd_home, json_is_true(json_object_get(ctx->args,
	    "force")), &napps, &err)) {
	case DUMP_EMPTY:
		return proto_reply_error(ctx->id, "empty_dump",
		    "no app to save (force to write an empty list)");
	case DUMP_FAILED:
		r = proto_reply_error(ctx->id, "internal", "%s",
		    err != NULL ? err : "cannot write the dump");
		free(err);
		return r;
	case DUMP_SAVED:
		break;
	}
	xasprintf(&path, "%s/dump.json", wsd_home);
	r = proto_reply_ok(ctx->id, json_pack("{sssI}", "path", path, "apps",
	    (json_int_t)napps));
	free(path);
	return r;
}

static char *
cmd_resurrect(struct cmd_ctx *ctx)
{
	struct diag errors;
	json_t *insts, *w;
	size_t i;
	char *r;

	diag_init(&errors);
	if (dump_resurrect(&errors, &insts) < 0 &&
	    json_array_size(insts) == 0) {
		r = proto_reply_config_error(ctx->id, &errors);
		json_decref(insts);
	} else {
		/* The apps that could not be restored, said with the others. */
		w = json_array();
		for (i = 0; i < errors.n; i++) {
			json_array_append_new(w, json_string(errors.msgs[i]));
			log_error("resurrect: %s", errors.msgs[i]);
		}
		r = proto_reply_ok(ctx->id, json_pack("{soso}", "instances",
		    insts, "warnings", w));
	}
	diag_free(&errors);
	return r;
}

static char *
cmd_kill(struct cmd_ctx *ctx)
{
	char *r = proto_reply_ok(ctx->id, json_object());
	struct reply *rep = control_reply_defer(ctx->client);

	/* The reply is queued before the shutdown starts closing things. */
	control_reply_done(rep, r);
	wsd_shutdown("kill command");
	return NULL;
}

/* wsctl update: the reply comes from update.c, before it re-executes. */
static char *
cmd_update(struct cmd_ctx *ctx)
{
	update_start(control_reply_defer(ctx->client), ctx->id);
	return NULL;
}

/* The handlers; which commands exist and who may run them: ctlcmd.c. */
static const struct command command_table[] = {
	{ "ping",	cmd_ping },
	{ "list",	cmd_list },
	{ "metrics",	cmd_metrics },
	{ "events",	cmd_events },
	{ "describe",	cmd_describe },
	{ "env",	cmd_env },
	{ "logs",	cmd_logs },
	{ "start",	cmd_start },
	{ "stop",	cmd_stop },
	{ "restart",	cmd_restart },
	{ "reload",	cmd_reload },
	{ "delete",	cmd_delete },
	{ "scale",	cmd_scale },
	{ "flush",	cmd_flush },
	{ "reloadLogs",	cmd_reload_logs },
	{ "save",	cmd_save },
	{ "resurrect",	cmd_resurrect },
	{ "kill",	cmd_kill },
	{ "sendSignal",	command_pm2_send_signal },
	{ "reset",	command_pm2_reset },
	{ "cleardump",	command_pm2_cleardump },
	{ "appNames",	command_pm2_app_names },
	{ "update",	cmd_update },
};

static char *
command_run_cb(struct cmd_ctx *ctx, const char *name)
{
	const struct ctlcmd *cc = ctlcmd_find(name);
	const struct command *c = NULL;
	json_t *t;
	size_t i;

	for (i = 0; cc != NULL && i < sizeof command_table /
	    sizeof command_table[0]; i++)
		if (strcmp(command_table[i].name, cc->name) == 0)
			c = &command_table[i];
	if (c == NULL)
		return proto_reply_error(ctx->id, "unknown_command",
		    "unknown command \"%.64s\"", name);
	if (cc->access == CTLCMD_ADMIN) {
		t = json_object_get(ctx->args, "target");
		if (ctx->uid != 0 && ctx->uid != geteuid()) {
			log_json(LOG_WARN, json_pack("{sssisi}", "cmd", c->name,
			    "peer_uid", (int)ctx->uid, "peer_pid", (int)ctx->pid),
			    "control command refused: not the daemon's uid or root");
			return proto_reply_error(ctx->id, "permission_denied",
			    "%s needs the daemon's uid or root", c->name);
		}
		log_json(LOG_INFO, json_pack("{sssisisO?}", "cmd", c->name,
		    "peer_uid", (int)ctx->uid, "peer_pid", (int)ctx->pid,
		    "target", t), "control command");
	}
	return c->fn(ctx);
}

static void
command_settled_cb(void)
{
	command_check_waiters();
}

void
command_init(void)
{
	inst_observe(command_settled_cb);
	settle_init();
	control_serve(command_run_cb);
}

/*
 * The JSON views of apps and instances that status, describe, the reload
 * replies and dump.json show.  Reads the table, changes nothing.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsd.h"

static json_t *
view_env_json(const struct env *env)
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
view_config_json(const struct app *a)
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
view_inst_json(const struct inst *in, int details)
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
	/* Why it is errored or stopped, when the policy said (not a stop
	 * someone asked for). */
	if ((in->ps.state == ST_ERRORED || in->ps.state == ST_STOPPED) &&
	    in->ps.why != NULL)
		json_object_set_new(o, "reason", json_string(in->ps.why));
	json_object_set_new(o, "cpu", json_real(in->pid != 0 ? in->cpu : 0));
	json_object_set_new(o, "memory", json_integer(in->pid != 0 ?
	    (json_int_t)in->mem : 0));
	json_object_set_new(o, "connections", conns);
	json_object_set_new(o, "instances", json_integer(a->cfg.instances));
	json_object_set_new(o, "node_version", nodever_of(a) != NULL ?
	    json_string(nodever_of(a)) : json_null());
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
		json_object_set_new(o, "config", view_config_json(a));
		json_object_set_new(o, "env", view_env_json(&a->env));
	}
	return o;
}

json_t *
view_app_insts(struct app **apps, size_t napps)
{
	json_t *a = json_array();
	size_t i, k;

	for (i = 0; i < napps; i++)
		for (k = 0; k < apps[i]->ninsts; k++)
			if (apps[i]->insts[k] != NULL &&
			    !apps[i]->insts[k]->removing)
				json_array_append_new(a,
				    view_inst_json(apps[i]->insts[k], 0));
	return a;
}

/* The read-only views: status, jlist, describe, env, ping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "eco_format.h"
#include "exitcodes.h"
#include "table.h"

static int	cmd_info_status(struct ctl *, int, char **);
static int	cmd_info_jlist(struct ctl *, int, char **);
static int	cmd_info_describe(struct ctl *, int, char **);
static int	cmd_info_env(struct ctl *, int, char **);
static int	cmd_info_ping(struct ctl *, int, char **);
static int	cmd_info_prettylist(struct ctl *, int, char **);
static int	cmd_info_pid(struct ctl *, int, char **);
static int	cmd_info_id(struct ctl *, int, char **);

const struct ctl_cmd cmd_info_cmds[] = {
	{ "status", "ls list l ps", "[NAME|ID]", cmd_info_status },
	{ "jlist", NULL, "", cmd_info_jlist },
	{ "prettylist", NULL, "", cmd_info_prettylist },
	{ "pid", NULL, "[NAME|ID]", cmd_info_pid },
	{ "id", NULL, "NAME", cmd_info_id },
	{ "describe", "show info desc", "NAME|ID", cmd_info_describe },
	{ "env", NULL, "ID [--reveal]", cmd_info_env },
	{ "ping", NULL, "", cmd_info_ping },
	{ NULL, NULL, NULL, NULL }
};

/* No options at all: anything that looks like one is a usage error. */
static int
cmd_info_operands(struct ctl *ctl, int argc, char **argv, int min, int max)
{
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			ctl_warn("bad option: %s", argv[i]);
			ctl_usage(ctl);
			return -1;
		}
		n++;
	}
	if (n < min || n > max) {
		ctl_usage(ctl);
		return -1;
	}
	return 0;
}

/*
 * The instances of `list` that `target` names (a name, an id, "all", or
 * NULL for all), as a new array; NULL after saying that none matches.
 */
static json_t *
cmd_info_select(struct ctl *ctl, const char *target, int *rc)
{
	json_t *data, *out, *in;
	const char *name;
	char id[32];
	size_t i;

	if ((*rc = client_call(ctl, "list", NULL, &data)) != 0)
		return NULL;
	out = json_array();
	json_array_foreach(json_object_get(data, "instances"), i, in) {
		name = json_string_value(json_object_get(in, "name"));
		snprintf(id, sizeof id, "%lld",
		    json_integer_value(json_object_get(in, "id")));
		if (target == NULL || strcmp(target, "all") == 0 ||
		    (name != NULL && strcmp(name, target) == 0) ||
		    strcmp(id, target) == 0)
			json_array_append(out, in);
	}
	json_decref(data);
	if (target != NULL && strcmp(target, "all") != 0 &&
	    json_array_size(out) == 0) {
		ctl_warn("no app or id matches \"%s\"", target);
		json_decref(out);
		*rc = EXIT_CMDFAIL;
		return NULL;
	}
	return out;
}

static int
cmd_info_status(struct ctl *ctl, int argc, char **argv)
{
	json_t *list, *data;
	int rc;

	if (cmd_info_operands(ctl, argc, argv, 0, 1) == -1)
		return EXIT_USAGE;
	if (argc == 1)
		return status_show(ctl);
	if ((list = cmd_info_select(ctl, argv[1], &rc)) == NULL)
		return rc;
	if (ctl->json) {
		data = json_pack("{so}", "instances", list);
		status_json_print(data);
		json_decref(data);
		return EXIT_OK;
	}
	status_print(ctl, stdout, list);
	json_decref(list);
	return EXIT_OK;
}

/* pm2 pid NAME: the pids, one a line (0 for a stopped instance). */
static int
cmd_info_pid(struct ctl *ctl, int argc, char **argv)
{
	json_t *list, *in;
	size_t i;
	int rc;

	if (cmd_info_operands(ctl, argc, argv, 0, 1) == -1)
		return EXIT_USAGE;
	if ((list = cmd_info_select(ctl, argc == 2 ? argv[1] : NULL,
	    &rc)) == NULL)
		return rc;
	json_array_foreach(list, i, in)
		printf("%lld\n", json_integer_value(json_object_get(in, "pid")));
	json_decref(list);
	return EXIT_OK;
}

/* pm2 id NAME: the ids, printed as node prints an array: [ 0, 1 ]. */
static int
cmd_info_id(struct ctl *ctl, int argc, char **argv)
{
	json_t *list, *in, *ids;
	size_t i;
	int rc;

	if (cmd_info_operands(ctl, argc, argv, 1, 1) == -1)
		return EXIT_USAGE;
	if ((list = cmd_info_select(ctl, argv[1], &rc)) == NULL)
		return rc;
	ids = json_array();
	json_array_foreach(list, i, in)
		json_array_append(ids, json_object_get(in, "id"));
	json_decref(list);
	if (ctl->json)
		status_json_print(ids);
	else {
		fputs("[ ", stdout);
		json_array_foreach(ids, i, in)
			printf("%s%lld", i > 0 ? ", " : "",
			    json_integer_value(in));
		fputs(" ]\n", stdout);
	}
	json_decref(ids);
	return EXIT_OK;
}

/* Copy in[from] to o[to], null when the daemon did not send it. */
static void
cmd_info_copy(json_t *o, const char *to, json_t *in, const char *from)
{
	json_t *v = json_object_get(in, from);

	json_object_set(o, to, v != NULL ? v : json_null());
}

/*
 * The fields tools written against PM2's list read without checking
 * (pm2-prometheus-exporter reads pm2_env.axm_monitor): `in` is a
 * `describe` instance, with the app's config and masked env.
 * pm_exec_path is the script as written when it is not absolute (the
 * daemon resolves it against cwd and PATH at spawn); exec_interpreter
 * follows the daemon's rule: the config's, else node for .js/.mjs/.cjs,
 * else none.  node_version is the daemon's (the node that runs a node
 * app, null for any other, as PM2); version is "N/A" (PM2's value for
 * an app without package.json): wsctl does not read the app's files.
 */
static void
cmd_info_pm2_extra(json_t *o, json_t *env, json_t *in)
{
	json_t *cfg = json_object_get(in, "config"), *axm, *v;
	const char *script, *interp;

	(void)o;
	script = json_string_value(json_object_get(cfg, "script"));
	interp = json_string_value(json_object_get(cfg, "interpreter"));
	if (interp == NULL)
		interp = script != NULL && eco_is_node_script(script) ? "node" :
		    "none";
	json_object_set_new(env, "pm_exec_path", script != NULL ?
	    json_string(script) : json_null());
	cmd_info_copy(env, "pm_cwd", cfg, "cwd");
	json_object_set_new(env, "exec_interpreter", json_string(interp));
	cmd_info_copy(env, "node_version", in, "node_version");
	json_object_set_new(env, "version", json_string("N/A"));
	v = json_object_get(cfg, "restart_delay");
	json_object_set_new(env, "prev_restart_delay",
	    json_is_integer(v) ? json_incref(v) : json_integer(0));
	v = json_object_get(in, "env");
	json_object_set(env, "env", json_is_object(v) ? v : json_object());
	axm = json_object();
	v = json_object_get(in, "connections");
	if (json_is_integer(v))
		json_object_set_new(axm, "connections", json_pack("{sOss}",
		    "value", v, "unit", "conns"));
	json_object_set_new(env, "axm_monitor", axm);
	json_object_set_new(env, "axm_options", json_object());
	json_object_set_new(env, "axm_actions", json_array());
}

/* One instance object in `pm2 jlist`'s shape (SPEC §3). */
static json_t *
cmd_info_pm2(json_t *in)
{
	json_t *o, *env, *monit, *v;
	const char *mode;

	mode = json_string_value(json_object_get(in, "exec_mode"));
	o = json_object();
	env = json_object();
	monit = json_object();

	cmd_info_copy(o, "pid", in, "pid");
	cmd_info_copy(o, "name", in, "name");
	cmd_info_copy(o, "pm_id", in, "id");
	json_object_set_new(monit, "memory", json_integer(
	    (json_int_t)json_number_value(json_object_get(in, "memory"))));
	json_object_set_new(monit, "cpu",
	    json_real(json_number_value(json_object_get(in, "cpu"))));
	json_object_set_new(o, "monit", monit);

	cmd_info_copy(env, "status", in, "status");
	cmd_info_copy(env, "restart_time", in, "restarts");
	cmd_info_copy(env, "unstable_restarts", in, "unstable_restarts");
	cmd_info_copy(env, "pm_uptime", in, "started_at");
	cmd_info_copy(env, "created_at", in, "created_at");
	cmd_info_copy(env, "exit_code", in, "exit_code");
	cmd_info_copy(env, "instances", in, "instances");
	json_object_set_new(env, "exec_mode", json_string(
	    mode != NULL && strcmp(mode, "cluster") == 0 ?
	    "cluster_mode" : "fork_mode"));
	cmd_info_copy(env, "pm_id", in, "id");
	cmd_info_copy(env, "name", in, "name");
	cmd_info_copy(env, "NODE_APP_INSTANCE", in, "instance");
	v = json_object_get(in, "connections");
	if (v != NULL && !json_is_null(v))
		json_object_set(env, "connections", v);
	cmd_info_copy(env, "pm_out_log_path", in, "out_file");
	cmd_info_copy(env, "pm_err_log_path", in, "error_file");
	cmd_info_copy(env, "autorestart", in, "autorestart");
	cmd_info_pm2_extra(o, env, in);
	json_object_set_new(o, "pm2_env", env);
	return o;
}

/* jlist, and prettylist (the same, indented as pm2 prints it). */
static int
cmd_info_pm2_list(struct ctl *ctl, int argc, char **argv, int pretty)
{
	json_t *args, *data, *out, *in;
	size_t i;
	int rc;

	if (cmd_info_operands(ctl, argc, argv, 0, 0) == -1)
		return EXIT_USAGE;
	if (ctl->json) {
		if ((rc = client_call(ctl, "list", NULL, &data)) != 0)
			return rc;
		status_json_print(data);
		json_decref(data);
		return EXIT_OK;
	}
	/* describe: list's fields plus each app's config and masked env. */
	args = json_pack("{ss}", "target", "all");
	if ((rc = client_call(ctl, "describe", args, &data)) != 0)
		return rc;
	out = json_array();
	json_array_foreach(json_object_get(data, "instances"), i, in)
		json_array_append_new(out, cmd_info_pm2(in));
	if (pretty) {
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		fputc('\n', stdout);
	} else
		status_json_print(out);
	json_decref(out);
	json_decref(data);
	return EXIT_OK;
}

static int
cmd_info_jlist(struct ctl *ctl, int argc, char **argv)
{
	return cmd_info_pm2_list(ctl, argc, argv, 0);
}

static int
cmd_info_prettylist(struct ctl *ctl, int argc, char **argv)
{
	return cmd_info_pm2_list(ctl, argc, argv, 1);
}

static void
cmd_info_time(char *buf, size_t len, json_t *ms)
{
	struct tm tm;
	time_t t;

	if (!json_is_integer(ms) || json_integer_value(ms) <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	t = json_integer_value(ms) / 1000;
	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* watch: the folders followed, and the last change that restarted the app. */
static void
cmd_info_watch(struct table *t, json_t *w)
{
	char at[64];
	json_t *last = json_object_get(w, "last_change");

	if (w == NULL)
		return;
	cmd_info_time(at, sizeof at, json_object_get(w, "last_restart_at"));
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "watch");
	table_cell(t, 1, TABLE_PLAIN, "%lld folders%s; last restart: %s%s%s",
	    json_integer_value(json_object_get(w, "dirs")),
	    json_is_true(json_object_get(w, "capped")) ? " (capped)" : "",
	    json_is_string(last) ? json_string_value(last) : "none",
	    json_is_string(last) ? " changed, at " : "",
	    json_is_string(last) ? at : "");
}

/* A JSON value as a cell: strings bare, null as "-", the rest as JSON. */
static void
cmd_info_kv(struct table *t, const char *key, json_t *v)
{
	char *s;

	if (v == NULL)
		return;
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "%s", key);
	if (json_is_string(v))
		table_cell(t, 1, TABLE_PLAIN, "%s", json_string_value(v));
	else if (json_is_null(v))
		table_cell(t, 1, TABLE_PLAIN, "-");
	else {
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		table_cell(t, 1, TABLE_PLAIN, "%s", s != NULL ? s : "?");
		free(s);
	}
}

/*
 * As pm2 describe: only the env that differs from our own environment,
 * since the rest is wsd's inherited environment; `wsctl env ID` shows all.
 */
static void
cmd_info_describe_env(struct ctl *ctl, json_t *in)
{
	struct table *t = table_create(2, NULL);
	const char *key, *mine;
	json_t *v;

	json_object_foreach(json_object_get(in, "env"), key, v) {
		mine = getenv(key);
		if (mine != NULL && json_is_string(v) &&
		    strcmp(mine, json_string_value(v)) == 0)
			continue;
		cmd_info_kv(t, key, v);
	}
	if (table_rows(t) > 0) {
		printf(" Env differing from this shell's (secrets masked; "
		    "all of it: wsctl env %lld)\n",
		    json_integer_value(json_object_get(in, "id")));
		table_write(t, stdout, ctl->colour);
	}
	table_free(t);
}

static void
cmd_info_describe_one(struct ctl *ctl, json_t *in)
{
	static const char *config_keys[] = {
		"script", "args", "cwd", "interpreter", "env_file", "secrets",
		"max_memory_restart", "kill_timeout", "kill_signal",
		"restart_delay", "exp_backoff_restart_delay", "max_restarts",
		"min_uptime", "listen_timeout", "wait_ready", "cron_restart",
		"port", NULL
	};
	struct table *t;
	json_t *cfg;
	const char *st;
	char buf[128];
	size_t i;

	st = json_string_value(json_object_get(in, "status"));
	printf(" Describing instance %lld (%s)\n",
	    json_integer_value(json_object_get(in, "id")),
	    json_string_value(json_object_get(in, "name")) ?: "?");

	t = table_create(2, NULL);
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "status");
	table_cell(t, 1, st != NULL && strcmp(st, "online") == 0 ? TABLE_GREEN :
	    st != NULL && (strcmp(st, "errored") == 0 ||
	    strcmp(st, "stopped") == 0) ? TABLE_RED : TABLE_YELLOW,
	    "%s", st != NULL ? st : "unknown");
	cmd_info_kv(t, "name", json_object_get(in, "name"));
	cmd_info_kv(t, "id", json_object_get(in, "id"));
	cmd_info_kv(t, "instance", json_object_get(in, "instance"));
	cmd_info_kv(t, "pid", json_object_get(in, "pid"));
	cmd_info_kv(t, "exec mode", json_object_get(in, "exec_mode"));
	cmd_info_kv(t, "instances", json_object_get(in, "instances"));
	cmd_info_kv(t, "restarts", json_object_get(in, "restarts"));
	cmd_info_kv(t, "unstable restarts",
	    json_object_get(in, "unstable_restarts"));
	status_uptime(buf, sizeof buf,
	    json_integer_value(json_object_get(in, "uptime_ms")));
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "uptime");
	table_cell(t, 1, TABLE_PLAIN, "%s", buf);
	cmd_info_time(buf, sizeof buf, json_object_get(in, "started_at"));
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "started at");
	table_cell(t, 1, TABLE_PLAIN, "%s", buf);
	cmd_info_time(buf, sizeof buf, json_object_get(in, "created_at"));
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "created at");
	table_cell(t, 1, TABLE_PLAIN, "%s", buf);
	cmd_info_kv(t, "last exit code", json_object_get(in, "exit_code"));
	cmd_info_kv(t, "last exit signal", json_object_get(in, "exit_signal"));
	cmd_info_kv(t, "reason", json_object_get(in, "reason"));
	cmd_info_watch(t, json_object_get(in, "watch"));
	cmd_info_kv(t, "autorestart", json_object_get(in, "autorestart"));
	cmd_info_kv(t, "env mode", json_object_get(in, "env_mode"));
	cmd_info_kv(t, "config file", json_object_get(in, "config_file"));
	cfg = json_object_get(in, "config");
	for (i = 0; config_keys[i] != NULL; i++)
		cmd_info_kv(t, config_keys[i], json_object_get(cfg,
		    config_keys[i]));
	cmd_info_kv(t, "out log path", json_object_get(in, "out_file"));
	cmd_info_kv(t, "error log path", json_object_get(in, "error_file"));
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "cpu");
	table_cell(t, 1, TABLE_PLAIN, "%.1f%%",
	    json_number_value(json_object_get(in, "cpu")));
	status_bytes(buf, sizeof buf,
	    json_number_value(json_object_get(in, "memory")));
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "memory");
	table_cell(t, 1, TABLE_PLAIN, "%s", buf);
	cmd_info_kv(t, "connections", json_object_get(in, "connections"));
	table_write(t, stdout, ctl->colour);
	table_free(t);
	cmd_info_describe_env(ctl, in);
}

static int
cmd_info_describe(struct ctl *ctl, int argc, char **argv)
{
	json_t *args, *data, *in;
	size_t i;
	int rc;

	if (cmd_info_operands(ctl, argc, argv, 1, 1) == -1)
		return EXIT_USAGE;
	args = json_object();
	json_object_set_new(args, "target", json_string(argv[1]));
	if ((rc = client_call(ctl, "describe", args, &data)) != 0)
		return rc;
	if (ctl->json)
		status_json_print(data);
	else {
		json_array_foreach(json_object_get(data, "instances"), i, in) {
			if (i > 0)
				putchar('\n');
			cmd_info_describe_one(ctl, in);
		}
	}
	json_decref(data);
	return EXIT_OK;
}

static int
cmd_info_env(struct ctl *ctl, int argc, char **argv)
{
	json_t *args, *data, *v;
	const char *key, *target = NULL;
	char *s;
	int i, rc, reveal = 0;

	/* --reveal (admin): the values as the app gets them. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reveal") == 0)
			reveal = 1;
		else if (argv[i][0] == '-' || target != NULL) {
			ctl_warn("bad argument: %s", argv[i]);
			return ctl_usage(ctl);
		} else
			target = argv[i];
	}
	if (target == NULL)
		return ctl_usage(ctl);
	args = json_object();
	json_object_set_new(args, "target", json_string(target));
	if (reveal)
		json_object_set_new(args, "reveal", json_true());
	if ((rc = client_call(ctl, "env", args, &data)) != 0)
		return rc;
	if (ctl->json)
		status_json_print(data);
	else {
		json_object_foreach(json_object_get(data, "env"), key, v) {
			if (json_is_string(v))
				printf("%s: %s\n", key, json_string_value(v));
			else {
				s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
				printf("%s: %s\n", key, s != NULL ? s : "?");
				free(s);
			}
		}
	}
	json_decref(data);
	return EXIT_OK;
}

static int
cmd_info_ping(struct ctl *ctl, int argc, char **argv)
{
	json_t *data;
	char up[32];
	int rc;

	if (cmd_info_operands(ctl, argc, argv, 0, 0) == -1)
		return EXIT_USAGE;
	if ((rc = client_call(ctl, "ping", NULL, &data)) != 0)
		return rc;
	if (ctl->json)
		status_json_print(data);
	else {
		status_uptime(up, sizeof up,
		    json_integer_value(json_object_get(data, "uptime_ms")));
		printf("pong: wsd %s pid %lld, up %s, home %s\n",
		    json_string_value(json_object_get(data, "version")) ?: "?",
		    json_integer_value(json_object_get(data, "pid")), up,
		    json_string_value(json_object_get(data, "home")) ?: "?");
	}
	json_decref(data);
	return EXIT_OK;
}

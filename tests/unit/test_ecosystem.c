/* Unit tests of common/ecosystem.c and eco_keys.c: every key, default and message, and the docs. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "eco_keys.h"
#include "ecosystem.h"

static char dir[64];
static char top[4096];	/* the source tree: the docs are checked */
static char file[128];
static long ncpu;

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_ecosystem.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof file, "%s/eco.json", dir);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsetenv("SECRETS_DIR");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
put(const char *name, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(content, f);
	fclose(f);
}

/* Messages with "F" standing for the file and "D" for its folder. */
static char *
expand(const char *m)
{
	static char buf[4][1024];
	static int i;
	char *o = buf[i++ % 4];
	size_t n = 0;

	for (; *m != '\0' && n < 1000; m++) {
		if (*m == '@' && m[1] == 'F') {
			n += snprintf(o + n, 1024 - n, "%s", file);
			m++;
		} else if (*m == '@' && m[1] == 'D') {
			n += snprintf(o + n, 1024 - n, "%s", dir);
			m++;
		} else
			o[n++] = *m;
	}
	o[n] = '\0';
	return o;
}

static void
same(const struct diag *d, const char *const *want, const char *what)
{
	size_t i;

	for (i = 0; want[i] != NULL; i++) {
		if (i >= d->n)
			fail_msg("%s: missing \"%s\"", what, expand(want[i]));
		if (strcmp(d->msgs[i], expand(want[i])) != 0)
			fail_msg("%s %zu:\n want %s\n got  %s", what, i,
			    expand(want[i]), d->msgs[i]);
	}
	if (d->n != i)
		fail_msg("%s: unexpected \"%s\"", what, d->msgs[i]);
}

/* Load `json`; errors and warnings must be exactly the lists given. */
static int
load(const char *json, struct ecosystem *eco, const char *const *errs,
    const char *const *warns)
{
	struct diag e, w;
	int rc;

	put("eco.json", json);
	diag_init(&e);
	diag_init(&w);
	rc = eco_load(file, eco, &e, &w);
	same(&e, errs, "error");
	same(&w, warns, "warning");
	assert_int_equal(rc, e.n > 0 ? -1 : 0);
	diag_free(&e);
	diag_free(&w);
	return rc;
}

static const char *const none[] = { NULL };

#define LOAD_OK(json, eco) load(json, eco, none, none)
#define LOAD_ERR(json, ...) do {					\
	struct ecosystem e_;						\
	static const char *const w_[] = { __VA_ARGS__, NULL };	\
	assert_int_equal(load(json, &e_, w_, none), -1);		\
	eco_free(&e_);							\
} while (0)

static void
test_defaults(void **state)
{
	struct ecosystem eco;
	struct app_config *a;

	(void)state;
	LOAD_OK("{\"apps\":[{\"script\":\"bin/wsworker\"}]}", &eco);
	assert_int_equal(eco.napps, 1);
	a = &eco.apps[0];
	assert_string_equal(a->name, "wsworker");
	assert_string_equal(a->script, "bin/wsworker");
	assert_null(a->args);
	assert_null(a->interpreter);
	assert_string_equal(a->cwd, dir);
	assert_string_equal(eco.dir, dir);
	assert_string_equal(eco.path, file);
	assert_int_equal(a->instances, 1);
	assert_int_equal(a->exec_mode, EXEC_FORK);
	assert_int_equal(a->port, 0);
	assert_int_equal(a->env.n, 0);
	assert_int_equal(a->nmodes, 0);
	assert_int_equal(a->nenv_files, 0);
	assert_int_equal(a->nsecrets, 0);
	assert_true(a->autorestart);
	assert_int_equal(a->max_restarts, 16);
	assert_int_equal(a->min_uptime_ms, 1000);
	assert_int_equal(a->restart_delay_ms, 0);
	assert_int_equal(a->exp_backoff_ms, 0);
	assert_int_equal(a->nstop_exit_codes, 0);
	assert_int_equal(a->kill_timeout_ms, 1600);
	assert_int_equal(a->listen_timeout_ms, 3000);
	assert_false(a->wait_ready);
	assert_int_equal(a->kill_signal, SIGINT);
	assert_int_equal(a->max_memory_restart, 0);
	assert_null(a->out_file);
	assert_null(a->error_file);
	assert_null(a->log_file);
	assert_false(a->merge_logs);
	assert_false(a->time);
	assert_null(a->log_date_format);
	assert_int_equal(a->log_max_size, 10 * 1024 * 1024);
	assert_int_equal(a->log_retain, 10);
	assert_null(a->cron_restart);
	assert_true(a->treekill);
	assert_non_null(a->raw);
	assert_string_equal(json_string_value(json_object_get(a->raw,
	    "script")), "bin/wsworker");
	assert_string_equal(a->origin, expand("@F: apps[0]"));
	eco_free(&eco);
}

static void
test_top_level_forms(void **state)
{
	struct ecosystem eco;

	(void)state;
	LOAD_OK("{\"script\":\"a.js\"}", &eco);
	assert_int_equal(eco.napps, 1);
	assert_string_equal(eco.apps[0].name, "a");
	assert_string_equal(eco.apps[0].interpreter, "node");
	eco_free(&eco);
	LOAD_OK("[{\"script\":\"/srv/x/server.mjs\"},{\"script\":\"b.cjs\","
	    "\"name\":\"bee\"}]", &eco);
	assert_int_equal(eco.napps, 2);
	assert_string_equal(eco.apps[0].name, "server");
	assert_string_equal(eco.apps[1].name, "bee");
	assert_string_equal(eco.apps[1].interpreter, "node");
	eco_free(&eco);
	{
		static const char *const w[] = {
			"@F: deploy: not supported by wsd, ignored",
			"@F: extra: unknown key, ignored", NULL,
		};

		assert_int_equal(load("{\"apps\":[{\"script\":\"s\"}],"
		    "\"deploy\":{},\"extra\":1}", &eco, none, w), 0);
		eco_free(&eco);
	}
	LOAD_ERR("{\"apps\":1}", "@F: apps: expected an array of apps");
	LOAD_ERR("42", "@F: expected {\"apps\": [...]}, an app object or an "
	    "array of apps");
	LOAD_ERR("[1, {\"script\":\"x\"}]",
	    "@F: apps[0]: expected an app object");
}

static void
test_json_syntax(void **state)
{
	struct ecosystem eco;
	struct diag e, w;

	(void)state;
	LOAD_ERR("{\"apps\": [\n  {\"script\": \"x\" 1}\n]}",
	    "@F:2:18: '}' expected");
	LOAD_ERR("", "@F:1:0: unexpected token");
	/* The place and the reason, never the text: it may be a secret. */
	LOAD_ERR("{\"apps\":[{\"script\":\"x\",\n \"env\":{\"K\":"
	    "\"TopSecretValue\\u12\"}}]}", "@F:2:32: invalid escape");
	diag_init(&e);
	diag_init(&w);
	assert_int_equal(eco_load("/nonexistent/eco.json", &eco, &e, &w), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0],
	    "/nonexistent/eco.json: No such file or directory");
	eco_free(&eco);
	diag_free(&e);
	diag_free(&w);
}

static void
test_every_field(void **state)
{
	struct ecosystem eco;
	struct app_config *a;

	(void)state;
	assert_int_equal(mkdir(expand("@D/app"), 0700), 0);
	put(".env", "");
	LOAD_OK("{\"apps\":[{"
	    "\"name\":\"fonana-ws\",\"script\":\"wsworker\","
	    "\"args\":[\"--port\",3002],\"interpreter\":\"none\","
	    "\"cwd\":\"app\",\"instances\":2,\"exec_mode\":\"fork_mode\","
	    "\"port\":3002,\"env\":{\"NODE_ENV\":\"production\","
	    "\"WS_PORT\":3002,\"RATIO\":0.5,\"DEBUG\":false},"
	    "\"env_production\":{\"LOG_LEVEL\":\"info\"},"
	    "\"env_file\":[\".env\",\"/etc/passwd\"],"
	    "\"secrets\":[\"redis_password\",\"nextauth.secret-2\"],"
	    "\"autorestart\":false,\"max_restarts\":3,\"min_uptime\":\"10s\","
	    "\"restart_delay\":250,\"exp_backoff_restart_delay\":100,"
	    "\"stop_exit_codes\":[0,3],\"kill_timeout\":5000,"
	    "\"listen_timeout\":\"2m\",\"wait_ready\":true,"
	    "\"kill_signal\":\"SIGTERM\",\"max_memory_restart\":\"512M\","
	    "\"out_file\":\"logs/ws-out.log\","
	    "\"error_file\":\"/var/log/ws-err.log\","
	    "\"log_file\":\"logs/all.log\",\"merge_logs\":true,\"time\":false,"
	    "\"log_date_format\":\"%Y-%m-%d %H:%M %z\","
	    "\"log_max_size\":\"1G\",\"log_retain\":3,"
	    "\"cron_restart\":\"0 3 * * *\",\"treekill\":false}]}", &eco);
	a = &eco.apps[0];
	assert_string_equal(a->name, "fonana-ws");
	assert_string_equal(a->args[0], "--port");
	assert_string_equal(a->args[1], "3002");
	assert_null(a->args[2]);
	assert_null(a->interpreter);
	assert_string_equal(a->cwd, expand("@D/app"));
	assert_int_equal(a->instances, 2);
	assert_int_equal(a->exec_mode, EXEC_FORK);
	assert_int_equal(a->port, 3002);
	assert_string_equal(env_get(&a->env, "NODE_ENV"), "production");
	assert_string_equal(env_get(&a->env, "WS_PORT"), "3002");
	assert_string_equal(env_get(&a->env, "RATIO"), "0.5");
	assert_string_equal(env_get(&a->env, "DEBUG"), "false");
	assert_int_equal(a->nmodes, 1);
	assert_string_equal(a->modes[0].mode, "production");
	assert_string_equal(env_get(&a->modes[0].env, "LOG_LEVEL"), "info");
	assert_int_equal(a->nenv_files, 2);
	assert_string_equal(a->env_files[0], expand("@D/.env"));
	assert_string_equal(a->env_files[1], "/etc/passwd");
	assert_int_equal(a->nsecrets, 2);
	assert_string_equal(a->secrets[1], "nextauth.secret-2");
	assert_false(a->autorestart);
	assert_int_equal(a->max_restarts, 3);
	assert_int_equal(a->min_uptime_ms, 10000);
	assert_int_equal(a->restart_delay_ms, 250);
	assert_int_equal(a->exp_backoff_ms, 100);
	assert_int_equal(a->nstop_exit_codes, 2);
	assert_int_equal(a->stop_exit_codes[1], 3);
	assert_int_equal(a->kill_timeout_ms, 5000);
	assert_int_equal(a->listen_timeout_ms, 120000);
	assert_true(a->wait_ready);
	assert_int_equal(a->kill_signal, SIGTERM);
	assert_int_equal(a->max_memory_restart, 512 * 1024 * 1024);
	/* Log paths are relative to the app's cwd. */
	assert_string_equal(a->out_file, expand("@D/app/logs/ws-out.log"));
	assert_string_equal(a->error_file, "/var/log/ws-err.log");
	assert_string_equal(a->log_file, expand("@D/app/logs/all.log"));
	assert_true(a->merge_logs);
	assert_false(a->time);
	assert_string_equal(a->log_date_format, "%Y-%m-%d %H:%M %z");
	assert_int_equal(a->log_max_size, 1024ULL * 1024 * 1024);
	assert_int_equal(a->log_retain, 3);
	assert_string_equal(a->cron_restart, "0 3 * * *");
	assert_false(a->treekill);
	eco_free(&eco);
}

static void
test_aliases_and_forms(void **state)
{
	struct ecosystem eco;
	struct app_config *a;

	(void)state;
	assert_int_equal(mkdir(expand("@D/sub"), 0700), 0);
	put("sub/.env", "");
	LOAD_OK("[{\"script\":\"s\",\"args\":\"  -a  b\\tc \","
	    "\"instances\":\"max\",\"output\":\"/o\",\"error\":\"/e\","
	    "\"log\":\"/l\",\"combine_logs\":true,\"env_file\":\"sub/.env\","
	    "\"stop_exit_codes\":0,\"kill_signal\":9,\"exec_interpreter\":"
	    "\"python3\",\"max_memory_restart\":1048576,"
	    "\"cron_restart\":null},"
	    "{\"script\":\"t\",\"instances\":0,\"exec_mode\":\"cluster\"},"
	    "{\"script\":\"u\",\"instances\":-1,\"kill_signal\":\"usr2\"},"
	    "{\"script\":\"v\",\"instances\":4,\"args\":\"\"}]", &eco);
	a = &eco.apps[0];
	assert_string_equal(a->args[0], "-a");
	assert_string_equal(a->args[1], "b");
	assert_string_equal(a->args[2], "c");
	assert_null(a->args[3]);
	assert_int_equal(a->instances, ncpu);
	assert_int_equal(a->exec_mode, ncpu > 1 ? EXEC_CLUSTER : EXEC_FORK);
	assert_string_equal(a->out_file, "/o");
	assert_string_equal(a->error_file, "/e");
	assert_string_equal(a->log_file, "/l");
	assert_true(a->merge_logs);
	assert_string_equal(a->env_files[0], expand("@D/sub/.env"));
	assert_int_equal(a->nstop_exit_codes, 1);
	assert_int_equal(a->stop_exit_codes[0], 0);
	assert_int_equal(a->kill_signal, SIGKILL);
	assert_string_equal(a->interpreter, "python3");
	assert_int_equal(a->max_memory_restart, 1048576);
	assert_null(a->cron_restart);
	assert_int_equal(eco.apps[1].instances, ncpu);
	assert_int_equal(eco.apps[1].exec_mode, EXEC_CLUSTER);
	assert_int_equal(eco.apps[2].instances, ncpu > 1 ? ncpu - 1 : 1);
	assert_int_equal(eco.apps[2].kill_signal, SIGUSR2);
	/* More than one instance: cluster unless fork is given. */
	assert_int_equal(eco.apps[3].exec_mode, EXEC_CLUSTER);
	assert_non_null(eco.apps[3].args);
	assert_null(eco.apps[3].args[0]);
	eco_free(&eco);
}

static void
test_errors_all_at_once(void **state)
{
	(void)state;
	LOAD_ERR("{\"apps\":[{\"script\":\"a\"},{"
	    "\"script\":\"b\",\"instances\":\"many\",\"exec_mode\":\"x\","
	    "\"port\":70000,\"autorestart\":\"yes\",\"max_restarts\":-1,"
	    "\"min_uptime\":\"10 s\",\"restart_delay\":-5,"
	    "\"exp_backoff_restart_delay\":\"fast\","
	    "\"stop_exit_codes\":[0,\"x\"],\"kill_timeout\":true,"
	    "\"listen_timeout\":\"1y\",\"wait_ready\":1,"
	    "\"kill_signal\":\"SIGFOO\",\"max_memory_restart\":\"512X\","
	    "\"out_file\":3,\"error_file\":\"\",\"log_file\":[],"
	    "\"merge_logs\":0,\"time\":\"true\",\"log_date_format\":1,"
	    "\"log_max_size\":\"-1M\",\"log_retain\":1.5,"
	    "\"cron_restart\":\"61 * * * *\",\"treekill\":null,"
	    "\"args\":{},\"cwd\":\"\",\"interpreter\":false,"
	    "\"env\":{\"A\":{\"nested\":1},\"B\":[1],\"C\":null},"
	    "\"env_staging\":[],\"env_file\":[\"\",2],"
	    "\"secrets\":[\"ok\",\"../etc\",\"..\",5],\"name\":\"\"}]}",
	    "@F: apps[1].instances: expected a number or \"max\"",
	    "@F: apps[1].exec_mode: expected \"fork\" or \"cluster\"",
	    "@F: apps[1].port: expected a port number from 1 to 65535",
	    "@F: apps[1].autorestart: expected true or false",
	    "@F: apps[1].max_restarts: expected a whole number ≥ 0",
	    "@F: apps[1].min_uptime: expected a duration: milliseconds, or a "
	    "string such as \"500ms\", \"10s\", \"2m\", \"1h\"",
	    "@F: apps[1].restart_delay: expected a duration: milliseconds, or "
	    "a string such as \"500ms\", \"10s\", \"2m\", \"1h\"",
	    "@F: apps[1].exp_backoff_restart_delay: expected a duration: "
	    "milliseconds, or a string such as \"500ms\", \"10s\", \"2m\", "
	    "\"1h\"",
	    "@F: apps[1].stop_exit_codes: expected an exit code (0-255) or an "
	    "array of them",
	    "@F: apps[1].kill_timeout: expected a duration: milliseconds, or a "
	    "string such as \"500ms\", \"10s\", \"2m\", \"1h\"",
	    "@F: apps[1].listen_timeout: expected a duration: milliseconds, or "
	    "a string such as \"500ms\", \"10s\", \"2m\", \"1h\"",
	    "@F: apps[1].wait_ready: expected true or false",
	    "@F: apps[1].kill_signal: expected a signal: SIGINT, SIGTERM, "
	    "SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGKILL or a number",
	    "@F: apps[1].max_memory_restart: expected a size: bytes, or a "
	    "string such as \"300K\", \"512M\", \"1G\"",
	    "@F: apps[1].out_file: expected a string",
	    "@F: apps[1].error_file: must not be empty",
	    "@F: apps[1].log_file: expected a string",
	    "@F: apps[1].merge_logs: expected true or false",
	    "@F: apps[1].time: expected true or false",
	    "@F: apps[1].log_date_format: expected a string",
	    "@F: apps[1].log_max_size: expected a size: bytes, or a string "
	    "such as \"300K\", \"512M\", \"1G\"",
	    "@F: apps[1].log_retain: expected a whole number ≥ 0",
	    "@F: apps[1].cron_restart: minute field: value out of range in "
	    "\"61\"",
	    "@F: apps[1].args: expected a string or an array of strings",
	    "@F: apps[1].cwd: must not be empty",
	    "@F: apps[1].interpreter: expected a string",
	    "@F: apps[1].env.C: expected a string, number or boolean",
	    "@F: apps[1].env_staging: expected an object of variables",
	    "@F: apps[1].env_file[0]: expected a path",
	    "@F: apps[1].env_file[1]: expected a path",
	    "@F: apps[1].secrets[1]: expected a file name of letters, digits, "
	    "'_', '.' or '-'",
	    "@F: apps[1].secrets[2]: expected a file name of letters, digits, "
	    "'_', '.' or '-'",
	    "@F: apps[1].secrets[3]: expected a file name of letters, digits, "
	    "'_', '.' or '-'",
	    "@F: apps[1].name: must not be empty");
}

static void
test_names(void **state)
{
	(void)state;
	LOAD_ERR("[{\"name\":\"a\",\"script\":\"x\"},{\"script\":\"b\"},"
	    "{\"name\":\"a\",\"script\":\"y\"},{\"script\":\"/srv/b.js\"}]",
	    "@F: apps[2].name: \"a\" is already used by apps[0]",
	    "@F: apps[3].name: \"b\" is already used by apps[1]");
	LOAD_ERR("[{\"name\":\"123\",\"script\":\"x\"}]",
	    "@F: apps[0].name: must not be a number (ids are numbers)");
	LOAD_ERR("[{\"name\":\"all\",\"script\":\"x\"}]",
	    "@F: apps[0].name: \"all\" is reserved");
	LOAD_ERR("[{\"name\":\"a/b\",\"script\":\"x\"}]",
	    "@F: apps[0].name: must not contain '/'");
	LOAD_ERR("[{\"name\":\"x\"}]",
	    "@F: apps[0].script: missing (the program to run)");
	LOAD_ERR("[{\"script\":null}]",
	    "@F: apps[0].script: missing (the program to run)");
	LOAD_ERR("[{\"script\":\"\"}]", "@F: apps[0].script: must not be empty");
	LOAD_ERR("[{\"script\":\"s\",\"instances\":2000}]",
	    "@F: apps[0].instances: at most 1024");
	LOAD_ERR("[{\"script\":\"s\",\"instances\":1.5}]",
	    "@F: apps[0].instances: expected a number or \"max\"");
	LOAD_ERR("[{\"script\":\"s\",\"env\":{\"\":\"x\",\"A=B\":1}}]",
	    "@F: apps[0].env.: not a valid variable name",
	    "@F: apps[0].env.A=B: not a valid variable name");
	LOAD_ERR("[{\"script\":\"s\",\"cron_restart\":\"* * *\"}]",
	    "@F: apps[0].cron_restart: expected 5 fields (minute hour day "
	    "month weekday)");
}

/* A missing env_file is listed with the other errors of a dry run. */
static void
test_missing_env_file(void **state)
{
	(void)state;
	put("present.env", "A=1\n");
	LOAD_ERR("[{\"script\":\"s\",\"instances\":\"lots\","
	    "\"env_file\":[\"present.env\",\"absent.env\"]}]",
	    "@F: apps[0].instances: expected a number or \"max\"",
	    "@F: apps[0].env_file: @D/absent.env: No such file or directory");
}

/* args and node_args: a string is split as a shell splits words. */
static void
test_words(void **state)
{
	struct ecosystem eco;
	static const char *const want[] = { "a", "b c", "d\"e", "f g", "",
	    "h'i", "--x=y z", NULL };
	char **w;
	size_t i;

	(void)state;
	assert_int_equal(LOAD_OK("[{\"script\":\"s\",\"args\":"
	    "\" a  'b c' \\\"d\\\\\\\"e\\\" f\\\\ g '' \\\"h'i\\\" --x=\\\"y z\\\"\","
	    "\"interpreter\":\"node\",\"interpreter_args\":[\"--a b\",3]}]",
	    &eco), 0);
	w = eco.apps[0].args;
	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(w[i]);
		assert_string_equal(w[i], want[i]);
	}
	assert_null(w[i]);
	w = eco.apps[0].node_args;	/* an array is taken as is */
	assert_string_equal(w[0], "--a b");
	assert_string_equal(w[1], "3");
	assert_null(w[2]);
	eco_free(&eco);
	LOAD_ERR("[{\"script\":\"s\",\"args\":\"a 'b\"}]",
	    "@F: apps[0].args: an unclosed '");
	LOAD_ERR("[{\"script\":\"s\",\"node_args\":\"a \\\\\"}]",
	    "@F: apps[0].node_args: a backslash at the end");
	LOAD_ERR("[{\"script\":\"s\",\"args\":[\"a\",{}]}]",
	    "@F: apps[0].args: expected a string or an array of strings");
}

/* PM2: time stamps lines YYYY-MM-DDTHH:mm:ss, in place of log_date_format. */
static void
test_time_format(void **state)
{
	struct ecosystem eco;
	static const char *const w[] = {
		"@F: apps[1].log_date_format: replaced by "
		    "\"YYYY-MM-DDTHH:mm:ss\" because time is true, as PM2 "
		    "replaces it: remove time to stamp lines as \"HH:mm Z\"",
		NULL,
	};

	(void)state;
	assert_int_equal(load("[{\"script\":\"s\",\"time\":true},"
	    "{\"script\":\"t\",\"time\":true,\"log_date_format\":"
	    "\"HH:mm Z\"}]", &eco, none, w), 0);
	assert_string_equal(eco.apps[0].log_date_format,
	    "YYYY-MM-DDTHH:mm:ss");
	assert_string_equal(eco.apps[1].log_date_format,
	    "YYYY-MM-DDTHH:mm:ss");
	eco_free(&eco);
}

static void
test_unknown_keys(void **state)
{
	struct ecosystem eco;
	static const char *const w[] = {
		"@F: apps[0].watch_options: not supported by wsd, ignored",
		"@F: apps[0].vizion: not supported by wsd, ignored",
		"@F: apps[0].colour: unknown key, ignored",
		NULL,
	};

	(void)state;
	assert_int_equal(load("[{\"script\":\"s\",\"watch_options\":{},"
	    "\"vizion\":true,\"colour\":\"red\"}]", &eco, none, w), 0);
	assert_int_equal(eco.napps, 1);
	eco_free(&eco);
}

static void
test_resolve_env(void **state)
{
	struct ecosystem eco;
	struct env base, out;
	struct diag e, w;
	char sec[256];

	(void)state;
	put(".env", "A=file1\nB=file1\nC=file1\nD=file1\nE=file1\n");
	put("second.env", "B=file2\nC=file2\nDATABASE_URL=postgres://u:pw@h/db\n");
	snprintf(sec, sizeof sec, "%s/secrets", dir);
	assert_int_equal(mkdir(sec, 0700), 0);
	put("secrets/redis_password", "from-secret\n");
	chmod(expand("@D/secrets/redis_password"), 0600);
	put("token", "tok\n");
	chmod(expand("@D/token"), 0600);
	LOAD_OK("{\"apps\":[{\"script\":\"s\","
	    "\"env_file\":[\".env\",\"second.env\"],"
	    "\"env\":{\"C\":\"env\",\"D\":\"env\",\"API_TOKEN_FILE\":\"token\"},"
	    "\"env_production\":{\"D\":\"prod\"},"
	    "\"secrets\":[\"redis_password\",\"absent\"]}]}", &eco);
	env_init(&base);
	env_set(&base, "A", "base", 0);
	env_set(&base, "PATH", "/bin", 0);
	env_set(&base, "E", "base", 0);
	env_set(&base, "ABSENT", "dev-fallback", 0);
	env_set(&base, "SECRETS_DIR", sec, 0);
	diag_init(&e);
	diag_init(&w);

	/* API_TOKEN_FILE is relative: read relative to wsd's cwd. */
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(eco_resolve_env(&eco.apps[0], "production", &base,
	    &out, &e, &w), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(w.n, 0);
	assert_string_equal(env_get(&out, "PATH"), "/bin");
	assert_string_equal(env_get(&out, "A"), "file1");	/* file > base */
	assert_string_equal(env_get(&out, "B"), "file2");	/* later file */
	assert_string_equal(env_get(&out, "C"), "env");	/* env > files */
	assert_string_equal(env_get(&out, "D"), "prod");	/* mode > env */
	assert_string_equal(env_get(&out, "E"), "file1");
	assert_string_equal(env_get(&out, "REDIS_PASSWORD"), "from-secret");
	assert_true(env_is_secret(env_find(&out, "REDIS_PASSWORD")));
	assert_string_equal(env_get(&out, "ABSENT"), "dev-fallback");
	assert_string_equal(env_get(&out, "API_TOKEN"), "tok");
	assert_null(env_get(&out, "API_TOKEN_FILE"));
	env_free(&out);

	/* No mode, or an unknown one: env alone. */
	assert_int_equal(eco_resolve_env(&eco.apps[0], NULL, &base, &out, &e,
	    &w), 0);
	assert_string_equal(env_get(&out, "D"), "env");
	env_free(&out);
	assert_int_equal(eco_resolve_env(&eco.apps[0], "staging", NULL, &out,
	    &e, &w), 0);
	assert_string_equal(env_get(&out, "D"), "env");
	assert_null(env_get(&out, "PATH"));
	env_free(&out);

	/* A missing env_file is an error naming it; others still reported. */
	unlink(expand("@D/second.env"));
	env_set(&base, "API_TOKEN", "both", 0);
	assert_int_equal(eco_resolve_env(&eco.apps[0], NULL, &base, &out, &e,
	    &w), -1);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.msgs[0], expand("@F: apps[0].env_file: "
	    "@D/second.env: No such file or directory"));
	assert_string_equal(e.msgs[1], expand("@F: apps[0]: API_TOKEN and "
	    "API_TOKEN_FILE are both set: use one"));
	assert_int_equal(out.n, 0);
	env_free(&out);

	/* An inherited *_FILE the config does not set is passed through. */
	diag_free(&e);
	diag_init(&e);
	put("second.env", "B=file2\n");
	env_unset(&base, "API_TOKEN");
	env_set(&base, "TF_CLI_CONFIG_FILE", "/nonexistent/.terraformrc", 0);
	assert_int_equal(eco_resolve_env(&eco.apps[0], NULL, &base, &out, &e,
	    &w), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(env_get(&out, "TF_CLI_CONFIG_FILE"),
	    "/nonexistent/.terraformrc");
	assert_null(env_get(&out, "TF_CLI_CONFIG"));
	assert_string_equal(env_get(&out, "API_TOKEN"), "tok");
	env_free(&out);
	diag_free(&e);
	diag_free(&w);
	env_free(&base);
	eco_free(&eco);
	assert_int_equal(chdir("/"), 0);
}

static void
test_copy(void **state)
{
	struct ecosystem eco;
	struct app_config c;

	(void)state;
	put(".env", "");
	LOAD_OK("[{\"name\":\"n\",\"script\":\"s.js\",\"args\":\"a b\","
	    "\"env\":{\"X\":\"1\"},\"env_dev\":{\"Y\":\"2\"},"
	    "\"env_file\":\".env\",\"secrets\":[\"s\"],\"stop_exit_codes\":[4],"
	    "\"out_file\":\"o\",\"cron_restart\":\"@daily\"}]", &eco);
	assert_int_equal(eco_app_copy(&c, &eco.apps[0]), 0);
	eco_free(&eco);	/* the copy owns everything it holds */
	assert_string_equal(c.name, "n");
	assert_string_equal(c.interpreter, "node");
	assert_string_equal(c.args[1], "b");
	assert_string_equal(env_get(&c.env, "X"), "1");
	assert_string_equal(env_get(&c.modes[0].env, "Y"), "2");
	assert_string_equal(c.env_files[0], expand("@D/.env"));
	assert_string_equal(c.secrets[0], "s");
	assert_int_equal(c.stop_exit_codes[0], 4);
	assert_string_equal(c.out_file, expand("@D/o"));
	assert_string_equal(c.cron_restart, "@daily");
	assert_string_equal(c.origin, expand("@F: apps[0]"));
	assert_string_equal(json_string_value(json_object_get(c.raw, "name")),
	    "n");
	eco_app_free(&c);
}

/* watch: true, a path or paths (an empty list: cwd), false; ignore_watch. */
static void
test_watch(void **state)
{
	struct ecosystem eco;
	struct app_config c;

	(void)state;
	LOAD_OK("[{\"name\":\"a\",\"script\":\"s\",\"watch\":true},"
	    "{\"name\":\"b\",\"script\":\"s\",\"watch\":\"src\","
	    "\"ignore_watch\":\"*.log\",\"watch_delay\":\"1s\"},"
	    "{\"name\":\"c\",\"script\":\"s\",\"watch\":[\"x\",\"y/z\"],"
	    "\"ignore_watch\":[\"node_modules\",\"\\\\.git\"]},"
	    "{\"name\":\"d\",\"script\":\"s\",\"watch\":[]},"
	    "{\"name\":\"e\",\"script\":\"s\",\"watch\":false}]", &eco);
	assert_true(eco.apps[0].watch);
	assert_int_equal(eco.apps[0].nwatch_paths, 0);
	assert_false(eco.apps[0].ignore_watch_set);
	assert_int_equal(eco.apps[0].watch_delay_ms, 0);
	assert_string_equal(eco.apps[1].watch_paths[0], "src");
	assert_string_equal(eco.apps[1].ignore_watch[0], "*.log");
	assert_true(eco.apps[1].ignore_watch_set);
	assert_int_equal(eco.apps[1].watch_delay_ms, 1000);
	assert_int_equal(eco.apps[2].nwatch_paths, 2);
	assert_string_equal(eco.apps[2].watch_paths[1], "y/z");
	assert_string_equal(eco.apps[2].ignore_watch[1], "\\.git");
	assert_true(eco.apps[3].watch);
	assert_int_equal(eco.apps[3].nwatch_paths, 0);
	assert_false(eco.apps[4].watch);
	/* A copy holds its own lists. */
	assert_int_equal(eco_app_copy(&c, &eco.apps[2]), 0);
	eco_free(&eco);
	assert_string_equal(c.watch_paths[0], "x");
	assert_string_equal(c.ignore_watch[0], "node_modules");
	eco_app_free(&c);
	LOAD_ERR("[{\"script\":\"s\",\"watch\":3,\"ignore_watch\":[\"a\",1]}]",
	    "@F: apps[0].watch: expected a path or an array of paths",
	    "@F: apps[0].ignore_watch: expected a path or an array of paths");
}

/* The same default twice: read from the table, and written in a file. */
static void
test_key_defaults(void **state)
{
	const struct eco_key *k;
	struct ecosystem given, dflt;
	struct app_config *a, *b;
	char json[4096], *v;
	json_t *j;
	size_t i, n, checked = 0;

	(void)state;
	n = snprintf(json, sizeof json, "[{\"script\":\"s\"");
	for (i = 0; (k = eco_keys_at(i)) != NULL; i++) {
		if (k->def == NULL)
			continue;
		assert_true(k->type != ECO_ALIAS && k->type != ECO_IGNORED);
		/* As eco_keys.c reads it: JSON text, else a string. */
		if ((j = json_loads(k->def, JSON_DECODE_ANY, NULL)) == NULL)
			j = json_string(k->def);
		assert_non_null(v = json_dumps(j, JSON_ENCODE_ANY));
		json_decref(j);
		n += snprintf(json + n, sizeof json - n, ",\"%s\":%s", k->key, v);
		free(v);
	}
	snprintf(json + n, sizeof json - n, "}]");
	assert_true(n < sizeof json - 2);
	LOAD_OK(json, &given);
	LOAD_OK("[{\"script\":\"s\"}]", &dflt);
	a = &given.apps[0];
	b = &dflt.apps[0];
	for (i = 0; (k = eco_keys_at(i)) != NULL; i++) {
		if (k->def == NULL)
			continue;
		switch (k->type) {
		case ECO_BOOL:
		case ECO_UINT:
			n = sizeof(int);
			break;
		case ECO_DURATION:
		case ECO_SIZE:
			n = sizeof(uint64_t);
			break;
		default:
			continue;	/* the custom ones: below */
		}
		if (memcmp((char *)a + k->offset, (char *)b + k->offset, n) != 0)
			fail_msg("%s: the default \"%s\" reads otherwise from "
			    "a file", k->key, k->def);
		checked++;
	}
	assert_true(checked >= 10);
	assert_int_equal(a->instances, b->instances);
	assert_int_equal(a->exec_mode, b->exec_mode);
	assert_int_equal(a->kill_signal, b->kill_signal);
	assert_int_equal(a->env.n, b->env.n);
	eco_free(&given);
	eco_free(&dflt);
}

/* A file of the source tree, NUL-terminated. */
static char *
slurp(const char *rel)
{
	char path[4200], *buf;
	FILE *f;
	long len;

	snprintf(path, sizeof path, "%s/%s", top, rel);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: cannot open (WSD_TOP=%s)", path, top);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	assert_non_null(buf = calloc(1, len + 1));
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);
	return buf;
}

/* The next `quoted` token at or after *p, up to `end`; NULL when none. */
static char *
next_code(const char **p, const char *end)
{
	const char *a, *b;

	if ((a = strchr(*p, '`')) == NULL || a >= end ||
	    (b = strchr(a + 1, '`')) == NULL || b >= end)
		return NULL;
	*p = b + 1;
	return strndup(a + 1, b - a - 1);
}

static const struct eco_key *
key_row(const char *key)
{
	const struct eco_key *k;
	size_t i;

	for (i = 0; (k = eco_keys_at(i)) != NULL; i++) {
		if (strcmp(k->key, key) == 0)
			return k;
	}
	return NULL;
}

/*
 * Keys whose documented default is computed elsewhere than the table: by
 * the loader (interpreter from the script's name) or by the supervisor
 * (the log paths under $WSD_HOME).
 */
static const char *const computed[] = { "interpreter", "out_file",
    "error_file" };

static int
is_computed(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof computed / sizeof computed[0]; i++) {
		if (strcmp(key, computed[i]) == 0)
			return 1;
	}
	return 0;
}

/* One row of the "App keys" table: `key` (aliases `a`, `b`) | default | … */
static void
check_doc_row(const char *line, const char *eol, int *seen)
{
	const char *p = line, *cell2, *cell3;
	const struct eco_key *k, *al;
	char *key, *name, *lit;

	cell2 = strchr(line + 1, '|');
	assert_non_null(cell2);
	cell3 = strchr(cell2 + 1, '|');
	assert_true(cell3 != NULL && cell3 < eol);
	assert_non_null(key = next_code(&p, cell2));
	if ((k = key_row(key)) == NULL || k->type == ECO_ALIAS ||
	    k->type == ECO_IGNORED)
		fail_msg("docs/ecosystem.md lists `%s`, the table has no such "
		    "key", key);
	seen[k - eco_keys_at(0)] = 1;
	while ((name = next_code(&p, cell2)) != NULL) {
		al = key_row(name);
		if (al == NULL || al->type != ECO_ALIAS ||
		    strcmp(al->alias, key) != 0)
			fail_msg("docs: `%s` is documented as an alias of `%s`",
			    name, key);
		seen[al - eco_keys_at(0)] = 1;
		free(name);
	}
	p = cell2 + 1;
	while (*p == ' ')
		p++;
	if (*p == '`' && !is_computed(key)) {
		lit = next_code(&p, cell3);
		if (k->def == NULL || strcmp(k->def, lit) != 0)
			fail_msg("`%s`: docs say the default is `%s`, the table "
			    "%s%s%s", key, lit, k->def ? "\"" : "",
			    k->def ? k->def : "has none", k->def ? "\"" : "");
		free(lit);
	} else if (k->def != NULL)
		fail_msg("`%s`: the table's default \"%s\" is not in the docs",
		    key, k->def);
	free(key);
}

/* docs/ecosystem.md: every key, alias and default; the ignored keys. */
static void
test_docs_keys(void **state)
{
	const struct eco_key *k;
	char *doc, *sect, *end, *eol, *name;
	const char *p;
	int seen[256] = { 0 };
	size_t i;

	(void)state;
	doc = slurp("docs/ecosystem.md");
	assert_non_null(sect = strstr(doc, "\n## App keys\n"));
	end = strstr(sect + 1, "\n## ");
	assert_non_null(end);
	for (p = sect; p < end && (p = strstr(p, "\n| `")) != NULL &&
	    p < end; p = eol) {
		eol = strchr(p + 1, '\n');
		check_doc_row(p + 1, eol, seen);
	}
	/* "…get `not supported by wsd, ignored`; these are `watch_options`, …" */
	assert_non_null(p = strstr(doc, "these are `"));
	end = strstr(p, ".\n");
	p += strlen("these are ");
	while ((name = next_code(&p, end)) != NULL) {
		k = key_row(name);
		if (k == NULL || k->type != ECO_IGNORED)
			fail_msg("docs: `%s` is listed as ignored, the table "
			    "does not ignore it", name);
		seen[k - eco_keys_at(0)] = 1;
		free(name);
	}
	for (i = 0; (k = eco_keys_at(i)) != NULL; i++) {
		assert_true(i < sizeof seen / sizeof seen[0]);
		if (!seen[i])
			fail_msg("`%s` is not in docs/ecosystem.md", k->key);
	}
	free(doc);
}

/* wsd-ecosystem(5): `.BR kill_timeout " (1600)"` agrees with the table. */
static void
test_man_defaults(void **state)
{
	const struct eco_key *k;
	char *man, pat[128];
	const char *p, *v;
	size_t i, len;

	(void)state;
	man = slurp("man/wsd-ecosystem.5");
	for (i = 0; (k = eco_keys_at(i)) != NULL; i++) {
		snprintf(pat, sizeof pat, " %s \" (", k->key);
		if ((p = strstr(man, pat)) == NULL) {
			if (k->def != NULL && k->type != ECO_CUSTOM)
				fail_msg("wsd-ecosystem(5) does not give the "
				    "default of %s (%s)", k->key, k->def);
			continue;
		}
		v = p + strlen(pat);
		len = strcspn(v, ")\n");
		if (k->def == NULL || strlen(k->def) != len ||
		    strncmp(v, k->def, len) != 0)
			fail_msg("wsd-ecosystem(5): %s (%.*s), the table: %s",
			    k->key, (int)len, v, k->def ? k->def : "none");
	}
	free(man);
}

int
main(void)
{
	const char *t = getenv("WSD_TOP");
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_defaults),
		T(test_top_level_forms),
		T(test_json_syntax),
		T(test_every_field),
		T(test_aliases_and_forms),
		T(test_errors_all_at_once),
		T(test_names),
		T(test_missing_env_file),
		T(test_unknown_keys),
		T(test_time_format),
		T(test_words),
		T(test_resolve_env),
		T(test_copy),
		T(test_watch),
		T(test_key_defaults),
		T(test_docs_keys),
		T(test_man_defaults),
#undef T
	};

	/* Run from the source tree, or told where it is (tests/run.sh). */
	if (t != NULL)
		snprintf(top, sizeof top, "%s", t);
	else if (getcwd(top, sizeof top) == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

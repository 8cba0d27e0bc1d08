/* The keys of an app object: one table row each, read with every error reported. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "cron.h"
#include "eco_format.h"
#include "eco_keys.h"
#include "strv.h"
#include "units.h"

#define ECO_MAX_INSTANCES	1024

static void eco_error(struct eco_ctx *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static char	*eco_number_string(json_t *);

static void
eco_error(struct eco_ctx *ctx, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	diag_add(ctx->errors, "%s: apps[%d].%s: %s", ctx->path, ctx->index,
	    key, m != NULL ? m : "out of memory");
	free(m);
}

/*
 * Value readers, one per row type: NULL, or why the value is refused.  The
 * field is written only when the value is good.
 */

static int
eco_get_int(json_t *v, long long *out)
{
	const char *s;
	char *end;
	double d;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d != floor(d) || fabs(d) > 1e15)
			return -1;
		*out = (long long)d;
		return 0;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (*s == '\0' || isspace((unsigned char)*s))
			return -1;
		errno = 0;
		*out = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
		return 0;
	}
	return -1;
}

static const char *
eco_read_bool(json_t *v, void *field)
{
	if (!json_is_boolean(v))
		return "expected true or false";
	*(int *)field = json_is_true(v);
	return NULL;
}

static const char *
eco_read_uint(json_t *v, void *field)
{
	long long n;

	if (eco_get_int(v, &n) < 0 || n < 0 || n > INT_MAX)
		return "expected a whole number ≥ 0";
	*(int *)field = (int)n;
	return NULL;
}

static const char *
eco_read_duration(json_t *v, void *field)
{
	double d;

	if (json_is_number(v)) {
		d = json_number_value(v);
		if (d >= 0 && d < 1e15) {
			*(uint64_t *)field = (uint64_t)llround(d);
			return NULL;
		}
	} else if (json_is_string(v) &&
	    units_parse_duration(json_string_value(v), field) == 0)
		return NULL;
	return "expected a duration: milliseconds, or a string such as "
	    "\"500ms\", \"10s\", \"2m\", \"1h\"";
}

static const char *
eco_read_size(json_t *v, void *field)
{
	double d;

	if (json_is_number(v)) {
		d = json_number_value(v);
		if (d >= 0 && d < 1e18) {
			*(uint64_t *)field = (uint64_t)d;
			return NULL;
		}
	} else if (json_is_string(v) &&
	    units_parse_size(json_string_value(v), field) == 0)
		return NULL;
	return "expected a size: bytes, or a string such as \"300K\", "
	    "\"512M\", \"1G\"";
}

static const char *
eco_read_string(json_t *v, void *field)
{
	char **out = field, *s;

	if (!json_is_string(v))
		return "expected a string";
	if ((s = strdup(json_string_value(v))) == NULL)
		return strerror(errno);
	free(*out);
	*out = s;
	return NULL;
}

static const char *
eco_read_path(json_t *v, void *field)
{
	if (json_is_string(v) && *json_string_value(v) == '\0')
		return "must not be empty";
	return eco_read_string(v, field);
}

/*
 * A list of words: a string split as a shell would (no expansion), or an
 * array taken as is (numbers as JavaScript prints them).
 */
static const char *
eco_read_words(json_t *v, void *field)
{
	char **words = NULL, ***out = field, *s;
	const char *why = NULL;
	size_t n = 0, i;
	json_t *e;

	if (json_is_string(v)) {
		if (strv_split_shell(&words, &n, json_string_value(v),
		    &why) < 0 && why == NULL)
			why = strerror(ENOMEM);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (json_is_string(e))
				strv_push(&words, &n, json_string_value(e));
			else if (json_is_number(e) &&
			    (s = eco_number_string(e)) != NULL) {
				strv_push(&words, &n, s);
				free(s);
			} else
				why = "expected a string or an array of strings";
		}
	} else
		why = "expected a string or an array of strings";
	if (why == NULL && words == NULL &&
	    (words = calloc(1, sizeof *words)) == NULL)
		why = strerror(ENOMEM);
	if (why != NULL) {
		strv_free(words, n);
		return why;
	}
	strv_free(*out, strv_len(*out));
	*out = words;
	return NULL;
}

/* A variable name the instance gets: instance_var, increment_var. */
static const char *
eco_read_varname(json_t *v, void *field)
{
	const char *s = json_string_value(v);

	if (s == NULL || *s == '\0' || strchr(s, '=') != NULL)
		return "expected a variable name";
	return eco_read_string(v, field);
}

/* uid/user and gid: a name or a number, resolved once every key is read. */
static const char *
eco_read_id(json_t *v, void *field)
{
	char *s;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v)) < 0)
			return strerror(ENOMEM);
		free(*(char **)field);
		*(char **)field = s;
		return NULL;
	}
	if (!json_is_string(v) || *json_string_value(v) == '\0')
		return "expected a name or a number";
	return eco_read_string(v, field);
}

static const char *(*const eco_readers[])(json_t *, void *) = {
	[ECO_BOOL] = eco_read_bool,
	[ECO_UINT] = eco_read_uint,
	[ECO_DURATION] = eco_read_duration,
	[ECO_SIZE] = eco_read_size,
	[ECO_STRING] = eco_read_string,
	[ECO_PATH] = eco_read_path,
	[ECO_VARNAME] = eco_read_varname,
	[ECO_ID] = eco_read_id,
	[ECO_WORDS] = eco_read_words,
};

/* `v` read as `type` into `field`; 0, or -1 with the error reported. */
static int
eco_value(struct eco_ctx *ctx, const char *key, enum eco_type type,
    json_t *v, void *field)
{
	const char *why = eco_readers[type](v, field);

	if (why == NULL)
		return 0;
	eco_error(ctx, key, "%s", why);
	return -1;
}

/* `rel` made absolute against `dir` (no normalisation: the path as meant). */
static char *
eco_abspath(const char *dir, const char *rel)
{
	char *p;

	if (rel[0] == '/')
		return strdup(rel);
	if (strcmp(rel, ".") == 0)
		return strdup(dir);
	if (strncmp(rel, "./", 2) == 0)
		rel += 2;
	if (asprintf(&p, "%s%s%s", dir,
	    dir[strlen(dir) - 1] == '/' ? "" : "/", rel) < 0)
		return NULL;
	return p;
}

/* JavaScript's String(number): the shortest form that reads back. */
static char *
eco_number_string(json_t *v)
{
	char *s = NULL;
	double d;
	int prec;

	if (json_is_integer(v)) {
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v)) < 0)
			return NULL;
		return s;
	}
	d = json_real_value(v);
	if (d == floor(d) && fabs(d) < 1e21) {
		if (asprintf(&s, "%.0f", d) < 0)
			return NULL;
		return s;
	}
	for (prec = 1; prec <= 17; prec++) {
		free(s);
		if (asprintf(&s, "%.*g", prec, d) < 0)
			return NULL;
		if (strtod(s, NULL) == d)
			break;
	}
	return s;
}

/* An env object: values are strings, numbers or booleans. */
static int
eco_env(struct eco_ctx *ctx, const char *key, json_t *v, struct env *out)
{
	const char *k;
	json_t *val;
	char *s, *where;
	int rc = 0;

	if (!json_is_object(v)) {
		eco_error(ctx, key, "expected an object of variables");
		return -1;
	}
	json_object_foreach(v, k, val) {
		if (asprintf(&where, "%s.%s", key, k) < 0)
			return -1;
		if (*k == '\0' || strchr(k, '=') != NULL) {
			eco_error(ctx, where, "not a valid variable name");
			rc = -1;
		} else if (json_is_string(val)) {
			env_set(out, k, json_string_value(val), 0);
		} else if (json_is_number(val)) {
			if ((s = eco_number_string(val)) != NULL)
				env_set(out, k, s, 0);
			free(s);
		} else if (json_is_boolean(val)) {
			env_set(out, k, json_is_true(val) ? "true" : "false",
			    0);
		} else {
			eco_error(ctx, where, "expected a string, number or "
			    "boolean");
			rc = -1;
		}
		free(where);
	}
	return rc;
}

/* The keys that need code of their own: the ECO_CUSTOM rows. */

static void
eco_key_name(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	const char *s;

	if (eco_value(ctx, k, ECO_STRING, v, &a->name) < 0)
		return;
	s = a->name;
	if (*s == '\0')
		eco_error(ctx, k, "must not be empty");
	else if (strspn(s, "0123456789") == strlen(s))
		eco_error(ctx, k, "must not be a number (ids are numbers)");
	else if (strcmp(s, "all") == 0)
		eco_error(ctx, k, "\"all\" is reserved");
	else if (strchr(s, '/') != NULL)
		eco_error(ctx, k, "must not contain '/'");
}

static void
eco_key_instances(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	long long n;
	long cpus;

	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	if (json_is_string(v) && strcmp(json_string_value(v), "max") == 0) {
		a->instances = cpus;
		return;
	}
	if (eco_get_int(v, &n) < 0) {
		eco_error(ctx, k, "expected a number or \"max\"");
		return;
	}
	if (n > ECO_MAX_INSTANCES) {
		eco_error(ctx, k, "at most %d", ECO_MAX_INSTANCES);
		return;
	}
	/* PM2: 0 is every CPU, -1 every CPU but one. */
	if (n <= 0)
		n = cpus + n > 1 ? cpus + n : 1;
	a->instances = n;
}

static void
eco_key_exec_mode(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	const char *s;

	if (json_is_string(v)) {
		s = json_string_value(v);
		if (strcmp(s, "fork") == 0 || strcmp(s, "fork_mode") == 0) {
			a->exec_mode = EXEC_FORK;
			return;
		}
		if (strcmp(s, "cluster") == 0 ||
		    strcmp(s, "cluster_mode") == 0) {
			a->exec_mode = EXEC_CLUSTER;
			return;
		}
	}
	eco_error(ctx, k, "expected \"fork\" or \"cluster\"");
}

static void
eco_key_port(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	long long n;

	if (eco_get_int(v, &n) < 0 || n < 1 || n > 65535) {
		eco_error(ctx, k, "expected a port number from 1 to 65535");
		return;
	}
	a->port = n;
}

static void
eco_key_env(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_env(ctx, k, v, &a->env);
}

static void
eco_key_env_mode(struct eco_ctx *ctx, struct app_config *a,
    const char *key, json_t *v)
{
	struct env_mode *m;
	size_t i;

	for (i = 0; i < a->nmodes; i++) {
		if (strcmp(a->modes[i].mode, key + 4) == 0)
			return;	/* jansson objects have unique keys */
	}
	m = realloc(a->modes, (a->nmodes + 1) * sizeof *m);
	if (m == NULL)
		return;
	a->modes = m;
	m = &a->modes[a->nmodes];
	if ((m->mode = strdup(key + 4)) == NULL)
		return;
	env_init(&m->env);
	a->nmodes++;
	eco_env(ctx, key, v, &m->env);
}

static void
eco_key_env_file(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	char **files = NULL, *p, *where;
	struct stat st;
	size_t n = 0, i;
	json_t *e;

	if (json_is_string(v)) {
		if (*json_string_value(v) == '\0') {
			eco_error(ctx, k, "must not be empty");
			return;
		}
		if ((p = eco_abspath(ctx->dir, json_string_value(v))) != NULL)
			strv_push(&files, &n, p);
		free(p);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) ||
			    *json_string_value(e) == '\0') {
				if (asprintf(&where, "%s[%zu]", k, i) >= 0)
					eco_error(ctx, where, "expected a path");
				free(where);
				continue;
			}
			p = eco_abspath(ctx->dir, json_string_value(e));
			if (p != NULL)
				strv_push(&files, &n, p);
			free(p);
		}
	} else {
		eco_error(ctx, k, "expected a path or an array of paths");
		return;
	}
	/* Checked here too, so that a dry run lists it with every other error. */
	for (i = 0; i < n; i++) {
		if (access(files[i], R_OK) == -1)
			eco_error(ctx, k, "%s: %s", files[i], strerror(errno));
		else if (stat(files[i], &st) == 0 && !S_ISREG(st.st_mode))
			eco_error(ctx, k, "%s: not a regular file", files[i]);
	}
	strv_free(a->env_files, a->nenv_files);
	a->env_files = files;
	a->nenv_files = n;
}

static void
eco_key_secrets(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	char **names = NULL, *where;
	const char *s;
	size_t n = 0, i;
	json_t *e;

	if (!json_is_array(v)) {
		eco_error(ctx, k, "expected an array of secret names");
		return;
	}
	json_array_foreach(v, i, e) {
		s = json_is_string(e) ? json_string_value(e) : NULL;
		if (s == NULL || *s == '\0' || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(s) ||
		    strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
			if (asprintf(&where, "%s[%zu]", k, i) >= 0)
				eco_error(ctx, where, "expected a file name of "
				    "letters, digits, '_', '.' or '-'");
			free(where);
			continue;
		}
		strv_push(&names, &n, s);
	}
	strv_free(a->secrets, a->nsecrets);
	a->secrets = names;
	a->nsecrets = n;
}

static void
eco_key_stop_exit_codes(struct eco_ctx *ctx, struct app_config *a,
    const char *k, json_t *v)
{
	long long c;
	int *codes;
	size_t n = 0, i, len;
	json_t *e;

	len = json_is_array(v) ? json_array_size(v) : 1;
	if ((codes = calloc(len + 1, sizeof *codes)) == NULL)
		return;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (eco_get_int(e, &c) < 0 || c < 0 || c > 255)
				goto bad;
			codes[n++] = c;
		}
	} else {
		if (eco_get_int(v, &c) < 0 || c < 0 || c > 255)
			goto bad;
		codes[n++] = c;
	}
	free(a->stop_exit_codes);
	a->stop_exit_codes = codes;
	a->nstop_exit_codes = n;
	return;
bad:
	eco_error(ctx, k, "expected an exit code (0-255) or an array of them");
	free(codes);
}

static void
eco_key_kill_signal(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	static const struct {
		const char	*name;
		int		 sig;
	} sigs[] = {
		{ "SIGINT", SIGINT }, { "SIGTERM", SIGTERM },
		{ "SIGQUIT", SIGQUIT }, { "SIGHUP", SIGHUP },
		{ "SIGUSR1", SIGUSR1 }, { "SIGUSR2", SIGUSR2 },
		{ "SIGKILL", SIGKILL },
	};
	const char *s;
	long long n;
	size_t i;

	if (json_is_string(v)) {
		s = json_string_value(v);
		for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
			if (strcasecmp(s, sigs[i].name) == 0 ||
			    strcasecmp(s, sigs[i].name + 3) == 0) {
				a->kill_signal = sigs[i].sig;
				return;
			}
		}
	}
	if (eco_get_int(v, &n) == 0 && n >= 1 && n <= SIGRTMAX) {
		a->kill_signal = n;
		return;
	}
	eco_error(ctx, k, "expected a signal: SIGINT, SIGTERM, SIGQUIT, "
	    "SIGHUP, SIGUSR1, SIGUSR2, SIGKILL or a number");
}

static void
eco_key_cron_restart(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	struct cron c;
	const char *err;
	char *s = NULL;

	if (eco_value(ctx, k, ECO_STRING, v, &s) < 0)
		return;
	if (cron_parse(s, &c, &err) < 0) {
		eco_error(ctx, k, "%s", err);
		free(s);
		return;
	}
	free(a->cron_restart);
	a->cron_restart = s;
}

/* A string or an array of non-empty strings, into *out (replaced). */
static int
eco_strings(struct eco_ctx *ctx, const char *k, json_t *v, char ***out,
    size_t *nout)
{
	char **list = NULL;
	size_t n = 0, i;
	json_t *e;

	if (json_is_string(v) && *json_string_value(v) != '\0')
		strv_push(&list, &n, json_string_value(v));
	else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || *json_string_value(e) == '\0') {
				strv_free(list, n);
				goto bad;
			}
			strv_push(&list, &n, json_string_value(e));
		}
	} else
		goto bad;
	strv_free(*out, *nout);
	*out = list;
	*nout = n;
	return 0;
bad:
	eco_error(ctx, k, "expected a path or an array of paths");
	return -1;
}

/* watch: true/false, or the paths to watch (an empty list: cwd, as PM2). */
static void
eco_key_watch(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	if (json_is_boolean(v)) {
		a->watch = json_is_true(v);
		strv_free(a->watch_paths, a->nwatch_paths);
		a->watch_paths = NULL;
		a->nwatch_paths = 0;
		return;
	}
	if (eco_strings(ctx, k, v, &a->watch_paths, &a->nwatch_paths) == 0)
		a->watch = 1;
}

static void
eco_key_ignore_watch(struct eco_ctx *ctx, struct app_config *a,
    const char *k, json_t *v)
{
	if (eco_strings(ctx, k, v, &a->ignore_watch, &a->nignore_watch) == 0)
		a->ignore_watch_set = 1;
}

#define ECO_AT(field)	offsetof(struct app_config, field)

/*
 * Every key wsd knows, in one list.  Defaults are written as in a file and
 * read by the row's own reader, so a default is always something a user
 * could write; the docs (docs/ecosystem.md, wsd-ecosystem(5)) list the same
 * ones, and test_ecosystem checks that they agree.
 */
static const struct eco_key eco_keys[] = {
	{ "name", ECO_CUSTOM, ECO_AT(name), NULL, eco_key_name, NULL },
	{ "script", ECO_PATH, ECO_AT(script), NULL, NULL, NULL },
	{ "args", ECO_WORDS, ECO_AT(args), NULL, NULL, NULL },
	{ "interpreter", ECO_STRING, ECO_AT(interpreter), NULL, NULL, NULL },
	{ "exec_interpreter", ECO_ALIAS, 0, NULL, NULL, "interpreter" },
	{ "node_args", ECO_WORDS, ECO_AT(node_args), NULL, NULL, NULL },
	{ "interpreter_args", ECO_ALIAS, 0, NULL, NULL, "node_args" },
	{ "cwd", ECO_PATH, ECO_AT(cwd), NULL, NULL, NULL },
	{ "instances", ECO_CUSTOM, ECO_AT(instances), "1", eco_key_instances,
	    NULL },
	{ "exec_mode", ECO_CUSTOM, ECO_AT(exec_mode), "fork", eco_key_exec_mode,
	    NULL },
	{ "port", ECO_CUSTOM, ECO_AT(port), NULL, eco_key_port, NULL },
	{ "instance_var", ECO_VARNAME, ECO_AT(instance_var),
	    "NODE_APP_INSTANCE", NULL, NULL },
	{ "increment_var", ECO_VARNAME, ECO_AT(increment_var), NULL, NULL,
	    NULL },
	{ "uid", ECO_ID, ECO_AT(user), NULL, NULL, NULL },
	{ "user", ECO_ALIAS, 0, NULL, NULL, "uid" },
	{ "gid", ECO_ID, ECO_AT(group), NULL, NULL, NULL },
	{ "env", ECO_CUSTOM, ECO_AT(env), "{}", eco_key_env, NULL },
	{ "env_<mode>", ECO_CUSTOM, ECO_AT(modes), NULL, eco_key_env_mode,
	    NULL },
	{ "env_file", ECO_CUSTOM, ECO_AT(env_files), NULL, eco_key_env_file,
	    NULL },
	{ "secrets", ECO_CUSTOM, ECO_AT(secrets), NULL, eco_key_secrets, NULL },
	{ "autorestart", ECO_BOOL, ECO_AT(autorestart), "true", NULL, NULL },
	{ "max_restarts", ECO_UINT, ECO_AT(max_restarts), "16", NULL, NULL },
	{ "min_uptime", ECO_DURATION, ECO_AT(min_uptime_ms), "1000", NULL,
	    NULL },
	{ "restart_delay", ECO_DURATION, ECO_AT(restart_delay_ms), "0", NULL,
	    NULL },
	{ "exp_backoff_restart_delay", ECO_DURATION, ECO_AT(exp_backoff_ms),
	    NULL, NULL, NULL },
	{ "stop_exit_codes", ECO_CUSTOM, ECO_AT(stop_exit_codes), NULL,
	    eco_key_stop_exit_codes, NULL },
	{ "kill_timeout", ECO_DURATION, ECO_AT(kill_timeout_ms), "1600", NULL,
	    NULL },
	{ "listen_timeout", ECO_DURATION, ECO_AT(listen_timeout_ms), "3000",
	    NULL, NULL },
	{ "wait_ready", ECO_BOOL, ECO_AT(wait_ready), "false", NULL, NULL },
	{ "kill_signal", ECO_CUSTOM, ECO_AT(kill_signal), "SIGINT",
	    eco_key_kill_signal, NULL },
	{ "max_memory_restart", ECO_SIZE, ECO_AT(max_memory_restart), NULL,
	    NULL, NULL },
	{ "out_file", ECO_PATH, ECO_AT(out_file), NULL, NULL, NULL },
	{ "output", ECO_ALIAS, 0, NULL, NULL, "out_file" },
	{ "out", ECO_ALIAS, 0, NULL, NULL, "out_file" },
	{ "error_file", ECO_PATH, ECO_AT(error_file), NULL, NULL, NULL },
	{ "error", ECO_ALIAS, 0, NULL, NULL, "error_file" },
	{ "err", ECO_ALIAS, 0, NULL, NULL, "error_file" },
	{ "log_file", ECO_PATH, ECO_AT(log_file), NULL, NULL, NULL },
	{ "log", ECO_ALIAS, 0, NULL, NULL, "log_file" },
	{ "merge_logs", ECO_BOOL, ECO_AT(merge_logs), "false", NULL, NULL },
	{ "combine_logs", ECO_ALIAS, 0, NULL, NULL, "merge_logs" },
	{ "time", ECO_BOOL, ECO_AT(time), "false", NULL, NULL },
	{ "log_date_format", ECO_STRING, ECO_AT(log_date_format), NULL, NULL,
	    NULL },
	{ "log_max_size", ECO_SIZE, ECO_AT(log_max_size), "10M", NULL, NULL },
	{ "log_retain", ECO_UINT, ECO_AT(log_retain), "10", NULL, NULL },
	{ "cron_restart", ECO_CUSTOM, ECO_AT(cron_restart), NULL,
	    eco_key_cron_restart, NULL },
	{ "treekill", ECO_BOOL, ECO_AT(treekill), "true", NULL, NULL },
	{ "watch", ECO_CUSTOM, ECO_AT(watch), "false", eco_key_watch, NULL },
	{ "ignore_watch", ECO_CUSTOM, ECO_AT(ignore_watch), NULL,
	    eco_key_ignore_watch, NULL },
	{ "watch_delay", ECO_DURATION, ECO_AT(watch_delay_ms), "0", NULL,
	    NULL },

	/* PM2 keys wsd knows and deliberately does not implement. */
	{ "watch_options", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "source_map_support", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "disable_source_map_support", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "vizion", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "pmx", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "automation", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "filter_env", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "namespace", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "log_type", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "pid_file", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "force", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "append_env_to_name", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "autostart", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "shutdown_with_message", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "kill_retry_time", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "disable_logs", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "post_update", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "deep_monitoring", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "trace", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "disable_trace", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "version", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "max_memory_restart_interval", ECO_IGNORED, 0, NULL, NULL, NULL },
	{ "sticky", ECO_IGNORED, 0, NULL, NULL, NULL },
};

#define ECO_NKEYS	(sizeof eco_keys / sizeof eco_keys[0])

const struct eco_key *
eco_keys_at(size_t i)
{
	return i < ECO_NKEYS ? &eco_keys[i] : NULL;
}

/*
 * The row of `key` as written in a file, aliases followed: an exact name
 * first, then a prefix row ("env_<mode>" takes "env_production", not
 * "env_" alone nor "env_file").  NULL for an unknown key.
 */
static const struct eco_key *
eco_key_find(const char *key)
{
	const struct eco_key *k;
	size_t i, len;

	for (i = 0; i < ECO_NKEYS; i++) {
		k = &eco_keys[i];
		if (strcmp(key, k->key) != 0)
			continue;
		return k->type == ECO_ALIAS ? eco_key_find(k->alias) : k;
	}
	for (i = 0; i < ECO_NKEYS; i++) {
		k = &eco_keys[i];
		len = strcspn(k->key, "<");
		if (k->key[len] == '<' && strncmp(key, k->key, len) == 0 &&
		    key[len] != '\0')
			return k;
	}
	return NULL;
}

/* Read `v`, given as `key` (the name messages show), into row `k`'s field. */
static void
eco_key_set(struct eco_ctx *ctx, struct app_config *a,
    const struct eco_key *k, const char *key, json_t *v)
{
	if (k->type == ECO_CUSTOM)
		k->fn(ctx, a, key, v);
	else
		eco_value(ctx, key, k->type, v, (char *)a + k->offset);
}

/*
 * Every row's default, read as the same text in a file would be: JSON
 * ("1600", "true", "{}") or else a string ("10M", "SIGINT").
 */
static void
eco_keys_defaults(struct eco_ctx *ctx, struct app_config *a)
{
	const struct eco_key *k;
	json_t *v;

	memset(a, 0, sizeof *a);
	env_init(&a->env);
	for (k = eco_keys; k < eco_keys + ECO_NKEYS; k++) {
		if (k->def == NULL)
			continue;
		if ((v = json_loads(k->def, JSON_DECODE_ANY, NULL)) == NULL)
			v = json_string(k->def);
		if (v == NULL) {
			eco_error(ctx, k->key, "%s", strerror(ENOMEM));
			continue;
		}
		eco_key_set(ctx, a, k, k->key, v);
		json_decref(v);
	}
}

/* The default name: PM2's path.basename(script, path.extname(script)). */
static char *
eco_default_name(const char *script)
{
	const char *b, *dot;
	size_t len;

	len = strlen(script);
	while (len > 1 && script[len - 1] == '/')
		len--;
	b = script + len;
	while (b > script && b[-1] != '/')
		b--;
	len = script + len - b;
	dot = NULL;
	for (size_t i = 1; i < len; i++) {
		if (b[i] == '.')
			dot = b + i;
	}
	if (dot != NULL)
		len = dot - b;
	return strndup(b, len);
}

/* Present and not null: null stands for "unset" in PM2 files. */
static int
eco_given(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return v != NULL && !json_is_null(v);
}

/*
 * How the script runs.  PM2 runs a script with a space in it as a command
 * line, `bash -c SCRIPT` (sh without bash), in place of its args; wsd does
 * the same unless a file of that name exists.  Otherwise the interpreter:
 * none when "none", node for a Node script unless one is given.
 */
static void
eco_keys_command(struct eco_ctx *ctx, json_t *obj, struct app_config *a)
{
	char *p = NULL;
	int given = eco_given(obj, "interpreter") ||
	    eco_given(obj, "exec_interpreter");

	if (a->script != NULL && strchr(a->script, ' ') != NULL &&
	    a->cwd != NULL && (p = eco_abspath(a->cwd, a->script)) != NULL &&
	    access(p, F_OK) == -1) {
		a->shell = 1;
		if (a->interpreter != NULL &&
		    strcmp(a->interpreter, "none") != 0)
			eco_error(ctx, "interpreter", "\"%s\" with a command "
			    "line as script: PM2 runs a script with spaces as "
			    "bash -c SCRIPT, not with an interpreter; write the "
			    "interpreter in script or drop interpreter",
			    a->interpreter);
		if (a->args != NULL && a->args[0] != NULL)
			diag_add(ctx->warnings, "%s: apps[%d].args: ignored: a "
			    "script with spaces is a command line, run as bash "
			    "-c SCRIPT as PM2 runs it, and PM2 drops args too: "
			    "write the arguments in script", ctx->path,
			    ctx->index);
	}
	free(p);
	if (a->interpreter != NULL && strcmp(a->interpreter, "none") == 0) {
		free(a->interpreter);
		a->interpreter = NULL;
	} else if (a->interpreter == NULL && !given && !a->shell &&
	    a->script != NULL && eco_is_node_script(a->script))
		a->interpreter = strdup("node");
	if (a->interpreter == NULL && a->node_args != NULL &&
	    a->node_args[0] != NULL)
		diag_add(ctx->warnings, "%s: apps[%d].node_args: ignored: the "
		    "app runs with no interpreter (%s), and PM2 ignores "
		    "node_args then too: write them in %s", ctx->path,
		    ctx->index, a->shell ? "a command line" : "interpreter none "
		    "or a program", a->shell ? "script" : "args");
}

/* uid/user as a passwd entry: by name, else by number.  NULL: none. */
static struct passwd *
eco_keys_passwd(const char *s)
{
	struct passwd *pw = getpwnam(s);

	if (pw == NULL && strspn(s, "0123456789") == strlen(s))
		pw = getpwuid((uid_t)strtoul(s, NULL, 10));
	return pw;
}

static struct group *
eco_keys_group(const char *s)
{
	struct group *gr = getgrnam(s);

	if (gr == NULL && strspn(s, "0123456789") == strlen(s))
		gr = getgrgid((gid_t)strtoul(s, NULL, 10));
	return gr;
}

/*
 * uid/user (PM2: the same key) and gid, resolved now so that wsd -n names
 * an unknown user, and a wsd that is not root refuses an app it could not
 * start as asked.  The user's entry gives the primary group and HOME.
 */
static void
eco_keys_user(struct eco_ctx *ctx, struct app_config *a)
{
	struct passwd *pw;
	struct group *gr;
	char *name, *home;

	if (a->user == NULL) {
		if (a->group != NULL)
			eco_error(ctx, "gid", "needs uid or user, the user "
			    "the app runs as (PM2 refuses gid alone too)");
		return;
	}
	if ((pw = eco_keys_passwd(a->user)) == NULL) {
		eco_error(ctx, "uid", "no user \"%s\" on this system",
		    a->user);
		return;
	}
	a->uid = pw->pw_uid;
	a->gid = pw->pw_gid;
	name = strdup(pw->pw_name);
	home = strdup(pw->pw_dir);
	if (a->group != NULL) {
		if ((gr = eco_keys_group(a->group)) == NULL)
			eco_error(ctx, "gid", "no group \"%s\" on this "
			    "system", a->group);
		else
			a->gid = gr->gr_gid;
	}
	free(a->user);
	a->user = name;
	free(a->home);
	a->home = home;
	if (geteuid() != 0 && (a->uid != geteuid() || a->gid != getegid()))
		eco_error(ctx, a->group != NULL && a->uid == geteuid() ?
		    "gid" : "uid", "wsd runs as uid %u, not root, so it cannot "
		    "start processes as %s (uid %u, gid %u): run wsd as root "
		    "(the boot service, wsctl startup) or remove uid/user/gid",
		    (unsigned)geteuid(), a->user,
		    (unsigned)a->uid, (unsigned)a->gid);
}

/*
 * PM2 stamps the lines of an app with `time: true` as YYYY-MM-DDTHH:mm:ss,
 * replacing any log_date_format it has: so does wsd, and says so.
 */
static void
eco_keys_time(struct eco_ctx *ctx, struct app_config *a)
{
	static const char pm2_time[] = "YYYY-MM-DDTHH:mm:ss";

	if (!a->time)
		return;
	if (a->log_date_format != NULL &&
	    strcmp(a->log_date_format, pm2_time) != 0)
		diag_add(ctx->warnings, "%s: apps[%d].log_date_format: replaced "
		    "by \"%s\" because time is true, as PM2 replaces it: "
		    "remove time to stamp lines as \"%s\"", ctx->path,
		    ctx->index, pm2_time, a->log_date_format);
	free(a->log_date_format);
	a->log_date_format = strdup(pm2_time);
}

void
eco_keys_read(struct eco_ctx *ctx, json_t *obj, struct app_config *a)
{
	const struct eco_key *k;
	const char *key;
	json_t *v;
	size_t i;
	char *p, **files[3];

	eco_keys_defaults(ctx, a);
	a->raw = json_incref(obj);
	if (asprintf(&a->origin, "%s: apps[%d]", ctx->path, ctx->index) < 0)
		a->origin = NULL;
	json_object_foreach(obj, key, v) {
		if (json_is_null(v))
			continue;	/* PM2 files write null for "unset" */
		if ((k = eco_key_find(key)) != NULL && k->type != ECO_IGNORED)
			eco_key_set(ctx, a, k, key, v);
		else
			diag_add(ctx->warnings, "%s: apps[%d].%s: %s",
			    ctx->path, ctx->index, key, k != NULL ?
			    "not supported by wsd, ignored" :
			    "unknown key, ignored");
	}

	/* What the table cannot say: defaults computed from other keys. */
	if (a->script == NULL && !eco_given(obj, "script"))
		eco_error(ctx, "script", "missing (the program to run)");
	if (a->name == NULL && a->script != NULL && *a->script != '\0')
		a->name = eco_default_name(a->script);

	if (!eco_given(obj, "exec_mode") && a->instances > 1)
		a->exec_mode = EXEC_CLUSTER;

	/* cwd defaults to the config's folder; paths resolve against it. */
	p = eco_abspath(ctx->dir, a->cwd != NULL ? a->cwd : ".");
	free(a->cwd);
	a->cwd = p;
	eco_keys_command(ctx, obj, a);
	eco_keys_user(ctx, a);
	eco_keys_time(ctx, a);
	files[0] = &a->out_file;
	files[1] = &a->error_file;
	files[2] = &a->log_file;
	for (i = 0; i < 3; i++) {
		if (*files[i] == NULL || a->cwd == NULL)
			continue;
		p = eco_abspath(a->cwd, *files[i]);
		free(*files[i]);
		*files[i] = p;
	}
}

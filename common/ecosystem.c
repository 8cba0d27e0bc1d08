/* The ecosystem file: PM2's app schema loaded with every error reported, and each app's environment. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cron.h"
#include "eco_format.h"
#include "eco_pm2.h"
#include "ecosystem.h"
#include "fsutil.h"

#define ECO_MAX_INSTANCES	1024

/* Where a message points: the file and "apps[N]". */
struct eco_ctx {
	const char	*path;
	const char	*dir;
	int		 index;
	struct diag	*errors;
	struct diag	*warnings;
};

static void eco_error(struct eco_ctx *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

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

/* Units. */

/* A non-negative decimal ("512", "1.5") and where it stops. */
static int
eco_number(const char *s, double *v, const char **end)
{
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	*v = strtod(s, NULL);
	*end = p;
	return 0;
}

int
eco_parse_size(const char *s, uint64_t *out)
{
	const char *u;
	double v, mul = 1;

	if (eco_number(s, &v, &u) < 0)
		return -1;
	switch (toupper((unsigned char)*u)) {
	case '\0':
		break;
	case 'K':
		mul = 1024.0;
		u++;
		break;
	case 'M':
		mul = 1024.0 * 1024;
		u++;
		break;
	case 'G':
		mul = 1024.0 * 1024 * 1024;
		u++;
		break;
	case 'B':
		break;
	default:
		return -1;
	}
	/* "512M", "512MB", "512MiB", "100B" */
	if (mul > 1 && strcasecmp(u, "iB") == 0)
		u += 2;
	if (toupper((unsigned char)*u) == 'B')
		u++;
	if (*u != '\0')
		return -1;
	v *= mul;
	if (v >= 18446744073709551615.0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int
eco_parse_duration(const char *s, uint64_t *out)
{
	static const struct {
		const char	*unit;
		double		 ms;
	} units[] = {
		{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	const char *u;
	double v;
	size_t i;

	if (eco_number(s, &v, &u) < 0)
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(u, units[i].unit) == 0) {
			v *= units[i].ms;
			if (v >= 18446744073709551615.0)
				return -1;
			*out = (uint64_t)llround(v);
			return 0;
		}
	}
	return -1;
}

/* Value helpers: each reports its own error and returns -1. */

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

static int
eco_bool(struct eco_ctx *ctx, const char *key, json_t *v, int *out)
{
	if (!json_is_boolean(v)) {
		eco_error(ctx, key, "expected true or false");
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

static int
eco_uint(struct eco_ctx *ctx, const char *key, json_t *v, int *out)
{
	long long n;

	if (eco_get_int(v, &n) < 0 || n < 0 || n > INT_MAX) {
		eco_error(ctx, key, "expected a whole number ≥ 0");
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int
eco_duration(struct eco_ctx *ctx, const char *key, json_t *v, uint64_t *out)
{
	double d;

	if (json_is_number(v)) {
		d = json_number_value(v);
		if (d >= 0 && d < 1e15) {
			*out = (uint64_t)llround(d);
			return 0;
		}
	} else if (json_is_string(v) &&
	    eco_parse_duration(json_string_value(v), out) == 0)
		return 0;
	eco_error(ctx, key, "expected a duration: milliseconds, or a string "
	    "such as \"500ms\", \"10s\", \"2m\", \"1h\"");
	return -1;
}

static int
eco_size(struct eco_ctx *ctx, const char *key, json_t *v, uint64_t *out)
{
	double d;

	if (json_is_number(v)) {
		d = json_number_value(v);
		if (d >= 0 && d < 1e18) {
			*out = (uint64_t)d;
			return 0;
		}
	} else if (json_is_string(v) &&
	    eco_parse_size(json_string_value(v), out) == 0)
		return 0;
	eco_error(ctx, key, "expected a size: bytes, or a string such as "
	    "\"300K\", \"512M\", \"1G\"");
	return -1;
}

static int
eco_string(struct eco_ctx *ctx, const char *key, json_t *v, char **out)
{
	char *s;

	if (!json_is_string(v)) {
		eco_error(ctx, key, "expected a string");
		return -1;
	}
	if ((s = strdup(json_string_value(v))) == NULL) {
		eco_error(ctx, key, "%s", strerror(errno));
		return -1;
	}
	free(*out);
	*out = s;
	return 0;
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

static int
eco_path(struct eco_ctx *ctx, const char *key, json_t *v, char **out)
{
	char *s = NULL;

	if (eco_string(ctx, key, v, &s) < 0)
		return -1;
	if (*s == '\0') {
		eco_error(ctx, key, "must not be empty");
		free(s);
		return -1;
	}
	free(*out);
	*out = s;	/* made absolute once cwd is known */
	return 0;
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

static int
eco_strv_push(char ***v, size_t *n, const char *s)
{
	char **nv, *d;

	if ((d = strdup(s)) == NULL)
		return -1;
	if ((nv = realloc(*v, (*n + 2) * sizeof *nv)) == NULL) {
		free(d);
		return -1;
	}
	nv[(*n)++] = d;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static void
eco_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static size_t
eco_strv_len(char **v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/* The keys, one handler each. */

typedef void (*eco_field_fn)(struct eco_ctx *, struct app_config *,
    const char *, json_t *);

static void
eco_f_name(struct eco_ctx *ctx, struct app_config *a, const char *k, json_t *v)
{
	const char *s;

	if (eco_string(ctx, k, v, &a->name) < 0)
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
eco_f_script(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	if (eco_string(ctx, k, v, &a->script) == 0 && *a->script == '\0')
		eco_error(ctx, k, "must not be empty");
}

static void
eco_f_args(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	char **args = NULL, *copy, *tok, *save, *s;
	size_t n = 0, i;
	json_t *e;

	if (json_is_string(v)) {
		if ((copy = strdup(json_string_value(v))) == NULL)
			return;
		for (tok = strtok_r(copy, " \t\n\r", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t\n\r", &save))
			eco_strv_push(&args, &n, tok);
		free(copy);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (json_is_string(e))
				eco_strv_push(&args, &n, json_string_value(e));
			else if (json_is_number(e)) {
				s = eco_number_string(e);
				if (s != NULL)
					eco_strv_push(&args, &n, s);
				free(s);
			} else {
				eco_error(ctx, k, "expected a string or an "
				    "array of strings");
				eco_strv_free(args, n);
				return;
			}
		}
	} else {
		eco_error(ctx, k, "expected a string or an array of strings");
		return;
	}
	if (args == NULL)
		args = calloc(1, sizeof *args);
	eco_strv_free(a->args, eco_strv_len(a->args));
	a->args = args;
}

static void
eco_f_interpreter(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	char *s = NULL;

	if (eco_string(ctx, k, v, &s) < 0)
		return;
	/* The default is decided after the loop: mark "given". */
	free(a->interpreter);
	a->interpreter = s;
}

static void
eco_f_cwd(struct eco_ctx *ctx, struct app_config *a, const char *k, json_t *v)
{
	eco_path(ctx, k, v, &a->cwd);
}

static void
eco_f_instances(struct eco_ctx *ctx, struct app_config *a, const char *k,
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
eco_f_exec_mode(struct eco_ctx *ctx, struct app_config *a, const char *k,
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
eco_f_port(struct eco_ctx *ctx, struct app_config *a, const char *k, json_t *v)
{
	long long n;

	if (eco_get_int(v, &n) < 0 || n < 1 || n > 65535) {
		eco_error(ctx, k, "expected a port number from 1 to 65535");
		return;
	}
	a->port = n;
}

static void
eco_f_env(struct eco_ctx *ctx, struct app_config *a, const char *k, json_t *v)
{
	eco_env(ctx, k, v, &a->env);
}

static void
eco_f_env_file(struct eco_ctx *ctx, struct app_config *a, const char *k,
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
			eco_strv_push(&files, &n, p);
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
				eco_strv_push(&files, &n, p);
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
	eco_strv_free(a->env_files, a->nenv_files);
	a->env_files = files;
	a->nenv_files = n;
}

static void
eco_f_secrets(struct eco_ctx *ctx, struct app_config *a, const char *k,
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
		eco_strv_push(&names, &n, s);
	}
	eco_strv_free(a->secrets, a->nsecrets);
	a->secrets = names;
	a->nsecrets = n;
}

static void
eco_f_autorestart(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_bool(ctx, k, v, &a->autorestart);
}

static void
eco_f_max_restarts(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_uint(ctx, k, v, &a->max_restarts);
}

static void
eco_f_min_uptime(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_duration(ctx, k, v, &a->min_uptime_ms);
}

static void
eco_f_restart_delay(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_duration(ctx, k, v, &a->restart_delay_ms);
}

static void
eco_f_exp_backoff(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_duration(ctx, k, v, &a->exp_backoff_ms);
}

static void
eco_f_stop_exit_codes(struct eco_ctx *ctx, struct app_config *a,
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
eco_f_kill_timeout(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_duration(ctx, k, v, &a->kill_timeout_ms);
}

static void
eco_f_listen_timeout(struct eco_ctx *ctx, struct app_config *a,
    const char *k, json_t *v)
{
	eco_duration(ctx, k, v, &a->listen_timeout_ms);
}

static void
eco_f_wait_ready(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_bool(ctx, k, v, &a->wait_ready);
}

static void
eco_f_kill_signal(struct eco_ctx *ctx, struct app_config *a, const char *k,
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
eco_f_max_memory(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_size(ctx, k, v, &a->max_memory_restart);
}

static void
eco_f_out_file(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_path(ctx, k, v, &a->out_file);
}

static void
eco_f_error_file(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_path(ctx, k, v, &a->error_file);
}

static void
eco_f_log_file(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_path(ctx, k, v, &a->log_file);
}

static void
eco_f_merge_logs(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_bool(ctx, k, v, &a->merge_logs);
}

static void
eco_f_time(struct eco_ctx *ctx, struct app_config *a, const char *k, json_t *v)
{
	eco_bool(ctx, k, v, &a->time);
}

static void
eco_f_log_date_format(struct eco_ctx *ctx, struct app_config *a,
    const char *k, json_t *v)
{
	eco_string(ctx, k, v, &a->log_date_format);
}

static void
eco_f_log_max_size(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_size(ctx, k, v, &a->log_max_size);
}

static void
eco_f_log_retain(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_uint(ctx, k, v, &a->log_retain);
}

static void
eco_f_cron_restart(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	struct cron c;
	const char *err;
	char *s = NULL;

	if (eco_string(ctx, k, v, &s) < 0)
		return;
	if (cron_parse(s, &c, &err) < 0) {
		eco_error(ctx, k, "%s", err);
		free(s);
		return;
	}
	free(a->cron_restart);
	a->cron_restart = s;
}

static void
eco_f_treekill(struct eco_ctx *ctx, struct app_config *a, const char *k,
    json_t *v)
{
	eco_bool(ctx, k, v, &a->treekill);
}

static const struct {
	const char	*key;
	eco_field_fn	 fn;
} eco_fields[] = {
	{ "name", eco_f_name },
	{ "script", eco_f_script },
	{ "args", eco_f_args },
	{ "interpreter", eco_f_interpreter },
	{ "exec_interpreter", eco_f_interpreter },
	{ "cwd", eco_f_cwd },
	{ "instances", eco_f_instances },
	{ "exec_mode", eco_f_exec_mode },
	{ "port", eco_f_port },
	{ "env", eco_f_env },
	{ "env_file", eco_f_env_file },
	{ "secrets", eco_f_secrets },
	{ "autorestart", eco_f_autorestart },
	{ "max_restarts", eco_f_max_restarts },
	{ "min_uptime", eco_f_min_uptime },
	{ "restart_delay", eco_f_restart_delay },
	{ "exp_backoff_restart_delay", eco_f_exp_backoff },
	{ "stop_exit_codes", eco_f_stop_exit_codes },
	{ "kill_timeout", eco_f_kill_timeout },
	{ "listen_timeout", eco_f_listen_timeout },
	{ "wait_ready", eco_f_wait_ready },
	{ "kill_signal", eco_f_kill_signal },
	{ "max_memory_restart", eco_f_max_memory },
	{ "out_file", eco_f_out_file },
	{ "output", eco_f_out_file },
	{ "out", eco_f_out_file },
	{ "error_file", eco_f_error_file },
	{ "error", eco_f_error_file },
	{ "err", eco_f_error_file },
	{ "log_file", eco_f_log_file },
	{ "log", eco_f_log_file },
	{ "merge_logs", eco_f_merge_logs },
	{ "combine_logs", eco_f_merge_logs },
	{ "time", eco_f_time },
	{ "log_date_format", eco_f_log_date_format },
	{ "log_max_size", eco_f_log_max_size },
	{ "log_retain", eco_f_log_retain },
	{ "cron_restart", eco_f_cron_restart },
	{ "treekill", eco_f_treekill },
};

/* PM2 keys wsd knows and deliberately does not implement. */
static const char *eco_unsupported[] = {
	"watch", "ignore_watch", "watch_options", "watch_delay",
	"source_map_support", "disable_source_map_support", "instance_var",
	"vizion", "node_args", "interpreter_args", "increment_var", "pmx",
	"automation", "filter_env", "namespace", "log_type", "uid", "gid",
	"user", "pid_file", "force", "append_env_to_name", "autostart",
	"shutdown_with_message", "kill_retry_time", "disable_logs",
	"post_update", "deep_monitoring", "trace", "disable_trace",
	"version", "max_memory_restart_interval", "sticky",
};

static void
eco_app_defaults(struct app_config *a)
{
	memset(a, 0, sizeof *a);
	env_init(&a->env);
	a->instances = 1;
	a->exec_mode = EXEC_FORK;
	a->autorestart = 1;
	a->max_restarts = 16;
	a->min_uptime_ms = 1000;
	a->kill_timeout_ms = 1600;
	a->listen_timeout_ms = 3000;
	a->kill_signal = SIGINT;
	a->log_max_size = 10 * 1024 * 1024;
	a->log_retain = 10;
	a->treekill = 1;
}

static void
eco_app_mode(struct eco_ctx *ctx, struct app_config *a, const char *key,
    json_t *v)
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

static int
eco_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Present and not null: null stands for "unset" in PM2 files. */
static int
eco_given(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return v != NULL && !json_is_null(v);
}

static void
eco_load_app(struct eco_ctx *ctx, json_t *obj, struct app_config *a)
{
	const char *key;
	json_t *v;
	size_t i;
	char *p, **files[3];
	int exec_given = 0;

	eco_app_defaults(a);
	a->raw = json_incref(obj);
	if (asprintf(&a->origin, "%s: apps[%d]", ctx->path, ctx->index) < 0)
		a->origin = NULL;
	json_object_foreach(obj, key, v) {
		if (json_is_null(v))
			continue;	/* PM2 files write null for "unset" */
		for (i = 0; i < sizeof eco_fields / sizeof eco_fields[0]; i++) {
			if (strcmp(key, eco_fields[i].key) == 0)
				break;
		}
		if (i < sizeof eco_fields / sizeof eco_fields[0]) {
			if (strcmp(key, "exec_mode") == 0)
				exec_given = 1;
			eco_fields[i].fn(ctx, a, key, v);
			continue;
		}
		if (strncmp(key, "env_", 4) == 0 && key[4] != '\0') {
			eco_app_mode(ctx, a, key, v);
			continue;
		}
		for (i = 0; i < sizeof eco_unsupported /
		    sizeof eco_unsupported[0]; i++) {
			if (strcmp(key, eco_unsupported[i]) == 0)
				break;
		}
		diag_add(ctx->warnings, "%s: apps[%d].%s: %s", ctx->path,
		    ctx->index, key,
		    i < sizeof eco_unsupported / sizeof eco_unsupported[0] ?
		    "not supported by wsd, ignored" : "unknown key, ignored");
	}

	if (a->script == NULL && !eco_given(obj, "script"))
		eco_error(ctx, "script", "missing (the program to run)");
	if (a->name == NULL && a->script != NULL && *a->script != '\0')
		a->name = eco_default_name(a->script);

	if (a->interpreter != NULL && strcmp(a->interpreter, "none") == 0) {
		free(a->interpreter);
		a->interpreter = NULL;
	} else if (a->interpreter == NULL && a->script != NULL &&
	    !eco_given(obj, "interpreter") &&
	    !eco_given(obj, "exec_interpreter") &&
	    (eco_ends_with(a->script, ".js") ||
	    eco_ends_with(a->script, ".mjs") ||
	    eco_ends_with(a->script, ".cjs")))
		a->interpreter = strdup("node");

	if (!exec_given && a->instances > 1)
		a->exec_mode = EXEC_CLUSTER;

	/* cwd defaults to the config's folder; paths resolve against it. */
	p = eco_abspath(ctx->dir, a->cwd != NULL ? a->cwd : ".");
	free(a->cwd);
	a->cwd = p;
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

int
eco_load_json(json_t *doc, const char *path, const char *dir,
    struct ecosystem *out, struct diag *errors, struct diag *warnings)
{
	struct eco_ctx ctx = { path, dir, 0, errors, warnings };
	json_t *apps, *v;
	const char *key;
	size_t before = errors->n, i, j, n;

	memset(out, 0, sizeof *out);
	out->path = strdup(path);
	out->dir = strdup(dir);
	if (json_is_object(doc) && (apps = json_object_get(doc, "apps")) !=
	    NULL) {
		if (!json_is_array(apps)) {
			diag_add(errors, "%s: apps: expected an array of apps",
			    path);
			return -1;
		}
		json_object_foreach(doc, key, v) {
			if (strcmp(key, "apps") == 0)
				continue;
			diag_add(warnings, "%s: %s: %s", path, key,
			    strcmp(key, "deploy") == 0 ?
			    "not supported by wsd, ignored" :
			    "unknown key, ignored");
		}
	} else if (json_is_object(doc) || json_is_array(doc))
		apps = doc;
	else {
		diag_add(errors, "%s: expected {\"apps\": [...]}, an app object "
		    "or an array of apps", path);
		return -1;
	}

	n = json_is_array(apps) ? json_array_size(apps) : 1;
	if (n == 0)
		diag_add(warnings, "%s: apps: no apps", path);
	if ((out->apps = calloc(n + 1, sizeof *out->apps)) == NULL) {
		diag_add(errors, "%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	for (i = 0; i < n; i++) {
		v = json_is_array(apps) ? json_array_get(apps, i) : apps;
		ctx.index = i;
		if (!json_is_object(v)) {
			diag_add(errors, "%s: apps[%zu]: expected an app object",
			    path, i);
			continue;
		}
		eco_load_app(&ctx, v, &out->apps[out->napps]);
		for (j = 0; j < out->napps; j++) {
			const char *a = out->apps[j].name;
			const char *b = out->apps[out->napps].name;

			if (a != NULL && b != NULL && strcmp(a, b) == 0) {
				diag_add(errors, "%s: apps[%zu].name: \"%s\" "
				    "is already used by %s", path, i, b,
				    out->apps[j].origin + strlen(path) + 2);
				break;
			}
		}
		out->napps++;
	}
	return errors->n > before ? -1 : 0;
}

void
eco_json_reason(const json_error_t *jerr, char *buf, size_t len)
{
	const char *near = strstr(jerr->text, " near ");

	snprintf(buf, len, "%.*s", near != NULL ? (int)(near - jerr->text) :
	    (int)strlen(jerr->text), jerr->text);
}

int
eco_load(const char *path, struct ecosystem *out, struct diag *errors,
    struct diag *warnings)
{
	json_error_t jerr;
	json_t *doc;
	char *abs, *dirbuf, *dir, reason[JSON_ERROR_TEXT_LENGTH];
	int rc;

	memset(out, 0, sizeof *out);
	if ((abs = realpath(path, NULL)) == NULL) {
		diag_add(errors, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* JSON, JSON5, YAML or JavaScript, by the name, as PM2 picks. */
	doc = eco_format_load(abs, path, &jerr, errors);
	if (doc == NULL) {
		/* jansson quotes the text near the error: a secret, maybe */
		eco_json_reason(&jerr, reason, sizeof reason);
		if (jerr.text[0] == '\0')
			;	/* the reader has said why */
		else if (jerr.line < 1)
			diag_add(errors, "%s: %s", path, reason);
		else
			diag_add(errors, "%s:%d:%d: %s", path, jerr.line,
			    jerr.column, reason);
		free(abs);
		return -1;
	}
	if ((dirbuf = strdup(abs)) == NULL) {
		json_decref(doc);
		free(abs);
		return -1;
	}
	dir = dirname(dirbuf);
	eco_pm2_normalise(doc, path, warnings);
	rc = eco_load_json(doc, path, dir, out, errors, warnings);
	free(out->path);
	out->path = abs;
	free(dirbuf);
	json_decref(doc);
	return rc;
}

void
eco_app_free(struct app_config *a)
{
	size_t i;

	free(a->name);
	free(a->script);
	eco_strv_free(a->args, eco_strv_len(a->args));
	free(a->interpreter);
	free(a->cwd);
	env_free(&a->env);
	for (i = 0; i < a->nmodes; i++) {
		free(a->modes[i].mode);
		env_free(&a->modes[i].env);
	}
	free(a->modes);
	eco_strv_free(a->env_files, a->nenv_files);
	eco_strv_free(a->secrets, a->nsecrets);
	free(a->stop_exit_codes);
	free(a->out_file);
	free(a->error_file);
	free(a->log_file);
	free(a->log_date_format);
	free(a->cron_restart);
	json_decref(a->raw);
	free(a->origin);
	memset(a, 0, sizeof *a);
}

void
eco_free(struct ecosystem *e)
{
	size_t i;

	for (i = 0; i < e->napps; i++)
		eco_app_free(&e->apps[i]);
	free(e->apps);
	free(e->path);
	free(e->dir);
	memset(e, 0, sizeof *e);
}

static int
eco_dup(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	return (*dst = strdup(src)) == NULL ? -1 : 0;
}

static int
eco_strv_dup(char ***dst, char *const *src, size_t n)
{
	size_t i, got = 0;

	*dst = NULL;
	if (src == NULL)
		return 0;
	if ((*dst = calloc(n + 1, sizeof **dst)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (eco_strv_push(dst, &got, src[i]) < 0)
			return -1;
	}
	return 0;
}

int
eco_app_copy(struct app_config *dst, const struct app_config *src)
{
	size_t i;
	int rc = 0;

	*dst = *src;
	/* Every pointer is replaced below, so a failure frees only copies. */
	dst->name = dst->script = dst->interpreter = dst->cwd = NULL;
	dst->out_file = dst->error_file = dst->log_file = NULL;
	dst->log_date_format = dst->cron_restart = dst->origin = NULL;
	dst->args = dst->env_files = dst->secrets = NULL;
	dst->modes = NULL;
	dst->nmodes = 0;
	dst->stop_exit_codes = NULL;
	env_init(&dst->env);
	dst->raw = json_incref(src->raw);

	rc |= eco_dup(&dst->name, src->name);
	rc |= eco_dup(&dst->script, src->script);
	rc |= eco_dup(&dst->interpreter, src->interpreter);
	rc |= eco_dup(&dst->cwd, src->cwd);
	rc |= eco_dup(&dst->out_file, src->out_file);
	rc |= eco_dup(&dst->error_file, src->error_file);
	rc |= eco_dup(&dst->log_file, src->log_file);
	rc |= eco_dup(&dst->log_date_format, src->log_date_format);
	rc |= eco_dup(&dst->cron_restart, src->cron_restart);
	rc |= eco_dup(&dst->origin, src->origin);
	rc |= eco_strv_dup(&dst->args, src->args, eco_strv_len(src->args));
	rc |= eco_strv_dup(&dst->env_files, src->env_files, src->nenv_files);
	rc |= eco_strv_dup(&dst->secrets, src->secrets, src->nsecrets);
	rc |= env_copy(&dst->env, &src->env);
	if (src->nmodes > 0) {
		dst->modes = calloc(src->nmodes, sizeof *dst->modes);
		if (dst->modes == NULL)
			rc = -1;
		for (i = 0; dst->modes != NULL && i < src->nmodes; i++) {
			rc |= eco_dup(&dst->modes[i].mode, src->modes[i].mode);
			rc |= env_copy(&dst->modes[i].env, &src->modes[i].env);
			dst->nmodes++;
		}
	}
	if (src->stop_exit_codes != NULL) {
		dst->stop_exit_codes = calloc(src->nstop_exit_codes + 1,
		    sizeof *dst->stop_exit_codes);
		if (dst->stop_exit_codes == NULL)
			rc = -1;
		else
			memcpy(dst->stop_exit_codes, src->stop_exit_codes,
			    src->nstop_exit_codes * sizeof *src->stop_exit_codes);
	}
	if (rc != 0) {
		eco_app_free(dst);
		return -1;
	}
	return 0;
}

int
eco_resolve_env(const struct app_config *a, const char *mode,
    const struct env *base, struct env *out, struct diag *errors,
    struct diag *warnings)
{
	struct env file, own, inherited;
	struct diag serr;
	const char *origin = a->origin != NULL ? a->origin : a->name;
	size_t before = errors->n, i;
	char *err;

	/* What the app's own config sets: env_file(s), env, env_<mode>. */
	env_init(&own);
	for (i = 0; i < a->nenv_files; i++) {
		env_init(&file);
		if (envfile_load(a->env_files[i], &file, &err) < 0) {
			diag_add(errors, "%s.env_file: %s", origin,
			    err != NULL ? err : a->env_files[i]);
			free(err);
		} else
			env_merge(&own, &file);
		env_free(&file);
	}
	env_merge(&own, &a->env);
	for (i = 0; mode != NULL && *mode != '\0' && i < a->nmodes; i++) {
		if (strcmp(a->modes[i].mode, mode) == 0)
			env_merge(&own, &a->modes[i].env);
	}

	/*
	 * VAR_FILE indirection is for what the app's config sets: an
	 * inherited *_FILE variable is some other program's path setting
	 * (TF_CLI_CONFIG_FILE, NIX_SSL_CERT_FILE, …), not a secret to
	 * inline, so it is set aside while secrets apply.
	 */
	env_init(out);
	env_init(&inherited);
	for (i = 0; base != NULL && i < base->n; i++) {
		const char *k = base->v[i].key;
		size_t kl = strlen(k);

		if (kl > 5 && strcmp(k + kl - 5, "_FILE") == 0 &&
		    env_get(&own, k) == NULL)
			env_set(&inherited, k, base->v[i].value, 0);
		else
			env_set(out, k, base->v[i].value, base->v[i].secret);
	}
	if (env_merge(out, &own) < 0)
		diag_add(errors, "%s: %s", origin, strerror(ENOMEM));
	env_free(&own);
	diag_init(&serr);
	secrets_apply(out, a->secrets, a->nsecrets, NULL, &serr, warnings);
	for (i = 0; i < serr.n; i++)
		diag_add(errors, "%s: %s", origin, serr.msgs[i]);
	diag_free(&serr);
	env_merge(out, &inherited);
	env_free(&inherited);
	if (errors->n > before) {
		env_free(out);
		return -1;
	}
	return 0;
}

/* The ecosystem file: its shapes, its apps (eco_keys.c) and each app's environment. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eco_format.h"
#include "eco_keys.h"
#include "eco_pm2.h"
#include "ecosystem.h"
#include "strv.h"

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
		eco_keys_read(&ctx, v, &out->apps[out->napps]);
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
	strv_free(a->args, strv_len(a->args));
	free(a->interpreter);
	strv_free(a->node_args, strv_len(a->node_args));
	free(a->instance_var);
	free(a->increment_var);
	free(a->user);
	free(a->group);
	free(a->home);
	free(a->cwd);
	env_free(&a->env);
	for (i = 0; i < a->nmodes; i++) {
		free(a->modes[i].mode);
		env_free(&a->modes[i].env);
	}
	free(a->modes);
	strv_free(a->env_files, a->nenv_files);
	strv_free(a->secrets, a->nsecrets);
	free(a->stop_exit_codes);
	free(a->out_file);
	free(a->error_file);
	free(a->log_file);
	free(a->log_date_format);
	free(a->cron_restart);
	strv_free(a->watch_paths, a->nwatch_paths);
	strv_free(a->ignore_watch, a->nignore_watch);
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
	dst->args = dst->env_files = dst->secrets = dst->node_args = NULL;
	dst->instance_var = dst->increment_var = NULL;
	dst->user = dst->group = dst->home = NULL;
	dst->watch_paths = dst->ignore_watch = NULL;
	dst->modes = NULL;
	dst->nmodes = 0;
	dst->stop_exit_codes = NULL;
	env_init(&dst->env);
	dst->raw = json_incref(src->raw);

	rc |= eco_dup(&dst->name, src->name);
	rc |= eco_dup(&dst->script, src->script);
	rc |= eco_dup(&dst->interpreter, src->interpreter);
	rc |= eco_dup(&dst->cwd, src->cwd);
	rc |= eco_dup(&dst->instance_var, src->instance_var);
	rc |= eco_dup(&dst->increment_var, src->increment_var);
	rc |= eco_dup(&dst->user, src->user);
	rc |= eco_dup(&dst->group, src->group);
	rc |= eco_dup(&dst->home, src->home);
	rc |= strv_dup(&dst->node_args, src->node_args,
	    strv_len(src->node_args));
	rc |= eco_dup(&dst->out_file, src->out_file);
	rc |= eco_dup(&dst->error_file, src->error_file);
	rc |= eco_dup(&dst->log_file, src->log_file);
	rc |= eco_dup(&dst->log_date_format, src->log_date_format);
	rc |= eco_dup(&dst->cron_restart, src->cron_restart);
	rc |= eco_dup(&dst->origin, src->origin);
	rc |= strv_dup(&dst->args, src->args, strv_len(src->args));
	rc |= strv_dup(&dst->env_files, src->env_files, src->nenv_files);
	rc |= strv_dup(&dst->secrets, src->secrets, src->nsecrets);
	rc |= strv_dup(&dst->watch_paths, src->watch_paths, src->nwatch_paths);
	rc |= strv_dup(&dst->ignore_watch, src->ignore_watch,
	    src->nignore_watch);
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

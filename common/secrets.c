/* Secrets in a resolved environment: VAR_FILE indirection and the `secrets` list. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "fsutil.h"

#define SECRETS_DEFAULT_DIR	"/run/secrets"

/*
 * *_FILE variables that name a file a library opens itself, not a secret to
 * inline: turning AWS_WEB_IDENTITY_TOKEN_FILE into AWS_WEB_IDENTITY_TOKEN
 * would break the program that reads it.
 */
static const char *secrets_path_vars[] = {
	"SSL_CERT_FILE",
	"AWS_CONFIG_FILE",
	"AWS_SHARED_CREDENTIALS_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE",
	"COMPOSE_FILE",
	"KUBECONFIG_FILE",
	"GOOGLE_APPLICATION_CREDENTIALS_FILE",
};

/* "PATH: reason", or "VAR_FILE=PATH: reason" when a variable named it. */
static void
secrets_error(struct diag *errors, const char *var, const char *path,
    const char *reason)
{
	if (var != NULL)
		diag_add(errors, "%s=%s: %s", var, path, reason);
	else
		diag_add(errors, "%s: %s", path, reason);
}

/*
 * Read a secret file: 1 with its content (one trailing "\n" or "\r\n"
 * trimmed), 0 when it does not exist and `absent_ok`, -1 with an error.
 */
static int
secrets_read(const char *var, const char *path, int absent_ok, char **out,
    struct diag *errors, struct diag *warnings)
{
	char *buf, why[128];
	size_t len;
	mode_t mode;

	*out = NULL;
	if (fsutil_read_file(path, SECRETS_MAX_SIZE, &buf, &len, &mode, why,
	    sizeof why) < 0) {
		if (errno == ENOENT && absent_ok)
			return 0;
		secrets_error(errors, var, path, why);
		return -1;
	}
	if ((mode & 077) != 0)
		diag_add(warnings, "%s: secret file is readable by other "
		    "users (mode %04o)", path, (unsigned)(mode & 07777));
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
	}
	*out = buf;
	return 1;
}

static void
secrets_both_set(struct diag *errors, const char *var, const char *file_var)
{
	diag_add(errors, "%s and %s are both set: use one", var, file_var);
}

static int
secrets_is_file_var(const char *key)
{
	size_t len = strlen(key), i;

	if (len <= 5 || strcmp(key + len - 5, "_FILE") != 0)
		return 0;
	for (i = 0; i < sizeof secrets_path_vars / sizeof secrets_path_vars[0];
	    i++) {
		if (strcmp(key, secrets_path_vars[i]) == 0)
			return 0;
	}
	return 1;
}

/* redis_password → REDIS_PASSWORD; '-' and '.' become '_' for shells. */
static char *
secrets_var_name(const char *name)
{
	char *v, *p;

	if ((v = strdup(name)) == NULL)
		return NULL;
	for (p = v; *p != '\0'; p++) {
		if (*p == '-' || *p == '.')
			*p = '_';
		else
			*p = toupper((unsigned char)*p);
	}
	return v;
}

static void
secrets_store(struct env *env, const char *key, char *value,
    struct diag *errors)
{
	if (env_set(env, key, value, 1) < 0)
		diag_add(errors, "%s: %s", key, strerror(ENOMEM));
	explicit_bzero(value, strlen(value));
	free(value);
}

int
secrets_apply(struct env *env, char *const *names, size_t nnames,
    const char *secrets_dir, struct diag *errors, struct diag *warnings)
{
	size_t before = errors->n, i, nfiles = 0;
	char **files, *var, *path, *value;
	const char *dir;

	/* Collect first: the loop below changes the list. */
	if ((files = calloc(env->n + 1, sizeof *files)) == NULL) {
		diag_add(errors, "secrets: %s", strerror(ENOMEM));
		return -1;
	}
	for (i = 0; i < env->n; i++) {
		if (secrets_is_file_var(env->v[i].key) &&
		    (files[nfiles] = strdup(env->v[i].key)) != NULL)
			nfiles++;
	}
	for (i = 0; i < nfiles; i++) {
		if ((var = strndup(files[i], strlen(files[i]) - 5)) == NULL) {
			free(files[i]);
			continue;
		}
		if (env_get(env, var) != NULL) {
			secrets_both_set(errors, var, files[i]);
		} else if (*env_get(env, files[i]) == '\0') {
			diag_add(errors, "%s: empty path", files[i]);
		} else if (secrets_read(files[i], env_get(env, files[i]), 0,
		    &value, errors, warnings) == 1) {
			secrets_store(env, var, value, errors);
			env_unset(env, files[i]);
		}
		free(var);
		free(files[i]);
	}
	free(files);

	dir = secrets_dir;
	if (dir == NULL)
		dir = env_get(env, "SECRETS_DIR");
	if (dir == NULL || *dir == '\0')
		dir = getenv("SECRETS_DIR");
	if (dir == NULL || *dir == '\0')
		dir = SECRETS_DEFAULT_DIR;
	for (i = 0; i < nnames; i++) {
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
			continue;
		if ((var = secrets_var_name(names[i])) != NULL &&
		    secrets_read(NULL, path, 1, &value, errors, warnings) == 1)
			secrets_store(env, var, value, errors);
		free(var);
		free(path);
	}
	return errors->n > before ? -1 : 0;
}

/* An empty variable is an unset one, as everywhere the worker reads. */
static const char *
secrets_getenv_value(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

int
secrets_getenv(const char *name, char **out, struct diag *errors,
    struct diag *warnings)
{
	char *file_var, *shrunk;
	const char *v, *path;
	int r;

	*out = NULL;
	if (asprintf(&file_var, "%s_FILE", name) < 0) {
		diag_add(errors, "%s: %s", name, strerror(ENOMEM));
		return -1;
	}
	v = secrets_getenv_value(name);
	path = secrets_getenv_value(file_var);
	if (v != NULL && path != NULL) {
		secrets_both_set(errors, name, file_var);
		r = -1;
	} else if (v != NULL) {
		if ((*out = strdup(v)) == NULL) {
			diag_add(errors, "%s: %s", name, strerror(ENOMEM));
			r = -1;
		} else
			r = 1;
	} else if (path != NULL) {
		r = secrets_read(file_var, path, 0, out, errors, warnings);
		/* The caller keeps it: a copy of its size, not the 1 MiB. */
		if (r == 1 && (shrunk = strdup(*out)) != NULL) {
			explicit_bzero(*out, strlen(*out));
			free(*out);
			*out = shrunk;
		}
	} else
		r = 0;
	free(file_var);
	return r;
}

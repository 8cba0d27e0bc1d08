/* An ordered environment (KEY=value list) and how its values may be shown. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "env.h"

void
env_init(struct env *e)
{
	memset(e, 0, sizeof *e);
}

void
env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->v[i].key);
		if (e->v[i].value != NULL)
			explicit_bzero(e->v[i].value, strlen(e->v[i].value));
		free(e->v[i].value);
	}
	free(e->v);
	memset(e, 0, sizeof *e);
}

int
env_copy(struct env *dst, const struct env *src)
{
	size_t i;

	env_init(dst);
	for (i = 0; i < src->n; i++) {
		if (env_set(dst, src->v[i].key, src->v[i].value,
		    src->v[i].secret) < 0) {
			env_free(dst);
			return -1;
		}
	}
	return 0;
}

static ssize_t
env_index(const struct env *e, const char *key)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		if (strcmp(e->v[i].key, key) == 0)
			return (ssize_t)i;
	}
	return -1;
}

int
env_set(struct env *e, const char *key, const char *value, int secret)
{
	ssize_t i;
	char *nv, *nk;
	struct env_var *v;

	if ((nv = strdup(value != NULL ? value : "")) == NULL)
		return -1;
	if ((i = env_index(e, key)) >= 0) {
		v = &e->v[i];
		explicit_bzero(v->value, strlen(v->value));
		free(v->value);
		v->value = nv;
		v->secret = secret;
		return 0;
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;

		if ((v = realloc(e->v, cap * sizeof *v)) == NULL) {
			free(nv);
			return -1;
		}
		e->v = v;
		e->cap = cap;
	}
	if ((nk = strdup(key)) == NULL) {
		free(nv);
		return -1;
	}
	v = &e->v[e->n++];
	v->key = nk;
	v->value = nv;
	v->secret = secret;
	return 0;
}

const struct env_var *
env_find(const struct env *e, const char *key)
{
	ssize_t i;

	if ((i = env_index(e, key)) < 0)
		return NULL;
	return &e->v[i];
}

const char *
env_get(const struct env *e, const char *key)
{
	const struct env_var *v;

	if ((v = env_find(e, key)) == NULL)
		return NULL;
	return v->value;
}

void
env_unset(struct env *e, const char *key)
{
	ssize_t i;

	if ((i = env_index(e, key)) < 0)
		return;
	free(e->v[i].key);
	explicit_bzero(e->v[i].value, strlen(e->v[i].value));
	free(e->v[i].value);
	memmove(&e->v[i], &e->v[i + 1], (e->n - i - 1) * sizeof e->v[0]);
	e->n--;
}

int
env_merge(struct env *dst, const struct env *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		if (env_set(dst, src->v[i].key, src->v[i].value,
		    src->v[i].secret) < 0)
			return -1;
	}
	return 0;
}

int
env_from_environ(struct env *e, char *const *environ)
{
	const char *eq;
	char *key;
	size_t i;
	int rc;

	for (i = 0; environ != NULL && environ[i] != NULL; i++) {
		/* An entry without '=' (or "=x") is not a variable: skip it. */
		if ((eq = strchr(environ[i], '=')) == NULL || eq == environ[i])
			continue;
		if ((key = strndup(environ[i], eq - environ[i])) == NULL)
			return -1;
		rc = env_set(e, key, eq + 1, 0);
		free(key);
		if (rc < 0)
			return -1;
	}
	return 0;
}

char **
env_to_envp(const struct env *e)
{
	char **envp;
	size_t i;

	if ((envp = calloc(e->n + 1, sizeof *envp)) == NULL)
		return NULL;
	for (i = 0; i < e->n; i++) {
		if (asprintf(&envp[i], "%s=%s", e->v[i].key,
		    e->v[i].value) < 0) {
			envp[i] = NULL;
			env_envp_free(envp);
			return NULL;
		}
	}
	return envp;
}

void
env_envp_free(char **envp)
{
	size_t i;

	if (envp == NULL)
		return;
	for (i = 0; envp[i] != NULL; i++) {
		explicit_bzero(envp[i], strlen(envp[i]));
		free(envp[i]);
	}
	free(envp);
}

/*
 * The one definition of a secret's name, shared by masking (describe, env)
 * and by the dump (dump.json stores no value of such a name).  Matched
 * case-insensitively; a row either anywhere in the name or at its end.
 */
enum env_where {
	ENV_ANYWHERE,
	ENV_SUFFIX,
};

static const struct {
	const char	*word;
	enum env_where	 where;
} env_secret_names[] = {
	{ "SECRET",	ENV_ANYWHERE },	/* NEXTAUTH_SECRET, NEXTAUTH_SECRET_PREVIOUS */
	{ "PASSWORD",	ENV_ANYWHERE },
	{ "PASSWD",	ENV_ANYWHERE },
	{ "TOKEN",	ENV_ANYWHERE },
	{ "API_KEY",	ENV_ANYWHERE },
	{ "PRIVATE_KEY", ENV_ANYWHERE },
	{ "_KEY",	ENV_SUFFIX },	/* STRIPE_KEY, but not KEY_PREFIX */
	{ "CREDENTIAL",	ENV_ANYWHERE },
};

int
env_secret_name(const char *key)
{
	size_t i, kl = strlen(key), wl;

	for (i = 0; i < sizeof env_secret_names / sizeof env_secret_names[0];
	    i++) {
		wl = strlen(env_secret_names[i].word);
		switch (env_secret_names[i].where) {
		case ENV_ANYWHERE:
			if (strcasestr(key, env_secret_names[i].word) != NULL)
				return 1;
			break;
		case ENV_SUFFIX:
			if (kl >= wl && strcasecmp(key + kl - wl,
			    env_secret_names[i].word) == 0)
				return 1;
			break;
		}
	}
	return 0;
}

int
env_is_secret(const struct env_var *v)
{
	return v->secret || env_secret_name(v->key);
}

/*
 * A URL with a password ("redis://:pw@host", "postgres://u:pw@h/db"): the
 * offsets of the password, so that it alone is masked.
 */
static int
env_url_password(const char *s, size_t *start, size_t *end)
{
	const char *p, *auth, *at, *colon, *slash;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (!isalpha((unsigned char)s[0]))
		return 0;
	for (p = s; isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	    *p == '.'; p++)
		;
	if (strncmp(p, "://", 3) != 0)
		return 0;
	auth = p + 3;
	/* The authority ends at the first '/', '?' or '#'. */
	slash = auth + strcspn(auth, "/?#");
	/* The last '@' of the authority: a password may contain '@'. */
	at = NULL;
	for (p = auth; p < slash; p++) {
		if (*p == '@')
			at = p;
	}
	if (at == NULL)
		return 0;
	colon = memchr(auth, ':', at - auth);
	if (colon == NULL || colon + 1 == at)
		return 0;
	*start = colon + 1 - s;
	*end = at - s;
	return 1;
}

/*
 * libpq's other places for a password: a conninfo keyword
 * ("host=db password='x y'") or a URI parameter ("…/app?password=x"):
 * the offsets of the first such value.
 */
static int
env_param_password(const char *s, size_t from, size_t *start, size_t *end)
{
	const char *p, *q;

	for (p = s + from; (p = strcasestr(p, "password=")) != NULL; p++) {
		if (p != s && strchr(" \t?&", p[-1]) == NULL)
			continue;
		q = p + 9;
		*start = q - s;
		if (*q == '\'') {
			for (q++; *q != '\0' && *q != '\''; q++)
				if (*q == '\\' && q[1] != '\0')
					q++;
			if (*q == '\'')
				q++;
		} else {
			q += strcspn(q, " \t&#");
		}
		*end = q - s;
		return *end > *start;
	}
	return 0;
}

int
env_secret_value(const char *key, const char *value)
{
	size_t start, end;

	return env_secret_name(key) ||
	    (value != NULL && (env_url_password(value, &start, &end) ||
	    env_param_password(value, 0, &start, &end)));
}

/* out with [start, end) replaced by ****; out is freed (NULL on ENOMEM). */
static char *
env_mask(char *out, size_t start, size_t end)
{
	char *next;

	if (asprintf(&next, "%.*s****%s", (int)start, out, out + end) < 0)
		next = NULL;
	free(out);
	return next;
}

char *
env_display(const struct env_var *v)
{
	size_t start, end, from = 0;
	char *out;

	if (env_is_secret(v))
		return strdup("****");
	if ((out = strdup(v->value)) == NULL)
		return NULL;
	if (env_url_password(out, &start, &end)) {
		if ((out = env_mask(out, start, end)) == NULL)
			return NULL;
		from = start + 4;
	}
	while (env_param_password(out, from, &start, &end)) {
		if ((out = env_mask(out, start, end)) == NULL)
			return NULL;
		from = start + 4;
	}
	return out;
}

/* PM2's aliases made plain, and the keys whose meaning under wsd differs from PM2's flagged. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eco_format.h"
#include "eco_pm2.h"

struct eco_pm2_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

static void
eco_pm2_put(struct eco_pm2_buf *b, const char *s, size_t n)
{
	size_t cap;
	char *t;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap * 2 : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((t = realloc(b->s, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* JavaScript's Number#toString: the shortest digits that read back. */
static void
eco_pm2_real(struct eco_pm2_buf *b, double d)
{
	char s[64];
	int prec;

	if (!isfinite(d)) {
		eco_pm2_put(b, "null", 4);
		return;
	}
	if (d == floor(d) && fabs(d) < 1e21) {
		snprintf(s, sizeof s, "%.0f", d);
	} else {
		for (prec = 1; prec <= 17; prec++) {
			snprintf(s, sizeof s, "%.*g", prec, d);
			if (strtod(s, NULL) == d)
				break;
		}
	}
	eco_pm2_put(b, s, strlen(s));
}

static void
eco_pm2_dump(struct eco_pm2_buf *b, json_t *v, int depth)
{
	const char *k;
	json_t *e, *ks;
	size_t i;
	char *s;
	int first = 1;

	if (depth > 256) {	/* a YAML alias loop cannot get here; still */
		b->failed = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		eco_pm2_put(b, "{", 1);
		json_object_foreach(v, k, e) {
			if (!first)
				eco_pm2_put(b, ",", 1);
			first = 0;
			ks = json_string(k);
			eco_pm2_dump(b, ks, depth + 1);
			json_decref(ks);
			eco_pm2_put(b, ":", 1);
			eco_pm2_dump(b, e, depth + 1);
		}
		eco_pm2_put(b, "}", 1);
		return;
	case JSON_ARRAY:
		eco_pm2_put(b, "[", 1);
		json_array_foreach(v, i, e) {
			if (i > 0)
				eco_pm2_put(b, ",", 1);
			eco_pm2_dump(b, e, depth + 1);
		}
		eco_pm2_put(b, "]", 1);
		return;
	case JSON_REAL:
		eco_pm2_real(b, json_real_value(v));
		return;
	default:
		if ((s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) ==
		    NULL) {
			b->failed = 1;
			return;
		}
		eco_pm2_put(b, s, strlen(s));
		free(s);
	}
}

char *
eco_pm2_stringify(json_t *v)
{
	struct eco_pm2_buf b = { NULL, 0, 0, 0 };

	eco_pm2_dump(&b, v, 0);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* PM2 hands env values to the child as strings; objects as their JSON. */
static void
eco_pm2_env(json_t *env)
{
	const char *k;
	json_t *v;
	char *s;

	if (!json_is_object(env))
		return;
	json_object_foreach(env, k, v) {
		if (!json_is_object(v) && !json_is_array(v))
			continue;
		if ((s = eco_pm2_stringify(v)) != NULL)
			json_object_set_new(env, k, json_string(s));
		free(s);
	}
}

static int
eco_pm2_is_node(json_t *app)
{
	const char *s = json_string_value(json_object_get(app, "script"));
	const char *in = json_string_value(json_object_get(app, "interpreter"));

	if (in == NULL)
		in = json_string_value(json_object_get(app,
		    "exec_interpreter"));
	if (in != NULL)
		return strcmp(in, "node") == 0 || strstr(in, "/node") != NULL;
	return s != NULL && eco_is_node_script(s);
}

static int
eco_pm2_node_cluster(json_t *app, json_t *v)
{
	const char *m = json_string_value(v);

	return m != NULL && strncmp(m, "cluster", 7) == 0 &&
	    eco_pm2_is_node(app);
}

/* Several instances and no exec_mode: cluster mode, under PM2 and wsd alike. */
static int
eco_pm2_node_instances(json_t *app, json_t *v)
{
	const char *m = json_string_value(json_object_get(app, "exec_mode"));

	if (m != NULL || !eco_pm2_is_node(app))
		return 0;
	if (json_is_integer(v))
		return json_integer_value(v) != 1;
	return json_is_string(v) && strcmp(json_string_value(v), "1") != 0;
}

static int
eco_pm2_given(json_t *app, json_t *v)
{
	(void)app;
	return !json_is_null(v);
}

#define ECO_PM2_USER	"PM2 starts the app with no supplementary groups " \
	"and sets only HOME; wsd gives it the user's supplementary groups " \
	"and sets USER and LOGNAME to the user too"

static const struct {
	const char	*key;
	int		(*applies)(json_t *, json_t *);
	const char	*how;
} eco_pm2_differs[] = {
	{ "exec_mode", eco_pm2_node_cluster, "PM2 shares one port between "
	    "Node instances through Node's cluster module; under wsd each "
	    "instance is its own process and gets the port as a listening "
	    "socket in LISTEN_FDS, so a server that binds the port itself "
	    "fails with EADDRINUSE from the second instance on" },
	{ "instances", eco_pm2_node_instances, "without exec_mode, several "
	    "instances mean cluster mode: PM2 shares one port between Node "
	    "instances through Node's cluster module; under wsd each instance "
	    "gets the port as a listening socket in LISTEN_FDS, so a server "
	    "that binds the port itself fails with EADDRINUSE from the second "
	    "instance on (exec_mode: \"fork\" runs separate processes)" },
	{ "uid", eco_pm2_given, ECO_PM2_USER },
	{ "user", eco_pm2_given, ECO_PM2_USER },
};

static void
eco_pm2_app(json_t *app, const char *path, size_t index,
    struct diag *warnings)
{
	json_t *v;
	const char *k;
	size_t i;

	if (!json_is_object(app))
		return;
	v = json_object_get(app, "script");
	if ((v == NULL || json_is_null(v)) &&
	    (v = json_object_get(app, "cmd")) != NULL) {
		json_object_set(app, "script", v);
		json_object_del(app, "cmd");
	}
	json_object_foreach(app, k, v)
		if (strcmp(k, "env") == 0 || strncmp(k, "env_", 4) == 0)
			eco_pm2_env(v);
	for (i = 0; i < sizeof eco_pm2_differs / sizeof eco_pm2_differs[0];
	    i++) {
		v = json_object_get(app, eco_pm2_differs[i].key);
		if (v != NULL && eco_pm2_differs[i].applies(app, v))
			diag_add(warnings, "%s: apps[%zu].%s: differs from "
			    "PM2: %s", path, index, eco_pm2_differs[i].key,
			    eco_pm2_differs[i].how);
	}
}

void
eco_pm2_normalise(json_t *doc, const char *path, struct diag *warnings)
{
	json_t *apps, *one;
	size_t i;

	if (json_is_object(doc) && json_object_get(doc, "apps") == NULL &&
	    (apps = json_object_get(doc, "pm2")) != NULL) {
		json_object_set(doc, "apps", apps);
		json_object_del(doc, "pm2");
	}
	apps = json_is_object(doc) ? json_object_get(doc, "apps") : NULL;
	if (json_is_object(apps) && (one = json_array()) != NULL) {
		json_array_append(one, apps);
		json_object_set_new(doc, "apps", one);
		apps = one;
	}
	if (apps == NULL)
		apps = doc;	/* a bare app, or an array of them */
	if (json_is_array(apps)) {
		json_array_foreach(apps, i, one)
			eco_pm2_app(one, path, i, warnings);
	} else
		eco_pm2_app(apps, path, 0, warnings);
}

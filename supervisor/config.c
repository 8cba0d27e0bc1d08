/*
 * The one way an ecosystem becomes apps ready for app_add: load it (any
 * format: the front ends of common/eco_format.c all produce the same
 * tree), then resolve each app's environment once (env, env_<mode>,
 * env_file, secrets against wsd's own environment).  Every error and
 * warning is collected, all at once, both for the whole file and for each
 * app, so that each entry point decides what to refuse: wsd -n and a
 * start refuse the file on any error, SIGHUP and resurrect skip the app.
 */
#include <stdlib.h>
#include <string.h>

#include "wsd.h"
#include "xmalloc.h"

static void
config_copy_diag(struct diag *dst, const struct diag *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		diag_add(dst, "%s", src->msgs[i]);
}

/*
 * What needs the app's resolved env: its program found as a start would
 * find it, and an increment_var that is a number.  Errors name the app's
 * place and the key.
 */
static void
config_check(struct config_app *ca)
{
	const struct app_config *a = &ca->cfg;
	const char *origin = a->origin != NULL ? a->origin : a->name, *v;
	char *why, *path, *interp, *end;

	why = spawn_locate(a, &ca->env, &path, &interp);
	if (why != NULL) {
		diag_add(&ca->errors, "%s.%s: %s%s", origin, strncmp(why,
		    "interpreter ", 12) == 0 ? "interpreter" : "script", why,
		    a->shell ? " (a script with spaces is a command line: "
		    "PM2 runs it with bash -c)" : "");
		ca->ok = 0;
	}
	free(why);
	free(path);
	free(interp);
	if (a->increment_var != NULL &&
	    (v = env_get(&ca->env, a->increment_var)) != NULL) {
		(void)strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0') {
			diag_add(&ca->errors, "%s.increment_var: %s is \"%s\", "
			    "not a whole number to add the instance number to",
			    origin, a->increment_var, v);
			ca->ok = 0;
		}
	}
}

/* Take the loaded apps over from `eco` and resolve their envs. */
static int
config_resolve(struct config *c, struct ecosystem *eco,
    const struct config_opts *o)
{
	struct config_app *ca;
	const char *mode;
	size_t i;

	c->nload_warnings = c->warnings.n;
	c->apps = xcalloc(eco->napps + 1, sizeof *c->apps);
	for (i = 0; i < eco->napps; i++) {
		ca = &c->apps[c->napps++];
		ca->cfg = eco->apps[i];
		memset(&eco->apps[i], 0, sizeof eco->apps[i]);
		mode = o->mode_of_cb != NULL ?
		    o->mode_of_cb(ca->cfg.name, o->mode) : o->mode;
		ca->mode = mode != NULL ? xstrdup(mode) : NULL;
		env_init(&ca->env);
		diag_init(&ca->errors);
		diag_init(&ca->warnings);
		ca->ok = eco_resolve_env(&ca->cfg, ca->mode, o->base, &ca->env,
		    &ca->errors, &ca->warnings) == 0;
		if (ca->ok)
			config_check(ca);
		config_copy_diag(&c->errors, &ca->errors);
		config_copy_diag(&c->warnings, &ca->warnings);
	}
	c->loaded = 1;
	c->path = eco->path;
	eco->path = NULL;
	eco_free(eco);
	return c->errors.n > 0 ? -1 : 0;
}

static void
config_init(struct config *c)
{
	memset(c, 0, sizeof *c);
	diag_init(&c->errors);
	diag_init(&c->warnings);
}

int
config_load(struct config *c, const char *file, const struct config_opts *o)
{
	struct ecosystem eco;

	config_init(c);
	memset(&eco, 0, sizeof eco);
	if (eco_load(file, &eco, &c->errors, &c->warnings) < 0) {
		eco_free(&eco);
		return -1;
	}
	return config_resolve(c, &eco, o);
}

int
config_load_json(struct config *c, json_t *doc, const char *file,
    const char *dir, const struct config_opts *o)
{
	struct ecosystem eco;

	config_init(c);
	memset(&eco, 0, sizeof eco);
	if (eco_load_json(doc, file, dir, &eco, &c->errors,
	    &c->warnings) < 0) {
		eco_free(&eco);
		return -1;
	}
	return config_resolve(c, &eco, o);
}

void
config_app_free(struct config_app *ca)
{
	eco_app_free(&ca->cfg);
	env_free(&ca->env);
	free(ca->mode);
	diag_free(&ca->errors);
	diag_free(&ca->warnings);
	memset(ca, 0, sizeof *ca);
}

void
config_free(struct config *c)
{
	size_t i;

	for (i = 0; i < c->napps; i++)
		config_app_free(&c->apps[i]);
	free(c->apps);
	free(c->path);
	diag_free(&c->errors);
	diag_free(&c->warnings);
	memset(c, 0, sizeof *c);
}

/*
 * dump.json: writing it atomically with a backup, reading it with a
 * fallback, and keeping secret values out of it; saving the app table to
 * it (save) and starting its apps again (resurrect).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "diag.h"
#include "env.h"
#include "dump.h"
#include "ecosystem.h"
#include "fsutil.h"
#include "log.h"
#include "wsd.h"
#include "xmalloc.h"

#define DUMP_NAME	"dump.json"
#define DUMP_VERSION	1

/*
 * Why this much care: PM2 writes its dump in place, so a crash or a full
 * disk during `pm2 save` leaves an empty or half file and the next boot
 * restores nothing.  Here the new content is written to dump.json.new and
 * fsync'ed, the current dump.json (when it is a good one) becomes
 * dump.json.bak, and a rename puts the new file in place; the folder is
 * fsync'ed last.  dump.json is present at every instant, and a reader that
 * finds it unusable falls back to the previous save.
 */

static char *
dump_path(const char *home, const char *suffix)
{
	char *p;

	if (asprintf(&p, "%s/" DUMP_NAME "%s", home, suffix) == -1)
		return NULL;
	return p;
}

static void
dump_seterr(char **err, const char *fmt, const char *path, const char *why)
{
	if (err == NULL)
		return;
	if (asprintf(err, fmt, path, why) == -1)
		*err = NULL;
}

static void
dump_sync_dir(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	fsync(fd);
	close(fd);
}

/*
 * A dump document we can restore from: an object with an "apps" array of
 * objects and a version we know.  NULL with a static reason otherwise.
 */
static const char *
dump_check(json_t *doc)
{
	json_t *apps, *v, *app;
	size_t i;

	if (!json_is_object(doc))
		return "not a JSON object";
	v = json_object_get(doc, "version");
	if (v != NULL && (!json_is_integer(v) ||
	    json_integer_value(v) != DUMP_VERSION))
		return "unsupported version";
	apps = json_object_get(doc, "apps");
	if (!json_is_array(apps))
		return "no \"apps\" array";
	json_array_foreach(apps, i, app) {
		if (!json_is_object(app) ||
		    !json_is_object(json_object_get(app, "config")))
			return "an entry of \"apps\" has no \"config\" object";
	}
	return NULL;
}

/*
 * Load and check one file.  Returns the document, or NULL with *missing set
 * when the file does not exist, or NULL with *why (malloc'd) when it is
 * unreadable or corrupt.
 */
static json_t *
dump_load(const char *path, int *missing, char **why)
{
	json_error_t je;
	json_t *doc;
	const char *bad;
	char reason[JSON_ERROR_TEXT_LENGTH];

	*missing = 0;
	*why = NULL;
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		if (access(path, F_OK) == -1 && errno == ENOENT) {
			*missing = 1;
			return NULL;
		}
		eco_json_reason(&je, reason, sizeof reason);
		if (je.line > 0) {
			if (asprintf(why, "%d:%d: %s", je.line, je.column,
			    reason) == -1)
				*why = NULL;
		} else
			*why = strdup(reason);
		return NULL;
	}
	if ((bad = dump_check(doc)) != NULL) {
		json_decref(doc);
		*why = strdup(bad);
		return NULL;
	}
	return doc;
}

/*
 * Keep the current dump as dump.json.bak, unless it is missing or unusable
 * (a corrupt dump must never push out a good backup).  A hard link keeps
 * dump.json in place until the rename that replaces it; where links are
 * not possible the content is copied.
 */
static int
dump_keep_backup(const char *cur, const char *bak)
{
	json_t *doc;
	char *tmp, *why, *text;
	int missing, r, saved;

	if ((doc = dump_load(cur, &missing, &why)) == NULL) {
		free(why);
		return 0;
	}
	if (asprintf(&tmp, "%s.new", bak) == -1) {
		json_decref(doc);
		return -1;
	}
	unlink(tmp);
	r = link(cur, tmp);
	if (r == -1) {
		text = json_dumps(doc, JSON_INDENT(2));
		r = text == NULL ? -1 :
		    fsutil_write_file(tmp, text, strlen(text), 0600);
		free(text);
	}
	json_decref(doc);
	if (r == 0 && (r = rename(tmp, bak)) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
	}
	free(tmp);
	return r;
}

int
dump_write(const char *home, json_t *doc, char **err)
{
	char *cur = NULL, *bak = NULL, *tmp = NULL, *text = NULL;
	const char *bad;
	int ret = -1;

	if (err != NULL)
		*err = NULL;
	if ((bad = dump_check(doc)) != NULL) {
		dump_seterr(err, "%s: refusing to write: %s", DUMP_NAME, bad);
		return -1;
	}
	cur = dump_path(home, "");
	bak = dump_path(home, ".bak");
	tmp = dump_path(home, ".new");
	text = json_dumps(doc, JSON_INDENT(2));
	if (cur == NULL || bak == NULL || tmp == NULL || text == NULL) {
		dump_seterr(err, "%s: %s", DUMP_NAME, strerror(ENOMEM));
		goto out;
	}
	if (fsutil_write_file(tmp, text, strlen(text), 0600) == -1) {
		dump_seterr(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (dump_keep_backup(cur, bak) == -1) {
		dump_seterr(err, "%s: %s", bak, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, cur) == -1) {
		dump_seterr(err, "%s: %s", cur, strerror(errno));
		unlink(tmp);
		goto out;
	}
	dump_sync_dir(home);
	ret = 0;
out:
	free(text);
	free(tmp);
	free(bak);
	free(cur);
	return ret;
}

json_t *
dump_read(const char *home, struct diag *warnings, char **err)
{
	char *cur, *bak, *why = NULL, *bwhy = NULL;
	json_t *doc = NULL;
	int missing, bmissing;

	if (err != NULL)
		*err = NULL;
	cur = dump_path(home, "");
	bak = dump_path(home, ".bak");
	if (cur == NULL || bak == NULL) {
		dump_seterr(err, "%s: %s", DUMP_NAME, strerror(ENOMEM));
		goto out;
	}
	if ((doc = dump_load(cur, &missing, &why)) != NULL)
		goto out;

	doc = dump_load(bak, &bmissing, &bwhy);
	if (missing && bmissing) {
		/* Never saved: nothing to restore, not an error. */
		doc = json_pack("{s:i, s:i, s:[]}", "version", DUMP_VERSION,
		    "saved_at", 0, "apps");
		goto out;
	}
	if (doc != NULL) {
		if (warnings != NULL) {
			if (missing)
				diag_add(warnings, "%s: missing, restoring "
				    "from %s", cur, bak);
			else
				diag_add(warnings, "%s: %s; restoring from %s",
				    cur, why, bak);
		}
		goto out;
	}
	if (err != NULL) {
		if (asprintf(err, "%s: %s; %s: %s", cur,
		    missing ? "missing" : why, bak,
		    bmissing ? "missing" : bwhy) == -1)
			*err = NULL;
	}
out:
	free(bwhy);
	free(why);
	free(bak);
	free(cur);
	return doc;
}

/*
 * Secrets given inline in "env" or "env_<mode>" are left out of the dump:
 * a name from the secret-name table (env_secret_name) or a URL with a
 * password.  Only their names are kept, under "redacted"; resurrect reads
 * the values again from the ecosystem file the app came from.  Secrets
 * that come from elsewhere (env_file, VAR_FILE, the secrets dir) are never
 * in the config at all: those files are read again at every start.
 */
json_t *
dump_redact(json_t *config)
{
	json_t *redacted = json_object(), *env, *v, *names;
	const char *k, *ek;
	void *tmp;

	json_object_foreach(config, k, env) {
		if ((strcmp(k, "env") != 0 && strncmp(k, "env_", 4) != 0) ||
		    strcmp(k, "env_file") == 0 || !json_is_object(env))
			continue;
		names = json_array();
		json_object_foreach_safe(env, tmp, ek, v) {
			if (env_secret_value(ek, json_string_value(v))) {
				json_array_append_new(names, json_string(ek));
				json_object_del(env, ek);
			}
		}
		if (json_array_size(names) > 0)
			json_object_set_new(redacted, k, names);
		else
			json_decref(names);
	}
	if (json_object_size(redacted) == 0) {
		json_decref(redacted);
		return NULL;
	}
	return redacted;
}

/* "NEXTAUTH_SECRET, REDIS_URL": the names in `redacted`, for messages. */
static char *
dump_redacted_names(json_t *redacted)
{
	json_t *names, *n;
	const char *k;
	char *out = NULL, *next;
	size_t i;

	json_object_foreach(redacted, k, names) {
		json_array_foreach(names, i, n) {
			if (asprintf(&next, "%s%s%s", out != NULL ? out : "",
			    out != NULL ? ", " : "", json_string_value(n)) < 0)
				next = NULL;
			free(out);
			if ((out = next) == NULL)
				return NULL;
		}
	}
	return out;
}

/* The values of `redacted` from the app's object in `src` into `config`. */
static int
dump_fill(json_t *config, json_t *redacted, json_t *src, const char *name,
    const char *file, struct diag *errors)
{
	json_t *names, *n, *sv, *dst;
	const char *k;
	size_t i;

	json_object_foreach(redacted, k, names) {
		json_array_foreach(names, i, n) {
			sv = json_object_get(json_object_get(src, k),
			    json_string_value(n));
			if (sv == NULL) {
				diag_add(errors, "app \"%s\" not restored: "
				    "%s is no longer in %s of %s (secret "
				    "values are not saved in the dump)", name,
				    json_string_value(n), k, file);
				return -1;
			}
			if (!json_is_object(dst = json_object_get(config, k))) {
				dst = json_object();
				json_object_set_new(config, k, dst);
			}
			json_object_set(dst, json_string_value(n), sv);
		}
	}
	return 0;
}

int
dump_restore_secrets(json_t *config, json_t *redacted, const char *name,
    const char *file, struct diag *errors)
{
	struct ecosystem eco;
	struct diag lerr, lwarn;
	char *names;
	size_t i;
	int rc = -1;

	if (!json_is_object(redacted) || json_object_size(redacted) == 0)
		return 0;
	names = dump_redacted_names(redacted);
	if (file == NULL) {
		diag_add(errors, "app \"%s\" not restored: its secrets (%s) "
		    "are not saved in the dump and it has no ecosystem file "
		    "to read them from", name, names != NULL ? names : "?");
		free(names);
		return -1;
	}
	diag_init(&lerr);
	diag_init(&lwarn);
	if (eco_load(file, &eco, &lerr, &lwarn) < 0) {
		diag_add(errors, "app \"%s\" not restored: its secrets (%s) "
		    "are read again from %s, which cannot be loaded: %s", name,
		    names != NULL ? names : "?", file,
		    lerr.n > 0 ? lerr.msgs[0] : "unknown error");
		goto out;
	}
	for (i = 0; i < eco.napps; i++)
		if (strcmp(eco.apps[i].name, name) == 0)
			break;
	if (i == eco.napps)
		diag_add(errors, "app \"%s\" not restored: its secrets (%s) "
		    "are read again from %s, which no longer defines it", name,
		    names != NULL ? names : "?", file);
	else
		rc = dump_fill(config, redacted, eco.apps[i].raw, name, file,
		    errors);
	eco_free(&eco);
out:
	diag_free(&lerr);
	diag_free(&lwarn);
	free(names);
	return rc;
}

/* One app of the table as dump.json keeps it. */
static json_t *
dump_app_json(const struct app *a)
{
	json_t *c, *ids, *ef, *red;
	size_t i;
	int stopped;

	c = a->cfg.raw != NULL ? json_deep_copy(a->cfg.raw) : json_object();
	if (a->cfg.cwd != NULL)
		json_object_set_new(c, "cwd", json_string(a->cfg.cwd));
	if (a->cfg.nenv_files > 0) {
		ef = json_array();
		for (i = 0; i < a->cfg.nenv_files; i++)
			json_array_append_new(ef,
			    json_string(a->cfg.env_files[i]));
		json_object_set_new(c, "env_file", ef);
	}
	json_object_set_new(c, "instances",
	    json_integer(a->cfg.instances));
	red = dump_redact(c);
	ids = json_array();
	stopped = 1;
	for (i = 0; i < a->ninsts; i++) {
		if (a->insts[i] == NULL)
			continue;
		json_array_append_new(ids, json_integer(a->insts[i]->id));
		if (a->insts[i]->ps.state != ST_STOPPED)
			stopped = 0;
	}
	return json_pack("{ss so so* ss* ss* si sb so}", "name", a->cfg.name,
	    "config", c, "redacted", red, "config_file", a->config_file,
	    "env_mode", a->env_mode, "instances", a->cfg.instances,
	    "stopped", stopped, "ids", ids);
}

enum dump_save_rc
dump_save(const char *home, int force, size_t *napps, char **err)
{
	json_t *apps = json_array(), *doc;
	struct app *a;
	int rc;

	TAILQ_FOREACH(a, app_all(), entry)
		json_array_append_new(apps, dump_app_json(a));
	*napps = json_array_size(apps);
	if (*napps == 0 && !force) {
		json_decref(apps);
		return DUMP_EMPTY;
	}
	doc = json_pack("{sisIso}", "version", 1, "saved_at",
	    (json_int_t)wsd_epoch_ms(), "apps", apps);
	rc = dump_write(home, doc, err);
	json_decref(doc);
	return rc < 0 ? DUMP_FAILED : DUMP_SAVED;
}

/*
 * The secret values the dump left out, read again from the app's
 * ecosystem file into its saved config; -1 (the app is not restored)
 * with the reason in `errors`.
 */
static int
dump_unredact(json_t *e, const char *file, struct diag *errors)
{
	json_t *config = json_object_get(e, "config");
	json_t *name = json_object_get(e, "name");

	if (!json_is_string(name))
		name = json_object_get(config, "name");
	return dump_restore_secrets(config, json_object_get(e, "redacted"),
	    json_is_string(name) ? json_string_value(name) : "?", file,
	    errors);
}

/* One app of dump.json started (or left stopped) again. */
static void
dump_resurrect_one(json_t *e, struct diag *errors, json_t *insts)
{
	json_t *cf = json_object_get(e, "config_file");
	json_t *mode = json_object_get(e, "env_mode");
	int stopped = json_is_true(json_object_get(e, "stopped"));
	struct config_opts o = { json_is_string(mode) ?
	    json_string_value(mode) : NULL, &wsd_base_env, NULL };
	const char *file;
	struct config c;
	struct app *a;
	json_t *one, *ai;
	char *dir;
	size_t k;

	file = json_is_string(cf) ? json_string_value(cf) : "dump.json";
	dir = xstrdup(file);
	if (strrchr(dir, '/') != NULL)
		*strrchr(dir, '/') = '\0';
	else {
		free(dir);
		dir = xstrdup(wsd_home);
	}
	one = json_pack("{s[O]}", "apps", json_object_get(e, "config"));
	if (dump_unredact(e, json_is_string(cf) ? file : NULL, errors) == 0) {
		config_load_json(&c, one, file, dir, &o);
		for (k = 0; k < c.errors.n; k++)
			diag_add(errors, "%s", c.errors.msgs[k]);
		for (k = 0; k < c.napps; k++) {
			if (app_add(&c.apps[k], json_is_string(cf) ? file : NULL,
			    !stopped, &a) < 0)
				continue;
			ai = view_app_insts(&a, 1);
			json_array_extend(insts, ai);
			json_decref(ai);
		}
		config_free(&c);
	}
	json_decref(one);
	free(dir);
}

/* Start the apps of dump.json; 0, or -1 with messages in errors. */
int
dump_resurrect(struct diag *errors, json_t **insts_out)
{
	struct diag warnings;
	json_t *doc, *e, *insts;
	char *err = NULL;
	size_t i;

	diag_init(&warnings);
	insts = json_array();
	doc = dump_read(wsd_home, &warnings, &err);
	if (doc == NULL) {
		diag_add(errors, "%s", err != NULL ? err : "cannot read the dump");
		free(err);
		diag_free(&warnings);
		*insts_out = insts;
		return -1;
	}
	for (i = 0; i < warnings.n; i++)
		log_warn("%s", warnings.msgs[i]);
	diag_free(&warnings);
	json_array_foreach(json_object_get(doc, "apps"), i, e)
		dump_resurrect_one(e, errors, insts);
	json_decref(doc);
	*insts_out = insts;
	return errors->n > 0 ? -1 : 0;
}

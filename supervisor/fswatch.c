/*
 * watch: restart an app when a file under its watched paths changes, as
 * PM2's `watch` does (a restart, not a reload), through inotify on wsd's
 * loop.
 *
 * Each watching app has its own inotify descriptor and a watch per
 * directory, recursively; a directory created (or moved in) later is
 * followed as it appears.  A change is one the ignore list does not cover
 * (PM2's default when ignore_watch is not given: dot files and
 * node_modules); the app's own log files and wsd's home never count, or a
 * watch of its cwd would restart it at every line logged.  The first
 * change arms a timer of watch_delay; what changes until it fires, and
 * until the app's instances are back up, is the same restart (PM2 drops
 * changes while it restarts too).
 *
 * Bounded: at most WSD_WATCH_MAX_DIRS directories per app, with a warning
 * when the cap is hit; the kernel's limits (max_user_watches,
 * max_user_instances) are reported as such and never stop wsd.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knob.h"
#include "log.h"
#include "wsd.h"
#include "xmalloc.h"

/* While a restart is under way, whether it is over is looked at this often. */
#define FSWATCH_POLL_MS	50

#define FSWATCH_MASK	(IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | \
			    IN_MOVED_TO | IN_ONLYDIR)

/* One watched directory: its wd, its path, and (for a watched file) the
 * one name in it that counts. */
struct fswatch_dir {
	int		 wd;
	char		*path;		/* absolute */
	char		*only;		/* a file's name, or NULL: all, recursive */
};

enum fswatch_phase {
	FW_IDLE,	/* a change arms the restart */
	FW_ARMED,	/* watch_delay runs */
	FW_RESTARTING,	/* restarted, until the instances are up again */
};

struct fswatch {
	struct app		*app;
	int			 fd;
	uv_poll_t		 poll;
	uv_timer_t		 delay;
	int			 handles;	/* open uv handles, for the free */
	struct fswatch_dir	*dirs;
	size_t			 ndirs, cap;
	size_t			 max;		/* WSD_WATCH_MAX_DIRS */
	int			 capped;	/* the cap was said */
	int			 limited;	/* the kernel's limit was said */
	enum fswatch_phase	 phase;
	char			*changed;	/* the first change's path */
	char			*last;		/* what the last restart was for */
	uint64_t		 last_at;	/* its epoch ms */
};

/*
 * Whether `rel` (a path under the app's cwd, or absolute outside it) is
 * ignored.  A pattern matches the whole path (a glob: "*.log", "client/img"
 * and what is below it), or any one component ("node_modules", "\\.git").
 * No pattern given (dflt): PM2's default, dot files and node_modules.
 */
int
fswatch_ignored(char *const *pats, size_t n, int dflt, const char *rel)
{
	const char *c, *p;
	char comp[NAME_MAX + 1];
	size_t i, len;

	for (c = rel; *c != '\0'; c += len + (c[len] == '/')) {
		len = strcspn(c, "/");
		if (len == 0 || len > NAME_MAX)
			continue;
		memcpy(comp, c, len);
		comp[len] = '\0';
		if (dflt && (comp[0] == '.' ||
		    strcmp(comp, "node_modules") == 0))
			return 1;
		for (i = 0; i < n; i++)
			if (fnmatch(pats[i], comp, 0) == 0)
				return 1;
	}
	for (i = 0; i < n; i++) {
		p = pats[i];
		if (strncmp(p, "./", 2) == 0)
			p += 2;
		len = strlen(p);
		while (len > 1 && p[len - 1] == '/')
			len--;
		if (fnmatch(p, rel, 0) == 0 ||
		    (strncmp(rel, p, len) == 0 && rel[len] == '/'))
			return 1;
	}
	return 0;
}

/* path relative to the app's cwd when it is under it, else as is. */
static const char *
fswatch_rel(const struct app *a, const char *path)
{
	size_t n = a->cfg.cwd != NULL ? strlen(a->cfg.cwd) : 0;

	if (n > 0 && strncmp(path, a->cfg.cwd, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

static int
fswatch_is_ignored(const struct fswatch *fw, const char *path)
{
	const struct app *a = fw->app;
	size_t i, n = wsd_home != NULL ? strlen(wsd_home) : 0;

	if (a->cfg.log_file != NULL && strcmp(path, a->cfg.log_file) == 0)
		return 1;
	if (n > 0 && strncmp(path, wsd_home, n) == 0 && path[n] == '/')
		return 1;
	for (i = 0; i < a->ninsts; i++)
		if (a->insts[i] != NULL &&
		    ((a->insts[i]->out_path != NULL &&
		    strcmp(path, a->insts[i]->out_path) == 0) ||
		    (a->insts[i]->err_path != NULL &&
		    strcmp(path, a->insts[i]->err_path) == 0)))
			return 1;
	return fswatch_ignored(a->cfg.ignore_watch, a->cfg.nignore_watch,
	    !a->cfg.ignore_watch_set, fswatch_rel(a, path));
}

static struct fswatch_dir *
fswatch_dir_by_wd(struct fswatch *fw, int wd)
{
	size_t i;

	for (i = 0; i < fw->ndirs; i++)
		if (fw->dirs[i].wd == wd)
			return &fw->dirs[i];
	return NULL;
}

static void
fswatch_dir_drop(struct fswatch *fw, struct fswatch_dir *d)
{
	free(d->path);
	free(d->only);
	*d = fw->dirs[--fw->ndirs];
}

/* Watch one directory (only: a file's name in it); -1 when it cannot be. */
static int
fswatch_add_one(struct fswatch *fw, const char *path, const char *only)
{
	struct fswatch_dir *d;
	int wd;

	if (fw->ndirs >= fw->max) {
		if (!fw->capped)
			log_json(LOG_WARN, json_pack("{ss}", "app",
			    fw->app->cfg.name), "watch: %zu directories "
			    "watched, the cap (WSD_WATCH_MAX_DIRS): changes "
			    "in %s and the others past it are not seen",
			    fw->ndirs, path);
		fw->capped = 1;
		return -1;
	}
	if ((wd = inotify_add_watch(fw->fd, path, FSWATCH_MASK)) < 0) {
		if ((errno == ENOSPC || errno == ENOMEM) && !fw->limited) {
			fw->limited = 1;
			log_json(LOG_WARN, json_pack("{ss}", "app",
			    fw->app->cfg.name), "watch: %s: %s: the kernel's "
			    "inotify watch limit is reached (raise "
			    "fs.inotify.max_user_watches); changes there are "
			    "not seen", path, strerror(errno));
		} else if (errno != ENOSPC && errno != ENOMEM)
			log_json(LOG_WARN, json_pack("{ss}", "app",
			    fw->app->cfg.name), "watch: %s: %s", path,
			    strerror(errno));
		return -1;
	}
	/* The same directory again (two watched paths): one entry, which
	 * counts all of it once anything asks for all of it. */
	if ((d = fswatch_dir_by_wd(fw, wd)) != NULL) {
		if (only == NULL) {
			free(d->only);
			d->only = NULL;
		}
		return 0;
	}
	if (fw->ndirs == fw->cap) {
		fw->cap = fw->cap ? fw->cap * 2 : 16;
		fw->dirs = xrealloc(fw->dirs, fw->cap * sizeof *fw->dirs);
	}
	d = &fw->dirs[fw->ndirs++];
	d->wd = wd;
	d->path = xstrdup(path);
	d->only = only != NULL ? xstrdup(only) : NULL;
	return 0;
}

/* Watch `path` and the directories below it that are not ignored. */
static void
fswatch_add_tree(struct fswatch *fw, const char *path)
{
	struct dirent *de;
	struct stat sb;
	char *sub;
	DIR *dir;

	if (fswatch_add_one(fw, path, NULL) < 0 ||
	    (dir = opendir(path)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		xasprintf(&sub, "%s/%s", path, de->d_name);
		/* Symbolic links are not followed: no loops, no escapes. */
		if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    !fswatch_is_ignored(fw, sub))
			fswatch_add_tree(fw, sub);
		free(sub);
		if (fw->capped || fw->limited)
			break;
	}
	closedir(dir);
}

/* One watch path as written: a directory (recursive) or a file. */
static void
fswatch_add_path(struct fswatch *fw, const char *given)
{
	const struct app *a = fw->app;
	struct stat sb;
	char *path, *slash;

	if (given[0] == '/' || a->cfg.cwd == NULL)
		path = xstrdup(given);
	else
		xasprintf(&path, "%s/%s", a->cfg.cwd, given);
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	if (stat(path, &sb) < 0)
		log_json(LOG_WARN, json_pack("{ss}", "app", a->cfg.name),
		    "watch: %s: %s", path, strerror(errno));
	else if (S_ISDIR(sb.st_mode))
		fswatch_add_tree(fw, path);
	else if ((slash = strrchr(path, '/')) != NULL) {
		/* Its folder, for the one name: an editor that saves by
		 * renaming replaces the file's inode. */
		*slash = '\0';
		fswatch_add_one(fw, slash == path ? "/" : path, slash + 1);
	}
	free(path);
}

/* Whether a restart of the app is under way (its own or someone's). */
static int
fswatch_busy(const struct app *a)
{
	size_t i;

	for (i = 0; i < a->ninsts; i++)
		if (a->insts[i] != NULL && !a->insts[i]->removing &&
		    (a->insts[i]->ps.state == ST_STOPPING ||
		    a->insts[i]->ps.state == ST_LAUNCHING))
			return 1;
	return 0;
}

static void	fswatch_read_cb(uv_poll_t *, int, int);

/* The restart, as PM2 does it; the instances someone stopped stay so. */
static void
fswatch_restart(struct fswatch *fw)
{
	struct app *a = fw->app;
	size_t i;

	if (reload_busy(a)) {
		log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
		    "watch: %s changed: not restarted, a reload is in "
		    "progress", fw->changed);
		return;
	}
	log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
	    "watch: %s changed: restarting", fw->changed);
	free(fw->last);
	fw->last = xstrdup(fw->changed);
	fw->last_at = wsd_epoch_ms();
	for (i = 0; i < a->ninsts; i++)
		if (a->insts[i] != NULL && !a->insts[i]->removing &&
		    a->insts[i]->ps.state != ST_STOPPED)
			inst_restart(a->insts[i]);
}

/*
 * The timer: watch_delay after the first change (ARMED), then every
 * FSWATCH_POLL_MS until the app's instances are up again (RESTARTING);
 * what changed meanwhile, the restart's own log lines among it, is read
 * and dropped before the watch counts changes again (IDLE).
 */
static void
fswatch_timer_cb(uv_timer_t *t)
{
	struct fswatch *fw = t->data;

	if (fswatch_busy(fw->app)) {
		uv_timer_start(&fw->delay, fswatch_timer_cb, FSWATCH_POLL_MS, 0);
		return;
	}
	switch (fw->phase) {
	case FW_ARMED:
		fswatch_restart(fw);
		fw->phase = FW_RESTARTING;
		uv_timer_start(&fw->delay, fswatch_timer_cb, FSWATCH_POLL_MS, 0);
		break;
	case FW_RESTARTING:
		fswatch_read_cb(&fw->poll, 0, UV_READABLE);
		fw->phase = FW_IDLE;
		log_json(LOG_INFO, json_pack("{ss}", "app", fw->app->cfg.name),
		    "watch: restart done, changes count again");
		free(fw->changed);
		fw->changed = NULL;
		break;
	case FW_IDLE:
		break;
	}
}

static void
fswatch_changed(struct fswatch *fw, const char *path)
{
	if (fw->phase != FW_IDLE)
		return;	/* the armed or running restart covers it */
	fw->changed = xstrdup(path);
	fw->phase = FW_ARMED;
	uv_timer_start(&fw->delay, fswatch_timer_cb,
	    fw->app->cfg.watch_delay_ms, 0);
}

static void
fswatch_event(struct fswatch *fw, const struct inotify_event *ev)
{
	struct fswatch_dir *d;
	char *path;

	if (ev->mask & IN_Q_OVERFLOW) {
		fswatch_changed(fw, "(too many changes at once)");
		return;
	}
	if ((d = fswatch_dir_by_wd(fw, ev->wd)) == NULL)
		return;
	if (ev->mask & IN_IGNORED) {	/* the directory is gone */
		fswatch_dir_drop(fw, d);
		return;
	}
	if (ev->len == 0 || (d->only != NULL && strcmp(d->only, ev->name) != 0))
		return;
	xasprintf(&path, "%s/%s", strcmp(d->path, "/") == 0 ? "" : d->path,
	    ev->name);
	if (!fswatch_is_ignored(fw, path)) {
		/* A new directory is followed (d may move: not used after). */
		if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE |
		    IN_MOVED_TO)) && d->only == NULL)
			fswatch_add_tree(fw, path);
		fswatch_changed(fw, path);
	}
	free(path);
}

static void
fswatch_read_cb(uv_poll_t *p, int status, int events)
{
	struct fswatch *fw = p->data;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *at;

	(void)events;
	if (status < 0)
		return;
	while ((n = read(fw->fd, buf, sizeof buf)) > 0)
		for (at = buf; at < buf + n; at += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)at;
			fswatch_event(fw, ev);
		}
}

static void
fswatch_close_cb(uv_handle_t *h)
{
	struct fswatch *fw = h->data;
	size_t i;

	if (--fw->handles > 0)
		return;
	if (fw->fd >= 0)
		close(fw->fd);
	for (i = 0; i < fw->ndirs; i++) {
		free(fw->dirs[i].path);
		free(fw->dirs[i].only);
	}
	free(fw->dirs);
	free(fw->changed);
	free(fw->last);
	free(fw);
}

json_t *
fswatch_json(const struct app *a)
{
	const struct fswatch *fw = a->fswatch;

	if (fw == NULL)
		return NULL;
	return json_pack("{sIsbsosI}", "dirs", (json_int_t)fw->ndirs,
	    "capped", fw->capped, "last_change", fw->last != NULL ?
	    json_string(fw->last) : json_null(),
	    "last_restart_at", (json_int_t)fw->last_at);
}

void
fswatch_app_stop(struct app *a)
{
	struct fswatch *fw = a->fswatch;

	if (fw == NULL)
		return;
	a->fswatch = NULL;
	fw->app = NULL;
	uv_timer_stop(&fw->delay);
	uv_close((uv_handle_t *)&fw->delay, fswatch_close_cb);
	if (fw->handles > 1)
		uv_close((uv_handle_t *)&fw->poll, fswatch_close_cb);
}

void
fswatch_app(struct app *a)
{
	struct fswatch *fw;
	size_t i;
	int r;

	fswatch_app_stop(a);	/* the definition may have changed */
	if (!a->cfg.watch)
		return;
	fw = xcalloc(1, sizeof *fw);
	fw->app = a;
	fw->max = knob_or_default(KNOB_WSD_WATCH_MAX_DIRS);
	uv_timer_init(wsd_loop, &fw->delay);
	fw->delay.data = fw;
	fw->handles = 1;
	a->fswatch = fw;
	if ((fw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_json(LOG_WARN, json_pack("{ss}", "app", a->cfg.name),
		    "watch: inotify: %s%s: changes are not seen",
		    strerror(errno), errno == EMFILE ? " (the kernel's "
		    "fs.inotify.max_user_instances)" : "");
		return;
	}
	if ((r = uv_poll_init(wsd_loop, &fw->poll, fw->fd)) == 0) {
		fw->poll.data = fw;
		fw->handles = 2;
		r = uv_poll_start(&fw->poll, UV_READABLE, fswatch_read_cb);
	}
	if (r != 0) {
		log_json(LOG_WARN, json_pack("{ss}", "app", a->cfg.name),
		    "watch: %s: changes are not seen", uv_strerror(r));
		return;
	}
	if (a->cfg.nwatch_paths == 0 && a->cfg.cwd != NULL)
		fswatch_add_path(fw, a->cfg.cwd);
	for (i = 0; i < a->cfg.nwatch_paths; i++)
		fswatch_add_path(fw, a->cfg.watch_paths[i]);
	log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
	    "watch: %zu director%s watched", fw->ndirs,
	    fw->ndirs == 1 ? "y" : "ies");
}

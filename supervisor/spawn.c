/*
 * Starting an instance's process.  spawn_plan() is pure: from the app's
 * definition, its resolved env and the resolved paths it makes the argv
 * and envp the process gets (tests/unit/test_spawn.c).  spawn_inst() does
 * the I/O around it: resolving paths, the slot socket, the pipes and the
 * IPC socketpair, fork/exec, and the log capture.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "knob.h"
#include "log.h"
#include "strv.h"
#include "wsd.h"
#include "xmalloc.h"

/* Log path for an instance: defaults in $WSD_HOME/logs, -<id> per instance. */
static char *
spawn_log_path(const struct inst *in, const char *given, const char *kind)
{
	const struct app *a = in->app;
	const char *dot, *slash;
	char *p = NULL;
	int r;

	if (given == NULL) {
		if (a->cfg.merge_logs)
			r = asprintf(&p, "%s/logs/%s-%s.log", wsd_home,
			    a->cfg.name, kind);
		else
			r = asprintf(&p, "%s/logs/%s-%s-%d.log", wsd_home,
			    a->cfg.name, kind, in->id);
	} else if (a->cfg.merge_logs || a->cfg.instances <= 1 ||
	    strncmp(given, "/dev/", 5) == 0) {
		r = asprintf(&p, "%s", given);
	} else {
		slash = strrchr(given, '/');
		dot = strrchr(given, '.');
		if (dot == NULL || (slash != NULL && dot < slash))
			r = asprintf(&p, "%s-%d", given, in->id);
		else
			r = asprintf(&p, "%.*s-%d%s", (int)(dot - given), given,
			    in->id, dot);
	}
	return r < 0 ? NULL : p;
}

/* argv: bash -c SCRIPT, or [interp [node_args…]] path [args…]. */
static char **
spawn_argv(const struct spawn_what *w)
{
	const struct app_config *cfg = w->cfg;
	char **argv;
	size_t k = 0, i, n;

	n = strv_len(cfg->args) + strv_len(cfg->node_args) + 4;
	argv = xcalloc(n, sizeof *argv);
	if (cfg->shell) {
		argv[k++] = xstrdup(w->path);
		argv[k++] = xstrdup("-c");
		argv[k++] = xstrdup(cfg->script);
		return argv;
	}
	if (w->interp != NULL) {
		argv[k++] = xstrdup(w->interp);
		for (i = 0; cfg->node_args != NULL && cfg->node_args[i]; i++)
			argv[k++] = xstrdup(cfg->node_args[i]);
	}
	argv[k++] = xstrdup(w->path);
	for (i = 0; cfg->args != NULL && cfg->args[i] != NULL; i++)
		argv[k++] = xstrdup(cfg->args[i]);
	return argv;
}

/*
 * PM2's increment_var: the app's value (a whole number; unset is 0) plus
 * the instance number, so PORT=3000 gives 3000, 3001, …  The loader
 * refused a value that is not a number.
 */
static void
spawn_increment(struct env *env, const char *var, int slot)
{
	const char *v = env_get(env, var);
	char num[32];
	long long base = v != NULL ? strtoll(v, NULL, 10) : 0;

	snprintf(num, sizeof num, "%lld", base + slot);
	env_set(env, var, num, 0);
}

int
spawn_plan(struct spawn_plan *p, const struct spawn_what *w)
{
	const struct app_config *cfg = w->cfg;
	struct env env;
	char num[32];

	memset(p, 0, sizeof *p);
	p->argv = spawn_argv(w);

	env_init(&env);
	env_copy(&env, w->env);
	env_set(&env, "WSD_APP_NAME", cfg->name, 0);
	snprintf(num, sizeof num, "%d", w->slot);
	env_set(&env, "WSD_INSTANCE", num, 0);
	env_set(&env, cfg->instance_var != NULL ? cfg->instance_var :
	    "NODE_APP_INSTANCE", num, 0);
	if (cfg->increment_var != NULL)
		spawn_increment(&env, cfg->increment_var, w->slot);
	if (cfg->user != NULL) {
		/* PM2 sets HOME; USER and LOGNAME must not say root either */
		env_set(&env, "HOME", cfg->home, 0);
		env_set(&env, "USER", cfg->user, 0);
		env_set(&env, "LOGNAME", cfg->user, 0);
	}
	/*
	 * wsworker plans its drain with them: the SIGKILL comes kill_timeout
	 * after the stop, later by the drain window it announces (up to
	 * WSD_DRAIN_MAX_MS, policy.c); an older wsd sets no WSD_DRAIN_MAX_MS
	 * and the worker keeps its spread within kill_timeout.
	 */
	snprintf(num, sizeof num, "%llu",
	    (unsigned long long)cfg->kill_timeout_ms);
	env_set(&env, "WSD_KILL_TIMEOUT_MS", num, 0);
	snprintf(num, sizeof num, "%llu", (unsigned long long)KNOB_DRAIN_MAX_MS);
	env_set(&env, "WSD_DRAIN_MAX_MS", num, 0);
	snprintf(num, sizeof num, "%d", w->id);
	env_set(&env, "pm_id", num, 0);
	p->listen = w->listen;
	if (w->listen) {
		env_set(&env, "LISTEN_FDS", "1", 0);
		/* Room for the child's pid, written after fork. */
		env_set(&env, "LISTEN_PID", "00000000000000000000", 0);
		env_set(&env, "WSD_LISTEN_FD", "3", 0);
		env_set(&env, "WSD_IPC_FD", "4", 0);
		env_set(&env, "NODE_CHANNEL_FD", "4", 0);
	} else {
		env_unset(&env, "LISTEN_FDS");
		env_unset(&env, "LISTEN_PID");
		env_unset(&env, "WSD_LISTEN_FD");
		env_set(&env, "WSD_IPC_FD", "3", 0);
		env_set(&env, "NODE_CHANNEL_FD", "3", 0);
	}
	/*
	 * The same channel is Node's, as PM2 gives every fork mode process:
	 * process.send('ready') is wsd's "ready"; wsd's own messages are
	 * 'message' events, which an app without a listener never sees.
	 */
	env_set(&env, "NODE_CHANNEL_SERIALIZATION_MODE", "json", 0);
	p->envp = env_to_envp(&env);
	env_free(&env);
	return p->envp != NULL ? 0 : -1;
}

void
spawn_plan_free(struct spawn_plan *p)
{
	size_t i;

	for (i = 0; p->argv != NULL && p->argv[i] != NULL; i++)
		free(p->argv[i]);
	free(p->argv);
	if (p->envp != NULL)
		env_envp_free(p->envp);
	memset(p, 0, sizeof *p);
}

/* Shell words that are not programs: a command line starting so is not checked. */
static const char *const spawn_shell_words[] = {
	"!", ".", ":", "[[", "{", "case", "cd", "eval", "exec", "export",
	"for", "if", "set", "source", "time", "trap", "ulimit", "umask",
	"unset", "until", "while",
};

/*
 * The program a command line starts, as bash finds it: after any
 * VAR=value words.  NULL when the line is beyond a plain reading (quotes
 * left open, expansions, a builtin first): bash will say.
 */
static char *
spawn_first_word(const char *line)
{
	char **w = NULL, *first = NULL;
	const char *why;
	size_t n = 0, i = 0, k;

	if (strv_split_shell(&w, &n, line, &why) == 0) {
		while (i < n && strchr(w[i], '=') != NULL &&
		    strcspn(w[i], "=") > 0)
			i++;
		if (i < n && strpbrk(w[i], "$`;&|<>(){}*?[]~\\") == NULL) {
			first = w[i];
			for (k = 0; k < sizeof spawn_shell_words /
			    sizeof spawn_shell_words[0]; k++)
				if (strcmp(w[i], spawn_shell_words[k]) == 0)
					first = NULL;
		}
	}
	first = first != NULL ? xstrdup(first) : NULL;
	strv_free(w, n);
	return first;
}

/* `name` as exec finds it from `cwd` and the app's PATH; NULL, or why not. */
static char *
spawn_find(const char *name, const char *cwd, const struct env *env,
    int exec, char **path)
{
	char *why = NULL;

	*path = proc_resolve(name, cwd, env);
	if (*path == NULL || (*path)[0] != '/' || access(*path, F_OK) == -1)
		xasprintf(&why, "\"%s\" not found (in %s or the app's PATH)",
		    name, cwd != NULL ? cwd : "/");
	else if (exec && access(*path, X_OK) == -1)
		xasprintf(&why, "%s: not executable", *path);
	if (why != NULL) {
		free(*path);
		*path = NULL;
	}
	return why;
}

char *
spawn_locate(const struct app_config *cfg, const struct env *env,
    char **path, char **interp)
{
	char *why, *first, *p;

	*path = *interp = NULL;
	if (cfg->shell) {
		/* PM2's rule: bash, else sh */
		if ((why = spawn_find("bash", NULL, env, 1, path)) != NULL) {
			free(why);
			if ((why = spawn_find("sh", NULL, env, 1, path)) != NULL)
				return why;
		}
		if ((first = spawn_first_word(cfg->script)) == NULL)
			return NULL;
		why = spawn_find(first, cfg->cwd, env, 1, &p);
		free(p);
		free(first);
		return why;
	}
	if ((why = spawn_find(cfg->script, cfg->cwd, env,
	    cfg->interpreter == NULL, path)) != NULL)
		return why;
	if (cfg->interpreter != NULL && (why = spawn_find(cfg->interpreter,
	    NULL, env, 1, interp)) != NULL) {
		free(*path);
		*path = NULL;
		p = why;
		xasprintf(&why, "interpreter %s", p);
		free(p);
	}
	return why;
}

/* The executable and its interpreter, as the loader checked them. */
static int
spawn_resolve(struct inst *in, char **path, char **interp)
{
	const struct app *a = in->app;
	char *why = spawn_locate(&a->cfg, &a->env, path, interp);

	if (why == NULL)
		return 0;
	log_json(LOG_ERROR, app_fields(in), "script: %s", why);
	free(why);
	return -1;
}

/* The process runs: reset its counters, capture its output. */
static void
spawn_started(struct inst *in, pid_t pid, int out, int err)
{
	struct app *a = in->app;

	in->pid = pid;
	in->spawns++;
	in->started_epoch = wsd_epoch_ms();
	scrape_fold(in);	/* the old process's counters carry over */
	json_decref(in->stats);
	in->stats = NULL;
	in->cpu = 0;
	in->mem = 0;
	in->cpu_ticks = 0;
	in->cpu_at = 0;

	free(in->out_path);
	free(in->err_path);
	in->out_path = spawn_log_path(in, a->cfg.out_file, "out");
	in->err_path = spawn_log_path(in, a->cfg.error_file, "error");
	/* A failure shows when the log file is opened. */
	(void)fsutil_mkdirs_for(in->out_path);
	(void)fsutil_mkdirs_for(in->err_path);
	logcap_attach(out, in->out_path, a->cfg.log_file,
	    a->cfg.time, a->cfg.log_date_format, a->cfg.log_max_size,
	    a->cfg.log_retain);
	logcap_attach(err, in->err_path, a->cfg.log_file,
	    a->cfg.time, a->cfg.log_date_format, a->cfg.log_max_size,
	    a->cfg.log_retain);
}

/*
 * uid/user: when wsd is root, the process takes the user, its group (or
 * gid) and the user's supplementary groups, looked up here in the parent.
 * Not root: the loader refused any other user.  0, or -1 with errno.
 */
static int
spawn_user(const struct app *a, struct proc_spec *sp, gid_t **groups)
{
	int n = 16;

	*groups = NULL;
	if (a->cfg.user == NULL || geteuid() != 0)
		return 0;
	for (;;) {
		*groups = xreallocarray(*groups, (size_t)n, sizeof **groups);
		if (getgrouplist(a->cfg.user, a->cfg.gid, *groups, &n) >= 0)
			break;
		if (n > 65536) {
			errno = E2BIG;
			return -1;
		}
	}
	sp->setuid = 1;
	sp->uid = a->cfg.uid;
	sp->gid = a->cfg.gid;
	sp->groups = *groups;
	sp->ngroups = n;
	return 0;
}

/* A cluster app's slot socket (wsd keeps it); -1 for none, -2 on error. */
static int
spawn_listen(struct inst *in)
{
	struct app *a = in->app;
	char *err = NULL;
	int lfd;

	if (a->listen_port <= 0)
		return -1;
	lfd = listen_slot(&a->socks, in->slot, env_get(&a->env, "WS_HOST"),
	    a->listen_port, &err);
	if (lfd < 0) {
		log_json(LOG_ERROR, app_fields(in), "%s",
		    err != NULL ? err : "cannot listen");
		lfd = -2;
	}
	free(err);
	return lfd;
}

int
spawn_inst(struct inst *in, ipc_msg_cb ipc_cb)
{
	struct app *a = in->app;
	struct spawn_plan plan = { 0 };
	struct spawn_what w;
	struct proc_spec sp;
	char *path = NULL, *interp = NULL, *err = NULL;
	gid_t *groups = NULL;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, sv[2] = { -1, -1 };
	int lfd = -1, rc = -1;
	size_t i;
	pid_t pid;

	if (spawn_resolve(in, &path, &interp) < 0 ||
	    (lfd = spawn_listen(in)) == -2)
		goto out;
	w = (struct spawn_what){ &a->cfg, &a->env, path, interp, in->slot,
	    in->id, a->listen_port > 0 };
	if (spawn_plan(&plan, &w) < 0)
		goto out;

	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_json(LOG_ERROR, app_fields(in), "pipe: %s", strerror(errno));
		goto out;
	}
	memset(&sp, 0, sizeof sp);
	if (spawn_user(a, &sp, &groups) < 0) {
		log_json(LOG_ERROR, app_fields(in), "uid: the groups of %s: %s",
		    a->cfg.user, strerror(errno));
		goto out;
	}
	sp.path = plan.argv[0];
	sp.argv = plan.argv;
	sp.envp = plan.envp;
	sp.cwd = a->cfg.cwd;
	sp.listen_fd = lfd;
	sp.ipc_fd = sv[1];
	sp.out_fd = outp[1];
	sp.err_fd = errp[1];
	pid = proc_spawn(&sp, &err);
	close(outp[1]);
	close(errp[1]);
	close(sv[1]);
	outp[1] = errp[1] = sv[1] = -1;
	if (pid < 0) {
		log_json(LOG_ERROR, app_fields(in), "spawn: %s",
		    err != NULL ? err : "failed");
		goto out;
	}
	spawn_started(in, pid, outp[0], errp[0]);
	outp[0] = errp[0] = -1;
	in->ipc = ipc_open(wsd_loop, sv[0], ipc_cb, in);
	app_ran_env_drop(a);	/* its env is a->env */
	sv[0] = -1;
	log_json(LOG_INFO, app_fields(in), "started %s", path);
	rc = 0;
out:
	for (i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (sv[i] >= 0)
			close(sv[i]);
	}
	spawn_plan_free(&plan);
	free(path);
	free(interp);
	free(err);
	free(groups);
	return rc;
}

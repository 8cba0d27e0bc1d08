/*
 * wsctl update: wsd replaces its own binary without stopping an app.  It
 * re-executes the binary it was started from (after a package upgrade,
 * the new one at that path) with its own argv; execve keeps its pid, so
 * its children stay its children (SIGCHLD, waitpid, PR_SET_PDEATHSIG and
 * the subreaper role carry on), and every descriptor not close-on-exec
 * stays open.  So the clients of the WebSocket workers see nothing: the
 * workers are not touched, and their listening sockets never close.
 *
 * The order, each step refusing with a reason while the old wsd runs on:
 *  1. nothing may be half done (a reload, a stop, a removal: their
 *     timers and waiters have no place in the state);
 *  2. the state (handover.c) goes into a memfd, and the new binary is run
 *     as `wsd --handover-check` on it: it must read that version and
 *     rebuild every app from it, or the update is refused (a binary that
 *     does not run, or knows no hand-over, or another state version);
 *  3. the state is taken again (the loop ran meanwhile), the reply sent,
 *     FD_CLOEXEC cleared on exactly the descriptors it names, and execve.
 *     A failed execve puts the flags back and is reported (wsctl ping).
 *  4. The new image finds WSD_HANDOVER_FD, rebuilds the tables (each app
 *     from its loaded object with the env it had, not from its file,
 *     which may have changed since), adopts the descriptors, and reaps
 *     whatever exited while no handler was installed.
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handover.h"
#include "log.h"
#include "notify.h"
#include "proto.h"
#include "wsd.h"
#include "xmalloc.h"

#define UPDATE_FD_VAR		"WSD_HANDOVER_FD"
#define UPDATE_CHECK_MS		10000	/* the new binary's check */

_Static_assert(MF_COUNT == HANDOVER_COUNTERS,
    "the hand-over carries every metrics counter");

static char		 update_exe[PATH_MAX];	/* resolved at start */
static char		**update_argv;
static const char	*update_config;		/* main.c's -f FILE */
static const char	*update_mode;
static uint64_t		 update_n;		/* re-executions so far */
static uint64_t		 update_last;		/* epoch ms of the last */
static uint64_t		 update_failures;
static char		*update_error;		/* the last failure */

/* The one update under way: its reply, and the state the check reads. */
static struct update_job {
	struct reply	*reply;
	json_t		*id;
	int		 memfd;
} *update_job;

void
update_init(char **argv, const char *config, const char *mode)
{
	ssize_t n;

	update_argv = argv;
	update_config = config;
	update_mode = mode;
	n = readlink("/proc/self/exe", update_exe, sizeof update_exe - 1);
	update_exe[n > 0 ? n : 0] = '\0';
}

json_t *
update_json(void)
{
	return json_pack("{sIsosIss*}", "updates", (json_int_t)update_n,
	    "updated_at", update_last != 0 ?
	    json_integer((json_int_t)update_last) : json_null(),
	    "update_failures", (json_int_t)update_failures,
	    "update_error", update_error);
}

/* What must be finished first, as a sentence (malloc'd), or NULL. */
static char *
update_blocker(void)
{
	const struct inst *in;
	struct app *a;
	char *why = NULL;
	size_t i;

	if (!reload_idle())
		return xstrdup("a reload is in progress");
	TAILQ_FOREACH(a, app_all(), entry) {
		if (a->scale_pending || a->ninsts != (size_t)a->cfg.instances)
			xasprintf(&why, "app %s: a scale to %d is under way",
			    a->cfg.name, a->cfg.instances);
		for (i = 0; why == NULL && i < a->ninsts; i++) {
			if ((in = a->insts[i]) == NULL)
				xasprintf(&why, "app %s: instance slot %zu is "
				    "empty (scale it again first)",
				    a->cfg.name, i);
			else if (in->removing || in->retire_at != 0)
				xasprintf(&why, "app %s: instance %d is being "
				    "removed", a->cfg.name, in->id);
			else if (in->old_pid != 0 || in->reload != RL_NONE ||
			    in->hot == HP_WAIT)
				xasprintf(&why, "app %s: instance %d is being "
				    "reloaded", a->cfg.name, in->id);
			else if (in->gone_at != 0 ||
			    in->ps.state == ST_STOPPING)
				xasprintf(&why, "app %s: instance %d is "
				    "stopping", a->cfg.name, in->id);
		}
		if (why != NULL)
			return why;
	}
	return NULL;
}

static void
update_collect_inst(struct handover_inst *hi, const struct inst *in)
{
	hi->id = in->id;
	hi->slot = in->slot;
	hi->pid = in->pid;
	hi->created_at = in->created_at;
	hi->started_epoch = in->started_epoch;
	hi->spawns = in->spawns;
	hi->ps = in->ps;
	hi->timer_ms = uv_is_active((const uv_handle_t *)&in->timer) ?
	    (int64_t)uv_timer_get_due_in(&in->timer) : -1;
	hi->ipc_fd = in->pid != 0 ? ipc_fd(in->ipc) : -1;
	memcpy(hi->carry, in->carry.base, sizeof hi->carry);
	hi->stats = in->stats != NULL ? json_incref(in->stats) : NULL;
	hi->out_path = in->out_path != NULL ? xstrdup(in->out_path) : NULL;
	hi->err_path = in->err_path != NULL ? xstrdup(in->err_path) : NULL;
	hi->cpu_ticks = in->cpu_ticks;
	hi->cpu_at = in->cpu_at;
}

static void
update_collect_app(struct handover_app *ha, const struct app *a)
{
	const char *slash;
	size_t i;

	/* As loaded, so that a SIGHUP after the update finds it unchanged;
	 * relative paths in it mean what they meant, from `dir`. */
	ha->config = a->cfg.raw != NULL ? json_deep_copy(a->cfg.raw) :
	    json_object();
	ha->config_file = a->config_file != NULL ? xstrdup(a->config_file) :
	    NULL;
	if (a->config_file != NULL && (slash = strrchr(a->config_file,
	    '/')) != NULL)
		xasprintf(&ha->dir, "%.*s", (int)(slash - a->config_file),
		    a->config_file);
	else
		ha->dir = xstrdup(wsd_home);
	ha->env_mode = a->env_mode != NULL ? xstrdup(a->env_mode) : NULL;
	env_init(&ha->env);
	env_init(&ha->ran_env);
	env_copy(&ha->env, &a->env);
	if ((ha->ran_env_set = a->ran_env_set))
		env_copy(&ha->ran_env, &a->ran_env);
	ha->nslots = a->socks.nslots;
	ha->sock_fds = xcalloc(ha->nslots + 1, sizeof *ha->sock_fds);
	if (ha->nslots > 0)
		memcpy(ha->sock_fds, a->socks.fds,
		    ha->nslots * sizeof *ha->sock_fds);
	ha->norder = a->socks.n;
	ha->sock_order = xcalloc(ha->norder + 1, sizeof *ha->sock_order);
	if (ha->norder > 0)
		memcpy(ha->sock_order, a->socks.order,
		    ha->norder * sizeof *ha->sock_order);
	ha->ninsts = a->ninsts;
	ha->insts = xcalloc(a->ninsts + 1, sizeof *ha->insts);
	for (i = 0; i < a->ninsts; i++)
		update_collect_inst(&ha->insts[i], a->insts[i]);
}

/* The running state; -1 with *why (malloc'd) when it cannot be handed over. */
static int
update_collect(struct handover *h, char **why)
{
	struct app *a;
	size_t n = 0;

	memset(h, 0, sizeof *h);
	if ((*why = update_blocker()) != NULL)
		return -1;
	h->version = HANDOVER_VERSION;
	h->home = xstrdup(wsd_home);
	h->config = update_config != NULL ? xstrdup(update_config) : NULL;
	h->mode = update_mode != NULL ? xstrdup(update_mode) : NULL;
	h->started_ms = wsd_started_ms;
	h->updates = update_n;
	h->next_id = app_next();
	h->lock_fd = daemon_lock_fd();
	h->control_fd = control_fd();
	h->metrics_fd = httpd_fd();
	TAILQ_FOREACH(a, app_all(), entry)
		n++;
	h->apps = xcalloc(n + 1, sizeof *h->apps);
	TAILQ_FOREACH(a, app_all(), entry)
		update_collect_app(&h->apps[h->napps++], a);
	logcap_export(&h->logs, &h->nlogs);
	return 0;
}

/* The state in a new close-on-exec memfd: its fd, or -1 with *why. */
static int
update_write(const struct handover *h, char **why)
{
	json_t *doc = handover_encode(h);
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	size_t len = text != NULL ? strlen(text) : 0, off = 0;
	ssize_t w;
	int fd;

	json_decref(doc);
	if (text == NULL) {
		*why = xstrdup("the state could not be written as JSON");
		return -1;
	}
	if ((fd = memfd_create("wsd-handover", MFD_CLOEXEC)) < 0) {
		xasprintf(why, "memfd_create: %s", strerror(errno));
		free(text);
		return -1;
	}
	while (off < len) {
		if ((w = write(fd, text + off, len - off)) < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			xasprintf(why, "writing the state: %s", strerror(errno));
			close(fd);
			free(text);
			return -1;
		}
		off += (size_t)w;
	}
	free(text);
	return fd;
}

/* wsd's environment for the new image: its own, what notify.c took out,
 * and where the state is (malloc'd; the strings are borrowed but one). */
static char **
update_envp(int fd, char **mine)
{
	extern char **environ;
	char *const *nv = notify_environ();
	size_t n = 0, k = 0, i;
	char **v;

	for (i = 0; environ[i] != NULL; i++)
		n++;
	for (i = 0; nv[i] != NULL; i++)
		n++;
	v = xcalloc(n + 2, sizeof *v);
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], UPDATE_FD_VAR "=",
		    sizeof UPDATE_FD_VAR) != 0)
			v[k++] = environ[i];
	for (i = 0; nv[i] != NULL; i++)
		v[k++] = nv[i];
	xasprintf(mine, UPDATE_FD_VAR "=%d", fd);
	v[k++] = *mine;
	return v;
}

static void
update_cloexec(const int *fds, size_t n, int on)
{
	size_t i;
	int fl;

	for (i = 0; i < n; i++)
		if ((fl = fcntl(fds[i], F_GETFD)) >= 0)
			fcntl(fds[i], F_SETFD, on ? fl | FD_CLOEXEC :
			    fl & ~FD_CLOEXEC);
}

/* The job ends; its reply is `line` unless it was sent already. */
static void
update_job_end(struct update_job *j, char *line)
{
	if (j->reply != NULL)
		control_reply_done(j->reply, line);
	else
		free(line);
	json_decref(j->id);
	if (j->memfd >= 0)
		close(j->memfd);
	free(j);
	update_job = NULL;
}

/* Said in the log, in ping (update_error) and, while it waits, the reply. */
static void
update_fail(struct update_job *j, const char *why)
{
	update_failures++;
	free(update_error);
	update_error = xstrdup(why);
	log_error("update refused: %s: wsd runs on unchanged", why);
	update_job_end(j, proto_reply_error(j->id, "update_failed", "%s", why));
}

/* The reply sent, exec the new image; returns only when execve failed. */
static void
update_exec(struct update_job *j)
{
	struct handover h;
	char *why = NULL, *mine = NULL, **envp;
	size_t n;
	int fd, *fds, e;

	if (update_collect(&h, &why) < 0 ||
	    (fd = update_write(&h, &why)) < 0) {
		handover_free(&h);
		update_fail(j, why);
		free(why);
		return;
	}
	fds = handover_fds(&h, &n);
	envp = update_envp(fd, &mine);
	log_json(LOG_INFO, json_pack("{sssIsI}", "exe", update_exe,
	    "apps", (json_int_t)h.napps, "update", (json_int_t)update_n + 1),
	    "update: re-executing %s", update_exe);
	handover_free(&h);
	/* Said now: after execve nobody is left to say it. */
	control_reply_done(j->reply, proto_reply_ok(j->id, json_pack(
	    "{sssisI}", "exe", update_exe, "pid", (int)getpid(),
	    "updates", (json_int_t)update_n)));
	j->reply = NULL;
	update_cloexec(fds, n, 0);
	update_cloexec(&fd, 1, 0);
	execve(update_exe, update_argv, envp);
	e = errno;
	update_cloexec(fds, n, 1);
	close(fd);
	free(fds);
	free(envp);
	free(mine);
	xasprintf(&why, "exec %s: %s", update_exe, strerror(e));
	update_fail(j, why);	/* the client learns it from ping */
	free(why);
}

/* The new binary's verdict on the state: "ok …", or why not. */
static void
update_checked_cb(void *arg, const char *out, int timed_out)
{
	struct update_job *j = arg;
	char *why = NULL;
	size_t len;

	if (!timed_out && strncmp(out, "ok", 2) == 0) {
		update_exec(j);
		return;
	}
	len = strcspn(out, "\n");
	if (timed_out)
		xasprintf(&why, "%s --handover-check gave no answer within "
		    "%d ms", update_exe, UPDATE_CHECK_MS);
	else if (len == 0)
		xasprintf(&why, "%s cannot take the state over: it printed "
		    "nothing", update_exe);
	else if (strncmp(out, "usage:", 6) == 0)
		xasprintf(&why, "%s knows no hand-over (an older wsd): restart "
		    "wsd instead", update_exe);
	else
		xasprintf(&why, "%s cannot take the state over: %.*s",
		    update_exe, (int)(len > 300 ? 300 : len), out);
	update_fail(j, why);
	free(why);
}

void
update_start(struct reply *reply, json_t *id)
{
	struct update_job *j;
	struct handover h;
	char *argv[3], *why = NULL, *mine = NULL, **envp;
	int fd;

	if (update_job != NULL) {
		control_reply_done(reply, proto_reply_error(id, "busy",
		    "an update is already under way"));
		return;
	}
	j = update_job = xcalloc(1, sizeof *j);
	j->reply = reply;
	j->id = json_incref(id);
	j->memfd = -1;
	if (update_exe[0] == '\0') {
		update_fail(j, "wsd's own binary could not be found at start "
		    "(/proc/self/exe)");
		return;
	}
	if (update_collect(&h, &why) < 0 ||
	    (fd = update_write(&h, &why)) < 0) {
		handover_free(&h);
		update_fail(j, why);
		free(why);
		return;
	}
	handover_free(&h);
	j->memfd = fd;
	argv[0] = update_exe;
	argv[1] = "--handover-check";
	argv[2] = NULL;
	envp = update_envp(3, &mine);
	if (probe_run(update_exe, argv, envp, fd, UPDATE_CHECK_MS,
	    update_checked_cb, j, &why) < 0) {
		update_fail(j, why != NULL ? why : "cannot run the new binary");
		free(why);
	}
	free(envp);
	free(mine);
}

/* ---- the new image ---- */

int
update_read(struct handover *h, char **err)
{
	const char *s = getenv(UPDATE_FD_VAR);
	json_error_t je;
	json_t *doc;
	char *end;
	long fd;

	*err = NULL;
	memset(h, 0, sizeof *h);
	fd = s != NULL ? strtol(s, &end, 10) : -1;
	unsetenv(UPDATE_FD_VAR);	/* not for the instances */
	if (s == NULL || *end != '\0' || fd < 3 || fd > INT_MAX) {
		xasprintf(err, UPDATE_FD_VAR ": not a descriptor");
		return -1;
	}
	lseek((int)fd, 0, SEEK_SET);
	doc = json_loadfd((int)fd, JSON_REJECT_DUPLICATES, &je);
	close((int)fd);
	if (doc == NULL) {
		xasprintf(err, "hand-over state: %s", je.text);
		return -1;
	}
	if (handover_decode(h, doc, err) < 0) {
		json_decref(doc);
		return -1;
	}
	json_decref(doc);
	return 0;
}

/* The app's definition rebuilt from its object; -1 with *why. */
static int
update_config_load(struct config *c, const struct handover_app *ha,
    const struct env *base, char **why)
{
	struct config_opts o = { ha->env_mode, base, NULL };
	json_t *doc = json_pack("{s[O]}", "apps", ha->config);

	config_load_json(c, doc, ha->config_file != NULL ? ha->config_file :
	    "(update)", ha->dir, &o);
	json_decref(doc);
	if (c->loaded && c->napps == 1)
		return 0;
	xasprintf(why, "an app does not load again: %s", c->errors.n > 0 ?
	    c->errors.msgs[0] : "no app in its definition");
	config_free(c);
	return -1;
}

int
update_check(void)
{
	extern char **environ;
	struct handover h;
	struct config c;
	struct env base;
	char *why = NULL;
	size_t i;

	if (update_read(&h, &why) < 0) {
		printf("%s\n", why);
		free(why);
		return 1;
	}
	env_init(&base);
	env_from_environ(&base, environ);
	for (i = 0; i < h.napps && why == NULL; i++)
		if (update_config_load(&c, &h.apps[i], &base, &why) == 0)
			config_free(&c);
	env_free(&base);
	handover_free(&h);
	if (why != NULL) {
		printf("%s\n", why);
		free(why);
		return 1;
	}
	printf("ok version %d, wsd %s\n", HANDOVER_VERSION, WSD_VERSION);
	return 0;
}

/* An app that cannot be rebuilt: its processes are not left unwatched. */
static void
update_drop_app(struct handover_app *ha, const char *why)
{
	size_t i;

	log_json(LOG_ERROR, json_pack("{sO?}", "app",
	    json_object_get(ha->config, "name")), "update: %s: its processes "
	    "are stopped", why);
	for (i = 0; i < ha->ninsts; i++) {
		if (ha->insts[i].pid > 0)
			proc_signal(ha->insts[i].pid, SIGTERM, 1);
		if (ha->insts[i].ipc_fd >= 0)
			close(ha->insts[i].ipc_fd);
	}
	for (i = 0; i < ha->nslots; i++)
		if (ha->sock_fds[i] >= 0)
			close(ha->sock_fds[i]);
}

/*
 * Whether pid is still a child of ours.  No pidfd or start time is needed
 * to trust it: a child's pid is not reused before its parent reaps it,
 * and nothing reaped it (execve kept the pid); a pid the state names that
 * is not our child is a state that lies, and is not adopted.
 */
static int
update_is_child(pid_t pid)
{
	struct procinfo pi;

	return procstat_read(pid, &pi) == 0 && pi.ppid == getpid();
}

static void
update_restore_inst(struct inst *in, struct handover_inst *hi)
{
	if (hi->pid > 0 && !update_is_child(hi->pid)) {
		log_json(LOG_ERROR, app_fields(in), "update: pid %d is not a "
		    "child of wsd: not adopted", (int)hi->pid);
		hi->pid = 0;
		hi->ps.state = ST_STOPPED;
		hi->timer_ms = -1;
	}
	in->id = hi->id;
	in->created_at = hi->created_at;
	in->started_epoch = hi->started_epoch;
	in->spawns = hi->spawns;
	in->ps = hi->ps;
	in->pid = hi->pid;
	memcpy(in->carry.base, hi->carry, sizeof in->carry.base);
	in->stats = hi->stats;
	hi->stats = NULL;
	in->out_path = hi->out_path;
	in->err_path = hi->err_path;
	hi->out_path = hi->err_path = NULL;
	in->cpu_ticks = hi->cpu_ticks;
	in->cpu_at = hi->cpu_at;
	if (hi->ipc_fd >= 0)
		in->ipc = ipc_open(wsd_loop, hi->ipc_fd, inst_ipc_cb, in);
	inst_resume(in, hi->timer_ms);
}

static void
update_restore_app(struct handover_app *ha)
{
	struct config c;
	struct config_app *ca;
	struct app *a;
	char *why = NULL;
	size_t i;

	if (update_config_load(&c, ha, &wsd_base_env, &why) < 0) {
		update_drop_app(ha, why);
		free(why);
		return;
	}
	ca = &c.apps[0];
	ca->cfg.instances = (int)ha->ninsts;	/* a scale is no edit of raw */
	/* The env the processes run, not the env files as they are now. */
	env_free(&ca->env);
	env_init(&ca->env);
	env_copy(&ca->env, &ha->env);
	ca->ok = 1;
	if (app_add(ca, ha->config_file, 0, &a) < 0 ||
	    a->ninsts != ha->ninsts) {
		update_drop_app(ha, "its table does not match the state");
		config_free(&c);
		return;
	}
	config_free(&c);
	if (ha->ran_env_set) {
		env_copy(&a->ran_env, &ha->ran_env);
		a->ran_env_set = 1;
	}
	listen_adopt(&a->socks, ha->sock_fds, ha->nslots, ha->sock_order,
	    ha->norder);
	for (i = 0; i < ha->ninsts; i++)
		update_restore_inst(a->insts[i], &ha->insts[i]);
}

void
update_restore(struct handover *h)
{
	struct app *a;
	size_t i, n, nproc = 0;
	int *fds = handover_fds(h, &n);

	/* Ours alone again: no later exec (an instance, a probe) inherits. */
	update_cloexec(fds, n, 1);
	free(fds);
	update_n = h->updates + 1;
	update_last = wsd_epoch_ms();
	for (i = 0; i < h->napps; i++)
		update_restore_app(&h->apps[i]);
	app_adopt_ids(h->next_id);
	for (i = 0; i < h->nlogs; i++)
		logcap_adopt(&h->logs[i]);
	TAILQ_FOREACH(a, app_all(), entry) {
		for (i = 0; i < a->ninsts; i++)
			nproc += a->insts[i]->pid != 0;
		inst_steer(a);
	}
	log_json(LOG_INFO, json_pack("{sssIsI}", "version", WSD_VERSION,
	    "update", (json_int_t)update_n, "processes", (json_int_t)nproc),
	    "update: wsd re-executed in place, %zu processes kept", nproc);
	/* A child that exited during execve had no handler to tell: look. */
	raise(SIGCHLD);
}

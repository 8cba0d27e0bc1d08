/*
 * The supervisor's shared types (apps, instances) and the interfaces of
 * its modules.  Each module's functions carry its name.
 */
#ifndef WSD_WSD_H
#define WSD_WSD_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "ecosystem.h"
#include "env.h"
#include "linebuf.h"
#include "policy.h"

#define WSD_VERSION	"0.1.0"

/* glibc's sys/queue.h lacks the BSD _SAFE iterators. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif
#ifndef LIST_FOREACH_SAFE
#define LIST_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = LIST_FIRST(head);					\
	    (var) != NULL && ((tvar) = LIST_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct ipc;
struct handover_log;

/*
 * metrics.c: the aggregated metrics (rows of figures per instance slot,
 * the counters carried across its processes, the Prometheus text).
 */
enum metrics_fig {
	MF_RESTARTS, MF_UNSTABLE, MF_UPTIME, MF_MEMORY, MF_MEMORY_LIMIT,
	MF_CPU_SECONDS, MF_CPU_PERCENT,
	/* the worker's, from its IPC stats */
	MF_ACTIVE, MF_CONNECTIONS, MF_MESSAGES, MF_DELIVERIES, MF_EVENTS,
	MF_AUTH_FAILURES, MF_ERRORS, MF_SLOW_CLOSES, MF_SUBSCRIPTIONS,
	MF_CHANNELS, MF_REDIS_UP,
	MF_COUNT
};
struct metrics_row {
	const char	*app;
	int		 slot;
	pid_t		 pid;		/* 0 = none */
	enum inst_state	 state;
	double		 v[MF_COUNT];
	unsigned char	 has[MF_COUNT];	/* v[i] is known */
};
/* What a slot's earlier processes counted (carried counters only). */
struct metrics_carry {
	double		 base[MF_COUNT];
};
/*
 * The worker figures of `stats` (may be NULL) plus the carried bases;
 * live = 0: the process is gone, only its counters are kept.
 */
void	 metrics_row_stats(struct metrics_row *, const json_t *stats,
	    const struct metrics_carry *, int live);
/* Add the carried bases to the row's carried counters. */
void	 metrics_row_carry(struct metrics_row *, const struct metrics_carry *);
/* The process is being replaced: its row (bases included) is the base. */
void	 metrics_carry_fold(struct metrics_carry *, const struct metrics_row *);
/* The exposition text, malloc'd (NULL on ENOMEM). */
char	*metrics_text(const struct metrics_row *, size_t n);
struct ipcmsg;

/*
 * Where an instance is in a zero-downtime reload (reload_inst).  While
 * SPAWNING and RETIRING two processes serve the slot: `pid` is the
 * replacement (what status shows), `old_pid` the process it replaces.  The
 * old one is no longer the policy's: its exit is never a crash.
 */
enum reload_phase {
	RL_NONE,	/* no reload */
	RL_SPAWNING,	/* replacement started, waiting until it is online */
	RL_RETIRING,	/* replacement online; the old process drains and exits */
	RL_DONE,	/* replaced (the reload job reads it, then RL_NONE) */
	RL_FAILED,	/* the replacement never came online (reload_why says why) */
};

/* A hot settings push to one instance (reload.c, SPEC §4.11). */
enum hot_phase {
	HP_NONE,	/* none asked */
	HP_WAIT,	/* sent, waiting for settings_ok / settings_error */
	HP_OK,		/* applied */
	HP_REFUSED,	/* refused (hot_why says why): replace it instead */
};

/* An app's listening sockets, one per slot (listen.c). */
struct listen_group {
	int		*fds;		/* by slot, -1 = none */
	size_t		 nslots;
	int		*order;		/* the kernel's socket array: slots */
	size_t		 n;
	int		*steered;	/* slots the attached program picks */
	size_t		 nsteered;
	int		 stale;		/* the array changed since */
};
/* One instance slot of an app (pm_id). */
struct inst {
	struct app		*app;
	int			 id;		/* global pm_id */
	int			 slot;		/* NODE_APP_INSTANCE */
	struct policy_state	 ps;
	pid_t			 pid;		/* 0 when no process runs */
	uint64_t		 created_at;	/* epoch ms */
	uint64_t		 started_epoch;	/* epoch ms of the last spawn */
	uint64_t		 spawns;	/* processes started so far */
	uv_timer_t		 timer;		/* listen/kill timeout, restart delay */
	struct ipc		*ipc;
	json_t			*stats;		/* last IPC stats object */
	struct metrics_carry	 carry;		/* counters of earlier pids */
	double			 cpu;		/* percent of one core */
	uint64_t		 mem;		/* RSS bytes of the process tree */
	uint64_t		 cpu_ticks;	/* last sample, clock ticks */
	uint64_t		 cpu_at;	/* last sample, monotonic ms */
	int			 removing;	/* delete/scale down: free once stopped */
	uint64_t		 retire_at;	/* monotonic ms: steered away, its
						   queue drains (0 = not) */
	char			*out_path;
	char			*err_path;
	enum reload_phase	 reload;
	pid_t			 old_pid;	/* the replaced process, 0 = none */
	struct ipc		*old_ipc;
	uv_timer_t		*old_timer;	/* its kill_timeout → SIGKILL */
	int			 old_signalled;	/* asked to drain */
	uint64_t		 old_started_epoch;
	struct policy_state	 old_ps;	/* restored if the replacement fails */
	char			*reload_why;	/* RL_FAILED: why */
	enum hot_phase		 hot;
	char			*hot_why;	/* HP_REFUSED: the instance's words */
	/* The leader exited while its group lives on: its exit waits. */
	int			 gone_status;	/* as waitpid() gave it */
	uint64_t		 gone_at;	/* monotonic ms, 0 = not waiting */
	TAILQ_ENTRY(inst)	 entry;		/* in the global list, by id */
};

struct app {
	struct app_config	 cfg;
	char			*config_file;	/* absolute, or NULL */
	char			*env_mode;	/* --env MODE or NULL */
	struct env		 env;		/* resolved at the last (re)start */
	/* What the running processes were given, kept when a new definition
	 * (start FILE, SIGHUP) replaced `env` under them: the next reload
	 * compares with it for hot settings.  Dropped at any spawn. */
	struct env		 ran_env;
	int			 ran_env_set;
	struct policy_conf	 pc;
	struct inst		**insts;	/* by slot */
	size_t			 ninsts;
	struct listen_group	 socks;		/* cluster only */
	int			 scale_pending;	/* cfg.instances not applied yet */
	int			 listen_port;
	uv_timer_t		*cron_timer;	/* watch.c: cron_restart, or NULL */
	int64_t			 cron_at;	/* watch.c: epoch s of the armed time */
	struct fswatch		*fswatch;	/* fswatch.c: watch, or NULL */
	TAILQ_ENTRY(app)	 entry;
};
TAILQ_HEAD(app_list, app);
TAILQ_HEAD(inst_list, inst);

/* wsd.c: the daemon's context (set up by main.c) and clocks. */
uint64_t	 wsd_now_ms(void);	/* monotonic */
uint64_t	 wsd_epoch_ms(void);
extern const char	*wsd_home;
extern uv_loop_t	*wsd_loop;
extern struct env	 wsd_base_env;	/* wsd's own environment at start */
extern uint64_t		 wsd_started_ms;	/* epoch ms */
extern int		 wsd_foreground;
/* Stop every app, then exit 0: the lifecycle main.c gives wsd_set_shutdown. */
void	 wsd_shutdown(const char *why);
void	 wsd_set_shutdown(void (*cb)(const char *why));
/* uv_read_start's allocator for a stream whose read_cb consumes or
 * copies what it got before returning: one buffer serves every such read. */
void	 wsd_read_alloc_cb(uv_handle_t *, size_t, uv_buf_t *);

/*
 * config.c: an ecosystem file (or dump.json's app) loaded, and each app's
 * environment resolved once; every entry point goes through it.
 */
struct config_app {
	struct app_config	 cfg;
	char			*mode;		/* --env MODE, or NULL */
	struct env		 env;		/* resolved (when ok) */
	int			 ok;		/* no error in errors */
	struct diag		 errors;	/* this app's env */
	struct diag		 warnings;
};
struct config {
	int			 loaded;	/* the file was valid: apps[] */
	char			*path;		/* absolute */
	struct config_app	*apps;
	size_t			 napps;
	struct diag		 errors;	/* all, the file's and the apps' */
	struct diag		 warnings;	/* all, in order */
	size_t			 nload_warnings; /* the first ones: the file's */
};
struct config_opts {
	const char		*mode;		/* --env MODE, or NULL */
	const struct env	*base;		/* the environment apps start from */
	/* SIGHUP: an app already in the table keeps its mode (or NULL). */
	const char		*(*mode_of_cb)(const char *name,
				    const char *mode);
};
/* 0, or -1 with c->errors (c->loaded says whether apps[] are there). */
int	 config_load(struct config *, const char *file,
	    const struct config_opts *);
int	 config_load_json(struct config *, json_t *doc, const char *file,
	    const char *dir, const struct config_opts *);
void	 config_app_free(struct config_app *);
void	 config_free(struct config *);

/*
 * app.c: the app and instance table: adding, scaling, freeing.  It sits
 * below the instance's lifecycle and reload: what it asks of them goes
 * through the ops main.c gives app_init, before any app is added.
 */
struct app_ops {
	int	 (*start)(struct inst *);		/* inst_start */
	void	 (*stop)(struct inst *);		/* inst_stop */
	void	 (*remove)(struct inst *);		/* inst_delete */
	void	 (*steer)(struct app *);		/* inst_steer */
	int	 (*reloading)(const struct app *);	/* reload_busy */
};
void	 app_init(const struct app_ops *);
struct app_list *app_all(void);
struct inst_list *app_insts(void);
struct inst	*app_inst_by_id(int);
struct app	*app_by_name(const char *);
/* Instances a target names ("all", a name, an id); 0 or -1 (no match). */
int	 app_target(json_t *target, struct inst ***out, size_t *n);
/*
 * Add or replace an app of a loaded config (taken over, its env too); -1
 * when its env did not resolve.  Its env warnings are logged.
 */
int	 app_add(struct config_app *ca /* moved */, const char *config_file,
	    int start, struct app **out);
int	 app_update_env(struct app *, struct diag *errors);
/* Put `env` (moved) back as the app's env; the replaced one is freed. */
void	 app_set_env(struct app *, struct env *env);
/* pm2 reset: the restart counters (↺, unstable) back to 0. */
void	 app_reset_counters(struct inst *);
/* The env the running processes run (ran_env, else env); forget ran_env. */
const struct env *app_ran_env(const struct app *);
void	 app_ran_env_drop(struct app *);
/*
 * Set the app's instance count to n (≥ 1).  When a reload, stop or earlier
 * scale of it is under way the count is recorded, *pending says why, and
 * app_scale_resume applies it once that has finished.  0 or -1.
 */
int	 app_scale(struct app *, int n, const char **pending);
void	 app_scale_resume(void);	/* after state changes */
/* Shutdown: stop everything; true once no process runs. */
void	 app_stop_all(void);
int	 app_all_stopped(void);
int	 app_all_online(void);
void	 app_sample_stats(void);
/* Called when an app is added or its definition replaced, and when freed. */
/* The next pm_id; the ids a hand-over set, adopted (the list re-sorted). */
int	 app_next(void);
void	 app_adopt_ids(int next_id);
void	 app_set_hooks(void (*added_cb)(struct app *),
	    void (*freed_cb)(struct app *));
json_t	*app_fields(const struct inst *);	/* log fields naming it */
/* A removed instance that no longer runs leaves the table (may free it). */
void	 app_inst_reap(struct inst *);

/* inst.c: each instance's lifecycle (events, actions, child exits). */
int	 inst_start(struct inst *);
void	 inst_stop(struct inst *);
/* Restart with the app's current env (app_update_env first to re-read it). */
void	 inst_restart(struct inst *);
void	 inst_delete(struct inst *);
/* Kept across a re-exec: its timer armed again (-1: none was). */
void	 inst_resume(struct inst *, int64_t timer_ms);
void	 inst_child_exit(pid_t, int status);	/* proc_exit_cb */
/* cb runs after each transition (in the order given); inst_settled runs
 * them all now (after a change made outside a transition). */
void	 inst_observe(void (*cb)(void));
void	 inst_settled(void);
/* An event for the instance's policy. */
void	 inst_event(struct inst *, enum policy_ev, int code, int sig);
void	 inst_ipc_cb(void *arg, const struct ipcmsg *);	/* its IPC messages */
/* New connections to the app's slots whose process accepts now. */
void	 inst_steer(struct app *);
/*
 * reload.c's part in an instance's life (inst.c sits below reload.c):
 * after each event; the replaced process's drain, its exit, its log
 * fields; the replacement gone before it was online (the old one is
 * back); a settings push answered (error NULL = applied).  reload_init
 * sets them, before any instance starts.
 */
struct inst_reload_ops {
	void	 (*advance)(struct inst *);
	void	 (*old_retire)(struct inst *);
	void	 (*old_gone)(struct inst *);
	json_t	*(*old_fields)(const struct inst *);
	void	 (*restore)(struct inst *, const char *what);
	void	 (*settings_ack)(struct inst *, const char *error);
};
void	 inst_set_reload(const struct inst_reload_ops *);

/* watch.c: cron_restart and max_memory_restart, above app.c and reload.c. */
void	 watch_init(void);	/* before any app is added */
void	 watch_memory(void);	/* after app_sample_stats */

/* fswatch.c: watch (inotify): a change restarts the app, as PM2's does. */
void	 fswatch_app(struct app *);	/* (re)start following its definition */
void	 fswatch_app_stop(struct app *);
/* {"dirs","capped","last_change","last_restart_at"}, or NULL: no watch. */
json_t	*fswatch_json(const struct app *);
/* Whether `rel` is ignored by the patterns (dflt: PM2's default list). */
int	 fswatch_ignored(char *const *pats, size_t n, int dflt, const char *rel);

/* view.c: the JSON views (status, describe, dump.json). */
/* One instance; details adds the app's config and env, secrets masked. */
json_t	*view_inst_json(const struct inst *, int details);
/* The instances of these apps (not those being removed). */
json_t	*view_app_insts(struct app **apps, size_t napps);

/* spawn.c: an instance's process, planned (pure), then started. */
struct spawn_what {
	const struct app_config	*cfg;
	const struct env	*env;		/* the app's, resolved */
	const char		*path;		/* the script, resolved */
	const char		*interp;	/* resolved, or NULL */
	int			 slot;
	int			 id;
	int			 listen;	/* a slot socket goes to fd 3 */
};
struct spawn_plan {
	char		**argv;		/* [interp,] script, args */
	char		**envp;		/* env + WSD_* and LISTEN_* */
	int		  listen;
};
int	 spawn_plan(struct spawn_plan *, const struct spawn_what *);
/*
 * What the app runs, found as exec will find it (the script through cwd
 * and the app's PATH, its interpreter; for a command line, bash or sh and
 * the line's first program): NULL with *path (and *interp) set, or why
 * not, malloc'd.  The loader checks with it, so wsd -n fails what a
 * start would.
 */
char	*spawn_locate(const struct app_config *, const struct env *,
	    char **path, char **interp);
void	 spawn_plan_free(struct spawn_plan *);
/* Start in's process; its IPC messages go to ipc_cb.  0 or -1 (logged). */
int	 spawn_inst(struct inst *, void (*ipc_cb)(void *, const struct ipcmsg *));

/* proc.c: fork/exec with fd placement, signalling, reaping. */
struct proc_spec {
	const char	*path;		/* resolved executable */
	char		**argv;
	char		**envp;		/* may contain "LISTEN_PID=" (filled in the child) */
	const char	*cwd;
	int		 listen_fd;	/* -1 or → fd 3 */
	int		 ipc_fd;	/* → fd 4 (3 without a listen fd) */
	int		 out_fd;	/* → 1 */
	int		 err_fd;	/* → 2 */
	/* Run as uid/gid with `groups` (setgroups) when `setuid`: wsd is root. */
	int		 setuid;
	uid_t		 uid;
	gid_t		 gid;
	const gid_t	*groups;
	int		 ngroups;
};
typedef void	(*proc_exit_cb)(pid_t, int status);
int	 proc_init(uv_loop_t *, proc_exit_cb);
pid_t	 proc_spawn(const struct proc_spec *, char **err);
int	 proc_signal(pid_t, int sig, int group);
/* Find the executable for `script`; malloc'd path or NULL. */
char	*proc_resolve(const char *script, const char *cwd, const struct env *);

/* logcap.c: children's stdout/stderr → log files (time prefix, rotation). */
/* Read `fd` (taken) until EOF into path (and `also`); the stream frees
 * itself at EOF, so the last lines of a dead process are kept.  Lines get
 * a date prefix when `time` or `datefmt` (datefmt.h) is given.  0 or -1. */
int	 logcap_attach(int fd, const char *path, const char *also,
	    int time, const char *datefmt, uint64_t max_size, int retain);
void	 logcap_reopen_all(void);	/* wsd.log and every instance log */
int	 logcap_truncate(const char *path);
/* The streams reading now, for a re-exec; and one of them taken back. */
int	 logcap_export(struct handover_log **, size_t *n);
int	 logcap_adopt(const struct handover_log *);

/* ipc.c: the JSON-lines channel to an instance. */
struct ipcmsg;
typedef void	(*ipc_msg_cb)(void *arg, const struct ipcmsg *);
struct ipc	*ipc_open(uv_loop_t *, int fd, ipc_msg_cb, void *arg);
void	 ipc_set_cb(struct ipc *, ipc_msg_cb, void *arg);
int	 ipc_send(struct ipc *, json_t *msg /* stolen */);
/* Whether the process ever sent a message on it (it speaks IPC). */
int	 ipc_heard(const struct ipc *);
void	 ipc_close(struct ipc *);	/* frees itself; no more callbacks */
int	 ipc_fd(const struct ipc *);	/* its socket, or -1 */

/* listen.c: SO_REUSEPORT listening sockets for cluster slots. */
/* Slot's socket, bound now if it has none; -1 (*err) when it cannot be. */
int	 listen_slot(struct listen_group *, int slot, const char *host,
	    int port, char **err);
int	 listen_fd(const struct listen_group *, int slot);	/* or -1 */
/* Connections waiting in slot's accept queue, -1 = no socket. */
int	 listen_queued(const struct listen_group *, int slot);
/* Close slot's socket: only once no process of the slot holds it. */
void	 listen_close(struct listen_group *, int slot);
void	 listen_close_all(struct listen_group *);
/* A re-exec: the sockets (by slot) and the kernel's array, copied in. */
void	 listen_adopt(struct listen_group *, const int *fds, size_t nslots,
	    const int *order, size_t n);
/* New connections go to these slots only (ascending); 0 or -1 (*err). */
int	 listen_steer(struct listen_group *, const int *slots, size_t n,
	    char **err);

/* scrape.c: the instance table read into metrics rows. */
char	*scrape_text(void);			/* metrics_text of every slot */
void	 scrape_fold(struct inst *);		/* before a new process */
/* One row per instance (the caller frees *rows); 0 or -1. */
int	 scrape_rows(struct metrics_row **rows, size_t *n);

/* events.c: the last lines of wsd's own log (for wsctl monit). */
void	 events_init(void);
json_t	*events_json(size_t n);		/* the last n, oldest first */

/* httpd.c: GET /metrics for WSD_METRICS_ADDR / --metrics. */
int	 httpd_listen(const char *addr, char **err);	/* fd or -1 */
int	 httpd_open(uv_loop_t *, int fd);
void	 httpd_close(void);
int	 httpd_fd(void);	/* the listening socket, or -1 */

/* procstat.c: processes from /proc/PID/stat; cpu and RSS of process trees. */
struct procinfo {
	pid_t		 pid;
	pid_t		 ppid;
	pid_t		 pgrp;
	pid_t		 sid;
	char		 state;		/* R, S, D, Z … */
	uint64_t	 start;		/* clock ticks after boot */
	uint64_t	 ticks;		/* utime + stime */
	uint64_t	 rss;		/* bytes */
};
int	 procstat_read(pid_t, struct procinfo *);	/* 0, or -1: no such process */
/* Every process now: a malloc'd array sorted by pid. */
int	 procstat_all(struct procinfo **, size_t *n);
const struct procinfo *procstat_find(const struct procinfo *, size_t n, pid_t);
struct procstat {
	pid_t		 pid;
	uint64_t	 ticks;		/* utime + stime, clock ticks */
	uint64_t	 rss;		/* bytes */
};
int	 procstat_sample(struct procstat *, size_t n);

/*
 * leftover.c: this run's instances on record under the home (run.json), and
 * at start the end of whatever a dead wsd of the same home left running.
 * leftover_start runs before any instance starts; launcher: the process
 * that ran wsd (spared, with its ancestors).
 */
void	 leftover_start(const char *home, pid_t launcher);
/* After a re-exec (update.c): this process's run.json, taken over. */
int	 leftover_resume(const char *home);
const char *leftover_marker(void);	/* "WSD_RUN_ID=…", in every instance's env */
void	 leftover_add(pid_t pgid);	/* a new instance process (group leader) */
void	 leftover_check(void);		/* after reaping: forget empty groups */

/*
 * control.c: the control socket, clients and their ordered replies.  It
 * knows no command: each request goes to the runner set once at start-up
 * (command.c's table, by command_init), which returns the reply line, or
 * NULL when the reply was deferred.
 */
struct client;
struct reply;
struct cmd_ctx {
	struct client	*client;
	json_t		*id;
	json_t		*args;
	uid_t		 uid;
	pid_t		 pid;
};
void	 control_serve(char *(*run_cb)(struct cmd_ctx *, const char *cmd));
int	 control_open(uv_loop_t *, int fd);
void	 control_close(void);
int	 control_fd(void);	/* the listening socket, or -1 */
/* A deferred reply: filled later with control_reply_done. */
struct reply *control_reply_defer(struct client *);
void	 control_reply_done(struct reply *, char *line /* moved */);

/* command.c: the command table; command_init gives control.c its runner. */

/* command_pm2.c: the PM2 commands command.c's table names. */
char	*command_pm2_send_signal(struct cmd_ctx *);
char	*command_pm2_reset(struct cmd_ctx *);
char	*command_pm2_cleardump(struct cmd_ctx *);
char	*command_pm2_app_names(struct cmd_ctx *);
/* start FILE --only a,b: keep those apps of the file; -1 with errors. */
int	 command_pm2_only(struct config *, json_t *args, struct diag *);
void	 command_init(void);	/* its waiters follow the instances */

/*
 * settle.c: the reply of start and restart, sent once each of v's
 * instances is up (online for min_uptime), errored or stopped, or a bound
 * has passed; its "failed" member names the ones that did not come up.
 * data (moved, may be NULL): the reply's other members.  Returns NULL
 * (deferred); act on the instances, then settle_check().
 */
char	*settle_reply(struct cmd_ctx *, struct inst **v, size_t n,
	    json_t *data);
void	 settle_check(void);
void	 settle_init(void);	/* its replies follow the instances */

/* reload.c: reload jobs, instance by instance, one app at a time. */
/*
 * Reload the instances `v` (env files re-read once per app).  reply: the
 * control reply to fill when the job ends, or NULL (cron_restart,
 * max_memory_restart, SIGHUP: logged only).  A job waits while an earlier
 * one still has instances of the same app to do.
 */
void	 reload_start(struct inst **v, size_t n, struct reply *reply,
	    json_t *id, const char *why);
int	 reload_busy(const struct app *);	/* a job still has its instances */
int	 reload_idle(void);			/* no job at all */
/* Its jobs follow the instances; it takes its part in their lives
 * (inst_set_reload). */
void	 reload_init(void);
/*
 * Zero-downtime replacement of one online instance: spawn the replacement
 * on the same slot socket, and once it is online drain the old process.
 * 0 = started (follow with reload_result), -1 = not online.
 */
int	 reload_inst(struct inst *);
/* 0 in progress, 1 replaced, -1 failed (*why); then forget the outcome. */
int	 reload_result(struct inst *, const char **why);
void	 reload_forget(struct inst *);
/*
 * Whether re-reading the env of v's apps changes only hot settings (for
 * `restart --update-env`, which then reloads to push them); the apps keep
 * the env they had.
 */
int	 reload_hot_only(struct inst **v, size_t n);

/* daemon.c: home folder, pid file lock, socket file, daemonizing. */
int	 daemon_home(const char *home, char **err);
int	 daemon_lock(const char *home, char **err);
int	 daemon_socket(const char *home, char **err);
int	 daemon_detach(void);	/* fork, setsid, fork; in the daemon: 0 */
void	 daemon_ready(int status);	/* tell the waiting parent */
int	 daemon_write_pid(void);
/* The locked pid file's fd; after a re-exec, the same lock taken back. */
int	 daemon_lock_fd(void);
void	 daemon_resume(const char *home, int lockfd);
void	 daemon_cleanup(void);	/* remove the socket and pid files */
int	 daemon_open_log(const char *home);

/* probe.c: a short helper run's output, read without blocking the loop. */
/* out: what it printed (stdout and stderr), NUL-ended; timed_out: killed. */
typedef void	(*probe_done_cb)(void *arg, const char *out, int timed_out);
/* Run path (argv, envp); in_fd (-1: none) becomes its fd 3.  0, or -1
 * with *err (malloc'd) when it could not be started. */
int	 probe_run(const char *path, char **argv, char **envp, int in_fd,
	    uint64_t timeout_ms, probe_done_cb cb, void *arg, char **err);

/* nodever.c: a node app's node version ("20.11.1"), NULL for other apps
 * and until `node --version` (run once per interpreter, on the loop) said. */
const char *nodever_of(const struct app *);

/* update.c: wsctl update, wsd re-executing itself with its children. */
struct handover;
/* At start: the binary's path and argv to run again; -f FILE, --env. */
void	 update_init(char **argv, const char *config, const char *mode);
/* The update command: check the new binary, then exec it (the reply is
 * sent first) or reply why not. */
void	 update_start(struct reply *, json_t *id);
/* For ping: re-executions so far, the last one's time, the failures. */
json_t	*update_json(void);
/* WSD_HANDOVER_FD: read the state (*err when unusable). */
int	 update_read(struct handover *, char **err);
/* wsd --handover-check: whether this binary can take that state over. */
int	 update_check(void);
/* The tables, processes and descriptors of the state taken back. */
void	 update_restore(struct handover *);

#endif

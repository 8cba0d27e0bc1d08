/*
 * The ecosystem file: PM2's schema (docs/ecosystem.md), loaded with every
 * error reported at once, and the per-app environment resolved from it.
 */
#ifndef WSD_ECOSYSTEM_H
#define WSD_ECOSYSTEM_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "diag.h"
#include "env.h"

enum exec_mode {
	EXEC_FORK,
	EXEC_CLUSTER,
};

/* A named env overlay: "env_production" → mode "production". */
struct env_mode {
	char		*mode;
	struct env	 env;
};

struct app_config {
	char		*name;		/* default: basename of script */
	char		*script;	/* as written */
	char		**args;		/* NULL-terminated; string form split on spaces */
	char		*interpreter;	/* NULL, or e.g. "node" (.js/.mjs/.cjs default) */
	char		**node_args;	/* NULL-terminated, to the interpreter before the script */
	int		 shell;		/* script is a command line: run as bash -c SCRIPT (PM2's rule) */
	char		*cwd;		/* absolute; default: the config file's folder */
	int		 instances;	/* resolved: "max"/0 → CPU count, -N → CPUs - N (≥ 1) */
	enum exec_mode	 exec_mode;	/* cluster when instances > 1 unless fork is given */
	int		 port;		/* "port" field; 0 = take WS_PORT, else PORT from env */
	char		*instance_var;	/* set to the instance number: NODE_APP_INSTANCE */
	char		*increment_var;	/* NULL, or a variable raised by the instance number */

	/* uid/user and gid: who the processes run as; user NULL: as wsd. */
	char		*user;		/* the user's name, resolved */
	char		*group;		/* gid as written, NULL: the user's own */
	uid_t		 uid;
	gid_t		 gid;
	char		*home;		/* the user's home: HOME */

	struct env	 env;		/* "env" */
	struct env_mode	*modes;		/* "env_<mode>" */
	size_t		 nmodes;
	char		**env_files;	/* absolute paths, in order */
	size_t		 nenv_files;
	char		**secrets;	/* the "secrets" list */
	size_t		 nsecrets;

	int		 autorestart;		/* true */
	int		 max_restarts;		/* 16 */
	uint64_t	 min_uptime_ms;		/* 1000 */
	uint64_t	 restart_delay_ms;	/* 0 */
	uint64_t	 exp_backoff_ms;	/* 0 = unset */
	int		*stop_exit_codes;
	size_t		 nstop_exit_codes;
	uint64_t	 kill_timeout_ms;	/* 1600 */
	uint64_t	 listen_timeout_ms;	/* 3000 */
	int		 wait_ready;		/* false */
	int		 kill_signal;		/* SIGINT */
	uint64_t	 max_memory_restart;	/* bytes, 0 = none */

	char		*out_file;	/* absolute or NULL (default in $WSD_HOME/logs) */
	char		*error_file;
	char		*log_file;	/* combined, or NULL */
	int		 merge_logs;	/* false */
	int		 time;		/* false; true: log_date_format is PM2's YYYY-MM-DDTHH:mm:ss */
	char		*log_date_format; /* day.js or strftime (datefmt.h): a prefix per line */
	uint64_t	 log_max_size;	/* 10M */
	int		 log_retain;	/* 10 */

	char		*cron_restart;	/* validated 5-field cron or NULL */
	/* watch: restart on file changes (supervisor/fswatch.c) */
	int		 watch;		/* false */
	char		**watch_paths;	/* as written, relative to cwd; none = cwd */
	size_t		 nwatch_paths;
	char		**ignore_watch;	/* globs and paths */
	size_t		 nignore_watch;
	int		 ignore_watch_set; /* else PM2's: dot files, node_modules */
	uint64_t	 watch_delay_ms;	/* 0 */
	int		 treekill;	/* true */

	json_t		*raw;		/* the app object as written (for dump/describe) */
	char		*origin;	/* "FILE: apps[N]", the place messages name */
};

struct ecosystem {
	char			*path;	/* absolute */
	char			*dir;	/* its folder */
	struct app_config	*apps;
	size_t			 napps;
};

/*
 * Load and validate a file.  Every error goes to `errors` as
 * "FILE: apps[1].instances: expected a number or \"max\"" or
 * "FILE:LINE:COL: …" for JSON syntax; unknown keys go to `warnings` as
 * "FILE: apps[0].watch: unknown key, ignored".  Returns 0, or -1 when any
 * error was added (callers exit 78).
 */
int	eco_load(const char *path, struct ecosystem *out,
	    struct diag *errors, struct diag *warnings);
/*
 * jansson's error text without the input it quotes ("invalid escape near
 * '\"TopSecret\\q'" → "invalid escape"): the place is given by line and
 * column, and the quoted text may be part of a secret value.
 */
void	eco_json_reason(const json_error_t *, char *buf, size_t len);
/* Same from an already parsed document (dump.json); `path` names it in messages. */
int	eco_load_json(json_t *doc, const char *path, const char *dir,
	    struct ecosystem *out, struct diag *errors, struct diag *warnings);
void	eco_free(struct ecosystem *);
void	eco_app_free(struct app_config *);
int	eco_app_copy(struct app_config *dst, const struct app_config *src);

/*
 * The environment an instance starts with, lowest precedence first:
 * `base` (wsd's own environment) → env_file(s) in order → env → env_<mode>,
 * then secrets_apply().  A missing env_file is an error naming the path.
 * Returns -1 with messages in `errors`.
 */
int	eco_resolve_env(const struct app_config *, const char *mode,
	    const struct env *base, struct env *out,
	    struct diag *errors, struct diag *warnings);

#endif

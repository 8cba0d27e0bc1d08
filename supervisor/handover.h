/*
 * handover.c: the state one wsd process hands to the binary it re-executes
 * (wsctl update), as a versioned JSON document.  Pure: a struct handover
 * in, a document out, and back, every field checked; the live side
 * (collecting the tables, the descriptors, exec, rebuilding) is update.c.
 *
 * The rule for versions: HANDOVER_VERSION names the document's meaning; a
 * wsd reads exactly its own version.  Any change to what a field means, or
 * a field a new wsd needs, bumps it; a wsd that meets another version
 * refuses the state, and the running wsd (which asked it first) keeps
 * running.
 */
#ifndef WSD_HANDOVER_H
#define WSD_HANDOVER_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "env.h"
#include "policy.h"

#define HANDOVER_VERSION	1
#define HANDOVER_COUNTERS	18	/* doubles carried per slot (MF_COUNT) */

/* One instance slot: its process, its policy state and its descriptors. */
struct handover_inst {
	int			 id;		/* pm_id */
	int			 slot;
	pid_t			 pid;		/* 0: no process */
	uint64_t		 created_at;	/* epoch ms */
	uint64_t		 started_epoch;	/* epoch ms of the last spawn */
	uint64_t		 spawns;
	struct policy_state	 ps;		/* monotonic ms survive exec */
	int64_t			 timer_ms;	/* due in, -1 = not armed */
	int			 ipc_fd;	/* -1 = none */
	double			 carry[HANDOVER_COUNTERS];
	json_t			*stats;		/* last IPC stats, or NULL */
	char			*out_path;	/* or NULL */
	char			*err_path;
	uint64_t		 cpu_ticks;
	uint64_t		 cpu_at;
};

/* One app: enough to rebuild its definition, its env, its sockets. */
struct handover_app {
	json_t			*config;	/* the app object as loaded (raw) */
	char			*config_file;	/* or NULL */
	char			*dir;		/* what relative paths meant */
	char			*env_mode;	/* or NULL */
	struct env		 env;		/* resolved, as the app has it */
	struct env		 ran_env;
	int			 ran_env_set;
	int			*sock_fds;	/* by slot, -1 = none */
	size_t			 nslots;
	int			*sock_order;	/* the kernel's socket array */
	size_t			 norder;
	struct handover_inst	*insts;		/* by slot */
	size_t			 ninsts;
};

/* A log capture stream: a pipe's read end and where it goes. */
struct handover_log {
	int			 fd;
	char			*path;
	char			*also;		/* or NULL */
	int			 time;
	char			*datefmt;	/* or NULL */
	uint64_t		 max_size;
	int			 retain;
	int			 at_bol;
};

struct handover {
	int			 version;
	char			*home;
	char			*config;	/* wsd -f FILE, absolute, or NULL */
	char			*mode;		/* --env MODE, or NULL */
	uint64_t		 started_ms;	/* wsd's first start, epoch ms */
	uint64_t		 updates;	/* re-executions so far */
	int			 next_id;
	int			 lock_fd;	/* the home's locked pid file */
	int			 control_fd;
	int			 metrics_fd;	/* -1 = none */
	struct handover_app	*apps;
	size_t			 napps;
	struct handover_log	*logs;
	size_t			 nlogs;
};

/* The document (a new reference). */
json_t	*handover_encode(const struct handover *);
/* 0, or -1 with *err (malloc'd); h is filled only on success. */
int	 handover_decode(struct handover *, const json_t *doc, char **err);
void	 handover_free(struct handover *);
/* Every descriptor the state names, malloc'd; the count in *n. */
int	*handover_fds(const struct handover *, size_t *n);

#endif

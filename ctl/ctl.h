/* wsctl's shared declarations: the command tables, the session, the client and the views. */
#ifndef WSD_CTL_H
#define WSD_CTL_H

#include <stdio.h>

#include <jansson.h>

/*
 * One state per wsctl run: where the daemon is, the global flags, and the
 * one connection every command reuses (opened on the first request).
 */
struct ctl {
	char		 home[4096];	/* $WSD_HOME, default ~/.wsd */
	char		 sock[4096 + 16];	/* home/wsd.sock */
	int		 json;		/* --json: print the reply's data */
	int		 colour;	/* stdout is a tty and NO_COLOR unset */
	int		 fd;		/* -1 until connected */
	long		 next_id;
	char		 errcode[64];	/* code of the last error reply */
	const struct ctl_cmd *cmd;	/* the command being run */
	char		 rbuf[8192];	/* reply bytes read past a line */
	size_t		 rlen;
};

/*
 * A command is a row: its name, its other names (space-separated, may be
 * NULL), its usage after the name, and its handler.  The handler gets argv
 * with argv[0] the command name and --json already removed, and returns
 * the exit status (common/exitcodes.h).
 *
 * Adding a command group (for example ctl/startup.c): write the file with
 * one table `const struct ctl_cmd startup_cmds[]` ending in an all-NULL
 * row, declare it below with the others, and add its name to `groups[]`
 * in main.c.  Nothing else changes: lookup and `wsctl help` walk the
 * groups.
 */
struct ctl_cmd {
	const char	*name;
	const char	*aliases;
	const char	*usage;
	int		(*exec)(struct ctl *, int, char **);
};

extern const struct ctl_cmd cmd_apps_cmds[];	/* start stop restart reload delete scale */
extern const struct ctl_cmd cmd_info_cmds[];	/* status jlist describe env ping */
extern const struct ctl_cmd cmd_logs_cmds[];	/* logs flush reloadLogs */
extern const struct ctl_cmd cmd_daemon_cmds[];	/* kill save resurrect */
extern const struct ctl_cmd cmd_token_cmds[];	/* token publish */
extern const struct ctl_cmd cmd_metrics_cmds[];	/* metrics */
extern const struct ctl_cmd cmd_monit_cmds[];	/* monit */
extern const struct ctl_cmd cmd_pm2_cmds[];	/* sendSignal reset cleardump */
extern const struct ctl_cmd startup_cmds[];	/* startup unstartup (ctl/startup.c) */

/* ctl.c: "usage: wsctl <usage>" for ctl->cmd on stderr; returns 64. */
int	ctl_usage(struct ctl *);
/* Print "wsctl: <msg>" on stderr. */
void	ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a reply's "warnings" (unknown config keys …), one per line. */
void	ctl_warnings(json_t *data);

/*
 * client.c: the control socket.  client_call sends one request (`args`
 * stolen, may be NULL) and waits for its reply.  Returns 0 with *data (a
 * new reference) on an ok reply; otherwise prints the reason and returns
 * 69 (no daemon), 78 (config_error, every line printed) or 1 (any other
 * error reply, its code left in ctl->errcode).
 */
int	client_connect(struct ctl *);	/* 0, or -1 with errno */
int	client_call(struct ctl *, const char *cmd, json_t *args, json_t **data);
void	client_close(struct ctl *);
int	client_not_running(struct ctl *);	/* prints the message, returns 69 */

/* cmd_apps.c: start the daemon when none answers (as `pm2 start` does). */
int	cmd_apps_ensure_daemon(struct ctl *);

/* status.c: the process list as PM2 draws it. */
int	status_show(struct ctl *);		/* list + table; exit status */
void	status_print(struct ctl *, FILE *, json_t *instances);
void	status_uptime(char *, size_t, long long ms);
void	status_bytes(char *, size_t, double bytes);
void	status_cpu(char *, size_t, double percent);
void	status_json_print(json_t *);		/* compact JSON + newline */

#endif

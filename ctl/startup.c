/* wsctl startup / unstartup: the boot-time service for this host and user. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "exitcodes.h"
#include "fsutil.h"

/*
 * What gets installed, and why so:
 *
 *  - root (uid 0) gets the system service "wsd" with WSD_HOME=/var/lib/wsd,
 *    created by systemd's StateDirectory=.  Any other user U gets "wsd-U"
 *    (as pm2 writes pm2-U.service), so several users can each have one,
 *    with WSD_HOME=~U/.wsd, the home `wsctl` finds by default when U runs
 *    it.  A user whose home folder does not exist (nobody, system users)
 *    gets /var/lib/wsd-U instead, created by StateDirectory= as well.
 *  - The user is --user, else the account of our real uid looked up in
 *    the password database: never $USER, which is unset under cron, sudo
 *    -i or ssh commands (pm2 writes "User=undefined" then).  A uid without
 *    an account is an error.
 *  - The programs are the ones next to this wsctl (/proc/self/exe), or
 *    --bindir for a package being built somewhere else.
 *  - The unit and the init script come from the templates below; the
 *    shipped init/wsd.service and init/wsd.init are exactly their output
 *    for root, /var/lib/wsd and /usr/local/bin (a test checks it).
 *  - Values are substituted into a unit file and a shell script, so they
 *    are limited to characters that need no quoting in either.
 */

#define STARTUP_SYSTEMD_DIR	"/etc/systemd/system"
#define STARTUP_SYSV_DIR	"/etc/init.d"
#define STARTUP_WANTS_DIR	"/etc/systemd/system/multi-user.target.wants"

static const char startup_unit_template[] =
"# wsd: the boot-time service that runs the apps saved with `wsctl save`.\n"
"# Written by `wsctl startup systemd`; see wsd(8) and wsctl(1).\n"
"[Unit]\n"
"Description=wsd WebSocket service supervisor (@USER@)\n"
"Documentation=man:wsd(8) man:wsctl(1) man:wsd-ecosystem(5)\n"
"After=network-online.target\n"
"Wants=network-online.target\n"
"\n"
"[Service]\n"
"# READY=1 once every app that should run is online (sd_notify).\n"
"Type=notify\n"
"NotifyAccess=main\n"
"User=@USER@\n"
"Environment=WSD_HOME=@HOME@\n"
"@OWNPATH@Environment=PATH=@BINDIR@:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
"@STATE@StateDirectory=@STATEDIR@\n"
"@STATE@StateDirectoryMode=0700\n"
"ExecStart=@BINDIR@/wsd --foreground --resurrect\n"
"ExecReload=@BINDIR@/wsctl reload all\n"
"# wsd stops its instances itself on SIGTERM, each with its kill_signal and\n"
"# kill_timeout, so the signal goes to wsd alone; whatever is left gets\n"
"# SIGKILL after TimeoutStopSec, which must exceed the largest kill_timeout\n"
"# plus its drain window (WS_DRAIN_SPREAD_MS).\n"
"KillMode=mixed\n"
"TimeoutStartSec=120\n"
"TimeoutStopSec=60\n"
"Restart=on-failure\n"
"RestartSec=1\n"
"WatchdogSec=30\n"
"LimitNOFILE=1048576\n"
"UMask=0077\n"
"NoNewPrivileges=yes\n"
"PrivateTmp=yes\n"
"ProtectSystem=full\n"
"\n"
"[Install]\n"
"WantedBy=multi-user.target\n";

static const char startup_sysv_template[] =
"#!/bin/sh\n"
"### BEGIN INIT INFO\n"
"# Provides:          @NAME@\n"
"# Required-Start:    $remote_fs $network $syslog\n"
"# Required-Stop:     $remote_fs $network $syslog\n"
"# Should-Start:      redis-server redis-sentinel\n"
"# Should-Stop:       redis-server redis-sentinel\n"
"# Default-Start:     2 3 4 5\n"
"# Default-Stop:      0 1 6\n"
"# Short-Description: wsd WebSocket service supervisor (@USER@)\n"
"# Description:       Starts wsd, which restores the apps saved with\n"
"#                    `wsctl save` and supervises them.\n"
"### END INIT INFO\n"
"# Written by `wsctl startup sysv`; see wsd(8) and wsctl(1).\n"
"#\n"
"# Settings, from /etc/default/@NAME@ (another file with WSD_DEFAULTS=), else\n"
"# from the environment, else the values below:\n"
"#   WSD_USER  WSD_HOME  WSD_BINDIR  WSD_ARGS (extra wsd arguments)\n"
"#   WSD_START_TIMEOUT  WSD_STOP_TIMEOUT (seconds)\n"
"# Exit status as LSB says: status 0 running, 1 dead with a pid file,\n"
"# 3 not running, 4 unknown; reload of a stopped service 7.\n"
"\n"
"NAME=@NAME@\n"
"WSD_USER=${WSD_USER:-@USER@}\n"
"WSD_HOME=${WSD_HOME:-@HOME@}\n"
"WSD_BINDIR=${WSD_BINDIR:-@BINDIR@}\n"
"WSD_ARGS=${WSD_ARGS:-}\n"
"WSD_START_TIMEOUT=${WSD_START_TIMEOUT:-30}\n"
"WSD_STOP_TIMEOUT=${WSD_STOP_TIMEOUT:-60}\n"
"WSD_DEFAULTS=${WSD_DEFAULTS:-/etc/default/$NAME}\n"
"# shellcheck disable=SC1090\n"
"[ -r \"$WSD_DEFAULTS\" ] && . \"$WSD_DEFAULTS\"\n"
"\n"
"PIDFILE=$WSD_HOME/wsd.pid\n"
"PATH=$WSD_BINDIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
"export WSD_HOME PATH\n"
"\n"
"# Run a command as $WSD_USER when we are root and it is someone else.\n"
"as_user() {\n"
"\tif [ \"$(id -u)\" != 0 ] || [ \"$WSD_USER\" = root ]; then\n"
"\t\t\"$@\"\n"
"\telif command -v runuser >/dev/null 2>&1; then\n"
"\t\trunuser -u \"$WSD_USER\" -- \"$@\"\n"
"\telse\n"
"\t\tsu -s /bin/sh -c \"exec $*\" \"$WSD_USER\"\n"
"\tfi\n"
"}\n"
"\n"
"ping_wsd() { \"$WSD_BINDIR/wsctl\" ping >/dev/null 2>&1; }\n"
"\n"
"# The pid in the pid file when that process is a wsd, else nothing.\n"
"live_pid() {\n"
"\t[ -r \"$PIDFILE\" ] || return 1\n"
"\tread -r pid < \"$PIDFILE\" 2>/dev/null || return 1\n"
"\tcase $pid in ''|*[!0-9]*) return 1 ;; esac\n"
"\tkill -0 \"$pid\" 2>/dev/null || [ -d \"/proc/$pid\" ] || return 1\n"
"\tif [ -r \"/proc/$pid/comm\" ]; then\n"
"\t\tcase $(cat \"/proc/$pid/comm\" 2>/dev/null) in wsd*) ;; *) return 1 ;; esac\n"
"\tfi\n"
"\techo \"$pid\"\n"
"}\n"
"\n"
"do_status() {\n"
"\tif ping_wsd; then\n"
"\t\techo \"$NAME is running (home $WSD_HOME)\"\n"
"\t\treturn 0\n"
"\tfi\n"
"\tif pid=$(live_pid); then\n"
"\t\techo \"$NAME (pid $pid) is not answering on $WSD_HOME/wsd.sock\"\n"
"\t\treturn 4\n"
"\tfi\n"
"\tif [ -e \"$PIDFILE\" ]; then\n"
"\t\techo \"$NAME is dead but $PIDFILE exists\"\n"
"\t\treturn 1\n"
"\tfi\n"
"\techo \"$NAME is not running\"\n"
"\treturn 3\n"
"}\n"
"\n"
"do_start() {\n"
"\tif ping_wsd; then\n"
"\t\techo \"$NAME is already running\"\n"
"\t\treturn 0\n"
"\tfi\n"
"\tif [ ! -x \"$WSD_BINDIR/wsd\" ]; then\n"
"\t\techo \"$NAME: $WSD_BINDIR/wsd is not installed\" >&2\n"
"\t\treturn 5\n"
"\tfi\n"
"\tif [ ! -d \"$WSD_HOME\" ]; then\n"
"\t\tmkdir -p \"$WSD_HOME\" && chmod 0700 \"$WSD_HOME\" || return 1\n"
"\t\t[ \"$(id -u)\" != 0 ] || chown \"$WSD_USER\" \"$WSD_HOME\" || return 1\n"
"\tfi\n"
"\tlive_pid >/dev/null || rm -f \"$PIDFILE\"\n"
"\t# As the systemd unit's LimitNOFILE=, as far as the hard limit allows.\n"
"\t# shellcheck disable=SC3045\n"
"\tulimit -n 1048576 2>/dev/null || ulimit -n \"$(ulimit -Hn)\" 2>/dev/null\n"
"\techo \"Starting $NAME\"\n"
"\t# wsd daemonizes; its first process exits once the socket serves.\n"
"\t# shellcheck disable=SC2086\n"
"\tas_user \"$WSD_BINDIR/wsd\" --resurrect $WSD_ARGS || return 1\n"
"\ti=0\n"
"\twhile ! ping_wsd; do\n"
"\t\ti=$((i + 1))\n"
"\t\tif [ \"$i\" -gt $((WSD_START_TIMEOUT * 10)) ]; then\n"
"\t\t\techo \"$NAME did not answer within ${WSD_START_TIMEOUT}s\" >&2\n"
"\t\t\treturn 1\n"
"\t\tfi\n"
"\t\tsleep 0.1\n"
"\tdone\n"
"\treturn 0\n"
"}\n"
"\n"
"do_stop() {\n"
"\tpid=$(live_pid)\n"
"\tif [ -z \"$pid\" ] && ! ping_wsd; then\n"
"\t\trm -f \"$PIDFILE\"\n"
"\t\techo \"$NAME is not running\"\n"
"\t\treturn 0\n"
"\tfi\n"
"\techo \"Stopping $NAME\"\n"
"\t# wsctl kill stops every app gracefully, then the daemon.\n"
"\tif ! \"$WSD_BINDIR/wsctl\" kill >/dev/null 2>&1 && [ -n \"$pid\" ]; then\n"
"\t\tkill -TERM \"$pid\" 2>/dev/null\n"
"\tfi\n"
"\ti=0\n"
"\twhile { [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null; } ||\n"
"\t    { [ -z \"$pid\" ] && ping_wsd; }; do\n"
"\t\ti=$((i + 1))\n"
"\t\tif [ \"$i\" -gt $((WSD_STOP_TIMEOUT * 10)) ]; then\n"
"\t\t\techo \"$NAME did not stop within ${WSD_STOP_TIMEOUT}s: killing it\" >&2\n"
"\t\t\t[ -z \"$pid\" ] || kill -KILL \"$pid\" 2>/dev/null\n"
"\t\t\tbreak\n"
"\t\tfi\n"
"\t\tsleep 0.1\n"
"\tdone\n"
"\trm -f \"$PIDFILE\"\n"
"\treturn 0\n"
"}\n"
"\n"
"do_reload() {\n"
"\tif ! ping_wsd; then\n"
"\t\techo \"$NAME is not running\" >&2\n"
"\t\treturn 7\n"
"\tfi\n"
"\techo \"Reloading $NAME\"\n"
"\t\"$WSD_BINDIR/wsctl\" reload all >/dev/null\n"
"}\n"
"\n"
"case \"${1:-}\" in\n"
"start)\t\tdo_start ;;\n"
"stop)\t\tdo_stop ;;\n"
"restart)\tdo_stop && do_start ;;\n"
"reload|force-reload)\n"
"\t\tdo_reload ;;\n"
"status)\t\tdo_status ;;\n"
"*)\n"
"\techo \"usage: $0 {start|stop|restart|reload|force-reload|status}\" >&2\n"
"\texit 2\n"
"\t;;\n"
"esac\n";

enum startup_init {
	STARTUP_DETECT,
	STARTUP_SYSTEMD,
	STARTUP_SYSV,
};

/* Everything one run decides, before anything is written. */
struct startup {
	enum startup_init	 init;
	const char		*root;		/* --root, or NULL */
	char			 user[256];
	uid_t			 uid;
	char			 home[PATH_MAX];
	char			 bindir[PATH_MAX];
	char			 name[300];	/* wsd or wsd-USER */
	char			 path[PATH_MAX * 2];	/* the file written */
	char			 wants[PATH_MAX * 2];	/* its enable symlink */
	int			 systemd_runs;	/* and we act on this host */
};

static int	startup_install(struct ctl *, int, char **);
static int	startup_remove(struct ctl *, int, char **);

const struct ctl_cmd startup_cmds[] = {
	{ "startup", NULL, "[systemd|sysv] [--user|-u U] [--home DIR|--hp DIR] "
	    "[--root DIR] [--bindir DIR]", startup_install },
	{ "unstartup", NULL, "[systemd|sysv] [--user|-u U] [--root DIR]",
	    startup_remove },
	{ NULL, NULL, NULL, NULL }
};

enum {
	OPT_USER = 1,
	OPT_HOME,
	OPT_ROOT,
	OPT_BINDIR,
	OPT_HP,
};

static const struct option startup_options[] = {
	{ "user", required_argument, NULL, OPT_USER },
	{ "home", required_argument, NULL, OPT_HOME },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "bindir", required_argument, NULL, OPT_BINDIR },
	/* PM2's spelling: the user's home folder, whose .pm2 (.wsd) it uses. */
	{ "hp", required_argument, NULL, OPT_HP },
	{ NULL, 0, NULL, 0 }
};

/* Safe in a unit file and in a shell script without quoting. */
static int
startup_safe(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("/._+-@", *s) != NULL))
			return 0;
	}
	return 1;
}

/* Look the user up in ROOT/etc/passwd first (an image), then this host. */
static int
startup_user(struct startup *su, const char *want)
{
	struct passwd *pw = NULL;
	char path[PATH_MAX * 2], dir[PATH_MAX - 16];
	struct stat st;
	FILE *fp = NULL;

	if (want != NULL && su->root != NULL) {
		snprintf(path, sizeof path, "%s/etc/passwd", su->root);
		if ((fp = fopen(path, "re")) != NULL) {
			while ((pw = fgetpwent(fp)) != NULL &&
			    strcmp(pw->pw_name, want) != 0)
				;
		}
	}
	if (pw == NULL)
		pw = want != NULL ? getpwnam(want) : getpwuid(getuid());
	if (pw == NULL) {
		if (fp != NULL)
			fclose(fp);
		if (want != NULL)
			ctl_warn("no such user: %s", want);
		else
			ctl_warn("uid %ld has no entry in the password "
			    "database: name the user with --user",
			    (long)getuid());
		return -1;
	}
	/* Copied before fclose: fgetpwent's entry does not outlive it. */
	snprintf(su->user, sizeof su->user, "%s", pw->pw_name);
	snprintf(dir, sizeof dir, "%s", pw->pw_dir);
	su->uid = pw->pw_uid;
	if (fp != NULL)
		fclose(fp);
	if (!startup_safe(su->user)) {
		ctl_warn("user name not usable in a unit file: %s", su->user);
		return -1;
	}

	if (su->home[0] != '\0')
		return 0;
	snprintf(path, sizeof path, "%s%s", su->root != NULL ? su->root : "",
	    dir);
	if (su->uid == 0)
		snprintf(su->home, sizeof su->home, "/var/lib/wsd");
	else if (dir[0] == '/' && strcmp(dir, "/") != 0 &&
	    stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		fsutil_home_of(su->home, sizeof su->home, dir);
	else
		snprintf(su->home, sizeof su->home, "/var/lib/wsd-%s",
		    su->user);
	if (!startup_safe(su->home)) {
		ctl_warn("%s: home not usable in a unit file: choose one with "
		    "--home", su->home);
		return -1;
	}
	return 0;
}

/* The folder of the running wsctl. */
static int
startup_bindir(struct startup *su)
{
	if (fsutil_self_dir(su->bindir, sizeof su->bindir) == -1) {
		ctl_warn("/proc/self/exe: %s: name the programs' folder with "
		    "--bindir", strerror(errno));
		return -1;
	}
	if (su->bindir[0] == '\0') {
		ctl_warn("/: cannot tell the programs' folder");
		return -1;
	}
	return 0;
}

/* Parse the shared arguments; `install` allows --home and --bindir. */
/* --root and --home as given: absolute, existing, safe; 0 or -1 (said). */
static int
startup_check_paths(const struct startup *su)
{
	struct stat st;

	if (su->root != NULL && (su->root[0] != '/' ||
	    stat(su->root, &st) == -1 || !S_ISDIR(st.st_mode))) {
		ctl_warn("--root %s: not an existing absolute folder",
		    su->root);
		return -1;
	}
	if (su->home[0] != '\0' && (su->home[0] != '/' ||
	    !startup_safe(su->home))) {
		ctl_warn("--home %s: must be an absolute path of letters, "
		    "digits and / . _ + - @", su->home);
		return -1;
	}
	return 0;
}

/* The init system (detected when not given), the service's name and files. */
static void
startup_paths(struct startup *su)
{
	const char *root = su->root ? su->root : "";

	/* systemd runs here, and we are to act on this host. */
	su->systemd_runs = su->root == NULL &&
	    access("/run/systemd/system", F_OK) == 0;
	if (su->init == STARTUP_DETECT)
		su->init = access("/run/systemd/system", F_OK) == 0 ?
		    STARTUP_SYSTEMD : STARTUP_SYSV;
	if (su->uid == 0)
		snprintf(su->name, sizeof su->name, "wsd");
	else
		snprintf(su->name, sizeof su->name, "wsd-%s", su->user);
	if (su->init == STARTUP_SYSTEMD) {
		snprintf(su->path, sizeof su->path, "%s" STARTUP_SYSTEMD_DIR
		    "/%s.service", root, su->name);
		snprintf(su->wants, sizeof su->wants, "%s" STARTUP_WANTS_DIR
		    "/%s.service", root, su->name);
	} else
		snprintf(su->path, sizeof su->path, "%s" STARTUP_SYSV_DIR
		    "/%s", root, su->name);
}

static int
startup_parse(struct ctl *ctl, struct startup *su, int argc, char **argv,
    int install)
{
	const char *user = NULL;
	int c;

	memset(su, 0, sizeof *su);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "u:", startup_options,
	    NULL)) != -1) {
		switch (c) {
		case 'u':
		case OPT_USER:
			user = optarg;
			break;
		case OPT_HOME:
			if (!install)
				return ctl_usage(ctl);
			snprintf(su->home, sizeof su->home, "%s", optarg);
			break;
		case OPT_HP:
			if (!install)
				return ctl_usage(ctl);
			snprintf(su->home, sizeof su->home, "%s%s.wsd", optarg,
			    optarg[0] != '\0' && optarg[strlen(optarg) - 1] ==
			    '/' ? "" : "/");
			break;
		case OPT_ROOT:
			su->root = optarg;
			break;
		case OPT_BINDIR:
			if (!install)
				return ctl_usage(ctl);
			snprintf(su->bindir, sizeof su->bindir, "%s", optarg);
			break;
		default:
			ctl_warn("%s: bad option %s", argv[0],
			    argv[optind - 1]);
			return ctl_usage(ctl);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind], "systemd") == 0)
			su->init = STARTUP_SYSTEMD;
		else if (strcmp(argv[optind], "sysv") == 0)
			su->init = STARTUP_SYSV;
		else {
			ctl_warn("%s: unknown init system %s (systemd or "
			    "sysv)", argv[0], argv[optind]);
			return ctl_usage(ctl);
		}
		optind++;
	}
	if (optind < argc)
		return ctl_usage(ctl);

	if (startup_check_paths(su) != 0)
		return EXIT_USAGE;
	if (su->bindir[0] == '\0' && install && startup_bindir(su) == -1)
		return EXIT_CMDFAIL;
	if (install && (su->bindir[0] != '/' || !startup_safe(su->bindir))) {
		ctl_warn("%s: the programs' folder must be an absolute path "
		    "of letters, digits and / . _ + - @ (see --bindir)",
		    su->bindir);
		return EXIT_USAGE;
	}
	if (startup_user(su, user) == -1)
		return EXIT_CMDFAIL;

	startup_paths(su);
	return EXIT_OK;
}

/* The template with every @KEY@ replaced; malloc'd. */
static char *
startup_render(const struct startup *su, const char *tpl)
{
	static const char *const std_path[] = { "/usr/local/sbin",
	    "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" };
	const char *p, *q, *val;
	char key[16], *out;
	size_t klen, i;
	FILE *fp;
	size_t len;
	int keep, state, ownpath = 1;

	/* StateDirectory= only for a home systemd can create: /var/lib/X. */
	state = strncmp(su->home, "/var/lib/", 9) == 0 &&
	    su->home[9] != '\0' && strchr(su->home + 9, '/') == NULL;
	/* PATH= only when the programs are not on systemd's default PATH. */
	for (i = 0; i < sizeof std_path / sizeof std_path[0]; i++)
		if (strcmp(su->bindir, std_path[i]) == 0)
			ownpath = 0;

	if ((fp = open_memstream(&out, &len)) == NULL)
		return NULL;
	for (p = tpl; *p != '\0'; p++) {
		if (*p != '@' || (q = strchr(p + 1, '@')) == NULL ||
		    (klen = (size_t)(q - p - 1)) == 0 ||
		    klen >= sizeof key) {
			fputc(*p, fp);
			continue;
		}
		memcpy(key, p + 1, klen);
		key[klen] = '\0';
		if (strcmp(key, "USER") == 0)
			val = su->user;
		else if (strcmp(key, "HOME") == 0)
			val = su->home;
		else if (strcmp(key, "BINDIR") == 0)
			val = su->bindir;
		else if (strcmp(key, "NAME") == 0)
			val = su->name;
		else if (strcmp(key, "STATEDIR") == 0)
			val = su->home + 9;
		else if ((keep = strcmp(key, "STATE") == 0 ? state :
		    strcmp(key, "OWNPATH") == 0 ? ownpath : -1) != -1) {
			if (!keep) {	/* drop the whole line */
				while (q[1] != '\0' && q[1] != '\n')
					q++;
				if (q[1] == '\n')
					q++;
			}
			val = "";
		} else {
			fputc(*p, fp);
			continue;
		}
		fputs(val, fp);
		p = q;
	}
	if (fclose(fp) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Write atomically: PATH.new, fsync, rename. */
static int
startup_write(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX * 2 + 8];
	int saved;

	snprintf(tmp, sizeof tmp, "%s.new", path);
	/* The mode is set exactly: root's umask 0077 would hide the unit. */
	if (fsutil_write_file(tmp, text, strlen(text), mode) == -1)
		return -1;
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Run a command, its output passed through; its exit status or -1. */
static int
startup_run(char *const argv[])
{
	pid_t pid;
	int status;
	size_t i;

	printf("[wsctl] running:");
	for (i = 0; argv[i] != NULL; i++)
		printf(" %s", argv[i]);
	printf("\n");
	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "wsctl: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* What to type to run this as root, when we are not. */
static void
startup_sudo_hint(const struct startup *su, const char *cmd)
{
	printf("Writing %s needs root.  Run:\n"
	    "  sudo env PATH=%s:$PATH %s %s --user %s --home %s\n",
	    su->path, su->bindir, cmd,
	    su->init == STARTUP_SYSTEMD ? "systemd" : "sysv",
	    su->user, su->home);
}

static int
startup_install(struct ctl *ctl, int argc, char **argv)
{
	struct startup su;
	char wsd[PATH_MAX * 2], *text;
	int rc;

	if ((rc = startup_parse(ctl, &su, argc, argv, 1)) != EXIT_OK)
		return rc;
	snprintf(wsd, sizeof wsd, "%s/wsd", su.bindir);
	if (su.root == NULL && access(wsd, X_OK) == -1)
		ctl_warn("warning: %s: %s", wsd, strerror(errno));

	text = startup_render(&su, su.init == STARTUP_SYSTEMD ?
	    startup_unit_template : startup_sysv_template);
	if (text == NULL) {
		ctl_warn("%s", strerror(errno));
		return EXIT_CMDFAIL;
	}
	if ((su.root != NULL && fsutil_mkdirs_for(su.path) == -1) ||
	    startup_write(su.path, text, su.init == STARTUP_SYSTEMD ?
	    0644 : 0755) == -1) {
		rc = errno;
		free(text);
		ctl_warn("%s: %s", su.path, strerror(rc));
		if (rc == EACCES || rc == EPERM || rc == EROFS)
			startup_sudo_hint(&su, "wsctl startup");
		return EXIT_CMDFAIL;
	}
	free(text);
	printf("[wsctl] wrote %s (user %s, WSD_HOME=%s, programs in %s)\n",
	    su.path, su.user, su.home, su.bindir);

	if (su.init == STARTUP_SYSV) {
		printf("[wsctl] enable it at boot with:\n"
		    "  update-rc.d %s defaults      (Debian, Ubuntu)\n"
		    "  chkconfig --add %s           (Red Hat, SUSE)\n"
		    "then start it with: %s" STARTUP_SYSV_DIR "/%s start\n",
		    su.name, su.name, su.root ? su.root : "", su.name);
	} else if (su.systemd_runs) {
		char *reload[] = { "systemctl", "daemon-reload", NULL };
		char *enable[] = { "systemctl", "enable", su.name, NULL };

		if (startup_run(reload) != 0 || startup_run(enable) != 0) {
			ctl_warn("systemctl failed; run: systemctl "
			    "daemon-reload && systemctl enable %s", su.name);
			return EXIT_CMDFAIL;
		}
		printf("[wsctl] %s starts at boot.  Start it now with: "
		    "systemctl start %s\n", su.name, su.name);
	} else if (su.root != NULL) {
		printf("[wsctl] enable it in that root with:\n"
		    "  systemctl --root=%s enable %s\n", su.root, su.name);
	} else {
		printf("[wsctl] systemd is not running here; once it is, "
		    "run:\n  systemctl daemon-reload && systemctl enable %s\n",
		    su.name);
	}
	printf("[wsctl] save the apps to restore at boot with: "
	    "WSD_HOME=%s wsctl save\n", su.home);
	return EXIT_OK;
}

static int
startup_remove(struct ctl *ctl, int argc, char **argv)
{
	struct startup su;
	struct stat st;
	int rc, removed = 0;

	if ((rc = startup_parse(ctl, &su, argc, argv, 0)) != EXIT_OK)
		return rc;

	if (su.init == STARTUP_SYSTEMD && su.systemd_runs &&
	    access(su.path, F_OK) == 0) {
		char *disable[] = { "systemctl", "disable", su.name, NULL };

		if (startup_run(disable) != 0)
			ctl_warn("systemctl disable %s failed", su.name);
	}
	/* The link `systemctl --root=DIR enable` made in an image. */
	if (su.init == STARTUP_SYSTEMD && lstat(su.wants, &st) == 0 &&
	    S_ISLNK(st.st_mode)) {
		if (unlink(su.wants) == -1) {
			ctl_warn("%s: %s", su.wants, strerror(errno));
			return EXIT_CMDFAIL;
		}
		printf("[wsctl] removed %s\n", su.wants);
	}
	if (unlink(su.path) == 0) {
		removed = 1;
		printf("[wsctl] removed %s\n", su.path);
	} else if (errno != ENOENT) {
		rc = errno;
		ctl_warn("%s: %s", su.path, strerror(rc));
		if (rc == EACCES || rc == EPERM || rc == EROFS)
			printf("Removing it needs root.  Run:\n  sudo %s "
			    "unstartup %s --user %s\n", "wsctl",
			    su.init == STARTUP_SYSTEMD ? "systemd" : "sysv",
			    su.user);
		return EXIT_CMDFAIL;
	} else
		printf("[wsctl] nothing to remove: %s does not exist\n",
		    su.path);

	if (su.init == STARTUP_SYSTEMD && su.systemd_runs && removed) {
		char *reload[] = { "systemctl", "daemon-reload", NULL };

		if (startup_run(reload) != 0)
			ctl_warn("systemctl daemon-reload failed");
	}
	if (su.init == STARTUP_SYSV && removed)
		printf("[wsctl] remove its boot links with: update-rc.d %s "
		    "remove\n", su.name);
	return EXIT_OK;
}

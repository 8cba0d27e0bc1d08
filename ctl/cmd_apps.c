/* The commands that change apps: start, stop, restart, reload, delete, scale. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "eco_format.h"
#include "exitcodes.h"
#include "fsutil.h"

static int	cmd_apps_start(struct ctl *, int, char **);
static int	cmd_apps_stop(struct ctl *, int, char **);
static int	cmd_apps_restart(struct ctl *, int, char **);
static int	cmd_apps_reload(struct ctl *, int, char **);
static int	cmd_apps_delete(struct ctl *, int, char **);
static int	cmd_apps_scale(struct ctl *, int, char **);
static int	cmd_apps_start_or_reload(struct ctl *, int, char **);
struct cmd_apps_opts;
static int	cmd_apps_file_act(struct ctl *, const char *,
		    const struct cmd_apps_opts *, const char *, const char *, int);
static int	cmd_apps_is_ecosystem(const char *,
		    const struct cmd_apps_opts *);
static int	cmd_apps_start_or_restart(struct ctl *, int, char **);

const struct ctl_cmd cmd_apps_cmds[] = {
	{ "start", NULL, "FILE [--env MODE] [--only A,B] | SCRIPT [--name N] "
	    "[-i N|max] [-- ARGS] | NAME|ID|all", cmd_apps_start },
	{ "startOrReload", "startOrGracefulReload", "FILE [--env MODE] [--only A,B] "
	    "[--update-env]", cmd_apps_start_or_reload },
	{ "startOrRestart", NULL, "FILE [--env MODE] [--only A,B] "
	    "[--update-env]", cmd_apps_start_or_restart },
	{ "stop", NULL, "NAME|ID|all ... | FILE [--only A,B]", cmd_apps_stop },
	{ "restart", NULL, "NAME|ID|all ... | FILE [--only A,B] [--env MODE] "
	    "[--update-env]", cmd_apps_restart },
	{ "reload", NULL, "NAME|ID|all ... | FILE [--only A,B] [--env MODE] "
	    "[--update-env]", cmd_apps_reload },
	{ "delete", "del", "NAME|ID|all ... | FILE [--only A,B]",
	    cmd_apps_delete },
	{ "scale", NULL, "NAME N|+N|-N", cmd_apps_scale },
	{ NULL, NULL, NULL, NULL }
};

/* Options shared by the app commands; each accepts the ones it names. */
enum {
	OPT_ENV = 1,
	OPT_UPDATE_ENV,
	OPT_ONLY,
	OPT_NAME,
	OPT_INSTANCES,
};

static const struct option cmd_apps_options[] = {
	{ "env", required_argument, NULL, OPT_ENV },
	{ "update-env", no_argument, NULL, OPT_UPDATE_ENV },
	{ "only", required_argument, NULL, OPT_ONLY },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "instances", required_argument, NULL, OPT_INSTANCES },
	{ NULL, 0, NULL, 0 }
};

#define CMD_APPS_START_OPTS	(1 << OPT_ENV | 1 << OPT_UPDATE_ENV | \
	1 << OPT_ONLY | 1 << OPT_NAME | 1 << OPT_INSTANCES)

/* What the options said; operands are argv[optind..] up to "--". */
struct cmd_apps_opts {
	const char	*env;		/* --env MODE */
	int		 update_env;	/* --update-env */
	const char	*only;		/* --only a,b */
	const char	*name;		/* --name N (a script start) */
	const char	*instances;	/* -i N|max */
	char		**script_args;	/* after "--", NULL-terminated */
};

static void
cmd_apps_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* wsd next to our own executable, else the one on PATH. */
static void
cmd_apps_wsd_path(char *buf, size_t len)
{
	char self[PATH_MAX];

	if (fsutil_self_dir(self, sizeof self) == 0) {
		snprintf(buf, len, "%s/wsd", self);
		if (access(buf, X_OK) == 0)
			return;
	}
	snprintf(buf, len, "wsd");
}

/*
 * Start the daemon when nothing answers on the socket, as `pm2 start` does.
 * wsd daemonizes itself and its first process exits once the socket
 * serves, so waiting for that process is waiting for readiness; a short
 * connect retry covers a daemon that exits a little early.
 */
int
cmd_apps_ensure_daemon(struct ctl *ctl)
{
	char path[PATH_MAX + 8];
	pid_t pid;
	int status, i;

	if (client_connect(ctl) == 0)
		return EXIT_OK;
	cmd_apps_wsd_path(path, sizeof path);
	if (!ctl->json)
		printf("[wsd] starting the daemon (home %s)\n", ctl->home);
	fflush(stdout);
	switch (pid = fork()) {
	case -1:
		ctl_warn("fork: %s", strerror(errno));
		return EXIT_CMDFAIL;
	case 0:
		if (strchr(path, '/') != NULL)
			execl(path, "wsd", (char *)NULL);
		else
			execlp(path, "wsd", (char *)NULL);
		fprintf(stderr, "wsctl: cannot run %s: %s\n", path,
		    strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			ctl_warn("waitpid: %s", strerror(errno));
			return EXIT_CMDFAIL;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		ctl_warn("wsd exited with status %d", WEXITSTATUS(status));
		return WEXITSTATUS(status) == EXIT_CONFIG ? EXIT_CONFIG :
		    EXIT_CMDFAIL;
	}
	if (WIFSIGNALED(status)) {
		ctl_warn("wsd killed by signal %d", WTERMSIG(status));
		return EXIT_CMDFAIL;
	}
	for (i = 0; i < 100; i++) {
		if (client_connect(ctl) == 0)
			return EXIT_OK;
		cmd_apps_sleep_ms(50);
	}
	ctl_warn("the daemon started but does not answer on %s", ctl->sock);
	return EXIT_NODAEMON;
}

/*
 * Which way a reload went per app (SPEC §4.11): hot settings pushed to
 * the running instances (key names only), and/or instances replaced.
 */
static void
cmd_apps_hot(json_t *apps)
{
	json_t *app, *key;
	json_int_t pushed, replaced;
	size_t i, k;

	json_array_foreach(apps, i, app) {
		pushed = json_integer_value(json_object_get(app, "pushed"));
		replaced = json_integer_value(json_object_get(app, "replaced"));
		printf("[wsd] %s:", json_string_value(json_object_get(app,
		    "app")));
		if (pushed > 0) {
			printf(" settings pushed to %lld instance%s (",
			    (long long)pushed, pushed == 1 ? "" : "s");
			json_array_foreach(json_object_get(app, "keys"), k, key)
				printf("%s%s", k > 0 ? ", " : "",
				    json_string_value(key));
			printf(")%s", replaced > 0 ? ";" : "");
		}
		if (replaced > 0 || pushed == 0)
			printf(" %lld instance%s replaced", (long long)replaced,
			    replaced == 1 ? "" : "s");
		printf("\n");
	}
}

/*
 * A start or restart names the instances that did not come up (errored,
 * stopped after a failed exit, still not online): one ✗ line each, on
 * stderr, and the command fails.  EXIT_OK when there are none.
 */
static int
cmd_apps_failed(const struct ctl *ctl, const char *verb, const char *what,
    json_t *data)
{
	json_t *failed = json_object_get(data, "failed"), *f;
	size_t i;

	if (json_array_size(failed) == 0)
		return EXIT_OK;
	if (!ctl->json)
		printf("[wsd] %s %s ✗\n", verb, what);
	json_array_foreach(failed, i, f)
		ctl_warn("✗ %s (id %lld, instance %lld) did not come up: %s",
		    json_string_value(json_object_get(f, "name")),
		    json_integer_value(json_object_get(f, "id")),
		    json_integer_value(json_object_get(f, "instance")),
		    json_string_value(json_object_get(f, "reason")));
	return EXIT_CMDFAIL;
}

static int
cmd_apps_done(struct ctl *ctl, const char *verb, const char *what,
    json_t *data)
{
	json_t *list, *in;
	size_t i;
	int rc;

	ctl_warnings(data);
	json_array_foreach(json_object_get(data, "restarted"), i, in)
		if (!ctl->json)
			printf("[wsd] %s was running: restarted with the file's "
			    "new definition\n", json_string_value(in));
	if (ctl->json)
		status_json_print(data);
	if ((rc = cmd_apps_failed(ctl, verb, what, data)) != EXIT_OK ||
	    ctl->json)
		return rc;
	printf("[wsd] %s %s", verb, what);
	list = json_object_get(data, "instances");
	if (list == NULL)
		list = json_object_get(data, "deleted");
	if (json_array_size(list) > 0) {
		printf(" (ids");
		json_array_foreach(list, i, in) {
			if (json_is_object(in))
				in = json_object_get(in, "id");
			printf(" %lld", json_integer_value(in));
		}
		printf(")");
	}
	printf(" ✓\n");
	cmd_apps_hot(json_object_get(data, "apps"));
	return EXIT_OK;
}

/*
 * Parse the options of argv; operands are left in argv[optind..argc'],
 * where argc' (returned) stops before "--".  -1 after saying why.
 */
static int
cmd_apps_getopt(int argc, char **argv, int allowed, struct cmd_apps_opts *o)
{
	int ch, i, n = argc;

	memset(o, 0, sizeof *o);
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			n = i;
			o->script_args = &argv[i + 1];
			break;
		}
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(n, argv, ":i:", cmd_apps_options,
	    NULL)) != -1) {
		if (ch == 'i')
			ch = OPT_INSTANCES;
		if (ch > 0 && ch <= OPT_INSTANCES && !(allowed & (1 << ch)))
			ch = '?';
		switch (ch) {
		case OPT_ENV:
			o->env = optarg;
			break;
		case OPT_UPDATE_ENV:
			o->update_env = 1;
			break;
		case OPT_ONLY:
			o->only = optarg;
			break;
		case OPT_NAME:
			o->name = optarg;
			break;
		case OPT_INSTANCES:
			o->instances = optarg;
			break;
		default:
			if (optopt == 0 || ch == ':')
				ctl_warn("bad option: %s", argv[optind - 1]);
			else
				ctl_warn("bad option: -%c", optopt);
			return -1;
		}
	}
	if (o->script_args != NULL && !(allowed & (1 << OPT_NAME))) {
		ctl_warn("\"--\" (script arguments) goes with starting a "
		    "script only");
		return -1;
	}
	return n;
}

static int
cmd_apps_is_file(const char *arg)
{
	struct stat sb;

	if (strcmp(arg, "all") == 0)
		return 0;
	return stat(arg, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The file's first 64 KiB hold `apps:` (or "apps": …), as an ecosystem's do. */
static int
cmd_apps_defines_apps(const char *path)
{
	char buf[65536];
	const char *p, *q, *r, *end;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf);
	close(fd);
	if (n <= 0)
		return 0;
	end = buf + n;
	for (p = buf; (q = memmem(p, end - p, "apps", 4)) != NULL; p = q + 4) {
		for (r = q + 4; r < end && strchr("\"'` \t", *r) != NULL; r++)
			;
		if (r < end && *r == ':')
			return 1;
	}
	return 0;
}

/*
 * What `start FILE` is given, by PM2's rule: an ecosystem file by its
 * name (.json, .json5, .yml, .yaml, *.config.js/.cjs/.mjs), any other file
 * a script to run as one app.  One exception keeps older wsd use working:
 * a .js/.cjs/.mjs whose text defines `apps:` is an ecosystem file unless
 * a script option (--name, -i, --) says otherwise.
 */
static int
cmd_apps_is_ecosystem(const char *path, const struct cmd_apps_opts *o)
{
	static const char *suffixes[] = {
		".json", ".json5", ".yml", ".yaml", ".config.js",
		".config.cjs", ".config.mjs", NULL
	};
	size_t i, n = strlen(path), k;

	for (i = 0; suffixes[i] != NULL; i++) {
		k = strlen(suffixes[i]);
		if (n > k && strcmp(path + n - k, suffixes[i]) == 0)
			return 1;
	}
	if (o->name != NULL || o->instances != NULL || o->script_args != NULL)
		return 0;
	return eco_is_node_script(path) && cmd_apps_defines_apps(path);
}

/* "a,b" → ["a","b"]; NULL (after saying why) when a name is empty. */
static json_t *
cmd_apps_only(const char *only)
{
	json_t *a = json_array();
	const char *p = only, *comma;

	for (;;) {
		comma = strchr(p, ',');
		if ((comma != NULL ? (size_t)(comma - p) : strlen(p)) == 0) {
			ctl_warn("--only %s: an empty app name", only);
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, comma != NULL ?
		    json_stringn(p, comma - p) : json_string(p));
		if (comma == NULL)
			return a;
		p = comma + 1;
	}
}

/*
 * `start app.js --name N -i 4 -- args`: the app as a one-app ecosystem
 * file HOME/apps/NAME.json, so that save, resurrect and describe see an
 * ordinary config file.  0 with the path in buf, or an exit status.
 */
static int
cmd_apps_script_file(struct ctl *ctl, const char *script,
    const struct cmd_apps_opts *o, char *buf, size_t len)
{
	char cwd[PATH_MAX], name[256], *end;
	const char *base, *dot;
	json_t *app, *args, *doc;
	long n;
	FILE *f;
	int i;

	base = strrchr(script, '/') != NULL ? strrchr(script, '/') + 1 : script;
	dot = strrchr(base, '.');
	snprintf(name, sizeof name, "%.*s", dot != NULL && dot != base ?
	    (int)(dot - base) : (int)strlen(base), base);
	if (o->name != NULL)
		snprintf(name, sizeof name, "%s", o->name);
	if (name[0] == '\0' || strchr(name, '/') != NULL || name[0] == '.') {
		ctl_warn("--name %s: an app name has no '/' and does not start "
		    "with '.'", name);
		return ctl_usage(ctl);
	}
	if (getcwd(cwd, sizeof cwd) == NULL) {
		ctl_warn("getcwd: %s", strerror(errno));
		return EXIT_CMDFAIL;
	}
	app = json_pack("{ssssss}", "name", name, "script", script, "cwd", cwd);
	if (o->instances != NULL) {
		errno = 0;
		n = strtol(o->instances, &end, 10);
		if (strcmp(o->instances, "max") == 0 || n == -1)
			json_object_set_new(app, "instances", json_string("max"));
		else if (errno != 0 || *end != '\0' || end == o->instances ||
		    n < 1 || n > 1024) {
			ctl_warn("-i %s: a number of instances (1-1024) or max",
			    o->instances);
			json_decref(app);
			return ctl_usage(ctl);
		} else
			json_object_set_new(app, "instances", json_integer(n));
	}
	if (o->script_args != NULL) {
		args = json_array();
		for (i = 0; o->script_args[i] != NULL; i++)
			json_array_append_new(args,
			    json_string(o->script_args[i]));
		json_object_set_new(app, "args", args);
	}
	snprintf(buf, len, "%s/apps", ctl->home);
	if (mkdir(buf, 0700) == -1 && errno != EEXIST) {
		ctl_warn("%s: %s", buf, strerror(errno));
		json_decref(app);
		return EXIT_CMDFAIL;
	}
	snprintf(buf, len, "%s/apps/%s.json", ctl->home, name);
	if ((f = fopen(buf, "w")) == NULL) {
		ctl_warn("%s: %s", buf, strerror(errno));
		json_decref(app);
		return EXIT_CMDFAIL;
	}
	doc = json_pack("{s[o]}", "apps", app);
	json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (fclose(f) == EOF) {
		ctl_warn("%s: %s", buf, strerror(errno));
		return EXIT_CMDFAIL;
	}
	return EXIT_OK;
}

/* The start request for one operand: a file, a script or a target. */
static int
cmd_apps_start_args(struct ctl *ctl, const char *arg,
    const struct cmd_apps_opts *o, json_t *args)
{
	char abspath[PATH_MAX], file[PATH_MAX + 300];
	json_t *only;
	int rc, script;

	if (!cmd_apps_is_file(arg)) {
		if (strchr(arg, '/') != NULL || strstr(arg, ".json") != NULL ||
		    strstr(arg, ".js") != NULL) {
			ctl_warn("%s: no such file", arg);
			return EXIT_CMDFAIL;
		}
		if (o->only != NULL || o->name != NULL || o->instances != NULL) {
			ctl_warn("--only, --name and -i go with a file: %s is "
			    "an app name", arg);
			return ctl_usage(ctl);
		}
		json_object_set_new(args, "target", json_string(arg));
		return EXIT_OK;
	}
	if (realpath(arg, abspath) == NULL) {
		ctl_warn("%s: %s", arg, strerror(errno));
		return EXIT_CMDFAIL;
	}
	script = !cmd_apps_is_ecosystem(abspath, o);
	if (!script && (o->name != NULL || o->instances != NULL ||
	    o->script_args != NULL)) {
		ctl_warn("%s is an ecosystem file: set name, instances and args "
		    "in it (--name, -i and -- go with a script)", arg);
		return ctl_usage(ctl);
	}
	if (script && o->only != NULL) {
		ctl_warn("--only picks apps of an ecosystem file; %s is a "
		    "script", arg);
		return ctl_usage(ctl);
	}
	if ((rc = cmd_apps_ensure_daemon(ctl)) != EXIT_OK)
		return rc;
	if (script && (rc = cmd_apps_script_file(ctl, abspath, o, file,
	    sizeof file)) != EXIT_OK)
		return rc;
	json_object_set_new(args, "file", json_string(script ? file : abspath));
	if (o->env != NULL)
		json_object_set_new(args, "env", json_string(o->env));
	if (o->only != NULL) {
		if ((only = cmd_apps_only(o->only)) == NULL)
			return ctl_usage(ctl);
		json_object_set_new(args, "only", only);
	}
	return EXIT_OK;
}

static int
cmd_apps_start(struct ctl *ctl, int argc, char **argv)
{
	struct cmd_apps_opts o;
	json_t *args, *data;
	int i, n, rc, worst = EXIT_OK;

	if ((n = cmd_apps_getopt(argc, argv, CMD_APPS_START_OPTS, &o)) == -1 ||
	    optind >= n)
		return ctl_usage(ctl);
	if (o.name != NULL && n - optind > 1) {
		ctl_warn("--name names one app: start one script at a time");
		return ctl_usage(ctl);
	}
	for (i = optind; i < n; i++) {
		args = json_object();
		if ((rc = cmd_apps_start_args(ctl, argv[i], &o, args)) !=
		    EXIT_OK) {
			json_decref(args);
			return rc;
		}
		if ((rc = client_call(ctl, "start", args, &data)) != 0) {
			if (rc == EXIT_NODAEMON || rc == EXIT_CONFIG)
				return rc;
			worst = rc;
			continue;
		}
		if ((rc = cmd_apps_done(ctl, "started", argv[i], data)) !=
		    EXIT_OK)
			worst = rc;
		json_decref(data);
	}
	if (!ctl->json && (rc = status_show(ctl)) != EXIT_OK)
		return rc;
	return worst;
}

/* stop, restart, reload, delete: one request per target, then the table. */
static int
cmd_apps_each(struct ctl *ctl, int argc, char **argv, const char *cmd,
    const char *verb, int allowed)
{
	struct cmd_apps_opts o;
	json_t *args, *data;
	int i, n, rc, worst = EXIT_OK;

	if ((n = cmd_apps_getopt(argc, argv, allowed | 1 << OPT_ENV |
	    1 << OPT_ONLY, &o)) == -1 || optind >= n)
		return ctl_usage(ctl);
	/* `pm2 reload ecosystem.config.js`: the apps the file defines. */
	if (n - optind == 1 && cmd_apps_is_file(argv[optind]) &&
	    cmd_apps_is_ecosystem(argv[optind], &o))
		return cmd_apps_file_act(ctl, argv[optind], &o, cmd, verb, 0);
	if (o.env != NULL || o.only != NULL) {
		ctl_warn("--env and --only go with an ecosystem file, not an "
		    "app name");
		return ctl_usage(ctl);
	}
	for (i = optind; i < n; i++) {
		args = json_object();
		json_object_set_new(args, "target", json_string(argv[i]));
		if (o.update_env)
			json_object_set_new(args, "update_env", json_true());
		if ((rc = client_call(ctl, cmd, args, &data)) != 0) {
			if (rc == EXIT_NODAEMON)
				return rc;
			worst = rc;
			continue;
		}
		if ((rc = cmd_apps_done(ctl, verb, argv[i], data)) != EXIT_OK)
			worst = rc;
		json_decref(data);
	}
	if (!ctl->json && (rc = status_show(ctl)) != EXIT_OK)
		return rc;
	return worst;
}

static int
cmd_apps_stop(struct ctl *ctl, int argc, char **argv)
{
	return cmd_apps_each(ctl, argc, argv, "stop", "stopped", 0);
}

static int
cmd_apps_restart(struct ctl *ctl, int argc, char **argv)
{
	return cmd_apps_each(ctl, argc, argv, "restart", "restarted",
	    1 << OPT_UPDATE_ENV);
}

static int
cmd_apps_reload(struct ctl *ctl, int argc, char **argv)
{
	/* A reload always re-reads the env files: --update-env is PM2's. */
	return cmd_apps_each(ctl, argc, argv, "reload", "reloaded",
	    1 << OPT_UPDATE_ENV);
}

static int
cmd_apps_delete(struct ctl *ctl, int argc, char **argv)
{
	return cmd_apps_each(ctl, argc, argv, "delete", "deleted", 0);
}

/*
 * scale NAME N sets the count; +N and -N change it (the daemon does the
 * sum, so concurrent requests add up).  No options: "-1" is a count.
 */
static int
cmd_apps_scale(struct ctl *ctl, int argc, char **argv)
{
	json_t *args, *data, *pending;
	const char *s;
	char *end;
	long n;
	int rc;

	if (argc != 3 || argv[1][0] == '-')
		return ctl_usage(ctl);
	s = argv[2];
	errno = 0;
	n = strtol(s + (*s == '+'), &end, 10);
	if (errno != 0 || *end != '\0' || end == s + (*s == '+') ||
	    (*s == '+' && s[1] == '-') || n == 0 || n < -1024 || n > 1024) {
		ctl_warn("scale: bad number of instances: %s (1-1024, or "
		    "+N/-N to add or remove)", s);
		return ctl_usage(ctl);
	}
	args = json_object();
	json_object_set_new(args, "target", json_string(argv[1]));
	if (*s == '+' || *s == '-')
		json_object_set_new(args, "delta", json_integer(n));
	else
		json_object_set_new(args, "instances", json_integer(n));
	if ((rc = client_call(ctl, "scale", args, &data)) != 0)
		return rc;
	cmd_apps_done(ctl, "scaled", argv[1], data);
	pending = json_object_get(data, "pending");
	if (!ctl->json && json_is_string(pending))
		printf("[wsd] %s: scale to %lld waits: %s\n",
		    argv[1], json_integer_value(json_object_get(data,
		    "desired")), json_string_value(pending));
	json_decref(data);
	return ctl->json ? EXIT_OK : status_show(ctl);
}

/* The instance of `list` named `name` first, or NULL. */
static json_t *
cmd_apps_listed(json_t *list, json_t *name)
{
	json_t *in;
	size_t k;

	json_array_foreach(json_object_get(list, "instances"), k, in)
		if (json_equal(json_object_get(in, "name"), name))
			return in;
	return NULL;
}

/* The apps of FILE that do not run: started (start_missing), else named. */
static int
cmd_apps_file_missing(struct ctl *ctl, const char *file, const char *abspath,
    const struct cmd_apps_opts *o, const char *cmd, json_t *missing,
    int start_missing)
{
	json_t *args, *data, *v;
	size_t i;
	int rc;

	if (json_array_size(missing) == 0)
		return EXIT_OK;
	if (start_missing) {
		args = json_pack("{sssO}", "file", abspath, "only", missing);
		if (o->env != NULL)
			json_object_set_new(args, "env", json_string(o->env));
		if ((rc = client_call(ctl, "start", args, &data)) != 0)
			return rc;
		rc = cmd_apps_done(ctl, "started", file, data);
		json_decref(data);
		return rc;
	}
	if (strcmp(cmd, "restart") != 0 && strcmp(cmd, "reload") != 0)
		return EXIT_OK;
	json_array_foreach(missing, i, v)
		ctl_warn("%s is not running: `wsctl %s FILE` does not start "
		    "it; `wsctl startOr%c%s %s` does", json_string_value(v),
		    cmd, cmd[0] - 'a' + 'A', cmd + 1, file);
	return EXIT_CMDFAIL;
}

/*
 * `cmd` on the file's apps that run (listed): the file's definitions
 * first, as PM2 passes the file's env (a reload then pushes what changed
 * only hot settings), then the command on each.
 */
static int
cmd_apps_file_running(struct ctl *ctl, const char *abspath,
    const struct cmd_apps_opts *o, const char *cmd, const char *verb,
    json_t *listed)
{
	json_t *args, *data, *v;
	size_t i;
	int rc, worst = EXIT_OK;

	if (json_array_size(listed) == 0)
		return EXIT_OK;
	if ((rc = client_call(ctl, "start", json_pack("{sssbsO}", "file",
	    abspath, "update", 1, "only", listed), &data)) != 0)
		return rc;
	json_decref(data);
	json_array_foreach(listed, i, v) {
		args = json_pack("{sO}", "target", v);
		if (o->update_env)
			json_object_set_new(args, "update_env", json_true());
		if ((rc = client_call(ctl, cmd, args, &data)) != 0) {
			worst = rc;
			continue;
		}
		if ((rc = cmd_apps_done(ctl, verb, json_string_value(v),
		    data)) != EXIT_OK)
			worst = rc;
		json_decref(data);
	}
	return worst;
}

/*
 * Apply `cmd` to the apps FILE defines (those of --only), as PM2 does
 * with `pm2 reload ecosystem.config.js`; the daemon names the apps (it is
 * the one that can run a .config.js).  start_missing: the ones not running
 * are started (startOrReload, startOrRestart), else a restart or reload
 * names them.  A --env other than the mode an app runs with is refused
 * for that app: restart and reload keep the mode.
 */
static int
cmd_apps_file_act(struct ctl *ctl, const char *file,
    const struct cmd_apps_opts *o, const char *cmd, const char *verb,
    int start_missing)
{
	char abspath[PATH_MAX];
	json_t *names, *list, *missing, *listed, *only = NULL, *v, *in;
	const char *mode;
	size_t i, k;
	int rc, worst = EXIT_OK, found;

	if (realpath(file, abspath) == NULL) {
		ctl_warn("%s: %s", file, strerror(errno));
		return EXIT_CMDFAIL;
	}
	if (o->only != NULL && (only = cmd_apps_only(o->only)) == NULL)
		return ctl_usage(ctl);
	if ((rc = start_missing ? cmd_apps_ensure_daemon(ctl) : EXIT_OK) !=
	    EXIT_OK ||
	    (rc = client_call(ctl, "appNames", json_pack("{ss}", "file",
	    abspath), &names)) != 0 ||
	    (rc = client_call(ctl, "list", NULL, &list)) != 0) {
		json_decref(only);
		return rc;
	}
	missing = json_array();
	listed = json_array();
	json_array_foreach(json_object_get(names, "names"), i, v) {
		found = only == NULL;
		json_array_foreach(only, k, in)
			if (json_equal(in, v))
				found = 1;
		if (!found)
			continue;
		if ((in = cmd_apps_listed(list, v)) == NULL) {
			json_array_append(missing, v);
			continue;
		}
		mode = json_string_value(json_object_get(in, "env_mode"));
		if (o->env != NULL && (mode == NULL || strcmp(mode, o->env) != 0)) {
			ctl_warn("%s runs with env mode %s: %s keeps it; to switch "
			    "to %s run `wsctl start %s --env %s --only %s`, then "
			    "`wsctl %s %s`", json_string_value(v), mode != NULL ?
			    mode : "(none)", cmd, o->env, file, o->env,
			    json_string_value(v), cmd, json_string_value(v));
			worst = EXIT_CMDFAIL;
			continue;
		}
		json_array_append(listed, v);
	}
	if ((rc = cmd_apps_file_running(ctl, abspath, o, cmd, verb,
	    listed)) != EXIT_OK)
		worst = rc;
	if ((rc = cmd_apps_file_missing(ctl, file, abspath, o, cmd, missing,
	    start_missing)) != EXIT_OK)
		worst = rc;
	json_decref(missing);
	json_decref(listed);
	json_decref(only);
	json_decref(names);
	json_decref(list);
	if (worst == EXIT_NODAEMON || worst == EXIT_CONFIG)
		return worst;
	if (!ctl->json && (rc = status_show(ctl)) != EXIT_OK)
		return rc;
	return worst;
}

/* startOrReload / startOrRestart FILE: reload (restart) or start each app. */
static int
cmd_apps_start_or(struct ctl *ctl, int argc, char **argv, const char *cmd,
    const char *verb)
{
	struct cmd_apps_opts o;
	int n;

	if ((n = cmd_apps_getopt(argc, argv, 1 << OPT_ENV | 1 << OPT_UPDATE_ENV |
	    1 << OPT_ONLY, &o)) == -1 || n - optind != 1)
		return ctl_usage(ctl);
	if (!cmd_apps_is_file(argv[optind])) {
		ctl_warn("%s: no such file", argv[optind]);
		return EXIT_CMDFAIL;
	}
	return cmd_apps_file_act(ctl, argv[optind], &o, cmd, verb, 1);
}

static int
cmd_apps_start_or_reload(struct ctl *ctl, int argc, char **argv)
{
	return cmd_apps_start_or(ctl, argc, argv, "reload", "reloaded");
}

static int
cmd_apps_start_or_restart(struct ctl *ctl, int argc, char **argv)
{
	return cmd_apps_start_or(ctl, argc, argv, "restart", "restarted");
}

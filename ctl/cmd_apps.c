/* The commands that change apps: start, stop, restart, reload, delete, scale. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "exitcodes.h"
#include "fsutil.h"

static int	cmd_apps_start(struct ctl *, int, char **);
static int	cmd_apps_stop(struct ctl *, int, char **);
static int	cmd_apps_restart(struct ctl *, int, char **);
static int	cmd_apps_reload(struct ctl *, int, char **);
static int	cmd_apps_delete(struct ctl *, int, char **);
static int	cmd_apps_scale(struct ctl *, int, char **);

const struct ctl_cmd cmd_apps_cmds[] = {
	{ "start", NULL, "FILE [--env MODE] | NAME|ID|all", cmd_apps_start },
	{ "stop", NULL, "NAME|ID|all ...", cmd_apps_stop },
	{ "restart", NULL, "NAME|ID|all ... [--update-env]", cmd_apps_restart },
	{ "reload", NULL, "NAME|ID|all ...", cmd_apps_reload },
	{ "delete", "del", "NAME|ID|all ...", cmd_apps_delete },
	{ "scale", NULL, "NAME N|+N|-N", cmd_apps_scale },
	{ NULL, NULL, NULL, NULL }
};

/* Options shared by the app commands; each accepts the ones it names. */
enum {
	OPT_ENV = 1,
	OPT_UPDATE_ENV,
};

static const struct option cmd_apps_options[] = {
	{ "env", required_argument, NULL, OPT_ENV },
	{ "update-env", no_argument, NULL, OPT_UPDATE_ENV },
	{ NULL, 0, NULL, 0 }
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
static int
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

static void
cmd_apps_done(struct ctl *ctl, const char *verb, const char *what,
    json_t *data)
{
	json_t *list, *in;
	size_t i;

	ctl_warnings(data);
	if (ctl->json) {
		status_json_print(data);
		return;
	}
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
}

/* Parse the options of argv; operands are left in argv[optind..]. */
static int
cmd_apps_getopt(int argc, char **argv, int allowed,
    const char **env, int *update_env)
{
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", cmd_apps_options,
	    NULL)) != -1) {
		if (ch == OPT_ENV && (allowed & (1 << OPT_ENV)))
			*env = optarg;
		else if (ch == OPT_UPDATE_ENV && (allowed & (1 << OPT_UPDATE_ENV)))
			*update_env = 1;
		else {
			if (optopt == 0 || ch == ':')
				ctl_warn("bad option: %s", argv[optind - 1]);
			else
				ctl_warn("bad option: -%c", optopt);
			return -1;
		}
	}
	return 0;
}

static int
cmd_apps_is_file(const char *arg)
{
	struct stat sb;

	if (strcmp(arg, "all") == 0)
		return 0;
	return stat(arg, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int
cmd_apps_start(struct ctl *ctl, int argc, char **argv)
{
	const char *env = NULL;
	char abspath[PATH_MAX];
	json_t *args, *data;
	int i, rc, worst = EXIT_OK, update_env = 0;

	if (cmd_apps_getopt(argc, argv, 1 << OPT_ENV, &env,
	    &update_env) == -1 || optind >= argc)
		return ctl_usage(ctl);
	for (i = optind; i < argc; i++) {
		args = json_object();
		if (cmd_apps_is_file(argv[i])) {
			if (realpath(argv[i], abspath) == NULL) {
				ctl_warn("%s: %s", argv[i], strerror(errno));
				json_decref(args);
				return EXIT_CMDFAIL;
			}
			if ((rc = cmd_apps_ensure_daemon(ctl)) != EXIT_OK) {
				json_decref(args);
				return rc;
			}
			json_object_set_new(args, "file", json_string(abspath));
			if (env != NULL)
				json_object_set_new(args, "env",
				    json_string(env));
		} else {
			if (strchr(argv[i], '/') != NULL ||
			    strstr(argv[i], ".json") != NULL) {
				ctl_warn("%s: no such file", argv[i]);
				json_decref(args);
				return EXIT_CMDFAIL;
			}
			json_object_set_new(args, "target",
			    json_string(argv[i]));
		}
		if ((rc = client_call(ctl, "start", args, &data)) != 0) {
			if (rc == EXIT_NODAEMON || rc == EXIT_CONFIG)
				return rc;
			worst = rc;
			continue;
		}
		cmd_apps_done(ctl, "started", argv[i], data);
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
	const char *env = NULL;
	json_t *args, *data;
	int i, rc, worst = EXIT_OK, update_env = 0;

	if (cmd_apps_getopt(argc, argv, allowed, &env,
	    &update_env) == -1 || optind >= argc)
		return ctl_usage(ctl);
	for (i = optind; i < argc; i++) {
		args = json_object();
		json_object_set_new(args, "target", json_string(argv[i]));
		if (allowed & (1 << OPT_UPDATE_ENV))
			json_object_set_new(args, "update_env",
			    json_boolean(update_env));
		if ((rc = client_call(ctl, cmd, args, &data)) != 0) {
			if (rc == EXIT_NODAEMON)
				return rc;
			worst = rc;
			continue;
		}
		cmd_apps_done(ctl, verb, argv[i], data);
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
	return cmd_apps_each(ctl, argc, argv, "reload", "reloaded", 0);
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

/* The commands about the daemon itself: kill, save, resurrect, update. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "ctl.h"
#include "exitcodes.h"

static int	cmd_daemon_kill(struct ctl *, int, char **);
static int	cmd_daemon_save(struct ctl *, int, char **);
static int	cmd_daemon_resurrect(struct ctl *, int, char **);
static int	cmd_daemon_update(struct ctl *, int, char **);

const struct ctl_cmd cmd_daemon_cmds[] = {
	{ "kill", NULL, "", cmd_daemon_kill },
	{ "save", "dump", "[--force]", cmd_daemon_save },
	{ "resurrect", NULL, "", cmd_daemon_resurrect },
	{ "update", "updatePM2", "", cmd_daemon_update },
	{ NULL, NULL, NULL, NULL }
};

/* How long kill waits for the daemon to stop its apps and exit. */
#define CMD_DAEMON_KILL_WAIT_MS	60000

static long long
cmd_daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The daemon replies to kill before it stops the apps; we return only when
 * its socket no longer answers and its process is gone, so that a script
 * may start a new daemon on the same home right after.
 */
static int
cmd_daemon_kill(struct ctl *ctl, int argc, char **argv)
{
	struct timespec ts = { 0, 50 * 1000000L };
	json_t *data;
	long long deadline;
	pid_t pid = 0;
	int rc;

	(void)argv;
	if (argc != 1)
		return ctl_usage(ctl);
	if ((rc = client_call(ctl, "ping", NULL, &data)) != 0)
		return rc;
	pid = (pid_t)json_integer_value(json_object_get(data, "pid"));
	json_decref(data);
	if ((rc = client_call(ctl, "kill", NULL, &data)) != 0)
		return rc;
	client_close(ctl);

	deadline = cmd_daemon_now_ms() + CMD_DAEMON_KILL_WAIT_MS;
	for (;;) {
		if (client_connect(ctl) == 0)
			client_close(ctl);
		else if (pid <= 0 || (kill(pid, 0) == -1 && errno == ESRCH))
			break;
		if (cmd_daemon_now_ms() > deadline) {
			ctl_warn("the daemon (pid %d) is still running after "
			    "%d s", (int)pid, CMD_DAEMON_KILL_WAIT_MS / 1000);
			json_decref(data);
			return EXIT_CMDFAIL;
		}
		nanosleep(&ts, NULL);
	}
	if (ctl->json)
		status_json_print(data);
	else
		printf("[wsd] daemon stopped ✓\n");
	json_decref(data);
	return EXIT_OK;
}

static int
cmd_daemon_save(struct ctl *ctl, int argc, char **argv)
{
	json_t *args, *data;
	int rc, force = 0;

	if (argc > 2)
		return ctl_usage(ctl);
	if (argc == 2) {
		if (strcmp(argv[1], "--force") != 0 && strcmp(argv[1], "-f") != 0)
			return ctl_usage(ctl);
		force = 1;
	}
	args = json_object();
	json_object_set_new(args, "force", json_boolean(force));
	if ((rc = client_call(ctl, "save", args, &data)) != 0)
		return rc;
	if (ctl->json)
		status_json_print(data);
	else
		printf("[wsd] saved %lld app%s to %s ✓\n",
		    json_integer_value(json_object_get(data, "apps")),
		    json_integer_value(json_object_get(data, "apps")) == 1 ?
		    "" : "s",
		    json_string_value(json_object_get(data, "path")) ?: "?");
	json_decref(data);
	return EXIT_OK;
}

static int
cmd_daemon_resurrect(struct ctl *ctl, int argc, char **argv)
{
	json_t *data;
	int rc;

	(void)argv;
	if (argc != 1)
		return ctl_usage(ctl);
	/* As pm2 resurrect after a reboot: no daemon yet is the usual case. */
	if ((rc = cmd_apps_ensure_daemon(ctl)) != EXIT_OK)
		return rc;
	if ((rc = client_call(ctl, "resurrect", NULL, &data)) != 0)
		return rc;
	ctl_warnings(data);
	if (ctl->json) {
		status_json_print(data);
		json_decref(data);
		return EXIT_OK;
	}
	printf("[wsd] resurrected %zu instance%s ✓\n",
	    json_array_size(json_object_get(data, "instances")),
	    json_array_size(json_object_get(data, "instances")) == 1 ? "" : "s");
	json_decref(data);
	return status_show(ctl);
}

/* How long update waits for the re-executed daemon to answer. */
#define CMD_DAEMON_UPDATE_WAIT_MS	15000

static long long
cmd_daemon_int(json_t *data, const char *key)
{
	return json_integer_value(json_object_get(data, key));
}

/*
 * The daemon answers update just before it re-executes itself; it is back
 * once ping counts one more update (or one more failure: the exec itself
 * failed and the old binary runs on).  The control socket never closes,
 * so a ping sent meanwhile waits in its backlog: the gap is measured.
 */
static int
cmd_daemon_update(struct ctl *ctl, int argc, char **argv)
{
	struct timespec ts = { 0, 20 * 1000000L };
	json_t *data, *now = NULL;
	long long updates, failures, t0, deadline;
	pid_t pid;
	int rc;

	(void)argv;
	if (argc != 1)
		return ctl_usage(ctl);
	if ((rc = client_call(ctl, "ping", NULL, &data)) != 0)
		return rc;
	updates = cmd_daemon_int(data, "updates");
	failures = cmd_daemon_int(data, "update_failures");
	pid = (pid_t)cmd_daemon_int(data, "pid");
	json_decref(data);
	if ((rc = client_call(ctl, "update", NULL, &data)) != 0)
		return rc;
	json_decref(data);
	client_close(ctl);
	t0 = cmd_daemon_now_ms();
	deadline = t0 + CMD_DAEMON_UPDATE_WAIT_MS;
	for (;;) {
		if (client_connect(ctl) == 0) {
			rc = client_call(ctl, "ping", NULL, &now);
			client_close(ctl);
			if (rc == 0 && (cmd_daemon_int(now, "updates") > updates ||
			    cmd_daemon_int(now, "update_failures") > failures))
				break;
			json_decref(now);
			now = NULL;
		}
		if (cmd_daemon_now_ms() > deadline) {
			ctl_warn("the daemon (pid %d) did not answer as updated "
			    "within %d s: see its log", (int)pid,
			    CMD_DAEMON_UPDATE_WAIT_MS / 1000);
			return EXIT_CMDFAIL;
		}
		nanosleep(&ts, NULL);
	}
	if (cmd_daemon_int(now, "updates") <= updates) {
		ctl_warn("update failed: %s", json_string_value(
		    json_object_get(now, "update_error")) ?: "see the log");
		json_decref(now);
		return EXIT_CMDFAIL;
	}
	json_object_set_new(now, "gap_ms",
	    json_integer(cmd_daemon_now_ms() - t0));
	if (ctl->json)
		status_json_print(now);
	else
		printf("[wsd] updated in place: pid %lld, version %s, "
		    "answering again after %lld ms ✓\n",
		    cmd_daemon_int(now, "pid"), json_string_value(
		    json_object_get(now, "version")) ?: "?",
		    cmd_daemon_int(now, "gap_ms"));
	json_decref(now);
	return EXIT_OK;
}

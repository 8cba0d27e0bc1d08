/* The commands about the daemon itself: kill, save, resurrect. */
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

const struct ctl_cmd cmd_daemon_cmds[] = {
	{ "kill", NULL, "", cmd_daemon_kill },
	{ "save", "dump", "[--force]", cmd_daemon_save },
	{ "resurrect", NULL, "", cmd_daemon_resurrect },
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

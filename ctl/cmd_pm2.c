/* The PM2 commands with no older wsctl counterpart: sendSignal, reset, cleardump. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "exitcodes.h"

static int	cmd_pm2_send_signal(struct ctl *, int, char **);
static int	cmd_pm2_reset(struct ctl *, int, char **);
static int	cmd_pm2_cleardump(struct ctl *, int, char **);

const struct ctl_cmd cmd_pm2_cmds[] = {
	{ "sendSignal", NULL, "SIGNAL NAME|ID|all", cmd_pm2_send_signal },
	{ "reset", NULL, "NAME|ID|all", cmd_pm2_reset },
	{ "cleardump", NULL, "", cmd_pm2_cleardump },
	{ NULL, NULL, NULL, NULL }
};

/* The ids of a reply's instances, as cmd_apps prints them. */
static void
cmd_pm2_done(struct ctl *ctl, const char *what, json_t *data)
{
	json_t *in;
	size_t i;

	if (ctl->json) {
		status_json_print(data);
		return;
	}
	printf("[wsd] %s (ids", what);
	json_array_foreach(json_object_get(data, "instances"), i, in)
		printf(" %lld", json_integer_value(json_object_get(in, "id")));
	printf(") ✓\n");
}

static int
cmd_pm2_send_signal(struct ctl *ctl, int argc, char **argv)
{
	json_t *data;
	char what[128];
	int rc;

	if (argc != 3 || argv[2][0] == '-')
		return ctl_usage(ctl);
	if ((rc = client_call(ctl, "sendSignal", json_pack("{ssss}", "signal",
	    argv[1], "target", argv[2]), &data)) != 0)
		return rc;
	snprintf(what, sizeof what, "sent %s to %s", argv[1], argv[2]);
	cmd_pm2_done(ctl, what, data);
	json_decref(data);
	return EXIT_OK;
}

static int
cmd_pm2_reset(struct ctl *ctl, int argc, char **argv)
{
	json_t *data;
	char what[128];
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage(ctl);
	if ((rc = client_call(ctl, "reset", json_pack("{ss}", "target",
	    argv[1]), &data)) != 0)
		return rc;
	snprintf(what, sizeof what, "reset the counters of %s", argv[1]);
	cmd_pm2_done(ctl, what, data);
	json_decref(data);
	return EXIT_OK;
}

static int
cmd_pm2_cleardump(struct ctl *ctl, int argc, char **argv)
{
	json_t *data;
	int rc;

	(void)argv;
	if (argc != 1)
		return ctl_usage(ctl);
	if ((rc = client_call(ctl, "cleardump", NULL, &data)) != 0)
		return rc;
	if (ctl->json)
		status_json_print(data);
	else
		printf("[wsd] emptied %s ✓\n",
		    json_string_value(json_object_get(data, "path")) ?: "?");
	json_decref(data);
	return EXIT_OK;
}

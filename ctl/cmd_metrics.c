/* `wsctl metrics`: the daemon's aggregated Prometheus text on stdout. */
#include <stdio.h>

#include "ctl.h"
#include "exitcodes.h"

static int	cmd_metrics_run(struct ctl *, int, char **);

const struct ctl_cmd cmd_metrics_cmds[] = {
	{ "metrics", NULL, "", cmd_metrics_run },
	{ NULL, NULL, NULL, NULL }
};

static int
cmd_metrics_run(struct ctl *ctl, int argc, char **argv)
{
	const char *text;
	json_t *data;
	int rc;

	(void)argv;
	if (argc != 1)
		return ctl_usage(ctl);
	if ((rc = client_call(ctl, "metrics", NULL, &data)) != 0)
		return rc;
	if (ctl->json)
		status_json_print(data);
	else if ((text = json_string_value(json_object_get(data, "text")))
	    != NULL)
		fputs(text, stdout);
	json_decref(data);
	return EXIT_OK;
}

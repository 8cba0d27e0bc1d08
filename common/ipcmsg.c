/* The IPC messages between wsd and an instance: builders and the parser. */
#include <string.h>

#include "ipcmsg.h"

#define IPCMSG_READY	"ready"
#define IPCMSG_STATS	"stats"
#define IPCMSG_CMD	"cmd"

/* The "cmd" values, by command; the others have no name. */
static const char *ipcmsg_cmd_names[] = {
	[IPCMSG_CMD_DRAIN] = "drain",
};

json_t *
ipcmsg_ready(void)
{
	return json_pack("{s:b}", IPCMSG_READY, 1);
}

json_t *
ipcmsg_stats(json_t *stats)
{
	return json_pack("{s:o}", IPCMSG_STATS, stats);
}

json_t *
ipcmsg_drain(void)
{
	return json_pack("{s:s}", IPCMSG_CMD,
	    ipcmsg_cmd_names[IPCMSG_CMD_DRAIN]);
}

json_t *
ipcmsg_parse(const char *line, size_t len, struct ipcmsg *m)
{
	json_t *v, *st;
	size_t i;

	memset(m, 0, sizeof *m);
	if ((v = json_loadb(line, len, 0, NULL)) == NULL)
		return NULL;
	if (!json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	m->ready = json_is_true(json_object_get(v, IPCMSG_READY));
	if (json_is_object(st = json_object_get(v, IPCMSG_STATS)))
		m->stats = st;
	m->cmd_name = json_string_value(json_object_get(v, IPCMSG_CMD));
	if (m->cmd_name != NULL) {
		m->cmd = IPCMSG_CMD_UNKNOWN;
		for (i = 0; i < sizeof ipcmsg_cmd_names /
		    sizeof ipcmsg_cmd_names[0]; i++)
			if (ipcmsg_cmd_names[i] != NULL &&
			    strcmp(ipcmsg_cmd_names[i], m->cmd_name) == 0)
				m->cmd = (enum ipcmsg_cmd)i;
	}
	return v;
}

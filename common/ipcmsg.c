/* The IPC messages between wsd and an instance: builders and the parser. */
#include <string.h>

#include "ipcmsg.h"

#define IPCMSG_READY	"ready"
#define IPCMSG_DRAIN_MS	"drain_ms"
#define IPCMSG_STATS	"stats"
#define IPCMSG_CMD	"cmd"
#define IPCMSG_SETTINGS	"settings"
#define IPCMSG_SET_OK	"settings_ok"
#define IPCMSG_SET_ERR	"settings_error"
/* What a Node app under PM2 says with process.send('ready'): a bare JSON
 * string on Node's channel (NODE_CHANNEL_FD, which is this one). */
#define IPCMSG_PM2_READY	"ready"

/* The "cmd" values, by command; the others have no name. */
static const char *ipcmsg_cmd_names[] = {
	[IPCMSG_CMD_DRAIN] = "drain",
};

json_t *
ipcmsg_ready(uint64_t drain_ms)
{
	if (drain_ms == 0)
		return json_pack("{s:b}", IPCMSG_READY, 1);
	return json_pack("{s:b,s:I}", IPCMSG_READY, 1, IPCMSG_DRAIN_MS,
	    (json_int_t)drain_ms);
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
ipcmsg_settings(json_t *settings)
{
	return json_pack("{s:o}", IPCMSG_SETTINGS, settings);
}

json_t *
ipcmsg_settings_ack(const char *error)
{
	if (error != NULL)
		return json_pack("{s:s}", IPCMSG_SET_ERR, error);
	return json_pack("{s:b}", IPCMSG_SET_OK, 1);
}

json_t *
ipcmsg_parse(const char *line, size_t len, struct ipcmsg *m)
{
	json_t *v, *st;
	size_t i;

	memset(m, 0, sizeof *m);
	if ((v = json_loadb(line, len, JSON_DECODE_ANY, NULL)) == NULL)
		return NULL;
	if (json_is_string(v) &&
	    strcmp(json_string_value(v), IPCMSG_PM2_READY) == 0) {
		m->ready = 1;
		return v;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	m->ready = json_is_true(json_object_get(v, IPCMSG_READY));
	if (json_is_integer(st = json_object_get(v, IPCMSG_DRAIN_MS)) &&
	    json_integer_value(st) > 0)
		m->drain_ms = (uint64_t)json_integer_value(st);
	if (json_is_object(st = json_object_get(v, IPCMSG_STATS)))
		m->stats = st;
	if (json_is_object(st = json_object_get(v, IPCMSG_SETTINGS)))
		m->settings = st;
	m->settings_ok = json_is_true(json_object_get(v, IPCMSG_SET_OK));
	m->settings_error = json_string_value(json_object_get(v,
	    IPCMSG_SET_ERR));
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

/* The control commands' table: name, access level, quick path. */
#include <string.h>

#include "ctlcmd.h"

static const struct ctlcmd ctlcmd_table[] = {
	{ "ping",	CTLCMD_READ,	1 },
	{ "list",	CTLCMD_READ,	1 },
	{ "metrics",	CTLCMD_READ,	1 },
	{ "events",	CTLCMD_READ,	1 },
	{ "describe",	CTLCMD_READ,	1 },
	/* `reveal` needs admin: the handler checks that one argument. */
	{ "env",	CTLCMD_READ,	1 },
	{ "logs",	CTLCMD_READ,	1 },
	{ "start",	CTLCMD_ADMIN,	0 },
	{ "stop",	CTLCMD_ADMIN,	0 },
	{ "restart",	CTLCMD_ADMIN,	0 },
	{ "reload",	CTLCMD_ADMIN,	0 },
	{ "delete",	CTLCMD_ADMIN,	0 },
	{ "scale",	CTLCMD_ADMIN,	0 },
	{ "flush",	CTLCMD_ADMIN,	0 },
	{ "reloadLogs",	CTLCMD_ADMIN,	0 },
	{ "save",	CTLCMD_ADMIN,	0 },
	{ "resurrect",	CTLCMD_ADMIN,	0 },
	{ "kill",	CTLCMD_ADMIN,	0 },
	{ "sendSignal",	CTLCMD_ADMIN,	0 },
	{ "reset",	CTLCMD_ADMIN,	0 },
	{ "cleardump",	CTLCMD_ADMIN,	0 },
	/* Reads a file the daemon may run (ecosystem.config.js): admin. */
	{ "appNames",	CTLCMD_ADMIN,	0 },
	/* wsd re-executes its binary, apps running (supervisor/update.c). */
	{ "update",	CTLCMD_ADMIN,	0 },
};

#define CTLCMD_COUNT	(sizeof ctlcmd_table / sizeof ctlcmd_table[0])

const struct ctlcmd *
ctlcmd_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < CTLCMD_COUNT; i++)
		if (strcmp(ctlcmd_table[i].name, name) == 0)
			return &ctlcmd_table[i];
	return NULL;
}

const struct ctlcmd *
ctlcmd_at(size_t i)
{
	return i < CTLCMD_COUNT ? &ctlcmd_table[i] : NULL;
}

/*
 * Every control command's name, access level and whether wsctl takes the
 * quick path for it: one table that the daemon (supervisor/command.c, for
 * who may run what) and wsctl (ctl/client.c, for how long to wait) both
 * read, so the two can never disagree (docs/control-protocol.md).
 */
#ifndef WSD_CTLCMD_H
#define WSD_CTLCMD_H

#include <stddef.h>

enum ctlcmd_access {
	CTLCMD_READ,	/* anyone who can connect to the socket */
	CTLCMD_ADMIN,	/* the daemon's uid or root; logged with the peer */
};

struct ctlcmd {
	const char		*name;
	enum ctlcmd_access	 access;
	/*
	 * The reply comes at once (it reads state and waits for nothing), so
	 * wsctl gives up after its read timeout: a wedged daemon must not
	 * hang `wsctl status` in a monitoring script.  The other commands
	 * wait as long as the daemon takes (stop waits out kill_timeout).
	 */
	int			 quick;
};

/* The row of `name`; NULL when there is no such command. */
const struct ctlcmd	*ctlcmd_find(const char *name);
/* Row i of the table, in protocol order; NULL past the last one. */
const struct ctlcmd	*ctlcmd_at(size_t i);

#endif

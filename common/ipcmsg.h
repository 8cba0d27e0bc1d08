/*
 * The words wsd and an instance say on their IPC channel (WSD_IPC_FD,
 * docs/control-protocol.md): one JSON object per line.
 *
 *   instance → wsd   {"ready":true}           serving (once)
 *                    {"stats":{…}}            counters, every interval
 *   wsd → instance   {"cmd":"drain"}          stop accepting, close, exit
 *
 * Both sides build and read them here (supervisor/ipc.c + app.c,
 * worker/parent.c), so neither spells a message name of its own.  Pure:
 * jansson only.
 */
#ifndef WSD_IPCMSG_H
#define WSD_IPCMSG_H

#include <stddef.h>

#include <jansson.h>

/* The commands wsd sends; an instance ignores (and logs) any other. */
enum ipcmsg_cmd {
	IPCMSG_CMD_NONE,	/* no "cmd" member */
	IPCMSG_CMD_DRAIN,	/* "drain" */
	IPCMSG_CMD_UNKNOWN,	/* a "cmd" this build does not know */
};

/* What one line says; the pointers borrow from the parsed object. */
struct ipcmsg {
	int			 ready;	/* "ready" is true */
	json_t			*stats;	/* "stats" when it is an object */
	enum ipcmsg_cmd		 cmd;
	const char		*cmd_name;	/* "cmd" when a string */
};

/* The messages, as new objects (NULL on ENOMEM); `stats` is stolen. */
json_t	*ipcmsg_ready(void);
json_t	*ipcmsg_stats(json_t *stats);
json_t	*ipcmsg_drain(void);

/*
 * Parse one line (without its '\n').  Returns the object, a new reference
 * that owns what *m borrows, or NULL when the line is not a JSON object
 * (ignored: a peer cannot upset the other side through its channel).
 */
json_t	*ipcmsg_parse(const char *line, size_t len, struct ipcmsg *m);

#endif

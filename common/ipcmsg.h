/*
 * The words wsd and an instance say on their IPC channel (WSD_IPC_FD,
 * docs/control-protocol.md): one JSON object per line.
 *
 *   instance → wsd   {"ready":true}           serving (once)
 *                    {"ready":true,"drain_ms":N}  the same, and a drain
 *                                             will close its clients over
 *                                             N ms: wsd's SIGKILL waits that
 *                                             much longer than kill_timeout
 *                    "ready"                  the same, as a Node app says it
 *                                             (process.send('ready'), PM2's)
 *                    {"stats":{…}}            counters, every interval
 *                    {"settings_ok":true}     hot settings applied
 *                    {"settings_error":"…"}   hot settings refused (none applied)
 *   wsd → instance   {"cmd":"drain"}          stop accepting, close, exit
 *                    {"settings":{K:V|null}}  hot settings (SPEC §4.11): every
 *                                             hot key, null = unset
 *
 * Both sides build and read them here (supervisor/ipc.c + app.c,
 * worker/parent.c), so neither spells a message name of its own.  Pure:
 * jansson only.
 */
#ifndef WSD_IPCMSG_H
#define WSD_IPCMSG_H

#include <stddef.h>
#include <stdint.h>

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
	uint64_t		 drain_ms; /* "drain_ms", 0 when absent or
					    not a non-negative integer */
	json_t			*stats;	/* "stats" when it is an object */
	enum ipcmsg_cmd		 cmd;
	const char		*cmd_name;	/* "cmd" when a string */
	json_t			*settings;	/* "settings" when an object */
	int			 settings_ok;	/* "settings_ok" is true */
	const char		*settings_error; /* "settings_error" string */
};

/*
 * The messages, as new objects (NULL on ENOMEM); `stats` is stolen.
 * ready's drain_ms is left out when 0 (what an older wsd expects).
 */
json_t	*ipcmsg_ready(uint64_t drain_ms);
json_t	*ipcmsg_stats(json_t *stats);
json_t	*ipcmsg_drain(void);
/* `settings` is stolen; the answer is ok when `error` is NULL. */
json_t	*ipcmsg_settings(json_t *settings);
json_t	*ipcmsg_settings_ack(const char *error);

/*
 * Parse one line (without its '\n').  Returns the object (or the string
 * "ready"), a new reference that owns what *m borrows, or NULL when the
 * line is anything else (ignored: a peer cannot upset the other side
 * through its channel).
 */
json_t	*ipcmsg_parse(const char *line, size_t len, struct ipcmsg *m);

#endif

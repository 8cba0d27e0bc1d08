/*
 * The link to the parent, wsd (WSD_IPC_FD, docs/control-protocol.md): we
 * send {"ready":true} once and {"stats":{…}} every interval, and receive
 * {"cmd":"drain"}; the words are common/ipcmsg.h's.  Without WSD_IPC_FD
 * (run by hand) every call is a no-op.
 */
#ifndef WSD_PARENT_H
#define WSD_PARENT_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

typedef void (*parent_drain_cb)(void *arg);
/* The stats object to send (a new reference), built by the caller. */
typedef json_t *(*parent_stats_cb)(void *arg);
/*
 * Apply hot settings (every hot key: a string, or null = unset): all of
 * them, or none and -1 with *err (static; never a value).  wsd is told
 * either way, and replaces the instance on a refusal.
 */
typedef int (*parent_settings_cb)(void *arg, json_t *settings,
    const char **err);

/* 0 when set up or when there is no parent link; -1 with *err when invalid. */
int	parent_open(uv_loop_t *, uint64_t interval_ms, parent_stats_cb,
	    parent_drain_cb, parent_settings_cb, void *arg, char **err);
/* Serving; a drain will spread its closes over drain_ms (0: none said). */
void	parent_ready(uint64_t drain_ms);
/* Send one stats line now (also done every interval). */
void	parent_send_stats(void);
void	parent_close(void);

#endif

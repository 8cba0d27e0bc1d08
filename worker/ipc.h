/*
 * The IPC channel with wsd (WSD_IPC_FD, docs/control-protocol.md): JSON
 * lines; we send {"ready":true} once and {"stats":{…}} every interval, and
 * receive {"cmd":"drain"}.  Without WSD_IPC_FD every call is a no-op.
 */
#ifndef WSD_IPC_H
#define WSD_IPC_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

typedef void (*ipc_drain_cb)(void *arg);
/* The stats object to send (a new reference), built by the caller. */
typedef json_t *(*ipc_stats_cb)(void *arg);

/* 0 when set up or when there is no channel; -1 with *err when invalid. */
int	ipc_open(uv_loop_t *, uint64_t interval_ms, ipc_stats_cb, ipc_drain_cb,
	    void *arg, char **err);
void	ipc_ready(void);
/* Send one stats line now (also done every interval). */
void	ipc_send_stats(void);
void	ipc_close(void);

#endif

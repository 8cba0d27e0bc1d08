/*
 * The systemd readiness protocol (sd_notify datagrams on $NOTIFY_SOCKET,
 * no libsystemd) and the watchdog keep-alive.  All calls are no-ops when
 * NOTIFY_SOCKET is unset.
 */
#ifndef WSD_NOTIFY_H
#define WSD_NOTIFY_H

#include <uv.h>

/* Read NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID; start the watchdog
 * timer (WATCHDOG=1 every WATCHDOG_USEC/2) on `loop`.  0, or -1 if the
 * socket path is invalid (logged). */
int	notify_init(uv_loop_t *loop);
/* Send one state string, e.g. "READY=1", "RELOADING=1", "STOPPING=1",
 * "STATUS=…".  Returns 0 or -1 (never blocks). */
int	notify_send(const char *state);
/* Stop the watchdog timer (on shutdown). */
void	notify_close(void);
/* The variables notify_init took out of the environment ("K=V", NULL-ended):
 * a re-exec of wsd (wsctl update) hands them to the new image. */
char *const *notify_environ(void);

#endif

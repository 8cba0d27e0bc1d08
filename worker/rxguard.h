/*
 * The mask check lws 4.1 lacks.  RFC 6455 §5.1: a server closes the
 * connection when a client frame is not masked.  lws 4.1.6 never looks at
 * the mask bit (later releases do) and hands such payloads on as if they
 * were masked, so the frame headers are watched here, where lws reads
 * them: the worker defines recv(), which lws calls for every socket read
 * (the executable's definition comes before libc's).  On an unmasked
 * frame the peer gets close 1002 and lws sees the connection end.
 */
#ifndef WSD_RXGUARD_H
#define WSD_RXGUARD_H

#include <stddef.h>
#include <stdint.h>

/* Where a socket's client-to-server frame stream is. */
struct rxguard {
	uint8_t		on;
	uint8_t		phase;		/* RXGUARD_* in rxguard.c */
	uint8_t		need;		/* bytes left of a length or mask */
	uint64_t	remain;		/* payload bytes left (or the length) */
};

/* Whether a close frame may be written now (nothing half-sent), per conn. */
typedef int (*rxguard_idle_cb)(void *conn);

void	rxguard_init(rxguard_idle_cb);
/* Watch the frames arriving on fd from now on (after the handshake). */
void	rxguard_watch(int fd, void *conn);
void	rxguard_forget(int fd);
/* Follow `len` more bytes of frames: -1 at an unmasked frame, else 0. */
int	rxguard_scan(struct rxguard *, const void *, size_t len);

#endif

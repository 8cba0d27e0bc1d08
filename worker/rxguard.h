/*
 * The frame checks lws 4.1 lacks.  RFC 6455 §5: a server closes the
 * connection with 1002 when a client frame is not masked, has a reserved
 * bit or opcode, is a control frame that is fragmented or longer than
 * 125 bytes, or breaks the fragment sequence.  lws 4.1.6 never looks at
 * the mask bit (later releases do; it hands such payloads on as if they
 * were masked), ignores reserved opcodes and a new message inside a
 * fragmented one, and drops an oversized control frame without a close
 * frame.  So the frame headers are followed here, where lws reads them:
 * the worker defines recv(), which lws calls for every socket read (the
 * executable's definition comes before libc's).  At a bad frame the peer
 * gets close 1002 and lws sees the connection end.
 */
#ifndef WSD_RXGUARD_H
#define WSD_RXGUARD_H

#include <stddef.h>
#include <stdint.h>

/* Where a socket's client-to-server frame stream is. */
struct rxguard {
	uint8_t		on;
	uint8_t		phase;		/* RXGUARD_AT_* in rxguard.c */
	uint8_t		need;		/* bytes left of a length or mask */
	uint8_t		head;		/* the frame's first byte */
	uint8_t		fragmented;	/* inside a fragmented message */
	uint64_t	remain;		/* payload bytes left (or the length) */
};

/* What is wrong with a frame (0: nothing). */
enum rxguard_fault {
	RXGUARD_OK = 0,
	RXGUARD_UNMASKED,
	RXGUARD_RESERVED,		/* RSV bit or reserved opcode */
	RXGUARD_CONTROL,		/* fragmented or over 125 bytes */
	RXGUARD_SEQUENCE,		/* continuation / new message misplaced */
	RXGUARD_LENGTH,			/* 64-bit length with its top bit set */
};

/* Whether a close frame may be written now (nothing half-sent), per conn. */
typedef int (*rxguard_idle_cb)(void *conn);

void	rxguard_init(rxguard_idle_cb);
/* Watch the frames arriving on fd from now on (after the handshake). */
void	rxguard_watch(int fd, void *conn);
void	rxguard_forget(int fd);
/*
 * Frames lws got without a read (sent before the 101, handed over with
 * the request): followed so the watch stays in step; a fault among them
 * stops the watch (lws has them already).
 */
void	rxguard_seen(int fd, const void *, size_t len);
/* Follow `len` more bytes of frames: the first fault met, or RXGUARD_OK. */
enum rxguard_fault rxguard_scan(struct rxguard *, const void *, size_t len);

#endif

/*
 * Server-to-client WebSocket text frames, serialized once and shared by
 * every recipient (reference counted), so a fan-out to N sockets costs one
 * allocation and one encoding.  Pure: RFC 6455 framing only.
 */
#ifndef WSD_FRAME_H
#define WSD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_MAX	10

struct frame {
	uint32_t	 refs;
	uint32_t	 len;		/* header + payload bytes in data */
	unsigned char	 data[];
};

#define FRAME_TEXT		0x1
#define FRAME_PING		0x9

/* Encode an unmasked FIN header of opcode `op` for `len`; returns its size. */
size_t		 frame_header(unsigned char *out, unsigned op, uint64_t len);
/* A text frame holding `payload`, one reference; NULL on ENOMEM. */
struct frame	*frame_new(const void *payload, size_t len);
/* A frame of opcode `op` (control frames: len <= 125). */
struct frame	*frame_new_op(unsigned op, const void *payload, size_t len);
struct frame	*frame_ref(struct frame *);
void		 frame_unref(struct frame *);

#endif

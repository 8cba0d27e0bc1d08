/*
 * A socket's frames waiting to be written, oldest first.  One frame is
 * held inline (an event at a time needs no allocation); from the second
 * on they go to a ring of pointers, freed again when one is left.  Frames
 * are walked in order from contiguous memory, not chased through nodes
 * spread over the heap: a burst to many sockets touches a few cache lines
 * per socket, not one per frame.  Pure: no I/O.
 */
#ifndef WSD_FQUEUE_H
#define WSD_FQUEUE_H

#include <stdint.h>

struct frame;
struct fq_ring;

struct fqueue {
	union {
		struct frame	*one;	/* len <= 1: the frame, or NULL */
		struct fq_ring	*ring;	/* len >= 2 */
	} u;
	uint32_t	 len;		/* frames */
	uint32_t	 bytes;		/* their bytes (frame->len) */
};

/* Append f, with a reference of its own; -1 out of memory (nothing taken). */
int		 fqueue_push(struct fqueue *, struct frame *f);
/* The i-th oldest frame, i < len. */
struct frame	*fqueue_at(const struct fqueue *, uint32_t i);
/* Drop the oldest frame (len > 0) and its reference. */
void		 fqueue_pop(struct fqueue *);
/* Drop every frame. */
void		 fqueue_clear(struct fqueue *);

#endif

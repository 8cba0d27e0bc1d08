/* A socket's outgoing frames: inline, then a ring (fqueue.h). */
#include <stdlib.h>
#include <string.h>

#include "fqueue.h"
#include "frame.h"

#define FQ_RING_MIN	16	/* slots of a new ring: a power of two */

struct fq_ring {
	uint32_t	 cap;		/* slots, a power of two */
	uint32_t	 head;		/* the oldest frame's slot */
	struct frame	*f[];
};

static struct fq_ring *
fq_ring_new(uint32_t cap)
{
	struct fq_ring	*r;

	if ((r = malloc(sizeof *r + (size_t)cap * sizeof r->f[0])) == NULL)
		return NULL;
	r->cap = cap;
	r->head = 0;
	return r;
}

/* A ring of twice the slots holding q's frames from slot 0. */
static int
fq_grow(struct fqueue *q)
{
	struct fq_ring	*old = q->u.ring, *r;
	uint32_t	 first;

	if (old->cap > UINT32_MAX / 2 || (r = fq_ring_new(old->cap * 2)) ==
	    NULL)
		return -1;
	first = old->cap - old->head;	/* slots up to the wrap */
	if (first > q->len)
		first = q->len;
	memcpy(r->f, old->f + old->head, first * sizeof r->f[0]);
	memcpy(r->f + first, old->f, (q->len - first) * sizeof r->f[0]);
	free(old);
	q->u.ring = r;
	return 0;
}

int
fqueue_push(struct fqueue *q, struct frame *f)
{
	struct fq_ring	*r;

	if (q->len == UINT32_MAX || f->len > UINT32_MAX - q->bytes)
		return -1;
	if (q->len == 0)
		q->u.one = f;
	else if (q->len == 1) {
		if ((r = fq_ring_new(FQ_RING_MIN)) == NULL)
			return -1;
		r->f[0] = q->u.one;
		r->f[1] = f;
		q->u.ring = r;
	} else {
		if (q->len == q->u.ring->cap && fq_grow(q) != 0)
			return -1;
		r = q->u.ring;
		r->f[(r->head + q->len) & (r->cap - 1)] = f;
	}
	frame_ref(f);
	q->len++;
	q->bytes += f->len;
	return 0;
}

struct frame *
fqueue_at(const struct fqueue *q, uint32_t i)
{
	const struct fq_ring	*r = q->u.ring;

	if (q->len == 1)
		return q->u.one;
	return r->f[(r->head + i) & (r->cap - 1)];
}

void
fqueue_pop(struct fqueue *q)
{
	struct fq_ring	*r = q->u.ring;
	struct frame	*f;

	if (q->len == 1) {
		f = q->u.one;
		q->u.one = NULL;
	} else {
		f = r->f[r->head];
		r->head = (r->head + 1) & (r->cap - 1);
		if (q->len == 2) {
			/* one left: back inline */
			q->u.one = r->f[r->head];
			free(r);
		}
	}
	q->len--;
	q->bytes -= f->len;
	frame_unref(f);
}

void
fqueue_clear(struct fqueue *q)
{
	while (q->len > 0)
		fqueue_pop(q);
}

/* A binary min-heap of deadlines with back-indices for O(log n) removal. */
#include <stdlib.h>

#include "deadline.h"

void
deadline_heap_init(struct deadline_heap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

void
deadline_heap_free(struct deadline_heap *h)
{
	size_t	i;

	for (i = 0; i < h->n; i++)
		h->v[i]->idx = 0;
	free(h->v);
	deadline_heap_init(h);
}

static void
deadline_set(struct deadline_heap *h, size_t i, struct deadline *d)
{
	h->v[i] = d;
	d->idx = (uint32_t)i + 1;
}

static void
deadline_up(struct deadline_heap *h, size_t i)
{
	struct deadline	*d = h->v[i];
	size_t		 p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (h->v[p]->at <= d->at)
			break;
		deadline_set(h, i, h->v[p]);
		i = p;
	}
	deadline_set(h, i, d);
}

static void
deadline_down(struct deadline_heap *h, size_t i)
{
	struct deadline	*d = h->v[i];
	size_t		 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->at < h->v[c]->at)
			c++;
		if (d->at <= h->v[c]->at)
			break;
		deadline_set(h, i, h->v[c]);
		i = c;
	}
	deadline_set(h, i, d);
}

int
deadline_add(struct deadline_heap *h, struct deadline *d, int64_t at)
{
	struct deadline	**nv;
	size_t		  ncap;

	if (d->idx != 0)
		deadline_remove(h, d);
	if (h->n == h->cap) {
		ncap = h->cap ? h->cap * 2 : 64;
		nv = realloc(h->v, ncap * sizeof *nv);
		if (nv == NULL)
			return -1;
		h->v = nv;
		h->cap = ncap;
	}
	d->at = at;
	h->v[h->n++] = d;
	deadline_up(h, h->n - 1);
	return 0;
}

void
deadline_remove(struct deadline_heap *h, struct deadline *d)
{
	size_t		 i;
	struct deadline	*last;

	if (d->idx == 0)
		return;
	i = d->idx - 1;
	d->idx = 0;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	h->v[i] = last;
	last->idx = (uint32_t)i + 1;
	if (i > 0 && h->v[(i - 1) / 2]->at > last->at)
		deadline_up(h, i);
	else
		deadline_down(h, i);
}

struct deadline *
deadline_top(const struct deadline_heap *h)
{
	return h->n > 0 ? h->v[0] : NULL;
}

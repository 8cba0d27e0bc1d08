/*
 * A min-heap of deadlines (token expiries), so one timer serves every
 * socket: O(log n) to add or remove, the earliest at the top.  Pure.
 * A struct deadline is embedded in its owner; idx is the heap slot + 1
 * (0 = not in the heap).
 */
#ifndef WSD_DEADLINE_H
#define WSD_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

struct deadline {
	int64_t		at;	/* ms since the epoch */
	uint32_t	idx;
};

struct deadline_heap {
	struct deadline	**v;
	size_t		  n;
	size_t		  cap;
};

void		 deadline_heap_init(struct deadline_heap *);
void		 deadline_heap_free(struct deadline_heap *);
/* Insert (or move, when already in) at `at`; -1 on ENOMEM. */
int		 deadline_add(struct deadline_heap *, struct deadline *, int64_t at);
void		 deadline_remove(struct deadline_heap *, struct deadline *);
/* The earliest deadline, or NULL when empty. */
struct deadline	*deadline_top(const struct deadline_heap *);

#endif

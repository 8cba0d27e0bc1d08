/*
 * The socket frame queue: order and byte count through the inline slot,
 * a ring, its growth across the wrap and the way back inline; every
 * reference it took is given back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fqueue.h"
#include "frame.h"

#define N	200

static struct frame *
numbered(int i)
{
	char	buf[16];

	snprintf(buf, sizeof buf, "%d", i);
	return frame_new(buf, strlen(buf));
}

static int
number(const struct frame *f)
{
	char	buf[16];
	size_t	n = f->len - 2;		/* a short frame: 2 header bytes */

	memcpy(buf, f->data + 2, n);
	buf[n] = '\0';
	return atoi(buf);
}

/* Push lo..hi-1 onto q, checking the count and the bytes. */
static void
push_range(struct fqueue *q, struct frame **fs, int lo, int hi)
{
	int	i;

	for (i = lo; i < hi; i++) {
		uint32_t	bytes = q->bytes, len = q->len;

		assert_int_equal(fqueue_push(q, fs[i]), 0);
		assert_int_equal(q->len, len + 1);
		assert_int_equal(q->bytes, bytes + fs[i]->len);
		assert_int_equal(fs[i]->refs, 2);
	}
}

static void
test_order(void **state)
{
	struct fqueue	 q = { 0 };
	struct frame	*fs[N];
	uint32_t	 i;
	int		 next = 0, k;

	(void)state;
	for (k = 0; k < N; k++)
		assert_non_null(fs[k] = numbered(k));
	/* one, inline */
	push_range(&q, fs, 0, 1);
	assert_ptr_equal(fqueue_at(&q, 0), fs[0]);
	fqueue_pop(&q);
	assert_int_equal(fs[0]->refs, 1);
	assert_int_equal(q.len, 0);
	assert_int_equal(q.bytes, 0);
	next = 1;
	/*
	 * Fill, drain part, fill past the ring's size so that it grows with
	 * its head in the middle (the wrap), then drain it all: the order is
	 * the order of the pushes throughout.
	 */
	push_range(&q, fs, 1, 12);
	for (k = 0; k < 9; k++, next++) {
		assert_int_equal(number(fqueue_at(&q, 0)), next);
		fqueue_pop(&q);
	}
	push_range(&q, fs, 12, N);
	for (i = 0; i < q.len; i++)
		assert_int_equal(number(fqueue_at(&q, i)), next + (int)i);
	while (q.len > 0) {
		assert_int_equal(number(fqueue_at(&q, 0)), next);
		fqueue_pop(&q);
		assert_int_equal(fs[next]->refs, 1);
		next++;
	}
	assert_int_equal(next, N);
	assert_int_equal(q.bytes, 0);
	for (k = 0; k < N; k++)
		frame_unref(fs[k]);
}

/* Two, then one left: the last frame is back inline, a push after it
 * starts a new ring. */
static void
test_back_inline(void **state)
{
	struct fqueue	 q = { 0 };
	struct frame	*fs[4];
	int		 k;

	(void)state;
	for (k = 0; k < 4; k++)
		assert_non_null(fs[k] = numbered(k));
	push_range(&q, fs, 0, 2);
	fqueue_pop(&q);
	assert_int_equal(q.len, 1);
	assert_ptr_equal(q.u.one, fs[1]);
	push_range(&q, fs, 2, 4);
	for (k = 1; k < 4; k++) {
		assert_ptr_equal(fqueue_at(&q, 0), fs[k]);
		fqueue_pop(&q);
	}
	assert_null(q.u.one);
	for (k = 0; k < 4; k++) {
		assert_int_equal(fs[k]->refs, 1);
		frame_unref(fs[k]);
	}
}

static void
test_clear(void **state)
{
	struct fqueue	 q = { 0 };
	struct frame	*f;
	int		 k;

	(void)state;
	assert_non_null(f = numbered(7));
	for (k = 0; k < 40; k++)
		assert_int_equal(fqueue_push(&q, f), 0);
	assert_int_equal(f->refs, 41);
	assert_int_equal(q.bytes, 40 * f->len);
	fqueue_clear(&q);
	assert_int_equal(q.len, 0);
	assert_int_equal(q.bytes, 0);
	assert_int_equal(f->refs, 1);
	fqueue_clear(&q);	/* empty: nothing to do */
	frame_unref(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_back_inline),
		cmocka_unit_test(test_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

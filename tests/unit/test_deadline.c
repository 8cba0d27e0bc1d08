/* The deadline heap: order, removal from the middle, moves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "deadline.h"

static void
test_order(void **state)
{
	struct deadline_heap	 h;
	struct deadline		 d[100];
	int64_t			 last = INT64_MIN;
	int			 i;

	(void)state;
	deadline_heap_init(&h);
	srand(7);
	for (i = 0; i < 100; i++) {
		d[i].idx = 0;
		assert_int_equal(deadline_add(&h, &d[i], rand() % 1000), 0);
	}
	/* drop every third from wherever it is */
	for (i = 0; i < 100; i += 3)
		deadline_remove(&h, &d[i]);
	for (i = 0; i < 100; i += 3)
		assert_int_equal(d[i].idx, 0);
	/* move some */
	deadline_add(&h, &d[1], 5000);
	deadline_add(&h, &d[2], -5);
	assert_ptr_equal(deadline_top(&h), &d[2]);
	while (deadline_top(&h) != NULL) {
		struct deadline *t = deadline_top(&h);

		assert_true(t->at >= last);
		last = t->at;
		deadline_remove(&h, t);
	}
	assert_int_equal(last, 5000);
	/* removing twice is harmless */
	deadline_remove(&h, &d[1]);
	deadline_heap_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

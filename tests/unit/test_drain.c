/* The drain schedule: spread closes, capped by kill_timeout (drain.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "drain.h"

static void
test_plan(void **state)
{
	struct drain_plan	p;

	(void)state;
	drain_plan(&p, 1000, 1000, 0);		/* kill_timeout unknown */
	assert_int_equal(p.spread_ms, 1000);
	assert_int_equal(p.deadline_ms, 2000);
	drain_plan(&p, 1000, 1000, 1600);	/* PM2's default */
	assert_int_equal(p.spread_ms, 800);
	assert_int_equal(p.deadline_ms, 1200);
	drain_plan(&p, 600000, 1000, 3000);
	assert_int_equal(p.spread_ms, 1500);
	assert_int_equal(p.deadline_ms, 2250);
	drain_plan(&p, 1000, 1000, 300);	/* the 100 ms margin */
	assert_int_equal(p.spread_ms, 150);
	assert_int_equal(p.deadline_ms, 200);
	drain_plan(&p, 500, 100, 10000);	/* well within */
	assert_int_equal(p.spread_ms, 500);
	assert_int_equal(p.deadline_ms, 600);
	drain_plan(&p, 0, 1000, 50);		/* tiny kill_timeout */
	assert_int_equal(p.spread_ms, 0);
	assert_int_equal(p.deadline_ms, 0);
}

static void
test_close_at(void **state)
{
	uint64_t	t, prev = 0;
	size_t		i, n = 10000;

	(void)state;
	assert_int_equal(drain_close_at(1000, 0, 0, 5), 0);
	assert_int_equal(drain_close_at(0, 3, 10, 5), 0);
	assert_int_equal(drain_close_at(1000, 0, 10, 0), 0);
	assert_int_equal(drain_close_at(1000, 5, 10, 0), 500);
	assert_int_equal(drain_close_at(1000, 9, 10, UINT32_MAX), 999);
	/* in order, within the window, each inside its own slot */
	for (i = 0; i < n; i++) {
		t = drain_close_at(60000, i, n, (uint32_t)(i * 2654435761u));
		assert_true(t >= prev);
		assert_true(t < 60000);
		assert_true(t >= 60000 * i / n && t <= 60000 * (i + 1) / n);
		prev = t;
	}
	/* no overflow with a long window and many clients */
	t = drain_close_at(600000, 999999, 1000000, UINT32_MAX);
	assert_true(t < 600000 && t >= 599999);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_close_at),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The drain schedule: spread closes, capped by kill_timeout unless wsd
 * waits out the spread (drain.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "drain.h"

/* One plan: its inputs and what it must say. */
struct plan_case {
	uint64_t	spread, timeout, kill, wait;	/* drain_plan's */
	uint64_t	want_spread, want_deadline;
};

static const struct plan_case plan_cases[] = {
	/* wsd does not wait for the window (0): kill_timeout caps it */
	{ 1000, 1000, 0, 0,		1000, 2000 },	/* kill_timeout unknown */
	{ 1000, 1000, 1600, 0,		800, 1200 },	/* PM2's default */
	{ 600000, 1000, 3000, 0,	1500, 2250 },
	{ 1000, 1000, 300, 0,		150, 200 },	/* the 100 ms margin */
	{ 500, 100, 10000, 0,		500, 600 },	/* well within */
	{ 0, 1000, 50, 0,		0, 0 },		/* tiny kill_timeout */
	/* wsd waits for it: the spread is kept, the margin follows it */
	{ 4000, 1000, 1600, 600000,	4000, 5000 },	/* the defaults */
	{ 3000, 1000, 1000, 600000,	3000, 3750 },	/* margin 250 ms */
	{ 3000, 1000, 300, 600000,	3000, 3200 },	/* the 100 ms margin */
	{ 3000, 1000, 50, 600000,	3000, 3000 },	/* tiny kill_timeout */
	{ 900000, 1000, 10000, 600000,	600000, 601000 }, /* wsd's cap */
	{ 2000, 500, 0, 600000,		2000, 2500 },	/* kill_timeout unknown */
	{ 0, 1000, 1600, 600000,	0, 1000 },	/* all at once */
};

static void
test_plan(void **state)
{
	const struct plan_case	*c;
	struct drain_plan	 p;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof plan_cases / sizeof plan_cases[0]; i++) {
		c = &plan_cases[i];
		drain_plan(&p, c->spread, c->timeout, c->kill, c->wait);
		if (p.spread_ms != c->want_spread ||
		    p.deadline_ms != c->want_deadline)
			fail_msg("case %zu: spread %llu deadline %llu, want "
			    "%llu %llu", i, (unsigned long long)p.spread_ms,
			    (unsigned long long)p.deadline_ms,
			    (unsigned long long)c->want_spread,
			    (unsigned long long)c->want_deadline);
	}
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

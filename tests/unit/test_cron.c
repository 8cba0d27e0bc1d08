/* Unit tests of common/cron.c: parsing, reasons, and the next run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cron.h"

static int
setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static time_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return timegm(&tm);
}

static void
test_parse(void **state)
{
	struct cron c;
	const char *err;

	(void)state;
	assert_int_equal(cron_parse("*/15 0-6,22 1 jan-MAR mon-fri", &c, &err),
	    0);
	assert_null(err);
	assert_int_equal(c.minute, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) |
	    (1ULL << 45));
	assert_int_equal(c.hour, 0x7f | (1U << 22));
	assert_int_equal(c.mday, 1U << 1);
	assert_int_equal(c.month, (1 << 1) | (1 << 2) | (1 << 3));
	assert_int_equal(c.wday, 0x3e);
	assert_false(c.mday_any);
	assert_false(c.wday_any);
	assert_int_equal(cron_parse("  0 3 * * 7 ", &c, &err), 0);
	assert_int_equal(c.wday, 1);	/* 7 is Sunday */
	assert_true(c.mday_any);
	assert_int_equal(cron_parse("5/20 * * * *", &c, &err), 0);
	assert_int_equal(c.minute, (1ULL << 5) | (1ULL << 25) | (1ULL << 45));
	assert_int_equal(cron_parse("@hourly", &c, &err), 0);
	assert_int_equal(c.minute, 1);
	assert_int_equal(c.hour, 0xffffff);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char	*expr;
		const char	*reason;
	} bad[] = {
		{ "", "expected 5 fields (minute hour day month weekday)" },
		{ "* * * *", "expected 5 fields (minute hour day month "
		    "weekday)" },
		{ "* * * * * *", "too many fields: expected 5 (minute hour "
		    "day month weekday)" },
		{ "60 * * * *", "minute field: value out of range in \"60\"" },
		{ "* 24 * * *", "hour field: value out of range in \"24\"" },
		{ "* * 0 * *", "day of month field: value out of range in "
		    "\"0\"" },
		{ "* * * 13 *", "month field: value out of range in \"13\"" },
		{ "* * * * 8", "day of week field: value out of range in "
		    "\"8\"" },
		{ "x * * * *", "minute field: bad value in \"x\"" },
		{ "5-1 * * * *", "minute field: backward range in \"5-1\"" },
		{ "1- * * * *", "minute field: bad range in \"1-\"" },
		{ "*/0 * * * *", "minute field: bad step in \"*/0\"" },
		{ "*/ * * * *", "minute field: bad step in \"*/\"" },
		{ "1,,2 * * * *", "minute field: bad value in \"1,,2\"" },
		{ "1, * * * *", "minute field: bad list in \"1,\"" },
		{ "* * * foo *", "month field: bad value in \"foo\"" },
		{ "* * * * monday", "day of week field: bad value in "
		    "\"monday\"" },
		{ "1-5x * * * *", "minute field: bad list in \"1-5x\"" },
	};
	struct cron c;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err = NULL;
		if (cron_parse(bad[i].expr, &c, &err) != -1)
			fail_msg("\"%s\" accepted", bad[i].expr);
		if (err == NULL || strcmp(err, bad[i].reason) != 0)
			fail_msg("\"%s\": want \"%s\", got \"%s\"", bad[i].expr,
			    bad[i].reason, err ? err : "(null)");
	}
}

static void
check_next(const char *expr, time_t after, time_t want)
{
	struct cron c;
	const char *err;
	time_t got;

	assert_int_equal(cron_parse(expr, &c, &err), 0);
	got = cron_next(&c, after);
	if (got != want)
		fail_msg("%s after %lld: want %lld, got %lld", expr,
		    (long long)after, (long long)want, (long long)got);
}

static void
test_next(void **state)
{
	struct cron c;
	const char *err;

	(void)state;
	/* Strictly after: the current minute never counts. */
	check_next("* * * * *", utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 0, 1));
	check_next("* * * * *", utc(2026, 1, 1, 0, 0) + 59,
	    utc(2026, 1, 1, 0, 1));
	check_next("0 3 * * *", utc(2026, 1, 1, 3, 0), utc(2026, 1, 2, 3, 0));
	check_next("0 3 * * *", utc(2026, 1, 1, 2, 59), utc(2026, 1, 1, 3, 0));
	check_next("*/15 * * * *", utc(2026, 1, 1, 10, 16),
	    utc(2026, 1, 1, 10, 30));
	/* Year and month rollover, leap day. */
	check_next("0 0 1 1 *", utc(2026, 6, 1, 0, 0), utc(2027, 1, 1, 0, 0));
	check_next("0 12 29 2 *", utc(2026, 3, 1, 0, 0),
	    utc(2028, 2, 29, 12, 0));
	/* 2026-01-01 is a Thursday; Monday is the 5th. */
	check_next("30 9 * * mon", utc(2026, 1, 1, 0, 0),
	    utc(2026, 1, 5, 9, 30));
	/* Both day fields restricted: either one matches (vixie cron). */
	check_next("0 0 10 * mon", utc(2026, 1, 1, 0, 0),
	    utc(2026, 1, 5, 0, 0));
	check_next("0 0 2 * sun", utc(2026, 1, 1, 0, 0),
	    utc(2026, 1, 2, 0, 0));
	/* One restricted, the other "*": both must match. */
	check_next("0 0 * 2 mon", utc(2026, 1, 1, 0, 0),
	    utc(2026, 2, 2, 0, 0));
	/* A date that never comes is refused when parsed. */
	assert_int_equal(cron_parse("0 0 30 2 *", &c, &err), -1);
	assert_non_null(strstr(err, "never matches"));
	assert_int_equal(cron_parse("0 0 31 4,6,9,11 *", &c, &err), -1);
	/* Feb 29 comes, every four years; with a weekday either matches. */
	assert_int_equal(cron_parse("0 0 29 2 *", &c, &err), 0);
	assert_int_equal(cron_next(&c, utc(2026, 1, 1, 0, 0)),
	    utc(2028, 2, 29, 0, 0));
	assert_int_equal(cron_parse("0 0 30 2 mon", &c, &err), 0);
	assert_int_equal(cron_parse("0 0 31 2,3 *", &c, &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_next),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

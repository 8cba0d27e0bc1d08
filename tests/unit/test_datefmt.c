/*
 * Unit tests of common/datefmt.c: fixed times in fixed zones, printed as
 * the npm dayjs package prints them (tests/bb/test_datefmt_golden.js
 * compares many more against dayjs itself), and strftime formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "datefmt.h"

static void
check(const char *tz, long long ms, const char *fmt, const char *want)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);
	char buf[256];

	setenv("TZ", tz, 1);
	tzset();
	localtime_r(&t, &tm);
	assert_int_equal(datefmt_format(buf, sizeof buf, fmt, &tm,
	    (int)(ms % 1000)), strlen(want));
	assert_string_equal(buf, want);
}

static void
test_dayjs(void **state)
{
	(void)state;
	/* fonana's format: the zone with a colon */
	check("Asia/Kolkata", 1700000000123LL, "YYYY-MM-DD HH:mm:ss Z",
	    "2023-11-15 03:43:20 +05:30");
	check("Asia/Kolkata", 1700000000123LL, "YYYY-MM-DD HH:mm:ss.SSS ZZ",
	    "2023-11-15 03:43:20.123 +0530");
	check("America/St_Johns", 1700000000123LL, "YYYY-MM-DD HH:mm:ss Z",
	    "2023-11-14 18:43:20 -03:30");
	check("UTC", 1700000000123LL, "YYYY-MM-DD HH:mm:ss Z",
	    "2023-11-14 22:13:20 +00:00");
	check("Asia/Kolkata", 1710054000007LL,
	    "dddd dd ddd d MMMM MMM M h:m:s a A",
	    "Sunday Su Sun 0 March Mar 3 12:30:0 pm PM");
	check("UTC", 1710054000007LL, "dddd dd ddd d MMMM MMM M h:m:s a A",
	    "Sunday Su Sun 0 March Mar 3 7:0:0 am AM");
	/* [text] is kept, "[]" is not text; tokens day.js lacks are literal */
	check("UTC", 1700000000123LL, "[at] YYYY [x]Y [] Q SS",
	    "at 2023 xY [] Q SS");
}

static void
test_strftime_and_limits(void **state)
{
	struct tm tm;
	time_t t = 1700000000;
	char buf[8];

	(void)state;
	check("UTC", 1700000000123LL, "%Y-%m-%d %H:%M:%S %z",
	    "2023-11-14 22:13:20 +0000");
	/* a '%' inside [text] is day.js's literal, not strftime */
	check("UTC", 1700000000123LL, "[100%] HH", "100% 22");
	/* cut, never overrun; NUL-terminated */
	setenv("TZ", "UTC", 1);
	tzset();
	gmtime_r(&t, &tm);
	assert_int_equal(datefmt_format(buf, sizeof buf, "YYYY-MM-DD", &tm, 0),
	    7);
	assert_string_equal(buf, "2023-11");
	assert_int_equal(datefmt_format(buf, 0, "YYYY", &tm, 0), 0);
	assert_int_equal(datefmt_format(buf, sizeof buf, "%Y-%m-%d", &tm, 0),
	    0);
	assert_string_equal(buf, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dayjs),
		cmocka_unit_test(test_strftime_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

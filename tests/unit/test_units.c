/* Unit tests of common/units.c: sizes and durations, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "units.h"

/* A text and what it reads as. */
struct units_case {
	const char	*text;
	uint64_t	 value;
};

static const struct units_case sizes[] = {
	{ "0", 0 },
	{ "1024", 1024 },
	{ "100B", 100 },
	{ "100b", 100 },
	{ "300K", 300 * 1024 },
	{ "300k", 300 * 1024 },
	{ "512M", 512ULL << 20 },
	{ "10MB", 10ULL << 20 },
	{ "10MiB", 10ULL << 20 },
	{ "10mib", 10ULL << 20 },
	{ "1G", 1ULL << 30 },
	{ "1.5G", 3ULL << 29 },
	{ "0.5K", 512 },
	{ "1.7", 1 },		/* bytes: the fraction is dropped */
};

static const char *const bad_sizes[] = {
	"", "M", "-1M", "+1M", "5T", "5 M", " 5M", "5M ", "1.G", ".5G",
	"1e3", "0x10", "10MBB", "10Bi", "10iB", "99999999999G",
	"18446744073709551616",
};

static const struct units_case durations[] = {
	{ "0", 0 },
	{ "1000", 1000 },
	{ "500ms", 500 },
	{ "10s", 10000 },
	{ "1.5s", 1500 },
	{ "1.0005s", 1001 },	/* rounded to the nearest ms */
	{ "0.4", 0 },
	{ "2m", 120000 },
	{ "1h", 3600000 },
	{ "1d", 86400000 },
};

static const char *const bad_durations[] = {
	"", "s", "-1s", "+1s", "10S", "10MS", "1w", "1y", "10 s", " 10s",
	"10s ", "1.s", ".5s", "1e3", "10sec", "5ms5", "999999999999999999d",
};

/* Every good text reads as its value; every bad one is refused, untouched. */
static void
check(int (*parse)(const char *, uint64_t *), const struct units_case *good,
    size_t ngood, const char *const *bad, size_t nbad)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < ngood; i++) {
		v = 7;
		if (parse(good[i].text, &v) != 0)
			fail_msg("\"%s\": refused", good[i].text);
		if (v != good[i].value)
			fail_msg("\"%s\": %llu, want %llu", good[i].text,
			    (unsigned long long)v,
			    (unsigned long long)good[i].value);
	}
	for (i = 0; i < nbad; i++) {
		v = 7;
		if (parse(bad[i], &v) != -1)
			fail_msg("\"%s\": accepted", bad[i]);
		assert_int_equal(v, 7);
	}
}

#define N(a) (sizeof a / sizeof a[0])

static void
test_sizes(void **state)
{
	(void)state;
	check(units_parse_size, sizes, N(sizes), bad_sizes, N(bad_sizes));
}

static void
test_durations(void **state)
{
	(void)state;
	check(units_parse_duration, durations, N(durations), bad_durations,
	    N(bad_durations));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_durations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

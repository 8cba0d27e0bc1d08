/* The incremental UTF-8 validator: valid and invalid forms, any split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

static const char *valid[] = {
	"",
	"plain ascii",
	"caf\xc3\xa9",				/* U+00E9 */
	"\xe2\x82\xac",				/* U+20AC */
	"\xed\x9f\xbf",				/* U+D7FF, before the surrogates */
	"\xee\x80\x80",				/* U+E000, after them */
	"\xef\xbf\xbf",				/* U+FFFF */
	"\xf0\x90\x80\x80",			/* U+10000 */
	"\xf4\x8f\xbf\xbf",			/* U+10FFFF */
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",	/* κόσμε */
};

static const char *invalid[] = {
	"\x80",					/* lone continuation */
	"\xc0\xaf",				/* overlong '/' */
	"\xc1\xbf",
	"\xe0\x80\xaf",				/* overlong, 3 bytes */
	"\xf0\x80\x80\xaf",			/* overlong, 4 bytes */
	"\xed\xa0\x80",				/* U+D800 surrogate */
	"\xed\xbf\xbf",				/* U+DFFF surrogate */
	"\xf4\x90\x80\x80",			/* U+110000 */
	"\xf5\x80\x80\x80",
	"\xff",
	"\xc3\x28",				/* lead, then no continuation */
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited",
};

static void
test_whole(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
		if (!utf8_valid(valid[i], strlen(valid[i])))
			fail_msg("valid[%zu] refused", i);
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		if (utf8_valid(invalid[i], strlen(invalid[i])))
			fail_msg("invalid[%zu] accepted", i);
	/* truncated inside a character: not a complete message */
	assert_false(utf8_valid("\xe2\x82", 2));
	assert_false(utf8_valid("\xf0\x90\x80", 3));
}

/* Every split point in two, as fragments of one message would be. */
static void
test_split(void **state)
{
	struct utf8	u;
	size_t		i, k, n;
	int		r;

	(void)state;
	for (i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		n = strlen(valid[i]);
		for (k = 0; k <= n; k++) {
			utf8_init(&u);
			assert_int_equal(utf8_feed(&u, valid[i], k), 0);
			assert_int_equal(utf8_feed(&u, valid[i] + k, n - k), 0);
			assert_true(utf8_complete(&u));
		}
	}
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		n = strlen(invalid[i]);
		for (k = 0; k <= n; k++) {
			utf8_init(&u);
			r = utf8_feed(&u, invalid[i], k);
			r |= utf8_feed(&u, invalid[i] + k, n - k);
			assert_true(r != 0 || !utf8_complete(&u));
		}
	}
	/* a character cut between fragments is incomplete, then whole */
	utf8_init(&u);
	assert_int_equal(utf8_feed(&u, "\xe2", 1), 0);
	assert_false(utf8_complete(&u));
	assert_int_equal(utf8_feed(&u, "\x82\xac", 2), 0);
	assert_true(utf8_complete(&u));
	/* once bad, always bad */
	assert_int_equal(utf8_feed(&u, "\xff", 1), -1);
	assert_int_equal(utf8_feed(&u, "a", 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

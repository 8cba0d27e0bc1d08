/* The chunked request-body decoder: whole, split at every byte, bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chunked.h"

static const char body[] =
    "7\r\n{\"a\":1,\r\n"
    "a;ext=1\r\n\"b\":\"xyz\"}\r\n"
    "0\r\n\r\n";

static void
test_whole(void **state)
{
	struct chunked	c;
	char		out[64];
	size_t		len = 0;

	(void)state;
	chunked_init(&c);
	assert_int_equal(chunked_feed(&c, body, strlen(body), out, &len,
	    sizeof out), 1);
	assert_int_equal(len, 17);
	assert_memory_equal(out, "{\"a\":1,\"b\":\"xyz\"}", 17);
}

static void
test_bytewise(void **state)
{
	struct chunked	c;
	char		out[64];
	size_t		len = 0, i;
	int		r = 0;

	(void)state;
	chunked_init(&c);
	for (i = 0; i < strlen(body); i++) {
		r = chunked_feed(&c, body + i, 1, out, &len, sizeof out);
		if (i + 1 < strlen("7\r\n{\"a\":1,\r\na;ext=1\r\n\"b\":\"xyz\"}\r\n0\r\n"))
			assert_int_equal(r, 0);
		if (r == 1)
			break;
	}
	assert_int_equal(r, 1);
	assert_int_equal(len, 17);
	assert_memory_equal(out, "{\"a\":1,\"b\":\"xyz\"}", 17);
}

static void
test_bad(void **state)
{
	struct chunked	c;
	char		out[8];
	size_t		len = 0;

	(void)state;
	chunked_init(&c);
	assert_int_equal(chunked_feed(&c, "zz\r\n", 4, out, &len, sizeof out), -1);
	chunked_init(&c);
	len = 0;
	/* more data than the cap */
	assert_int_equal(chunked_feed(&c, "10\r\n0123456789abcdef\r\n", 22, out,
	    &len, sizeof out), -2);
	chunked_init(&c);
	len = 0;
	/* a size that could overflow */
	assert_int_equal(chunked_feed(&c, "ffffffffffffffffff\r\n", 20, out,
	    &len, sizeof out), -2);
	chunked_init(&c);
	len = 0;
	/* counting only (out NULL) keeps the cap */
	assert_int_equal(chunked_feed(&c, "4\r\nabcd\r\n0\r\n", 13, NULL,
	    &len, 8), 1);
	assert_int_equal(len, 4);
	chunked_init(&c);
	len = 0;
	assert_int_equal(chunked_feed(&c, "9\r\nabcdefghi\r\n", 14, NULL,
	    &len, 8), -2);
	chunked_init(&c);
	len = 0;
	/* missing CRLF after the data */
	assert_int_equal(chunked_feed(&c, "1\r\nab", 5, out, &len, sizeof out),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_bytewise),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

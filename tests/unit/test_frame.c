/* WebSocket text frame headers for the three length forms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"

static void
test_header(void **state)
{
	unsigned char	h[FRAME_HEADER_MAX];

	(void)state;
	assert_int_equal(frame_header(h, 0), 2);
	assert_int_equal(h[0], 0x81);
	assert_int_equal(h[1], 0);
	assert_int_equal(frame_header(h, 125), 2);
	assert_int_equal(h[1], 125);
	assert_int_equal(frame_header(h, 126), 4);
	assert_int_equal(h[1], 126);
	assert_int_equal(h[2], 0);
	assert_int_equal(h[3], 126);
	assert_int_equal(frame_header(h, 65535), 4);
	assert_int_equal(h[2], 0xff);
	assert_int_equal(h[3], 0xff);
	assert_int_equal(frame_header(h, 65536), 10);
	assert_int_equal(h[1], 127);
	assert_memory_equal(h + 2, "\0\0\0\0\0\1\0\0", 8);
}

static void
test_new(void **state)
{
	struct frame	*f;
	char		*big;

	(void)state;
	f = frame_new("{\"a\":1}", 7);
	assert_non_null(f);
	assert_int_equal(f->len, 9);
	assert_memory_equal(f->data + 2, "{\"a\":1}", 7);
	assert_ptr_equal(frame_ref(f), f);
	assert_int_equal(f->refs, 2);
	frame_unref(f);
	frame_unref(f);

	big = calloc(1, 70000);
	f = frame_new(big, 70000);
	assert_int_equal(f->len, 70010);
	frame_unref(f);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_new),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

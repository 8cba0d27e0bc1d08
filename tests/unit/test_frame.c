/* WebSocket frame headers for the three length forms, text and ping. */
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
	assert_int_equal(frame_header(h, FRAME_TEXT, 0), 2);
	assert_int_equal(h[0], 0x81);
	assert_int_equal(h[1], 0);
	assert_int_equal(frame_header(h, FRAME_TEXT, 125), 2);
	assert_int_equal(h[1], 125);
	assert_int_equal(frame_header(h, FRAME_TEXT, 126), 4);
	assert_int_equal(h[1], 126);
	assert_int_equal(h[2], 0);
	assert_int_equal(h[3], 126);
	assert_int_equal(frame_header(h, FRAME_TEXT, 65535), 4);
	assert_int_equal(h[2], 0xff);
	assert_int_equal(h[3], 0xff);
	assert_int_equal(frame_header(h, FRAME_TEXT, 65536), 10);
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

static void
test_ping(void **state)
{
	struct frame	*f;
	char		 big[126];

	(void)state;
	f = frame_new_op(FRAME_PING, "p", 1);
	assert_non_null(f);
	assert_int_equal(f->len, 3);
	assert_memory_equal(f->data, "\x89\x01p", 3);
	frame_unref(f);
	/* a control frame's payload is at most 125 bytes (RFC 6455 5.5) */
	memset(big, 'x', sizeof big);
	assert_non_null(f = frame_new_op(FRAME_PING, big, 125));
	frame_unref(f);
	assert_null(frame_new_op(FRAME_PING, big, 126));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_new),
		cmocka_unit_test(test_ping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The frame-header watch: masked frames of each length form, any split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rxguard.h"

/* A client frame of `len` payload bytes (masked or not) at out; its size. */
static size_t
frame(unsigned char *out, size_t len, int masked)
{
	size_t	n = 0;

	out[n++] = 0x81;
	if (len < 126)
		out[n++] = (unsigned char)len;
	else if (len < 65536) {
		out[n++] = 126;
		out[n++] = (unsigned char)(len >> 8);
		out[n++] = (unsigned char)len;
	} else {
		out[n++] = 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (unsigned char)(len >> (8 * i));
	}
	if (masked) {
		out[1] |= 0x80;
		memcpy(out + n, "\x81\x82\x83\x84", 4);
		n += 4;
	}
	memset(out + n, 0xfe, len);	/* payload bytes that look like headers */
	return n + len;
}

static unsigned char	stream[200000];

static void
test_masked_stream(void **state)
{
	static const size_t	lens[] = { 0, 1, 125, 126, 127, 65535, 65536 };
	struct rxguard		g;
	size_t			n = 0, i, k;

	(void)state;
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++)
		n += frame(stream + n, lens[i], 1);
	memset(&g, 0, sizeof g);
	assert_int_equal(rxguard_scan(&g, stream, n), 0);
	/* split everywhere in the headers of the first frames */
	for (k = 0; k < 300; k++) {
		memset(&g, 0, sizeof g);
		assert_int_equal(rxguard_scan(&g, stream, k), 0);
		assert_int_equal(rxguard_scan(&g, stream + k, n - k), 0);
	}
	/* byte by byte */
	memset(&g, 0, sizeof g);
	for (i = 0; i < n; i++)
		assert_int_equal(rxguard_scan(&g, stream + i, 1), 0);
	/* then an unmasked frame is seen, however it is split */
	k = n + frame(stream + n, 5, 0);
	for (i = n; i < k; i++) {
		memset(&g, 0, sizeof g);
		/* -1 from the call that holds its length byte */
		assert_int_equal(rxguard_scan(&g, stream, i),
		    i > n + 1 ? -1 : 0);
		if (i <= n + 1)
			assert_int_equal(rxguard_scan(&g, stream + i, k - i),
			    -1);
	}
}

static void
test_unmasked_first(void **state)
{
	unsigned char	b[16];
	struct rxguard	g;
	size_t		n = frame(b, 3, 0);

	(void)state;
	memset(&g, 0, sizeof g);
	assert_int_equal(rxguard_scan(&g, b, n), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masked_stream),
		cmocka_unit_test(test_unmasked_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

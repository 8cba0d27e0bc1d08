/* The frame-header checks: masked frames of each length form, any split, faults. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rxguard.h"

/* A client frame of `len` payload bytes (masked or not) at out; its size. */
static size_t
frame_op(unsigned char *out, unsigned head, size_t len, int masked)
{
	size_t	n = 0;

	out[n++] = (unsigned char)head;
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

static size_t
frame(unsigned char *out, size_t len, int masked)
{
	return frame_op(out, 0x81, len, masked);
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
		    i > n + 1 ? RXGUARD_UNMASKED : RXGUARD_OK);
		if (i <= n + 1)
			assert_int_equal(rxguard_scan(&g, stream + i, k - i),
			    RXGUARD_UNMASKED);
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
	assert_int_equal(rxguard_scan(&g, b, n), RXGUARD_UNMASKED);
}

/* Each kind of bad frame, after a good start; and good fragment runs. */
static void
test_faults(void **state)
{
	static const struct {
		unsigned		first, second;	/* heads; 0: none */
		size_t			len;
		enum rxguard_fault	want;
	} cases[] = {
		{ 0x83, 0, 1, RXGUARD_RESERVED },	/* opcode 3 */
		{ 0x8b, 0, 1, RXGUARD_RESERVED },	/* opcode 0xb */
		{ 0xc1, 0, 1, RXGUARD_RESERVED },	/* RSV1 */
		{ 0x91, 0, 1, RXGUARD_RESERVED },	/* RSV3 */
		{ 0x09, 0, 1, RXGUARD_CONTROL },	/* fragmented ping */
		{ 0x89, 0, 126, RXGUARD_CONTROL },	/* ping over 125 */
		{ 0x88, 0, 200, RXGUARD_CONTROL },
		{ 0x80, 0, 1, RXGUARD_SEQUENCE },	/* continuation first */
		{ 0x01, 0x81, 1, RXGUARD_SEQUENCE },	/* new text inside */
		{ 0x01, 0x82, 1, RXGUARD_SEQUENCE },
		{ 0x01, 0x80, 1, RXGUARD_OK },		/* text, continuation */
		{ 0x01, 0x89, 1, RXGUARD_OK },		/* ping in between */
		{ 0x02, 0x00, 1, RXGUARD_OK },		/* still fragmented */
		{ 0x81, 0x8a, 125, RXGUARD_OK },	/* pong of 125 */
	};
	unsigned char	b[1024];
	struct rxguard	g;
	size_t		i, n;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = frame_op(b, cases[i].first, cases[i].len, 1);
		if (cases[i].second != 0)
			n += frame_op(b + n, cases[i].second, cases[i].len, 1);
		memset(&g, 0, sizeof g);
		if (rxguard_scan(&g, b, n) != cases[i].want)
			fail_msg("case %zu: want %d", i, cases[i].want);
	}
	/* a 64-bit length with its top bit set */
	memcpy(b, "\x81\xff\x80\0\0\0\0\0\0\0", 10);
	memset(&g, 0, sizeof g);
	assert_int_equal(rxguard_scan(&g, b, 10), RXGUARD_LENGTH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masked_stream),
		cmocka_unit_test(test_unmasked_first),
		cmocka_unit_test(test_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of common/linebuf.c: framing at every split, the cap, CRLF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linebuf.h"

/* What the callback saw: lines joined with '|', an overlong one as "<BIG>". */
struct seen {
	char	buf[8192];
	size_t	len;
	int	lines;
	int	overlong;
	int	stop_after;	/* stop when this many lines were seen; 0 never */
};

static int
seen_cb(void *arg, char *line, size_t len)
{
	struct seen *s = arg;

	if (line == NULL) {
		s->overlong++;
		s->len += snprintf(s->buf + s->len, sizeof s->buf - s->len,
		    "<BIG>|");
	} else {
		assert_int_equal(strlen(line), len);	/* NUL-terminated */
		if (len > 100) {
			s->len += snprintf(s->buf + s->len,
			    sizeof s->buf - s->len, "<%zu>|", len);
		} else {
			s->len += snprintf(s->buf + s->len,
			    sizeof s->buf - s->len, "%s|", line);
		}
	}
	s->lines++;
	return s->stop_after != 0 && s->lines >= s->stop_after;
}

static void
test_every_split(void **state)
{
	static const char msg[] =
	    "{\"id\":1,\"cmd\":\"status\"}\n\n{\"id\":2}\r\nlast\npartial";
	const char *want = "{\"id\":1,\"cmd\":\"status\"}||{\"id\":2}\r|last|";
	struct linebuf lb;
	struct seen s;
	size_t n = sizeof msg - 1, i, j;

	(void)state;
	/* Two chunks, split at every byte boundary. */
	for (i = 0; i <= n; i++) {
		memset(&s, 0, sizeof s);
		linebuf_init(&lb, LINEBUF_MAX);
		assert_int_equal(linebuf_feed(&lb, msg, i, seen_cb, &s), 0);
		assert_int_equal(linebuf_feed(&lb, msg + i, n - i, seen_cb,
		    &s), 0);
		assert_string_equal(s.buf, want);
		/* The partial line is kept for the next feed. */
		assert_int_equal(linebuf_feed(&lb, "!\n", 2, seen_cb, &s), 0);
		assert_non_null(strstr(s.buf, "|partial!|"));
		linebuf_free(&lb);
	}
	/* Three chunks: every pair of boundaries. */
	for (i = 0; i <= n; i++) {
		for (j = i; j <= n; j++) {
			memset(&s, 0, sizeof s);
			linebuf_init(&lb, LINEBUF_MAX);
			linebuf_feed(&lb, msg, i, seen_cb, &s);
			linebuf_feed(&lb, msg + i, j - i, seen_cb, &s);
			linebuf_feed(&lb, msg + j, n - j, seen_cb, &s);
			assert_string_equal(s.buf, want);
			linebuf_free(&lb);
		}
	}
	/* One byte at a time. */
	memset(&s, 0, sizeof s);
	linebuf_init(&lb, LINEBUF_MAX);
	for (i = 0; i < n; i++)
		linebuf_feed(&lb, msg + i, 1, seen_cb, &s);
	assert_string_equal(s.buf, want);
	linebuf_free(&lb);
}

static void
test_many_lines_one_chunk(void **state)
{
	struct linebuf lb;
	struct seen s;
	char buf[4000], want[4000];
	size_t n = 0, w = 0;
	int i;

	(void)state;
	for (i = 0; i < 500; i++) {
		n += snprintf(buf + n, sizeof buf - n, "%d\n", i);
		w += snprintf(want + w, sizeof want - w, "%d|", i);
	}
	memset(&s, 0, sizeof s);
	linebuf_init(&lb, LINEBUF_MAX);
	assert_int_equal(linebuf_feed(&lb, buf, n, seen_cb, &s), 0);
	assert_int_equal(s.lines, 500);
	assert_string_equal(s.buf, want);
	linebuf_free(&lb);
}

static void
test_overlong(void **state)
{
	struct linebuf lb;
	struct seen s;
	char *big;
	size_t n = LINEBUF_MAX + 10, i;

	(void)state;
	big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\n';

	/* In one chunk, followed by a good line. */
	memset(&s, 0, sizeof s);
	linebuf_init(&lb, LINEBUF_MAX);
	assert_int_equal(linebuf_feed(&lb, "a\n", 2, seen_cb, &s), 0);
	assert_int_equal(linebuf_feed(&lb, big, n + 1, seen_cb, &s), 0);
	assert_int_equal(linebuf_feed(&lb, "b\n", 2, seen_cb, &s), 0);
	assert_string_equal(s.buf, "a|<BIG>|b|");
	linebuf_free(&lb);

	/* In 1000-byte pieces: reported once, the rest dropped. */
	memset(&s, 0, sizeof s);
	linebuf_init(&lb, LINEBUF_MAX);
	for (i = 0; i < n + 1; i += 1000)
		linebuf_feed(&lb, big + i, i + 1000 > n + 1 ? n + 1 - i : 1000,
		    seen_cb, &s);
	linebuf_feed(&lb, "c\n", 2, seen_cb, &s);
	assert_int_equal(s.overlong, 1);
	assert_string_equal(s.buf, "<BIG>|c|");
	linebuf_free(&lb);

	/* Exactly at the cap is still a line. */
	memset(&s, 0, sizeof s);
	linebuf_init(&lb, LINEBUF_MAX);
	big[LINEBUF_MAX] = '\n';
	assert_int_equal(linebuf_feed(&lb, big, LINEBUF_MAX + 1, seen_cb, &s),
	    0);
	assert_int_equal(s.overlong, 0);
	assert_string_equal(s.buf, "<65536>|");
	linebuf_free(&lb);

	/* One byte over, split across feeds. */
	memset(&s, 0, sizeof s);
	linebuf_init(&lb, LINEBUF_MAX);
	linebuf_feed(&lb, big, LINEBUF_MAX, seen_cb, &s);
	assert_int_equal(s.overlong, 0);
	linebuf_feed(&lb, "y\nz\n", 4, seen_cb, &s);
	assert_string_equal(s.buf, "<BIG>|z|");
	linebuf_free(&lb);
	free(big);
}

static void
test_stop(void **state)
{
	struct linebuf lb;
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof s);
	s.stop_after = 2;
	linebuf_init(&lb, LINEBUF_MAX);
	assert_int_equal(linebuf_feed(&lb, "1\n2\n3\n", 6, seen_cb, &s), -1);
	assert_string_equal(s.buf, "1|2|");
	linebuf_free(&lb);

	/* An overlong line's callback may stop too. */
	memset(&s, 0, sizeof s);
	s.stop_after = 1;
	linebuf_init(&lb, 4);
	assert_int_equal(linebuf_feed(&lb, "12345\n6\n", 8, seen_cb, &s), -1);
	assert_string_equal(s.buf, "<BIG>|");
	linebuf_free(&lb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_many_lines_one_chunk),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

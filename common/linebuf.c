/* Newline framing: splits a byte stream into capped lines. */
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"

void
linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof *lb);
	lb->max = max;
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof *lb);
}

static int
linebuf_append(struct linebuf *lb, const char *p, size_t n)
{
	size_t want = lb->len + n + 1;
	char *nb;

	if (want > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 256;

		while (cap < want)
			cap *= 2;
		if ((nb = realloc(lb->buf, cap)) == NULL)
			return -1;
		lb->buf = nb;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, p, n);
	lb->len += n;
	lb->buf[lb->len] = '\0';
	return 0;
}

int
linebuf_feed(struct linebuf *lb, const char *data, size_t n,
    linebuf_line_cb cb, void *arg)
{
	const char *nl;
	size_t chunk;

	while (n > 0) {
		nl = memchr(data, '\n', n);
		chunk = nl != NULL ? (size_t)(nl - data) : n;

		if (!lb->discarding) {
			if (lb->len + chunk > lb->max) {
				lb->discarding = 1;
				lb->len = 0;
				if (cb(arg, NULL, 0) != 0)
					return -1;
			} else if (linebuf_append(lb, data, chunk) < 0) {
				/* Out of memory: treat like an overlong line. */
				lb->discarding = 1;
				lb->len = 0;
				if (cb(arg, NULL, 0) != 0)
					return -1;
			}
		}
		if (nl == NULL)
			break;
		if (lb->discarding) {
			lb->discarding = 0;
		} else {
			size_t len = lb->len;

			lb->len = 0;
			if (lb->buf == NULL && linebuf_append(lb, "", 0) < 0)
				return -1;
			lb->buf[len] = '\0';
			if (cb(arg, lb->buf, len) != 0)
				return -1;
		}
		data = nl + 1;
		n -= chunk + 1;
	}
	/* Give back memory after a large line. */
	if (lb->len == 0 && lb->cap > 4096) {
		free(lb->buf);
		lb->buf = NULL;
		lb->cap = 0;
	}
	return 0;
}

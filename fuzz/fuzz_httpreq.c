/*
 * libFuzzer harness for the worker's request reader (worker/httpreq.c):
 * arbitrary bytes, fed whole and then again in pieces cut where the input
 * says, must give the same verdict, stay in bounds, and describe spans
 * inside what was fed.  The first byte picks the piece sizes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"

#define FUZZ_MAX_HEAD	1024
#define FUZZ_MAX_BODY	256

static void
fuzz_check(const struct httpreq *r, int res, size_t len)
{
	size_t	i;

	if (res == HTTPREQ_ERROR && (r->status < 400 || r->status > 599))
		abort();
	if (res != HTTPREQ_DONE)
		return;
	if (r->total > len || r->head_len > r->total ||
	    r->head_len > FUZZ_MAX_HEAD || r->body_len > FUZZ_MAX_BODY)
		abort();
	if ((size_t)r->path.off + r->path.len > r->head_len ||
	    (size_t)r->key.off + r->key.len > r->head_len ||
	    (size_t)r->protocol.off + r->protocol.len > r->head_len ||
	    r->protocol.len > HTTPREQ_PROTOCOL_MAX)
		abort();
	for (i = 0; i < r->nstrip; i++)
		if (r->strip[i].len == 0 ||
		    (size_t)r->strip[i].off + r->strip[i].len > r->head_len)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpreq	 whole, split;
	const char	*buf;
	size_t		 step, at;
	int		 a, b = HTTPREQ_MORE;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	buf = (const char *)data + 1;
	size--;

	httpreq_init(&whole, FUZZ_MAX_HEAD, FUZZ_MAX_BODY);
	a = httpreq_feed(&whole, buf, size);
	fuzz_check(&whole, a, size);

	/* the same bytes as they might arrive: a verdict never changes */
	httpreq_init(&split, FUZZ_MAX_HEAD, FUZZ_MAX_BODY);
	for (at = 0; at < size && b == HTTPREQ_MORE; ) {
		at = at + step < size ? at + step : size;
		b = httpreq_feed(&split, buf, at);
		fuzz_check(&split, b, at);
	}
	if (a != b || (a == HTTPREQ_DONE && whole.total != split.total) ||
	    (a == HTTPREQ_ERROR && whole.status != split.status &&
	    whole.status != 431 && split.status != 431))
		abort();
	return 0;
}

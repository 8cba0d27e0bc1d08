/*
 * A decoder for HTTP/1.1 chunked request bodies.  lws 4.1 does not decode
 * them (it hands the raw chunk framing to HTTP_BODY and never completes
 * the body), and clients such as node's http.request send them.  Pure.
 */
#ifndef WSD_CHUNKED_H
#define WSD_CHUNKED_H

#include <stddef.h>

struct chunked {
	int	state;
	size_t	remain;		/* bytes left in the current chunk */
	size_t	used;		/* bytes of `in` the last feed consumed */
};

void	chunked_init(struct chunked *);
/*
 * Decode `len` bytes of framing from `in`, appending the data to `out`
 * (at *outlen, at most `outmax` bytes in all; out NULL only counts them).
 * Returns 1 once the last chunk was seen, 0 when more is needed, -1 on bad
 * framing, -2 when the data would pass outmax (413, not 400).
 */
int	chunked_feed(struct chunked *, const char *in, size_t len, char *out,
	    size_t *outlen, size_t outmax);

#endif

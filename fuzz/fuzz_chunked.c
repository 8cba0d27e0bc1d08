/*
 * Fuzzes the chunked body decoder with what a peer sends.  The input is fed
 * twice: whole, and split at every byte, which must decode the same way
 * (lws hands the body over in pieces of any size).
 */
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "fuzz.h"

#define FUZZ_CHUNKED_MAX	4096	/* a small outmax reaches the overflow checks */

static int
fuzz_chunked_decode(const uint8_t *data, size_t size, size_t piece,
    char *out, size_t *outlen)
{
	struct chunked	 c;
	size_t		 off, n;
	int		 rc = 0;

	chunked_init(&c);
	*outlen = 0;
	for (off = 0; off < size && rc == 0; off += n) {
		n = size - off < piece ? size - off : piece;
		rc = chunked_feed(&c, (const char *)data + off, n, out, outlen,
		    FUZZ_CHUNKED_MAX);
		if (*outlen > FUZZ_CHUNKED_MAX)
			abort();
	}
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 whole[FUZZ_CHUNKED_MAX], split[FUZZ_CHUNKED_MAX];
	size_t		 wlen, slen;
	int		 wrc, src;

	wrc = fuzz_chunked_decode(data, size, size ? size : 1, whole, &wlen);
	src = fuzz_chunked_decode(data, size, 1, split, &slen);
	if (wrc != src)
		abort();
	if (wrc >= 0 && (wlen != slen || memcmp(whole, split, wlen) != 0))
		abort();
	return 0;
}

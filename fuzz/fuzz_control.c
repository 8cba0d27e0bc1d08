/*
 * Fuzzes what a control socket client sends: newline framing with its cap
 * (common/linebuf.c), then each line decoded as a request and answered
 * with the error envelope, as supervisor/control.c does.  The first byte
 * picks the size of the reads the stream arrives in.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "linebuf.h"
#include "proto.h"

#define FUZZ_LINE_MAX	512	/* a small cap reaches the discard path */

static int
fuzz_control_line_cb(void *arg, char *line, size_t len)
{
	struct proto_request	 req;
	const char		*code = NULL;
	char			*msg, *out;

	(void)arg;
	if (line == NULL)
		return 0;
	if (len > FUZZ_LINE_MAX || line[len] != '\0')
		abort();
	if (len == 0 || (len == 1 && line[0] == '\r'))
		return 0;	/* control.c skips blank lines */
	if (proto_parse_request(line, len, &req, &code, &msg) < 0)
		out = proto_reply_error(req.id, code, "%s",
		    msg != NULL ? msg : code);
	else {
		if (req.cmd == NULL || !json_is_object(req.args))
			abort();
		out = proto_reply_ok(req.id, json_incref(req.args));
	}
	free(out);
	free(msg);
	proto_request_free(&req);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf	 lb;
	size_t		 piece, off, n;

	if (size == 0)
		return 0;
	piece = (size_t)data[0] + 1;
	data++;
	size--;
	linebuf_init(&lb, FUZZ_LINE_MAX);
	for (off = 0; off < size; off += n) {
		n = size - off < piece ? size - off : piece;
		linebuf_feed(&lb, (const char *)data + off, n,
		    fuzz_control_line_cb, NULL);
	}
	linebuf_free(&lb);
	return 0;
}

/* Shared, reference-counted server-to-client text frames. */
#include <stdlib.h>
#include <string.h>

#include "frame.h"

size_t
frame_header(unsigned char *out, unsigned op, uint64_t len)
{
	int	i;

	out[0] = (unsigned char)(0x80 | (op & 0x0f));	/* FIN */
	if (len < 126) {
		out[1] = (unsigned char)len;
		return 2;
	}
	if (len < 65536) {
		out[1] = 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		return 4;
	}
	out[1] = 127;
	for (i = 0; i < 8; i++)
		out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return 10;
}

struct frame *
frame_new(const void *payload, size_t len)
{
	return frame_new_op(FRAME_TEXT, payload, len);
}

struct frame *
frame_new_op(unsigned op, const void *payload, size_t len)
{
	unsigned char	 hdr[FRAME_HEADER_MAX];
	struct frame	*f;
	size_t		 h;

	if (len > UINT32_MAX - FRAME_HEADER_MAX || ((op & 0x8) && len > 125))
		return NULL;
	h = frame_header(hdr, op, len);
	f = malloc(sizeof *f + h + len);
	if (f == NULL)
		return NULL;
	f->refs = 1;
	f->len = (uint32_t)(h + len);
	memcpy(f->data, hdr, h);
	if (len > 0)
		memcpy(f->data + h, payload, len);
	return f;
}

struct frame *
frame_ref(struct frame *f)
{
	f->refs++;
	return f;
}

void
frame_unref(struct frame *f)
{
	if (f != NULL && --f->refs == 0)
		free(f);
}

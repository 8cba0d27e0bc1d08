/* HTTP/1.1 chunked transfer decoding for request bodies. */
#include "chunked.h"

enum {
	CHUNKED_SIZE = 0,	/* hex digits of the size */
	CHUNKED_EXT,		/* ";ext" up to the CR */
	CHUNKED_SIZE_LF,
	CHUNKED_DATA,
	CHUNKED_DATA_CR,
	CHUNKED_DATA_LF,
	CHUNKED_DONE,
};

void
chunked_init(struct chunked *c)
{
	c->state = CHUNKED_SIZE;
	c->remain = 0;
	c->used = 0;
}

static int
chunked_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
chunked_feed(struct chunked *c, const char *in, size_t len, char *out,
    size_t *outlen, size_t outmax)
{
	size_t	i = 0, n;
	int	h;

	while (i < len) {
		switch (c->state) {
		case CHUNKED_SIZE:
			if ((h = chunked_hex(in[i])) >= 0) {
				if (c->remain > (outmax + 15) / 16)
					return -2;	/* already over the cap */
				c->remain = c->remain * 16 + (size_t)h;
			} else if (in[i] == ';' || in[i] == ' ')
				c->state = CHUNKED_EXT;
			else if (in[i] == '\r')
				c->state = CHUNKED_SIZE_LF;
			else
				return -1;
			i++;
			break;
		case CHUNKED_EXT:
			if (in[i++] == '\r')
				c->state = CHUNKED_SIZE_LF;
			break;
		case CHUNKED_SIZE_LF:
			if (in[i++] != '\n')
				return -1;
			if (c->remain == 0) {
				/* trailers, if any, are not needed */
				c->state = CHUNKED_DONE;
				c->used = i;
				return 1;
			}
			c->state = CHUNKED_DATA;
			break;
		case CHUNKED_DATA:
			n = len - i < c->remain ? len - i : c->remain;
			if (*outlen + n > outmax)
				return -2;
			for (size_t k = 0; out != NULL && k < n; k++)
				out[*outlen + k] = in[i + k];
			*outlen += n;
			i += n;
			c->remain -= n;
			if (c->remain == 0)
				c->state = CHUNKED_DATA_CR;
			break;
		case CHUNKED_DATA_CR:
			if (in[i++] != '\r')
				return -1;
			c->state = CHUNKED_DATA_LF;
			break;
		case CHUNKED_DATA_LF:
			if (in[i++] != '\n')
				return -1;
			c->state = CHUNKED_SIZE;
			c->remain = 0;
			break;
		case CHUNKED_DONE:
			c->used = i;
			return 1;
		}
	}
	c->used = c->state == CHUNKED_DONE ? 0 : len;
	return c->state == CHUNKED_DONE ? 1 : 0;
}

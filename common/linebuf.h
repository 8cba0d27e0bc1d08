/* Newline framing for the control socket and the IPC channel, with a cap. */
#ifndef WSD_LINEBUF_H
#define WSD_LINEBUF_H

#include <stddef.h>

#define LINEBUF_MAX	(64 * 1024)	/* control protocol line cap */

/*
 * Called once per complete line, without its '\n' and NUL-terminated (a
 * trailing '\r' is kept).  When a line grows past the cap, `line` is NULL
 * once and the rest of that line is discarded up to its newline.  Return
 * non-zero to stop feeding (the owner is being closed).
 */
typedef int (*linebuf_line_cb)(void *arg, char *line, size_t len);

struct linebuf {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	int	 discarding;
};

void	linebuf_init(struct linebuf *, size_t max);
void	linebuf_free(struct linebuf *);
/* Returns -1 when a callback asked to stop, else 0. */
int	linebuf_feed(struct linebuf *, const char *data, size_t n,
	    linebuf_line_cb, void *arg);

#endif

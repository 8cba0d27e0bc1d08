/* JSON5 (json5.org): the `.json5` files PM2 reads, and `.json` files written as JavaScript literals. */
#ifndef WSD_JSON5_H
#define WSD_JSON5_H

#include <stddef.h>

#include <jansson.h>

/*
 * Parse `len` bytes of JSON5 into the tree jansson would build for the
 * same data.  Infinity and NaN become null, as JSON.stringify writes them.
 * On failure returns NULL with err->line, err->column (1-based, counted in
 * characters as jansson counts them), err->position (a byte offset) and
 * err->text set.
 */
json_t	*json5_loadb(const char *buf, size_t len, json_error_t *err);

#endif

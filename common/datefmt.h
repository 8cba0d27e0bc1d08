/* Log line dates: PM2's log_date_format (day.js tokens) or strftime. */
#ifndef WSD_DATEFMT_H
#define WSD_DATEFMT_H

#include <stddef.h>
#include <time.h>

/*
 * `fmt` for the local time `tm` (tm_gmtoff is the zone) and `ms`
 * milliseconds into `buf`, always NUL-terminated, cut at `len - 1`.
 * A format with a '%' outside day.js's [escaped text] is strftime's;
 * anything else prints what day.js 1.x's format() prints with its
 * default (English) locale and no plugin, which is what PM2 writes:
 * YYYY YY M MM MMM MMMM D DD d dd ddd dddd H HH h hh m mm s ss SSS a A
 * Z (+05:30) ZZ (+0530) and [text] as is; other letters are literal.
 * Returns the length written.
 */
size_t	datefmt_format(char *buf, size_t len, const char *fmt,
	    const struct tm *tm, int ms);

#endif

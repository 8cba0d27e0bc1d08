/* wsctl's messages on stderr, for every file of it (below main.c). */
#include <stdarg.h>
#include <stdio.h>

#include "ctl.h"

void
ctl_warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("wsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
ctl_warnings(json_t *data)
{
	json_t *w;
	size_t i;

	json_array_foreach(json_object_get(data, "warnings"), i, w) {
		if (json_is_string(w))
			ctl_warn("warning: %s", json_string_value(w));
	}
}

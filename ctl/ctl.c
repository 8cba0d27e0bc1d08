/* wsctl's messages on stderr (warnings, a command's usage), below main.c. */
#include <stdarg.h>
#include <stdio.h>

#include "ctl.h"
#include "exitcodes.h"

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

int
ctl_usage(struct ctl *ctl)
{
	/* main.c sets ctl->cmd before the command runs */
	fprintf(stderr, "usage: wsctl %s%s%s\n", ctl->cmd->name,
	    *ctl->cmd->usage != '\0' ? " " : "", ctl->cmd->usage);
	return EXIT_USAGE;
}

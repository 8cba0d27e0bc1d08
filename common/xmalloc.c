/* Allocation that logs and aborts instead of returning NULL (wsd, wsctl). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "xmalloc.h"

/*
 * No allocation from here on: the line is formatted on the stack.  abort()
 * rather than exit(): a core (where enabled) shows who asked for what.
 */
static void __attribute__((noreturn))
xmalloc_fatal(const char *what, size_t n, size_t size)
{
	char msg[128];

	snprintf(msg, sizeof msg, "out of memory: %s of %zu x %zu bytes",
	    what, n, size);
	log_noalloc(LOG_ERROR, msg);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p;

	if ((p = malloc(size != 0 ? size : 1)) == NULL)
		xmalloc_fatal("malloc", 1, size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		xmalloc_fatal("calloc", n, size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	return xreallocarray(ptr, 1, size);
}

void *
xreallocarray(void *ptr, size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = reallocarray(ptr, n, size)) == NULL)
		xmalloc_fatal("realloc", n, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		xmalloc_fatal("strdup", 1, strlen(s) + 1);
	return p;
}

int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int n;

	if ((n = vasprintf(ret, fmt, ap)) < 0)
		xmalloc_fatal("asprintf", 1, 0);
	return n;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return n;
}

void
xmalloc_jansson(void)
{
	json_set_alloc_funcs(xmalloc, free);
}

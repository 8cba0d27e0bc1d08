/* A growable list of diagnostic messages. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof *d);
}

void
diag_free(struct diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	memset(d, 0, sizeof *d);
}

void
diag_add(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	char *m, **nm;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m == NULL)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;

		if ((nm = realloc(d->msgs, cap * sizeof *nm)) == NULL) {
			free(m);
			return;
		}
		d->msgs = nm;
		d->cap = cap;
	}
	d->msgs[d->n++] = m;
}

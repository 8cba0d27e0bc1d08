/* A list of diagnostics ("FILE: apps[1].instances: expected …"), reported at once. */
#ifndef WSD_DIAG_H
#define WSD_DIAG_H

#include <stddef.h>

struct diag {
	char	**msgs;
	size_t	  n;
	size_t	  cap;
};

void	diag_init(struct diag *);
void	diag_free(struct diag *);
void	diag_add(struct diag *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif

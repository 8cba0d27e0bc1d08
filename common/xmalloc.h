/*
 * Allocation for wsd and wsctl, where running out of memory is fatal.
 *
 * The rule, per program (docs/supervisor.md, docs/worker.md):
 *  - wsd and wsctl: their memory is bounded by the configuration and by
 *    the caps on everything a peer sends (control line, reply backlog, IPC
 *    line), so an allocation that fails means the host is out of memory,
 *    a broken invariant: these functions never return NULL; they log one
 *    line ("out of memory", log.c's fd) and abort().  main() routes
 *    jansson's allocations through xmalloc too (xmalloc_jansson).
 *  - wsworker does not use them: a failure while serving one peer stays
 *    that peer's (its socket is closed with 1011, or the request gets 500)
 *    and a failure at start-up is an error exit.  So code in common/ that
 *    the worker links (log, proto, linebuf, env, ecosystem …) keeps
 *    returning errors and never calls these.
 */
#ifndef WSD_XMALLOC_H
#define WSD_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* Make jansson allocate with xmalloc: call once, before any json_*. */
void	 xmalloc_jansson(void);

#endif

/* NULL-terminated string vectors with their length kept beside them. */
#ifndef WSD_STRV_H
#define WSD_STRV_H

#include <stddef.h>

/* Append a copy of `s` to `*v` (length `*n`, kept NULL-terminated); -1 ENOMEM. */
int	strv_push(char ***v, size_t *n, const char *s);
/* Free the `n` strings and the vector; NULL is fine. */
void	strv_free(char **v, size_t n);
/* The number of strings before the NULL; 0 for a NULL vector. */
size_t	strv_len(char **v);
/* `*dst` = a copy of `src` (`n` strings), or NULL when src is NULL; -1 ENOMEM. */
int	strv_dup(char ***dst, char *const *src, size_t n);

/*
 * `s` split into words as a shell would, with no expansion: blanks
 * separate, '…' and "…" quote (a backslash escapes \\ \" $ ` in "…"),
 * a backslash escapes any character outside quotes.  Appended to `*v`.
 * -1 with `*why` set on an unclosed quote or a trailing backslash.
 */
int	strv_split_shell(char ***v, size_t *n, const char *s, const char **why);

#endif

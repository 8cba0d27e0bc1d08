/* NULL-terminated string vectors with their length kept beside them. */
#include <stdlib.h>
#include <string.h>

#include "strv.h"

int
strv_push(char ***v, size_t *n, const char *s)
{
	char **nv, *d;

	if ((d = strdup(s)) == NULL)
		return -1;
	if ((nv = realloc(*v, (*n + 2) * sizeof *nv)) == NULL) {
		free(d);
		return -1;
	}
	nv[(*n)++] = d;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

size_t
strv_len(char **v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

int
strv_dup(char ***dst, char *const *src, size_t n)
{
	size_t i, got = 0;

	*dst = NULL;
	if (src == NULL)
		return 0;
	if ((*dst = calloc(n + 1, sizeof **dst)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (strv_push(dst, &got, src[i]) < 0)
			return -1;
	}
	return 0;
}

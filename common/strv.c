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

int
strv_split_shell(char ***v, size_t *n, const char *s, const char **why)
{
	char *w;
	size_t len = 0;
	int in_word = 0, rc = 0;
	char q = 0;

	*why = NULL;
	if ((w = malloc(strlen(s) + 1)) == NULL)
		return -1;
	for (; *s != '\0'; s++) {
		if (q == '\'') {
			if (*s == '\'')
				q = 0;
			else
				w[len++] = *s;
		} else if (q == '"') {
			if (*s == '"')
				q = 0;
			else if (*s == '\\' && s[1] != '\0' &&
			    strchr("\\\"$`", s[1]) != NULL)
				w[len++] = *++s;
			else
				w[len++] = *s;
		} else if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			if (in_word) {
				w[len] = '\0';
				if (strv_push(v, n, w) < 0)
					rc = -1;
				len = 0;
				in_word = 0;
			}
			continue;
		} else if (*s == '\'' || *s == '"') {
			q = *s;
		} else if (*s == '\\') {
			if (s[1] == '\0') {
				*why = "a backslash at the end";
				break;
			}
			w[len++] = *++s;
		} else
			w[len++] = *s;
		in_word = 1;
	}
	if (q != 0)
		*why = q == '"' ? "an unclosed \"" : "an unclosed '";
	if (*why == NULL && in_word) {
		w[len] = '\0';
		if (strv_push(v, n, w) < 0)
			rc = -1;
	}
	free(w);
	return *why != NULL ? -1 : rc;
}

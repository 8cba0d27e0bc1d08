/* The box-drawing table renderer: cells in, aligned UTF-8 boxes out. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "xmalloc.h"

struct table_cell {
	char			*text;
	enum table_colour	 colour;
};

struct table {
	size_t			 ncols;
	char			**headers;	/* NULL: no header row */
	struct table_cell	*cells;		/* nrows * ncols */
	size_t			 nrows;
	size_t			 cap;
};

static const char *table_escapes[] = {
	[TABLE_PLAIN] = "",
	[TABLE_GREEN] = "\033[32m",
	[TABLE_RED] = "\033[31m",
	[TABLE_YELLOW] = "\033[33m",
	[TABLE_BOLD] = "\033[1m",
	[TABLE_GREY] = "\033[90m",
};

/*
 * Cell text comes from the daemon, which took it from a config file: a
 * control character in an app name must not reach the terminal.
 */
static char *
table_clean(const char *s)
{
	char *out = xstrdup(s != NULL ? s : ""), *p;

	for (p = out; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return out;
}

struct table *
table_create(size_t ncols, const char *const *headers)
{
	struct table *t;
	size_t i;

	t = xcalloc(1, sizeof *t);
	t->ncols = ncols;
	if (headers != NULL) {
		t->headers = xcalloc(ncols, sizeof *t->headers);
		for (i = 0; i < ncols; i++)
			t->headers[i] = table_clean(headers[i]);
	}
	return t;
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->headers != NULL) {
		for (i = 0; i < t->ncols; i++)
			free(t->headers[i]);
		free(t->headers);
	}
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	free(t->cells);
	free(t);
}

void
table_row(struct table *t)
{
	size_t i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->cells = xreallocarray(t->cells, t->cap * t->ncols,
		    sizeof *t->cells);
	}
	for (i = 0; i < t->ncols; i++) {
		t->cells[t->nrows * t->ncols + i].text = NULL;
		t->cells[t->nrows * t->ncols + i].colour = TABLE_PLAIN;
	}
	t->nrows++;
}

size_t
table_rows(struct table *t)
{
	return t->nrows;
}

void
table_cell(struct table *t, size_t col, enum table_colour colour,
    const char *fmt, ...)
{
	struct table_cell *c;
	va_list ap;
	char *s;

	if (t->nrows == 0 || col >= t->ncols)
		return;
	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	c = &t->cells[(t->nrows - 1) * t->ncols + col];
	free(c->text);
	c->text = table_clean(s);
	c->colour = colour;
	free(s);
}

static int
table_wide(uint32_t cp)
{
	return (cp >= 0x1100 && cp <= 0x115f) ||
	    (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) ||
	    (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) ||
	    (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) ||
	    (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
	    (cp >= 0x20000 && cp <= 0x3fffd);
}

size_t
table_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;
	uint32_t cp;
	int n;

	while (*p != '\0') {
		if (*p < 0x80) {
			w++;
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			n = 3;
		} else {
			w++;		/* stray byte: shown as one replacement */
			p++;
			continue;
		}
		p++;
		while (n > 0 && (*p & 0xc0) == 0x80) {
			cp = (cp << 6) | (*p & 0x3f);
			p++;
			n--;
		}
		if (cp >= 0x300 && cp <= 0x36f)
			continue;	/* combining marks take no column */
		w += table_wide(cp) ? 2 : 1;
	}
	return w;
}

static void
table_rule(FILE *f, const size_t *widths, size_t ncols, const char *left,
    const char *mid, const char *right)
{
	size_t i, j;

	fputs(left, f);
	for (i = 0; i < ncols; i++) {
		for (j = 0; j < widths[i] + 2; j++)
			fputs("─", f);
		fputs(i + 1 < ncols ? mid : right, f);
	}
	fputc('\n', f);
}

static void
table_line(FILE *f, const size_t *widths, size_t ncols,
    const struct table_cell *cells, int colour)
{
	const char *text;
	size_t i, w;
	int on;

	for (i = 0; i < ncols; i++) {
		text = cells[i].text != NULL ? cells[i].text : "";
		on = colour && cells[i].colour != TABLE_PLAIN;
		fputs("│ ", f);
		if (on)
			fputs(table_escapes[cells[i].colour], f);
		fputs(text, f);
		if (on)
			fputs("\033[0m", f);
		for (w = table_width(text); w < widths[i]; w++)
			fputc(' ', f);
		fputc(' ', f);
	}
	fputs("│\n", f);
}

void
table_write(struct table *t, FILE *f, int colour)
{
	struct table_cell *hdr = NULL;
	size_t *widths, i, r, w;

	if (t->ncols == 0)
		return;
	widths = xcalloc(t->ncols, sizeof *widths);
	for (i = 0; i < t->ncols; i++) {
		if (t->headers != NULL)
			widths[i] = table_width(t->headers[i]);
		for (r = 0; r < t->nrows; r++) {
			const char *s = t->cells[r * t->ncols + i].text;

			if (s != NULL && (w = table_width(s)) > widths[i])
				widths[i] = w;
		}
	}

	table_rule(f, widths, t->ncols, "┌", "┬", "┐");
	if (t->headers != NULL) {
		hdr = xcalloc(t->ncols, sizeof *hdr);
		for (i = 0; i < t->ncols; i++) {
			hdr[i].text = t->headers[i];
			hdr[i].colour = TABLE_BOLD;
		}
		table_line(f, widths, t->ncols, hdr, colour);
		free(hdr);
		table_rule(f, widths, t->ncols, "├", "┼", "┤");
	}
	for (r = 0; r < t->nrows; r++)
		table_line(f, widths, t->ncols, &t->cells[r * t->ncols], colour);
	table_rule(f, widths, t->ncols, "└", "┴", "┘");
	free(widths);
}

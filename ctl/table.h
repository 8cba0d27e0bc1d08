/* The box-drawing table renderer used by wsctl's views. */
#ifndef WSD_TABLE_H
#define WSD_TABLE_H

#include <stddef.h>
#include <stdio.h>

enum table_colour {
	TABLE_PLAIN,
	TABLE_GREEN,
	TABLE_RED,
	TABLE_YELLOW,
	TABLE_BOLD,
	TABLE_GREY,
};

struct table;

/* `headers` may be NULL: a table without a header row (key/value boxes). */
struct table	*table_create(size_t ncols, const char *const *headers);
void		 table_free(struct table *);
/* Start a new row; its cells are empty until set. */
void		 table_row(struct table *);
/* Rows so far. */
size_t		 table_rows(struct table *);
/* Set a cell of the last row (copied). */
void		 table_cell(struct table *, size_t col, enum table_colour,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * Draw it.  Columns are as wide as their widest cell counted in terminal
 * columns (UTF-8 code points, East Asian wide ones as two); colour escapes
 * are written only when `colour` is set and never count.
 */
void		 table_write(struct table *, FILE *, int colour);
/* Terminal columns a UTF-8 string takes. */
size_t		 table_width(const char *);

#endif

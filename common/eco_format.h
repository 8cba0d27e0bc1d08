/* Which reader an ecosystem file needs, chosen by its name as PM2 chooses. */
#ifndef WSD_ECO_FORMAT_H
#define WSD_ECO_FORMAT_H

#include <string.h>

#include <jansson.h>

#include "diag.h"

/*
 * A script PM2 runs with node (.js, .cjs, .mjs): the loader's rule for the
 * default interpreter, which the PM2 checks and wsctl share.  Inline, so
 * that wsctl uses it without linking the format readers.
 */
static inline int
eco_is_node_script(const char *path)
{
	static const char *const ext[] = { ".js", ".cjs", ".mjs" };
	size_t i, n = strlen(path), k;

	for (i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		k = strlen(ext[i]);
		if (n >= k && strcmp(path + n - k, ext[i]) == 0)
			return 1;
	}
	return 0;
}

enum eco_format {
	ECO_FORMAT_JSON,	/* strict JSON, else a JavaScript literal (JSON5) */
	ECO_FORMAT_JSON5,	/* .json5 */
	ECO_FORMAT_YAML,	/* .yml, .yaml */
	ECO_FORMAT_JS,		/* .js (.config.js), .cjs, .mjs: evaluated by node */
};

enum eco_format	eco_format_of(const char *path);

/*
 * The document in `abs`, read by its format's reader.  On failure returns
 * NULL and either fills `jerr` (a syntax error: line, column and text; a
 * line < 1 when there is no place) or, when jerr->text is empty, has added
 * its own messages naming `shown` to `errors`.
 */
json_t	*eco_format_load(const char *abs, const char *shown,
	    json_error_t *jerr, struct diag *errors);

#endif

/* Which reader an ecosystem file needs, chosen by its name as PM2 chooses. */
#ifndef WSD_ECO_FORMAT_H
#define WSD_ECO_FORMAT_H

#include <jansson.h>

#include "diag.h"

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

/* JavaScript ecosystem files (.config.js, .js, .cjs, .mjs), evaluated by the node on PATH in an unprivileged child. */
#ifndef WSD_ECO_JS_H
#define WSD_ECO_JS_H

#include <jansson.h>

#include "diag.h"

/*
 * Evaluate `abs` (an absolute path) as PM2 does, with require() or
 * import(), and return JSON.stringify of its export (functions dropped, as
 * PM2's daemon never sees them).  The child runs in the file's folder, in
 * its own process group, with no descriptors but stdio and, when wsd is
 * root, as the file's owner (`nobody` when root owns it).  It blocks the
 * caller for at most the timeout.  Errors name `shown` (the path as the
 * user gave it); NULL is returned with them in `errors`.
 */
json_t	*eco_js_load(const char *abs, const char *shown, struct diag *errors);

#endif

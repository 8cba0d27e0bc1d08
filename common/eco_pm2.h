/* PM2's aliases made plain, and the keys whose meaning under wsd differs from PM2's flagged. */
#ifndef WSD_ECO_PM2_H
#define WSD_ECO_PM2_H

#include <jansson.h>

#include "diag.h"

/*
 * Rewrite `doc` in place into the schema eco_keys.c reads, as PM2 reads
 * it: a top-level `pm2` stands for `apps`, an `apps` object for a list of
 * one, `cmd` for a missing `script`, and an object or array value in `env`
 * or `env_<mode>` for its JSON.stringify text.  Then warn, naming `path`
 * and the key's place, about every key that works differently under wsd.
 */
void	eco_pm2_normalise(json_t *doc, const char *path,
	    struct diag *warnings);

/* JavaScript's JSON.stringify of v (no spaces, shortest numbers); NULL: no memory. */
char	*eco_pm2_stringify(json_t *v);

#endif

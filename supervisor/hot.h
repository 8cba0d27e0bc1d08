/*
 * Hot settings (SPEC §4.11): the environment keys a running instance can
 * take over IPC without being replaced.  Given an app's resolved
 * environment before and after a reload re-read it, says whether only hot
 * keys changed and builds the settings object to push.  Pure: env +
 * jansson only.
 */
#ifndef WSD_HOT_H
#define WSD_HOT_H

#include <jansson.h>

#include "env.h"

enum hot_verdict {
	HOT_SAME,	/* nothing changed: a reload replaces, as asked */
	HOT_PUSH,	/* only hot keys changed: push them */
	HOT_REPLACE,	/* something else changed: replace the instances */
};

/* Whether `key` is hot (one of the list, or its _FILE indirection). */
int	hot_key(const char *key);

/*
 * Compare two resolved environments.  For HOT_PUSH, the names of the keys
 * that changed (set, removed or given another value) are appended to
 * `changed` (an array; may be NULL) in a stable order — never the values.
 */
enum hot_verdict hot_compare(const struct env *old, const struct env *new,
	    json_t *changed);

/* The settings to push: every hot key → its value in `env`, or null. */
json_t	*hot_settings(const struct env *env);

#endif

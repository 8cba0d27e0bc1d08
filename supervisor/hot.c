/* Hot settings: which env changes a running instance takes over IPC. */
#include <string.h>

#include "hot.h"

/*
 * What wsworker applies at run time (worker/main.c): the verification
 * keys, the HTTP API key, the origin list, the log level.  A `<KEY>_FILE`
 * naming where a hot secret comes from is hot too: the value it resolves
 * to is what the instance gets.
 */
static const char *hot_keys[] = {
	"NEXTAUTH_SECRET",
	"NEXTAUTH_SECRET_PREVIOUS",
	"WS_API_KEY",
	"ALLOWED_ORIGINS",
	"LOG_LEVEL",
};

#define HOT_NKEYS	(sizeof hot_keys / sizeof hot_keys[0])
#define HOT_FILE	"_FILE"

int
hot_key(const char *key)
{
	size_t i, n, kl = strlen(key), fl = strlen(HOT_FILE);

	for (i = 0; i < HOT_NKEYS; i++) {
		n = strlen(hot_keys[i]);
		if (strcmp(key, hot_keys[i]) == 0 ||
		    (kl == n + fl && strncmp(key, hot_keys[i], n) == 0 &&
		    strcmp(key + n, HOT_FILE) == 0))
			return 1;
	}
	return 0;
}

/* Whether `key` has another value (or presence) in `b` than in `a`. */
static int
hot_differs(const struct env *a, const struct env *b, const char *key)
{
	const char *x = env_get(a, key), *y = env_get(b, key);

	if (x == NULL || y == NULL)
		return x != y;
	return strcmp(x, y) != 0;
}

enum hot_verdict
hot_compare(const struct env *old, const struct env *new, json_t *changed)
{
	size_t i;
	int hot = 0;

	/* Any other key set, removed or changed: replace. */
	for (i = 0; i < old->n; i++)
		if (!hot_key(old->v[i].key) &&
		    hot_differs(old, new, old->v[i].key))
			return HOT_REPLACE;
	for (i = 0; i < new->n; i++)
		if (!hot_key(new->v[i].key) &&
		    env_get(old, new->v[i].key) == NULL)
			return HOT_REPLACE;
	/* Only hot keys are left: name the ones that changed, in list order. */
	for (i = 0; i < HOT_NKEYS; i++)
		if (hot_differs(old, new, hot_keys[i])) {
			hot = 1;
			if (changed != NULL)
				json_array_append_new(changed,
				    json_string(hot_keys[i]));
		}
	/* A _FILE path that moved without the value changing: nothing to push. */
	return hot ? HOT_PUSH : HOT_SAME;
}

json_t *
hot_settings(const struct env *env)
{
	json_t *o = json_object();
	const char *v;
	size_t i;

	for (i = 0; o != NULL && i < HOT_NKEYS; i++) {
		v = env_get(env, hot_keys[i]);
		json_object_set_new(o, hot_keys[i], v != NULL ?
		    json_string(v) : json_null());
	}
	return o;
}

/*
 * The channel rules of SPEC §4.3 as a table: a channel object's type names
 * a row, the row says which member holds the id, how the key is spelled and
 * who may subscribe.  Pure: no I/O, no state.
 */
#ifndef WSD_CHANNELS_H
#define WSD_CHANNELS_H

#include <stddef.h>

#include <jansson.h>

#define CHANNEL_KEY_MAX	256	/* key bytes including the NUL */

/*
 * Resolve `channel` for the authenticated `user`: 0 with the key in `key`
 * when the user may subscribe, -1 when the object is not a known channel or
 * the user may not have it.
 */
int	channels_key(const json_t *channel, const char *user, char *key,
	    size_t keylen);

/* Whether `key` could name a channel (publish API input check). */
int	channels_key_valid(const char *key);

#endif

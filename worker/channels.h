/*
 * The channel types of SPEC §4.3 as a table: a channel object's type names
 * a row, the row says which member holds the id, how the key is spelled and
 * the rule (SPEC §4.10) that applies unless configured.  Pure: no I/O, no
 * state.
 */
#ifndef WSD_CHANNELS_H
#define WSD_CHANNELS_H

#include <stddef.h>

#include <jansson.h>

#define CHANNEL_KEY_MAX	256	/* key bytes including the NUL */

/* A channel object resolved: its row, id and key. */
struct channel_ref {
	size_t	type;			/* row of the table */
	char	id[CHANNEL_KEY_MAX];
	char	key[CHANNEL_KEY_MAX];
};

/*
 * Resolve `channel`: 0 with its row, id and key, -1 when the object is not
 * a known channel.  Who may have it is the rule's business (rules.h).
 */
int	channels_resolve(const json_t *channel, struct channel_ref *);

/* The rows: channel type names and the rule each has unless configured. */
size_t	channels_count(void);
const char *channels_type(size_t);
const char *channels_default_rule(size_t);

/* Whether `key` could name a channel (publish API input check). */
int	channels_key_valid(const char *key);

#endif

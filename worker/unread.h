/*
 * The unread notifications a socket gets after subscribing to its own
 * notifications channel (SPEC §4.10), as fonana's Node server sent them:
 * the 20 newest unread, every column under its Prisma name.
 */
#ifndef WSD_UNREAD_H
#define WSD_UNREAD_H

#include <jansson.h>

#include "channels.h"

/* The message, or NULL when the database could not answer; borrowed. */
typedef void	(*unread_done_cb)(void *arg, json_t *msg);

/* Register the query with pg (before pg_init); `have_db`: DATABASE_URL. */
int	unread_configure(int have_db);
/* Whether a subscribe to `ref` by `user` is followed by the unread list. */
int	unread_wanted(const struct channel_ref *, const char *user);
/* 0 when `cb` will be called (never from inside), -1 when it cannot be. */
int	unread_fetch(const char *user, unread_done_cb cb, void *arg);

#endif

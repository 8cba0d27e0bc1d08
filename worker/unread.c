/* The unread notifications list that follows a subscribe to one's own channel. */
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "unread.h"

#define UNREAD_LIMIT	"20"

/*
 * Prisma's findMany({ where: { userId, isRead: false }, orderBy: {
 * createdAt: 'desc' }, take: 20 }) on fonana's Notification model; pg
 * types each column (DateTime → ISO 8601 with milliseconds and Z, Json as
 * JSON, enums as strings).
 */
static const char unread_sql[] =
    "SELECT * FROM notifications WHERE \"userId\" = $1 AND "
    "\"isRead\" = false ORDER BY \"createdAt\" DESC LIMIT " UNREAD_LIMIT;

struct unread_call {
	unread_done_cb	 cb;
	void		*arg;
};

static int	unread_stmt = -1;

int
unread_configure(int have_db)
{
	if (!have_db)
		return 0;
	unread_stmt = pg_statement(unread_sql, "unread notifications");
	return unread_stmt < 0 ? -1 : 0;
}

int
unread_wanted(const struct channel_ref *ref, const char *user)
{
	return unread_stmt >= 0 && user != NULL &&
	    strcmp(channels_type(ref->type), "notifications") == 0 &&
	    strcmp(ref->id, user) == 0;
}

static void
unread_rows_cb(void *arg, json_t *rows)
{
	struct unread_call	*c = arg;
	json_t			*msg = NULL;

	/* count is what was sent, as the Node server's notifications.length */
	if (rows != NULL)
		msg = json_pack("{s:s,s:{s:O,s:I}}", "type",
		    "unread_notifications", "data", "notifications", rows,
		    "count", (json_int_t)json_array_size(rows));
	c->cb(c->arg, msg);
	json_decref(msg);
	free(c);
}

int
unread_fetch(const char *user, unread_done_cb cb, void *arg)
{
	struct unread_call	*c;

	if (unread_stmt < 0 || (c = malloc(sizeof *c)) == NULL)
		return -1;
	c->cb = cb;
	c->arg = arg;
	if (pg_query(unread_stmt, &user, 1, unread_rows_cb, c) != 0) {
		free(c);
		return -1;
	}
	return 0;
}

/*
 * wsd's recent events: the last EVENTS_MAX lines of its own log, kept in a
 * ring for `wsctl monit` (the `events` command), so the live view has them
 * whether wsd logs to wsd.log or, in the foreground, to a journal.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wsd.h"

#define EVENTS_MAX	64
#define EVENTS_LINE_MAX	4096	/* longer lines are not kept */

static char	*events_ring[EVENTS_MAX];
static size_t	 events_next;		/* where the next line goes */

static void
events_tap_cb(const char *line, size_t len)
{
	char *copy;

	if (len > EVENTS_LINE_MAX || (copy = malloc(len + 1)) == NULL)
		return;
	memcpy(copy, line, len);
	copy[len] = '\0';
	free(events_ring[events_next]);
	events_ring[events_next] = copy;
	events_next = (events_next + 1) % EVENTS_MAX;
}

void
events_init(void)
{
	log_set_tap(events_tap_cb);
}

json_t *
events_json(size_t n)
{
	json_t *a = json_array(), *o;
	size_t i, k;

	if (n > EVENTS_MAX)
		n = EVENTS_MAX;
	/* oldest first: walk back n slots from the newest */
	for (i = n; i > 0; i--) {
		k = (events_next + EVENTS_MAX - i) % EVENTS_MAX;
		if (events_ring[k] == NULL)
			continue;
		if ((o = json_loads(events_ring[k], 0, NULL)) != NULL)
			json_array_append_new(a, o);
	}
	return a;
}

/* The channel table: channel object → key → who may subscribe (SPEC §4.3). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "channels.h"

enum channel_access {
	CHANNEL_OWNER,		/* only the user whose id is in the channel */
	CHANNEL_ANYONE,		/* any authenticated user */
};

struct channel_rule {
	const char		*type;		/* channel.type */
	const char		*member;	/* where the id is */
	const char		*prefix;	/* key = prefix + id */
	enum channel_access	 access;
};

/* A new channel type is a new row. */
static const struct channel_rule channel_rules[] = {
	{ "notifications",	"userId",	"notifications_",	CHANNEL_OWNER },
	{ "feed",		"userId",	"feed_",		CHANNEL_OWNER },
	{ "creator",		"id",		"creator_",		CHANNEL_ANYONE },
	{ "post",		"postId",	"post_",		CHANNEL_ANYONE },
};

/* The id as text, as JavaScript's template literal would show it. */
static int
channels_id_text(const json_t *v, char *buf, size_t len)
{
	const char	*s;
	double		 d;
	int		 n;

	if (v == NULL)
		return -1;
	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		if (json_string_length(v) != strlen(s))
			return -1;	/* embedded NUL */
		n = snprintf(buf, len, "%s", s);
		break;
	case JSON_INTEGER:
		n = snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		d = json_real_value(v);
		if (!isfinite(d))
			return -1;
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			n = snprintf(buf, len, "%.0f", d);
		else
			n = snprintf(buf, len, "%.17g", d);
		break;
	default:
		return -1;
	}
	if (n <= 0 || (size_t)n >= len)
		return -1;
	return 0;
}

int
channels_key_valid(const char *key)
{
	const unsigned char	*p;
	size_t			 len;

	len = strlen(key);
	if (len == 0 || len >= CHANNEL_KEY_MAX)
		return 0;
	for (p = (const unsigned char *)key; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	}
	return 1;
}

int
channels_key(const json_t *channel, const char *user, char *key,
    size_t keylen)
{
	const struct channel_rule	*r = NULL;
	const char			*type;
	char				 id[CHANNEL_KEY_MAX];
	size_t				 i;
	int				 n;

	if (!json_is_object(channel))
		return -1;
	type = json_string_value(json_object_get(channel, "type"));
	if (type == NULL)
		return -1;
	for (i = 0; i < sizeof channel_rules / sizeof channel_rules[0]; i++) {
		if (strcmp(channel_rules[i].type, type) == 0) {
			r = &channel_rules[i];
			break;
		}
	}
	if (r == NULL)
		return -1;
	if (channels_id_text(json_object_get(channel, r->member), id,
	    sizeof id) != 0 || id[0] == '\0')
		return -1;
	if (r->access == CHANNEL_OWNER &&
	    (user == NULL || strcmp(id, user) != 0))
		return -1;
	n = snprintf(key, keylen, "%s%s", r->prefix, id);
	if (n < 0 || (size_t)n >= keylen || !channels_key_valid(key))
		return -1;
	return 0;
}

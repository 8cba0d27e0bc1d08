/* The channel table: channel object → key → default rule (SPEC §4.3, 4.10). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "channels.h"

struct channel_type {
	const char	*type;		/* channel.type */
	const char	*member;	/* where the id is */
	const char	*prefix;	/* key = prefix + id */
	const char	*rule;		/* who may subscribe, unless configured */
};

/*
 * fonana's post check, as its Node server did it through Prisma: the post
 * exists, and the user is its creator, or it is open (not locked, no
 * tier), or the user has an active subscription to the creator whose
 * payment is COMPLETED.  $1 = user id, $2 = post id.
 */
#define CHANNELS_POST_RULE "sql:"					\
	"SELECT EXISTS (SELECT 1 FROM posts p WHERE p.id = $2 AND ("	\
	"p.\"creatorId\" = $1"						\
	" OR (NOT p.\"isLocked\" AND p.\"minSubscriptionTier\" IS NULL)"	\
	" OR EXISTS (SELECT 1 FROM subscriptions s"			\
	" WHERE s.\"userId\" = $1 AND s.\"creatorId\" = p.\"creatorId\""	\
	" AND s.\"isActive\" AND s.\"paymentStatus\" = 'COMPLETED')))"

/* A new channel type is a new row. */
static const struct channel_type channel_types[] = {
	{ "notifications",	"userId",	"notifications_",	"owner" },
	{ "feed",		"userId",	"feed_",		"owner" },
	{ "creator",		"id",		"creator_",		"public" },
	{ "post",		"postId",	"post_",	CHANNELS_POST_RULE },
};

size_t
channels_count(void)
{
	return sizeof channel_types / sizeof channel_types[0];
}

const char *
channels_type(size_t i)
{
	return channel_types[i].type;
}

const char *
channels_default_rule(size_t i)
{
	return channel_types[i].rule;
}

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
channels_resolve(const json_t *channel, struct channel_ref *ref)
{
	const struct channel_type	*t = NULL;
	const char			*type;
	size_t				 i;
	int				 n;

	if (!json_is_object(channel))
		return -1;
	type = json_string_value(json_object_get(channel, "type"));
	if (type == NULL)
		return -1;
	for (i = 0; i < channels_count(); i++) {
		if (strcmp(channel_types[i].type, type) == 0) {
			t = &channel_types[i];
			break;
		}
	}
	if (t == NULL)
		return -1;
	ref->type = i;
	if (channels_id_text(json_object_get(channel, t->member), ref->id,
	    sizeof ref->id) != 0 || ref->id[0] == '\0')
		return -1;
	n = snprintf(ref->key, sizeof ref->key, "%s%s", t->prefix, ref->id);
	if (n < 0 || (size_t)n >= sizeof ref->key ||
	    !channels_key_valid(ref->key))
		return -1;
	return 0;
}

/* Channel history: the publish script and the position suffix (history.h). */
#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "history.h"

/*
 * One round trip, atomic: append to the Stream, then PUBLISH.  A new epoch
 * comes from the caller (scripts must stay deterministic for replication).
 * A publish with an idempotency key names KEYS[4], ws:d:K:ID: a key seen
 * in the last HISTORY_DEDUP_TTL seconds is neither stored nor published
 * again (answer 0), so a retry after a lost reply cannot double an event.
 * That key lives in one master's keyspace: a master killed before its
 * replica got the first try loses it, and the retry is stored again under
 * a new offset.  So the ID also travels with the event (field i, and a
 * fourth member of the suffix), for clients to drop the second copy
 * (docs/protocol.md).  It is cut from KEYS[4], past "ws:d:K:".
 * An event that is not an object ending in '}' is published as is: it
 * stays in history but carries no position.  Keep clients/node/publisher.js
 * in step: it runs the same text.
 */
const char history_script[] =
    "if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then return 0 end\n"
    "local m = redis.call('HMGET', KEYS[3], 'epoch', 'last')\n"
    "local ep, prev = m[1], m[2]\n"
    "if not ep then ep = ARGV[4]; prev = '0-0' end\n"
    "if not prev then prev = '0-0' end\n"
    "local ik, iq = {}, ''\n"
    "if KEYS[4] then\n"
    "  ik = {'i', string.sub(KEYS[4], #KEYS[1] + 4)}\n"
    "  iq = ',\"' .. ik[2] .. '\"'\n"
    "end\n"
    "local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',"
    " 'e', ARGV[1], 'p', prev, unpack(ik))\n"
    "redis.call('HSET', KEYS[3], 'epoch', ep, 'last', id)\n"
    "if KEYS[4] then redis.call('SET', KEYS[4], id, 'EX', 600) end\n"
    "local ttl = tonumber(ARGV[3])\n"
    "if ttl > 0 then\n"
    "  redis.call('EXPIRE', KEYS[2], ttl)\n"
    "  redis.call('EXPIRE', KEYS[3], ttl)\n"
    "end\n"
    "local ev = ARGV[1]\n"
    "if string.sub(ev, -1) ~= '}' then\n"
    "  return redis.call('PUBLISH', KEYS[1], ev)\n"
    "end\n"
    "local body = string.sub(ev, 1, -2)\n"
    "local sep = ','\n"
    "if string.match(body, '^%s*{%s*$') then sep = '' end\n"
    "return redis.call('PUBLISH', KEYS[1], body .. sep .. '\"_wsd\":[\"' .."
    " prev .. '\",\"' .. id .. '\",\"' .. ep .. '\"' .. iq .. ']}')\n";

const char history_fetch_script[] =
    "local m = redis.call('HMGET', KEYS[2], 'epoch', 'last')\n"
    "local ep, last = m[1], m[2] or '0-0'\n"
    "if not ep then\n"
    "  ep = ARGV[2]\n"
    "  redis.call('HSET', KEYS[2], 'epoch', ep, 'last', last)\n"
    "  local ttl = tonumber(ARGV[3])\n"
    "  if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end\n"
    "end\n"
    "local r = {ep, last}\n"
    "if ARGV[1] ~= '' then"
    " r[3] = redis.call('XRANGE', KEYS[1], ARGV[1], '+') end\n"
    "return r\n";

#define HISTORY_TAG	"\"_wsd\":[\""
#define HISTORY_TAG_LEN	(sizeof(HISTORY_TAG) - 1)

static void
history_sha(const char *text, char hex[HISTORY_SCRIPT_SHA_LEN + 1])
{
	unsigned char	md[SHA_DIGEST_LENGTH];
	size_t		i;

	SHA1((const unsigned char *)text, strlen(text), md);
	for (i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

const char *
history_script_sha(void)
{
	static char	hex[HISTORY_SCRIPT_SHA_LEN + 1];

	if (hex[0] == '\0')
		history_sha(history_script, hex);
	return hex;
}

const char *
history_fetch_script_sha(void)
{
	static char	hex[HISTORY_SCRIPT_SHA_LEN + 1];

	if (hex[0] == '\0')
		history_sha(history_fetch_script, hex);
	return hex;
}

int
history_idem_valid(const char *id)
{
	size_t	n;

	for (n = 0; id[n] != '\0'; n++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", id[n]) == NULL)
			return 0;
	return n > 0 && n <= HISTORY_IDEM_MAX;
}

int
history_new_epoch(char out[HISTORY_EPOCH_LEN + 1])
{
	uint8_t	r[HISTORY_EPOCH_LEN / 2];
	size_t	i;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	for (i = 0; i < sizeof r; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/*
 * Read a "…" string of id characters (shorter than max) backwards ending
 * just before *end.
 */
static int
history_field(const char *msg, size_t start, size_t *end, size_t max,
    const char **p, size_t *plen)
{
	size_t	e = *end, i;

	/* msg[e - 1] is the closing quote. */
	if (e <= start || msg[e - 1] != '"')
		return -1;
	for (i = e - 1; i > start && msg[i - 1] != '"'; i--) {
		if (msg[i - 1] == '\\' || (unsigned char)msg[i - 1] < ' ')
			return -1;
	}
	if (i <= start || i == e - 1 || e - 1 - i >= max)
		return -1;
	*p = msg + i;
	*plen = e - 1 - i;
	*end = i - 1;	/* at the opening quote */
	return 0;
}

int
history_parse(const char *msg, size_t len, struct history_pos *pos)
{
	const char	*f[4];
	size_t		 flen[4], end, tag, i, n;

	/* …,"_wsd":["P","O","E"]} or …,"_wsd":["P","O","E","I"]} */
	if (len < HISTORY_TAG_LEN + 12 || msg[len - 1] != '}' ||
	    msg[len - 2] != ']')
		return 0;
	end = len - 2;
	for (n = 0; n < 4; n++) {
		if (history_field(msg, 0, &end, n == 0 ? HISTORY_IDEM_MAX + 1 :
		    HISTORY_ID_MAX, &f[n], &flen[n]) != 0 || end == 0)
			return 0;
		/* end is at the field's opening quote. */
		if (n >= 2 && end + 1 >= HISTORY_TAG_LEN &&
		    memcmp(msg + end + 1 - HISTORY_TAG_LEN, HISTORY_TAG,
		    HISTORY_TAG_LEN) == 0)
			break;
		if (msg[end - 1] != ',')
			return 0;
		end--;
	}
	if (n == 4)
		return 0;
	/* Read backwards: f[n] is PREV; a fourth field is the ID. */
	pos->idem = n == 3 ? f[0] : NULL;
	pos->idemlen = n == 3 ? flen[0] : 0;
	pos->epoch = f[n - 2];
	pos->epochlen = flen[n - 2];
	if (pos->epochlen >= HISTORY_ID_MAX)
		return 0;
	pos->offset = f[n - 1];
	pos->offsetlen = flen[n - 1];
	pos->prev = f[n];
	pos->prevlen = flen[n];
	tag = end + 1 - HISTORY_TAG_LEN;
	if (tag == 0)
		return 0;
	if (msg[tag - 1] == ',') {
		pos->cut = tag - 1;
		return 1;
	}
	/* An empty event object: the script added no comma. */
	for (i = tag; i > 0 && strchr(" \t\r\n", msg[i - 1]) != NULL; i--)
		;
	if (i == 0 || msg[i - 1] != '{')
		return 0;
	pos->cut = tag;
	return 1;
}

size_t
history_plain(const char *msg, const struct history_pos *pos, char *out)
{
	memcpy(out, msg, pos->cut);
	out[pos->cut] = '}';
	return pos->cut + 1;
}

#define HISTORY_IDEM_MEMBER	",\"idempotencyKey\":\""
#define HISTORY_IDEM_MEMBER_LEN	(sizeof(HISTORY_IDEM_MEMBER) - 1)

size_t
history_with_pos_len(size_t evlen, size_t offlen, size_t eplen,
    size_t idemlen)
{
	/* ev minus '}' + ,"offset":"O","epoch":"E"[,"idempotencyKey":"I"]} */
	return evlen + 24 + offlen + eplen +
	    (idemlen > 0 ? HISTORY_IDEM_MEMBER_LEN + idemlen + 1 : 0);
}

size_t
history_with_pos(const char *ev, size_t evlen, const char *off,
    size_t offlen, const char *ep, size_t eplen, const char *idem,
    size_t idemlen, char *out)
{
	size_t	n = evlen - 1, i;

	memcpy(out, ev, n);
	/* No comma after an empty object's '{'. */
	for (i = n; i > 0 && strchr(" \t\r\n", ev[i - 1]) != NULL; i--)
		;
	if (i > 0 && ev[i - 1] != '{')
		out[n++] = ',';
	memcpy(out + n, "\"offset\":\"", 10);
	n += 10;
	memcpy(out + n, off, offlen);
	n += offlen;
	memcpy(out + n, "\",\"epoch\":\"", 11);
	n += 11;
	memcpy(out + n, ep, eplen);
	n += eplen;
	if (idemlen > 0) {
		memcpy(out + n, "\"" HISTORY_IDEM_MEMBER,
		    1 + HISTORY_IDEM_MEMBER_LEN);
		n += 1 + HISTORY_IDEM_MEMBER_LEN;
		memcpy(out + n, idem, idemlen);
		n += idemlen;
	}
	memcpy(out + n, "\"}", 2);
	return n + 2;
}

size_t
history_positioned_len(const struct history_pos *pos)
{
	return history_with_pos_len(pos->cut + 1, pos->offsetlen,
	    pos->epochlen, pos->idemlen);
}

size_t
history_positioned(const char *msg, const struct history_pos *pos,
    char *out)
{
	/* msg[0, cut) + "}" is the event; build from it without a copy. */
	size_t	n;

	n = history_with_pos(msg, pos->cut + 1, pos->offset, pos->offsetlen,
	    pos->epoch, pos->epochlen, pos->idem, pos->idemlen, out);
	return n;
}

/* "ms-seq" → two numbers. */
static int
history_id(const char *s, size_t len, uint64_t *ms, uint64_t *seq)
{
	uint64_t	v[2] = { 0, 0 };
	size_t		i;
	int		part = 0, digits = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '-' && part == 0 && digits > 0) {
			part = 1;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9' && digits < 19) {
			v[part] = v[part] * 10 + (uint64_t)(s[i] - '0');
			digits++;
		} else
			return -1;
	}
	if (part != 1 || digits == 0)
		return -1;
	*ms = v[0];
	*seq = v[1];
	return 0;
}

int
history_cmp(const char *a, size_t alen, const char *b, size_t blen, int *cmp)
{
	uint64_t	ams, aseq, bms, bseq;

	if (history_id(a, alen, &ams, &aseq) != 0 ||
	    history_id(b, blen, &bms, &bseq) != 0)
		return -1;
	if (ams != bms)
		*cmp = ams < bms ? -1 : 1;
	else
		*cmp = aseq < bseq ? -1 : aseq > bseq;
	return 0;
}

/*
 * Channel history: the server-side script every publish runs, and the
 * position an event published through it carries.  Pure (no I/O), so the
 * unit tests cover it.
 *
 * Redis keys per channel K: ws:h:K, a capped Stream of the events (fields
 * e = the event text, p = the id of the entry before it); ws:m:K, a hash
 * {epoch, last}.  The script appends the event, then PUBLISHes it on ws:K
 * with a position suffix: the event object's closing brace becomes
 * ,"_wsd":["PREV","OFFSET","EPOCH"]} (with a fourth member, the
 * idempotency key, when the publish had one; field i too).  An offset is
 * the Stream entry id;
 * PREV chains every entry to the one before, so a reader can prove that
 * nothing is missing between two offsets (a trimmed, expired, deleted or
 * failed-over history breaks the chain); EPOCH changes whenever the hash
 * is lost (a Redis restart without persistence, an expired or deleted key).
 */
#ifndef WSD_HISTORY_H
#define WSD_HISTORY_H

#include <stddef.h>

#define HISTORY_SCRIPT_SHA_LEN	40
#define HISTORY_EPOCH_LEN	16	/* hex characters of a new epoch */
#define HISTORY_ID_MAX		48	/* longest id or epoch + 1 */

/*
 * The Lua text; KEYS ws:K ws:h:K ws:m:K [ws:d:K:ID], ARGV event maxlen ttl
 * new-epoch.  With the fourth key (an idempotency key ID), a publish of an
 * ID already stored within HISTORY_DEDUP_TTL s does nothing and answers 0.
 */
#define HISTORY_DEDUP_TTL	600	/* the script's text says it too */
#define HISTORY_IDEM_MAX	128	/* longest idempotency key */
extern const char history_script[];

/*
 * The read side: KEYS ws:h:K ws:m:K, ARGV since new-epoch ttl.  Returns
 * {epoch, last offset, entries from `since` on (inclusive; none when since
 * is "")}; creates the epoch when the channel has none.
 */
extern const char history_fetch_script[];

/* Their SHA1 in hex, for EVALSHA (computed once). */
const char *history_script_sha(void);
const char *history_fetch_script_sha(void);

/*
 * An idempotency key wsd accepts: 1 to HISTORY_IDEM_MAX characters of
 * [A-Za-z0-9._-] (no ':', so ws:d:K:ID names one pair only).
 */
int	history_idem_valid(const char *id);

/* A fresh random epoch candidate: HISTORY_EPOCH_LEN hex digits + NUL. */
int	history_new_epoch(char out[HISTORY_EPOCH_LEN + 1]);

/* The position a published message carries (pointers into it). */
struct history_pos {
	const char	*prev, *offset, *epoch, *idem;	/* idem: NULL if none */
	size_t		 prevlen, offsetlen, epochlen, idemlen;
	size_t		 cut;	/* the event is msg[0, cut) + "}" */
};

/*
 * Find the position suffix of a message received on ws:K: 1 and *pos
 * filled when it has one, 0 for a plain (legacy) message.
 */
int	history_parse(const char *msg, size_t len, struct history_pos *pos);

/*
 * The event as the application sent it (msg[0, cut) + "}"): the bytes
 * every socket without positions gets.  Returns the length written to
 * out, which holds at least pos->cut + 1.
 */
size_t	history_plain(const char *msg, const struct history_pos *pos,
	    char *out);

/*
 * The event with "offset" and "epoch" members added, and
 * "idempotencyKey" when the publish had one, into out (at least
 * history_positioned_len bytes); returns the length.
 */
size_t	history_positioned_len(const struct history_pos *pos);
size_t	history_positioned(const char *msg, const struct history_pos *pos,
	    char *out);
/* The same, from the event text and a position given apart (XRANGE). */
size_t	history_with_pos_len(size_t evlen, size_t offlen, size_t eplen,
	    size_t idemlen);
size_t	history_with_pos(const char *ev, size_t evlen, const char *off,
	    size_t offlen, const char *ep, size_t eplen, const char *idem,
	    size_t idemlen, char *out);

/*
 * Compare two offsets (stream ids "ms-seq"): *cmp < 0, 0 or > 0; returns
 * -1 when either is not an id.
 */
int	history_cmp(const char *a, size_t alen, const char *b, size_t blen,
	    int *cmp);

#endif

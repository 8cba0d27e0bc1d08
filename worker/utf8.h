/*
 * An incremental UTF-8 validator (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF): a text message may arrive in
 * fragments split inside a character.  Pure.
 */
#ifndef WSD_UTF8_H
#define WSD_UTF8_H

#include <stddef.h>
#include <stdint.h>

struct utf8 {
	uint8_t	need;		/* continuation bytes still expected */
	uint8_t	lo, hi;		/* the range of the next one */
	uint8_t	bad;
};

void	utf8_init(struct utf8 *);
/* Feed bytes: -1 once anything fed was invalid, else 0. */
int	utf8_feed(struct utf8 *, const void *, size_t);
/* Valid so far and not inside a character: a message may end here. */
int	utf8_complete(const struct utf8 *);
/* One whole string: 1 valid, 0 not. */
int	utf8_valid(const void *, size_t);

#endif

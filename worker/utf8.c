/* UTF-8 validation, byte by byte, across any split. */
#include "utf8.h"

/* Lead bytes of multi-byte characters and what may follow them. */
static const struct {
	uint8_t	first, last;	/* the lead byte range */
	uint8_t	need;		/* continuation bytes */
	uint8_t	lo, hi;		/* the second byte's range */
} utf8_leads[] = {
	{ 0xc2, 0xdf, 1, 0x80, 0xbf },
	{ 0xe0, 0xe0, 2, 0xa0, 0xbf },	/* no overlong 3-byte forms */
	{ 0xe1, 0xec, 2, 0x80, 0xbf },
	{ 0xed, 0xed, 2, 0x80, 0x9f },	/* no surrogates */
	{ 0xee, 0xef, 2, 0x80, 0xbf },
	{ 0xf0, 0xf0, 3, 0x90, 0xbf },	/* no overlong 4-byte forms */
	{ 0xf1, 0xf3, 3, 0x80, 0xbf },
	{ 0xf4, 0xf4, 3, 0x80, 0x8f },	/* nothing past U+10FFFF */
};

void
utf8_init(struct utf8 *u)
{
	u->need = 0;
	u->lo = 0x80;
	u->hi = 0xbf;
	u->bad = 0;
}

int
utf8_feed(struct utf8 *u, const void *p, size_t n)
{
	const unsigned char	*s = p;
	size_t			 i, k;

	if (u->bad)
		return -1;
	for (i = 0; i < n; i++) {
		if (u->need == 0) {
			if (s[i] < 0x80)
				continue;
			for (k = 0; k < sizeof utf8_leads / sizeof utf8_leads[0];
			    k++)
				if (s[i] >= utf8_leads[k].first &&
				    s[i] <= utf8_leads[k].last)
					break;
			if (k == sizeof utf8_leads / sizeof utf8_leads[0]) {
				u->bad = 1;
				return -1;
			}
			u->need = utf8_leads[k].need;
			u->lo = utf8_leads[k].lo;
			u->hi = utf8_leads[k].hi;
			continue;
		}
		if (s[i] < u->lo || s[i] > u->hi) {
			u->bad = 1;
			return -1;
		}
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
	}
	return 0;
}

int
utf8_complete(const struct utf8 *u)
{
	return !u->bad && u->need == 0;
}

int
utf8_valid(const void *p, size_t n)
{
	struct utf8	u;

	utf8_init(&u);
	return utf8_feed(&u, p, n) == 0 && utf8_complete(&u);
}

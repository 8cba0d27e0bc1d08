/*
 * Log line dates as PM2 writes them.  PM2 formats log_date_format with
 * day.js, whose format() walks the string with one regular expression of
 * tokens (longest spelling first) and copies everything else; this is
 * that walk over a table of the same tokens.  wsd's own users may write
 * strftime instead, told apart by a '%'.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "datefmt.h"

struct datefmt_out {
	char	*buf;
	size_t	 len;
	size_t	 n;
};

static void
datefmt_put(struct datefmt_out *o, const char *s, size_t n)
{
	if (o->n + 1 >= o->len)
		return;
	if (n > o->len - 1 - o->n)
		n = o->len - 1 - o->n;
	memcpy(o->buf + o->n, s, n);
	o->n += n;
	o->buf[o->n] = '\0';
}

static const char *const datefmt_months[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *const datefmt_days[] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday",
};

/*
 * day.js's utcOffset(): minutes east of UTC rounded to a quarter hour
 * (Math.round, so halves go up), for zones whose old offsets had seconds.
 */
static long
datefmt_offset(const struct tm *tm)
{
	double west = -(double)tm->tm_gmtoff / 60.0;

	return -(long)(floor(west / 15.0 + 0.5) * 15.0);
}

/* "+05:30"; with colon == 0, "+0530" (ZZ). */
static void
datefmt_zone(char *s, size_t len, const struct tm *tm, int colon)
{
	long off = datefmt_offset(tm), a = off < 0 ? -off : off;

	snprintf(s, len, "%c%02ld%s%02ld", off < 0 ? '-' : '+', a / 60,
	    colon ? ":" : "", a % 60);
}

/* What a token prints: a number, a name, or one of the odd ones. */
enum datefmt_kind {
	DF_NUMBER,	/* the value, zero-padded to `width` */
	DF_MONTH_NAME,	/* cut to `width` letters, 0: whole */
	DF_DAY_NAME,
	DF_YEAR2,	/* String(year).slice(-2) */
	DF_AMPM,	/* `width` 1: upper case */
	DF_ZONE,	/* `width` 1: with a colon */
};

enum datefmt_value {
	DV_YEAR, DV_MONTH, DV_MDAY, DV_WDAY, DV_HOUR, DV_HOUR12, DV_MIN,
	DV_SEC, DV_MS,
};

/* In the order of day.js's regular expression: the first match wins. */
static const struct {
	const char		*token;
	enum datefmt_kind	 kind;
	enum datefmt_value	 value;
	int			 width;
} datefmt_tokens[] = {
	{ "YYYY", DF_NUMBER, DV_YEAR, 4 }, { "YY", DF_YEAR2, DV_YEAR, 0 },
	{ "MMMM", DF_MONTH_NAME, DV_MONTH, 0 },
	{ "MMM", DF_MONTH_NAME, DV_MONTH, 3 },
	{ "MM", DF_NUMBER, DV_MONTH, 2 }, { "M", DF_NUMBER, DV_MONTH, 0 },
	{ "DD", DF_NUMBER, DV_MDAY, 2 }, { "D", DF_NUMBER, DV_MDAY, 0 },
	{ "dddd", DF_DAY_NAME, DV_WDAY, 0 }, { "ddd", DF_DAY_NAME, DV_WDAY, 3 },
	{ "dd", DF_DAY_NAME, DV_WDAY, 2 }, { "d", DF_NUMBER, DV_WDAY, 0 },
	{ "HH", DF_NUMBER, DV_HOUR, 2 }, { "H", DF_NUMBER, DV_HOUR, 0 },
	{ "hh", DF_NUMBER, DV_HOUR12, 2 }, { "h", DF_NUMBER, DV_HOUR12, 0 },
	{ "a", DF_AMPM, DV_HOUR, 0 }, { "A", DF_AMPM, DV_HOUR, 1 },
	{ "mm", DF_NUMBER, DV_MIN, 2 }, { "m", DF_NUMBER, DV_MIN, 0 },
	{ "ss", DF_NUMBER, DV_SEC, 2 }, { "s", DF_NUMBER, DV_SEC, 0 },
	{ "ZZ", DF_ZONE, DV_HOUR, 0 }, { "Z", DF_ZONE, DV_HOUR, 1 },
	{ "SSS", DF_NUMBER, DV_MS, 3 },
};

static long
datefmt_value(enum datefmt_value v, const struct tm *tm, int ms)
{
	switch (v) {
	case DV_YEAR:	return (long)tm->tm_year + 1900;
	case DV_MONTH:	return tm->tm_mon + 1;
	case DV_MDAY:	return tm->tm_mday;
	case DV_WDAY:	return tm->tm_wday;
	case DV_HOUR:	return tm->tm_hour;
	case DV_HOUR12:	return tm->tm_hour % 12 != 0 ? tm->tm_hour % 12 : 12;
	case DV_MIN:	return tm->tm_min;
	case DV_SEC:	return tm->tm_sec;
	case DV_MS:	return ms;
	}
	return 0;
}

/* Token `i` for this time into `s`. */
static void
datefmt_token(char *s, size_t len, size_t i, const struct tm *tm, int ms)
{
	long v = datefmt_value(datefmt_tokens[i].value, tm, ms);
	int w = datefmt_tokens[i].width;
	size_t n;

	switch (datefmt_tokens[i].kind) {
	case DF_NUMBER:
		snprintf(s, len, "%0*ld", w, v);
		break;
	case DF_MONTH_NAME:
		snprintf(s, len, "%.*s", w > 0 ? w : 16,
		    datefmt_months[(v - 1) % 12]);
		break;
	case DF_DAY_NAME:
		snprintf(s, len, "%.*s", w > 0 ? w : 16, datefmt_days[v % 7]);
		break;
	case DF_YEAR2:
		snprintf(s, len, "%ld", v);
		n = strlen(s);
		if (n > 2)
			memmove(s, s + n - 2, 3);
		break;
	case DF_AMPM:
		snprintf(s, len, "%s", v < 12 ? (w ? "AM" : "am") :
		    (w ? "PM" : "pm"));
		break;
	case DF_ZONE:
		datefmt_zone(s, len, tm, w);
		break;
	}
}

/* A '%' outside day.js's [escaped text]: written for strftime. */
static int
datefmt_is_strftime(const char *s)
{
	const char *end;

	for (; *s != '\0'; s++) {
		if (*s == '[' && s[1] != ']' && (end = strchr(s, ']')) != NULL)
			s = end;
		else if (*s == '%')
			return 1;
	}
	return 0;
}

size_t
datefmt_format(char *buf, size_t len, const char *fmt, const struct tm *tm,
    int ms)
{
	struct datefmt_out o = { buf, len, 0 };
	const char *end;
	char field[32];
	size_t i, n;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	if (datefmt_is_strftime(fmt)) {
		n = strftime(buf, len, fmt, tm);
		if (n == 0)
			buf[0] = '\0';	/* too long: nothing rather than garbage */
		return n;
	}
	while (*fmt != '\0') {
		/* [text]: at least one character, up to the first ']' */
		if (*fmt == '[' && fmt[1] != ']' &&
		    (end = strchr(fmt + 1, ']')) != NULL) {
			datefmt_put(&o, fmt + 1, (size_t)(end - fmt - 1));
			fmt = end + 1;
			continue;
		}
		for (i = 0; i < sizeof datefmt_tokens /
		    sizeof datefmt_tokens[0]; i++) {
			n = strlen(datefmt_tokens[i].token);
			if (strncmp(fmt, datefmt_tokens[i].token, n) == 0)
				break;
		}
		if (i == sizeof datefmt_tokens / sizeof datefmt_tokens[0]) {
			datefmt_put(&o, fmt++, 1);
			continue;
		}
		datefmt_token(field, sizeof field, i, tm, ms);
		datefmt_put(&o, field, strlen(field));
		fmt += n;
	}
	return o.n;
}

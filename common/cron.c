/* Five-field cron expressions: parsing and the next matching minute. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cron.h"

struct cron_field {
	const char	 *name;
	int		  lo;
	int		  hi;
	const char *const *names;	/* names[i] is the value lo + i */
};

static const char *const cron_months[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
	"nov", "dec", NULL,
};
static const char *const cron_days[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL,
};

static const struct cron_field cron_fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day of month", 1, 31, NULL },
	{ "month", 1, 12, cron_months },
	{ "day of week", 0, 7, cron_days },	/* 7 is Sunday too */
};

static const struct {
	const char	*name;
	const char	*expr;
} cron_macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* The reason of the last failure: callers get it as a static string. */
static char cron_reason[128];

static const char *
cron_fail(const struct cron_field *f, const char *what, const char *tok,
    size_t len)
{
	snprintf(cron_reason, sizeof cron_reason, "%s field: %s \"%.*s\"",
	    f->name, what, (int)(len > 40 ? 40 : len), tok);
	return cron_reason;
}

/* A number or a name; advances *p.  -1 when neither. */
static int
cron_value(const struct cron_field *f, const char **p, const char *end)
{
	const char *s = *p;
	int v = 0, i;

	if (s < end && isdigit((unsigned char)*s)) {
		while (s < end && isdigit((unsigned char)*s)) {
			v = v * 10 + (*s - '0');
			if (v > 1000)
				return -1;
			s++;
		}
		*p = s;
		return v;
	}
	if (f->names == NULL || end - s < 3)
		return -1;
	for (i = 0; f->names[i] != NULL; i++) {
		if (strncasecmp(s, f->names[i], 3) == 0 &&
		    (end - s == 3 || !isalpha((unsigned char)s[3]))) {
			*p = s + 3;
			return f->lo + i;
		}
	}
	return -1;
}

/* One field ("*", "1-5", "*\/15", "mon,wed") into bits; NULL or a reason. */
static const char *
cron_field_parse(const struct cron_field *f, const char *tok, size_t len,
    uint64_t *bits)
{
	const char *p = tok, *end = tok + len, *item;
	int a, b, step, v;

	*bits = 0;
	for (;;) {
		item = p;
		step = 1;
		if (p < end && *p == '*') {
			a = f->lo;
			b = f->hi;
			p++;
		} else {
			if ((a = cron_value(f, &p, end)) < 0)
				return cron_fail(f, "bad value in", tok, len);
			b = a;
			if (p < end && *p == '-') {
				p++;
				if ((b = cron_value(f, &p, end)) < 0)
					return cron_fail(f, "bad range in", tok,
					    len);
			}
			if (a < f->lo || a > f->hi || b < f->lo || b > f->hi)
				return cron_fail(f, "value out of range in",
				    tok, len);
			if (b < a)
				return cron_fail(f, "backward range in", tok,
				    len);
		}
		if (p < end && *p == '/') {
			p++;
			if (p >= end || !isdigit((unsigned char)*p))
				return cron_fail(f, "bad step in", tok, len);
			step = 0;
			while (p < end && isdigit((unsigned char)*p)) {
				step = step * 10 + (*p++ - '0');
				if (step > 1000)
					break;
			}
			if (step == 0 || step > f->hi)
				return cron_fail(f, "bad step in", tok, len);
			/* "5/10" means 5-max/10, as in vixie cron. */
			if (item[0] != '*' && a == b)
				b = f->hi;
		}
		for (v = a; v <= b; v += step)
			*bits |= (uint64_t)1 << v;
		if (p == end)
			return NULL;
		if (*p != ',' || ++p == end)
			return cron_fail(f, "bad list in", tok, len);
	}
}

/*
 * Whether some allowed month has some allowed day of month (Feb 29
 * counts).  Only the day of month can rule every date out: when the day
 * of week is restricted too, either may match (vixie cron).
 */
static int
cron_date_exists(const struct cron *c)
{
	static const int days[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int m;

	if (!c->wday_any)
		return 1;
	for (m = 1; m <= 12; m++) {
		if (((c->month >> m) & 1) &&
		    (c->mday & (((uint64_t)2 << days[m]) - 2)) != 0)
			return 1;
	}
	return 0;
}

int
cron_parse(const char *s, struct cron *c, const char **err)
{
	const char *tok[6], *p;
	size_t len[6], n = 0, i;
	uint64_t bits[5];

	memset(c, 0, sizeof *c);
	while (isspace((unsigned char)*s))
		s++;
	for (i = 0; i < sizeof cron_macros / sizeof cron_macros[0]; i++) {
		p = s + strlen(cron_macros[i].name);
		if (strncasecmp(s, cron_macros[i].name,
		    strlen(cron_macros[i].name)) == 0 &&
		    strspn(p, " \t\n") == strlen(p))
			return cron_parse(cron_macros[i].expr, c, err);
	}
	for (p = s; *p != '\0' && n < 6;) {
		tok[n] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		len[n] = p - tok[n];
		n++;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (n != 5) {
		*err = n < 5 ? "expected 5 fields (minute hour day month "
		    "weekday)" : "too many fields: expected 5 (minute hour "
		    "day month weekday)";
		return -1;
	}
	for (i = 0; i < 5; i++) {
		if ((*err = cron_field_parse(&cron_fields[i], tok[i], len[i],
		    &bits[i])) != NULL)
			return -1;
	}
	c->minute = bits[0];
	c->hour = bits[1];
	c->mday = bits[2];
	c->month = bits[3];
	if (bits[4] & (1 << 7))
		bits[4] = (bits[4] | 1) & ~((uint64_t)1 << 7);
	c->wday = bits[4];
	c->mday_any = tok[2][0] == '*';
	c->wday_any = tok[4][0] == '*';
	if (!cron_date_exists(c)) {
		snprintf(cron_reason, sizeof cron_reason, "day of month field: "
		    "no month of the month field has day \"%.*s\": the "
		    "expression never matches", (int)(len[2] > 40 ? 40 : len[2]),
		    tok[2]);
		*err = cron_reason;
		return -1;
	}
	*err = NULL;
	return 0;
}

/* vixie cron: both day fields restricted → either may match. */
static int
cron_day_matches(const struct cron *c, const struct tm *tm)
{
	int md = (c->mday >> tm->tm_mday) & 1;
	int wd = (c->wday >> tm->tm_wday) & 1;

	if (c->mday_any || c->wday_any)
		return md && wd;
	return md || wd;
}

time_t
cron_next(const struct cron *c, time_t after)
{
	struct tm tm;
	time_t t, prev;
	int i;

	t = after - (after % 60 + 60) % 60 + 60;	/* next whole minute */
	/* Bounded: cron_parse refuses a date that never comes (Feb 30). */
	for (i = 0; i < 100000; i++) {
		prev = t;
		if (localtime_r(&t, &tm) == NULL)
			return -1;
		tm.tm_isdst = -1;
		if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!cron_day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!((c->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = tm.tm_sec = 0;
		} else if (!((c->minute >> tm.tm_min) & 1)) {
			tm.tm_min++;
			tm.tm_sec = 0;
		} else
			return t;
		t = mktime(&tm);
		/* A daylight saving step can send mktime back: move on. */
		if (t <= prev)
			t = prev + 60;
	}
	return -1;
}

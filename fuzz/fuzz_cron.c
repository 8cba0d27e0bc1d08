/*
 * Fuzzes cron_restart expressions (an ecosystem field): parse, then the next
 * matching minute after a few instants of a zone with daylight saving, each
 * checked to be a later whole minute that every field matches.
 */
#include <stdlib.h>
#include <time.h>

#include "cron.h"
#include "fuzz.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);

static const time_t fuzz_cron_after[] = {
	1774745999,	/* 2026-03-29 00:59:59 UTC: clocks go forward in Berlin */
	1792885199,	/* 2026-10-25 00:59:59 UTC: clocks go back */
	1709164800,	/* 2024-02-29 00:00:00 UTC: a leap day */
	1798761599,	/* 2026-12-31 23:59:59 UTC: the end of a year */
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	return 0;
}

/* Every field matches at t, days as vixie cron joins them. */
static int
fuzz_cron_matches(const struct cron *c, time_t t)
{
	struct tm	tm;
	int		md, wd;

	if (localtime_r(&t, &tm) == NULL || tm.tm_sec != 0)
		return 0;
	md = (c->mday >> tm.tm_mday) & 1;
	wd = (c->wday >> tm.tm_wday) & 1;
	if (c->mday_any || c->wday_any ? !(md && wd) : !(md || wd))
		return 0;
	return ((c->minute >> tm.tm_min) & 1) && ((c->hour >> tm.tm_hour) & 1) &&
	    ((c->month >> (tm.tm_mon + 1)) & 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cron	 c;
	const char	*err = NULL;
	char		*s;
	size_t		 i;
	time_t		 t;

	s = fuzz_cstr(data, size);
	if (cron_parse(s, &c, &err) < 0) {
		if (err == NULL)
			abort();
	} else {
		for (i = 0; i < sizeof fuzz_cron_after / sizeof *fuzz_cron_after;
		    i++) {
			t = cron_next(&c, fuzz_cron_after[i]);
			if (t != -1 && (t <= fuzz_cron_after[i] ||
			    !fuzz_cron_matches(&c, t)))
				abort();
		}
	}
	free(s);
	return 0;
}

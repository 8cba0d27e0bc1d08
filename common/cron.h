/* Five-field cron expressions (minute hour day-of-month month day-of-week). */
#ifndef WSD_CRON_H
#define WSD_CRON_H

#include <stdint.h>
#include <time.h>

struct cron {
	uint64_t	minute;		/* bit i set: minute i matches */
	uint32_t	hour;
	uint32_t	mday;		/* bits 1..31 */
	uint16_t	month;		/* bits 1..12 */
	uint8_t		wday;		/* bits 0..6, Sunday = 0 (7 accepted) */
	int		mday_any;	/* "*" given: vixie-cron day matching */
	int		wday_any;
};

/* 0, or -1 with a static reason in *err. Supports * , - / and names. */
int	cron_parse(const char *, struct cron *, const char **err);
/* The first matching minute strictly after `after` (local time). */
time_t	cron_next(const struct cron *, time_t after);

#endif

/*
 * datefmt: reads "MILLISECONDS<TAB>FORMAT" lines and prints each format
 * for that time in the local zone (TZ), as a log line prefix would get it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datefmt.h"

int
main(void)
{
	char line[4096], out[4096], *tab, *end;
	long long ms;
	struct tm tm;
	time_t t;
	int frac;

	tzset();
	while (fgets(line, sizeof line, stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		ms = strtoll(line, &tab, 10);
		if (*tab != '\t') {
			fprintf(stderr, "datefmt: expected MS<TAB>FORMAT\n");
			return 64;
		}
		frac = (int)(((ms % 1000) + 1000) % 1000);
		t = (time_t)((ms - frac) / 1000);
		end = tab + 1;
		localtime_r(&t, &tm);
		datefmt_format(out, sizeof out, end, &tm, frac);
		printf("%s\n", out);
	}
	return 0;
}

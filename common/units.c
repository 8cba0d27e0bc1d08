/* The unit parsers: sizes and durations written as text ("512M", "10s"). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"

/* 2^64 as a double: anything at or above it does not fit a uint64_t. */
#define UNITS_U64_LIMIT	18446744073709551615.0

/* A non-negative decimal ("512", "1.5") and where it stops. */
static int
units_number(const char *s, double *v, const char **end)
{
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	*v = strtod(s, NULL);
	*end = p;
	return 0;
}

int
units_parse_size(const char *s, uint64_t *out)
{
	const char *u;
	double v, mul = 1;

	if (units_number(s, &v, &u) < 0)
		return -1;
	switch (toupper((unsigned char)*u)) {
	case '\0':
		break;
	case 'K':
		mul = 1024.0;
		u++;
		break;
	case 'M':
		mul = 1024.0 * 1024;
		u++;
		break;
	case 'G':
		mul = 1024.0 * 1024 * 1024;
		u++;
		break;
	case 'B':
		break;
	default:
		return -1;
	}
	/* "512M", "512MB", "512MiB", "100B" */
	if (mul > 1 && strcasecmp(u, "iB") == 0)
		u += 2;
	if (toupper((unsigned char)*u) == 'B')
		u++;
	if (*u != '\0')
		return -1;
	v *= mul;
	if (v >= UNITS_U64_LIMIT)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int
units_parse_duration(const char *s, uint64_t *out)
{
	static const struct {
		const char	*unit;
		double		 ms;
	} units[] = {
		{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	const char *u;
	double v;
	size_t i;

	if (units_number(s, &v, &u) < 0)
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(u, units[i].unit) == 0) {
			v *= units[i].ms;
			if (v >= UNITS_U64_LIMIT)
				return -1;
			*out = (uint64_t)llround(v);
			return 0;
		}
	}
	return -1;
}

/*
 * What every harness shares: the libFuzzer entry point, and a
 * NUL-terminated copy of the input for the parsers that take C strings.
 */
#ifndef WSD_FUZZ_H
#define WSD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd copy ending in NUL; an embedded NUL ends the C string early. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif

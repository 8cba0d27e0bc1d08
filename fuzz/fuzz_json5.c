/*
 * Fuzzes the JSON5 reader (a .json5 ecosystem file, and a .json one that
 * strict JSON refuses): any bytes give a tree or an error with a position
 * inside the input, and a tree it returns survives a round trip through
 * jansson's own writer and reader unchanged.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "json5.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 err;
	json_t		*doc, *again;
	char		*text;

	doc = json5_loadb((const char *)data, size, &err);
	if (doc == NULL) {
		if (err.position < 0 || (size_t)err.position > size ||
		    err.text[0] == '\0')
			abort();
		return 0;
	}
	text = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
	if (text == NULL)
		abort();
	again = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (again == NULL || !json_equal(doc, again))
		abort();
	json_decref(again);
	free(text);
	json_decref(doc);
	return 0;
}

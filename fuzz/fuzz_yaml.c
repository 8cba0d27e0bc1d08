/*
 * Fuzzes the YAML reader (.yml / .yaml ecosystem files, libyaml underneath):
 * any bytes give a tree or an error naming a line, and an alias bomb or a
 * deep nest is refused, never expanded without bound.
 */
#include <stdlib.h>

#include "eco_yaml.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 err;
	json_t		*doc;
	char		*text;

	doc = eco_yaml_loadb((const char *)data, size, &err);
	if (doc == NULL) {
		if (err.text[0] == '\0')
			abort();
		return 0;
	}
	text = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
	if (text == NULL)
		abort();
	free(text);
	json_decref(doc);
	return 0;
}

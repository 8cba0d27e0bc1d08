/* Prints the tree an ecosystem file's reader (common/eco_format.c) builds, as compact JSON, or its error; for the golden tests. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "diag.h"
#include "eco_format.h"

int
main(int argc, char **argv)
{
	struct diag errors;
	json_error_t jerr;
	json_t *doc;
	char *abs, *s;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: eco-read FILE\n");
		return 2;
	}
	if ((abs = realpath(argv[1], NULL)) == NULL) {
		perror(argv[1]);
		return 1;
	}
	diag_init(&errors);
	if ((doc = eco_format_load(abs, argv[1], &jerr, &errors)) == NULL) {
		if (jerr.text[0] != '\0')
			fprintf(stderr, "%s:%d:%d: %s\n", argv[1], jerr.line,
			    jerr.column, jerr.text);
		for (i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.msgs[i]);
		return 1;
	}
	s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	puts(s != NULL ? s : "");
	free(s);
	json_decref(doc);
	diag_free(&errors);
	free(abs);
	return 0;
}

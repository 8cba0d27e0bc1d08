/* Which reader an ecosystem file needs, chosen by its name as PM2 chooses. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eco_format.h"
#include "eco_js.h"
#include "eco_yaml.h"
#include "fsutil.h"
#include "json5.h"

/* Larger than any real ecosystem file; a bound for the readers' memory. */
#define ECO_FORMAT_MAX_SIZE	(4 * 1024 * 1024)

static const struct {
	const char	*suffix;
	enum eco_format	 format;
} eco_format_suffixes[] = {
	{ ".json5", ECO_FORMAT_JSON5 },
	{ ".yml", ECO_FORMAT_YAML },
	{ ".yaml", ECO_FORMAT_YAML },
	{ ".js", ECO_FORMAT_JS },
	{ ".cjs", ECO_FORMAT_JS },
	{ ".mjs", ECO_FORMAT_JS },
};

enum eco_format
eco_format_of(const char *path)
{
	size_t i, n = strlen(path), k;

	for (i = 0; i < sizeof eco_format_suffixes /
	    sizeof eco_format_suffixes[0]; i++) {
		k = strlen(eco_format_suffixes[i].suffix);
		if (n > k && strcasecmp(path + n - k,
		    eco_format_suffixes[i].suffix) == 0)
			return eco_format_suffixes[i].format;
	}
	return ECO_FORMAT_JSON;	/* .json, and any other name */
}

/*
 * The whole file, through the capped reader (regular files only, never
 * blocking: a FIFO named as the config must not hang wsd's loop); NULL
 * with the reason in jerr.
 */
static char *
eco_format_read(const char *abs, size_t *len, json_error_t *jerr)
{
	char *buf;

	if (fsutil_read_file(abs, ECO_FORMAT_MAX_SIZE, &buf, len, NULL,
	    jerr->text, sizeof jerr->text) < 0) {
		jerr->line = -1;
		return NULL;
	}
	return buf;
}

/*
 * PM2 evaluates a .json file as a JavaScript expression, so comments,
 * unquoted keys and single quotes occur in real ones.  Strict JSON first
 * (its messages are the familiar ones), then JSON5, which covers those
 * literals; when both fail, the error that got further is the real one.
 */
static json_t *
eco_format_json(const char *buf, size_t len, json_error_t *jerr)
{
	json_error_t j5;
	json_t *doc;

	if ((doc = json_loadb(buf, len, JSON_DECODE_ANY, jerr)) != NULL)
		return doc;
	if ((doc = json5_loadb(buf, len, &j5)) != NULL)
		return doc;
	if (j5.position > jerr->position)
		*jerr = j5;
	return NULL;
}

json_t *
eco_format_load(const char *abs, const char *shown, json_error_t *jerr,
    struct diag *errors)
{
	enum eco_format f = eco_format_of(abs);
	json_t *doc = NULL;
	size_t len;
	char *buf;

	memset(jerr, 0, sizeof *jerr);
	if (f == ECO_FORMAT_JS)
		return eco_js_load(abs, shown, errors);
	if ((buf = eco_format_read(abs, &len, jerr)) == NULL)
		return NULL;
	switch (f) {
	case ECO_FORMAT_JSON:
		doc = eco_format_json(buf, len, jerr);
		break;
	case ECO_FORMAT_JSON5:
		doc = json5_loadb(buf, len, jerr);
		break;
	case ECO_FORMAT_YAML:
		doc = eco_yaml_loadb(buf, len, jerr);
		break;
	case ECO_FORMAT_JS:
		break;
	}
	explicit_bzero(buf, len);	/* inline secrets */
	free(buf);
	return doc;
}

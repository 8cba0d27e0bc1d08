/* YAML ecosystem files (.yml, .yaml), read with libyaml into the tree the JSON path builds. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "eco_yaml.h"

/*
 * An alias shares its anchor's jansson value, so memory stays linear; but
 * whoever walks or prints the tree sees the expansion, so that is capped
 * (the "billion laughs" file).  Depth is capped for the same reason.
 */
#define YAML_MAX_NODES	1000000
#define YAML_MAX_DEPTH	256

/* An open sequence or mapping. */
struct yaml_frame {
	json_t		*v;
	char		*key;		/* mapping: the key waiting for its value */
	int		 merge;		/* that key is a plain "<<" */
	json_t		*merges;	/* mapping: the "<<" sources, in order */
	char		*anchor;
	size_t		 nodes;		/* the expanded size so far */
};

struct yaml_anchor {
	char		*name;
	json_t		*v;
	size_t		 nodes;
};

struct yaml_load {
	struct yaml_frame	 stack[YAML_MAX_DEPTH];
	int			 depth;
	struct yaml_anchor	*anchors;
	size_t			 nanchors;
	json_t			*root;
	json_error_t		*err;
};

static void yaml_fail(struct yaml_load *, yaml_mark_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
yaml_fail(struct yaml_load *y, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;

	if (y->err->text[0] != '\0')
		return;
	y->err->line = (int)m.line + 1;
	y->err->column = (int)m.column + 1;
	y->err->position = (int)m.index;
	va_start(ap, fmt);
	vsnprintf(y->err->text, sizeof y->err->text, fmt, ap);
	va_end(ap);
}

/* Does all of s match one of the words? */
static int
yaml_is(const char *s, const char *const *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

static int
yaml_digits(const char *s, const char *set)
{
	if (*s == '\0')
		return 0;
	return s[strspn(s, set)] == '\0';
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int
yaml_is_float(const char *s)
{
	size_t n;

	if (*s == '-' || *s == '+')
		s++;
	n = strspn(s, "0123456789");
	s += n;
	if (*s == '.') {
		s++;
		if (n == 0 && !(*s >= '0' && *s <= '9'))
			return 0;
		s += strspn(s, "0123456789");
	} else if (n == 0)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		s += strspn(s, "0123456789");
	}
	return *s == '\0';
}

/* A plain scalar typed by the YAML 1.2 core schema; NULL: out of memory. */
static json_t *
yaml_core(const char *s)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const trues[] = { "true", "True", "TRUE" };
	static const char *const falses[] = { "false", "False", "FALSE" };
	static const char *const infs[] = { ".inf", ".Inf", ".INF", "+.inf",
	    "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN",
	    ".NAN" };
	const char *d = s;
	long long v;
	char *end;
	int base = 10;

	if (yaml_is(s, nulls, sizeof nulls / sizeof nulls[0]))
		return json_null();
	if (yaml_is(s, trues, sizeof trues / sizeof trues[0]))
		return json_true();
	if (yaml_is(s, falses, sizeof falses / sizeof falses[0]))
		return json_false();
	/* JSON has neither; JSON.stringify writes both as null. */
	if (yaml_is(s, infs, sizeof infs / sizeof infs[0]))
		return json_null();
	if (strncmp(s, "0x", 2) == 0 && yaml_digits(s + 2,
	    "0123456789abcdefABCDEF"))
		base = 16, d = s + 2;
	else if (strncmp(s, "0o", 2) == 0 && yaml_digits(s + 2, "01234567"))
		base = 8, d = s + 2;
	else if (!yaml_digits(s + (*s == '-' || *s == '+'), "0123456789"))
		base = 0;
	if (base != 0) {
		errno = 0;
		v = strtoll(d, &end, base);
		if (errno == 0)
			return json_integer(v);
		return json_real(strtod(s, NULL));	/* beyond 64 bits */
	}
	if (yaml_is_float(s)) {
		double f = strtod(s, NULL);

		return isfinite(f) ? json_real(f) : json_null();
	}
	return json_string(s);
}

static json_t *
yaml_scalar(struct yaml_load *y, const yaml_event_t *e)
{
	const char *tag = (const char *)e->data.scalar.tag;
	const char *s = (const char *)e->data.scalar.value;
	size_t len = e->data.scalar.length;
	json_t *v;

	if (memchr(s, '\0', len) != NULL) {
		yaml_fail(y, e->start_mark, "a NUL character in a scalar");
		return NULL;
	}
	if (tag == NULL || strcmp(tag, "!") == 0 ||
	    strcmp(tag, YAML_STR_TAG) == 0) {
		if (tag == NULL && e->data.scalar.plain_implicit &&
		    e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			v = yaml_core(s);
		else
			v = json_stringn(s, len);
	} else if (strcmp(tag, YAML_NULL_TAG) == 0 ||
	    strcmp(tag, YAML_BOOL_TAG) == 0 ||
	    strcmp(tag, YAML_INT_TAG) == 0 ||
	    strcmp(tag, YAML_FLOAT_TAG) == 0) {
		v = yaml_core(s);
		if (v != NULL && json_is_string(v)) {
			json_decref(v);
			yaml_fail(y, e->start_mark, "\"%s\" is not a valid %s",
			    s, tag + strlen("tag:yaml.org,2002:"));
			return NULL;
		}
	} else {
		yaml_fail(y, e->start_mark, "tag %s is not supported", tag);
		return NULL;
	}
	if (v == NULL)
		yaml_fail(y, e->start_mark, "invalid UTF-8 or out of memory");
	return v;
}

static int
yaml_anchor_add(struct yaml_load *y, const char *name, json_t *v,
    size_t nodes)
{
	struct yaml_anchor *a;

	a = realloc(y->anchors, (y->nanchors + 1) * sizeof *a);
	if (a == NULL)
		return -1;
	y->anchors = a;
	a += y->nanchors;
	if ((a->name = strdup(name)) == NULL)
		return -1;
	a->v = json_incref(v);
	a->nodes = nodes;
	y->nanchors++;
	return 0;
}

/* A key's text: a scalar's source text (js-yaml turns `1:` into "1"). */
static char *
yaml_key_text(const yaml_event_t *e)
{
	return strndup((const char *)e->data.scalar.value,
	    e->data.scalar.length);
}

/* `<<: *base` and `<<: [*a, *b]`: keys not given here, earlier sources first. */
static int
yaml_merge(struct yaml_load *y, struct yaml_frame *f, yaml_mark_t m)
{
	json_t *src, *one, *v;
	const char *k;
	size_t i, j;

	if (f->merges == NULL)
		return 0;
	json_array_foreach(f->merges, i, src) {
		for (j = 0; j < (json_is_array(src) ? json_array_size(src) : 1);
		    j++) {
			one = json_is_array(src) ? json_array_get(src, j) : src;
			if (!json_is_object(one)) {
				yaml_fail(y, m, "<< merges mappings only");
				return -1;
			}
			json_object_foreach(one, k, v)
				if (json_object_get(f->v, k) == NULL &&
				    json_object_set(f->v, k, v) < 0)
					return -1;
		}
	}
	return 0;
}

/* A finished value (scalar, alias or container) goes into its parent. */
static int
yaml_add(struct yaml_load *y, json_t *v, size_t nodes, const char *anchor,
    const yaml_event_t *e)
{
	struct yaml_frame *f;
	char *key;
	int rc = 0;

	if (anchor != NULL && yaml_anchor_add(y, anchor, v, nodes) < 0) {
		json_decref(v);
		return -1;
	}
	if (y->depth == 0) {
		y->root = v;
		return 0;
	}
	f = &y->stack[y->depth - 1];
	f->nodes += nodes;
	if (f->nodes > YAML_MAX_NODES) {
		yaml_fail(y, e->start_mark, "aliases expand to more than %d "
		    "values", YAML_MAX_NODES);
		json_decref(v);
		return -1;
	}
	if (json_is_array(f->v))
		return json_array_append_new(f->v, v);
	if (f->key == NULL) {
		json_decref(v);
		if (e->type != YAML_SCALAR_EVENT) {
			yaml_fail(y, e->start_mark, "a mapping key must be a "
			    "scalar");
			return -1;
		}
		if ((f->key = yaml_key_text(e)) == NULL)
			return -1;
		f->merge = strcmp(f->key, "<<") == 0 &&
		    e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return 0;
	}
	key = f->key;
	f->key = NULL;
	if (f->merge) {
		if (f->merges == NULL && (f->merges = json_array()) == NULL)
			rc = -1;
		else
			rc = json_array_append_new(f->merges, v);
	} else if (json_object_get(f->v, key) != NULL) {
		yaml_fail(y, e->start_mark, "duplicated mapping key \"%s\"",
		    key);
		json_decref(v);
		rc = -1;
	} else if (json_object_set_new(f->v, key, v) < 0) {
		yaml_fail(y, e->start_mark, "invalid key \"%s\"", key);
		rc = -1;
	}
	free(key);
	return rc;
}

static int
yaml_open(struct yaml_load *y, const yaml_event_t *e, json_t *v,
    const yaml_char_t *anchor)
{
	struct yaml_frame *f;

	if (v == NULL)
		return -1;
	if (y->depth == YAML_MAX_DEPTH) {
		json_decref(v);
		yaml_fail(y, e->start_mark, "nested more than %d deep",
		    YAML_MAX_DEPTH);
		return -1;
	}
	f = &y->stack[y->depth++];
	memset(f, 0, sizeof *f);
	f->v = v;
	f->nodes = 1;
	if (anchor != NULL && (f->anchor = strdup((const char *)anchor)) ==
	    NULL)
		return -1;
	return 0;
}

static int
yaml_close(struct yaml_load *y, const yaml_event_t *e)
{
	struct yaml_frame f = y->stack[--y->depth];
	int rc;

	rc = yaml_merge(y, &f, e->start_mark);
	json_decref(f.merges);
	free(f.key);
	if (rc == 0)
		rc = yaml_add(y, f.v, f.nodes, f.anchor, e);
	else
		json_decref(f.v);
	free(f.anchor);
	return rc;
}

static int
yaml_alias(struct yaml_load *y, const yaml_event_t *e)
{
	const char *name = (const char *)e->data.alias.anchor;
	size_t i;

	for (i = y->nanchors; i-- > 0;) {
		if (strcmp(y->anchors[i].name, name) == 0)
			return yaml_add(y, json_incref(y->anchors[i].v),
			    y->anchors[i].nodes, NULL, e);
	}
	yaml_fail(y, e->start_mark, "unknown anchor *%s", name);
	return -1;
}

/* One event; 1 at the end of the stream. */
static int
yaml_event(struct yaml_load *y, const yaml_event_t *e, int *docs)
{
	json_t *v;

	switch (e->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_NO_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1) {
			yaml_fail(y, e->start_mark, "more than one document: "
			    "an ecosystem file holds one");
			return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		if ((v = yaml_scalar(y, e)) == NULL)
			return -1;
		return yaml_add(y, v, 1, (const char *)e->data.scalar.anchor,
		    e);
	case YAML_ALIAS_EVENT:
		return yaml_alias(y, e);
	case YAML_SEQUENCE_START_EVENT:
		return yaml_open(y, e, json_array(),
		    e->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return yaml_open(y, e, json_object(),
		    e->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return yaml_close(y, e);
	}
	return 0;
}

json_t *
eco_yaml_loadb(const char *buf, size_t len, json_error_t *err)
{
	struct yaml_load *y;
	yaml_parser_t parser;
	yaml_event_t e;
	json_t *root = NULL;
	size_t i;
	int rc = 0, docs = 0;

	memset(err, 0, sizeof *err);
	if ((y = calloc(1, sizeof *y)) == NULL)
		return NULL;
	y->err = err;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (rc == 0) {
		if (!yaml_parser_parse(&parser, &e)) {
			if (parser.context != NULL)
				yaml_fail(y, parser.problem_mark, "%s %s (line "
				    "%zu column %zu)", parser.problem,
				    parser.context,
				    parser.context_mark.line + 1,
				    parser.context_mark.column + 1);
			else
				yaml_fail(y, parser.problem_mark, "%s",
				    parser.problem != NULL ? parser.problem :
				    "invalid YAML");
			rc = -1;
			break;
		}
		rc = yaml_event(y, &e, &docs);
		if (rc < 0 && err->text[0] == '\0')
			yaml_fail(y, e.start_mark, "out of memory");
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&parser);
	while (y->depth > 0) {
		struct yaml_frame *f = &y->stack[--y->depth];

		json_decref(f->v);
		json_decref(f->merges);
		free(f->key);
		free(f->anchor);
	}
	for (i = 0; i < y->nanchors; i++) {
		free(y->anchors[i].name);
		json_decref(y->anchors[i].v);
	}
	free(y->anchors);
	if (rc > 0)
		root = y->root != NULL ? y->root : json_null();
	else
		json_decref(y->root);
	free(y);
	return root;
}

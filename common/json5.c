/* JSON5 (json5.org): the `.json5` files PM2 reads, and `.json` files written as JavaScript literals. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexdigit.h"
#include "json5.h"

/* Deeper than any ecosystem file; keeps hostile input off the C stack. */
#define JSON5_MAX_DEPTH	256

struct json5 {
	const char	*buf;
	const char	*p;
	const char	*end;
	const char	*line_start;
	int		 line;
	int		 depth;
	json_error_t	*err;
};

/* A growing byte string for string literals and identifiers. */
struct json5_str {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static void json5_fail(struct json5 *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Only the first failure counts: it is where the text went wrong. */
static void
json5_fail(struct json5 *j, const char *fmt, ...)
{
	va_list ap;
	const char *q;
	int col = 1;

	if (j->err->text[0] != '\0')
		return;
	for (q = j->line_start; q < j->p && q < j->end; q++)
		if (((unsigned char)*q & 0xC0) != 0x80)
			col++;
	j->err->line = j->line;
	j->err->column = col;
	j->err->position = (int)(j->p - j->buf);
	va_start(ap, fmt);
	vsnprintf(j->err->text, sizeof j->err->text, fmt, ap);
	va_end(ap);
}

static int
json5_str_add(struct json5_str *b, const char *s, size_t n)
{
	char *t;
	size_t cap;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap : 32;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((t = realloc(b->s, cap)) == NULL)
			return -1;
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int
json5_str_utf8(struct json5_str *b, uint32_t c)
{
	char u[4];
	size_t n;

	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xC0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xE0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3F));
		u[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3F));
		u[2] = (char)(0x80 | (c >> 6 & 0x3F));
		u[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	return json5_str_add(b, u, n);
}

/*
 * The length of the line terminator at p (LF, CR, CRLF, U+2028, U+2029),
 * 0 when there is none.
 */
static size_t
json5_newline(const struct json5 *j, const char *p)
{
	if (p >= j->end)
		return 0;
	if (*p == '\n')
		return 1;
	if (*p == '\r')
		return p + 1 < j->end && p[1] == '\n' ? 2 : 1;
	if (j->end - p >= 3 && memcmp(p, "\xE2\x80", 2) == 0 &&
	    ((unsigned char)p[2] == 0xA8 || (unsigned char)p[2] == 0xA9))
		return 3;
	return 0;
}

/* The length of the (non-newline) white space at p, 0 when there is none. */
static size_t
json5_space(const struct json5 *j, const char *p)
{
	/* JavaScript's WhiteSpace: the ASCII ones, BOM and the Zs category. */
	static const char *const wide[] = {
		"\xC2\xA0", "\xEF\xBB\xBF", "\xE1\x9A\x80", "\xE2\x80\x80",
		"\xE2\x80\x81", "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84",
		"\xE2\x80\x85", "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88",
		"\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xAF", "\xE2\x81\x9F",
		"\xE3\x80\x80",
	};
	size_t i, n;

	if (p >= j->end)
		return 0;
	if (*p == ' ' || *p == '\t' || *p == '\v' || *p == '\f')
		return 1;
	for (i = 0; i < sizeof wide / sizeof wide[0]; i++) {
		n = strlen(wide[i]);
		if ((size_t)(j->end - p) >= n && memcmp(p, wide[i], n) == 0)
			return n;
	}
	return 0;
}

static void
json5_advance_line(struct json5 *j, size_t n)
{
	j->p += n;
	j->line++;
	j->line_start = j->p;
}

/* White space and comments; -1 on an unclosed block comment. */
static int
json5_skip(struct json5 *j)
{
	size_t n;

	while (j->p < j->end) {
		if ((n = json5_newline(j, j->p)) > 0) {
			json5_advance_line(j, n);
		} else if ((n = json5_space(j, j->p)) > 0) {
			j->p += n;
		} else if (j->end - j->p >= 2 && j->p[0] == '/' &&
		    j->p[1] == '/') {
			while (j->p < j->end && json5_newline(j, j->p) == 0)
				j->p++;
		} else if (j->end - j->p >= 2 && j->p[0] == '/' &&
		    j->p[1] == '*') {
			const char *start = j->p;
			int line = j->line;
			const char *ls = j->line_start;

			j->p += 2;
			for (;;) {
				if (j->p >= j->end) {
					j->p = start;
					j->line = line;
					j->line_start = ls;
					json5_fail(j, "unclosed /* comment");
					return -1;
				}
				if (j->end - j->p >= 2 && j->p[0] == '*' &&
				    j->p[1] == '/') {
					j->p += 2;
					break;
				}
				if ((n = json5_newline(j, j->p)) > 0)
					json5_advance_line(j, n);
				else
					j->p++;
			}
		} else
			break;
	}
	return 0;
}

/* n hex digits at p, or -1. */
static long
json5_hexn(const struct json5 *j, const char *p, int n)
{
	long v = 0;
	int i, d;

	if (j->end - p < n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((d = hexdigit((unsigned char)p[i])) < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* \uXXXX at j->p (after the backslash and 'u'), pairs of surrogates joined. */
static int
json5_unicode(struct json5 *j, uint32_t *out)
{
	long hi, lo;

	if ((hi = json5_hexn(j, j->p, 4)) < 0) {
		json5_fail(j, "\\u must be followed by four hex digits");
		return -1;
	}
	j->p += 4;
	if (hi >= 0xDC00 && hi <= 0xDFFF) {
		json5_fail(j, "invalid Unicode escape: lone low surrogate");
		return -1;
	}
	if (hi >= 0xD800 && hi <= 0xDBFF) {
		if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
		    (lo = json5_hexn(j, j->p + 2, 4)) < 0xDC00 || lo > 0xDFFF) {
			json5_fail(j, "invalid Unicode escape: lone high "
			    "surrogate");
			return -1;
		}
		j->p += 6;
		*out = 0x10000 + ((uint32_t)(hi - 0xD800) << 10) +
		    (uint32_t)(lo - 0xDC00);
		return 0;
	}
	*out = (uint32_t)hi;
	return 0;
}

/* One escape after a backslash inside a string. */
static int
json5_escape(struct json5 *j, struct json5_str *b)
{
	static const struct {
		char	 c;
		char	 v;
	} simple[] = {
		{ 'b', '\b' }, { 'f', '\f' }, { 'n', '\n' }, { 'r', '\r' },
		{ 't', '\t' }, { 'v', '\v' },
	};
	uint32_t u;
	size_t i, n;
	long x;
	char c;

	if (j->p >= j->end) {
		json5_fail(j, "unterminated string");
		return -1;
	}
	if ((n = json5_newline(j, j->p)) > 0) {	/* a line continuation */
		json5_advance_line(j, n);
		return 0;
	}
	c = *j->p++;
	for (i = 0; i < sizeof simple / sizeof simple[0]; i++)
		if (c == simple[i].c)
			return json5_str_add(b, &simple[i].v, 1);
	switch (c) {
	case '0':
		if (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
			json5_fail(j, "octal escapes are not allowed");
			return -1;
		}
		return json5_str_add(b, "", 1);
	case 'x':
		if ((x = json5_hexn(j, j->p, 2)) < 0) {
			json5_fail(j, "\\x must be followed by two hex digits");
			return -1;
		}
		j->p += 2;
		return json5_str_utf8(b, (uint32_t)x);
	case 'u':
		if (json5_unicode(j, &u) < 0)
			return -1;
		return json5_str_utf8(b, u);
	default:
		if (c >= '1' && c <= '9') {
			j->p--;
			json5_fail(j, "octal escapes are not allowed");
			return -1;
		}
		/* Any other character stands for itself (all its bytes). */
		j->p--;
		n = 1;
		while (j->p + n < j->end &&
		    ((unsigned char)j->p[n] & 0xC0) == 0x80)
			n++;
		j->p += n;
		return json5_str_add(b, j->p - n, n);
	}
}

static json_t *
json5_string(struct json5 *j, struct json5_str *b)
{
	char q = *j->p++;
	const char *run;
	json_t *v;

	b->len = 0;
	for (;;) {
		run = j->p;
		while (j->p < j->end && *j->p != q && *j->p != '\\' &&
		    *j->p != '\n' && *j->p != '\r')
			j->p++;
		if (json5_str_add(b, run, j->p - run) < 0)
			return NULL;
		if (j->p >= j->end || *j->p == '\n' || *j->p == '\r') {
			json5_fail(j, "unterminated string");
			return NULL;
		}
		if (*j->p == q) {
			j->p++;
			break;
		}
		j->p++;
		if (json5_escape(j, b) < 0)
			return NULL;
	}
	if ((v = json_stringn(b->s != NULL ? b->s : "", b->len)) == NULL)
		json5_fail(j, "invalid UTF-8 in a string");
	return v;
}

static int
json5_ident_char(const struct json5 *j, const char *p, int first)
{
	unsigned char c;

	if (p >= j->end)
		return 0;
	c = (unsigned char)*p;
	/* Non-ASCII letters are accepted as a whole, not classified. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    c == '_' || c == '$' || c >= 0x80 || c == '\\' ||
	    (!first && c >= '0' && c <= '9');
}

/* An unquoted key (ES5 IdentifierName) into b. */
static int
json5_ident(struct json5 *j, struct json5_str *b)
{
	uint32_t u;
	int first = 1;

	b->len = 0;
	while (json5_ident_char(j, j->p, first)) {
		if (*j->p == '\\') {
			j->p++;
			if (j->p >= j->end || *j->p != 'u') {
				json5_fail(j, "expected \\u in an identifier");
				return -1;
			}
			j->p++;
			if (json5_unicode(j, &u) < 0 ||
			    json5_str_utf8(b, u) < 0)
				return -1;
		} else if (json5_str_add(b, j->p++, 1) < 0)
			return -1;
		first = 0;
	}
	if (b->len == 0) {
		json5_fail(j, "expected a key");
		return -1;
	}
	return 0;
}

/* Does the text at p start with the word w, not followed by more of a name? */
static int
json5_word(const struct json5 *j, const char *p, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(j->end - p) >= n && memcmp(p, w, n) == 0 &&
	    !json5_ident_char(j, p + n, 0);
}

/* 0x…: an integer (a real beyond LLONG_MAX); start is where the number
 * begins (its sign, if any), p just after the 0x. */
static json_t *
json5_hex(struct json5 *j, const char *start, const char *p, int neg)
{
	char buf[512];
	int digits = 0;
	unsigned long long u;

	while (p < j->end && hexdigit((unsigned char)*p) >= 0)
		p++, digits++;
	if (digits == 0 || json5_ident_char(j, p, 0)) {
		j->p = p;
		json5_fail(j, "invalid hexadecimal number");
		return NULL;
	}
	if ((size_t)(p - start) >= sizeof buf) {
		json5_fail(j, "number too long");
		return NULL;
	}
	memcpy(buf, start + neg + (*start == '+'), p - start -
	    neg - (*start == '+'));
	buf[p - start - neg - (*start == '+')] = '\0';
	j->p = p;
	errno = 0;
	u = strtoull(buf, NULL, 16);
	if (errno == 0 && u <= (unsigned long long)LLONG_MAX)
		return json_integer(neg ? -(long long)u : (long long)u);
	return json_real(neg ? -strtod(buf, NULL) : strtod(buf, NULL));
}

static json_t *
json5_number(struct json5 *j)
{
	const char *start = j->p, *p = j->p;
	char buf[512];
	int neg = 0, real = 0, digits = 0;
	long long ll;
	double d;
	char *e;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (json5_word(j, p, "Infinity") || json5_word(j, p, "NaN")) {
		j->p = p + (*p == 'I' ? 8 : 3);
		return json_null();	/* what JSON.stringify makes of them */
	}
	if (p + 1 < j->end && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return json5_hex(j, start, p + 2, neg);
	if (p < j->end && *p == '0' && p + 1 < j->end && p[1] >= '0' &&
	    p[1] <= '9') {
		j->p = p + 1;
		json5_fail(j, "a number cannot start with 0");
		return NULL;
	}
	while (p < j->end && *p >= '0' && *p <= '9')
		p++, digits++;
	if (p < j->end && *p == '.') {
		real = 1;
		p++;
		while (p < j->end && *p >= '0' && *p <= '9')
			p++, digits++;
	}
	if (digits == 0) {
		json5_fail(j, "invalid number");
		return NULL;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		real = 1;
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end || *p < '0' || *p > '9') {
			j->p = p;
			json5_fail(j, "invalid exponent");
			return NULL;
		}
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (json5_ident_char(j, p, 0)) {
		j->p = p;
		json5_fail(j, "invalid number");
		return NULL;
	}
	if ((size_t)(p - start) >= sizeof buf) {
		json5_fail(j, "number too long");
		return NULL;
	}
	memcpy(buf, start, p - start);
	buf[p - start] = '\0';
	j->p = p;
	if (!real) {
		errno = 0;
		ll = strtoll(buf, &e, 10);
		if (errno == 0)
			return json_integer(ll);
	}
	d = strtod(buf, NULL);
	/* 1e999: JavaScript's Infinity, which JSON.stringify writes as null. */
	return d - d != 0 ? json_null() : json_real(d);
}

static json_t *json5_value(struct json5 *, struct json5_str *);

/* After an element: ',' (a trailing one allowed) or the closing bracket. */
static int
json5_next(struct json5 *j, char close, const char *what)
{
	if (json5_skip(j) < 0)
		return -1;
	if (j->p < j->end && *j->p == ',') {
		j->p++;
		return json5_skip(j);
	}
	if (j->p < j->end && *j->p == close)
		return 0;
	if (j->p >= j->end)
		json5_fail(j, "unterminated %s", close == '}' ? "object" :
		    "array");
	else
		json5_fail(j, "',' or '%c' expected after %s", close, what);
	return -1;
}

static json_t *
json5_array(struct json5 *j, struct json5_str *b)
{
	json_t *a, *v;

	j->p++;
	if ((a = json_array()) == NULL || json5_skip(j) < 0)
		goto fail;
	while (j->p < j->end && *j->p != ']') {
		if ((v = json5_value(j, b)) == NULL ||
		    json_array_append_new(a, v) < 0 ||
		    json5_next(j, ']', "an array element") < 0)
			goto fail;
	}
	if (j->p >= j->end) {
		json5_fail(j, "unterminated array");
		goto fail;
	}
	j->p++;
	return a;
fail:
	json_decref(a);
	return NULL;
}

static json_t *
json5_object(struct json5 *j, struct json5_str *b)
{
	json_t *o, *v;
	char *key;
	size_t klen;

	j->p++;
	if ((o = json_object()) == NULL || json5_skip(j) < 0)
		goto fail;
	while (j->p < j->end && *j->p != '}') {
		if (*j->p == '"' || *j->p == '\'') {
			if ((v = json5_string(j, b)) == NULL)
				goto fail;
			json_decref(v);
		} else if (json5_ident(j, b) < 0)
			goto fail;
		if (memchr(b->s, '\0', b->len) != NULL) {
			json5_fail(j, "\\u0000 is not allowed in a key");
			goto fail;
		}
		if ((key = strndup(b->s, b->len)) == NULL)
			goto fail;
		klen = b->len;
		if (json5_skip(j) < 0 || j->p >= j->end || *j->p != ':') {
			free(key);
			json5_fail(j, "':' expected after a key");
			goto fail;
		}
		j->p++;
		if (json5_skip(j) < 0 || (v = json5_value(j, b)) == NULL) {
			free(key);
			goto fail;
		}
		/* A repeated key: the last one wins, as in JavaScript. */
		if (json_object_setn_new(o, key, klen, v) < 0) {
			free(key);
			json5_fail(j, "invalid UTF-8 in a key");
			goto fail;
		}
		free(key);
		if (json5_next(j, '}', "an object member") < 0)
			goto fail;
	}
	if (j->p >= j->end) {
		json5_fail(j, "unterminated object");
		goto fail;
	}
	j->p++;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *
json5_value(struct json5 *j, struct json5_str *b)
{
	json_t *v = NULL;
	char c;

	if (j->p >= j->end) {
		json5_fail(j, "unexpected end of input");
		return NULL;
	}
	if (++j->depth > JSON5_MAX_DEPTH) {
		json5_fail(j, "nested more than %d deep", JSON5_MAX_DEPTH);
		return NULL;
	}
	c = *j->p;
	if (c == '{')
		v = json5_object(j, b);
	else if (c == '[')
		v = json5_array(j, b);
	else if (c == '"' || c == '\'')
		v = json5_string(j, b);
	else if (c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9') ||
	    json5_word(j, j->p, "Infinity") || json5_word(j, j->p, "NaN"))
		v = json5_number(j);
	else if (json5_word(j, j->p, "true")) {
		j->p += 4;
		v = json_true();
	} else if (json5_word(j, j->p, "false")) {
		j->p += 5;
		v = json_false();
	} else if (json5_word(j, j->p, "null")) {
		j->p += 4;
		v = json_null();
	} else if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7F)
		json5_fail(j, "unexpected character '%c'", c);
	else
		json5_fail(j, "unexpected character");
	j->depth--;
	return v;
}

json_t *
json5_loadb(const char *buf, size_t len, json_error_t *err)
{
	struct json5 j = { buf, buf, buf + len, buf, 1, 0, err };
	struct json5_str b = { NULL, 0, 0 };
	json_t *v = NULL;

	memset(err, 0, sizeof *err);
	if (json5_skip(&j) == 0 && (v = json5_value(&j, &b)) != NULL) {
		if (json5_skip(&j) < 0 || j.p < j.end) {
			json5_fail(&j, "end of file expected");
			json_decref(v);
			v = NULL;
		}
	}
	free(b.s);
	if (v == NULL && err->text[0] == '\0')
		json5_fail(&j, "out of memory");
	return v;
}

/* The env_file parser: npm dotenv v16's parse(), reproduced rule for rule. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "fsutil.h"

/*
 * dotenv is one JavaScript regular expression run with the "mg" flags over
 * the file decoded as UTF-8 (invalid bytes become U+FFFD), with CR and CRLF
 * first turned into LF:
 *
 *   (?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)
 *   (\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?
 *   \s*(?:#.*)?(?:$|$)
 *
 * Rather than a regex engine, this file walks the same choices in the same
 * order as the backtracking matcher does.  Two facts keep it small: once
 * `=` (or `: `) is found the rest of the expression always matches, so only
 * the closing quote of a quoted value is ever backtracked over; and `\s`,
 * `.`, `^` and `$` are JavaScript's, hence Unicode-aware, so the text is
 * matched as code points, not bytes.
 */

struct cps {
	uint32_t	*c;
	size_t		 n;
	size_t		 cap;
};

static int
envfile_push(struct cps *s, uint32_t c)
{
	uint32_t *nc;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		if ((nc = realloc(s->c, cap * sizeof *nc)) == NULL)
			return -1;
		s->c = nc;
		s->cap = cap;
	}
	s->c[s->n++] = c;
	return 0;
}

/* The WHATWG UTF-8 decoder (what Node's Buffer.toString uses). */
static int
envfile_decode(const unsigned char *p, size_t len, struct cps *out)
{
	uint32_t cp = 0;
	unsigned need = 0, seen = 0, lower = 0x80, upper = 0xbf, b;
	size_t i;

	for (i = 0; i < len; i++) {
		b = p[i];
		if (need == 0) {
			if (b <= 0x7f) {
				if (envfile_push(out, b) < 0)
					return -1;
			} else if (b >= 0xc2 && b <= 0xdf) {
				need = 1;
				cp = b & 0x1f;
			} else if (b >= 0xe0 && b <= 0xef) {
				if (b == 0xe0)
					lower = 0xa0;
				if (b == 0xed)
					upper = 0x9f;
				need = 2;
				cp = b & 0xf;
			} else if (b >= 0xf0 && b <= 0xf4) {
				if (b == 0xf0)
					lower = 0x90;
				if (b == 0xf4)
					upper = 0x8f;
				need = 3;
				cp = b & 0x7;
			} else if (envfile_push(out, 0xfffd) < 0)
				return -1;
			continue;
		}
		if (b < lower || b > upper) {
			cp = need = seen = 0;
			lower = 0x80;
			upper = 0xbf;
			if (envfile_push(out, 0xfffd) < 0)
				return -1;
			i--;	/* the byte starts something new */
			continue;
		}
		lower = 0x80;
		upper = 0xbf;
		cp = (cp << 6) | (b & 0x3f);
		if (++seen == need) {
			if (envfile_push(out, cp) < 0)
				return -1;
			cp = need = seen = 0;
		}
	}
	if (need != 0 && envfile_push(out, 0xfffd) < 0)
		return -1;
	return 0;
}

/* JavaScript's LineTerminator: what `^`, `$` and `.` stop at. */
static int
envfile_is_lt(uint32_t c)
{
	return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029;
}

/* JavaScript's \s and String.prototype.trim set. */
static int
envfile_is_ws(uint32_t c)
{
	switch (c) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f:
	case 0x205f: case 0x3000: case 0xfeff:
		return 1;
	}
	return c >= 0x2000 && c <= 0x200a;
}

/* [\w.-] without the u flag: ASCII only. */
static int
envfile_is_key(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/*
 * The tail `\s*(?:#.*)?(?:$|$)` at p: the greedy \s* gives back one
 * character at a time until a comment or an end of line follows.
 */
static int
envfile_tail(const struct cps *s, size_t p, size_t *end)
{
	size_t k, q;

	for (k = p; k < s->n && envfile_is_ws(s->c[k]); k++)
		;
	for (q = k;; q--) {
		if (q < s->n && s->c[q] == '#') {
			for (k = q; k < s->n && !envfile_is_lt(s->c[k]); k++)
				;
			*end = k;
			return 1;
		}
		if (q == s->n || envfile_is_lt(s->c[q])) {
			*end = q;
			return 1;
		}
		if (q == p)
			return 0;
	}
}

/*
 * The value group and the tail from v (just past "=" or ": ").  Sets the
 * group's bounds (gs == ge when it did not take part) and the match's end.
 */
static int
envfile_value(const struct cps *s, size_t v, size_t *gs, size_t *ge,
    size_t *end)
{
	size_t w, i, *stack = NULL, nstack = 0, cap = 0, *ns, first;
	uint32_t q;
	int found = 0;

	for (w = v; w < s->n && envfile_is_ws(s->c[w]); w++)
		;
	if (w < s->n && (s->c[w] == '\'' || s->c[w] == '"' ||
	    s->c[w] == '`')) {
		/*
		 * (?:\\Q|[^Q])*Q: walking forward, the first bare quote is
		 * tried first; each \Q passed on the way is also a place the
		 * value may end (the backslash taken as [^Q]), tried after,
		 * latest first.
		 */
		q = s->c[w];
		first = SIZE_MAX;
		for (i = w + 1; i < s->n; i++) {
			if (s->c[i] == '\\' && i + 1 < s->n &&
			    s->c[i + 1] == q) {
				if (nstack == cap) {
					cap = cap ? cap * 2 : 16;
					ns = realloc(stack, cap * sizeof *ns);
					if (ns == NULL) {
						free(stack);
						return -1;
					}
					stack = ns;
				}
				stack[nstack++] = i + 1;
				i++;
				continue;
			}
			if (s->c[i] == q) {
				first = i;
				break;
			}
		}
		if (first != SIZE_MAX && envfile_tail(s, first + 1, end)) {
			*ge = first + 1;
			found = 1;
		}
		while (!found && nstack > 0) {
			i = stack[--nstack];
			if (envfile_tail(s, i + 1, end)) {
				*ge = i + 1;
				found = 1;
			}
		}
		free(stack);
		if (found) {
			*gs = v;
			return 0;
		}
	}
	/* [^#\r\n]+, greedy: the tail always matches after it. */
	for (i = v; i < s->n && s->c[i] != '#' && s->c[i] != '\r' &&
	    s->c[i] != '\n'; i++)
		;
	*gs = v;
	*ge = i;
	if (i > v && envfile_tail(s, i, end))
		return 0;
	*ge = v;
	if (envfile_tail(s, v, end))
		return 0;
	return -1;	/* not reached: an end of line always follows */
}

/* One match attempt at a line start; 1 with the key and value bounds. */
static int
envfile_match(const struct cps *s, size_t start, size_t *ks, size_t *ke,
    size_t *gs, size_t *ge, size_t *end)
{
	static const char kw[] = "export";
	size_t p, q, r, v, i;
	int try_export;

	for (p = start; p < s->n && envfile_is_ws(s->c[p]); p++)
		;
	for (try_export = 1; try_export >= 0; try_export--) {
		q = p;
		if (try_export) {
			for (i = 0; i < 6; i++) {
				if (q + i >= s->n ||
				    s->c[q + i] != (uint32_t)kw[i])
					break;
			}
			if (i < 6 || q + 6 >= s->n ||
			    !envfile_is_ws(s->c[q + 6]))
				continue;
			for (q += 6; q < s->n && envfile_is_ws(s->c[q]); q++)
				;
		}
		*ks = q;
		while (q < s->n && envfile_is_key(s->c[q]))
			q++;
		if (q == *ks)
			continue;
		*ke = q;
		for (r = q; r < s->n && envfile_is_ws(s->c[r]); r++)
			;
		if (r < s->n && s->c[r] == '=')
			v = r + 1;
		else if (q + 1 < s->n && s->c[q] == ':' &&
		    envfile_is_ws(s->c[q + 1]))
			v = q + 2;
		else
			continue;
		if (envfile_value(s, v, gs, ge, end) < 0)
			return -1;
		return 1;
	}
	return 0;
}

static int
envfile_utf8(const uint32_t *c, size_t n, char **out)
{
	char *b, *p;
	size_t i;

	if ((b = p = malloc(n * 4 + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		uint32_t x = c[i];

		if (x == 0)
			break;	/* an environment value cannot hold NUL */
		if (x < 0x80)
			*p++ = x;
		else if (x < 0x800) {
			*p++ = 0xc0 | (x >> 6);
			*p++ = 0x80 | (x & 0x3f);
		} else if (x < 0x10000) {
			*p++ = 0xe0 | (x >> 12);
			*p++ = 0x80 | ((x >> 6) & 0x3f);
			*p++ = 0x80 | (x & 0x3f);
		} else {
			*p++ = 0xf0 | (x >> 18);
			*p++ = 0x80 | ((x >> 12) & 0x3f);
			*p++ = 0x80 | ((x >> 6) & 0x3f);
			*p++ = 0x80 | (x & 0x3f);
		}
	}
	*p = '\0';
	*out = b;
	return 0;
}

/*
 * value.replace(/^(['"`])([\s\S]*)\1$/mg, '$2') on c[0..*n), in place:
 * every line start holding a quote, matched to the last same quote that
 * ends a line, loses both quotes.
 */
static void
envfile_unquote(uint32_t *c, size_t *np)
{
	size_t n = *np, p, k, o = 0, from = 0;
	int hit;

	for (p = 0; p < n;) {
		hit = 0;
		if ((p == 0 || envfile_is_lt(c[p - 1])) &&
		    (c[p] == '\'' || c[p] == '"' || c[p] == '`')) {
			for (k = n - 1; k > p; k--) {
				if (c[k] == c[p] &&
				    (k + 1 == n || envfile_is_lt(c[k + 1]))) {
					hit = 1;
					break;
				}
			}
		}
		if (!hit) {
			p++;
			continue;
		}
		memmove(c + o, c + from, (p - from) * sizeof *c);
		o += p - from;
		memmove(c + o, c + p + 1, (k - p - 1) * sizeof *c);
		o += k - p - 1;
		from = p = k + 1;
	}
	memmove(c + o, c + from, (n - from) * sizeof *c);
	o += n - from;
	*np = o;
}

/* value.replace(/\\<from>/g, to), in place. */
static void
envfile_unescape(uint32_t *c, size_t *np, uint32_t from, uint32_t to)
{
	size_t i, o = 0, n = *np;

	for (i = 0; i < n; i++) {
		if (c[i] == '\\' && i + 1 < n && c[i + 1] == from) {
			c[o++] = to;
			i++;
		} else
			c[o++] = c[i];
	}
	*np = o;
}

static int
envfile_assign(const struct cps *s, size_t ks, size_t ke, size_t gs,
    size_t ge, struct env *out)
{
	uint32_t *v, quote;
	size_t n;
	char *key, *value;
	int rc;

	while (gs < ge && envfile_is_ws(s->c[gs]))
		gs++;
	while (ge > gs && envfile_is_ws(s->c[ge - 1]))
		ge--;
	n = ge - gs;
	if ((v = malloc((n + 1) * sizeof *v)) == NULL)
		return -1;
	memcpy(v, s->c + gs, n * sizeof *v);
	quote = n > 0 ? v[0] : 0;
	envfile_unquote(v, &n);
	if (quote == '"') {
		envfile_unescape(v, &n, 'n', '\n');
		envfile_unescape(v, &n, 'r', '\r');
	}
	rc = envfile_utf8(v, n, &value);
	free(v);
	if (rc < 0)
		return -1;
	if (envfile_utf8(s->c + ks, ke - ks, &key) < 0) {
		free(value);
		return -1;
	}
	/* obj["__proto__"] = "string" is ignored by JavaScript. */
	rc = 0;
	if (strcmp(key, "__proto__") != 0)
		rc = env_set(out, key, value, 0);
	free(key);
	explicit_bzero(value, strlen(value));
	free(value);
	return rc;
}

void
envfile_parse(const char *text, size_t len, struct env *out)
{
	struct cps s = { NULL, 0, 0 };
	size_t i, o, pos, ks, ke, gs, ge, end;

	if (envfile_decode((const unsigned char *)text, len, &s) < 0)
		goto out;
	/* lines.replace(/\r\n?/mg, '\n') */
	for (i = o = 0; i < s.n; i++) {
		if (s.c[i] == '\r') {
			s.c[o++] = '\n';
			if (i + 1 < s.n && s.c[i + 1] == '\n')
				i++;
		} else
			s.c[o++] = s.c[i];
	}
	s.n = o;

	/* LINE.exec() in a loop: each search starts where the last match ended. */
	pos = 0;
	while (pos < s.n) {
		if (pos != 0 && !envfile_is_lt(s.c[pos - 1])) {
			pos++;
			continue;
		}
		switch (envfile_match(&s, pos, &ks, &ke, &gs, &ge, &end)) {
		case 1:
			if (envfile_assign(&s, ks, ke, gs, ge, out) < 0)
				goto out;
			pos = end;
			break;
		case 0:
			pos++;
			break;
		default:
			goto out;
		}
	}
out:
	if (s.c != NULL)
		explicit_bzero(s.c, s.n * sizeof *s.c);
	free(s.c);
}

int
envfile_load(const char *path, struct env *out, char **err)
{
	char *buf, why[128];
	size_t len;

	*err = NULL;
	if (fsutil_read_file(path, ENVFILE_MAX_SIZE, &buf, &len, NULL, why,
	    sizeof why) < 0) {
		if (asprintf(err, "%s: %s", path, why) < 0)
			*err = NULL;
		return -1;
	}
	envfile_parse(buf, len, out);
	explicit_bzero(buf, len);
	free(buf);
	return 0;
}

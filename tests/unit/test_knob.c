/*
 * Unit tests of common/knob.c: the one reader of numeric environment knobs
 * (ranges, where 0 is allowed, junk, overflow) and that README.md and the
 * docs list every knob of the table with the table's default.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "knob.h"

static char top[4096];	/* the source tree: the docs are checked */

/* A text for a knob and what it reads as; bad: an error naming it. */
struct knob_case {
	enum knob_id	 id;
	const char	*text;
	int		 bad;
	uint64_t	 value;
};

static const struct knob_case knob_cases[] = {
	{ KNOB_WS_PORT, NULL, 0, 3002 },
	{ KNOB_WS_PORT, "", 0, 3002 },
	{ KNOB_WS_PORT, "1", 0, 1 },
	{ KNOB_WS_PORT, "65535", 0, 65535 },
	{ KNOB_WS_PORT, "0", 1, 0 },
	{ KNOB_WS_PORT, "65536", 1, 0 },
	{ KNOB_WS_PORT, "80x", 1, 0 },
	{ KNOB_WS_PORT, "-1", 1, 0 },
	{ KNOB_WS_PORT, "+80", 1, 0 },
	{ KNOB_WS_PORT, " 80", 1, 0 },
	{ KNOB_WS_PORT, "80 ", 1, 0 },
	{ KNOB_WS_PORT, "0x50", 1, 0 },
	{ KNOB_WS_PORT, "8e1", 1, 0 },
	/* 0 allowed, with a meaning */
	{ KNOB_WS_PING_INTERVAL_MS, "0", 0, 0 },
	{ KNOB_WS_HANDSHAKE_PER_IP, "0", 0, 0 },
	{ KNOB_WS_HISTORY_TTL, "0", 0, 0 },
	{ KNOB_WSD_SCALE_SETTLE_MS, "0", 0, 0 },
	{ KNOB_WSD_BACKOFF_MAX_MS, "0", 0, 0 },
	/* 0 refused */
	{ KNOB_WSD_CTL_IDLE_MS, "0", 1, 0 },
	{ KNOB_WSD_STATS_INTERVAL_MS, "0", 1, 0 },
	{ KNOB_WS_REDIS_PING_MS, "0", 1, 0 },
	{ KNOB_WSCTL_TIMEOUT_MS, "0", 1, 0 },
	/* lower bounds above 1 */
	{ KNOB_WS_HANDSHAKE_TIMEOUT_MS, "99", 1, 0 },
	{ KNOB_WS_HANDSHAKE_TIMEOUT_MS, "100", 0, 100 },
	{ KNOB_WS_MAX_PUBLISH, "1023", 1, 0 },
	/* upper bounds */
	{ KNOB_WSCTL_TIMEOUT_MS, "3599999", 0, 3599999 },
	{ KNOB_WSCTL_TIMEOUT_MS, "3600000", 1, 0 },
	{ KNOB_WS_HISTORY_TTL, "31536000", 0, 31536000 },
	{ KNOB_WS_HISTORY_TTL, "31536001", 1, 0 },
	/* overflow: past 2^64 is an error, not a wrap or a clamp */
	{ KNOB_WSD_CTL_IDLE_MS, "18446744073709551615", 0, UINT64_MAX },
	{ KNOB_WSD_CTL_IDLE_MS, "18446744073709551616", 1, 0 },
	{ KNOB_WS_REDIS_PING_MS, "99999999999999999999999", 1, 0 },
};

static void
test_parse(void **state)
{
	const struct knob_case *c;
	const struct knob *k;
	uint64_t v;
	char *err;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof knob_cases / sizeof knob_cases[0]; i++) {
		c = &knob_cases[i];
		k = knob_at(c->id);
		err = NULL;
		r = knob_parse(c->id, c->text, &v, &err);
		if (c->bad) {
			if (r != -1 || err == NULL)
				fail_msg("%s=%s: accepted", k->name, c->text);
			/* The message names the variable, range and text. */
			assert_non_null(strstr(err, k->name));
			assert_non_null(strstr(err, c->text));
			assert_non_null(strstr(err, " to "));
			/* A bad value leaves the default for wsd's rule. */
			assert_true(v == k->dflt);
			free(err);
		} else {
			if (r != 0)
				fail_msg("%s=%s: %s", k->name, c->text, err);
			if (v != c->value)
				fail_msg("%s=%s: read %llu", k->name,
				    c->text ? c->text : "(unset)",
				    (unsigned long long)v);
		}
	}
}

/* The table itself: names unique, defaults in range, 0 documented. */
static void
test_table(void **state)
{
	const struct knob *k, *o;
	size_t i, j;

	(void)state;
	for (i = 0; (k = knob_at(i)) != NULL; i++) {
		assert_true(i < KNOB_COUNT);
		assert_non_null(k->name);
		assert_non_null(k->doc);
		assert_non_null(k->unit);
		assert_true(k->progs != 0);
		assert_true(k->min <= k->max);
		if (k->dflt < k->min || k->dflt > k->max)
			fail_msg("%s: default outside its range", k->name);
		if ((k->min == 0) != (k->zero != NULL))
			fail_msg("%s: 0 allowed iff its meaning is given",
			    k->name);
		assert_ptr_equal(knob_find(k->name), k);
		for (j = 0; j < i; j++) {
			o = knob_at(j);
			assert_string_not_equal(o->name, k->name);
		}
	}
	assert_int_equal(i, KNOB_COUNT);
	assert_null(knob_find("WS_NO_SUCH_KNOB"));
}

/* knob_get: unset, set, bad, from the environment. */
static void
test_get(void **state)
{
	uint64_t v;
	char *err = NULL;

	(void)state;
	unsetenv("WS_DB_POOL");
	assert_int_equal(knob_get(KNOB_WS_DB_POOL, &v, &err), 0);
	assert_int_equal(v, 2);
	setenv("WS_DB_POOL", "", 1);
	assert_int_equal(knob_get(KNOB_WS_DB_POOL, &v, &err), 0);
	setenv("WS_DB_POOL", "64", 1);
	assert_int_equal(knob_get(KNOB_WS_DB_POOL, &v, &err), 1);
	assert_int_equal(v, 64);
	setenv("WS_DB_POOL", "65", 1);
	assert_int_equal(knob_get(KNOB_WS_DB_POOL, &v, &err), -1);
	assert_int_equal(v, 2);
	assert_string_equal(err,
	    "WS_DB_POOL: expected a number from 1 to 64, got \"65\"");
	free(err);
	setenv("WSD_CTL_IDLE_MS", "-5", 1);
	assert_int_equal(knob_or_default(KNOB_WSD_CTL_IDLE_MS), 60000);
	/* again: the default, warned once (ASan: nothing leaks) */
	assert_int_equal(knob_or_default(KNOB_WSD_CTL_IDLE_MS), 60000);
	setenv("WSD_CTL_IDLE_MS", "250", 1);
	assert_int_equal(knob_or_default(KNOB_WSD_CTL_IDLE_MS), 250);
	unsetenv("WSD_CTL_IDLE_MS");
	unsetenv("WS_DB_POOL");
}

static char *
slurp(const char *rel)
{
	char path[4200], why[128], *buf;
	size_t len;

	snprintf(path, sizeof path, "%s/%s", top, rel);
	if (fsutil_read_file(path, 1 << 20, &buf, &len, NULL, why,
	    sizeof why) != 0)
		fail_msg("%s: %s (WSD_TOP=%s)", path, why, top);
	return buf;
}

/*
 * Rows "| `NAME` | DEFAULT |" of one doc: each must give the table's
 * default; rows[] counts them per knob.
 */
static void
check_doc_rows(const char *rel, int *rows)
{
	const struct knob *k;
	const char *p, *name, *cell, *end, *dflt;
	char *doc, buf[32], want[128];
	size_t i;

	doc = slurp(rel);
	for (p = doc; (p = strstr(p, "\n| `")) != NULL; p++) {
		name = p + 4;
		for (i = 0; (k = knob_at(i)) != NULL; i++) {
			snprintf(want, sizeof want, "%s` | ", k->name);
			if (strncmp(name, want, strlen(want)) == 0)
				break;
		}
		if (k == NULL)
			continue;
		cell = name + strlen(want);
		if ((end = strstr(cell, " |")) == NULL)
			fail_msg("%s: `%s`: a row without its cells", rel,
			    k->name);
		snprintf(buf, sizeof buf, "%" PRIu64, k->dflt);
		dflt = buf;
		if ((size_t)(end - cell) != strlen(dflt) ||
		    strncmp(cell, dflt, strlen(dflt)) != 0)
			fail_msg("%s: `%s` default \"%.*s\", the table says %s",
			    rel, k->name, (int)(end - cell), cell, dflt);
		rows[i]++;
	}
	free(doc);
}

/* Every knob of the table in README.md's knob table, and every row of the
 * README and the docs that names a knob gives its default. */
static void
test_docs(void **state)
{
	int readme[KNOB_COUNT] = { 0 }, other[KNOB_COUNT] = { 0 };
	char *doc, *sect, *end, *p, *q;
	size_t i;

	(void)state;
	check_doc_rows("README.md", readme);
	check_doc_rows("docs/supervisor.md", other);
	check_doc_rows("docs/worker.md", other);
	for (i = 0; i < KNOB_COUNT; i++)
		if (readme[i] == 0)
			fail_msg("`%s` is not in README.md's knob table",
			    knob_at(i)->name);
	/* …and that table lists nothing the code does not read. */
	doc = slurp("README.md");
	assert_non_null(sect = strstr(doc, "\n### Every numeric knob\n"));
	if ((end = strstr(sect + 1, "\n#")) != NULL)
		*end = '\0';
	for (p = sect; (p = strstr(p, "\n| `")) != NULL; p = q) {
		p += 4;
		assert_non_null(q = strchr(p, '`'));
		*q++ = '\0';
		if (knob_find(p) == NULL)
			fail_msg("README.md lists `%s`, the table has no such "
			    "knob", p);
	}
	free(doc);
}

int
main(void)
{
	const char *t = getenv("WSD_TOP");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_docs),
	};

	/* Run from the source tree, or told where it is (tests/run.sh). */
	if (t != NULL)
		snprintf(top, sizeof top, "%s", t);
	else if (getcwd(top, sizeof top) == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

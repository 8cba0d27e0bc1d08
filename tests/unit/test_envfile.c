/* Unit tests of common/envfile.c: dotenv v16 parse() rules, case by case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "env.h"

/* Parse `text` and compare with the NULL-terminated key, value pairs. */
static void
check(const char *text, size_t len, const char *const *want)
{
	struct env e;
	size_t n = 0, i;

	env_init(&e);
	envfile_parse(text, len, &e);
	for (i = 0; want[i] != NULL; i += 2) {
		const char *got = env_get(&e, want[i]);

		if (got == NULL || strcmp(got, want[i + 1]) != 0)
			fail_msg("%s: want \"%s\", got %s%s%s", want[i],
			    want[i + 1], got ? "\"" : "", got ? got : "(unset)",
			    got ? "\"" : "");
		n++;
	}
	if (e.n != n) {
		for (i = 0; i < e.n; i++)
			print_message("got %s=%s\n", e.v[i].key, e.v[i].value);
		fail_msg("want %zu keys, got %zu", n, e.n);
	}
	env_free(&e);
}

#define CHECK(text, ...) do {						\
	static const char *const w_[] = { __VA_ARGS__, NULL };		\
	check(text, sizeof(text) - 1, w_);				\
} while (0)
#define CHECK_NONE(text) do {						\
	static const char *const w_[] = { NULL };			\
	check(text, sizeof(text) - 1, w_);				\
} while (0)

static void
test_basic(void **state)
{
	(void)state;
	CHECK("A=1\nB=two words\n", "A", "1", "B", "two words");
	CHECK("A=1", "A", "1");
	CHECK("  A  =  spaced  \n", "A", "spaced");
	CHECK("A=a=b=c", "A", "a=b=c");
	CHECK("dotted.key=1\ndashed-key=2\n_u=3\n9=nine",
	    "dotted.key", "1", "dashed-key", "2", "_u", "3", "9", "nine");
	CHECK("COLON: value\nNOPE:value\n", "COLON", "value");
	CHECK_NONE("");
	CHECK_NONE("# only a comment\n\n   \nnot an assignment\n=value\n");
}

static void
test_quotes(void **state)
{
	(void)state;
	CHECK("S='single $x \\n'", "S", "single $x \\n");
	CHECK("D=\"double\\nline\\r!\"", "D", "double\nline\r!");
	CHECK("B=`back\\n`", "B", "back\\n");
	CHECK("Q=\"it's\"\nR='say \"hi\"'\nT=`a 'b' \"c\"`",
	    "Q", "it's", "R", "say \"hi\"", "T", "a 'b' \"c\"");
	CHECK("E=\"\"\nF=''\nG=``", "E", "", "F", "", "G", "");
	CHECK("S='  kept  '", "S", "  kept  ");
	/* An escaped quote does not end the value; it stays escaped. */
	CHECK("D=\"a \\\"b\\\" c\"", "D", "a \\\"b\\\" c");
	/* Not closed on its line: the quote char stays, \n still expands. */
	CHECK("D=\"abc\\ndef\nN=1", "D", "\"abc\ndef", "N", "1");
	CHECK("S='open\nN=1", "S", "'open", "N", "1");
	/* Text after the closing quote: taken whole; outer quotes cut only
	 * when the value also ends with one. */
	CHECK("A='a' 'b'", "A", "a' 'b");
	CHECK("B=\"x\" y", "B", "\"x\" y");
	/*
	 * With no bare closing quote, an escaped one may close the value
	 * (its backslash then being text), the latest that ends a line first.
	 */
	CHECK("E='a\\'\nF=ok", "E", "a\\", "F", "ok");
	CHECK("A=\"a\\\" # c\nB=\"b\"", "A", "a\\", "B", "b");
	CHECK("A=\"a\\\"\nB=\"b\\\"\" # c\n", "A", "a\\", "B", "b\\\"");
	CHECK("A=\"one\ntwo\\\"\nB=1", "A", "one\ntwo\\", "B", "1");
	CHECK("A=\"one\\\"\ntwo\\\"\nB=1", "A", "one\\\"\ntwo\\", "B", "1");
	/* A quoted value may start on the next line. */
	CHECK("K=\n\"next\"", "K", "next");
}

static void
test_comments(void **state)
{
	(void)state;
	CHECK("A=value # comment", "A", "value");
	CHECK("A=value#nospace", "A", "value");
	CHECK("A=\"va # lue\" # c", "A", "va # lue");
	CHECK("A='#x'", "A", "#x");
	CHECK("A=#", "A", "");
	CHECK("#A=1\n  # B=2\nC=3", "C", "3");
}

static void
test_export_and_empty(void **state)
{
	(void)state;
	CHECK("export A=1\nexport\tB=2\nexport   C=3",
	    "A", "1", "B", "2", "C", "3");
	CHECK("export=1\nexport.x=2", "export", "1", "export.x", "2");
	CHECK("A=\nB=   \nC=", "A", "", "B", "", "C", "");
	CHECK("A=\nB=2", "A", "", "B", "2");
}

static void
test_multiline_crlf(void **state)
{
	(void)state;
	CHECK("M=\"one\ntwo\nthree\"\nN=after",
	    "M", "one\ntwo\nthree", "N", "after");
	CHECK("M='a\nb'", "M", "a\nb");
	CHECK("M=`a\n\"b'\nc`", "M", "a\n\"b'\nc");
	CHECK("A=1\r\nB=\"x\r\ny\"\r\nC=3\rD=4\r\n",
	    "A", "1", "B", "x\ny", "C", "3", "D", "4");
	CHECK("A=trailing  \t\r\n", "A", "trailing");
}

static void
test_duplicates(void **state)
{
	struct env e;

	(void)state;
	CHECK("A=1\nB=2\nA=3", "A", "3", "B", "2");
	/* A later file overrides, at the first position (as a JS object). */
	env_init(&e);
	env_set(&e, "A", "base", 0);
	envfile_parse("B=1\nA=2\n", 8, &e);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.v[0].key, "A");
	assert_string_equal(e.v[0].value, "2");
	env_free(&e);
}

static void
test_unicode(void **state)
{
	(void)state;
	CHECK("U=h\xc3\xa9llo \xe2\x82\xac", "U", "h\xc3\xa9llo \xe2\x82\xac");
	/* A BOM and a no-break space are JavaScript whitespace. */
	CHECK("\xef\xbb\xbf" "A=\xc2\xa0x\xc2\xa0", "A", "x");
	/* Invalid UTF-8 reads as U+FFFD, as Buffer.toString does. */
	CHECK("A=\xff", "A", "\xef\xbf\xbd");
	CHECK("A=\xe2\x82", "A", "\xef\xbf\xbd");
	/* k\xc3\xa9y is not [\w.-]+ from its start; __proto__ is dropped. */
	CHECK_NONE("k\xc3\xa9y=1\n__proto__=2\n");
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/test_envfile.XXXXXX", path[256], *err;
	struct env e;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/.env", dir);
	env_init(&e);
	assert_int_equal(envfile_load(path, &e, &err), -1);
	assert_non_null(err);
	{
		char want[300];

		snprintf(want, sizeof want, "%s: No such file or directory",
		    path);
		assert_string_equal(err, want);
	}
	free(err);
	assert_non_null(f = fopen(path, "w"));
	fputs("A=1\nB='2'\n", f);
	fclose(f);
	assert_int_equal(envfile_load(path, &e, &err), 0);
	assert_string_equal(env_get(&e, "A"), "1");
	assert_string_equal(env_get(&e, "B"), "2");
	/* A directory is not an env file. */
	assert_int_equal(envfile_load(dir, &e, &err), -1);
	assert_non_null(strstr(err, "Is a directory"));
	free(err);
	env_free(&e);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_export_and_empty),
		cmocka_unit_test(test_multiline_crlf),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_unicode),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

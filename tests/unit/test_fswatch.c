/* Unit tests of supervisor/fswatch.c's ignore rule (ignore_watch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "wsd.h"

/* PM2's default when ignore_watch is not given: dot files, node_modules. */
static void
test_default(void **state)
{
	(void)state;
	assert_false(fswatch_ignored(NULL, 0, 1, "lib/x.js"));
	assert_false(fswatch_ignored(NULL, 0, 1, "app.js"));
	assert_true(fswatch_ignored(NULL, 0, 1, ".git/HEAD"));
	assert_true(fswatch_ignored(NULL, 0, 1, "lib/.x.swp"));
	assert_true(fswatch_ignored(NULL, 0, 1, "node_modules/a/b.js"));
	assert_true(fswatch_ignored(NULL, 0, 1, "pkg/node_modules"));
	/* A list given replaces the default. */
	assert_false(fswatch_ignored(NULL, 0, 0, ".git/HEAD"));
}

static void
test_patterns(void **state)
{
	char *p[] = { "node_modules", "client/img", "\\.git", "*.log",
	    "./tmp/", NULL };

	(void)state;
	/* A name: any component. */
	assert_true(fswatch_ignored(p, 5, 0, "node_modules/x.js"));
	assert_true(fswatch_ignored(p, 5, 0, "a/node_modules/x.js"));
	assert_true(fswatch_ignored(p, 5, 0, ".git/config"));
	/* A path: it and what is below it, from cwd. */
	assert_true(fswatch_ignored(p, 5, 0, "client/img"));
	assert_true(fswatch_ignored(p, 5, 0, "client/img/a.png"));
	assert_false(fswatch_ignored(p, 5, 0, "client/imgs/a.png"));
	assert_false(fswatch_ignored(p, 5, 0, "client/a.js"));
	assert_true(fswatch_ignored(p, 5, 0, "tmp/a"));
	/* A glob: whole path or a component. */
	assert_true(fswatch_ignored(p, 5, 0, "out.log"));
	assert_true(fswatch_ignored(p, 5, 0, "logs/err.log"));
	assert_false(fswatch_ignored(p, 5, 0, "logs/err.log.js"));
	assert_false(fswatch_ignored(p, 5, 0, "src/app.js"));
	/* Odd input never matches by accident. */
	assert_false(fswatch_ignored(p, 5, 0, ""));
	assert_false(fswatch_ignored(p, 5, 0, "//"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_patterns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

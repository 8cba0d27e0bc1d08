/* Unit tests of common/ctlcmd.c: the one table of control commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ctlcmd.h"

static void
test_find(void **state)
{
	const struct ctlcmd *c;

	(void)state;
	assert_non_null(c = ctlcmd_find("list"));
	assert_string_equal(c->name, "list");
	assert_int_equal(c->access, CTLCMD_READ);
	assert_true(c->quick);
	assert_non_null(c = ctlcmd_find("stop"));
	assert_int_equal(c->access, CTLCMD_ADMIN);
	assert_false(c->quick);
	/* Names are exact: no prefix, no case folding. */
	assert_null(ctlcmd_find("lis"));
	assert_null(ctlcmd_find("LIST"));
	assert_null(ctlcmd_find("status"));	/* wsctl's name for list */
	assert_null(ctlcmd_find(""));
	assert_null(ctlcmd_find(NULL));
}

/* What docs/control-protocol.md promises, command by command. */
static void
test_protocol_table(void **state)
{
	static const char *read[] = {
		"ping", "list", "metrics", "events", "describe", "env", "logs",
	};
	static const char *admin[] = {
		"start", "stop", "restart", "reload", "delete", "scale",
		"flush", "reloadLogs", "save", "resurrect", "kill",
		"sendSignal", "reset", "cleardump", "appNames", "update",
	};
	const struct ctlcmd *c;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof read / sizeof read[0]; i++) {
		assert_non_null(c = ctlcmd_find(read[i]));
		assert_int_equal(c->access, CTLCMD_READ);
	}
	for (i = 0; i < sizeof admin / sizeof admin[0]; i++) {
		assert_non_null(c = ctlcmd_find(admin[i]));
		assert_int_equal(c->access, CTLCMD_ADMIN);
	}
	for (n = 0; ctlcmd_at(n) != NULL; n++)
		;
	assert_int_equal(n, sizeof read / sizeof read[0] +
	    sizeof admin / sizeof admin[0]);
}

static void
test_rows(void **state)
{
	const struct ctlcmd *c;
	size_t i;

	(void)state;
	for (i = 0; (c = ctlcmd_at(i)) != NULL; i++) {
		/* Each name once: find returns this very row. */
		assert_ptr_equal(ctlcmd_find(c->name), c);
		/*
		 * A quick command is cut off after wsctl's read timeout: only
		 * one that changes nothing may be.
		 */
		if (c->quick)
			assert_int_equal(c->access, CTLCMD_READ);
	}
	assert_null(ctlcmd_at((size_t)-1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_protocol_table),
		cmocka_unit_test(test_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The position suffix of published events and the offset order (history.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "history.h"

#define S(x)	x, sizeof(x) - 1

static void
check(const char *msg, const char *plain, const char *positioned)
{
	struct history_pos	pos;
	char			out[512];
	size_t			n;

	assert_int_equal(history_parse(msg, strlen(msg), &pos), 1);
	n = history_plain(msg, &pos, out);
	assert_int_equal(n, strlen(plain));
	assert_memory_equal(out, plain, n);
	assert_true(history_positioned_len(&pos) >= strlen(positioned));
	n = history_positioned(msg, &pos, out);
	assert_int_equal(n, strlen(positioned));
	assert_memory_equal(out, positioned, n);
}

static void
test_parse(void **state)
{
	struct history_pos	pos;
	const char		*m = "{\"type\":\"a\",\"_wsd\":[\"1-0\",\"2-5\",\"ab\"]}";

	(void)state;
	assert_int_equal(history_parse(m, strlen(m), &pos), 1);
	assert_int_equal(pos.prevlen, 3);
	assert_memory_equal(pos.prev, "1-0", 3);
	assert_int_equal(pos.offsetlen, 3);
	assert_memory_equal(pos.offset, "2-5", 3);
	assert_int_equal(pos.epochlen, 2);
	assert_memory_equal(pos.epoch, "ab", 2);
	assert_null(pos.idem);
	check(m, "{\"type\":\"a\"}",
	    "{\"type\":\"a\",\"offset\":\"2-5\",\"epoch\":\"ab\"}");
	/* a publish with an idempotency key carries it to positions */
	m = "{\"type\":\"a\",\"_wsd\":[\"1-0\",\"2-5\",\"ab\",\"k-1.x\"]}";
	assert_int_equal(history_parse(m, strlen(m), &pos), 1);
	assert_memory_equal(pos.prev, "1-0", 3);
	assert_memory_equal(pos.offset, "2-5", 3);
	assert_int_equal(pos.epochlen, 2);
	assert_memory_equal(pos.epoch, "ab", 2);
	assert_int_equal(pos.idemlen, 5);
	assert_memory_equal(pos.idem, "k-1.x", 5);
	check(m, "{\"type\":\"a\"}",
	    "{\"type\":\"a\",\"offset\":\"2-5\",\"epoch\":\"ab\","
	    "\"idempotencyKey\":\"k-1.x\"}");
	check("{\"_wsd\":[\"0-0\",\"7-0\",\"e\",\"i\"]}", "{}",
	    "{\"offset\":\"7-0\",\"epoch\":\"e\",\"idempotencyKey\":\"i\"}");
	/* an empty event object keeps no comma */
	check("{\"_wsd\":[\"0-0\",\"7-0\",\"e\"]}", "{}",
	    "{\"offset\":\"7-0\",\"epoch\":\"e\"}");
	check("{ \"_wsd\":[\"0-0\",\"7-0\",\"e\"]}", "{ }",
	    "{ \"offset\":\"7-0\",\"epoch\":\"e\"}");
	/* a nested brace inside the event is the event's */
	check("{\"d\":{\"x\":\"}\"},\"_wsd\":[\"0-0\",\"1-1\",\"e\"]}",
	    "{\"d\":{\"x\":\"}\"}}",
	    "{\"d\":{\"x\":\"}\"},\"offset\":\"1-1\",\"epoch\":\"e\"}");
}

/* An idempotency key one longer than wsd takes. */
#define LONG64	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LONG129	LONG64 LONG64 "x"

static void
test_plain_messages(void **state)
{
	struct history_pos	pos;
	static const char	*plain[] = {
		"{\"type\":\"a\"}", "{}", "", "[1,2]", "\"x\"",
		"{\"_wsd\":[\"a\",\"b\"]}",		/* two fields */
		"{\"x\":1\"_wsd\":[\"a\",\"b\",\"c\"]}",	/* no comma */
		"{\"_wsd\":[\"a\",\"b\\\"\",\"c\"]}",	/* an escape */
		"{\"_wsd\":[\"\",\"b\",\"c\"]}",		/* empty id */
		"\"_wsd\":[\"a\",\"b\",\"c\"]}",		/* nothing before */
		"{\"_wsx\":[\"a\",\"b\",\"c\"]}",
		"{\"_wsd\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",	/* five */
		"{\"x\":1,\"_wsd\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
		"{\"x\":1,\"_wsd\":[\"b\",\"c\",\"d\",\"" LONG129 "\"]}",
	};
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		assert_int_equal(history_parse(plain[i], strlen(plain[i]),
		    &pos), 0);
}

static void
test_with_pos(void **state)
{
	char	out[128];
	size_t	n;

	(void)state;
	n = history_with_pos(S("{\"a\":1}"), S("5-1"), S("ep"), NULL, 0, out);
	assert_int_equal(n, strlen("{\"a\":1,\"offset\":\"5-1\",\"epoch\":\"ep\"}"));
	assert_memory_equal(out, "{\"a\":1,\"offset\":\"5-1\",\"epoch\":\"ep\"}", n);
	assert_true(history_with_pos_len(7, 3, 2, 0) >= n);
	n = history_with_pos(S("{\"a\":1}"), S("5-1"), S("ep"), S("u1"), out);
	assert_true(history_with_pos_len(7, 3, 2, 2) >= n);
	assert_memory_equal(out, "{\"a\":1,\"offset\":\"5-1\",\"epoch\":\"ep\","
	    "\"idempotencyKey\":\"u1\"}", n);
	n = history_with_pos(S("{}"), S("5-1"), S("ep"), NULL, 0, out);
	assert_memory_equal(out, "{\"offset\":\"5-1\",\"epoch\":\"ep\"}", n);
}

static void
test_cmp(void **state)
{
	int	c;

	(void)state;
	assert_int_equal(history_cmp(S("1-0"), S("1-0"), &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(history_cmp(S("1-9"), S("1-10"), &c), 0);
	assert_true(c < 0);
	assert_int_equal(history_cmp(S("10-0"), S("9-99"), &c), 0);
	assert_true(c > 0);
	assert_int_equal(history_cmp(S("0-0"), S("1733-0"), &c), 0);
	assert_true(c < 0);
	assert_int_equal(history_cmp(S("x"), S("1-0"), &c), -1);
	assert_int_equal(history_cmp(S("1"), S("1-0"), &c), -1);
	assert_int_equal(history_cmp(S("1-"), S("1-0"), &c), -1);
	assert_int_equal(history_cmp(S("-1"), S("1-0"), &c), -1);
	assert_int_equal(history_cmp(S("1-0-0"), S("1-0"), &c), -1);
	assert_int_equal(history_cmp(S("99999999999999999999-0"), S("1-0"),
	    &c), -1);
}

static void
test_epoch(void **state)
{
	char	a[HISTORY_EPOCH_LEN + 1], b[HISTORY_EPOCH_LEN + 1];

	(void)state;
	assert_int_equal(history_new_epoch(a), 0);
	assert_int_equal(history_new_epoch(b), 0);
	assert_int_equal(strlen(a), HISTORY_EPOCH_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(history_script_sha()), 40);
	assert_string_not_equal(history_script_sha(),
	    history_fetch_script_sha());
}

static void
test_idem(void **state)
{
	char	big[HISTORY_IDEM_MAX + 2];

	(void)state;
	assert_true(history_idem_valid("a"));
	assert_true(history_idem_valid("550e8400-e29b-41d4-a716-446655440000"));
	assert_true(history_idem_valid("evt_1.A-z"));
	assert_false(history_idem_valid(""));
	assert_false(history_idem_valid("a:b"));	/* ws:d:K:ID stays one pair */
	assert_false(history_idem_valid("a b"));
	assert_false(history_idem_valid("\"x\""));
	memset(big, 'x', sizeof big - 1);
	big[HISTORY_IDEM_MAX] = '\0';
	assert_true(history_idem_valid(big));
	big[HISTORY_IDEM_MAX] = 'x';
	big[HISTORY_IDEM_MAX + 1] = '\0';
	assert_false(history_idem_valid(big));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_plain_messages),
		cmocka_unit_test(test_with_pos),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_idem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

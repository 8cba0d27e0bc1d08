/* Unit tests of common/ipcmsg.c: the wsd ⇄ instance messages, both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipcmsg.h"
#include "proto.h"

/* The line a message goes out as (what the other side reads). */
static char *
line_of(json_t *msg)
{
	char *line;

	assert_non_null(msg);
	line = proto_line(msg);
	json_decref(msg);
	assert_non_null(line);
	return line;
}

static json_t *
parse(const char *line, struct ipcmsg *m)
{
	return ipcmsg_parse(line, strlen(line), m);
}

/* The wire is docs/control-protocol.md's: byte for byte. */
static void
test_builders(void **state)
{
	char *l;

	(void)state;
	assert_string_equal(l = line_of(ipcmsg_ready(0)), "{\"ready\":true}\n");
	free(l);
	assert_string_equal(l = line_of(ipcmsg_ready(3000)),
	    "{\"ready\":true,\"drain_ms\":3000}\n");
	free(l);
	assert_string_equal(l = line_of(ipcmsg_drain()), "{\"cmd\":\"drain\"}\n");
	free(l);
	l = line_of(ipcmsg_stats(json_pack("{s:i,s:s}", "connections", 3,
	    "redis", "up")));
	assert_string_equal(l,
	    "{\"stats\":{\"connections\":3,\"redis\":\"up\"}}\n");
	free(l);
}

/* What one side builds, the other reads back. */
static void
test_round_trip(void **state)
{
	struct ipcmsg m;
	json_t *v;
	char *l;

	(void)state;
	l = line_of(ipcmsg_ready(0));
	assert_non_null(v = parse(l, &m));
	assert_true(m.ready);
	assert_int_equal(m.drain_ms, 0);
	assert_null(m.stats);
	assert_int_equal(m.cmd, IPCMSG_CMD_NONE);
	assert_null(m.cmd_name);
	json_decref(v);
	free(l);

	l = line_of(ipcmsg_ready(4500));
	assert_non_null(v = parse(l, &m));
	assert_true(m.ready);
	assert_int_equal(m.drain_ms, 4500);
	json_decref(v);
	free(l);

	l = line_of(ipcmsg_drain());
	assert_non_null(v = parse(l, &m));
	assert_false(m.ready);
	assert_int_equal(m.cmd, IPCMSG_CMD_DRAIN);
	assert_string_equal(m.cmd_name, "drain");
	json_decref(v);
	free(l);

	l = line_of(ipcmsg_stats(json_pack("{s:i}", "connections", 7)));
	assert_non_null(v = parse(l, &m));
	assert_false(m.ready);
	assert_non_null(m.stats);
	assert_int_equal(json_integer_value(json_object_get(m.stats,
	    "connections")), 7);
	json_decref(v);
	free(l);
}

static void
test_parse_odd(void **state)
{
	struct ipcmsg m;
	json_t *v;

	(void)state;
	/* Not a JSON object: NULL, nothing said. */
	assert_null(parse("garbage", &m));
	assert_false(m.ready);
	assert_null(parse("[1,2]", &m));
	assert_null(parse("\"online\"", &m));
	assert_null(parse("42", &m));
	assert_null(parse("", &m));
	/* A Node app's process.send('ready') (PM2's word) is ready. */
	assert_non_null(v = parse("\"ready\"", &m));
	assert_true(m.ready);
	assert_null(m.stats);
	json_decref(v);
	/* Only true is ready; only an object is stats. */
	assert_non_null(v = parse("{\"ready\":1,\"stats\":[1]}", &m));
	assert_false(m.ready);
	assert_null(m.stats);
	assert_int_equal(m.cmd, IPCMSG_CMD_NONE);
	json_decref(v);
	/* drain_ms is a non-negative integer or nothing. */
	assert_non_null(v = parse("{\"ready\":true,\"drain_ms\":-5}", &m));
	assert_true(m.ready);
	assert_int_equal(m.drain_ms, 0);
	json_decref(v);
	assert_non_null(v = parse("{\"ready\":true,\"drain_ms\":\"9\"}", &m));
	assert_int_equal(m.drain_ms, 0);
	json_decref(v);
	assert_non_null(v = parse("{\"ready\":true,\"drain_ms\":1.5e30}", &m));
	assert_int_equal(m.drain_ms, 0);
	json_decref(v);
	/* Both in one line are both read. */
	assert_non_null(v = parse("{\"ready\":true,\"stats\":{}}", &m));
	assert_true(m.ready);
	assert_non_null(m.stats);
	json_decref(v);
	/* A command this build does not know keeps its name (for the log). */
	assert_non_null(v = parse("{\"cmd\":\"explode\"}", &m));
	assert_int_equal(m.cmd, IPCMSG_CMD_UNKNOWN);
	assert_string_equal(m.cmd_name, "explode");
	json_decref(v);
	/* A "cmd" that is not a string is no command. */
	assert_non_null(v = parse("{\"cmd\":1}", &m));
	assert_int_equal(m.cmd, IPCMSG_CMD_NONE);
	assert_null(m.cmd_name);
	json_decref(v);
	/* Names are exact. */
	assert_non_null(v = parse("{\"cmd\":\"DRAIN\"}", &m));
	assert_int_equal(m.cmd, IPCMSG_CMD_UNKNOWN);
	json_decref(v);
	/* The length is the line's, not the string's. */
	assert_non_null(v = ipcmsg_parse("{\"ready\":true}trailing", 14, &m));
	assert_true(m.ready);
	json_decref(v);
}

/* Hot settings: wsd pushes every hot key (null = unset), the instance acks. */
static void
test_settings(void **state)
{
	struct ipcmsg m;
	json_t *v;
	char *l;

	(void)state;
	l = line_of(ipcmsg_settings(json_pack("{s:s,s:n}", "NEXTAUTH_SECRET",
	    "s3cret", "WS_API_KEY")));
	assert_string_equal(l, "{\"settings\":{\"NEXTAUTH_SECRET\":\"s3cret\","
	    "\"WS_API_KEY\":null}}\n");
	assert_non_null(v = parse(l, &m));
	assert_non_null(m.settings);
	assert_string_equal(json_string_value(json_object_get(m.settings,
	    "NEXTAUTH_SECRET")), "s3cret");
	assert_true(json_is_null(json_object_get(m.settings, "WS_API_KEY")));
	assert_false(m.settings_ok);
	assert_null(m.settings_error);
	assert_int_equal(m.cmd, IPCMSG_CMD_NONE);
	json_decref(v);
	free(l);

	l = line_of(ipcmsg_settings_ack(NULL));
	assert_string_equal(l, "{\"settings_ok\":true}\n");
	assert_non_null(v = parse(l, &m));
	assert_true(m.settings_ok);
	assert_null(m.settings_error);
	json_decref(v);
	free(l);

	l = line_of(ipcmsg_settings_ack("NEXTAUTH_SECRET: empty"));
	assert_non_null(v = parse(l, &m));
	assert_false(m.settings_ok);
	assert_string_equal(m.settings_error, "NEXTAUTH_SECRET: empty");
	json_decref(v);
	free(l);

	/* Not an object, not a string: not settings, not an error. */
	assert_non_null(v = parse("{\"settings\":[1],\"settings_error\":7}",
	    &m));
	assert_null(m.settings);
	assert_null(m.settings_error);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_odd),
		cmocka_unit_test(test_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

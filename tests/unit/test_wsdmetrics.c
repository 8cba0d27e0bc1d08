/*
 * Unit tests of supervisor/metrics.c: the Prometheus text wsd serves (label
 * escaping, info and status series, per-app sums) and the carry-over that
 * keeps a slot's counters from going backwards across its processes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wsd.h"

static json_t *
stats(long conns, long messages, const char *redis)
{
	return json_pack("{s:i,s:i,s:i,s:s}", "connections", (int)conns,
	    "messages", (int)messages, "deliveries", 5, "redis", redis);
}

static void
has_line(const char *text, const char *line)
{
	char *hay, *want;

	assert_true(asprintf(&hay, "\n%s", text) > 0);
	assert_true(asprintf(&want, "\n%s\n", line) > 0);
	if (strstr(hay, want) == NULL)
		fail_msg("no line \"%s\"", line);
	free(hay);
	free(want);
}

static void
test_text(void **state)
{
	struct metrics_row r[3];
	json_t *s0 = stats(13, 100, "up"), *s1 = stats(17, 50, "down");
	char *t;

	(void)state;
	memset(r, 0, sizeof r);
	r[0].app = "fonana-ws";
	r[0].slot = 0;
	r[0].pid = 4242;
	r[0].state = ST_ONLINE;
	metrics_row_stats(&r[0], s0, NULL, 1);
	r[0].v[MF_CPU_PERCENT] = 12.5;
	r[0].has[MF_CPU_PERCENT] = 1;
	r[1].app = "fonana-ws";
	r[1].slot = 1;
	r[1].pid = 4343;
	r[1].state = ST_ERRORED;
	metrics_row_stats(&r[1], s1, NULL, 1);
	r[2].app = "we\"ird\\na\nme";
	r[2].state = ST_STOPPED;
	metrics_row_stats(&r[2], NULL, NULL, 0);
	assert_non_null(t = metrics_text(r, 3));

	has_line(t, "wsd_instance_info{app=\"fonana-ws\",instance=\"0\",pid=\"4242\"} 1");
	has_line(t, "wsd_instance_info{app=\"we\\\"ird\\\\na\\nme\",instance=\"0\",pid=\"0\"} 1");
	has_line(t, "wsd_instance_status{app=\"fonana-ws\",instance=\"1\",status=\"errored\"} 1");
	has_line(t, "wsd_instance_status{app=\"fonana-ws\",instance=\"1\",status=\"online\"} 0");
	has_line(t, "wsd_instance_active_connections{app=\"fonana-ws\",instance=\"1\"} 17");
	has_line(t, "wsd_instance_redis_up{app=\"fonana-ws\",instance=\"1\"} 0");
	has_line(t, "wsd_instance_cpu_percent{app=\"fonana-ws\",instance=\"0\"} 12.500000");
	has_line(t, "# TYPE wsd_instance_messages_total counter");
	has_line(t, "# TYPE wsd_app_active_connections gauge");
	has_line(t, "wsd_app_active_connections{app=\"fonana-ws\"} 30");
	has_line(t, "wsd_app_messages_total{app=\"fonana-ws\"} 150");
	has_line(t, "wsd_app_redis_up{app=\"fonana-ws\"} 1");
	has_line(t, "wsd_app_instances{app=\"fonana-ws\"} 2");
	has_line(t, "wsd_app_instances_online{app=\"fonana-ws\"} 1");
	has_line(t, "wsd_app_instances{app=\"we\\\"ird\\\\na\\nme\"} 1");
	/* a figure nobody reported has no series, rather than a false 0 */
	assert_null(strstr(t, "wsd_app_active_connections{app=\"we"));
	assert_null(strstr(t, "wsd_instance_errors_total{"));
	free(t);
	json_decref(s0);
	json_decref(s1);
}

static void
test_bad_stats(void **state)
{
	struct metrics_row r;
	json_t *s = json_pack("{s:i,s:s,s:s,s:f}", "connections", -3,
	    "messages", "many", "redis", "none", "deliveries", 2.5);

	(void)state;
	memset(&r, 0, sizeof r);
	metrics_row_stats(&r, s, NULL, 1);
	assert_false(r.has[MF_ACTIVE]);		/* negative */
	assert_false(r.has[MF_MESSAGES]);	/* not a number */
	assert_false(r.has[MF_REDIS_UP]);	/* no Redis configured */
	assert_true(r.has[MF_DELIVERIES]);
	json_decref(s);
}

/* kill -9, respawn: the slot's counters go on from where they were. */
static void
test_carry(void **state)
{
	struct metrics_carry c;
	struct metrics_row r;
	json_t *old = stats(13, 100, "up"), *fresh = stats(2, 3, "up");

	(void)state;
	memset(&c, 0, sizeof c);
	memset(&r, 0, sizeof r);
	metrics_row_stats(&r, old, &c, 1);
	assert_true(r.v[MF_MESSAGES] == 100);
	/* the process died: its gauges are gone, its counters stay */
	memset(&r, 0, sizeof r);
	metrics_row_stats(&r, old, &c, 0);
	assert_false(r.has[MF_ACTIVE]);
	assert_true(r.has[MF_MESSAGES] && r.v[MF_MESSAGES] == 100);
	/* a new process takes the slot */
	metrics_carry_fold(&c, &r);
	memset(&r, 0, sizeof r);
	metrics_row_stats(&r, NULL, &c, 1);	/* not reported yet */
	assert_true(r.has[MF_MESSAGES] && r.v[MF_MESSAGES] == 100);
	assert_false(r.has[MF_ACTIVE]);
	/* a spawn that reports nothing folds nothing twice */
	metrics_carry_fold(&c, &r);
	memset(&r, 0, sizeof r);
	metrics_row_stats(&r, fresh, &c, 1);
	assert_true(r.v[MF_MESSAGES] == 103);
	assert_true(r.v[MF_DELIVERIES] == 10);
	assert_true(r.v[MF_ACTIVE] == 2);	/* a gauge: not carried */
	json_decref(old);
	json_decref(fresh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_bad_stats),
		cmocka_unit_test(test_carry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

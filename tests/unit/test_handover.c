/*
 * supervisor/handover.c: the state wsd hands to the binary it re-executes
 * (wsctl update).  Every field survives the round trip; another version,
 * a field of the wrong type or range, and a descriptor named twice are
 * refused with the place they were found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "handover.h"

/* One cluster app with two slots and one log stream. */
static void
sample(struct handover *h)
{
	struct handover_app *a;
	struct handover_inst *in;
	int i;

	memset(h, 0, sizeof *h);
	h->version = HANDOVER_VERSION;
	h->home = strdup("/home/u/.wsd");
	h->config = strdup("/srv/eco.json");
	h->mode = NULL;
	h->started_ms = 1700000000123ULL;
	h->updates = 2;
	h->next_id = 5;
	h->lock_fd = 3;
	h->control_fd = 4;
	h->metrics_fd = -1;
	h->napps = 1;
	h->apps = calloc(1, sizeof *h->apps);
	a = &h->apps[0];
	a->config = json_pack("{sssss{ss}}", "name", "ws", "script",
	    "wsworker", "env", "WS_PORT", "3002");
	a->config_file = strdup("/srv/eco.json");
	a->dir = strdup("/srv");
	a->env_mode = strdup("production");
	env_init(&a->env);
	env_init(&a->ran_env);
	env_set(&a->env, "WS_PORT", "3002", 0);
	env_set(&a->env, "NEXTAUTH_SECRET", "s3cret", 1);
	a->nslots = 2;
	a->sock_fds = calloc(2, sizeof *a->sock_fds);
	a->sock_fds[0] = 7;
	a->sock_fds[1] = 8;
	a->norder = 2;
	a->sock_order = calloc(2, sizeof *a->sock_order);
	a->sock_order[0] = 1;
	a->sock_order[1] = 0;
	a->ninsts = 2;
	a->insts = calloc(2, sizeof *a->insts);
	for (i = 0; i < 2; i++) {
		in = &a->insts[i];
		in->id = 3 + i;
		in->slot = i;
		in->pid = 4000 + i;
		in->created_at = 1700000000000ULL + i;
		in->started_epoch = 1700000001000ULL;
		in->spawns = 3;
		policy_init(&in->ps);
		in->ps.state = i == 0 ? ST_ONLINE : ST_WAITING;
		in->ps.restarts = 2;
		in->ps.unstable = 1;
		in->ps.started_at = 123456789;
		in->ps.crashes[0] = 55;
		in->ps.ncrashes = 1;
		in->ps.last_code = -1;
		in->ps.last_signal = 9;
		in->ps.drain_ms = i == 1 ? 3000 : 0;
		in->timer_ms = i == 0 ? -1 : 1500;
		in->ipc_fd = 10 + i;
		in->carry[0] = 2;
		in->carry[HANDOVER_COUNTERS - 1] = 0.5;
		in->stats = i == 0 ? json_pack("{si}", "connections", 7) : NULL;
		in->out_path = strdup("/home/u/.wsd/logs/ws-out.log");
		in->err_path = NULL;
		in->cpu_ticks = 99;
		in->cpu_at = 77;
	}
	h->nlogs = 1;
	h->logs = calloc(1, sizeof *h->logs);
	h->logs[0].fd = 12;
	h->logs[0].path = strdup("/home/u/.wsd/logs/ws-out.log");
	h->logs[0].time = 1;
	h->logs[0].datefmt = strdup("%Y");
	h->logs[0].max_size = 1 << 20;
	h->logs[0].retain = 3;
	h->logs[0].at_bol = 0;
}

static void
test_round_trip(void **state)
{
	struct handover h, back;
	json_t *doc, *doc2;
	char *err = NULL;
	const struct handover_inst *in;

	(void)state;
	sample(&h);
	doc = handover_encode(&h);
	assert_non_null(doc);
	assert_int_equal(handover_decode(&back, doc, &err), 0);
	assert_null(err);
	assert_string_equal(back.home, "/home/u/.wsd");
	assert_string_equal(back.config, "/srv/eco.json");
	assert_null(back.mode);
	assert_true(back.started_ms == 1700000000123ULL);
	assert_int_equal(back.updates, 2);
	assert_int_equal(back.next_id, 5);
	assert_int_equal(back.lock_fd, 3);
	assert_int_equal(back.control_fd, 4);
	assert_int_equal(back.metrics_fd, -1);
	assert_int_equal(back.napps, 1);
	assert_true(json_equal(back.apps[0].config, h.apps[0].config));
	assert_string_equal(back.apps[0].env_mode, "production");
	assert_string_equal(env_get(&back.apps[0].env, "NEXTAUTH_SECRET"),
	    "s3cret");
	assert_true(env_find(&back.apps[0].env, "NEXTAUTH_SECRET")->secret);
	assert_false(back.apps[0].ran_env_set);
	assert_int_equal(back.apps[0].sock_order[0], 1);
	assert_int_equal(back.apps[0].sock_fds[1], 8);
	in = &back.apps[0].insts[1];
	assert_int_equal(in->id, 4);
	assert_int_equal(in->pid, 4001);
	assert_int_equal(in->ps.state, ST_WAITING);
	assert_int_equal(in->ps.restarts, 2);
	assert_int_equal(in->ps.unstable, 1);
	assert_true(in->ps.started_at == 123456789);
	assert_true(in->ps.crashes[0] == 55);
	assert_int_equal(in->ps.last_code, -1);
	assert_int_equal(in->ps.last_signal, 9);
	assert_true(in->ps.drain_ms == 3000);
	assert_int_equal(in->timer_ms, 1500);
	assert_int_equal(in->ipc_fd, 11);
	assert_true(in->carry[HANDOVER_COUNTERS - 1] == 0.5);
	assert_null(in->stats);
	assert_null(in->err_path);
	assert_int_equal(back.apps[0].insts[0].timer_ms, -1);
	assert_int_equal(json_integer_value(json_object_get(
	    back.apps[0].insts[0].stats, "connections")), 7);
	assert_int_equal(back.nlogs, 1);
	assert_int_equal(back.logs[0].fd, 12);
	assert_string_equal(back.logs[0].datefmt, "%Y");
	assert_null(back.logs[0].also);
	assert_int_equal(back.logs[0].at_bol, 0);
	/* and the same document again */
	doc2 = handover_encode(&back);
	assert_true(json_equal(doc, doc2));
	json_decref(doc2);
	json_decref(doc);
	handover_free(&back);
	handover_free(&h);
}

static void
test_fds(void **state)
{
	struct handover h;
	size_t n;
	int *fds;

	(void)state;
	sample(&h);
	fds = handover_fds(&h, &n);
	/* lock, control, 2 sockets, 2 IPC, 1 log; no metrics */
	assert_int_equal(n, 7);
	assert_int_equal(fds[0], 3);
	assert_int_equal(fds[6], 12);
	free(fds);
	handover_free(&h);
}

/* Decode `doc` after `edit`; the error must contain `want`. */
static void
refused(void (*edit)(json_t *), const char *want)
{
	struct handover h, back;
	json_t *doc;
	char *err = NULL;

	sample(&h);
	doc = handover_encode(&h);
	edit(doc);
	assert_int_equal(handover_decode(&back, doc, &err), -1);
	assert_non_null(err);
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, want);
	free(err);
	json_decref(doc);
	handover_free(&h);
}

static json_t *
inst0(json_t *doc)
{
	return json_array_get(json_object_get(json_array_get(
	    json_object_get(doc, "apps"), 0), "insts"), 0);
}

static void newer(json_t *d) { json_object_set_new(d, "wsd_handover", json_integer(HANDOVER_VERSION + 1)); }
static void unversioned(json_t *d) { json_object_del(d, "wsd_handover"); }
static void bad_pid(json_t *d) { json_object_set_new(inst0(d), "pid", json_string("1")); }
static void neg_pid(json_t *d) { json_object_set_new(inst0(d), "pid", json_integer(-4)); }
static void stdio_fd(json_t *d) { json_object_set_new(inst0(d), "ipc_fd", json_integer(1)); }
static void twice(json_t *d) { json_object_set_new(inst0(d), "ipc_fd", json_integer(4)); }
static void short_carry(json_t *d) { json_array_remove(json_object_get(inst0(d), "carry"), 0); }
static void bad_state(json_t *d) { json_object_set_new(json_object_get(inst0(d), "policy"), "state", json_integer(99)); }
static void no_apps(json_t *d) { json_object_set_new(d, "apps", json_object()); }
static void bad_order(json_t *d) { json_array_append_new(json_object_get(json_array_get(json_object_get(d, "apps"), 0), "sock_order"), json_integer(5)); }
static void bad_env(json_t *d) { json_array_append_new(json_object_get(json_array_get(json_object_get(d, "apps"), 0), "env"), json_string("X=1")); }
static void not_object(json_t *d) { json_object_clear(d); }

/* An older wsd's state has no drain window: none is waited for. */
static void
test_no_drain_ms(void **state)
{
	struct handover h, back;
	json_t *doc;
	char *err = NULL;

	(void)state;
	sample(&h);
	doc = handover_encode(&h);
	assert_non_null(doc);
	json_object_del(json_object_get(json_array_get(json_object_get(
	    json_array_get(json_object_get(doc, "apps"), 0), "insts"), 1),
	    "policy"), "drain_ms");
	assert_int_equal(handover_decode(&back, doc, &err), 0);
	assert_null(err);
	assert_true(back.apps[0].insts[1].ps.drain_ms == 0);
	json_decref(doc);
	handover_free(&back);
	handover_free(&h);
}

static void
test_refusals(void **state)
{
	(void)state;
	refused(newer, "this wsd reads version 1 only");
	refused(unversioned, "not a wsd hand-over");
	refused(not_object, "not a wsd hand-over");
	refused(bad_pid, "apps[0].insts[0].pid: expected an integer");
	refused(neg_pid, "apps[0].insts[0].pid: -4 is out of range");
	refused(stdio_fd, "ipc_fd: 1 is not a descriptor");
	refused(twice, "descriptor 4 is named twice");
	refused(short_carry, "carry: expected 18 numbers");
	refused(bad_state, "state: 99 is out of range");
	refused(no_apps, "apps: expected an array");
	refused(bad_order, "sock_order: slot 5 has no socket");
	refused(bad_env, "env: entry 2: expected [key, value, secret]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fds),
		cmocka_unit_test(test_no_drain_ms),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

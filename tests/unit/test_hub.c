/*
 * The subscription index and fan-out: one shared frame per event for every
 * subscriber, only subscribers get it, counts follow subscribe/unsubscribe.
 * Sessions are real (session.c) but never opened on a socket: nothing is
 * flushed because the loop never runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <uv.h>

#include "frame.h"
#include "hub.h"
#include "session.h"

static uv_loop_t	loop;

static int
setup(void **state)
{
	struct session_config	conf;

	(void)state;
	memset(&conf, 0, sizeof conf);
	conf.send_queue_max = 1 << 20;
	conf.max_subscriptions = 256;
	uv_loop_init(&loop);
	session_init(&loop, &conf);
	hub_set_bus(NULL);
	return 0;
}

/* The first frame queued on a session. */
static struct frame *
first_frame(struct session *s)
{
	return s->q.len > 0 ? fqueue_at(&s->q, 0) : NULL;
}

static void
test_fanout_shares_one_frame(void **state)
{
	struct session	s[3];
	const char	*ev = "{\"type\":\"post_liked\",\"data\":{\"postId\":\"1\"}}";
	int		i;

	(void)state;
	memset(s, 0, sizeof s);
	for (i = 0; i < 3; i++)
		s[i].state = SESSION_OPEN;
	assert_int_equal(hub_subscribe(&s[0].subs, &s[0], "post_1"), 1);
	assert_int_equal(hub_subscribe(&s[1].subs, &s[1], "post_1"), 1);
	assert_int_equal(hub_subscribe(&s[1].subs, &s[1], "post_1"), 0);
	assert_int_equal(hub_subscribe(&s[2].subs, &s[2], "post_2"), 1);
	assert_int_equal(hub_channel_count(), 2);
	assert_int_equal(hub_subscription_count(), 3);

	assert_int_equal(hub_publish("post_1", 6, ev, strlen(ev)), 2);
	assert_non_null(first_frame(&s[0]));
	assert_ptr_equal(first_frame(&s[0]), first_frame(&s[1]));
	assert_int_equal(first_frame(&s[0])->refs, 2);
	assert_null(first_frame(&s[2]));
	/* header + the payload, verbatim */
	assert_int_equal(s[0].q.bytes, 2 + strlen(ev));
	assert_memory_equal(first_frame(&s[0])->data + 2, ev, strlen(ev));

	/* a key nobody holds, a key given with its length only */
	assert_int_equal(hub_publish("post_3", 6, ev, strlen(ev)), 0);
	assert_int_equal(hub_publish("post_2xyz", 6, ev, strlen(ev)), 1);

	assert_int_equal(hub_unsubscribe(&s[0].subs, "post_1"), 1);
	assert_int_equal(hub_unsubscribe(&s[0].subs, "post_1"), 0);
	assert_int_equal(hub_channel_count(), 2);
	hub_unsubscribe_all(&s[1].subs);
	assert_int_equal(hub_channel_count(), 1);
	assert_null(s[1].subs);
	for (i = 0; i < 3; i++)
		session_closed(&s[i], NULL);
	assert_int_equal(hub_channel_count(), 0);
	assert_int_equal(hub_subscription_count(), 0);
}

static void
test_many_keys(void **state)
{
	struct session	s;
	char		key[32];
	int		i;

	(void)state;
	memset(&s, 0, sizeof s);
	s.state = SESSION_OPEN;
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof key, "creator_%d", i);
		assert_int_equal(hub_subscribe(&s.subs, &s, key), 1);
	}
	assert_int_equal(hub_channel_count(), 2000);
	assert_int_equal(hub_publish("creator_1234", 12, "{}", 2), 1);
	assert_int_equal(hub_publish("creator_2000", 12, "{}", 2), 0);
	session_closed(&s, NULL);
	assert_int_equal(hub_channel_count(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout_shares_one_frame),
		cmocka_unit_test(test_many_keys),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

/* Unit tests of supervisor/hot.c: which env changes are pushed, not replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "hot.h"

static struct env old_env, new_env;
static json_t *changed;

static int
setup(void **state)
{
	(void)state;
	env_init(&old_env);
	env_set(&old_env, "REDIS_URL", "redis://127.0.0.1:6379", 0);
	env_set(&old_env, "NEXTAUTH_SECRET", "old-secret", 1);
	env_set(&old_env, "LOG_LEVEL", "info", 0);
	env_init(&new_env);
	env_copy(&new_env, &old_env);
	changed = json_array();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	env_free(&old_env);
	env_free(&new_env);
	json_decref(changed);
	return 0;
}

static const char *
changed_at(size_t i)
{
	return json_string_value(json_array_get(changed, i));
}

static void
test_keys(void **state)
{
	(void)state;
	assert_true(hot_key("NEXTAUTH_SECRET"));
	assert_true(hot_key("NEXTAUTH_SECRET_PREVIOUS"));
	assert_true(hot_key("WS_API_KEY"));
	assert_true(hot_key("ALLOWED_ORIGINS"));
	assert_true(hot_key("LOG_LEVEL"));
	assert_true(hot_key("NEXTAUTH_SECRET_FILE"));
	assert_true(hot_key("WS_API_KEY_FILE"));
	assert_false(hot_key("NEXTAUTH_SECRET_"));
	assert_false(hot_key("NEXTAUTH"));
	assert_false(hot_key("REDIS_URL"));
	assert_false(hot_key("WS_PING_INTERVAL_MS"));
	assert_false(hot_key("REDIS_URL_FILE"));
	assert_false(hot_key(""));
}

static void
test_same(void **state)
{
	(void)state;
	assert_int_equal(hot_compare(&old_env, &new_env, changed), HOT_SAME);
	assert_int_equal(json_array_size(changed), 0);
}

/* The rotation: a new secret, the old one moved to _PREVIOUS. */
static void
test_rotation(void **state)
{
	(void)state;
	env_set(&new_env, "NEXTAUTH_SECRET", "new-secret", 1);
	env_set(&new_env, "NEXTAUTH_SECRET_PREVIOUS", "old-secret", 1);
	assert_int_equal(hot_compare(&old_env, &new_env, changed), HOT_PUSH);
	assert_int_equal(json_array_size(changed), 2);
	assert_string_equal(changed_at(0), "NEXTAUTH_SECRET");
	assert_string_equal(changed_at(1), "NEXTAUTH_SECRET_PREVIOUS");
	/* Later, the previous secret goes: a removal is a change too. */
	json_array_clear(changed);
	assert_int_equal(hot_compare(&new_env, &old_env, changed), HOT_PUSH);
	assert_int_equal(json_array_size(changed), 2);
	assert_int_equal(hot_compare(&new_env, &old_env, NULL), HOT_PUSH);
}

static void
test_other_key_replaces(void **state)
{
	(void)state;
	env_set(&new_env, "NEXTAUTH_SECRET", "new-secret", 1);
	env_set(&new_env, "REDIS_URL", "redis://127.0.0.1:6380", 0);
	assert_int_equal(hot_compare(&old_env, &new_env, changed), HOT_REPLACE);
	assert_int_equal(json_array_size(changed), 0);
}

static void
test_added_or_removed_key_replaces(void **state)
{
	(void)state;
	env_set(&new_env, "WS_PING_INTERVAL_MS", "5000", 0);
	assert_int_equal(hot_compare(&old_env, &new_env, NULL), HOT_REPLACE);
	env_unset(&new_env, "WS_PING_INTERVAL_MS");
	env_unset(&new_env, "REDIS_URL");
	assert_int_equal(hot_compare(&old_env, &new_env, NULL), HOT_REPLACE);
}

/* Every hot key is in the object: a value, or null when unset. */
static void
test_settings(void **state)
{
	json_t *s;

	(void)state;
	env_set(&new_env, "WS_API_KEY", "k", 1);
	s = hot_settings(&new_env);
	assert_non_null(s);
	assert_int_equal(json_object_size(s), 5);
	assert_string_equal(json_string_value(json_object_get(s,
	    "NEXTAUTH_SECRET")), "old-secret");
	assert_string_equal(json_string_value(json_object_get(s, "WS_API_KEY")),
	    "k");
	assert_string_equal(json_string_value(json_object_get(s, "LOG_LEVEL")),
	    "info");
	assert_true(json_is_null(json_object_get(s, "NEXTAUTH_SECRET_PREVIOUS")));
	assert_true(json_is_null(json_object_get(s, "ALLOWED_ORIGINS")));
	assert_null(json_object_get(s, "REDIS_URL"));
	json_decref(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test_setup_teardown(test_same, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_key_replaces, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_added_or_removed_key_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The channel table: keys, owner checks, id forms, denials. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "channels.h"

/* Resolve the JSON text `ch` for `user`; returns the key or NULL. */
static const char *
resolve(const char *ch, const char *user)
{
	static char	 key[CHANNEL_KEY_MAX];
	json_t		*v;
	int		 r;

	v = json_loads(ch, JSON_DECODE_ANY, NULL);
	r = channels_key(v, user, key, sizeof key);
	json_decref(v);
	return r == 0 ? key : NULL;
}

static void
test_owner_channels(void **state)
{
	(void)state;
	assert_string_equal(resolve("{\"type\":\"notifications\",\"userId\":\"42\"}",
	    "42"), "notifications_42");
	assert_string_equal(resolve("{\"type\":\"feed\",\"userId\":\"42\"}",
	    "42"), "feed_42");
	/* a number is the same id as its text */
	assert_string_equal(resolve("{\"type\":\"notifications\",\"userId\":42}",
	    "42"), "notifications_42");
	assert_null(resolve("{\"type\":\"notifications\",\"userId\":\"43\"}",
	    "42"));
	assert_null(resolve("{\"type\":\"feed\",\"userId\":43}", "42"));
	assert_null(resolve("{\"type\":\"feed\",\"userId\":\"42\"}", NULL));
	/* no prefix tricks: "4" is not "42" */
	assert_null(resolve("{\"type\":\"feed\",\"userId\":\"4\"}", "42"));
	assert_null(resolve("{\"type\":\"feed\",\"userId\":\"420\"}", "42"));
}

static void
test_public_channels(void **state)
{
	(void)state;
	assert_string_equal(resolve("{\"type\":\"creator\",\"id\":\"c7\"}",
	    "1"), "creator_c7");
	assert_string_equal(resolve("{\"type\":\"creator\",\"id\":7}", "1"),
	    "creator_7");
	assert_string_equal(resolve("{\"type\":\"post\",\"postId\":\"p1\"}",
	    "1"), "post_p1");
	assert_string_equal(resolve("{\"type\":\"post\",\"postId\":1}", "1"),
	    "post_1");
	assert_string_equal(resolve("{\"type\":\"post\",\"postId\":-3}", "1"),
	    "post_-3");
	assert_string_equal(resolve("{\"type\":\"post\",\"postId\":2.0}", "1"),
	    "post_2");
	/* extra members do not matter */
	assert_string_equal(resolve("{\"type\":\"post\",\"postId\":1,\"x\":true}",
	    "1"), "post_1");
}

static void
test_denied(void **state)
{
	(void)state;
	assert_null(resolve("{\"type\":\"admin\",\"id\":1}", "1"));
	assert_null(resolve("{\"type\":\"post\"}", "1"));
	assert_null(resolve("{\"type\":\"post\",\"id\":1}", "1"));	/* wrong member */
	assert_null(resolve("{\"type\":\"creator\",\"postId\":1}", "1"));
	assert_null(resolve("{\"type\":\"post\",\"postId\":\"\"}", "1"));
	assert_null(resolve("{\"type\":\"post\",\"postId\":null}", "1"));
	assert_null(resolve("{\"type\":\"post\",\"postId\":true}", "1"));
	assert_null(resolve("{\"type\":\"post\",\"postId\":{}}", "1"));
	assert_null(resolve("{\"type\":\"post\",\"postId\":[1]}", "1"));
	assert_null(resolve("{\"type\":\"post\",\"postId\":\"a\\nb\"}", "1"));
	assert_null(resolve("{\"type\":7,\"postId\":1}", "1"));
	assert_null(resolve("{\"postId\":1}", "1"));
	assert_null(resolve("\"post_1\"", "1"));
	assert_null(resolve("null", "1"));
	assert_null(resolve("[]", "1"));
	assert_null(channels_key(NULL, "1", (char[8]){0}, 8) == 0 ? "x" : NULL);
}

static void
test_embedded_nul(void **state)
{
	char	 key[CHANNEL_KEY_MAX];
	json_t	*v;

	(void)state;
	v = json_pack("{s:s,s:o}", "type", "post", "postId",
	    json_stringn("a\0b", 3));
	assert_int_equal(channels_key(v, "1", key, sizeof key), -1);
	json_decref(v);
}

static void
test_key_length(void **state)
{
	char	 id[400], ch[512], key[CHANNEL_KEY_MAX];
	json_t	*v;

	(void)state;
	memset(id, 'a', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	snprintf(ch, sizeof ch, "{\"type\":\"post\",\"postId\":\"%s\"}", id);
	assert_null(resolve(ch, "1"));
	/* a small output buffer is a denial, not an overflow */
	v = json_loads("{\"type\":\"post\",\"postId\":\"12345\"}", 0, NULL);
	assert_int_equal(channels_key(v, "1", key, 6), -1);
	assert_int_equal(channels_key(v, "1", key, sizeof key), 0);
	json_decref(v);
}

static void
test_key_valid(void **state)
{
	(void)state;
	assert_true(channels_key_valid("post_1"));
	assert_true(channels_key_valid("anything:else"));
	assert_false(channels_key_valid(""));
	assert_false(channels_key_valid("a\tb"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_channels),
		cmocka_unit_test(test_public_channels),
		cmocka_unit_test(test_denied),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_key_length),
		cmocka_unit_test(test_key_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

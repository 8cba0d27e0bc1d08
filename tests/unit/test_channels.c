/* The channel table and its rules: keys, owner checks, id forms, denials, rule config. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "channels.h"
#include "rules.h"

static const struct rules_config conf = { 5000, 1000 };

/* Configure the rules from `post` (WS_RULE_POST, NULL = unset) without DB. */
static int
configure(const char *post, char **err)
{
	rules_shutdown();
	if (post != NULL)
		setenv("WS_RULE_POST", post, 1);
	else
		unsetenv("WS_RULE_POST");
	return rules_configure(&conf, 0, err);
}

static int
setup(void **state)
{
	char	*err = NULL;

	(void)state;
	unsetenv("WS_RULES_FILE");
	return configure("public", &err);
}

/* Resolve the JSON text `ch` for `user`; returns the key or NULL. */
static const char *
resolve(const char *ch, const char *user)
{
	static struct channel_ref	 ref;
	json_t				*v;
	int				 r;

	v = json_loads(ch, JSON_DECODE_ANY, NULL);
	r = channels_resolve(v, &ref);
	json_decref(v);
	if (r != 0 || rules_check(&ref, user, NULL, NULL) != RULES_ALLOW)
		return NULL;
	return ref.key;
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
	assert_int_equal(channels_resolve(NULL, &(struct channel_ref){0}), -1);
}

static void
test_embedded_nul(void **state)
{
	struct channel_ref	 ref;
	json_t			*v;

	(void)state;
	v = json_pack("{s:s,s:o}", "type", "post", "postId",
	    json_stringn("a\0b", 3));
	assert_int_equal(channels_resolve(v, &ref), -1);
	json_decref(v);
}

static void
test_key_length(void **state)
{
	char	 id[400], ch[512];

	(void)state;
	memset(id, 'a', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	snprintf(ch, sizeof ch, "{\"type\":\"post\",\"postId\":\"%s\"}", id);
	assert_null(resolve(ch, "1"));
	/* the longest id that fits: key = "post_" + id < CHANNEL_KEY_MAX */
	id[CHANNEL_KEY_MAX - 1 - 5] = '\0';
	snprintf(ch, sizeof ch, "{\"type\":\"post\",\"postId\":\"%s\"}", id);
	assert_non_null(resolve(ch, "1"));
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

/* The database rule without a database fails closed; owner stays owner. */
static void
test_rules_without_db(void **state)
{
	struct channel_ref	 ref;
	json_t			*v;
	char			*err = NULL;

	(void)state;
	assert_int_equal(configure(NULL, &err), 0);
	v = json_loads("{\"type\":\"post\",\"postId\":\"p1\"}", 0, NULL);
	assert_int_equal(channels_resolve(v, &ref), 0);
	assert_int_equal(rules_check(&ref, "1", NULL, NULL), RULES_FAIL);
	assert_true(rules_may_leave(&ref, "1"));
	json_decref(v);
	v = json_loads("{\"type\":\"feed\",\"userId\":\"2\"}", 0, NULL);
	assert_int_equal(channels_resolve(v, &ref), 0);
	assert_int_equal(rules_check(&ref, "1", NULL, NULL), RULES_DENY);
	assert_false(rules_may_leave(&ref, "1"));
	assert_int_equal(rules_check(&ref, "2", NULL, NULL), RULES_ALLOW);
	json_decref(v);
	assert_int_equal(configure("public", &err), 0);
}

/* A bad rule is a config error that names where it was set. */
static void
test_rules_errors(void **state)
{
	char	*err = NULL, path[] = "/tmp/wsd-rules.XXXXXX";
	FILE	*f;
	int	 fd;

	(void)state;
	assert_int_equal(configure("anyone", &err), -1);
	assert_non_null(strstr(err, "WS_RULE_POST"));
	free(err);
	err = NULL;
	assert_int_equal(configure("sql:  ", &err), -1);
	assert_non_null(strstr(err, "WS_RULE_POST"));
	free(err);
	err = NULL;
	setenv("WS_RULE_COMMENT", "public", 1);
	assert_int_equal(configure("public", &err), -1);
	assert_non_null(strstr(err, "WS_RULE_COMMENT"));
	free(err);
	err = NULL;
	unsetenv("WS_RULE_COMMENT");
	/* the file names types; the environment wins over it */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("{\"creator\":\"owner\",\"nope\":\"public\"}", f);
	fclose(f);
	setenv("WS_RULES_FILE", path, 1);
	assert_int_equal(configure("public", &err), -1);
	assert_non_null(strstr(err, "nope"));
	free(err);
	err = NULL;
	f = fopen(path, "w");
	fputs("{\"creator\":\"owner\",\"post\":\"owner\"}", f);
	fclose(f);
	assert_int_equal(configure("public", &err), 0);
	assert_null(resolve("{\"type\":\"creator\",\"id\":\"c7\"}", "1"));
	assert_non_null(resolve("{\"type\":\"creator\",\"id\":\"c7\"}",
	    "c7"));
	assert_non_null(resolve("{\"type\":\"post\",\"postId\":\"p\"}", "1"));
	unlink(path);
	unsetenv("WS_RULES_FILE");
	assert_int_equal(configure("public", &err), 0);
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
		cmocka_unit_test(test_rules_without_db),
		cmocka_unit_test(test_rules_errors),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

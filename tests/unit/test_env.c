/* Unit tests of common/env.c: the ordered environment and masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env.h"

static void
test_set_get_order(void **state)
{
	struct env e;

	(void)state;
	env_init(&e);
	assert_int_equal(env_set(&e, "A", "1", 0), 0);
	assert_int_equal(env_set(&e, "B", "2", 0), 0);
	assert_int_equal(env_set(&e, "A", "3", 1), 0);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.v[0].key, "A");	/* keeps first position */
	assert_string_equal(env_get(&e, "A"), "3");
	assert_int_equal(env_find(&e, "A")->secret, 1);
	assert_null(env_get(&e, "C"));
	env_unset(&e, "A");
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0].key, "B");
	env_unset(&e, "nope");
	assert_int_equal(e.n, 1);
	env_free(&e);
}

static void
test_merge_copy_envp(void **state)
{
	struct env a, b, c;
	char *environ_[] = { "X=1", "Y=a=b", "NOEQ", "=bad", "Z=", NULL };
	char **envp;

	(void)state;
	env_init(&a);
	env_init(&b);
	assert_int_equal(env_from_environ(&a, environ_), 0);
	assert_int_equal(a.n, 3);
	assert_string_equal(env_get(&a, "Y"), "a=b");
	assert_string_equal(env_get(&a, "Z"), "");
	env_set(&b, "X", "2", 1);
	env_set(&b, "W", "w", 0);
	assert_int_equal(env_merge(&a, &b), 0);
	assert_string_equal(env_get(&a, "X"), "2");
	assert_int_equal(env_find(&a, "X")->secret, 1);
	assert_string_equal(a.v[3].key, "W");
	assert_int_equal(env_copy(&c, &a), 0);
	assert_int_equal(c.n, 4);
	envp = env_to_envp(&c);
	assert_non_null(envp);
	assert_string_equal(envp[0], "X=2");
	assert_string_equal(envp[1], "Y=a=b");
	assert_string_equal(envp[2], "Z=");
	assert_string_equal(envp[3], "W=w");
	assert_null(envp[4]);
	env_envp_free(envp);
	env_free(&a);
	env_free(&b);
	env_free(&c);
}

static void
check_display(const char *key, const char *value, int secret,
    const char *want)
{
	struct env_var v = { (char *)key, (char *)value, secret };
	char *d = env_display(&v);

	assert_non_null(d);
	assert_string_equal(d, want);
	free(d);
}

static void
test_is_secret(void **state)
{
	static const char *masked[] = {
		"NEXTAUTH_SECRET", "secret", "DB_PASSWORD", "mysql_passwd",
		"GITHUB_TOKEN", "token_x", "STRIPE_API_KEY", "ssh_private_key",
		"Jwt_Secret_Key",
	};
	static const char *shown[] = {
		"NODE_ENV", "PORT", "API", "KEY", "PASS", "TOK", "APIKEY",
		"PRIVATE",
	};
	struct env_var v = { NULL, "x", 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof masked / sizeof masked[0]; i++) {
		v.key = (char *)masked[i];
		assert_true(env_is_secret(&v));
	}
	for (i = 0; i < sizeof shown / sizeof shown[0]; i++) {
		v.key = (char *)shown[i];
		assert_false(env_is_secret(&v));
	}
	v.key = "PLAIN";
	v.secret = 1;
	assert_true(env_is_secret(&v));
}

static void
test_display(void **state)
{
	(void)state;
	check_display("NODE_ENV", "production", 0, "production");
	check_display("PLAIN", "hunter2", 1, "****");
	check_display("DB_PASSWORD", "hunter2", 0, "****");
	check_display("REDIS_URL", "redis://:pw@localhost:6379/0", 0,
	    "redis://:****@localhost:6379/0");
	check_display("DATABASE_URL", "postgres://user:p%40ss@db:5432/app", 0,
	    "postgres://user:****@db:5432/app");
	check_display("U", "postgres://user:a@b@db/app", 0,
	    "postgres://user:****@db/app");
	check_display("U", "https://user@host/x", 0, "https://user@host/x");
	check_display("U", "https://host/x?a=b:c@d", 0,
	    "https://host/x?a=b:c@d");
	check_display("U", "redis://:@host", 0, "redis://:@host");
	check_display("U", "not a url: x@y", 0, "not a url: x@y");
	check_display("U", "", 0, "");
	/* libpq: conninfo keywords and URI parameters carry passwords too */
	check_display("DATABASE_URL", "host=db user=app password=s3 dbname=x",
	    0, "host=db user=app password=**** dbname=x");
	check_display("DATABASE_URL", "host=db password='a b\\' c' port=5",
	    0, "host=db password=**** port=5");
	check_display("DATABASE_URL", "postgresql://u@db/app?sslmode=require"
	    "&password=s3&x=1", 0,
	    "postgresql://u@db/app?sslmode=require&password=****&x=1");
	check_display("DATABASE_URL", "postgres://u:a@db/app?PASSWORD=b", 0,
	    "postgres://u:****@db/app?PASSWORD=****");
	check_display("U", "nopassword=x", 0, "nopassword=x");
}

/* The one table that masking and the dump share. */
static void
test_secret_name_value(void **state)
{
	static const char *secret[] = {
		"NEXTAUTH_SECRET", "NEXTAUTH_SECRET_PREVIOUS", "APP_SECRET_V2",
		"DB_PASSWORD", "GITHUB_TOKEN", "STRIPE_KEY", "aws_secret_key",
		"GOOGLE_CREDENTIALS", "WS_API_KEY",
	};
	static const char *plain[] = {
		"NODE_ENV", "KEY_PREFIX", "KEYS", "MONKEY", "WS_PORT",
		"REDIS_URL",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof secret / sizeof secret[0]; i++) {
		assert_true(env_secret_name(secret[i]));
		assert_true(env_secret_value(secret[i], "x"));
	}
	for (i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		assert_false(env_secret_name(plain[i]));
		assert_false(env_secret_value(plain[i], "x"));
	}
	/* A URL with a password is a secret value under any name. */
	assert_true(env_secret_value("REDIS_URL", "redis://:pw@h:6379/0"));
	assert_true(env_secret_value("DATABASE_URL", "postgres://u:p@db/app"));
	assert_false(env_secret_value("REDIS_URL", "redis://h:6379/0"));
	assert_false(env_secret_value("U", "https://user@host/x"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_order),
		cmocka_unit_test(test_merge_copy_envp),
		cmocka_unit_test(test_is_secret),
		cmocka_unit_test(test_display),
		cmocka_unit_test(test_secret_name_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of common/secrets.c: VAR_FILE, the secrets list, SECRETS_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "env.h"

static char dir[64];

static void
put(const char *name, const char *content, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_secrets.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	unsetenv("SECRETS_DIR");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
path_of(const char *name)
{
	static char path[256];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static void
test_var_file(void **state)
{
	struct env e;
	struct diag err, warn;

	(void)state;
	put("pw", "s3cret\n", 0600);
	put("crlf", "x\r\n", 0600);
	put("two", "y\n\n", 0600);
	put("none", "z", 0600);
	env_init(&e);
	diag_init(&err);
	diag_init(&warn);
	env_set(&e, "NODE_ENV", "production", 0);
	env_set(&e, "REDIS_PASSWORD_FILE", path_of("pw"), 0);
	env_set(&e, "A_FILE", path_of("crlf"), 0);
	env_set(&e, "B_FILE", path_of("two"), 0);
	env_set(&e, "C_FILE", path_of("none"), 0);
	env_set(&e, "SSL_CERT_FILE", "/etc/ssl/cert.pem", 0);
	assert_int_equal(secrets_apply(&e, NULL, 0, dir, &err, &warn), 0);
	assert_int_equal(err.n, 0);
	assert_int_equal(warn.n, 0);
	assert_string_equal(env_get(&e, "REDIS_PASSWORD"), "s3cret");
	assert_true(env_find(&e, "REDIS_PASSWORD")->secret);
	assert_null(env_get(&e, "REDIS_PASSWORD_FILE"));
	assert_string_equal(env_get(&e, "A"), "x");
	assert_string_equal(env_get(&e, "B"), "y\n");	/* one newline only */
	assert_string_equal(env_get(&e, "C"), "z");
	assert_true(env_find(&e, "C")->secret);
	/* A path a library reads itself stays a path. */
	assert_string_equal(env_get(&e, "SSL_CERT_FILE"), "/etc/ssl/cert.pem");
	assert_null(env_get(&e, "SSL_CERT"));
	assert_string_equal(env_get(&e, "NODE_ENV"), "production");
	env_free(&e);
	diag_free(&err);
	diag_free(&warn);
}

static void
test_var_file_errors(void **state)
{
	struct env e;
	struct diag err, warn;
	char want[512];

	(void)state;
	put("pw", "s3cret\n", 0600);
	env_init(&e);
	diag_init(&err);
	diag_init(&warn);
	env_set(&e, "DB_PASSWORD", "dev", 0);
	env_set(&e, "DB_PASSWORD_FILE", path_of("pw"), 0);
	env_set(&e, "TOKEN_FILE", path_of("missing"), 0);
	env_set(&e, "EMPTY_FILE", "", 0);
	assert_int_equal(secrets_apply(&e, NULL, 0, dir, &err, &warn), -1);
	assert_int_equal(err.n, 3);
	assert_string_equal(err.msgs[0],
	    "DB_PASSWORD and DB_PASSWORD_FILE are both set: use one");
	snprintf(want, sizeof want, "TOKEN_FILE=%s: No such file or directory",
	    path_of("missing"));
	assert_string_equal(err.msgs[1], want);
	assert_string_equal(err.msgs[2], "EMPTY_FILE: empty path");
	/* Nothing was half applied. */
	assert_string_equal(env_get(&e, "DB_PASSWORD"), "dev");
	assert_non_null(env_get(&e, "TOKEN_FILE"));
	assert_null(env_get(&e, "TOKEN"));
	env_free(&e);
	diag_free(&err);
	diag_free(&warn);
}

static void
test_list(void **state)
{
	struct env e;
	struct diag err, warn;
	char *names[] = { "redis_password", "nextauth-secret", "absent" };
	char want[512];

	(void)state;
	put("redis_password", "r3dis\n", 0600);
	put("nextauth-secret", "n3xt", 0644);
	env_init(&e);
	diag_init(&err);
	diag_init(&warn);
	env_set(&e, "REDIS_PASSWORD", "devpw", 0);
	env_set(&e, "ABSENT", "fallback", 0);
	assert_int_equal(secrets_apply(&e, names, 3, dir, &err, &warn), 0);
	assert_int_equal(err.n, 0);
	assert_string_equal(env_get(&e, "REDIS_PASSWORD"), "r3dis");
	assert_true(env_find(&e, "REDIS_PASSWORD")->secret);
	assert_string_equal(env_get(&e, "NEXTAUTH_SECRET"), "n3xt");
	assert_string_equal(env_get(&e, "ABSENT"), "fallback");
	assert_false(env_find(&e, "ABSENT")->secret);
	assert_int_equal(warn.n, 1);
	snprintf(want, sizeof want, "%s: secret file is readable by other "
	    "users (mode 0644)", path_of("nextauth-secret"));
	assert_string_equal(warn.msgs[0], want);
	env_free(&e);
	diag_free(&err);
	diag_free(&warn);
}

static void
test_secrets_dir(void **state)
{
	struct env e;
	struct diag err, warn;
	char *names[] = { "api_key" };
	char sub[128];

	(void)state;
	snprintf(sub, sizeof sub, "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	put("sub/api_key", "from-env-dir", 0400);
	put("api_key", "from-process-env", 0400);
	diag_init(&err);
	diag_init(&warn);

	/* SECRETS_DIR of the resolved environment first… */
	env_init(&e);
	env_set(&e, "SECRETS_DIR", sub, 0);
	setenv("SECRETS_DIR", dir, 1);
	assert_int_equal(secrets_apply(&e, names, 1, NULL, &err, &warn), 0);
	assert_string_equal(env_get(&e, "API_KEY"), "from-env-dir");
	env_free(&e);

	/* …then wsd's own. */
	env_init(&e);
	assert_int_equal(secrets_apply(&e, names, 1, NULL, &err, &warn), 0);
	assert_string_equal(env_get(&e, "API_KEY"), "from-process-env");
	env_free(&e);
	unsetenv("SECRETS_DIR");

	/* An unreadable secret is an error naming it. */
	env_init(&e);
	if (geteuid() != 0) {
		put("api_key", "x", 0000);
		assert_int_equal(secrets_apply(&e, names, 1, dir, &err, &warn),
		    -1);
		assert_non_null(strstr(err.msgs[0], "Permission denied"));
		assert_non_null(strstr(err.msgs[0], path_of("api_key")));
	}
	env_free(&e);

	/* So is a folder where the file should be. */
	env_init(&e);
	diag_free(&err);
	names[0] = "sub";
	assert_int_equal(secrets_apply(&e, names, 1, dir, &err, &warn), -1);
	{
		char want[512];

		snprintf(want, sizeof want, "%s: Is a directory", sub);
		assert_string_equal(err.msgs[err.n - 1], want);
	}
	env_free(&e);
	assert_int_equal(warn.n, 0);
	diag_free(&err);
	diag_free(&warn);
}

/* secrets_getenv: one NAME / NAME_FILE pair from the process environment. */
static void
test_getenv(void **state)
{
	struct diag err, warn;
	char *v, want[512];

	(void)state;
	diag_init(&err);
	diag_init(&warn);
	unsetenv("T_PW");
	unsetenv("T_PW_FILE");
	assert_int_equal(secrets_getenv("T_PW", &v, &err, &warn), 0);
	assert_null(v);

	setenv("T_PW", "direct", 1);
	setenv("T_PW_FILE", "", 1);	/* empty is unset */
	assert_int_equal(secrets_getenv("T_PW", &v, &err, &warn), 1);
	assert_string_equal(v, "direct");
	free(v);

	put("pw", "fromfile\r\n", 0644);
	setenv("T_PW_FILE", path_of("pw"), 1);
	assert_int_equal(secrets_getenv("T_PW", &v, &err, &warn), -1);
	assert_null(v);
	assert_string_equal(err.msgs[err.n - 1],
	    "T_PW and T_PW_FILE are both set: use one");

	setenv("T_PW", "", 1);
	assert_int_equal(secrets_getenv("T_PW", &v, &err, &warn), 1);
	assert_string_equal(v, "fromfile");
	free(v);
	assert_int_equal(warn.n, 1);	/* mode 0644 */

	setenv("T_PW_FILE", path_of("absent"), 1);
	assert_int_equal(secrets_getenv("T_PW", &v, &err, &warn), -1);
	snprintf(want, sizeof want, "T_PW_FILE=%s: No such file or directory",
	    path_of("absent"));
	assert_string_equal(err.msgs[err.n - 1], want);
	assert_int_equal(err.n, 2);
	unsetenv("T_PW");
	unsetenv("T_PW_FILE");
	diag_free(&err);
	diag_free(&warn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_var_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_var_file_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secrets_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_getenv, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of supervisor/spawn.c's plan: the argv and envp an instance's
 * process gets, without starting one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wsd.h"

/* The value of KEY in envp, or NULL; fails when it is there twice. */
static const char *
envp_get(char **envp, const char *key)
{
	const char *found = NULL;
	size_t i, n = strlen(key);

	for (i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], key, n) == 0 && envp[i][n] == '=') {
			assert_null(found);
			found = envp[i] + n + 1;
		}
	return found;
}

static void
test_argv(void **state)
{
	char *args[] = { "--port", "9", NULL };
	struct app_config c = { .name = "chat", .script = "server.js",
	    .args = args };
	struct env env;
	struct spawn_what w = { &c, &env, "/srv/server.js", "/usr/bin/node",
	    0, 0, 0 };
	struct spawn_plan p;

	(void)state;
	env_init(&env);
	assert_int_equal(spawn_plan(&p, &w), 0);
	assert_string_equal(p.argv[0], "/usr/bin/node");
	assert_string_equal(p.argv[1], "/srv/server.js");
	assert_string_equal(p.argv[2], "--port");
	assert_string_equal(p.argv[3], "9");
	assert_null(p.argv[4]);
	spawn_plan_free(&p);

	w.interp = NULL;
	c.args = NULL;
	assert_int_equal(spawn_plan(&p, &w), 0);
	assert_string_equal(p.argv[0], "/srv/server.js");
	assert_null(p.argv[1]);
	spawn_plan_free(&p);
	env_free(&env);
}

/* A cluster slot: its socket is fd 3 (LISTEN_FDS), the IPC channel fd 4. */
static void
test_env_with_socket(void **state)
{
	struct app_config c = { .name = "chat", .script = "wsworker" };
	struct env env;
	struct spawn_what w = { &c, &env, "/bin/wsworker", NULL, 2, 7, 1 };
	struct spawn_plan p;

	(void)state;
	env_init(&env);
	env_set(&env, "WS_PORT", "8080", 0);
	env_set(&env, "WSD_APP_NAME", "spoofed", 0);
	assert_int_equal(spawn_plan(&p, &w), 0);
	assert_int_equal(p.listen, 1);
	assert_string_equal(envp_get(p.envp, "WS_PORT"), "8080");
	assert_string_equal(envp_get(p.envp, "WSD_APP_NAME"), "chat");
	assert_string_equal(envp_get(p.envp, "WSD_INSTANCE"), "2");
	assert_string_equal(envp_get(p.envp, "NODE_APP_INSTANCE"), "2");
	/* Node's IPC channel is wsd's (process.send('ready')). */
	assert_string_equal(envp_get(p.envp, "NODE_CHANNEL_FD"),
	    envp_get(p.envp, "WSD_IPC_FD"));
	assert_string_equal(envp_get(p.envp, "NODE_CHANNEL_SERIALIZATION_MODE"),
	    "json");
	assert_string_equal(envp_get(p.envp, "pm_id"), "7");
	assert_string_equal(envp_get(p.envp, "LISTEN_FDS"), "1");
	/* Room for the pid the child writes in. */
	assert_int_equal(strlen(envp_get(p.envp, "LISTEN_PID")), 20);
	assert_string_equal(envp_get(p.envp, "WSD_LISTEN_FD"), "3");
	assert_string_equal(envp_get(p.envp, "WSD_IPC_FD"), "4");
	/* The app's env is left as it was. */
	assert_string_equal(env_get(&env, "WSD_APP_NAME"), "spoofed");
	spawn_plan_free(&p);
	env_free(&env);
}

/* No socket: what the app's env inherited of LISTEN_* must not leak. */
static void
test_env_without_socket(void **state)
{
	struct app_config c = { .name = "job", .script = "job.sh" };
	struct env env;
	struct spawn_what w = { &c, &env, "/srv/job.sh", NULL, 0, 3, 0 };
	struct spawn_plan p;

	(void)state;
	env_init(&env);
	env_set(&env, "LISTEN_FDS", "2", 0);
	env_set(&env, "LISTEN_PID", "1", 0);
	env_set(&env, "WSD_LISTEN_FD", "3", 0);
	assert_int_equal(spawn_plan(&p, &w), 0);
	assert_int_equal(p.listen, 0);
	assert_null(envp_get(p.envp, "LISTEN_FDS"));
	assert_null(envp_get(p.envp, "LISTEN_PID"));
	assert_null(envp_get(p.envp, "WSD_LISTEN_FD"));
	assert_string_equal(envp_get(p.envp, "WSD_IPC_FD"), "3");
	assert_string_equal(envp_get(p.envp, "pm_id"), "3");
	spawn_plan_free(&p);
	spawn_plan_free(&p);	/* twice is harmless */
	env_free(&env);
}

/* node_args go to the interpreter, before the script; none without one. */
static void
test_node_args(void **state)
{
	char *args[] = { "a", "b", NULL };
	char *nargs[] = { "--max-old-space-size=512", "--trace-warnings", NULL };
	struct app_config c = { .name = "chat", .script = "server.js",
	    .args = args, .node_args = nargs };
	struct env env;
	struct spawn_what w = { &c, &env, "/srv/server.js", "/usr/bin/node",
	    0, 0, 0 };
	struct spawn_plan p;
	static const char *const want[] = { "/usr/bin/node",
	    "--max-old-space-size=512", "--trace-warnings", "/srv/server.js",
	    "a", "b", NULL };
	size_t i;

	(void)state;
	env_init(&env);
	assert_int_equal(spawn_plan(&p, &w), 0);
	for (i = 0; want[i] != NULL; i++)
		assert_string_equal(p.argv[i], want[i]);
	assert_null(p.argv[i]);
	spawn_plan_free(&p);

	w.interp = NULL;	/* interpreter none: PM2 drops them */
	assert_int_equal(spawn_plan(&p, &w), 0);
	assert_string_equal(p.argv[0], "/srv/server.js");
	assert_string_equal(p.argv[1], "a");
	assert_string_equal(p.argv[2], "b");
	assert_null(p.argv[3]);
	spawn_plan_free(&p);
	env_free(&env);
}

/* A command line runs as bash -c LINE, its args dropped as PM2 does. */
static void
test_shell(void **state)
{
	char *args[] = { "dropped", NULL };
	struct app_config c = { .name = "server", .script =
	    "bun run src/server.ts --port 3", .args = args, .shell = 1 };
	struct env env;
	struct spawn_what w = { &c, &env, "/usr/bin/bash", NULL, 0, 0, 0 };
	struct spawn_plan p;

	(void)state;
	env_init(&env);
	assert_int_equal(spawn_plan(&p, &w), 0);
	assert_string_equal(p.argv[0], "/usr/bin/bash");
	assert_string_equal(p.argv[1], "-c");
	assert_string_equal(p.argv[2], "bun run src/server.ts --port 3");
	assert_null(p.argv[3]);
	spawn_plan_free(&p);
	env_free(&env);
}

/* instance_var names the instance number; increment_var adds it. */
static void
test_instance_vars(void **state)
{
	struct app_config c = { .name = "api", .script = "api",
	    .instance_var = "INSTANCE_ID", .increment_var = "PORT" };
	struct env env;
	struct spawn_what w = { &c, &env, "/srv/api", NULL, 2, 9, 0 };
	struct spawn_plan p;

	(void)state;
	env_init(&env);
	env_set(&env, "PORT", "3000", 0);
	assert_int_equal(spawn_plan(&p, &w), 0);
	assert_string_equal(envp_get(p.envp, "INSTANCE_ID"), "2");
	assert_null(envp_get(p.envp, "NODE_APP_INSTANCE"));	/* as PM2 */
	assert_string_equal(envp_get(p.envp, "WSD_INSTANCE"), "2");
	assert_string_equal(envp_get(p.envp, "PORT"), "3002");
	assert_string_equal(env_get(&env, "PORT"), "3000");	/* untouched */
	spawn_plan_free(&p);

	/* unset counts as 0, as in PM2 */
	c.increment_var = "SHARD";
	w.slot = 1;
	assert_int_equal(spawn_plan(&p, &w), 0);
	assert_string_equal(envp_get(p.envp, "SHARD"), "1");
	assert_string_equal(envp_get(p.envp, "PORT"), "3000");
	spawn_plan_free(&p);
	env_free(&env);
}

/* uid/user: HOME (as PM2), USER and LOGNAME of that user. */
static void
test_user_env(void **state)
{
	struct app_config c = { .name = "api", .script = "api",
	    .user = "nobody", .home = "/nonexistent" };
	struct env env;
	struct spawn_what w = { &c, &env, "/srv/api", NULL, 0, 0, 0 };
	struct spawn_plan p;

	(void)state;
	env_init(&env);
	env_set(&env, "HOME", "/root", 0);
	env_set(&env, "USER", "root", 0);
	assert_int_equal(spawn_plan(&p, &w), 0);
	assert_string_equal(envp_get(p.envp, "HOME"), "/nonexistent");
	assert_string_equal(envp_get(p.envp, "USER"), "nobody");
	assert_string_equal(envp_get(p.envp, "LOGNAME"), "nobody");
	spawn_plan_free(&p);
	env_free(&env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_env_with_socket),
		cmocka_unit_test(test_env_without_socket),
		cmocka_unit_test(test_node_args),
		cmocka_unit_test(test_shell),
		cmocka_unit_test(test_instance_vars),
		cmocka_unit_test(test_user_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The Redis bus configuration: REDIS_URL parsing, the environment, backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus.h"
#include "log.h"

static const char *const env_names[] = {
	"REDIS_URL", "REDIS_SENTINELS", "REDIS_MASTER_NAME", "REDIS_PASSWORD",
	"REDIS_PASSWORD_FILE", "REDIS_SENTINEL_PASSWORD",
	"REDIS_SENTINEL_PASSWORD_FILE", "WS_REDIS_BACKOFF_MIN_MS",
	"WS_REDIS_BACKOFF_MAX_MS", "WS_REDIS_PING_MS",
	"WS_REDIS_CONNECT_TIMEOUT_MS",
};

static int
clear_env(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
	return 0;
}

/* Parse url into *cfg; returns the error (caller frees) or NULL. */
static char *
parse(struct bus_config *cfg, const char *url)
{
	char	*err = NULL;
	int	 rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = bus_config_parse_url(cfg, url, &err);
	if (rc == 0)
		assert_null(err);
	else
		assert_non_null(err);
	return err;
}

static void
assert_error(const char *url, const char *part)
{
	struct bus_config	 cfg;
	char			*err = parse(&cfg, url);

	if (err == NULL)
		fail_msg("'%s' was accepted", url);
	if (strstr(err, "REDIS_URL") == NULL || strstr(err, part) == NULL)
		fail_msg("'%s': error '%s' lacks '%s'", url, err, part);
	free(err);
	bus_config_free(&cfg);
}

static void
test_url_host_port_db(void **state)
{
	struct bus_config	 cfg;

	(void)state;
	assert_null(parse(&cfg, "redis://10.0.0.5:6380/3"));
	assert_string_equal(cfg.host, "10.0.0.5");
	assert_int_equal(cfg.port, 6380);
	assert_int_equal(cfg.db, 3);
	assert_null(cfg.password);
	assert_null(cfg.user);
	assert_null(cfg.unix_path);
	bus_config_free(&cfg);

	assert_null(parse(&cfg, "redis://redis"));
	assert_string_equal(cfg.host, "redis");
	assert_int_equal(cfg.port, 6379);
	assert_int_equal(cfg.db, 0);
	bus_config_free(&cfg);

	assert_null(parse(&cfg, "REDIS://localhost/"));
	assert_string_equal(cfg.host, "localhost");
	assert_int_equal(cfg.db, 0);
	bus_config_free(&cfg);

	assert_null(parse(&cfg, "redis://[::1]:7000/2"));
	assert_string_equal(cfg.host, "::1");
	assert_int_equal(cfg.port, 7000);
	assert_int_equal(cfg.db, 2);
	bus_config_free(&cfg);

	assert_null(parse(&cfg, "redis://h?db=5"));
	assert_int_equal(cfg.db, 5);
	bus_config_free(&cfg);
}

static void
test_url_password(void **state)
{
	struct bus_config	 cfg;

	(void)state;
	assert_null(parse(&cfg, "redis://:s3cret@h:1/0"));
	assert_string_equal(cfg.password, "s3cret");
	assert_null(cfg.user);
	assert_string_equal(cfg.host, "h");
	bus_config_free(&cfg);

	/* Percent-decoding; an unescaped '@' or '/' in it still works. */
	assert_null(parse(&cfg, "redis://:p%40ss%2Fw%3Ard%25@h"));
	assert_string_equal(cfg.password, "p@ss/w:rd%");
	bus_config_free(&cfg);
	assert_null(parse(&cfg, "redis://:a@b/c@h:7/1"));
	assert_string_equal(cfg.password, "a@b/c");
	assert_string_equal(cfg.host, "h");
	assert_int_equal(cfg.port, 7);
	assert_int_equal(cfg.db, 1);
	bus_config_free(&cfg);

	/* user:password (ACL), and a lone userinfo is the password. */
	assert_null(parse(&cfg, "redis://app%2B1:pw@h"));
	assert_string_equal(cfg.user, "app+1");
	assert_string_equal(cfg.password, "pw");
	bus_config_free(&cfg);
	assert_null(parse(&cfg, "redis://onlypw@h"));
	assert_null(cfg.user);
	assert_string_equal(cfg.password, "onlypw");
	bus_config_free(&cfg);

	/* An empty password is no password. */
	assert_null(parse(&cfg, "redis://:@h"));
	assert_null(cfg.password);
	bus_config_free(&cfg);
}

static void
test_url_unix(void **state)
{
	struct bus_config	 cfg;

	(void)state;
	assert_null(parse(&cfg, "unix:///run/redis/redis.sock"));
	assert_string_equal(cfg.unix_path, "/run/redis/redis.sock");
	assert_null(cfg.host);
	assert_int_equal(cfg.db, 0);
	bus_config_free(&cfg);

	assert_null(parse(&cfg, "unix:///tmp/r.sock?db=4&password=x%20y"));
	assert_string_equal(cfg.unix_path, "/tmp/r.sock");
	assert_int_equal(cfg.db, 4);
	assert_string_equal(cfg.password, "x y");
	bus_config_free(&cfg);

	assert_null(parse(&cfg, "unix://:pw@/tmp/r.sock"));
	assert_string_equal(cfg.unix_path, "/tmp/r.sock");
	assert_string_equal(cfg.password, "pw");
	bus_config_free(&cfg);
}

static void
test_url_errors(void **state)
{
	(void)state;
	assert_error("rediss://h:6380", "TLS");
	assert_error("http://h", "scheme");
	assert_error("h:6379", "scheme");
	assert_error("redis://", "no host");
	assert_error("redis://:pw@", "no host");
	assert_error("redis://h:0", "port");
	assert_error("redis://h:65536", "port");
	assert_error("redis://h:63x", "port");
	assert_error("redis://h:", "port");
	assert_error("redis://h/x", "database");
	assert_error("redis://h/-1", "database");
	assert_error("redis://h?db=x", "database");
	assert_error("redis://h?timeout=5", "unknown parameter");
	assert_error("redis://:p%4@h", "percent-encoding");
	assert_error("redis://:p%zz@h", "percent-encoding");
	assert_error("redis://[::1:6379", "'['");
	assert_error("unix://relative.sock", "absolute");
	assert_error("unix://", "absolute");
}

static void
test_url_failure_keeps_config(void **state)
{
	struct bus_config	 cfg;
	char			*err = NULL;

	(void)state;
	assert_null(parse(&cfg, "redis://:pw@good:1"));
	assert_int_equal(bus_config_parse_url(&cfg, "redis://bad:x", &err),
	    -1);
	free(err);
	assert_string_equal(cfg.host, "good");
	assert_string_equal(cfg.password, "pw");
	bus_config_free(&cfg);
}

static void
test_env_unset(void **state)
{
	struct bus_config	 cfg;
	char			*err = NULL;

	(void)state;
	assert_int_equal(bus_config_from_env(&cfg, &err), 0);
	assert_null(err);
	setenv("REDIS_URL", "", 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), 0);
	bus_config_free(&cfg);
}

static void
test_env_url_and_defaults(void **state)
{
	struct bus_config	 cfg;
	char			*err = NULL;

	(void)state;
	setenv("REDIS_URL", "redis://r:6380/1", 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), 1);
	assert_string_equal(cfg.host, "r");
	assert_int_equal(cfg.port, 6380);
	assert_int_equal(cfg.db, 1);
	assert_null(cfg.sentinels);
	assert_string_equal(cfg.master_name, "mymaster");
	assert_int_equal(cfg.backoff_min_ms, 100);
	assert_int_equal(cfg.backoff_max_ms, 5000);
	assert_int_equal(cfg.ping_ms, 5000);
	assert_int_equal(cfg.connect_timeout_ms, 3000);
	bus_config_free(&cfg);

	setenv("WS_REDIS_BACKOFF_MIN_MS", "20", 1);
	setenv("WS_REDIS_BACKOFF_MAX_MS", "400", 1);
	setenv("WS_REDIS_PING_MS", "250", 1);
	setenv("WS_REDIS_CONNECT_TIMEOUT_MS", "700", 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), 1);
	assert_int_equal(cfg.backoff_min_ms, 20);
	assert_int_equal(cfg.backoff_max_ms, 400);
	assert_int_equal(cfg.ping_ms, 250);
	assert_int_equal(cfg.connect_timeout_ms, 700);
	bus_config_free(&cfg);
}

static void
test_env_password_precedence(void **state)
{
	struct bus_config	 cfg;
	char			*err = NULL;
	char			 path[] = "/tmp/test_bus_pw.XXXXXX";
	int			 fd;

	(void)state;
	setenv("REDIS_URL", "redis://h", 1);
	setenv("REDIS_PASSWORD", "fromenv", 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), 1);
	assert_string_equal(cfg.password, "fromenv");
	bus_config_free(&cfg);

	/* The URL's password wins. */
	setenv("REDIS_URL", "redis://:fromurl@h", 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), 1);
	assert_string_equal(cfg.password, "fromurl");
	bus_config_free(&cfg);

	/* REDIS_PASSWORD_FILE, one trailing newline trimmed. */
	unsetenv("REDIS_PASSWORD");
	setenv("REDIS_URL", "redis://h", 1);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "filepw\n", 7), 7);
	close(fd);
	setenv("REDIS_PASSWORD_FILE", path, 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), 1);
	assert_string_equal(cfg.password, "filepw");
	bus_config_free(&cfg);

	/* Read by common/secrets.c, so with its messages. */
	setenv("REDIS_PASSWORD", "x", 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), -1);
	assert_non_null(strstr(err, "REDIS_PASSWORD and REDIS_PASSWORD_FILE "
	    "are both set"));
	free(err);
	setenv("REDIS_PASSWORD_FILE", "", 1);	/* empty is unset */
	assert_int_equal(bus_config_from_env(&cfg, &err), 1);
	assert_string_equal(cfg.password, "x");
	bus_config_free(&cfg);
	setenv("REDIS_PASSWORD_FILE", path, 1);
	unsetenv("REDIS_PASSWORD");
	unlink(path);
	assert_int_equal(bus_config_from_env(&cfg, &err), -1);
	assert_non_null(strstr(err, "REDIS_PASSWORD_FILE"));
	assert_non_null(strstr(err, path));
	free(err);
}

static void
test_env_sentinels(void **state)
{
	struct bus_config	 cfg;
	char			*err = NULL;

	(void)state;
	setenv("REDIS_SENTINELS", "s1:26379, s2:26380 ,s3", 1);
	setenv("REDIS_PASSWORD", "masterpw", 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), 1);
	assert_string_equal(cfg.sentinels, "s1:26379, s2:26380 ,s3");
	assert_string_equal(cfg.master_name, "mymaster");
	assert_string_equal(cfg.password, "masterpw");
	assert_null(cfg.sentinel_password);
	assert_null(cfg.host);
	bus_config_free(&cfg);

	setenv("REDIS_MASTER_NAME", "other", 1);
	setenv("REDIS_SENTINEL_PASSWORD", "sentpw", 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), 1);
	assert_string_equal(cfg.master_name, "other");
	assert_string_equal(cfg.sentinel_password, "sentpw");
	bus_config_free(&cfg);
}

static void
assert_env_error(const char *name, const char *value, const char *part)
{
	struct bus_config	 cfg;
	char			*err = NULL;

	setenv(name, value, 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), -1);
	assert_non_null(err);
	if (strstr(err, part) == NULL)
		fail_msg("%s=%s: error '%s' lacks '%s'", name, value, err,
		    part);
	free(err);
	unsetenv(name);
}

static void
test_env_errors(void **state)
{
	struct bus_config	 cfg;
	char			*err = NULL;

	(void)state;
	setenv("REDIS_URL", "redis://h", 1);
	setenv("REDIS_SENTINELS", "s:1", 1);
	assert_int_equal(bus_config_from_env(&cfg, &err), -1);
	assert_non_null(strstr(err, "REDIS_URL and REDIS_SENTINELS"));
	free(err);
	unsetenv("REDIS_SENTINELS");

	assert_env_error("WS_REDIS_PING_MS", "fast", "WS_REDIS_PING_MS");
	assert_env_error("WS_REDIS_BACKOFF_MIN_MS", "0",
	    "WS_REDIS_BACKOFF_MIN_MS");
	assert_env_error("WS_REDIS_BACKOFF_MAX_MS", "50",
	    "WS_REDIS_BACKOFF_MAX_MS");
	assert_env_error("REDIS_URL", "rediss://h", "REDIS_URL: TLS");
	unsetenv("REDIS_URL");
	assert_env_error("REDIS_SENTINELS", "s:99999", "REDIS_SENTINELS");
	assert_env_error("REDIS_SENTINELS", " , ", "REDIS_SENTINELS");
}

static void
test_backoff(void **state)
{
	uint64_t	 d;
	unsigned	 a;

	(void)state;
	/* Upper half of min·2^attempt, capped. */
	assert_int_equal(bus_backoff_delay(100, 5000, 0, 0), 50);
	assert_int_equal(bus_backoff_delay(100, 5000, 0, 50), 100);
	assert_int_equal(bus_backoff_delay(100, 5000, 0, 51), 50);
	assert_int_equal(bus_backoff_delay(100, 5000, 1, 0), 100);
	assert_int_equal(bus_backoff_delay(100, 5000, 3, 400), 800);
	assert_int_equal(bus_backoff_delay(100, 5000, 10, 0), 2500);
	assert_int_equal(bus_backoff_delay(100, 5000, 10, 2500), 5000);
	assert_int_equal(bus_backoff_delay(100, 5000, 1000, 0), 2500);
	for (a = 0; a < 40; a++) {
		d = bus_backoff_delay(100, 5000, a, (uint32_t)rand());
		assert_true(d >= 50 && d <= 5000);
	}
	assert_int_equal(bus_backoff_delay(7, 7, 3, 0), 4);
	assert_true(bus_backoff_delay(1, 1, 0, 12345) >= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_host_port_db),
		cmocka_unit_test(test_url_password),
		cmocka_unit_test(test_url_unix),
		cmocka_unit_test(test_url_errors),
		cmocka_unit_test(test_url_failure_keeps_config),
		cmocka_unit_test_setup(test_env_unset, clear_env),
		cmocka_unit_test_setup(test_env_url_and_defaults, clear_env),
		cmocka_unit_test_setup(test_env_password_precedence, clear_env),
		cmocka_unit_test_setup(test_env_sentinels, clear_env),
		cmocka_unit_test_setup(test_env_errors, clear_env),
		cmocka_unit_test(test_backoff),
	};

	log_set_fd(2);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

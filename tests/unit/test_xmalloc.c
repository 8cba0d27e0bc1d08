/* Unit tests of common/xmalloc.c: never NULL; out of memory logs and aborts. */
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"
#include "xmalloc.h"

/* Under ASan, a failed malloc must return NULL as libc's does. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void
test_ok(void **state)
{
	char *s, *p;
	int *v;

	(void)state;
	s = xstrdup("abc");
	assert_string_equal(s, "abc");
	free(s);
	assert_int_equal(xasprintf(&s, "%s-%d", "x", 7), 3);
	assert_string_equal(s, "x-7");
	free(s);
	v = xcalloc(4, sizeof *v);
	assert_int_equal(v[0] + v[1] + v[2] + v[3], 0);
	v = xreallocarray(v, 1000, sizeof *v);
	v[999] = 1;
	free(v);
	/* Zero sizes still give a pointer to free. */
	free(xmalloc(0));
	free(xcalloc(0, 8));
	p = xrealloc(NULL, 0);
	free(p);
}

/*
 * Run `fn` in a child whose log goes to a pipe; returns what it logged and
 * checks that it died of SIGABRT.
 */
static char *
dies(void (*fn)(void))
{
	static char out[1024];
	int fds[2], status;
	ssize_t n;
	size_t len = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		close(fds[0]);
		log_set_fd(fds[1]);
		fn();
		_exit(0);	/* not reached when fn aborts */
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	return out;
}

static void
huge_malloc(void)
{
	free(xmalloc(SIZE_MAX - 64));
}

static void
huge_array(void)
{
	free(xreallocarray(NULL, SIZE_MAX / 2, 4));	/* overflows */
}

static void
huge_jansson(void)
{
	xmalloc_jansson();
	/*
	 * jansson asks its allocator for the copy before it reads a byte,
	 * so the length alone makes it fail.
	 */
	json_decref(json_stringn_nocheck((const char *)huge_jansson,
	    SIZE_MAX - 64));
}

static void
test_out_of_memory(void **state)
{
	json_t *line;
	char *out;

	(void)state;
	out = dies(huge_malloc);
	/* One log line, valid JSON, at level error. */
	assert_non_null(strchr(out, '\n'));
	assert_string_equal(strchr(out, '\n'), "\n");
	assert_non_null(line = json_loads(out, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(line, "level")),
	    "error");
	assert_non_null(strstr(json_string_value(json_object_get(line,
	    "msg")), "out of memory: malloc"));
	assert_true(json_is_integer(json_object_get(line, "pid")));
	assert_true(json_is_string(json_object_get(line, "ts")));
	json_decref(line);

	out = dies(huge_array);
	assert_non_null(strstr(out, "out of memory: realloc"));
	out = dies(huge_jansson);
	assert_non_null(strstr(out, "out of memory: malloc"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

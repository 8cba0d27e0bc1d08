/* /proc/PID/stat as procstat.c reads it, checked against the syscalls. */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wsd.h"

static void
test_self(void **state)
{
	struct procinfo me;

	(void)state;
	assert_int_equal(procstat_read(getpid(), &me), 0);
	assert_int_equal(me.pid, getpid());
	assert_int_equal(me.ppid, getppid());
	assert_int_equal(me.pgrp, getpgrp());
	assert_int_equal(me.sid, getsid(0));
	assert_int_equal(me.state, 'R');
	assert_true(me.start > 0);
	assert_true(me.rss > 0);
}

/* A child in its own group, with spaces and a ')' in its command name. */
static void
test_child(void **state)
{
	struct procinfo me, child;
	int p[2], status;
	char c = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_NAME, "a b) c (d");
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	setpgid(pid, pid);
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(procstat_read(getpid(), &me), 0);
	assert_int_equal(procstat_read(pid, &child), 0);
	assert_int_equal(child.pid, pid);
	assert_int_equal(child.ppid, getpid());
	assert_int_equal(child.pgrp, pid);
	assert_int_equal(child.sid, me.sid);
	assert_true(child.start >= me.start);
	kill(pid, SIGKILL);
	/* A zombie still reads, as such, until it is reaped. */
	do
		assert_int_equal(procstat_read(pid, &child), 0);
	while (child.state != 'Z');
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(procstat_read(pid, &child), -1);
}

static void
test_all_sorted(void **state)
{
	struct procinfo *all;
	const struct procinfo *me;
	size_t n, i;

	(void)state;
	assert_int_equal(procstat_all(&all, &n), 0);
	assert_true(n > 1);
	for (i = 1; i < n; i++)
		assert_true(all[i - 1].pid < all[i].pid);
	me = procstat_find(all, n, getpid());
	assert_non_null(me);
	assert_int_equal(me->pgrp, getpgrp());
	assert_null(procstat_find(all, n, 0));
	free(all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_child),
		cmocka_unit_test(test_all_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

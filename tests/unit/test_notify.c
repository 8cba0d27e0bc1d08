/* sd_notify datagrams and the watchdog keep-alive, received on a private socket. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "log.h"
#include "notify.h"

struct fixture {
	char		dir[64];
	char		path[128];
	int		fd;		/* the receiving end, as systemd holds it */
	uv_loop_t	loop;
};

static int
setup(void **state)
{
	struct fixture *f;
	struct sockaddr_un sun;

	f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/wsd-test-notify.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/notify.sock", f->dir);
	f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, f->path);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	notify_close();
	uv_run(&f->loop, UV_RUN_NOWAIT);	/* let the timer's close finish */
	assert_int_equal(uv_loop_close(&f->loop), 0);
	close(f->fd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The next datagram within `ms`, NUL-terminated, or -1 when none came. */
static int
recv_msg(int fd, char *buf, size_t len, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	n = recv(fd, buf, len - 1, 0);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

static void
test_unset_is_noop(void **state)
{
	struct fixture *f = *state;
	char buf[64];

	assert_int_equal(notify_init(&f->loop), 0);
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(recv_msg(f->fd, buf, sizeof buf, 50), -1);
}

static void
test_path_socket(void **state)
{
	struct fixture *f = *state;
	char buf[256];

	setenv("NOTIFY_SOCKET", f->path, 1);
	assert_int_equal(notify_init(&f->loop), 0);
	/* Read and removed, so the instances wsd spawns do not inherit it. */
	assert_null(getenv("NOTIFY_SOCKET"));

	assert_int_equal(notify_send("READY=1"), 0);
	assert_true(recv_msg(f->fd, buf, sizeof buf, 2000) > 0);
	assert_string_equal(buf, "READY=1");
	assert_int_equal(notify_send("RELOADING=1"), 0);
	assert_true(recv_msg(f->fd, buf, sizeof buf, 2000) > 0);
	assert_string_equal(buf, "RELOADING=1");
	assert_int_equal(notify_send("STATUS=2 apps online\nREADY=1"), 0);
	assert_true(recv_msg(f->fd, buf, sizeof buf, 2000) > 0);
	assert_string_equal(buf, "STATUS=2 apps online\nREADY=1");
	assert_int_equal(notify_send("STOPPING=1"), 0);
	assert_true(recv_msg(f->fd, buf, sizeof buf, 2000) > 0);
	assert_string_equal(buf, "STOPPING=1");

	/* After close: silent no-ops. */
	notify_close();
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(recv_msg(f->fd, buf, sizeof buf, 50), -1);
}

static void
test_abstract_socket(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun;
	char name[64], buf[64];
	socklen_t len;
	int fd;

	snprintf(name, sizeof name, "@wsd-test-notify-%ld", (long)getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, strlen(name));
	sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);

	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(notify_init(&f->loop), 0);
	assert_int_equal(notify_send("READY=1"), 0);
	assert_true(recv_msg(fd, buf, sizeof buf, 2000) > 0);
	assert_string_equal(buf, "READY=1");
	/* Nothing went to the path socket. */
	assert_int_equal(recv_msg(f->fd, buf, sizeof buf, 20), -1);
	close(fd);
}

static void
test_invalid_address(void **state)
{
	struct fixture *f = *state;

	setenv("NOTIFY_SOCKET", "relative/notify.sock", 1);
	assert_int_equal(notify_init(&f->loop), -1);
	assert_int_equal(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "@", 1);
	assert_int_equal(notify_init(&f->loop), -1);
}

static void
test_gone_receiver_fails_without_blocking(void **state)
{
	struct fixture *f = *state;

	setenv("NOTIFY_SOCKET", f->path, 1);
	assert_int_equal(notify_init(&f->loop), 0);
	close(f->fd);
	unlink(f->path);
	assert_int_equal(notify_send("READY=1"), -1);
	f->fd = socket(AF_UNIX, SOCK_DGRAM, 0);	/* for teardown */
}

/*
 * The watchdog rate, measured against the loop itself rather than a wall
 * clock, so that a slow or loaded machine cannot make it fail:
 *  - a reference timer with 3/4 of WATCHDOG_USEC as period runs on the same
 *    loop.  A keep-alive every half period is due before each next
 *    reference tick, so it fires at least once per tick; one every full
 *    period (the bug that gets a service killed) falls behind.
 *  - a libuv repeating timer fires at most once per period of loop time,
 *    so more than span/(half period) + 1 keep-alives means too fast.
 */
struct wd_run {
	struct fixture	*f;
	uv_timer_t	 ref;
	uv_poll_t	 poll;
	int		 ref_fired;
	int		 ref_limit;
	int		 keepalives;
	int		 other;
	uint64_t	 end;		/* loop time when the reference stopped */
};

static void
wd_drain(struct wd_run *w)
{
	char buf[64];
	ssize_t n;

	while ((n = recv(w->f->fd, buf, sizeof buf - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		if (strcmp(buf, "WATCHDOG=1") == 0)
			w->keepalives++;
		else
			w->other++;
	}
}

static void
wd_poll_cb(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	wd_drain(p->data);
}

static void
wd_ref_cb(uv_timer_t *t)
{
	struct wd_run *w = t->data;

	if (++w->ref_fired < w->ref_limit)
		return;
	w->end = uv_now(t->loop);
	uv_timer_stop(&w->ref);
	uv_poll_stop(&w->poll);
	notify_close();			/* no keep-alive after this point */
	wd_drain(w);
	uv_close((uv_handle_t *)&w->ref, NULL);
	uv_close((uv_handle_t *)&w->poll, NULL);
}

static void
wd_run(struct fixture *f, struct wd_run *w, uint64_t period_ms, int limit)
{
	memset(w, 0, sizeof *w);
	w->f = f;
	w->ref_limit = limit;
	assert_int_equal(uv_timer_init(&f->loop, &w->ref), 0);
	w->ref.data = w;
	assert_int_equal(uv_poll_init(&f->loop, &w->poll, f->fd), 0);
	w->poll.data = w;
	assert_int_equal(uv_poll_start(&w->poll, UV_READABLE, wd_poll_cb), 0);
	uv_timer_start(&w->ref, wd_ref_cb, period_ms, period_ms);
	uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void
test_watchdog_rate(void **state)
{
	struct fixture *f = *state;
	struct wd_run w;
	uint64_t start, span;
	int R = 8;

	setenv("NOTIFY_SOCKET", f->path, 1);
	setenv("WATCHDOG_USEC", "40000", 1);	/* 40 ms: keep-alive every 20 */
	uv_update_time(&f->loop);
	start = uv_now(&f->loop);
	assert_int_equal(notify_init(&f->loop), 0);
	assert_null(getenv("WATCHDOG_USEC"));
	wd_run(f, &w, 30, R);
	span = w.end - start;
	print_message("# %d keep-alives in %llu ms of loop time, while a 30 ms "
	    "timer fired %d times\n", w.keepalives,
	    (unsigned long long)span, R);
	assert_int_equal(w.other, 0);
	assert_true(w.keepalives >= R);
	assert_true((uint64_t)w.keepalives <= span / 20 + 1);
}

static void
test_watchdog_pid_ours(void **state)
{
	struct fixture *f = *state;
	struct wd_run w;
	char pid[32];

	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("NOTIFY_SOCKET", f->path, 1);
	setenv("WATCHDOG_USEC", "40000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_init(&f->loop), 0);
	wd_run(f, &w, 40, 3);
	assert_true(w.keepalives >= 3);
}

static void
test_watchdog_other_pid_or_unset(void **state)
{
	struct fixture *f = *state;
	struct wd_run w;
	char pid[32];

	/* WATCHDOG_PID names another process: the keep-alive is its job. */
	snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
	setenv("NOTIFY_SOCKET", f->path, 1);
	setenv("WATCHDOG_USEC", "20000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_init(&f->loop), 0);
	wd_run(f, &w, 20, 5);
	assert_int_equal(w.keepalives, 0);

	/* No WATCHDOG_USEC: no keep-alive either. */
	unsetenv("WATCHDOG_PID");
	setenv("NOTIFY_SOCKET", f->path, 1);
	assert_int_equal(notify_init(&f->loop), 0);
	wd_run(f, &w, 20, 5);
	assert_int_equal(w.keepalives, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unset_is_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abstract_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_receiver_fails_without_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_pid_ours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_other_pid_or_unset, setup, teardown),
	};

	log_set_fd(2);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

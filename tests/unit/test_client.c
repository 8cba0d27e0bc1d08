/* Unit tests of wsctl's control-socket client (ctl/client.c) against a scripted peer. */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "exitcodes.h"

static char last_warning[512];

/* client.c reports through ctl_warn (ctl.c): keep the last message. */
void
ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_warning, sizeof last_warning, fmt, ap);
	va_end(ap);
}

int
ctl_usage(struct ctl *ctl)
{
	(void)ctl;
	return EXIT_USAGE;
}

struct peer {
	char	dir[64];
	pid_t	pid;
};

/*
 * A peer on a fresh socket that, for each request line it reads, writes
 * the next of `replies` one byte at a time ("%ID%" replaced by the id the
 * request carried), then closes after the last.
 */
static void
peer_start(struct peer *p, struct ctl *ctl, const char **replies, size_t n)
{
	struct sockaddr_un sun;
	int lfd, fd;
	size_t i;

	strcpy(p->dir, "/tmp/test_client.XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	memset(ctl, 0, sizeof *ctl);
	ctl->fd = -1;
	snprintf(ctl->sock, sizeof ctl->sock, "%s/wsd.sock", p->dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, ctl->sock);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(lfd, 1), 0);
	if ((p->pid = fork()) != 0) {
		close(lfd);
		return;
	}
	fd = accept(lfd, NULL, NULL);
	for (i = 0; i < n; i++) {
		char req[4096], id[32], out[4096];
		size_t len = 0;
		const char *r, *at;
		char *o = out;

		while (len < sizeof req - 1 && read(fd, req + len, 1) == 1 &&
		    req[len] != '\n')
			len++;
		req[len] = '\0';
		at = strstr(req, "\"id\":");
		snprintf(id, sizeof id, "%ld", at != NULL ? strtol(at + 5, NULL,
		    10) : -1L);
		for (r = replies[i]; *r != '\0'; r++) {
			if (strncmp(r, "%ID%", 4) == 0) {
				o += sprintf(o, "%s", id);
				r += 3;
			} else
				*o++ = *r;
		}
		for (r = out; r < o; r++) {
			if (write(fd, r, 1) != 1)
				_exit(1);
		}
	}
	close(fd);
	_exit(0);
}

static void
peer_end(struct peer *p, struct ctl *ctl)
{
	char path[128];
	int st;

	client_close(ctl);
	waitpid(p->pid, &st, 0);
	snprintf(path, sizeof path, "%s/wsd.sock", p->dir);
	unlink(path);
	rmdir(p->dir);
}

/* Byte-by-byte replies; one to an earlier id is skipped. */
static void
test_ok_reply_split(void **state)
{
	const char *replies[] = {
		"{\"v\":1,\"id\":999,\"ok\":true,\"data\":{\"stale\":1}}\n"
		"{\"v\":1,\"id\":%ID%,\"ok\":true,\"data\":{\"instances\":[]}}\n",
		"{\"v\":1,\"id\":%ID%,\"ok\":true,\"data\":{\"pid\":7}}\n",
	};
	struct peer p;
	struct ctl ctl;
	json_t *data;

	(void)state;
	peer_start(&p, &ctl, replies, 2);
	assert_int_equal(client_call(&ctl, "list", NULL, &data), 0);
	assert_non_null(json_object_get(data, "instances"));
	assert_null(json_object_get(data, "stale"));
	json_decref(data);
	/* Same connection, next request. */
	assert_int_equal(client_call(&ctl, "ping", NULL, &data), 0);
	assert_int_equal(json_integer_value(json_object_get(data, "pid")), 7);
	json_decref(data);
	peer_end(&p, &ctl);
}

static void
test_error_replies(void **state)
{
	const char *replies[] = {
		"{\"v\":1,\"id\":%ID%,\"ok\":false,\"error\":{\"code\":"
		"\"no_such_app\",\"msg\":\"no app or id matches \\\"x\\\"\"}}\n",
		"{\"v\":1,\"id\":%ID%,\"ok\":false,\"error\":{\"code\":"
		"\"config_error\",\"msg\":\"2 errors\",\"errors\":[\"a\",\"b\"]}}\n",
	};
	struct peer p;
	struct ctl ctl;
	json_t *data;

	(void)state;
	peer_start(&p, &ctl, replies, 2);
	assert_int_equal(client_call(&ctl, "restart", NULL, &data),
	    EXIT_CMDFAIL);
	assert_null(data);
	assert_string_equal(ctl.errcode, "no_such_app");
	assert_string_equal(last_warning, "no app or id matches \"x\"");
	assert_int_equal(client_call(&ctl, "start", NULL, &data), EXIT_CONFIG);
	assert_string_equal(ctl.errcode, "config_error");
	peer_end(&p, &ctl);
}

static void
test_hangup_and_garbage(void **state)
{
	const char *garbage[] = { "this is not json\n" };
	struct peer p;
	struct ctl ctl;
	json_t *data;

	(void)state;
	peer_start(&p, &ctl, NULL, 0);
	assert_int_equal(client_call(&ctl, "list", NULL, &data), EXIT_CMDFAIL);
	assert_non_null(strstr(last_warning, "closed the connection"));
	peer_end(&p, &ctl);

	peer_start(&p, &ctl, garbage, 1);
	assert_int_equal(client_call(&ctl, "list", NULL, &data), EXIT_CMDFAIL);
	assert_non_null(strstr(last_warning, "bad reply"));
	peer_end(&p, &ctl);
}

static void
test_no_daemon(void **state)
{
	struct ctl ctl;
	json_t *data;

	(void)state;
	memset(&ctl, 0, sizeof ctl);
	ctl.fd = -1;
	snprintf(ctl.sock, sizeof ctl.sock, "/nonexistent/wsd.sock");
	assert_int_equal(client_call(&ctl, "list", NULL, &data),
	    EXIT_NODAEMON);
	assert_string_equal(last_warning,
	    "daemon not running (no answer on /nonexistent/wsd.sock)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_reply_split),
		cmocka_unit_test(test_error_replies),
		cmocka_unit_test(test_hangup_and_garbage),
		cmocka_unit_test(test_no_daemon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Cluster slot sockets: several SO_REUSEPORT listeners share one port. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wsd.h"

static int
port_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static void
test_slots_share_a_port(void **state)
{
	char *err = NULL;
	int a, b, port, acc;
	socklen_t len = sizeof acc;

	(void)state;
	a = listen_open("127.0.0.1", 0, &err);
	assert_true(a >= 0);
	assert_null(err);
	port = port_of(a);
	b = listen_open("127.0.0.1", port, &err);
	assert_true(b >= 0);
	assert_int_equal(port_of(b), port);
	assert_int_equal(getsockopt(b, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len), 0);
	assert_int_equal(acc, 1);
	/* Close-on-exec: only the child's placed copy survives exec. */
	assert_true(fcntl(b, F_GETFD) & FD_CLOEXEC);
	close(a);
	close(b);
}

static void
test_plain_listener_blocks(void **state)
{
	struct sockaddr_in sin;
	char *err = NULL;
	int plain, fd;

	(void)state;
	plain = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(plain, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(plain, 1), 0);
	fd = listen_open("127.0.0.1", port_of(plain), &err);
	assert_int_equal(fd, -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "Address already in use"));
	free(err);
	close(plain);
}

static void
test_bad_host(void **state)
{
	char *err = NULL;

	(void)state;
	assert_int_equal(listen_open("not-an-address", 8080, &err), -1);
	assert_non_null(strstr(err, "not an IP address"));
	free(err);
	err = NULL;
	/* IPv6 literals work (when the host has IPv6 at all). */
	{
		int fd = listen_open("::1", 0, &err);

		if (fd >= 0)
			close(fd);
		else
			free(err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_share_a_port),
		cmocka_unit_test(test_plain_listener_blocks),
		cmocka_unit_test(test_bad_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

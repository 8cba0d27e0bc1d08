/*
 * Cluster slot sockets: several SO_REUSEPORT listeners share one port, and
 * the steering program sends new connections only to the slots asked for,
 * the group's socket order kept right across closes.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wsd.h"

#define NCONN	24

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
	struct listen_group g;
	char *err = NULL;
	int a, b, port, acc;
	socklen_t len = sizeof acc;

	(void)state;
	memset(&g, 0, sizeof g);
	a = listen_slot(&g, 0, "127.0.0.1", 0, &err);
	assert_true(a >= 0);
	assert_null(err);
	port = port_of(a);
	b = listen_slot(&g, 1, "127.0.0.1", port, &err);
	assert_true(b >= 0);
	assert_int_equal(port_of(b), port);
	assert_int_equal(listen_slot(&g, 0, "127.0.0.1", port, &err), a);
	assert_int_equal(listen_fd(&g, 1), b);
	assert_int_equal(listen_fd(&g, 2), -1);
	assert_int_equal(getsockopt(b, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len), 0);
	assert_int_equal(acc, 1);
	/* Close-on-exec: only the child's placed copy survives exec. */
	assert_true(fcntl(b, F_GETFD) & FD_CLOEXEC);
	listen_close_all(&g);
	assert_int_equal(listen_fd(&g, 0), -1);
}

static void
test_plain_listener_blocks(void **state)
{
	struct listen_group g;
	struct sockaddr_in sin;
	char *err = NULL;
	int plain;

	(void)state;
	memset(&g, 0, sizeof g);
	plain = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(plain, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(plain, 1), 0);
	assert_int_equal(listen_slot(&g, 0, "127.0.0.1", port_of(plain), &err),
	    -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "Address already in use"));
	assert_int_equal(listen_fd(&g, 0), -1);
	free(err);
	close(plain);
	listen_close_all(&g);
}

static void
test_bad_host(void **state)
{
	struct listen_group g;
	char *err = NULL;

	(void)state;
	memset(&g, 0, sizeof g);
	assert_int_equal(listen_slot(&g, 0, "not-an-address", 8080, &err), -1);
	assert_non_null(strstr(err, "not an IP address"));
	free(err);
	err = NULL;
	/* IPv6 literals work (when the host has IPv6 at all). */
	if (listen_slot(&g, 0, "::1", 0, &err) < 0)
		free(err);
	listen_close_all(&g);
}

/* n connects to the port; the client ends are returned in fds. */
static void
connect_n(int port, int *fds, int n)
{
	struct sockaddr_in sin;
	int i;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&sin,
		    sizeof sin), 0);
	}
}

/* The accept queue lengths of slots 0..2 once they add up to `total`. */
static void
queues(const struct listen_group *g, int total, int q[3])
{
	int k, i;

	for (k = 0; k < 2000; k++) {
		for (i = 0; i < 3; i++)
			q[i] = listen_fd(g, i) >= 0 ? listen_queued(g, i) : 0;
		if (q[0] + q[1] + q[2] == total)
			return;
		poll(NULL, 0, 1);	/* the last ACKs are still on their way */
	}
	fail_msg("queues %d+%d+%d never reached %d", q[0], q[1], q[2], total);
}

static void
test_steer(void **state)
{
	struct listen_group g;
	char *err = NULL;
	int port, i, q[3], c[4 * NCONN];
	const int two[] = { 0, 2 }, last[] = { 2 }, middle[] = { 1 };

	(void)state;
	memset(&g, 0, sizeof g);
	port = port_of(listen_slot(&g, 0, "127.0.0.1", 0, &err));
	for (i = 1; i < 3; i++)
		assert_true(listen_slot(&g, i, "127.0.0.1", port, &err) >= 0);

	/* Slot 1 is being removed: nothing new lands there. */
	assert_int_equal(listen_steer(&g, two, 2, &err), 0);
	assert_null(err);
	connect_n(port, c, NCONN);
	queues(&g, NCONN, q);
	assert_int_equal(q[1], 0);
	assert_true(q[0] > 0 && q[2] > 0);	/* 2^-23 to fail by chance */

	/* Closing slot 0 moves slot 2 into its place in the kernel's array:
	 * steering to slot 2 still means slot 2. */
	listen_close(&g, 0);
	assert_int_equal(listen_steer(&g, last, 1, &err), 0);
	connect_n(port, c + NCONN, NCONN);
	queues(&g, NCONN + q[2], q);
	assert_int_equal(q[1], 0);

	/* And slot 1, now the second socket of the group, alone. */
	assert_int_equal(listen_steer(&g, middle, 1, &err), 0);
	connect_n(port, c + 2 * NCONN, NCONN);
	queues(&g, NCONN + q[2], q);
	assert_int_equal(q[1], NCONN);

	for (i = 0; i < 3 * NCONN; i++)
		close(c[i]);
	listen_close_all(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_share_a_port),
		cmocka_unit_test(test_plain_listener_blocks),
		cmocka_unit_test(test_bad_host),
		cmocka_unit_test(test_steer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Listening sockets for cluster slots: one SO_REUSEPORT socket per slot,
 * bound by wsd and kept for its whole life, so a connection queued on a
 * slot whose process restarts waits for the replacement instead of being
 * reset when a listener closes.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wsd.h"

int
listen_open(const char *host, int port, char **err)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, one = 1, family;

	*err = NULL;
	if (host == NULL || *host == '\0')
		host = "0.0.0.0";
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		family = AF_INET;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sl = sizeof *sin;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		family = AF_INET6;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sl = sizeof *sin6;
	} else {
		if (asprintf(err, "WS_HOST %s: not an IP address", host) < 0)
			*err = NULL;
		return -1;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    listen(fd, 511) < 0)
		goto fail;
	return fd;
fail:
	if (asprintf(err, "listen on %s:%d: %s", host, port,
	    strerror(errno)) < 0)
		*err = NULL;
	if (fd >= 0)
		close(fd);
	return -1;
}

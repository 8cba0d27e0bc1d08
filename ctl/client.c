/* wsctl's side of the control socket: connect, one request, its reply. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctlcmd.h"
#include "exitcodes.h"
#include "knob.h"
#include "proto.h"

/*
 * A daemon that accepts but never answers (stopped, wedged) must not hang
 * `wsctl status` in a monitoring script: the quick commands (common/
 * ctlcmd.c) give up after this long.  Commands that change things wait as
 * long as the daemon takes (stop waits out each app's kill_timeout).
 * Tests shorten it with WSCTL_TIMEOUT_MS.
 */
static int
client_timeout(const char *cmd)
{
	const struct ctlcmd *cc = ctlcmd_find(cmd);

	if (cc == NULL || !cc->quick)
		return -1;
	return (int)knob_or_default(KNOB_WSCTL_TIMEOUT_MS);
}

int
client_connect(struct ctl *ctl)
{
	struct sockaddr_un sun;
	int fd;

	if (ctl->fd != -1)
		return 0;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(ctl->sock) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, ctl->sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	ctl->fd = fd;
	ctl->rlen = 0;
	return 0;
}

void
client_close(struct ctl *ctl)
{
	if (ctl->fd != -1)
		close(ctl->fd);
	ctl->fd = -1;
	ctl->rlen = 0;
}

int
client_not_running(struct ctl *ctl)
{
	ctl_warn("daemon not running (no answer on %s)", ctl->sock);
	return EXIT_NODAEMON;
}

static int
client_write(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, s, n, MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= w;
	}
	return 0;
}

/*
 * Read one reply line (without '\n', malloc'd).  Bytes read past it stay
 * in ctl->rbuf for the next reply.  NULL on EOF or error.
 */
static char *
client_read_line(struct ctl *ctl, int timeout_ms)
{
	struct pollfd pfd;
	char *line = NULL, *nl, *nb;
	size_t len = 0, n;
	ssize_t r;
	int p;

	for (;;) {
		if (ctl->rlen > 0) {
			nl = memchr(ctl->rbuf, '\n', ctl->rlen);
			n = nl != NULL ? (size_t)(nl - ctl->rbuf) : ctl->rlen;
			if ((nb = realloc(line, len + n + 1)) == NULL) {
				free(line);
				return NULL;
			}
			line = nb;
			memcpy(line + len, ctl->rbuf, n);
			len += n;
			line[len] = '\0';
			if (nl != NULL)
				n++;
			memmove(ctl->rbuf, ctl->rbuf + n, ctl->rlen - n);
			ctl->rlen -= n;
			if (nl != NULL)
				return line;
		}
		pfd.fd = ctl->fd;
		pfd.events = POLLIN;
		if ((p = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
			continue;
		if (p == 0)
			errno = ETIMEDOUT;
		if (p <= 0) {
			free(line);
			return NULL;
		}
		r = read(ctl->fd, ctl->rbuf, sizeof ctl->rbuf);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(line);
			return NULL;
		}
		ctl->rlen = r;
	}
}

static int
client_error(struct ctl *ctl, json_t *err)
{
	const char *code, *msg;
	json_t *errors, *e;
	size_t i;

	code = json_string_value(json_object_get(err, "code"));
	msg = json_string_value(json_object_get(err, "msg"));
	snprintf(ctl->errcode, sizeof ctl->errcode, "%s",
	    code != NULL ? code : "unknown");
	if (code != NULL && strcmp(code, "config_error") == 0) {
		errors = json_object_get(err, "errors");
		if (json_array_size(errors) == 0 && msg != NULL)
			fprintf(stderr, "%s\n", msg);
		json_array_foreach(errors, i, e) {
			if (json_is_string(e))
				fprintf(stderr, "%s\n", json_string_value(e));
		}
		return EXIT_CONFIG;
	}
	ctl_warn("%s", msg != NULL ? msg : ctl->errcode);
	return EXIT_CMDFAIL;
}

int
client_call(struct ctl *ctl, const char *cmd, json_t *args, json_t **data)
{
	json_error_t jerr;
	json_t *reply, *id;
	char *line;
	long want;
	int rc;

	*data = NULL;
	ctl->errcode[0] = '\0';
	if (client_connect(ctl) == -1) {
		json_decref(args);
		return client_not_running(ctl);
	}
	want = ++ctl->next_id;
	if ((line = proto_request_line(want, cmd, args)) == NULL) {
		ctl_warn("out of memory");
		return EXIT_CMDFAIL;
	}
	rc = client_write(ctl->fd, line, strlen(line));
	free(line);
	if (rc == -1) {
		if (errno == EPIPE || errno == ECONNRESET)
			ctl_warn("%s: the daemon closed the connection "
			    "without answering %s", ctl->sock, cmd);
		else
			ctl_warn("%s: %s", ctl->sock, strerror(errno));
		client_close(ctl);
		return EXIT_CMDFAIL;
	}
	for (;;) {
		errno = 0;
		if ((line = client_read_line(ctl, client_timeout(cmd))) ==
		    NULL) {
			if (errno == ETIMEDOUT)
				ctl_warn("%s: no answer to %s within %d ms",
				    ctl->sock, cmd, client_timeout(cmd));
			else
				ctl_warn("%s: the daemon closed the connection "
				    "without answering %s", ctl->sock, cmd);
			client_close(ctl);
			return EXIT_CMDFAIL;
		}
		reply = json_loads(line, 0, &jerr);
		free(line);
		if (reply == NULL || !json_is_object(reply)) {
			ctl_warn("bad reply from the daemon: %s", reply == NULL ?
			    jerr.text : "not an object");
			json_decref(reply);
			client_close(ctl);
			return EXIT_CMDFAIL;
		}
		id = json_object_get(reply, "id");
		if (json_is_integer(id) && json_integer_value(id) == want)
			break;
		json_decref(reply);	/* a reply to an earlier request */
	}
	if (json_is_true(json_object_get(reply, "ok"))) {
		*data = json_object_get(reply, "data");
		*data = *data != NULL ? json_incref(*data) : json_object();
		rc = 0;
	} else
		rc = client_error(ctl, json_object_get(reply, "error"));
	json_decref(reply);
	return rc;
}

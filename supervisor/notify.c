/* The sd_notify datagram protocol and the watchdog keep-alive, without libsystemd. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "notify.h"

/*
 * systemd (or anything that speaks its protocol) passes the address of a
 * unix datagram socket in NOTIFY_SOCKET: a path, or "@name" for the abstract
 * namespace.  Each state change is one datagram of "KEY=value" lines; the
 * kernel attaches our credentials, which is how the receiver knows the
 * message comes from the main pid.  The variables are removed from our
 * environment once read so that the instances wsd spawns (redis-server with
 * "supervised auto", say) never talk to the service manager in our name.
 */
static int			notify_fd = -1;
static struct sockaddr_un	notify_addr;
static socklen_t		notify_addrlen;
static uv_timer_t		notify_timer;
static int			notify_timer_on;
/* What was taken out of the environment, for a re-exec of wsd itself. */
static const char *const	notify_vars[] = {
	"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", NULL,
};
static char			*notify_saved[4];

static void
notify_watchdog_cb(uv_timer_t *t)
{
	(void)t;
	notify_send("WATCHDOG=1");
}

/* The keep-alive period from WATCHDOG_USEC/WATCHDOG_PID, 0 when off. */
static uint64_t
notify_watchdog_ms(void)
{
	const char *s, *p;
	char *end;
	unsigned long long usec;
	long pid;

	if ((s = getenv("WATCHDOG_USEC")) == NULL || *s == '\0')
		return 0;
	errno = 0;
	usec = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || usec == 0) {
		log_warn("notify: ignoring WATCHDOG_USEC=%s", s);
		return 0;
	}
	if ((p = getenv("WATCHDOG_PID")) != NULL && *p != '\0') {
		errno = 0;
		pid = strtol(p, &end, 10);
		if (errno != 0 || *end != '\0' || pid <= 0) {
			log_warn("notify: ignoring WATCHDOG_PID=%s", p);
			return 0;
		}
		if ((pid_t)pid != getpid())
			return 0;	/* meant for another process */
	}
	/* Half the timeout, as sd_watchdog_enabled(3) advises; at least 1 ms. */
	usec /= 2;
	return usec < 1000 ? 1 : usec / 1000;
}

static void
notify_saved_free(void)
{
	size_t i;

	for (i = 0; notify_saved[i] != NULL; i++) {
		free(notify_saved[i]);
		notify_saved[i] = NULL;
	}
}

/* Out of the environment (the instances inherit it), kept for a re-exec. */
static void
notify_take_env(void)
{
	const char *v;
	size_t i, k = 0;

	notify_saved_free();
	for (i = 0; notify_vars[i] != NULL; i++) {
		if ((v = getenv(notify_vars[i])) != NULL &&
		    asprintf(&notify_saved[k], "%s=%s", notify_vars[i], v) >= 0)
			k++;
		unsetenv(notify_vars[i]);
	}
}

int
notify_init(uv_loop_t *loop)
{
	const char *s;
	size_t len;
	uint64_t ms;
	int r;

	if (notify_fd != -1)
		return 0;
	if ((s = getenv("NOTIFY_SOCKET")) == NULL || *s == '\0')
		return 0;

	memset(&notify_addr, 0, sizeof notify_addr);
	notify_addr.sun_family = AF_UNIX;
	len = strlen(s);
	if ((s[0] != '/' && s[0] != '@') || len < 2 ||
	    len >= sizeof notify_addr.sun_path) {
		log_error("notify: NOTIFY_SOCKET=%s: not a socket path or "
		    "@abstract name", s);
		return -1;
	}
	memcpy(notify_addr.sun_path, s, len);
	if (s[0] == '@')
		notify_addr.sun_path[0] = '\0';	/* abstract: no trailing NUL */
	else
		len++;				/* path: count the NUL */
	notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len);

	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (notify_fd == -1) {
		log_error("notify: socket: %s", strerror(errno));
		return -1;
	}

	ms = notify_watchdog_ms();
	notify_take_env();

	if (ms != 0 && loop != NULL) {
		if ((r = uv_timer_init(loop, &notify_timer)) != 0) {
			log_error("notify: watchdog timer: %s", uv_strerror(r));
			return 0;
		}
		uv_timer_start(&notify_timer, notify_watchdog_cb, ms, ms);
		/* The keep-alive alone must not keep the loop running. */
		uv_unref((uv_handle_t *)&notify_timer);
		notify_timer_on = 1;
		log_info("notify: watchdog keep-alive every %llu ms",
		    (unsigned long long)ms);
	}
	return 0;
}

int
notify_send(const char *state)
{
	ssize_t n;

	if (notify_fd == -1)
		return 0;
	do
		n = sendto(notify_fd, state, strlen(state), MSG_NOSIGNAL,
		    (struct sockaddr *)&notify_addr, notify_addrlen);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		/* Logged at debug: the watchdog would repeat it every tick. */
		log_debug("notify: send %s: %s", state, strerror(errno));
		return -1;
	}
	return 0;
}

char *const *
notify_environ(void)
{
	return notify_saved;
}

void
notify_close(void)
{
	if (notify_timer_on) {
		uv_timer_stop(&notify_timer);
		uv_close((uv_handle_t *)&notify_timer, NULL);
		notify_timer_on = 0;
	}
	if (notify_fd != -1) {
		close(notify_fd);
		notify_fd = -1;
	}
	notify_saved_free();
}

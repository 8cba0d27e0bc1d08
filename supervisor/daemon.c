/*
 * The daemon's place on the filesystem and in the process tree: the home
 * folder, the locked pid file (one daemon per home), the control socket
 * file, and detaching from the terminal.
 *
 * Everything that can fail for a reason the user must see (another daemon,
 * a bad home) happens before detaching, and the socket is already
 * listening when the first process exits, so `wsctl start` can connect as
 * soon as `wsd` returns: connections wait in the backlog until the loop
 * runs.  The flock is held through an fd that survives both forks.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "wsd.h"

static int	daemon_pidfd = -1;
static int	daemon_readyfd = -1;
static char	daemon_sockpath[PATH_MAX];
static char	daemon_pidpath[PATH_MAX];

int
daemon_home(const char *home, char **err)
{
	char logs[PATH_MAX];

	*err = NULL;
	if (fsutil_mkdirs(home, 0700, err) < 0)
		return -1;
	snprintf(logs, sizeof logs, "%s/logs", home);
	return fsutil_mkdirs(logs, 0755, err);
}

int
daemon_lock(const char *home, char **err)
{
	char buf[32];
	ssize_t n;

	*err = NULL;
	snprintf(daemon_pidpath, sizeof daemon_pidpath, "%s/wsd.pid", home);
	daemon_pidfd = open(daemon_pidpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (daemon_pidfd < 0) {
		if (asprintf(err, "%s: %s", daemon_pidpath, strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	if (flock(daemon_pidfd, LOCK_EX | LOCK_NB) < 0) {
		n = pread(daemon_pidfd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (asprintf(err, "another wsd%s%s%s is running on %s",
		    *buf ? " (pid " : "", buf, *buf ? ")" : "", home) < 0)
			*err = NULL;
		close(daemon_pidfd);
		daemon_pidfd = -1;
		return -1;
	}
	return 0;
}

int
daemon_lock_fd(void)
{
	return daemon_pidfd;
}

void
daemon_resume(const char *home, int lockfd)
{
	daemon_pidfd = lockfd;
	snprintf(daemon_pidpath, sizeof daemon_pidpath, "%s/wsd.pid", home);
	snprintf(daemon_sockpath, sizeof daemon_sockpath, "%s/wsd.sock", home);
}

int
daemon_write_pid(void)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (ftruncate(daemon_pidfd, 0) < 0 ||
	    pwrite(daemon_pidfd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

/* Socket permissions: 0600, or WSD_SOCKET_GROUP (0660) / WSD_SOCKET_MODE. */
static int
daemon_socket_perms(const char *path, char **err)
{
	const char *grp = getenv("WSD_SOCKET_GROUP");
	const char *m = getenv("WSD_SOCKET_MODE");
	mode_t mode = 0600;
	struct group *g;
	char *end;

	if (grp != NULL && *grp != '\0') {
		if ((g = getgrnam(grp)) == NULL) {
			if (asprintf(err, "WSD_SOCKET_GROUP %s: no such group",
			    grp) < 0)
				*err = NULL;
			return -1;
		}
		if (chown(path, (uid_t)-1, g->gr_gid) < 0)
			goto fail;
		mode = 0660;
	}
	if (m != NULL && *m != '\0') {
		mode = (mode_t)strtoul(m, &end, 8);
		if (*end != '\0' || mode > 0777) {
			if (asprintf(err, "WSD_SOCKET_MODE %s: not an octal mode",
			    m) < 0)
				*err = NULL;
			return -1;
		}
	}
	if (chmod(path, mode) < 0)
		goto fail;
	return 0;
fail:
	if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
		*err = NULL;
	return -1;
}

int
daemon_socket(const char *home, char **err)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, probe, rc;

	*err = NULL;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s/wsd.sock",
	    home) >= sizeof sun.sun_path) {
		if (asprintf(err, "%s/wsd.sock: path too long for a socket",
		    home) < 0)
			*err = NULL;
		return -1;
	}
	snprintf(daemon_sockpath, sizeof daemon_sockpath, "%s", sun.sun_path);

	/* A socket file may be a live daemon's (another home lock) or stale. */
	if (access(sun.sun_path, F_OK) == 0) {
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		rc = probe >= 0 ? connect(probe, (struct sockaddr *)&sun,
		    sizeof sun) : -1;
		if (probe >= 0)
			close(probe);
		if (rc == 0) {
			if (asprintf(err, "%s: a daemon already answers there",
			    sun.sun_path) < 0)
				*err = NULL;
			daemon_sockpath[0] = '\0';
			return -1;
		}
		unlink(sun.sun_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	/* No window where the socket exists with looser permissions. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (rc < 0)
		goto fail;
	if (daemon_socket_perms(sun.sun_path, err) < 0) {
		close(fd);
		return -1;
	}
	if (listen(fd, 128) < 0)
		goto fail;
	return fd;
fail:
	if (asprintf(err, "%s: %s", sun.sun_path, strerror(errno)) < 0)
		*err = NULL;
	if (fd >= 0)
		close(fd);
	return -1;
}

int
daemon_detach(void)
{
	int p[2], nul;
	unsigned char st = 1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		/* The first process: exit with what the daemon reports. */
		close(p[1]);
		while (read(p[0], &st, 1) < 0 && errno == EINTR)
			;
		_exit(st);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	if ((pid = fork()) < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);	/* the session leader goes: no controlling tty ever */
	if (chdir("/") < 0)
		_exit(1);
	if ((nul = open("/dev/null", O_RDWR)) >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	daemon_readyfd = p[1];
	return 0;
}

void
daemon_ready(int status)
{
	unsigned char st = (unsigned char)status;

	if (daemon_readyfd < 0)
		return;
	while (write(daemon_readyfd, &st, 1) < 0 && errno == EINTR)
		;
	close(daemon_readyfd);
	daemon_readyfd = -1;
}

int
daemon_open_log(const char *home)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof path, "%s/wsd.log", home);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	dup2(fd, 1);	/* stray stderr output lands in wsd.log too */
	dup2(fd, 2);
	close(fd);
	return 0;
}

void
daemon_cleanup(void)
{
	if (daemon_sockpath[0] != '\0')
		unlink(daemon_sockpath);
	if (daemon_pidfd >= 0) {
		unlink(daemon_pidpath);
		close(daemon_pidfd);
		daemon_pidfd = -1;
	}
}

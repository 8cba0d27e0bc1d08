/*
 * Filesystem helpers: careful file writing (no symlink following, exact
 * mode, fsync before use), capped non-blocking reads, mkdir -p, the
 * running program's folder and the default home.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

int
fsutil_write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	const char *p = buf;
	size_t off = 0;
	ssize_t n;
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd == -1)
		return -1;
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		off += (size_t)n;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(path);
	errno = saved;
	return -1;
}

static int
fsutil_mkdirs_fail(const char *what, char **err)
{
	int saved = errno;

	if (err != NULL && asprintf(err, "%s: %s", what, strerror(saved)) < 0)
		*err = NULL;
	errno = saved;
	return -1;
}

int
fsutil_mkdirs(const char *dir, mode_t mode, char **err)
{
	char buf[PATH_MAX], *s;

	if (err != NULL)
		*err = NULL;
	if (*dir == '\0') {
		errno = ENOENT;
		return fsutil_mkdirs_fail(dir, err);
	}
	if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return fsutil_mkdirs_fail(dir, err);
	}
	/* "home/" is home: it gets `mode`, not a parent's 0755. */
	for (s = buf + strlen(buf); s > buf + 1 && s[-1] == '/'; s--)
		s[-1] = '\0';
	/* Each prefix in turn; the last one, dir itself, gets `mode`. */
	for (s = buf + 1; ; s++) {
		if ((s = strchr(s, '/')) != NULL)
			*s = '\0';
		if (mkdir(buf, s == NULL ? mode : 0755) == -1 &&
		    errno != EEXIST)
			return fsutil_mkdirs_fail(buf, err);
		if (s == NULL)
			return 0;
		*s = '/';
	}
}

int
fsutil_mkdirs_for(const char *file)
{
	char dir[PATH_MAX];
	const char *slash = file != NULL ? strrchr(file, '/') : NULL;

	if (slash == NULL || slash == file)
		return 0;	/* the current folder, or "/" */
	if ((size_t)(slash - file) >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, file, slash - file);
	dir[slash - file] = '\0';
	return fsutil_mkdirs(dir, 0755, NULL);
}

int
fsutil_self_dir(char *buf, size_t len)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) <= 0)
		return -1;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL) {
		errno = ENOENT;	/* not a path: cannot tell */
		return -1;
	}
	*slash = '\0';
	if (strlen(self) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, self, strlen(self) + 1);
	return 0;
}

int
fsutil_home_of(char *buf, size_t len, const char *user_home)
{
	/* No home at all: "/.wsd", as "%s/.wsd" of "/" would name it. */
	if (user_home == NULL)
		user_home = "";
	if (snprintf(buf, len, "%s/.wsd", user_home) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
fsutil_home(char *buf, size_t len)
{
	const char *home = getenv("WSD_HOME");

	if (home == NULL || *home == '\0')
		return fsutil_home_of(buf, len, getenv("HOME"));
	if (snprintf(buf, len, "%s", home) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
void
fsutil_size_text(size_t n, char *buf, size_t len)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(buf, len, "%zu MiB", n / (1024 * 1024));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, len, "%zu KiB", n / 1024);
	else
		snprintf(buf, len, "%zu bytes", n);
}

int
fsutil_read_file(const char *path, size_t cap, char **out, size_t *len,
    mode_t *mode, char *why, size_t whylen)
{
	struct stat st;
	char *buf = NULL, *nb, captext[32];
	size_t got = 0, size;
	ssize_t r;
	int fd, saved;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 || fstat(fd, &st) == -1)
		goto fail_errno;
	if (mode != NULL)
		*mode = st.st_mode;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s", S_ISDIR(st.st_mode) ?
		    strerror(EISDIR) : "not a regular file");
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* st_size is a hint (the file may change): the reads decide. */
	size = (size_t)st.st_size < cap ? (size_t)st.st_size : cap;
	if ((buf = malloc(size + 2)) == NULL)
		goto fail_errno;
	for (;;) {
		if (got == size + 1) {
			if (got > cap)
				break;
			size = size * 2 + 64 < cap ? size * 2 + 64 : cap;
			if ((nb = realloc(buf, size + 2)) == NULL)
				goto fail_errno;
			buf = nb;
		}
		r = read(fd, buf + got, size + 1 - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail_errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got > cap) {
		fsutil_size_text(cap, captext, sizeof captext);
		snprintf(why, whylen, "larger than the %s cap", captext);
		explicit_bzero(buf, got);
		free(buf);
		errno = EFBIG;
		return -1;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;

fail_errno:
	saved = errno;
	snprintf(why, whylen, "%s", strerror(saved));
	if (buf != NULL) {
		explicit_bzero(buf, got);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}

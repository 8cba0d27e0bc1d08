/* Careful file access: exact-mode fsync'ed writes, capped non-blocking reads. */
#include <errno.h>
#include <fcntl.h>
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

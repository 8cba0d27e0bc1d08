/*
 * Careful file access: writing the state files (dump.json, boot units) and
 * reading the files a config names (env_file, secrets).
 */
#ifndef WSD_FSUTIL_H
#define WSD_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Create (or truncate) `path` without following a symlink, write all of
 * buf, set `mode` exactly (the umask must not narrow it) and fsync.  On
 * failure the file is removed and -1 returned with errno.  Callers make it
 * atomic by writing "X.new" and renaming it over X.
 */
int	fsutil_write_file(const char *path, const void *buf, size_t len,
	    mode_t mode);

/*
 * Read a regular file of at most `cap` bytes into a malloc'd, NUL-terminated
 * buffer (*out, *len; *mode gets st_mode when not NULL).  The file is opened
 * O_NONBLOCK, so a FIFO or a device never blocks the caller (the
 * supervisor's event loop), and at most cap + 1 bytes are read, so
 * /dev/zero or a huge file cannot grow the caller.  On failure returns -1
 * with a short reason in `why` ("not a regular file", "larger than the
 * 1 MiB cap", or strerror) and errno set (ENOENT for a missing file).
 */
int	fsutil_read_file(const char *path, size_t cap, char **out,
	    size_t *len, mode_t *mode, char *why, size_t whylen);
/* "1 MiB", "64 KiB", "100 bytes": a cap as messages name it. */
void	fsutil_size_text(size_t n, char *buf, size_t len);

#endif

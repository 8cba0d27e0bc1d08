/* Careful file writing shared by the state files (dump.json, boot units). */
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

#endif

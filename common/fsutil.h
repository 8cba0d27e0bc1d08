/*
 * Small filesystem helpers shared by the programs: careful file writing
 * (dump.json, boot units), reading the files a config names (env_file,
 * secrets) with a cap and without blocking, mkdir -p, the folder of the
 * running program and the default home.
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
 * mkdir -p: create `dir` with `mode` and each missing parent with 0755
 * (an existing one is left as it is).  -1 with errno on failure, and when
 * `err` is not NULL a malloc'd "PREFIX: reason" naming the folder that
 * could not be made (NULL if that string could not be made either).
 */
int	fsutil_mkdirs(const char *dir, mode_t mode, char **err);

/* mkdir -p of the folder `file` goes in (0755); -1 with errno. */
int	fsutil_mkdirs_for(const char *file);

/*
 * The folder holding the running program (/proc/self/exe), without a
 * trailing slash: "" when the program is in "/", so "%s/name" is always
 * the program next to it.  -1 with errno when it cannot be told.
 */
int	fsutil_self_dir(char *buf, size_t len);

/*
 * The home (SPEC: $WSD_HOME, else ~/.wsd): fsutil_home reads the
 * environment; fsutil_home_of names the default home of a user whose home
 * folder is `user_home` ("<user_home>/.wsd").  -1 (ENAMETOOLONG) when it
 * does not fit in buf.
 */
int	fsutil_home(char *buf, size_t len);
int	fsutil_home_of(char *buf, size_t len, const char *user_home);

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

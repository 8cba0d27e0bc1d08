/*
 * Log capture: each instance's stdout and stderr pipes are read on the loop
 * and appended to their log files, with an optional time prefix per line
 * and built-in size rotation (name.1 … name.N).
 *
 * Files are shared by path (merge_logs, or log_file next to out_file), so
 * rotation and reopening happen once per file whatever the number of
 * writers.  A stream outlives its instance until the pipe reaches EOF, so
 * the last lines of a dying process are never lost.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "datefmt.h"
#include "handover.h"
#include "log.h"
#include "wsd.h"
#include "xmalloc.h"

struct logfile {
	char			*path;
	int			 fd;
	uint64_t		 size;
	uint64_t		 max_size;
	int			 retain;
	int			 rotate;	/* a regular file: size rotation applies */
	int			 refs;
	LIST_ENTRY(logfile)	 entry;
};

struct logstream {
	uv_pipe_t		 pipe;
	struct logfile		*file;
	struct logfile		*also;
	int			 time;
	char			*datefmt;
	int			 at_bol;
	LIST_ENTRY(logstream)	 entry;
};

static LIST_HEAD(, logfile) logcap_files = LIST_HEAD_INITIALIZER(logcap_files);
/* The streams reading now (a hand-over names each one). */
static LIST_HEAD(, logstream) logcap_streams =
    LIST_HEAD_INITIALIZER(logcap_streams);

static int
logcap_fopen(struct logfile *lf)
{
	struct stat st;

	/*
	 * /dev/stdout and /dev/stderr mean wsd's own (a container's log
	 * driver): reopening them through /proc fails with EACCES when wsd
	 * runs as another user than the one that made the pipe, so the
	 * descriptors are duplicated instead.
	 */
	if (strcmp(lf->path, "/dev/stdout") == 0)
		lf->fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
	else if (strcmp(lf->path, "/dev/stderr") == 0)
		lf->fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	else
		lf->fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0644);
	if (lf->fd < 0) {
		log_json(LOG_ERROR, json_pack("{ss}", "path", lf->path),
		    "cannot open log file: %s", strerror(errno));
		return -1;
	}
	if (fstat(lf->fd, &st) == 0 && S_ISREG(st.st_mode))
		lf->size = (uint64_t)st.st_size;
	else
		lf->rotate = 0;	/* a pipe, a tty, /dev/null: never rotated */
	return 0;
}

static struct logfile *
logcap_file_get(const char *path, uint64_t max_size, int retain)
{
	struct logfile *lf;

	LIST_FOREACH(lf, &logcap_files, entry) {
		if (strcmp(lf->path, path) == 0) {
			lf->refs++;
			return lf;
		}
	}
	lf = xcalloc(1, sizeof *lf);
	lf->path = xstrdup(path);
	lf->max_size = max_size;
	lf->retain = retain;
	lf->rotate = 1;
	lf->refs = 1;
	logcap_fopen(lf);
	LIST_INSERT_HEAD(&logcap_files, lf, entry);
	return lf;
}

static void
logcap_file_put(struct logfile *lf)
{
	if (lf == NULL || --lf->refs > 0)
		return;
	LIST_REMOVE(lf, entry);
	if (lf->fd >= 0)
		close(lf->fd);
	free(lf->path);
	free(lf);
}

static void
logcap_rotate(struct logfile *lf)
{
	char from[4096], to[4096];
	int i;

	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
	if (lf->retain <= 0)
		unlink(lf->path);
	for (i = lf->retain - 1; i >= 1; i--) {
		snprintf(from, sizeof from, "%s.%d", lf->path, i);
		snprintf(to, sizeof to, "%s.%d", lf->path, i + 1);
		rename(from, to);	/* a missing one is fine */
	}
	if (lf->retain > 0) {
		snprintf(to, sizeof to, "%s.1", lf->path);
		rename(lf->path, to);
	}
	logcap_fopen(lf);
}

static void
logcap_fwrite_raw(struct logfile *lf, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0 && lf->fd >= 0) {
		w = write(lf->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;	/* disk full: drop rather than block the loop */
		}
		p += w;
		n -= (size_t)w;
		lf->size += (uint64_t)w;
	}
}

/* Append, rotating after the last whole line that reaches max_size. */
static void
logcap_fwrite(struct logfile *lf, const char *p, size_t n)
{
	const char *nl;
	size_t head;

	if (lf == NULL || lf->fd < 0 || n == 0)
		return;
	if (lf->rotate && lf->max_size > 0 && lf->size + n >= lf->max_size) {
		if ((nl = memrchr(p, '\n', n)) != NULL) {
			head = (size_t)(nl - p) + 1;
			logcap_fwrite_raw(lf, p, head);
			if (lf->size >= lf->max_size)
				logcap_rotate(lf);
			p += head;
			n -= head;
		} else if (lf->size >= 2 * lf->max_size)
			logcap_rotate(lf);	/* a line that never ends */
	}
	logcap_fwrite_raw(lf, p, n);
}

static void
logcap_emit(struct logstream *ls, const char *p, size_t n)
{
	logcap_fwrite(ls->file, p, n);
	if (ls->also != ls->file)
		logcap_fwrite(ls->also, p, n);
}

static size_t
logcap_prefix(struct logstream *ls, char *buf, size_t len)
{
	struct timespec now;
	struct tm tm;
	size_t n;

	if (ls->datefmt != NULL) {
		clock_gettime(CLOCK_REALTIME, &now);
		localtime_r(&now.tv_sec, &tm);
		n = datefmt_format(buf, len - 2, ls->datefmt, &tm,
		    (int)(now.tv_nsec / 1000000));
	} else {
		log_timestamp(buf, len - 2);
		n = strlen(buf);
	}
	buf[n++] = ':';
	buf[n++] = ' ';
	return n;
}

static void
logcap_close_cb(uv_handle_t *h)
{
	struct logstream *ls = h->data;

	LIST_REMOVE(ls, entry);
	logcap_file_put(ls->file);
	logcap_file_put(ls->also);
	free(ls->datefmt);
	free(ls);
}

static void
logcap_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct logstream *ls = s->data;
	const char *p, *nl;
	char pre[256];
	size_t left, chunk;

	if (nread < 0) {
		uv_close((uv_handle_t *)s, logcap_close_cb);
		return;
	}
	if (!ls->time && ls->datefmt == NULL) {
		logcap_emit(ls, buf->base, (size_t)nread);
		return;
	}
	p = buf->base;
	left = (size_t)nread;
	while (left > 0) {
		if (ls->at_bol)
			logcap_emit(ls, pre, logcap_prefix(ls, pre, sizeof pre));
		nl = memchr(p, '\n', left);
		chunk = nl != NULL ? (size_t)(nl - p) + 1 : left;
		logcap_emit(ls, p, chunk);
		ls->at_bol = nl != NULL;
		p += chunk;
		left -= chunk;
	}
}

int
logcap_attach(int fd, const char *path, const char *also, int time,
    const char *datefmt, uint64_t max_size, int retain)
{
	struct logstream *ls;

	ls = xcalloc(1, sizeof *ls);
	ls->file = logcap_file_get(path, max_size, retain);
	ls->also = also != NULL ? logcap_file_get(also, max_size, retain) : NULL;
	ls->time = time;
	ls->datefmt = datefmt != NULL ? xstrdup(datefmt) : NULL;
	ls->at_bol = 1;
	uv_pipe_init(wsd_loop, &ls->pipe, 0);
	ls->pipe.data = ls;
	LIST_INSERT_HEAD(&logcap_streams, ls, entry);
	if (uv_pipe_open(&ls->pipe, fd) != 0)
		close(fd);	/* not the handle's yet */
	else if (uv_read_start((uv_stream_t *)&ls->pipe, wsd_read_alloc_cb,
	    logcap_read_cb) == 0)
		return 0;
	uv_close((uv_handle_t *)&ls->pipe, logcap_close_cb);
	return -1;
}

/* SIGUSR2, reloadLogs: wsd.log (when detached) and every instance log. */
void
logcap_reopen_all(void)
{
	struct logfile *lf;

	if (!wsd_foreground)
		daemon_open_log(wsd_home);
	LIST_FOREACH(lf, &logcap_files, entry) {
		if (lf->fd >= 0)
			close(lf->fd);
		logcap_fopen(lf);
	}
	log_info("log files reopened");
}

int
logcap_truncate(const char *path)
{
	struct logfile *lf;

	LIST_FOREACH(lf, &logcap_files, entry) {
		if (strcmp(lf->path, path) == 0 && lf->fd >= 0) {
			lf->size = 0;
			return ftruncate(lf->fd, 0);
		}
	}
	if (truncate(path, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int
logcap_export(struct handover_log **out, size_t *n)
{
	struct logstream *ls;
	struct handover_log *v;
	uv_os_fd_t fd;
	size_t cnt = 0;

	LIST_FOREACH(ls, &logcap_streams, entry)
		cnt++;
	v = xcalloc(cnt + 1, sizeof *v);
	*n = 0;
	LIST_FOREACH(ls, &logcap_streams, entry) {
		if (uv_is_closing((uv_handle_t *)&ls->pipe) ||
		    uv_fileno((uv_handle_t *)&ls->pipe, &fd) != 0)
			continue;	/* at EOF already: nothing more comes */
		v[*n].fd = fd;
		v[*n].path = xstrdup(ls->file->path);
		v[*n].also = ls->also != NULL ? xstrdup(ls->also->path) : NULL;
		v[*n].time = ls->time;
		v[*n].datefmt = ls->datefmt != NULL ? xstrdup(ls->datefmt) :
		    NULL;
		v[*n].max_size = ls->file->max_size;
		v[*n].retain = ls->file->retain;
		v[(*n)++].at_bol = ls->at_bol;
	}
	*out = v;
	return 0;
}

int
logcap_adopt(const struct handover_log *l)
{
	struct logstream *ls;

	if (logcap_attach(l->fd, l->path, l->also, l->time, l->datefmt,
	    l->max_size, l->retain) < 0)
		return -1;
	/* The newest stream is at the head: carry where its line stands. */
	if ((ls = LIST_FIRST(&logcap_streams)) != NULL)
		ls->at_bol = l->at_bol;
	return 0;
}

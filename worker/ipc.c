/* The wsd ⇄ worker IPC channel: ready, periodic stats, the drain command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipc.h"
#include "linebuf.h"
#include "log.h"

struct ipc_write {
	uv_write_t	 req;
	char		 data[];
};

static uv_loop_t	*ipc_loop;
static uv_pipe_t	 ipc_pipe;
static uv_timer_t	 ipc_timer;
static struct linebuf	 ipc_lb;
static int		 ipc_on;
static ipc_stats_cb	 ipc_stats;
static ipc_drain_cb	 ipc_drain;
static void		*ipc_arg;

static void
ipc_write_cb(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

static void
ipc_send(json_t *v)
{
	struct ipc_write	*w;
	char			*line;
	size_t			 len;
	uv_buf_t		 b;
	int			 n;

	if (!ipc_on || v == NULL) {
		json_decref(v);
		return;
	}
	line = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (line == NULL)
		return;
	len = strlen(line);
	line[len++] = '\n';	/* json_dumps leaves room for the NUL */
	b = uv_buf_init(line, (unsigned int)len);
	n = uv_try_write((uv_stream_t *)&ipc_pipe, &b, 1);
	if (n < 0 && n != UV_EAGAIN) {
		free(line);
		return;
	}
	if (n < 0)
		n = 0;
	if ((size_t)n < len && (w = malloc(sizeof *w + len - n)) != NULL) {
		memcpy(w->data, line + n, len - n);
		b = uv_buf_init(w->data, (unsigned int)(len - n));
		if (uv_write(&w->req, (uv_stream_t *)&ipc_pipe, &b, 1,
		    ipc_write_cb) != 0)
			free(w);
	}
	free(line);
}

static int
ipc_line_cb(void *arg, char *line, size_t len)
{
	json_t		*v;
	const char	*cmd;

	(void)arg;
	if (line == NULL)
		return 0;	/* over the cap: ignored */
	v = json_loadb(line, len, 0, NULL);
	cmd = json_string_value(json_object_get(v, "cmd"));
	if (cmd != NULL && strcmp(cmd, "drain") == 0) {
		log_info("drain asked by wsd");
		json_decref(v);
		ipc_drain(ipc_arg);
		return 0;
	}
	if (cmd != NULL)
		log_warn("ipc: unknown command \"%s\"", cmd);
	json_decref(v);
	return 0;
}

static void
ipc_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char	buf[4096];

	(void)h;
	(void)hint;
	*b = uv_buf_init(buf, sizeof buf);
}

static void
ipc_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)s;
	if (n > 0) {
		linebuf_feed(&ipc_lb, b->base, (size_t)n, ipc_line_cb, NULL);
		return;
	}
	if (n < 0) {
		/* wsd is gone; PR_SET_PDEATHSIG ends us if it died */
		log_warn("ipc channel closed: %s", uv_strerror((int)n));
		ipc_close();
	}
}

void
ipc_send_stats(void)
{
	json_t	*stats;

	if (!ipc_on)
		return;
	if ((stats = ipc_stats(ipc_arg)) != NULL)
		ipc_send(json_pack("{s:o}", "stats", stats));
}

static void
ipc_timer_cb(uv_timer_t *t)
{
	(void)t;
	ipc_send_stats();
}

int
ipc_open(uv_loop_t *loop, uint64_t interval_ms, ipc_stats_cb stats,
    ipc_drain_cb drain, void *arg, char **err)
{
	const char	*s;
	char		*end;
	long		 fd;
	int		 type;
	socklen_t	 len = sizeof type;

	ipc_loop = loop;
	ipc_stats = stats;
	ipc_drain = drain;
	ipc_arg = arg;
	if ((s = getenv("WSD_IPC_FD")) == NULL || *s == '\0')
		return 0;
	fd = strtol(s, &end, 10);
	if (*end != '\0' || fd < 0 || fd > 65535 ||
	    getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
		if (asprintf(err, "WSD_IPC_FD=%s: not a socket", s) < 0)
			*err = NULL;
		return -1;
	}
	linebuf_init(&ipc_lb, LINEBUF_MAX);
	uv_pipe_init(loop, &ipc_pipe, 0);
	if (uv_pipe_open(&ipc_pipe, (int)fd) != 0) {
		if (asprintf(err, "WSD_IPC_FD=%s: cannot use it", s) < 0)
			*err = NULL;
		return -1;
	}
	uv_read_start((uv_stream_t *)&ipc_pipe, ipc_alloc_cb, ipc_read_cb);
	uv_unref((uv_handle_t *)&ipc_pipe);
	uv_timer_init(loop, &ipc_timer);
	uv_unref((uv_handle_t *)&ipc_timer);
	if (interval_ms > 0)
		uv_timer_start(&ipc_timer, ipc_timer_cb, interval_ms,
		    interval_ms);
	ipc_on = 1;
	return 0;
}

void
ipc_ready(void)
{
	ipc_send(json_pack("{s:b}", "ready", 1));
	ipc_send_stats();
}

void
ipc_close(void)
{
	if (!ipc_on)
		return;
	ipc_on = 0;
	uv_timer_stop(&ipc_timer);
	uv_close((uv_handle_t *)&ipc_timer, NULL);
	uv_read_stop((uv_stream_t *)&ipc_pipe);
	uv_close((uv_handle_t *)&ipc_pipe, NULL);
	linebuf_free(&ipc_lb);
}

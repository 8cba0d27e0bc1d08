/* The link to wsd, our parent: ready, periodic stats, drain, hot settings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipcmsg.h"
#include "linebuf.h"
#include "log.h"
#include "parent.h"
#include "proto.h"

struct parent_write {
	uv_write_t	 req;
	char		 data[];
};

static uv_loop_t	*parent_loop;
static uv_pipe_t	 parent_pipe;
static uv_timer_t	 parent_timer;
static struct linebuf	 parent_lb;
static int		 parent_on;
static parent_stats_cb	 parent_stats;
static parent_drain_cb	 parent_drain;
static parent_settings_cb parent_settings;
static void		*parent_arg;

static void
parent_write_cb(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

static void
parent_send(json_t *v)
{
	struct parent_write	*w;
	char			*line;
	size_t			 len;
	uv_buf_t		 b;
	int			 n;

	line = parent_on && v != NULL ? proto_line(v) : NULL;
	json_decref(v);
	if (line == NULL)
		return;
	len = strlen(line);
	b = uv_buf_init(line, (unsigned int)len);
	n = uv_try_write((uv_stream_t *)&parent_pipe, &b, 1);
	if (n < 0 && n != UV_EAGAIN) {
		free(line);
		return;
	}
	if (n < 0)
		n = 0;
	if ((size_t)n < len && (w = malloc(sizeof *w + len - n)) != NULL) {
		memcpy(w->data, line + n, len - n);
		b = uv_buf_init(w->data, (unsigned int)(len - n));
		if (uv_write(&w->req, (uv_stream_t *)&parent_pipe, &b, 1,
		    parent_write_cb) != 0)
			free(w);
	}
	free(line);
}

static int
parent_line_cb(void *arg, char *line, size_t len)
{
	struct ipcmsg	 m;
	json_t		*v;

	(void)arg;
	if (line == NULL)
		return 0;	/* over the cap: ignored */
	v = ipcmsg_parse(line, len, &m);
	if (m.cmd == IPCMSG_CMD_DRAIN) {
		log_info("drain asked by wsd");
		json_decref(v);
		parent_drain(parent_arg);
		return 0;
	}
	if (m.settings != NULL) {
		const char *err = NULL;

		if (parent_settings(parent_arg, m.settings, &err) == 0) {
			log_info("hot settings applied");
			parent_send(ipcmsg_settings_ack(NULL));
		} else {
			log_warn("hot settings refused: %s", err);
			parent_send(ipcmsg_settings_ack(err));
		}
	}
	if (m.cmd == IPCMSG_CMD_UNKNOWN)
		log_warn("ipc: unknown command \"%s\"", m.cmd_name);
	json_decref(v);
	return 0;
}

static void
parent_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char	buf[4096];

	(void)h;
	(void)hint;
	*b = uv_buf_init(buf, sizeof buf);
}

static void
parent_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)s;
	if (n > 0) {
		linebuf_feed(&parent_lb, b->base, (size_t)n, parent_line_cb, NULL);
		return;
	}
	if (n < 0) {
		/* wsd is gone; PR_SET_PDEATHSIG ends us if it died */
		log_warn("ipc channel closed: %s", uv_strerror((int)n));
		parent_close();
	}
}

void
parent_send_stats(void)
{
	json_t	*stats;

	if (!parent_on)
		return;
	if ((stats = parent_stats(parent_arg)) != NULL)
		parent_send(ipcmsg_stats(stats));
}

static void
parent_timer_cb(uv_timer_t *t)
{
	(void)t;
	parent_send_stats();
}

int
parent_open(uv_loop_t *loop, uint64_t interval_ms, parent_stats_cb stats,
    parent_drain_cb drain, parent_settings_cb settings, void *arg, char **err)
{
	const char	*s;
	char		*end;
	long		 fd;
	int		 type;
	socklen_t	 len = sizeof type;

	parent_loop = loop;
	parent_stats = stats;
	parent_drain = drain;
	parent_settings = settings;
	parent_arg = arg;
	if ((s = getenv("WSD_IPC_FD")) == NULL || *s == '\0')
		return 0;
	fd = strtol(s, &end, 10);
	if (*end != '\0' || fd < 0 || fd > 65535 ||
	    getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
		if (asprintf(err, "WSD_IPC_FD=%s: not a socket", s) < 0)
			*err = NULL;
		return -1;
	}
	linebuf_init(&parent_lb, LINEBUF_MAX);
	uv_pipe_init(loop, &parent_pipe, 0);
	if (uv_pipe_open(&parent_pipe, (int)fd) != 0) {
		if (asprintf(err, "WSD_IPC_FD=%s: cannot use it", s) < 0)
			*err = NULL;
		return -1;
	}
	uv_read_start((uv_stream_t *)&parent_pipe, parent_alloc_cb, parent_read_cb);
	uv_unref((uv_handle_t *)&parent_pipe);
	uv_timer_init(loop, &parent_timer);
	uv_unref((uv_handle_t *)&parent_timer);
	if (interval_ms > 0)
		uv_timer_start(&parent_timer, parent_timer_cb, interval_ms,
		    interval_ms);
	parent_on = 1;
	return 0;
}

void
parent_ready(uint64_t drain_ms)
{
	parent_send(ipcmsg_ready(drain_ms));
	parent_send_stats();
}

void
parent_close(void)
{
	if (!parent_on)
		return;
	parent_on = 0;
	uv_timer_stop(&parent_timer);
	uv_close((uv_handle_t *)&parent_timer, NULL);
	uv_read_stop((uv_stream_t *)&parent_pipe);
	uv_close((uv_handle_t *)&parent_pipe, NULL);
	linebuf_free(&parent_lb);
}

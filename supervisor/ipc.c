/*
 * The IPC channel to one instance: JSON lines over an inherited socketpair
 * (instance → wsd ready/stats, wsd → instance drain; the words are
 * common/ipcmsg.h's).  A garbled line is ignored: an instance can never
 * upset the supervisor through it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipcmsg.h"
#include "log.h"
#include "proto.h"
#include "wsd.h"
#include "xmalloc.h"

#define IPC_LINE_MAX	(64 * 1024)

struct ipc {
	uv_pipe_t	 pipe;
	struct linebuf	 lb;
	ipc_msg_cb	 cb;
	void		*arg;
	int		 closed;
	int		 heard;		/* a message came: the process speaks IPC */
};

static void
ipc_close_cb(uv_handle_t *h)
{
	struct ipc *ipc = h->data;

	linebuf_free(&ipc->lb);
	free(ipc);
}

static int
ipc_line_cb(void *arg, char *line, size_t len)
{
	struct ipc *ipc = arg;
	struct ipcmsg m;
	json_t *msg;

	if (line == NULL || ipc->closed)
		return ipc->closed;
	if ((msg = ipcmsg_parse(line, len, &m)) != NULL) {
		ipc->heard = 1;
		ipc->cb(ipc->arg, &m);
	}
	json_decref(msg);
	return ipc->closed;
}

static void
ipc_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ipc *ipc = s->data;

	if (nread < 0) {
		uv_read_stop(s);
		return;	/* the owner closes it when the instance goes */
	}
	linebuf_feed(&ipc->lb, buf->base, (size_t)nread, ipc_line_cb, ipc);
}

struct ipc *
ipc_open(uv_loop_t *loop, int fd, ipc_msg_cb cb, void *arg)
{
	struct ipc *ipc;

	ipc = xcalloc(1, sizeof *ipc);
	linebuf_init(&ipc->lb, IPC_LINE_MAX);
	ipc->cb = cb;
	ipc->arg = arg;
	uv_pipe_init(loop, &ipc->pipe, 0);
	ipc->pipe.data = ipc;
	if (uv_pipe_open(&ipc->pipe, fd) != 0)
		close(fd);	/* not the handle's yet */
	else if (uv_read_start((uv_stream_t *)&ipc->pipe, wsd_read_alloc_cb,
	    ipc_read_cb) == 0)
		return ipc;
	ipc->closed = 1;
	uv_close((uv_handle_t *)&ipc->pipe, ipc_close_cb);
	return NULL;
}

void
ipc_set_cb(struct ipc *ipc, ipc_msg_cb cb, void *arg)
{
	if (ipc == NULL)
		return;
	ipc->cb = cb;
	ipc->arg = arg;
}

static void
ipc_write_cb(uv_write_t *w, int status)
{
	(void)status;
	free(w->data);
	free(w);
}

int
ipc_send(struct ipc *ipc, json_t *msg)
{
	uv_write_t *w;
	uv_buf_t b;
	char *line;

	line = ipc != NULL && !ipc->closed ? proto_line(msg) : NULL;
	json_decref(msg);
	if (line == NULL)
		return -1;
	w = xmalloc(sizeof *w);
	w->data = line;
	b = uv_buf_init(line, (unsigned)strlen(line));
	if (uv_write(w, (uv_stream_t *)&ipc->pipe, &b, 1, ipc_write_cb) != 0) {
		free(line);
		free(w);
		return -1;
	}
	return 0;
}

int
ipc_heard(const struct ipc *ipc)
{
	return ipc != NULL && !ipc->closed && ipc->heard;
}

int
ipc_fd(const struct ipc *ipc)
{
	uv_os_fd_t fd;

	return ipc != NULL && !ipc->closed &&
	    uv_fileno((const uv_handle_t *)&ipc->pipe, &fd) == 0 ? fd : -1;
}

void
ipc_close(struct ipc *ipc)
{
	if (ipc == NULL || ipc->closed)
		return;
	ipc->closed = 1;
	uv_close((uv_handle_t *)&ipc->pipe, ipc_close_cb);
}

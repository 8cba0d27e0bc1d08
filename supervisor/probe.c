/*
 * Short helper runs whose output wsd wants (`node --version` for jlist,
 * the new wsd's --handover-check for wsctl update), without blocking the
 * loop: the process is started as every instance is (proc_spawn), its
 * stdout and stderr go to one pipe read on the loop, and the callback
 * gets what it printed at EOF, or after the timeout (then it is killed).
 * proc.c's SIGCHLD loop reaps it like any process it does not know.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsd.h"
#include "xmalloc.h"

#define PROBE_OUT_MAX	4096	/* the rest is read and dropped */

struct probe {
	uv_pipe_t	 pipe;
	uv_timer_t	 timer;
	pid_t		 pid;
	char		 out[PROBE_OUT_MAX + 1];
	size_t		 len;
	int		 done;
	int		 handles;	/* open: freed at 0 */
	probe_done_cb	 cb;
	void		*arg;
};

static void
probe_close_cb(uv_handle_t *h)
{
	struct probe *p = h->data;

	if (--p->handles == 0)
		free(p);
}

/* Once: the callback, then both handles go. */
static void
probe_finish(struct probe *p, int timed_out)
{
	if (p->done)
		return;
	p->done = 1;
	if (timed_out)
		kill(p->pid, SIGKILL);
	p->out[p->len] = '\0';
	p->cb(p->arg, p->out, timed_out);
	uv_close((uv_handle_t *)&p->pipe, probe_close_cb);
	uv_close((uv_handle_t *)&p->timer, probe_close_cb);
}

static void
probe_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct probe *p = s->data;
	size_t n;

	if (nread < 0) {
		probe_finish(p, 0);
		return;
	}
	n = (size_t)nread;
	if (n > PROBE_OUT_MAX - p->len)
		n = PROBE_OUT_MAX - p->len;
	memcpy(p->out + p->len, buf->base, n);
	p->len += n;
}

static void
probe_timer_cb(uv_timer_t *t)
{
	probe_finish(t->data, 1);
}

int
probe_run(const char *path, char **argv, char **envp, int in_fd,
    uint64_t timeout_ms, probe_done_cb cb, void *arg, char **err)
{
	struct proc_spec sp;
	struct probe *p;
	int fds[2];
	pid_t pid;

	*err = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		xasprintf(err, "pipe: %s", strerror(errno));
		return -1;
	}
	memset(&sp, 0, sizeof sp);
	sp.path = path;
	sp.argv = argv;
	sp.envp = envp;
	sp.listen_fd = -1;
	sp.ipc_fd = in_fd;
	sp.out_fd = fds[1];
	sp.err_fd = fds[1];
	pid = proc_spawn(&sp, err);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	p = xcalloc(1, sizeof *p);
	p->pid = pid;
	p->cb = cb;
	p->arg = arg;
	p->handles = 2;
	uv_pipe_init(wsd_loop, &p->pipe, 0);
	uv_timer_init(wsd_loop, &p->timer);
	p->pipe.data = p->timer.data = p;
	if (uv_pipe_open(&p->pipe, fds[0]) != 0) {
		close(fds[0]);
		probe_finish(p, 1);
		return 0;
	}
	if (uv_read_start((uv_stream_t *)&p->pipe, wsd_read_alloc_cb,
	    probe_read_cb) != 0) {
		probe_finish(p, 1);
		return 0;
	}
	uv_timer_start(&p->timer, probe_timer_cb, timeout_ms, 0);
	return 0;
}

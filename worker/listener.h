/*
 * The listening socket (SPEC §2 "Listening sockets"): the one wsd hands us
 * (WSD_LISTEN_FD, or LISTEN_FDS/LISTEN_PID as systemd does), else our own
 * SO_REUSEPORT socket on WS_HOST:WS_PORT.  Connections are accepted here,
 * on the libuv loop, and handed over one fd at a time.
 */
#ifndef WSD_LISTENER_H
#define WSD_LISTENER_H

#include <sys/socket.h>

#include <uv.h>

/* An accepted socket (non-blocking) and its peer's address. */
typedef void (*listener_accept_cb)(void *arg, int fd,
    const struct sockaddr *, socklen_t);

struct listener {
	uv_loop_t		*loop;
	uv_poll_t		 poll;
	uv_timer_t		 pause;		/* out of fds: retry later */
	int			 fd;
	int			 inherited;
	int			 open;
	listener_accept_cb	 cb;
	void			*arg;
};

/* Find or bind the socket; -1 with *err (malloc'd) on failure. */
int	listener_open(struct listener *, uv_loop_t *, const char *host,
	    int port, char **err);
int	listener_start(struct listener *, listener_accept_cb, void *arg);
/* Stop accepting and close our copy of the socket. */
void	listener_close(struct listener *);
/* Accept what is queued right now (handed to the callback), then close. */
void	listener_flush_close(struct listener *);

#endif

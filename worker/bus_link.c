/*
 * One hiredis connection of the bus (a link): opening, closing, AUTH, and
 * handing its handshake and its failure to the file that owns it (its ops).
 *
 * Teardown: hiredis runs the callbacks of a context while freeing it, and a
 * context freed inside one of its reply callbacks is only freed when the
 * callback returns.  So every context's `data` points at its link and is
 * cleared before the bus lets go of it; callbacks of a detached context do
 * nothing (but free their own privdata).  A context is never freed from its
 * connect or disconnect callback (hiredis frees it right after those).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hiredis.h>
#include <async.h>

#include "bus_int.h"

void
bus_link_close(struct bus_link *l)
{
	redisAsyncContext	*ac = l->ac;

	l->ac = NULL;
	l->ready = 0;
	l->synced = 0;
	if (ac != NULL) {
		ac->data = NULL;
		redisAsyncFree(ac);
	}
}

void
bus_link_failed(struct bus_link *l, const char *why)
{
	if (l->bus->state == BUS_CLOSED)
		return;
	l->ops->failed(l, why);
}

/*
 * The first commands of a fresh link go out pipelined from here, hiredis's
 * connect callback, so no handshake may free a context or call the user:
 * every outcome arrives through a reply callback.
 */
static void
bus_link_connect_cb(const redisAsyncContext *cac, int status)
{
	redisAsyncContext	*ac = (redisAsyncContext *)cac;
	struct bus_link		*l = ac->data;

	if (l == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context when this returns. */
		l->ac = NULL;
		ac->data = NULL;
		bus_link_failed(l, ac->errstr[0] != '\0' ? ac->errstr :
		    "cannot connect");
		return;
	}
	l->ops->handshake(l);
}

static void
bus_link_disconnect_cb(const redisAsyncContext *cac, int status)
{
	redisAsyncContext	*ac = (redisAsyncContext *)cac;
	struct bus_link		*l = ac->data;

	if (l == NULL)
		return;
	/* The context is being freed. */
	l->ac = NULL;
	l->ready = 0;
	l->synced = 0;
	ac->data = NULL;
	bus_link_failed(l, status == REDIS_OK || ac->errstr[0] == '\0' ?
	    "connection closed" : ac->errstr);
}

int
bus_link_open(struct bus_link *l, const char *host, int port,
    const char *path, char *why, size_t whylen)
{
	struct bus		*b = l->bus;
	redisAsyncContext	*ac;

	bus_link_close(l);
	l->sub_sent = l->sub_acked = l->sync_target = 0;
	if (path != NULL)
		ac = redisAsyncConnectUnix(path);
	else
		ac = redisAsyncConnect(host, port);
	if (ac == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (ac->err) {
		snprintf(why, whylen, "%s: %s", path != NULL ? path : host,
		    ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	if (bus_ev_attach(ac, b->loop) == -1) {
		snprintf(why, whylen, "cannot watch the socket");
		redisAsyncFree(ac);
		return -1;
	}
	if (path == NULL)
		redisEnableKeepAlive(&ac->c);
	ac->data = l;
	l->ac = ac;
	redisAsyncSetConnectCallback(ac, bus_link_connect_cb);
	redisAsyncSetDisconnectCallback(ac, bus_link_disconnect_cb);
	return 0;
}

void
bus_link_error(struct bus_link *l, const char *fmt, ...)
{
	char	 why[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	bus_link_close(l);
	bus_link_failed(l, why);
}

static void
bus_link_auth_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct bus_link	*l = ac->data;
	redisReply	*r = reply;

	(void)priv;
	if (l != NULL && r != NULL && r->type == REDIS_REPLY_ERROR)
		bus_link_error(l, "AUTH: %.*s", (int)r->len, r->str);
}

/* AUTH [user] password, pipelined before the owner's commands. */
int
bus_link_auth(struct bus_link *l, const char *user, const char *password)
{
	const char	*argv[3];
	size_t		 lens[3];
	int		 argc = 0;

	argv[argc] = "AUTH";
	lens[argc++] = 4;
	if (user != NULL) {
		argv[argc] = user;
		lens[argc++] = strlen(user);
	}
	argv[argc] = password;
	lens[argc++] = strlen(password);
	return redisAsyncCommandArgv(l->ac, bus_link_auth_cb, NULL, argc,
	    argv, lens);
}

int
bus_link_reply_is(const redisReply *r, const char *s)
{
	size_t	 len = strlen(s);

	return r != NULL && (r->type == REDIS_REPLY_STRING ||
	    r->type == REDIS_REPLY_STATUS) && r->len == len &&
	    strncasecmp(r->str, s, len) == 0;
}

/* The commands that act as the application would: token (mint a JWT) and publish (POST an event). */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "exitcodes.h"
#include "jwtmint.h"
#include "xmalloc.h"

static int	cmd_token_token(struct ctl *, int, char **);
static int	cmd_token_publish(struct ctl *, int, char **);

const struct ctl_cmd cmd_token_cmds[] = {
	{ "token", NULL, "--user ID [--ttl 1h] [--app NAME]", cmd_token_token },
	{ "publish", NULL, "CHANNEL_KEY JSON [--idempotency-key ID] [--app NAME]",
	    cmd_token_publish },
	{ NULL, NULL, NULL, NULL }
};

#define CMD_TOKEN_DEFAULT_APP	"fonana-ws"
#define CMD_TOKEN_HINT		"NEXTAUTH_SECRET"	/* marks the worker app */
#define CMD_TOKEN_HTTP_TIMEOUT	5			/* seconds */

/* The first instance id of each app, in list order. */
static json_t *
cmd_token_apps(json_t *instances)
{
	json_t *apps = json_object(), *in;
	const char *name;
	size_t i;

	json_array_foreach(instances, i, in) {
		name = json_string_value(json_object_get(in, "name"));
		if (name != NULL && json_object_get(apps, name) == NULL)
			json_object_set(apps, name, json_object_get(in, "id"));
	}
	return apps;
}

/*
 * The revealed environment of the app the command is about: `app` when
 * given, else the only app whose environment has NEXTAUTH_SECRET, else
 * fonana-ws.  Returns EXIT_NODAEMON silently when no daemon answers (the
 * caller falls back to its own environment); other failures are printed.
 */
static int
cmd_token_app_env(struct ctl *ctl, const char *app, json_t **env,
    char **chosen)
{
	json_t *data, *apps, *args, *id = NULL, *e;
	const char *name;
	size_t found = 0;
	int rc;

	*env = NULL;
	*chosen = NULL;
	if (client_connect(ctl) == -1)
		return EXIT_NODAEMON;
	if ((rc = client_call(ctl, "list", NULL, &data)) != 0)
		return rc;
	apps = cmd_token_apps(json_object_get(data, "instances"));
	json_decref(data);

	if (app != NULL) {
		if ((id = json_object_get(apps, app)) == NULL) {
			ctl_warn("no app named %s", app);
			json_decref(apps);
			return EXIT_CMDFAIL;
		}
		*chosen = xstrdup(app);
	} else {
		json_object_foreach(apps, name, e) {
			args = json_object();
			json_object_set(args, "target", e);
			if (client_call(ctl, "env", args, &data) != 0)
				continue;
			if (json_object_get(json_object_get(data, "env"),
			    CMD_TOKEN_HINT) != NULL) {
				found++;
				free(*chosen);
				*chosen = xstrdup(name);
				id = e;
			}
			json_decref(data);
		}
		if (found != 1) {
			free(*chosen);
			*chosen = NULL;
			id = json_object_get(apps, CMD_TOKEN_DEFAULT_APP);
			if (id == NULL) {
				ctl_warn("%zu apps have %s: choose one with "
				    "--app NAME", found, CMD_TOKEN_HINT);
				json_decref(apps);
				return EXIT_CMDFAIL;
			}
			*chosen = xstrdup(CMD_TOKEN_DEFAULT_APP);
		}
	}
	args = json_object();
	json_object_set(args, "target", id);
	json_object_set_new(args, "reveal", json_true());
	json_decref(apps);
	if ((rc = client_call(ctl, "env", args, &data)) != 0) {
		free(*chosen);
		*chosen = NULL;
		return rc;
	}
	*env = json_incref(json_object_get(data, "env"));
	json_decref(data);
	if (*env == NULL)
		*env = json_object();
	return EXIT_OK;
}

/*
 * A value from the app's env, or from ours when no daemon runs.  An env
 * written in JSON may hold numbers ("WS_PORT": 3002): those are formatted
 * into the object as strings, so the pointer lives as long as `env`.
 */
static const char *
cmd_token_getenv(json_t *env, const char *key)
{
	json_t *v;
	char buf[64];

	if (env == NULL)
		return getenv(key);
	v = json_object_get(env, key);
	if (json_is_integer(v) || json_is_real(v)) {
		if (json_is_integer(v))
			snprintf(buf, sizeof buf, "%lld",
			    (long long)json_integer_value(v));
		else
			snprintf(buf, sizeof buf, "%g", json_real_value(v));
		json_object_set_new(env, key, json_string(buf));
		v = json_object_get(env, key);
	}
	return json_string_value(v);
}

/* "90", "90s", "30m", "1h", "2d" → seconds; -1 when bad. */
static long long
cmd_token_ttl(const char *s)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || v <= 0)
		return -1;
	if (*end != '\0' && end[1] != '\0')
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		return v;
	case 'm':
		return v * 60;
	case 'h':
		return v * 3600;
	case 'd':
		return v * 86400;
	}
	return -1;
}

enum {
	OPT_USER = 1,
	OPT_TTL,
	OPT_APP,
	OPT_IDEM,
};

static const struct option cmd_token_options[] = {
	{ "user", required_argument, NULL, OPT_USER },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "app", required_argument, NULL, OPT_APP },
	{ "idempotency-key", required_argument, NULL, OPT_IDEM },
	{ NULL, 0, NULL, 0 }
};

/* Options of token and publish; `allowed` is a mask of 1 << OPT_*. */
static int
cmd_token_getopt(int argc, char **argv, int allowed, const char **user,
    const char **ttl, const char **app, const char **idem)
{
	const char	**out[] = { NULL, user, ttl, app, idem };
	int		  ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", cmd_token_options,
	    NULL)) != -1) {
		if (ch > 0 && ch <= OPT_IDEM && (allowed & (1 << ch)))
			*out[ch] = optarg;
		else {
			ctl_warn("bad option: %s", argv[optind - 1]);
			return -1;
		}
	}
	return 0;
}

static int
cmd_token_token(struct ctl *ctl, int argc, char **argv)
{
	const char *user = NULL, *ttls = "1h", *app = NULL, *secret;
	json_t *env = NULL, *out;
	char *chosen = NULL, *tok;
	long long ttl;
	time_t now;
	int rc;

	if (cmd_token_getopt(argc, argv, (1 << OPT_USER) | (1 << OPT_TTL) |
	    (1 << OPT_APP), &user, &ttls, &app, NULL) == -1 || optind != argc ||
	    user == NULL || *user == '\0')
		return ctl_usage(ctl);
	if ((ttl = cmd_token_ttl(ttls)) == -1) {
		ctl_warn("--ttl: expected a duration such as 3600, 30m, 1h, "
		    "2d: %s", ttls);
		return ctl_usage(ctl);
	}

	rc = cmd_token_app_env(ctl, app, &env, &chosen);
	if (rc != EXIT_OK && rc != EXIT_NODAEMON)
		return rc;
	secret = cmd_token_getenv(env, "NEXTAUTH_SECRET");
	if (secret == NULL || *secret == '\0') {
		if (env != NULL)
			ctl_warn("app %s has no NEXTAUTH_SECRET", chosen);
		else
			ctl_warn("daemon not running (no answer on %s) and "
			    "NEXTAUTH_SECRET is not set", ctl->sock);
		json_decref(env);
		free(chosen);
		return env != NULL ? EXIT_CMDFAIL : EXIT_NODAEMON;
	}

	now = time(NULL);
	tok = jwt_mint_hs256((const unsigned char *)secret, strlen(secret),
	    user, (int64_t)now, (int64_t)now + ttl);
	json_decref(env);
	free(chosen);
	if (tok == NULL) {
		ctl_warn("cannot mint the token");
		return EXIT_CMDFAIL;
	}
	if (ctl->json) {
		out = json_pack("{s:s, s:s, s:I}", "token", tok, "user", user,
		    "exp", (json_int_t)(now + ttl));
		status_json_print(out);
		json_decref(out);
	} else
		printf("%s\n", tok);
	free(tok);
	return EXIT_OK;
}

/* The body the worker's POST /api/publish takes: {"channel":KEY, …event}. */
static char *
cmd_token_body(const char *key, const char *event_text)
{
	json_error_t jerr;
	json_t *ev, *body, *v;
	const char *k, *p;
	char *s;

	for (p = key; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			ctl_warn("publish: bad channel key %s", key);
			return NULL;
		}
	}
	if (*key == '\0') {
		ctl_warn("publish: empty channel key");
		return NULL;
	}
	if ((ev = json_loads(event_text, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		ctl_warn("publish: invalid JSON at column %d: %s", jerr.column,
		    jerr.text);
		return NULL;
	}
	if (!json_is_object(ev) ||
	    !json_is_string(json_object_get(ev, "type"))) {
		ctl_warn("publish: the event must be an object with a string "
		    "\"type\", e.g. '{\"type\":\"post_liked\",\"data\":{}}'");
		json_decref(ev);
		return NULL;
	}
	body = json_object();
	json_object_set_new(body, "channel", json_string(key));
	json_object_foreach(ev, k, v) {
		if (strcmp(k, "channel") != 0)
			json_object_set(body, k, v);
	}
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	json_decref(ev);
	return s;
}

static int
cmd_token_connect(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = { CMD_TOKEN_HTTP_TIMEOUT, 0 };
	int fd = -1, err, saved = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
		ctl_warn("publish: %s: %s", host, gai_strerror(err));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		ctl_warn("publish: cannot connect to %s:%s (%s): is the "
		    "worker running?", host, port, strerror(saved));
	return fd;
}

/* Send the request, read the whole answer; the HTTP status or -1. */
static int
cmd_token_http(int fd, const char *req, size_t reqlen, char *resp,
    size_t cap, size_t *resplen)
{
	ssize_t n;
	size_t off = 0;
	int status;

	while (off < reqlen) {
		n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += n;
	}
	off = 0;
	while (off < cap - 1) {
		n = read(fd, resp + off, cap - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	resp[off] = '\0';
	*resplen = off;
	if (off == 0 && n == -1)
		return -1;
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	return status;
}

/*
 * The POST /api/publish request (its length, or -1) for the worker env
 * describes: *host and *port (into env, or defaults), Authorization from
 * WS_API_KEY (a warning without it).
 */
static int
cmd_token_request(json_t *env, const char *chosen, const char *body,
    const char *idem, const char **host, const char **port, char **req)
{
	const char *key;

	*port = cmd_token_getenv(env, "WS_PORT");
	if (*port == NULL || **port == '\0')
		*port = "3002";
	*host = cmd_token_getenv(env, "WS_HOST");
	if (*host == NULL || **host == '\0' || strcmp(*host, "0.0.0.0") == 0 ||
	    strcmp(*host, "::") == 0)
		*host = "127.0.0.1";
	key = cmd_token_getenv(env, "WS_API_KEY");
	if (key == NULL || *key == '\0')
		ctl_warn("WS_API_KEY is not set%s%s: sending without "
		    "Authorization", chosen != NULL ? " for " : "",
		    chosen != NULL ? chosen : "");
	return asprintf(req, "POST /api/publish HTTP/1.1\r\n"
	    "Host: %s:%s\r\n"
	    "User-Agent: wsctl\r\n"
	    "%s%s%s"
	    "%s%s%s"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "%s", *host, *port,
	    key != NULL && *key != '\0' ? "Authorization: Bearer " : "",
	    key != NULL && *key != '\0' ? key : "",
	    key != NULL && *key != '\0' ? "\r\n" : "",
	    idem != NULL ? "Idempotency-Key: " : "", idem != NULL ? idem : "",
	    idem != NULL ? "\r\n" : "",
	    strlen(body), body);
}

static int
cmd_token_publish(struct ctl *ctl, int argc, char **argv)
{
	const char *user = NULL, *ttl = NULL, *app = NULL, *port, *host;
	const char *idem = NULL;
	json_t *env = NULL;
	char *chosen = NULL, *body = NULL, *req = NULL, resp[65536], *p;
	size_t resplen;
	int rc, fd, status, reqlen;

	if (cmd_token_getopt(argc, argv, (1 << OPT_APP) | (1 << OPT_IDEM),
	    &user, &ttl, &app, &idem) == -1 || argc - optind != 2)
		return ctl_usage(ctl);
	if (idem != NULL && (*idem == '\0' || strlen(idem) > 128 ||
	    idem[strspn(idem, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	    "WXYZ0123456789._-")] != '\0')) {
		ctl_warn("--idempotency-key: 1 to 128 of A-Z a-z 0-9 . _ -: %s",
		    idem);
		return ctl_usage(ctl);
	}
	if ((body = cmd_token_body(argv[optind], argv[optind + 1])) == NULL)
		return EXIT_CMDFAIL;

	rc = cmd_token_app_env(ctl, app, &env, &chosen);
	if (rc != EXIT_OK && rc != EXIT_NODAEMON) {
		free(body);
		return rc;
	}
	client_close(ctl);
	reqlen = cmd_token_request(env, chosen, body, idem, &host, &port, &req);
	free(chosen);
	free(body);
	if (reqlen < 0) {
		json_decref(env);
		return EXIT_CMDFAIL;
	}

	fd = cmd_token_connect(host, port);
	json_decref(env);	/* host and port pointed into it */
	if (fd == -1) {
		free(req);
		return EXIT_CMDFAIL;
	}
	status = cmd_token_http(fd, req, reqlen, resp, sizeof resp, &resplen);
	close(fd);
	free(req);
	if (status == -1) {
		ctl_warn("publish: no HTTP answer from the worker");
		return EXIT_CMDFAIL;
	}
	p = strstr(resp, "\r\n\r\n");
	p = p != NULL ? p + 4 : resp + resplen;
	p[strcspn(p, "\r\n")] = '\0';
	if (status < 200 || status > 299) {
		ctl_warn("publish: the worker answered %d%s%s", status,
		    *p != '\0' ? ": " : "", p);
		return EXIT_CMDFAIL;
	}
	if (*p != '\0')
		printf("%s\n", p);
	else
		printf("published\n");
	return EXIT_OK;
}

/* wsworker: configuration from the environment, startup, signals and drain. */
#include <sys/random.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "auth.h"
#include "bus.h"
#include "diag.h"
#include "drain.h"
#include "edge.h"
#include "env.h"
#include "exitcodes.h"
#include "hub.h"
#include "knob.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "parent.h"
#include "pg.h"
#include "rules.h"
#include "session.h"
#include "unread.h"
#include "ws.h"

struct worker {
	uv_loop_t		*loop;
	struct listener		 listener;
	struct bus		*bus;
	struct bus_config	 bus_conf;
	int			 have_bus;
	char			*database_url;	/* NULL: no database */
	uv_signal_t		 sigint, sigterm;
	uv_timer_t		 drain_timer;
	uint64_t		 drain_start;
	uint64_t		 drain_deadline;
	uint64_t		 drain_deadline_ns;	/* the same, uv_hrtime() */
	struct drain_plan	 drain;			/* from the knobs */
	size_t			 drain_n;		/* clients at the start */
	size_t			 drain_done;		/* closed by the plan */
	uint64_t		 drain_next;		/* the next close, loop ms */
	int			 draining;
	int			 errors;
};

static struct worker	worker;

/* A knob (common/knob.c): a bad value is a config error (exit 78). */
static uint64_t
worker_knob(enum knob_id id)
{
	uint64_t	 v;
	char		*err = NULL;

	if (knob_get(id, &v, &err) < 0) {
		log_error("%s", err != NULL ? err : "out of memory");
		free(err);
		worker.errors++;
	}
	return v;
}

static json_t *
worker_stats_cb(void *arg)
{
	int	redis;

	(void)arg;
	redis = worker.bus == NULL ? -1 : bus_is_up(worker.bus) ? 1 : 0;
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
	    "connections", (json_int_t)session_count(),
	    "subscriptions", (json_int_t)hub_subscription_count(),
	    "channels", (json_int_t)hub_channel_count(),
	    "deliveries", (json_int_t)metrics.deliveries,
	    "messages", (json_int_t)metrics.total_messages,
	    "total_connections", (json_int_t)metrics.total_connections,
	    "auth_failures", (json_int_t)metrics.auth_failures,
	    "errors", (json_int_t)metrics.errors,
	    "events", (json_int_t)metrics.events,
	    "slow_consumer_closes", (json_int_t)metrics.slow_closes,
	    "redis", metrics_link_name(redis));
}

static void
worker_bus_message_cb(void *arg, const char *key, size_t keylen,
    const char *payload, size_t len)
{
	(void)arg;
	hub_publish(key, keylen, payload, len);
}

static void
worker_bus_state_cb(void *arg, int up)
{
	(void)arg;
	log_json(up ? LOG_INFO : LOG_WARN, json_pack("{s:s}", "redis",
	    up ? "up" : "down"), up ? "redis link up" : "redis link down");
	/* Events published while the link was down are in history. */
	hub_link_changed(up);
}

/*
 * DATABASE_URL, else the file DATABASE_URL_FILE names, else the secret
 * database_url in the secrets folder (common/secrets.c); NULL when none.
 */
static char *
worker_database_url(void)
{
	static const char *const vars[] = { "DATABASE_URL",
	    "DATABASE_URL_FILE", "SECRETS_DIR" };
	char *const	 names[] = { "database_url" };
	struct env	 env;
	struct diag	 errors, warnings;
	const char	*v;
	char		*url = NULL;
	size_t		 i;

	env_init(&env);
	diag_init(&errors);
	diag_init(&warnings);
	for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		if ((v = getenv(vars[i])) != NULL && *v != '\0')
			env_set(&env, vars[i], v, 1);
	}
	if (secrets_apply(&env, names, 1, NULL, &errors, &warnings) != 0)
		worker.errors++;
	for (i = 0; i < errors.n; i++)
		log_error("%s", errors.msgs[i]);
	for (i = 0; i < warnings.n; i++)
		log_warn("%s", warnings.msgs[i]);
	if ((v = env_get(&env, "DATABASE_URL")) != NULL && *v != '\0')
		url = strdup(v);
	env_free(&env);
	diag_free(&errors);
	diag_free(&warnings);
	return url;
}

/* The database, the channel rules and the unread list (SPEC §4.10). */
static void
worker_database_config(struct pg_config *pconf)
{
	struct rules_config	 rconf;
	char			*err = NULL;

	worker.database_url = worker_database_url();
	if (worker.database_url != NULL && !pg_url_valid(worker.database_url)) {
		log_error("DATABASE_URL: not a valid PostgreSQL URL or connection "
		    "string (postgresql://user:password@host:port/db)");
		worker.errors++;
	}
	memset(pconf, 0, sizeof *pconf);
	pconf->url = worker.database_url;
	pconf->pool = worker_knob(KNOB_WS_DB_POOL);
	pconf->timeout_ms = worker_knob(KNOB_WS_DB_TIMEOUT_MS);
	pconf->connect_timeout_ms = worker_knob(KNOB_WS_DB_CONNECT_TIMEOUT_MS);
	pconf->backoff_ms = worker_knob(KNOB_WS_DB_BACKOFF_MS);
	pconf->backoff_max_ms = worker_knob(KNOB_WS_DB_BACKOFF_MAX_MS);
	pconf->queue_max = worker_knob(KNOB_WS_DB_QUEUE_MAX);
	rconf.cache_ms = worker_knob(KNOB_WS_RULES_CACHE_MS);
	rconf.cache_max = worker_knob(KNOB_WS_RULES_CACHE_MAX);
	if (rules_configure(&rconf, worker.database_url != NULL, &err) != 0 ||
	    unread_configure(worker.database_url != NULL) != 0) {
		log_error("%s", err != NULL ? err : "out of memory");
		free(err);
		worker.errors++;
	}
}

static void
worker_accept_cb(void *arg, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	(void)arg;
	edge_accept(fd, sa, salen);
}

static void
worker_request_cb(int fd, const char *head, size_t len, const char *body,
    size_t body_len, const char *protocol)
{
	ws_adopt(fd, head, len, body, body_len, protocol);
}

static void
worker_exit(void)
{
	log_json(LOG_INFO, json_pack("{s:I,s:I}", "sessions",
	    (json_int_t)session_count(), "connections",
	    (json_int_t)ws_connection_count()), "exiting");
	parent_close();
	session_close_now();	/* before lws drops the connections */
	edge_close_all();
	if (worker.database_url != NULL) {
		explicit_bzero(worker.database_url, strlen(worker.database_url));
		free(worker.database_url);
		worker.database_url = NULL;
	}
	/*
	 * A drain's exit must come before kill_timeout, and taking down
	 * thousands of connections one by one (lws's close of each, the
	 * hub and the bus unsubscribing) costs hundreds of milliseconds on a
	 * busy machine: every client has its close frame by now, so the
	 * kernel closes the sockets with the process.
	 */
	if (worker.draining)
		exit(EXIT_OK);
	session_shutdown();
	ws_destroy();		/* closes what is left; sessions unsubscribe */
	pg_shutdown();		/* queries in flight fail: their waits are freed */
	rules_shutdown();
	hub_set_bus(NULL);
	if (worker.bus != NULL) {
		bus_free(worker.bus);
		worker.bus = NULL;
	}
	exit(EXIT_OK);
}

/* Close the clients whose time has come, per the drain plan. */
static void
worker_drain_step(uint64_t now)
{
	uint32_t	rnd;

	while (worker.drain_done < worker.drain_n &&
	    now >= worker.drain_next) {
		if (session_close_some(1) == 0) {
			worker.drain_done = worker.drain_n;	/* all gone */
			break;
		}
		if (++worker.drain_done == worker.drain_n)
			break;
		if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
			rnd = 0;
		worker.drain_next = worker.drain_start + drain_close_at(
		    worker.drain.spread_ms, worker.drain_done, worker.drain_n,
		    rnd);
	}
	/*
	 * The spread is over (the loop ran late): whoever the plan has not
	 * reached goes now, once; sessions that open later are closed as
	 * they open.
	 */
	if (worker.drain_done < worker.drain_n &&
	    now >= worker.drain_start + worker.drain.spread_ms) {
		session_close_all();
		worker.drain_done = worker.drain_n;
	}
}

/* A session is gone mid-iteration: past the deadline, exit now. */
static void
worker_drain_closed_cb(void)
{
	if (uv_hrtime() >= worker.drain_deadline_ns)
		worker_exit();
}

static void
worker_drain_timer_cb(uv_timer_t *t)
{
	(void)t;
	worker_drain_step(uv_now(worker.loop));
	/*
	 * Wait for connections still upgrading too, and for requests still
	 * arriving (their deadline bounds that): they become sessions, get
	 * their 1001, and nobody is reset by our exit.
	 */
	if ((ws_connection_count() == 0 && edge_count() == 0) ||
	    uv_now(worker.loop) >= worker.drain_deadline)
		worker_exit();
}

/* Stop accepting, say going away to every client, exit once they're gone. */
static void
worker_drain(void)
{
	/*
	 * wsd sends both its stop signal and the IPC drain: the second ask
	 * changes nothing (the drain deadline bounds the wait anyway).
	 */
	if (worker.draining)
		return;
	worker.draining = 1;
	log_json(LOG_INFO, json_pack("{s:I,s:I}", "sessions",
	    (json_int_t)session_count(), "connections",
	    (json_int_t)ws_connection_count()), "draining");
	listener_flush_close(&worker.listener);
	worker.drain_start = uv_now(worker.loop);
	worker.drain_n = session_count();
	worker.drain_done = 0;
	worker.drain_next = worker.drain_start;
	worker.drain_deadline = worker.drain_start + worker.drain.deadline_ms;
	worker.drain_deadline_ns = uv_hrtime() +
	    worker.drain.deadline_ms * 1000000;
	session_on_drain_close(worker_drain_closed_cb);
	/* Until a client is closed, it keeps getting its events. */
	(void)session_close_some(0);
	worker_drain_step(worker.drain_start);
	uv_timer_init(worker.loop, &worker.drain_timer);
	uv_timer_start(&worker.drain_timer, worker_drain_timer_cb, 10, 10);
}

static void
worker_drain_cb(void *arg)
{
	(void)arg;
	worker_drain();
}

/* A hot setting's value: a string, null (unset) or absent (unset). */
static int
worker_setting(json_t *settings, const char *key, const char **value)
{
	json_t *v = json_object_get(settings, key);

	*value = json_string_value(v);
	return v == NULL || json_is_null(v) || *value != NULL ? 0 : -1;
}

/*
 * A hot settings push from wsd (SPEC §4.11): checked whole, then applied.
 * The keys are supervisor/hot.c's list; each decides what comes next (a
 * new upgrade, the next API request, the next log line), nothing open is
 * closed.
 */
static int
worker_settings_cb(void *arg, json_t *settings, const char **err)
{
	const char	*secret, *previous, *origins, *api_key, *level;
	enum log_level	 lvl = LOG_INFO;

	(void)arg;
	if (worker_setting(settings, "NEXTAUTH_SECRET", &secret) < 0 ||
	    worker_setting(settings, "NEXTAUTH_SECRET_PREVIOUS", &previous) < 0 ||
	    worker_setting(settings, "ALLOWED_ORIGINS", &origins) < 0 ||
	    worker_setting(settings, "WS_API_KEY", &api_key) < 0 ||
	    worker_setting(settings, "LOG_LEVEL", &level) < 0) {
		*err = "a setting is neither a string nor null";
		return -1;
	}
	if (level != NULL && *level != '\0' &&
	    log_level_parse(level, &lvl) != 0) {
		*err = "LOG_LEVEL: unknown level";
		return -1;
	}
	if (auth_keys_set(secret, previous, err) != 0)
		return -1;
	if (ws_set_access(origins, api_key) != 0) {
		*err = "out of memory";
		return -1;
	}
	log_set_level(lvl);
	if (strlen(secret) < 32)
		log_warn("NEXTAUTH_SECRET is shorter than 32 bytes");
	return 0;
}

static void
worker_signal_cb(uv_signal_t *h, int signo)
{
	(void)h;
	log_info("signal %s", strsignal(signo));
	worker_drain();
}

/* Everything main() reads from the environment before it starts. */
struct worker_conf {
	struct session_config	 sconf;
	struct ws_config	 wconf;
	struct pg_config	 pconf;
	struct edge_config	 econf;
	const char		*host;
	uint64_t		 port, stats_ms;
};

/* The log's name and level, from WSD_APP_NAME, the instance and LOG_LEVEL. */
static void
worker_log_setup(void)
{
	enum log_level	 lvl;
	const char	*s;

	s = getenv("WSD_INSTANCE");
	if (s == NULL)
		s = getenv("NODE_APP_INSTANCE");
	log_setup(getenv("WSD_APP_NAME") ? getenv("WSD_APP_NAME") : "wsworker",
	    s != NULL ? atoi(s) : -1);
	if ((s = getenv("LOG_LEVEL")) != NULL && *s != '\0') {
		if (log_level_parse(s, &lvl) == 0)
			log_set_level(lvl);
		else
			log_warn("LOG_LEVEL: unknown level \"%s\"; using info",
			    s);
	}
}

/* The environment into c; errors are logged and counted in worker.errors. */
static void
worker_config(struct worker_conf *c)
{
	char	*err = NULL;
	int	 r;

	memset(c, 0, sizeof *c);
	c->host = getenv("WS_HOST");
	if (c->host == NULL || *c->host == '\0')
		c->host = "0.0.0.0";
	c->port = worker_knob(KNOB_WS_PORT);
	c->sconf.send_queue_max = worker_knob(KNOB_WS_SEND_QUEUE_MAX);
	c->sconf.max_subscriptions = worker_knob(KNOB_WS_MAX_SUBSCRIPTIONS);
	c->sconf.ping_interval_ms = worker_knob(KNOB_WS_PING_INTERVAL_MS);
	c->wconf.allowed_origins = getenv("ALLOWED_ORIGINS");
	c->wconf.api_key = getenv("WS_API_KEY");
	if (c->wconf.api_key != NULL && *c->wconf.api_key == '\0')
		c->wconf.api_key = NULL;
	c->wconf.max_message = worker_knob(KNOB_WS_MAX_MESSAGE);
	c->wconf.max_publish = worker_knob(KNOB_WS_MAX_PUBLISH);
	c->wconf.lws_log_level = (int)worker_knob(KNOB_WS_LWS_LOG_LEVEL);
	c->econf.timeout_ms = worker_knob(KNOB_WS_HANDSHAKE_TIMEOUT_MS);
	c->econf.per_ip = (unsigned)worker_knob(KNOB_WS_HANDSHAKE_PER_IP);
	c->econf.max_head = WS_MAX_HEAD;
	c->econf.max_body = c->wconf.max_publish;
	/* The plan is known before the drain: ready announces its spread. */
	drain_plan(&worker.drain, worker_knob(KNOB_WS_DRAIN_SPREAD_MS),
	    worker_knob(KNOB_WS_DRAIN_TIMEOUT_MS),
	    worker_knob(KNOB_WSD_KILL_TIMEOUT_MS),
	    worker_knob(KNOB_WSD_DRAIN_MAX_MS));
	c->stats_ms = worker_knob(KNOB_WS_STATS_INTERVAL_MS);

	r = bus_config_from_env(&worker.bus_conf, &err);
	if (r < 0) {
		log_error("%s", err ? err : "invalid Redis configuration");
		free(err);
		worker.errors++;
	}
	worker.have_bus = r == 1;
	worker.bus_conf.history_size = worker_knob(KNOB_WS_HISTORY_SIZE);
	worker.bus_conf.history_ttl = worker_knob(KNOB_WS_HISTORY_TTL);
	worker_database_config(&c->pconf);
}

/* The loop and every part on it, up to the link to wsd; an exit status. */
static int
worker_start(struct worker_conf *c)
{
	char	*err = NULL;

	worker.loop = uv_default_loop();
	if (listener_open(&worker.listener, worker.loop, c->host,
	    (int)c->port, &err) != 0) {
		log_error("%s", err ? err : "cannot listen");
		return EXIT_TEMPFAIL;
	}
	if (ws_init(worker.loop, &c->wconf, &err) != 0) {
		log_error("%s", err ? err : "libwebsockets failed");
		return EXIT_TEMPFAIL;
	}
	if (edge_init(worker.loop, &c->econf, worker_request_cb) != 0 ||
	    session_init(worker.loop, &c->sconf) != 0) {
		log_error("out of memory");
		return EXIT_TEMPFAIL;
	}
	if (worker.have_bus) {
		worker.bus = bus_new(worker.loop, &worker.bus_conf,
		    worker_bus_message_cb, worker_bus_state_cb, hub_each_key,
		    NULL);
		if (worker.bus == NULL) {
			log_error("cannot set up the Redis bus");
			return EXIT_TEMPFAIL;
		}
	}
	hub_set_bus(worker.bus);
	ws_set_bus(worker.bus);
	if (worker.database_url != NULL &&
	    pg_init(worker.loop, &c->pconf) != 0) {
		log_error("cannot set up the database pool");
		return EXIT_TEMPFAIL;
	}
	if (parent_open(worker.loop, c->stats_ms, worker_stats_cb,
	    worker_drain_cb, worker_settings_cb, NULL, &err) != 0) {
		log_error("%s", err ? err : "bad WSD_IPC_FD");
		return EXIT_CONFIG;
	}
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct worker_conf	 c;
	const char		*secret, *kerr;
	int			 rc;

	(void)argc;
	(void)argv;
	worker_log_setup();
	signal(SIGPIPE, SIG_IGN);

	/*
	 * libjwt 1.10 accepts alg none and empty-key signatures when given an
	 * empty key: an empty secret would let anyone in.
	 */
	secret = getenv("NEXTAUTH_SECRET");
	if (auth_keys_set(secret, getenv("NEXTAUTH_SECRET_PREVIOUS"),
	    &kerr) != 0) {
		log_error("%s: refusing to start (tokens could not be verified)",
		    kerr);
		return EXIT_CONFIG;
	}
	if (strlen(secret) < 32)
		log_warn("NEXTAUTH_SECRET is shorter than 32 bytes");

	worker_config(&c);
	if (worker.errors > 0)
		return EXIT_CONFIG;
	if ((rc = worker_start(&c)) != EXIT_OK)
		return rc;

	uv_signal_init(worker.loop, &worker.sigint);
	uv_signal_init(worker.loop, &worker.sigterm);
	uv_signal_start(&worker.sigint, worker_signal_cb, SIGINT);
	uv_signal_start(&worker.sigterm, worker_signal_cb, SIGTERM);

	if (listener_start(&worker.listener, worker_accept_cb, NULL) != 0) {
		log_error("cannot poll the listening socket");
		return EXIT_TEMPFAIL;
	}
	log_json(LOG_INFO, json_pack("{s:s,s:I,s:b,s:s,s:s}", "host", c.host,
	    "port", (json_int_t)c.port, "inherited",
	    worker.listener.inherited, "redis",
	    worker.have_bus ? "configured" : "none", "database",
	    worker.database_url != NULL ? "configured" : "none"),
	    "listening");
	parent_ready(worker.drain.spread_ms);

	uv_run(worker.loop, UV_RUN_DEFAULT);
	worker_exit();
	return EXIT_OK;
}

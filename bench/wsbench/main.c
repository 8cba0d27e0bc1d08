/*
 * wsbench: the load generator of make bench.  Each mode is bounded in
 * count and time, talks only to loopback, and prints its result as one
 * JSON line on stdout (progress lines carry "event").
 *
 *   wsbench conns   -n N [--hold-ms MS] [--pids P,…]   memory per connection
 *   wsbench fanout  -n N -m M [--rate R] --redis H:P    deliveries, latency, CPU
 *   wsbench churn   --rate R --duration-ms D            failed connects
 *   wsbench storm   -n N [--pids P,…]                    reconnect storm
 *   wsbench respawn --kill PID --pids P,… [--wsd-sock S] kill -9 → online/served
 *   wsbench procstat --pids P,…                          RSS and CPU of trees
 *   wsbench exectime -n RUNS -- CMD ARG…                 wall time of a command
 *
 * The servers' pids (whose process trees are measured): --pids P,… or
 * --pidfile FILE (pids separated by anything, e.g. wsd.pid or a jlist dump).
 *
 * Common: --host 127.0.0.1 --port P --secret S (else $NEXTAUTH_SECRET)
 * --timeout-ms (per connection, 10000) --concurrency (connects in flight,
 * 256) --users N (distinct user ids) --user-base B --src A-B (127.0.0.A-B).
 *
 * One process holds at most RLIMIT_NOFILE descriptors (20 000 here, hard):
 * wsbench raises its soft limit to the hard one and refuses an -n that
 * does not fit; run.sh starts several processes for 50 000 connections.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <spawn.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "wsbench.h"

#define MAX_PIDS	64

static volatile sig_atomic_t	 stop_flag;

static struct {
	const char	*mode;
	const char	*host;
	int		 port;
	const char	*secret;
	int		 n, m;
	double		 rate;
	int64_t		 duration_ms, timeout_ms, hold_ms, settle_ms;
	int64_t		 drain_ms, max_ms;
	int		 concurrency;
	uint32_t	 users, user_base;
	int		 src_first, src_last;
	const char	*channel;	/* "own" = notifications of each user */
	const char	*redis;
	pid_t		 pids[MAX_PIDS];
	int		 npids;
	pid_t		 kill_pid;
	const char	*wsd_sock;
	int		 burst;		/* events pipelined per round trip */
	int		 channel_given;
	int		 concurrency_given;
} opt = {
	.host = "127.0.0.1", .port = 3002, .n = 100, .m = 100,
	.timeout_ms = 10000, .settle_ms = 1000, .drain_ms = 5000,
	.max_ms = 300000, .concurrency = 256, .users = 0, .src_first = 2,
	.src_last = 250, .channel = "post:bench", .redis = "127.0.0.1:6379",
	.burst = 50,
};

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

void
wb_emit(json_t *j)
{
	char	*s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));

	if (s != NULL) {
		printf("%s\n", s);
		fflush(stdout);
		free(s);
	}
	json_decref(j);
}

static void
usage(void)
{
	fprintf(stderr, "usage: wsbench conns|fanout|churn|storm|respawn|procstat "
	    "[options]\n  (see the comment at the top of bench/wsbench/main.c)\n");
	exit(64);
}

static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static long
nofile_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	return (long)rl.rlim_cur;
}

static json_t *
fails_json(const struct wb_engine *e, uint64_t *total)
{
	json_t	*o = json_object();
	int	 i;

	*total = 0;
	for (i = 1; i < WB_NFAIL; i++) {
		json_object_set_new(o, wb_fail_names[i],
		    json_integer((json_int_t)e->fails[i]));
		*total += e->fails[i];
	}
	return o;
}

/* The subscribe frame of a channel spec: "post:ID", "creator:ID", "own". */
static void
engine_channel(struct wb_engine *e, char *buf, size_t len)
{
	const char	*c = opt.channel, *colon = strchr(c, ':');

	if (strcmp(c, "own") == 0) {
		e->sub_fmt = "{\"type\":\"subscribe\",\"channel\":"
		    "{\"type\":\"notifications\",\"userId\":\"%s\"}}";
		return;
	}
	if (strcmp(c, "none") == 0)
		return;
	if (colon != NULL && strncmp(c, "post:", 5) == 0)
		snprintf(buf, len, "{\"type\":\"subscribe\",\"channel\":"
		    "{\"type\":\"post\",\"postId\":\"%s\"}}", colon + 1);
	else if (colon != NULL && strncmp(c, "creator:", 8) == 0)
		snprintf(buf, len, "{\"type\":\"subscribe\",\"channel\":"
		    "{\"type\":\"creator\",\"id\":\"%s\"}}", colon + 1);
	else {
		fprintf(stderr, "wsbench: bad --channel %s\n", c);
		exit(64);
	}
	e->subscribe = buf;
}

static int
setup_engine(struct wb_engine *e, char *subbuf, size_t sublen)
{
	memset(e, 0, sizeof *e);
	e->epfd = -1;
	snprintf(e->host, sizeof e->host, "%s", opt.host);
	e->port = (uint16_t)opt.port;
	if (opt.secret == NULL || *opt.secret == '\0') {
		fprintf(stderr, "wsbench: --secret or NEXTAUTH_SECRET needed\n");
		return -1;
	}
	e->secret = (unsigned char *)(uintptr_t)opt.secret;
	e->secretlen = strlen(opt.secret);
	e->users = opt.users ? opt.users : (uint32_t)(opt.n > 0 ? opt.n : 1);
	e->user_base = opt.user_base;
	e->timeout_ns = opt.timeout_ms * 1000000LL;
	e->src_first = opt.src_first;
	e->src_last = opt.src_last;
	engine_channel(e, subbuf, sublen);
	return wb_engine_init(e);
}

/*
 * Opens n connections, at most opt.concurrency in flight, until each is
 * READY or failed, or the time bound passes.  Returns how many are ready.
 */
static uint32_t
open_many(struct wb_engine *e, int n, uint32_t *ready)
{
	int64_t	end = wb_now() + opt.max_ms * 1000000LL, last_expire = 0;
	int	started = 0;

	while (!stop_flag && wb_now() < end) {
		while (started < n && e->inflight < (uint32_t)opt.concurrency) {
			wb_connect(e, 0);
			started++;
		}
		if (started == n && e->inflight == 0)
			break;
		wb_poll(e, 20);
		if (wb_now() - last_expire > 50000000LL) {
			wb_expire(e);
			last_expire = wb_now();
		}
	}
	return *ready;
}

/* ---- conns ---------------------------------------------------------- */

static uint32_t	 conns_ready;

static void
conns_ready_cb(struct wb_conn *c)
{
	(void)c;
	conns_ready++;
}

static void
conns_done_cb(struct wb_conn *c)
{
	(void)c;
	conns_ready--;
}

/* Serve the connections for ms milliseconds (or until a signal). */
static void
serve_for(struct wb_engine *e, int64_t ms)
{
	int64_t	end = wb_now() + ms * 1000000LL;

	while (!stop_flag && wb_now() < end)
		wb_poll(e, 20);
}

/*
 * Opens the connections in two halves and samples the servers' RSS before,
 * between and after: (after - before) / n is the whole cost per connection,
 * one-time costs included (handshake buffers, tables, code pages first
 * touched); (after - mid) / (second half) is the marginal cost of one more
 * idle connection.
 */
static int
mode_conns(void)
{
	struct wb_engine	e;
	struct wb_procstat	before, mid, after;
	char			sub[512];
	int64_t			t0, connect_ns;
	uint64_t		nfail;
	uint32_t		ready_mid;
	json_t			*j;

	if (setup_engine(&e, sub, sizeof sub) == -1)
		return 1;
	e.hooks.ready_cb = conns_ready_cb;
	e.hooks.done_cb = conns_done_cb;
	memset(&before, 0, sizeof before);
	if (opt.npids > 0)
		wb_procstat(opt.pids, opt.npids, &before);
	t0 = wb_now();
	open_many(&e, opt.n / 2, &conns_ready);
	connect_ns = wb_now() - t0;
	serve_for(&e, opt.settle_ms);	/* lazily grown server state settles */
	ready_mid = conns_ready;
	if (opt.npids > 0)
		wb_procstat(opt.pids, opt.npids, &mid);
	t0 = wb_now();
	open_many(&e, opt.n - opt.n / 2, &conns_ready);
	connect_ns += wb_now() - t0;
	serve_for(&e, opt.settle_ms);
	j = json_pack("{s:s,s:i,s:I,s:o,s:f,s:f}", "mode", "conns",
	    "n", opt.n, "ready", (json_int_t)conns_ready,
	    "failed", fails_json(&e, &nfail),
	    "setup_s", (double)connect_ns / 1e9,
	    "connects_per_s", (double)conns_ready / ((double)connect_ns / 1e9));
	json_object_set_new(j, "failed_total", json_integer((json_int_t)nfail));
	if (opt.npids > 0) {
		wb_procstat(opt.pids, opt.npids, &after);
		json_object_set_new(j, "rss_before", json_integer((json_int_t)before.rss));
		json_object_set_new(j, "rss_mid", json_integer((json_int_t)mid.rss));
		json_object_set_new(j, "rss_after", json_integer((json_int_t)after.rss));
		json_object_set_new(j, "procs", json_integer(after.nprocs));
		if (conns_ready > 0)
			json_object_set_new(j, "bytes_per_conn", json_real(
			    ((double)after.rss - (double)before.rss) /
			    conns_ready));
		if (conns_ready > ready_mid)
			json_object_set_new(j, "marginal_bytes_per_conn",
			    json_real(((double)after.rss - (double)mid.rss) /
			    (conns_ready - ready_mid)));
	}
	if (opt.hold_ms > 0)
		json_object_set_new(j, "event", json_string("ready"));
	wb_emit(j);
	if (opt.hold_ms > 0) {
		/* Hold the connections until told (SIGTERM) or the bound. */
		serve_for(&e, opt.hold_ms);
		wb_emit(json_pack("{s:s,s:s,s:I}", "mode", "conns", "event",
		    "released", "still_open", (json_int_t)conns_ready));
	}
	wb_engine_free(&e);
	return conns_ready == (uint32_t)opt.n ? 0 : 2;
}

/* ---- fanout --------------------------------------------------------- */

static struct {
	struct wb_hist	 hist;
	uint64_t	 deliveries, dups, gaps, foreign;
	int64_t		 first_send, last_recv;
	volatile int	 published;	/* events sent by the publisher */
	volatile int	 pub_done;
	long long	 receivers;	/* PUBLISH replies summed */
	char		 key[128];
	char		 pub_err[256];
} fo;

static void
fanout_text_cb(struct wb_conn *c, const char *p, size_t n)
{
	int64_t	t, seq, now = wb_now();

	if (!wb_json_type_is(p, n, "bench") ||
	    wb_json_int(p, n, "t", &t) == -1 ||
	    wb_json_int(p, n, "seq", &seq) == -1) {
		fo.foreign++;
		return;
	}
	fo.deliveries++;
	c->received++;
	fo.last_recv = now;
	wb_hist_add(&fo.hist, now - t);
	if (seq < c->next_seq)
		fo.dups++;
	else {
		fo.gaps += (uint64_t)(seq - c->next_seq);
		c->next_seq = seq + 1;
	}
}

static int
redis_connect(redisContext **out)
{
	char		 host[128];
	const char	*colon = strrchr(opt.redis, ':');
	struct timeval	 tv = { 5, 0 };
	redisContext	*rc;

	if (colon == NULL || (size_t)(colon - opt.redis) >= sizeof host)
		return -1;
	memcpy(host, opt.redis, (size_t)(colon - opt.redis));
	host[colon - opt.redis] = '\0';
	rc = redisConnectWithTimeout(host, atoi(colon + 1), tv);
	if (rc == NULL || rc->err) {
		snprintf(fo.pub_err, sizeof fo.pub_err, "redis: %s",
		    rc ? rc->errstr : "no memory");
		if (rc)
			redisFree(rc);
		return -1;
	}
	*out = rc;
	return 0;
}

/*
 * The publisher thread: M events, each stamped with the monotonic clock
 * (shared by every process on the machine) when it is handed to Redis.
 * With --rate 0 the events go in pipelined bursts of --burst.
 */
static void *
fanout_publisher(void *arg)
{
	redisContext	*rc = arg;
	char		 payload[160];
	int		 i, k, inbatch;
	int64_t		 t0 = wb_now(), due;
	redisReply	*r;

	for (i = 0; i < opt.m && !stop_flag; ) {
		if (opt.rate > 0) {
			due = t0 + (int64_t)((double)i * 1e9 / opt.rate);
			while (!stop_flag && wb_now() < due) {
				struct timespec ts = { 0, 0 };
				int64_t left = due - wb_now();

				if (left <= 0)
					break;
				ts.tv_nsec = left > 999999999 ? 999999999 : left;
				nanosleep(&ts, NULL);
			}
			inbatch = 1;
		} else
			inbatch = opt.burst;
		if (inbatch > opt.m - i)
			inbatch = opt.m - i;
		for (k = 0; k < inbatch; k++) {
			int64_t now = wb_now();

			if (i + k == 0)
				fo.first_send = now;
			snprintf(payload, sizeof payload,
			    "{\"type\":\"bench\",\"data\":{\"t\":%lld,\"seq\":%d}}",
			    (long long)now, i + k);
			redisAppendCommand(rc, "PUBLISH ws:%s %s", fo.key, payload);
		}
		for (k = 0; k < inbatch; k++) {
			if (redisGetReply(rc, (void **)&r) != REDIS_OK) {
				snprintf(fo.pub_err, sizeof fo.pub_err,
				    "redis: %s", rc->errstr);
				fo.pub_done = 1;
				return NULL;
			}
			if (r->type == REDIS_REPLY_INTEGER)
				__atomic_add_fetch(&fo.receivers, r->integer,
				    __ATOMIC_RELAXED);
			freeReplyObject(r);
		}
		i += inbatch;
		__atomic_store_n(&fo.published, i, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&fo.pub_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int
mode_fanout(void)
{
	struct wb_engine	 e;
	struct wb_procstat	 before, after;
	struct rusage		 ru0, ru1;
	redisContext		*rc = NULL;
	pthread_t		 th;
	char			 sub[512];
	const char		*colon = strchr(opt.channel, ':');
	int64_t			 quiet_since, end, last_expire = 0;
	uint64_t		 expected, nfail, last_seen = 0;
	double			 cpu_s = 0, gen_s, span_s;
	json_t			*j;

	if (colon == NULL || strncmp(opt.channel, "own", 3) == 0) {
		fprintf(stderr, "wsbench: fanout needs --channel post:ID or creator:ID\n");
		return 64;
	}
	snprintf(fo.key, sizeof fo.key, "%.*s_%s",
	    (int)(colon - opt.channel), opt.channel, colon + 1);
	if (wb_hist_init(&fo.hist) == -1 || setup_engine(&e, sub, sizeof sub) == -1)
		return 1;
	e.hooks.ready_cb = conns_ready_cb;
	e.hooks.done_cb = conns_done_cb;
	e.hooks.text_cb = fanout_text_cb;
	open_many(&e, opt.n, &conns_ready);
	if (redis_connect(&rc) == -1) {
		wb_emit(json_pack("{s:s,s:s}", "mode", "fanout", "error", fo.pub_err));
		return 1;
	}
	/* The workers subscribe to Redis asynchronously: give them a moment. */
	serve_for(&e, 300);
	/* A profiler may attach from here (bench/profile-cpu.sh). */
	wb_emit(json_pack("{s:s,s:s,s:I}", "mode", "fanout", "event",
	    "subscribed", "subs", (json_int_t)conns_ready));
	if (opt.npids > 0)
		wb_procstat(opt.pids, opt.npids, &before);
	getrusage(RUSAGE_SELF, &ru0);
	if (pthread_create(&th, NULL, fanout_publisher, rc) != 0)
		return 1;
	expected = (uint64_t)conns_ready * (uint64_t)opt.m;
	end = wb_now() + opt.max_ms * 1000000LL;
	quiet_since = wb_now();
	while (!stop_flag && wb_now() < end) {
		wb_poll(&e, 10);
		if (fo.deliveries != last_seen) {
			last_seen = fo.deliveries;
			quiet_since = wb_now();
		}
		if (__atomic_load_n(&fo.pub_done, __ATOMIC_ACQUIRE)) {
			if (fo.deliveries >= expected)
				break;
			if (wb_now() - quiet_since > opt.drain_ms * 1000000LL)
				break;
		}
		if (wb_now() - last_expire > 100000000LL) {
			wb_expire(&e);
			last_expire = wb_now();
		}
	}
	pthread_join(th, NULL);
	getrusage(RUSAGE_SELF, &ru1);
	if (opt.npids > 0) {
		wb_procstat(opt.pids, opt.npids, &after);
		/* schedstat when it is there (ns), else clock ticks (10 ms). */
		cpu_s = after.cpu_ns > before.cpu_ns ?
		    (double)(after.cpu_ns - before.cpu_ns) / 1e9 :
		    wb_ticks_to_s(after.ticks - before.ticks);
	}
	gen_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
	    ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
	    ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	span_s = fo.last_recv > fo.first_send ?
	    (double)(fo.last_recv - fo.first_send) / 1e9 : 0;
	expected = (uint64_t)opt.m * (uint64_t)conns_ready;
	j = json_pack("{s:s,s:i,s:I,s:i,s:f,s:s}", "mode", "fanout",
	    "subs", opt.n, "ready", (json_int_t)conns_ready, "events", opt.m,
	    "rate", opt.rate, "key", fo.key);
	json_object_set_new(j, "failed", fails_json(&e, &nfail));
	json_object_set_new(j, "failed_total", json_integer((json_int_t)nfail));
	json_object_set_new(j, "published", json_integer(fo.published));
	json_object_set_new(j, "redis_receivers", json_integer(fo.receivers));
	json_object_set_new(j, "deliveries", json_integer((json_int_t)fo.deliveries));
	json_object_set_new(j, "expected", json_integer((json_int_t)expected));
	json_object_set_new(j, "lost", json_integer(expected > fo.deliveries ?
	    (json_int_t)(expected - fo.deliveries) : 0));
	json_object_set_new(j, "dups", json_integer((json_int_t)fo.dups));
	json_object_set_new(j, "gaps", json_integer((json_int_t)fo.gaps));
	json_object_set_new(j, "span_s", json_real(span_s));
	json_object_set_new(j, "deliveries_per_s", json_real(span_s > 0 ?
	    (double)fo.deliveries / span_s : 0));
	json_object_set_new(j, "p50_ms", json_real(wb_hist_pct_ms(&fo.hist, 50)));
	json_object_set_new(j, "p99_ms", json_real(wb_hist_pct_ms(&fo.hist, 99)));
	json_object_set_new(j, "max_ms", json_real((double)fo.hist.max_ns / 1e6));
	json_object_set_new(j, "gen_cpu_s", json_real(gen_s));
	if (opt.npids > 0) {
		json_object_set_new(j, "server_cpu_s", json_real(cpu_s));
		json_object_set_new(j, "procs", json_integer(after.nprocs));
		json_object_set_new(j, "cpu_s_per_million", json_real(
		    fo.deliveries ? cpu_s * 1e6 / (double)fo.deliveries : 0));
		json_object_set_new(j, "deliveries_per_cpu_s", json_real(
		    cpu_s > 0 ? (double)fo.deliveries / cpu_s : 0));
	}
	if (fo.pub_err[0])
		json_object_set_new(j, "error", json_string(fo.pub_err));
	wb_emit(j);
	redisFree(rc);
	wb_engine_free(&e);
	wb_hist_free(&fo.hist);
	return 0;
}

/* ---- churn ---------------------------------------------------------- */

static struct {
	struct wb_hist	hist;
	uint64_t	ok;
	int64_t		t0, first_fail, last_fail;
	uint64_t	per_sec_fail[3600];
} ch;

static void
churn_ready_cb(struct wb_conn *c)
{
	ch.ok++;
	wb_hist_add(&ch.hist, wb_now() - c->t_start);
}

static void
churn_fail_cb(struct wb_conn *c, enum wb_fail why)
{
	int64_t	rel = c->t_start - ch.t0, s = rel / 1000000000LL;

	(void)why;
	if (ch.first_fail == -1)
		ch.first_fail = rel;
	ch.last_fail = rel;
	if (s >= 0 && s < 3600)
		ch.per_sec_fail[s]++;
}

static int
mode_churn(void)
{
	struct wb_engine	 e;
	char			 sub[512];
	int64_t			 end, due, now, last_expire = 0, hard_end;
	uint64_t		 attempts = 0, nfail;
	int			 s, nsec;
	json_t			*j, *tl;

	if (opt.rate <= 0 || opt.duration_ms <= 0)
		usage();
	if (opt.users == 0)
		opt.users = 1000;
	if (!opt.channel_given)
		opt.channel = "none";	/* connect, authenticate, close */
	if (wb_hist_init(&ch.hist) == -1 || setup_engine(&e, sub, sizeof sub) == -1)
		return 1;
	e.hooks.ready_cb = churn_ready_cb;
	e.hooks.fail_cb = churn_fail_cb;
	e.close_after_welcome = 1;
	ch.first_fail = ch.last_fail = -1;
	ch.t0 = wb_now();
	wb_emit(json_pack("{s:s,s:s,s:I}", "mode", "churn", "event", "started",
	    "realtime_ns", (json_int_t)wb_realtime()));
	end = ch.t0 + opt.duration_ms * 1000000LL;
	hard_end = end + opt.timeout_ms * 1000000LL + 3000000000LL;
	while (!stop_flag) {
		now = wb_now();
		if (now >= hard_end)
			break;
		/* Connects due by now, on the rate's schedule. */
		while (now < end) {
			due = ch.t0 + (int64_t)((double)attempts * 1e9 / opt.rate);
			if (due > now)
				break;
			if (e.nlive + 16 >= (uint32_t)nofile_limit())
				break;
			wb_connect(&e, 0);
			attempts++;
		}
		if (now >= end && e.nlive == 0)
			break;
		wb_poll(&e, 1);
		if (now - last_expire > 20000000LL) {
			wb_expire(&e);
			last_expire = now;
		}
	}
	j = json_pack("{s:s,s:f,s:I,s:I,s:I}", "mode", "churn", "rate", opt.rate,
	    "duration_ms", (json_int_t)opt.duration_ms,
	    "attempts", (json_int_t)attempts, "ok", (json_int_t)ch.ok);
	json_object_set_new(j, "failed", fails_json(&e, &nfail));
	json_object_set_new(j, "failed_total", json_integer((json_int_t)nfail));
	json_object_set_new(j, "unfinished", json_integer((json_int_t)
	    (attempts - ch.ok - nfail)));
	json_object_set_new(j, "first_fail_ms", json_real(ch.first_fail < 0 ? -1 :
	    (double)ch.first_fail / 1e6));
	json_object_set_new(j, "last_fail_ms", json_real(ch.last_fail < 0 ? -1 :
	    (double)ch.last_fail / 1e6));
	json_object_set_new(j, "welcome_p50_ms", json_real(wb_hist_pct_ms(&ch.hist, 50)));
	json_object_set_new(j, "welcome_p99_ms", json_real(wb_hist_pct_ms(&ch.hist, 99)));
	json_object_set_new(j, "welcome_max_ms", json_real((double)ch.hist.max_ns / 1e6));
	tl = json_array();
	nsec = (int)(opt.duration_ms / 1000) + 1;
	for (s = 0; s < nsec && s < 3600; s++)
		json_array_append_new(tl, json_integer((json_int_t)ch.per_sec_fail[s]));
	json_object_set_new(j, "fails_per_s", tl);
	wb_emit(j);
	wb_engine_free(&e);
	wb_hist_free(&ch.hist);
	return 0;
}

/* ---- storm ---------------------------------------------------------- */

/*
 * A reconnect storm: n clients (distinct users) connect at once, each
 * upgrades with its token, waits for the welcome and closes.  What it
 * costs the server: handshakes completed per second of server CPU (the
 * instances' process trees, from /proc), wall time to the last welcome.
 * --concurrency bounds the connects in flight (default: all n at once).
 */
static uint32_t	 storm_ok;

static void
storm_ready_cb(struct wb_conn *c)
{
	(void)c;
	storm_ok++;
}

static int
mode_storm(void)
{
	struct wb_engine	 e;
	struct wb_procstat	 before, after;
	char			 sub[512];
	int64_t			 t0, wall_ns;
	uint64_t		 nfail;
	double			 cpu_s;
	json_t			*j;

	if (opt.n <= 0 || opt.npids <= 0)
		usage();
	if (!opt.channel_given)
		opt.channel = "none";	/* connect, authenticate, close */
	if (!opt.concurrency_given)
		opt.concurrency = opt.n;
	if (setup_engine(&e, sub, sizeof sub) == -1)
		return 1;
	e.hooks.ready_cb = storm_ready_cb;
	e.close_after_welcome = 1;
	if (wb_procstat(opt.pids, opt.npids, &before) == -1)
		return 1;
	t0 = wb_now();
	open_many(&e, opt.n, &storm_ok);
	wall_ns = wb_now() - t0;
	serve_for(&e, 200);	/* the servers finish the closes */
	wb_procstat(opt.pids, opt.npids, &after);
	cpu_s = (double)(after.cpu_ns - before.cpu_ns) / 1e9;
	j = json_pack("{s:s,s:i,s:i,s:I,s:o,s:f,s:f}", "mode", "storm",
	    "n", opt.n, "concurrency", opt.concurrency,
	    "ok", (json_int_t)storm_ok, "failed", fails_json(&e, &nfail),
	    "wall_s", (double)wall_ns / 1e9, "server_cpu_s", cpu_s);
	json_object_set_new(j, "failed_total", json_integer((json_int_t)nfail));
	json_object_set_new(j, "procs", json_integer(after.nprocs));
	if (cpu_s > 0)
		json_object_set_new(j, "handshakes_per_cpu_s",
		    json_real((double)storm_ok / cpu_s));
	wb_emit(j);
	wb_engine_free(&e);
	return storm_ok == (uint32_t)opt.n ? 0 : 2;
}

/* ---- respawn -------------------------------------------------------- */

/* One request on wsd's control socket; the reply's data, or NULL. */
static json_t *
ctl_call(int fd, const char *cmd, int id)
{
	char		 req[128], buf[1 << 16];
	size_t		 n = 0;
	struct pollfd	 p = { fd, POLLIN, 0 };
	json_t		*r, *data;
	int		 len;

	len = snprintf(req, sizeof req, "{\"v\":1,\"id\":%d,\"cmd\":\"%s\"}\n",
	    id, cmd);
	if (write(fd, req, (size_t)len) != len)
		return NULL;
	while (n < sizeof buf - 1) {
		ssize_t r2;

		if (poll(&p, 1, 2000) <= 0)
			return NULL;
		if ((r2 = read(fd, buf + n, sizeof buf - 1 - n)) <= 0)
			return NULL;
		n += (size_t)r2;
		if (memchr(buf, '\n', n) != NULL)
			break;
	}
	buf[n] = '\0';
	if ((r = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL)) == NULL)
		return NULL;
	data = json_incref(json_object_get(r, "data"));
	json_decref(r);
	return data;
}

static int
ctl_open(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct {
	int64_t		t_kill, t_served;
	long		served_pid;
	uint64_t	probes, probe_fail, probe_ok;
	int		inflight;
} rs;

static int
pid_is_old(long pid)
{
	int	i;

	if (pid == opt.kill_pid)
		return 1;
	for (i = 0; i < opt.npids; i++)
		if (opt.pids[i] == pid)
			return 1;
	return 0;
}

static void
respawn_probe_cb(struct wb_conn *c, long pid)
{
	(void)c;
	rs.inflight--;
	if (pid < 0) {
		rs.probe_fail++;
		return;
	}
	rs.probe_ok++;
	if (!pid_is_old(pid) && rs.t_served == 0) {
		rs.t_served = wb_now();
		rs.served_pid = pid;
	}
}

/*
 * kill -9 one instance, then (a) poll wsd's `list` every 2 ms until the
 * slot runs a new pid whose status is online, and (b) keep GET /health
 * probes going until one is answered by a pid that did not exist before.
 */
static int
mode_respawn(void)
{
	struct wb_engine	 e;
	char			 sub[512];
	int			 ctl = -1, id = 1, slot = -1;
	int64_t			 t_online = 0, end, next_probe = 0, next_poll = 0;
	long			 new_pid = 0;
	json_t			*j, *data, *arr, *it;
	size_t			 i;

	if (opt.kill_pid <= 0)
		usage();
	opt.channel = "none";
	opt.n = 1;
	if (setup_engine(&e, sub, sizeof sub) == -1)
		return 1;
	e.hooks.probe_cb = respawn_probe_cb;
	if (opt.wsd_sock != NULL) {
		if ((ctl = ctl_open(opt.wsd_sock)) == -1) {
			fprintf(stderr, "wsbench: cannot connect to %s\n", opt.wsd_sock);
			return 1;
		}
		data = ctl_call(ctl, "list", id++);
		arr = json_object_get(data, "instances");
		json_array_foreach(arr, i, it)
			if (json_integer_value(json_object_get(it, "pid")) ==
			    opt.kill_pid)
				slot = (int)json_integer_value(json_object_get(it, "id"));
		json_decref(data);
		if (slot == -1) {
			fprintf(stderr, "wsbench: pid %d is not in wsd's list\n",
			    (int)opt.kill_pid);
			return 1;
		}
	}
	rs.t_kill = wb_now();
	j = json_pack("{s:s,s:s,s:I,s:I}", "mode", "respawn", "event", "killed",
	    "pid", (json_int_t)opt.kill_pid, "realtime_ns",
	    (json_int_t)wb_realtime());
	if (kill(opt.kill_pid, SIGKILL) == -1) {
		perror("wsbench: kill");
		return 1;
	}
	wb_emit(j);
	end = rs.t_kill + opt.timeout_ms * 1000000LL;
	while (!stop_flag && wb_now() < end) {
		int64_t now = wb_now();

		if (rs.t_served == 0 && now >= next_probe && rs.inflight < 32) {
			rs.inflight++;
			rs.probes++;
			wb_connect(&e, 1);
			next_probe = now + 1000000LL;
		}
		if (ctl != -1 && t_online == 0 && now >= next_poll) {
			data = ctl_call(ctl, "list", id++);
			arr = json_object_get(data, "instances");
			json_array_foreach(arr, i, it) {
				long pid = (long)json_integer_value(json_object_get(it, "pid"));
				const char *st = json_string_value(json_object_get(it, "status"));

				if (json_integer_value(json_object_get(it, "id")) == slot &&
				    pid > 0 && pid != opt.kill_pid && st != NULL &&
				    strcmp(st, "online") == 0) {
					t_online = wb_now();
					new_pid = pid;
				}
			}
			json_decref(data);
			next_poll = now + 2000000LL;
		}
		if (rs.t_served != 0 && (ctl == -1 || t_online != 0))
			break;
		wb_poll(&e, 1);
		wb_expire(&e);
	}
	j = json_pack("{s:s,s:I}", "mode", "respawn", "killed_pid",
	    (json_int_t)opt.kill_pid);
	if (ctl != -1) {
		json_object_set_new(j, "online_ms", t_online ?
		    json_real((double)(t_online - rs.t_kill) / 1e6) : json_null());
		json_object_set_new(j, "new_pid", json_integer(new_pid));
		close(ctl);
	}
	json_object_set_new(j, "served_ms", rs.t_served ?
	    json_real((double)(rs.t_served - rs.t_kill) / 1e6) : json_null());
	json_object_set_new(j, "served_pid", json_integer(rs.served_pid));
	json_object_set_new(j, "probes", json_integer((json_int_t)rs.probes));
	json_object_set_new(j, "probes_ok", json_integer((json_int_t)rs.probe_ok));
	json_object_set_new(j, "probes_failed", json_integer((json_int_t)rs.probe_fail));
	wb_emit(j);
	wb_engine_free(&e);
	return 0;
}

/* ---- procstat ------------------------------------------------------- */

static int
mode_procstat(void)
{
	struct wb_procstat	s;

	if (wb_procstat(opt.pids, opt.npids, &s) == -1)
		return 1;
	wb_emit(json_pack("{s:s,s:I,s:f,s:f,s:i}", "mode", "procstat", "rss",
	    (json_int_t)s.rss, "cpu_s", wb_ticks_to_s(s.ticks), "cpu_ns_s",
	    (double)s.cpu_ns / 1e9, "procs", s.nprocs));
	return 0;
}

/* ---- exectime ------------------------------------------------------- */

extern char **environ;

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Runs CMD n times (stdout and stderr to /dev/null, as when piped) and
 * reports each run's wall time from spawn to reaped exit: no shell and no
 * date(1) in the measurement.
 */
static int
mode_exectime(char **cmd)
{
	posix_spawn_file_actions_t	 fa;
	int64_t				*t;
	json_t				*runs;
	int				 i, st, fails = 0;

	if (cmd[0] == NULL || opt.n <= 0 || opt.n > 1000)
		usage();
	if ((t = calloc((size_t)opt.n, sizeof *t)) == NULL)
		return 1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	runs = json_array();
	for (i = 0; i < opt.n && !stop_flag; i++) {
		pid_t	pid;
		int64_t	t0 = wb_now();

		if (posix_spawnp(&pid, cmd[0], &fa, NULL, cmd, environ) != 0) {
			perror("wsbench: spawn");
			return 1;
		}
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		t[i] = wb_now() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fails++;
		json_array_append_new(runs, json_real((double)t[i] / 1e6));
	}
	posix_spawn_file_actions_destroy(&fa);
	qsort(t, (size_t)i, sizeof *t, cmp_i64);
	wb_emit(json_pack("{s:s,s:s,s:i,s:i,s:f,s:f,s:f,s:o}", "mode",
	    "exectime", "cmd", cmd[0], "runs", i, "failed", fails,
	    "median_ms", i ? (double)t[i / 2] / 1e6 : 0,
	    "min_ms", i ? (double)t[0] / 1e6 : 0,
	    "max_ms", i ? (double)t[i - 1] / 1e6 : 0, "ms", runs));
	free(t);
	return fails ? 2 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option	 lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "secret", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration-ms", required_argument, NULL, 'd' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "hold-ms", required_argument, NULL, 'h' },
		{ "settle-ms", required_argument, NULL, 'S' },
		{ "drain-ms", required_argument, NULL, 'D' },
		{ "max-ms", required_argument, NULL, 'X' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "users", required_argument, NULL, 'u' },
		{ "user-base", required_argument, NULL, 'b' },
		{ "src", required_argument, NULL, 'a' },
		{ "channel", required_argument, NULL, 'C' },
		{ "redis", required_argument, NULL, 'R' },
		{ "pids", required_argument, NULL, 'P' },
		{ "pidfile", required_argument, NULL, 'F' },
		{ "kill", required_argument, NULL, 'k' },
		{ "wsd-sock", required_argument, NULL, 'w' },
		{ "burst", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction	sa;
	int			ch_;

	if (argc < 2)
		usage();
	opt.mode = argv[1];
	opt.secret = getenv("NEXTAUTH_SECRET");
	optind = 2;
	while ((ch_ = getopt_long(argc, argv, "+n:m:", lo, NULL)) != -1) {
		switch (ch_) {
		case 'n': opt.n = atoi(optarg); break;
		case 'm': opt.m = atoi(optarg); break;
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 's': opt.secret = optarg; break;
		case 'r': opt.rate = atof(optarg); break;
		case 'd': opt.duration_ms = atoll(optarg); break;
		case 't': opt.timeout_ms = atoll(optarg); break;
		case 'h': opt.hold_ms = atoll(optarg); break;
		case 'S': opt.settle_ms = atoll(optarg); break;
		case 'D': opt.drain_ms = atoll(optarg); break;
		case 'X': opt.max_ms = atoll(optarg); break;
		case 'c':
			opt.concurrency = atoi(optarg);
			opt.concurrency_given = 1;
			break;
		case 'u': opt.users = (uint32_t)atol(optarg); break;
		case 'b': opt.user_base = (uint32_t)atol(optarg); break;
		case 'a':
			if (sscanf(optarg, "%d-%d", &opt.src_first,
			    &opt.src_last) != 2 || opt.src_first < 1 ||
			    opt.src_last > 254 || opt.src_first > opt.src_last)
				usage();
			break;
		case 'C': opt.channel = optarg; opt.channel_given = 1; break;
		case 'R': opt.redis = optarg; break;
		case 'P': opt.npids = wb_proc_parse_pids(optarg, opt.pids, MAX_PIDS); break;
		case 'F': {
			char	 buf[4096];
			FILE	*f = fopen(optarg, "r");
			size_t	 n;

			if (f == NULL) {
				fprintf(stderr, "wsbench: %s: %s\n", optarg, strerror(errno));
				return 66;
			}
			n = fread(buf, 1, sizeof buf - 1, f);
			fclose(f);
			buf[n] = '\0';
			opt.npids = wb_proc_parse_pids(buf, opt.pids, MAX_PIDS);
			break;
		}
		case 'k': opt.kill_pid = (pid_t)atol(optarg); break;
		case 'w': opt.wsd_sock = optarg; break;
		case 'B': opt.burst = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		default: usage();
		}
	}
	/* Bounded in time, whatever the options say. */
	if (opt.max_ms <= 0 || opt.max_ms > 600000)
		opt.max_ms = 600000;
	if (opt.duration_ms > 600000 || opt.timeout_ms <= 0 || opt.timeout_ms > 60000)
		usage();
	if (opt.n < 0 || opt.m < 0 || opt.concurrency <= 0)
		usage();
	raise_nofile();
	if ((strcmp(opt.mode, "conns") == 0 || strcmp(opt.mode, "fanout") == 0 ||
	    strcmp(opt.mode, "storm") == 0) &&
	    opt.n > nofile_limit() - 64) {
		fprintf(stderr, "wsbench: -n %d does not fit in RLIMIT_NOFILE %ld: "
		    "run several wsbench processes\n", opt.n, nofile_limit());
		return 64;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(opt.mode, "conns") == 0)
		return mode_conns();
	if (strcmp(opt.mode, "fanout") == 0)
		return mode_fanout();
	if (strcmp(opt.mode, "churn") == 0)
		return mode_churn();
	if (strcmp(opt.mode, "storm") == 0)
		return mode_storm();
	if (strcmp(opt.mode, "respawn") == 0)
		return mode_respawn();
	if (strcmp(opt.mode, "procstat") == 0)
		return mode_procstat();
	if (strcmp(opt.mode, "exectime") == 0)
		return mode_exectime(argv + optind);
	usage();
	return 64;
}

/*
 * bus-probe: drives worker/bus.c on a libuv loop for the black-box tests.
 *
 *   bus-probe [-x] sub KEY...        print "state up ADDR" / "state down"
 *                                    and "msg KEY PAYLOAD" lines
 *   bus-probe [-n] [-t SEC] pub KEY PAYLOAD
 *                                    print the receiver count (exit 0) or
 *                                    "fail" (exit 1)
 *
 * Redis is configured from the environment as in wsworker.  -x prints
 * payloads as hex; -n publishes at once instead of waiting for "up"; -t is
 * how long pub waits for "up" (10 s).  In sub mode, lines on stdin (a pipe
 * or a terminal) are commands: "sub KEY", "unsub KEY", "subn PREFIX N"
 * (PREFIX0 … PREFIXN-1), "pub KEY PAYLOAD", "pubquit KEY PAYLOAD" (publish,
 * then quit at once), "count", "quit", and
 * "exit-on msg|up|down|pubfail": shut down (bus_free) from inside that
 * callback.  SIGINT,
 * SIGTERM and "quit" shut down cleanly (exit 0; 1 when a handle leaked).
 * The subscription set is kept by worker/hub.c, as in the worker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "bus.h"
#include "exitcodes.h"
#include "hub.h"
#include "log.h"

static uv_loop_t	*loop;
static struct bus	*bus;
static uv_signal_t	 sig_int, sig_term;
static uv_timer_t	 wait_timer;
static uv_pipe_t	 in_pipe;
static uv_tty_t		 in_tty;
static uv_stream_t	*in;
static int		 hex;
static int		 pub_mode, pub_nowait, pub_sent;
static const char	*pub_key, *pub_payload;
static int		 status;
static char		 line[1 << 17];
static size_t		 linelen;
static int		 stopping;
static char		 exit_on[16];	/* "msg", "up", "down", "pubfail" */
static struct hub_sub	*subs;		/* the probe's keys, as one session's */

static void	probe_stop(int);

/* bus_free from inside a bus callback, as a worker may do. */
static void
probe_exit_on(const char *event)
{
	if (strcmp(exit_on, event) == 0)
		probe_stop(0);
}

static void
probe_out(const char *s, size_t len)
{
	fwrite(s, 1, len, stdout);
	fflush(stdout);
}

static void
probe_stop(int st)
{
	if (stopping)
		return;
	stopping = 1;
	status = st;
	hub_set_bus(NULL);
	hub_unsubscribe_all(&subs);
	bus_free(bus);
	bus = NULL;
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&wait_timer, NULL);
	if (in != NULL)
		uv_close((uv_handle_t *)in, NULL);
}

static void
probe_message_cb(void *arg, const char *key, size_t keylen,
    const char *payload, size_t len)
{
	size_t	 i;

	(void)arg;
	if (!hub_has_key(key, keylen))
		return;		/* a late message of an unsubscribed key */
	fputs("msg ", stdout);
	fwrite(key, 1, keylen, stdout);
	fputc(' ', stdout);
	if (hex) {
		for (i = 0; i < len; i++)
			printf("%02x", (unsigned char)payload[i]);
	} else
		fwrite(payload, 1, len, stdout);
	probe_out("\n", 1);
	probe_exit_on("msg");
}

static void
probe_pub_cb(void *arg, int ok, long long receivers)
{
	(void)arg;
	if (pub_mode) {
		if (ok)
			printf("%lld\n", receivers);
		else
			printf("fail\n");
		fflush(stdout);
		probe_stop(ok ? 0 : 1);
		return;
	}
	if (ok)
		printf("pub ok %lld\n", receivers);
	else
		printf("pub fail\n");
	fflush(stdout);
	if (!ok)
		probe_exit_on("pubfail");
}

static void
probe_publish(void)
{
	pub_sent = 1;
	bus_publish(bus, pub_key, pub_payload, strlen(pub_payload), NULL,
	    probe_pub_cb, NULL);
}

static void
probe_state_cb(void *arg, int up)
{
	const char	*addr;

	(void)arg;
	if (pub_mode) {
		/* stdout is the receiver count alone. */
		if (up && !pub_sent)
			probe_publish();
		return;
	}
	if (up) {
		addr = bus_current_addr(bus);
		printf("state up %s\n", addr != NULL ? addr : "?");
	} else
		printf("state down\n");
	fflush(stdout);
	probe_exit_on(up ? "up" : "down");
}

static void
probe_wait_cb(uv_timer_t *t)
{
	(void)t;
	if (!pub_sent) {
		printf("fail\n");
		fflush(stdout);
		fprintf(stderr, "bus-probe: Redis did not come up\n");
		probe_stop(1);
	}
}

static void
probe_signal_cb(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
	probe_stop(0);
}

static void
probe_command(char *cmd)
{
	char	*arg, *rest, name[4096];
	long	 n, i;

	if ((arg = strchr(cmd, ' ')) != NULL)
		*arg++ = '\0';
	if (strcmp(cmd, "quit") == 0)
		probe_stop(0);
	else if (strcmp(cmd, "count") == 0) {
		printf("count %zu\n", bus_subscription_count(bus));
		fflush(stdout);
	} else if (arg == NULL)
		fprintf(stderr, "bus-probe: bad command '%s'\n", cmd);
	else if (strcmp(cmd, "sub") == 0)
		(void)hub_subscribe(&subs, NULL, arg);
	else if (strcmp(cmd, "exit-on") == 0) {
		snprintf(exit_on, sizeof(exit_on), "%s", arg);
		printf("exit-on %s\n", exit_on);
		fflush(stdout);
	} else if (strcmp(cmd, "unsub") == 0)
		(void)hub_unsubscribe(&subs, arg);
	else if (strcmp(cmd, "subn") == 0 &&
	    (rest = strchr(arg, ' ')) != NULL) {
		*rest++ = '\0';
		n = strtol(rest, NULL, 10);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "%s%ld", arg, i);
			(void)hub_subscribe(&subs, NULL, name);
		}
	} else if ((strcmp(cmd, "pub") == 0 || strcmp(cmd, "pubquit") == 0) &&
	    (rest = strchr(arg, ' ')) != NULL) {
		*rest++ = '\0';
		bus_publish(bus, arg, rest, strlen(rest), NULL, probe_pub_cb,
		    NULL);
		/* pubquit: bus_free with the publish still in flight. */
		if (cmd[3] == 'q')
			probe_stop(0);
	} else
		fprintf(stderr, "bus-probe: bad command '%s'\n", cmd);
}

static void
probe_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char	 rbuf[65536];

	(void)h;
	(void)hint;
	buf->base = rbuf;
	buf->len = sizeof(rbuf);
}

static void
probe_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	ssize_t	 i;

	if (n < 0) {
		/* EOF: keep running; signals or "quit" end the probe. */
		uv_read_stop(s);
		return;
	}
	for (i = 0; i < n && !stopping; i++) {
		if (buf->base[i] == '\n') {
			line[linelen] = '\0';
			if (linelen > 0 && line[linelen - 1] == '\r')
				line[linelen - 1] = '\0';
			linelen = 0;
			if (line[0] != '\0')
				probe_command(line);
		} else if (linelen < sizeof(line) - 1)
			line[linelen++] = buf->base[i];
	}
}

static void
probe_stdin(void)
{
	switch (uv_guess_handle(0)) {
	case UV_NAMED_PIPE:
		if (uv_pipe_init(loop, &in_pipe, 0) != 0 ||
		    uv_pipe_open(&in_pipe, 0) != 0)
			return;
		in = (uv_stream_t *)&in_pipe;
		break;
	case UV_TTY:
		if (uv_tty_init(loop, &in_tty, 0, 1) != 0)
			return;
		in = (uv_stream_t *)&in_tty;
		break;
	default:
		return;
	}
	uv_read_start(in, probe_alloc_cb, probe_read_cb);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bus-probe [-x] sub KEY...\n"
	    "       bus-probe [-n] [-t SECONDS] pub KEY PAYLOAD\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	struct bus_config	 cfg;
	char			*err = NULL;
	const char		*lv;
	enum log_level		 level;
	double			 wait_s = 10;
	int			 ch, i, rc;

	while ((ch = getopt(argc, argv, "xnt:")) != -1) {
		switch (ch) {
		case 'x':
			hex = 1;
			break;
		case 'n':
			pub_nowait = 1;
			break;
		case 't':
			wait_s = strtod(optarg, NULL);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "pub") == 0) {
		if (argc != 3)
			usage();
		pub_mode = 1;
		pub_key = argv[1];
		pub_payload = argv[2];
	} else if (strcmp(argv[0], "sub") != 0)
		usage();

	log_setup("bus-probe", 0);
	log_set_fd(2);
	if ((lv = getenv("LOG_LEVEL")) != NULL &&
	    log_level_parse(lv, &level) == 0)
		log_set_level(level);

	rc = bus_config_from_env(&cfg, &err);
	if (rc == -1) {
		fprintf(stderr, "bus-probe: %s\n", err);
		free(err);
		return EXIT_CONFIG;
	}
	if (rc == 0) {
		fprintf(stderr, "bus-probe: set REDIS_URL or "
		    "REDIS_SENTINELS\n");
		return EXIT_CONFIG;
	}

	loop = uv_default_loop();
	uv_signal_init(loop, &sig_int);
	uv_signal_init(loop, &sig_term);
	uv_signal_start(&sig_int, probe_signal_cb, SIGINT);
	uv_signal_start(&sig_term, probe_signal_cb, SIGTERM);
	uv_timer_init(loop, &wait_timer);

	bus = bus_new(loop, &cfg, probe_message_cb, probe_state_cb, hub_each_key,
	    NULL);
	bus_config_free(&cfg);
	if (bus == NULL) {
		fprintf(stderr, "bus-probe: cannot start the bus\n");
		return EXIT_CONFIG;
	}
	if (pub_mode) {
		if (pub_nowait)
			probe_publish();
		else
			uv_timer_start(&wait_timer, probe_wait_cb,
			    (uint64_t)(wait_s * 1000), 0);
	} else {
		hub_set_bus(bus);
		for (i = 1; i < argc; i++)
			(void)hub_subscribe(&subs, NULL, argv[i]);
		probe_stdin();
	}

	uv_run(loop, UV_RUN_DEFAULT);
	if (uv_loop_close(loop) != 0) {
		fprintf(stderr, "bus-probe: handles left open at exit\n");
		return 1;
	}
	return status;
}

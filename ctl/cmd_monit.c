/*
 * `wsctl monit`: the live terminal view (as `pm2 monit`, `top`): one row per
 * instance with status, cpu, memory, connections, messages/s, deliveries/s
 * and restarts, wsd's recent events underneath, redrawn every second.
 *
 * The terminal is put in raw mode on the alternate screen and always given
 * back: on `q`, on Ctrl-C (read as a byte: ISIG is off) and on SIGTERM /
 * SIGHUP / SIGINT, whose handlers only set a flag that the loop reads.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "exitcodes.h"

#define MONIT_TICK_MS	1000

static int	cmd_monit_run(struct ctl *, int, char **);

const struct ctl_cmd cmd_monit_cmds[] = {
	{ "monit", NULL, "", cmd_monit_run },
	{ NULL, NULL, NULL, NULL }
};

static volatile sig_atomic_t	monit_quit;
static volatile sig_atomic_t	monit_resized;

static void
monit_signal_cb(int sig)
{
	if (sig == SIGWINCH)
		monit_resized = 1;
	else
		monit_quit = 1;
}

static uint64_t
monit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
monit_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* One screen line, cut at the width, the rest of the line cleared. */
static void
monit_line(FILE *f, int cols, const char *colour, const char *reset,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
monit_line(FILE *f, int cols, const char *colour, const char *reset,
    const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (cols > 0 && (size_t)cols < sizeof buf)
		buf[cols] = '\0';
	fprintf(f, "%s%s%s\033[K\r\n", colour, buf, reset);
}

static double
monit_stat(json_t *in, const char *key)
{
	return json_number_value(json_object_get(json_object_get(in, "stats"),
	    key));
}

/* Per second since the previous sample of the same instance and pid. */
static double
monit_rate(json_t *prev, json_t *in, const char *key, double dt)
{
	char id[64];
	json_t *p;
	double was, now = monit_stat(in, key);

	snprintf(id, sizeof id, "%lld/%lld",
	    json_integer_value(json_object_get(in, "id")),
	    json_integer_value(json_object_get(in, "pid")));
	p = json_object_get(prev, id);
	if (p == NULL || dt <= 0)
		return 0;
	was = monit_stat(p, key);
	return now >= was ? (now - was) / dt : 0;
}

static const char *
monit_status_colour(const char *st)
{
	if (strcmp(st, "online") == 0)
		return "\033[32m";
	if (strcmp(st, "errored") == 0 || strcmp(st, "stopped") == 0)
		return "\033[31m";
	return "\033[33m";
}

/* The last `want` of wsd's events (its ring) as "time level app: msg". */
static size_t
monit_events(struct ctl *ctl, char lines[][160], size_t want)
{
	const char *ts, *lvl, *msg, *app;
	json_t *data, *e;
	size_t n = 0, i;

	if (want == 0 || client_call(ctl, "events", json_pack("{sI}", "lines",
	    (json_int_t)want), &data) != 0)
		return 0;
	json_array_foreach(json_object_get(data, "events"), i, e) {
		if (n >= want)
			break;
		ts = json_string_value(json_object_get(e, "ts"));
		lvl = json_string_value(json_object_get(e, "level"));
		msg = json_string_value(json_object_get(e, "msg"));
		app = json_string_value(json_object_get(e, "app"));
		snprintf(lines[n++], 160, "%.8s %-5s %s%s%s",
		    ts != NULL && strlen(ts) >= 19 ? ts + 11 : "",
		    lvl != NULL ? lvl : "", app != NULL ? app : "",
		    app != NULL ? ": " : "", msg != NULL ? msg : "");
	}
	json_decref(data);
	return n;
}

static void
monit_draw(struct ctl *ctl, json_t *insts, json_t *prev, double dt)
{
	char cpu[16], mem[16], conns[24], lines[32][160];
	const char *st, *on = "", *off = "";
	int rows, cols, body, shown = 0;
	size_t i, nev, k;
	json_t *in, *c;
	FILE *f = stdout;

	monit_size(&rows, &cols);
	if (ctl->colour)
		off = "\033[0m";
	fputs("\033[H", f);
	monit_line(f, cols, ctl->colour ? "\033[1m" : "", off,
	    "wsctl monit - %zu instance%s - q or Ctrl-C quits",
	    json_array_size(insts), json_array_size(insts) == 1 ? "" : "s");
	monit_line(f, cols, ctl->colour ? "\033[7m" : "", off,
	    "%3s %-14s %-9s %6s %8s %6s %7s %7s %4s", "id", "name", "status",
	    "cpu", "mem", "conns", "msg/s", "dlv/s", "rst");
	/* at least 4 lines of events when the terminal allows */
	body = rows - 2 - 1 - 4 - 1;
	if (body < 1)
		body = 1;
	json_array_foreach(insts, i, in) {
		if (shown >= body && (int)i < (int)json_array_size(insts) - 1) {
			monit_line(f, cols, "", "", "... %zu more",
			    json_array_size(insts) - i);
			shown++;
			break;
		}
		st = json_string_value(json_object_get(in, "status"));
		if (st == NULL)
			st = "?";
		status_cpu(cpu, sizeof cpu,
		    json_number_value(json_object_get(in, "cpu")));
		status_bytes(mem, sizeof mem,
		    json_number_value(json_object_get(in, "memory")));
		c = json_object_get(in, "connections");
		snprintf(conns, sizeof conns, json_is_integer(c) ? "%lld" : "-",
		    json_integer_value(c));
		on = ctl->colour ? monit_status_colour(st) : "";
		monit_line(f, cols, on, off,
		    "%3lld %-14.14s %-9.9s %6s %8s %6s %7.1f %7.1f %4lld",
		    json_integer_value(json_object_get(in, "id")),
		    json_string_value(json_object_get(in, "name")) ?: "?", st,
		    cpu, mem, conns,
		    monit_rate(prev, in, "messages", dt),
		    monit_rate(prev, in, "deliveries", dt),
		    json_integer_value(json_object_get(in, "restarts")));
		shown++;
	}
	monit_line(f, cols, ctl->colour ? "\033[7m" : "", off, "%s",
	    "wsd events");
	/* the bottom row stays empty: a line feed there would scroll */
	k = (size_t)(rows - 4 - shown > 0 ? rows - 4 - shown : 0);
	if (k > 32)
		k = 32;
	nev = monit_events(ctl, lines, k);
	for (i = 0; i < nev; i++)
		monit_line(f, cols, "", "", "%s", lines[i]);
	fputs("\033[J", f);
	fflush(f);
}

/* Keep what each instance said this time, by "id/pid", for the rates. */
static json_t *
monit_keep(json_t *insts)
{
	json_t *o = json_object(), *in;
	char id[64];
	size_t i;

	json_array_foreach(insts, i, in) {
		snprintf(id, sizeof id, "%lld/%lld",
		    json_integer_value(json_object_get(in, "id")),
		    json_integer_value(json_object_get(in, "pid")));
		json_object_set(o, id, in);
	}
	return o;
}

/* Until `next` (monotonic ms): q or ^C quits, a resize redraws at once. */
static void
monit_wait(uint64_t next)
{
	struct pollfd pfd;
	uint64_t now;
	char key;

	while (!monit_quit && (now = monit_now_ms()) < next) {
		if (monit_resized) {
			monit_resized = 0;
			fputs("\033[2J", stdout);
			return;
		}
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(next - now)) <= 0)
			continue;
		if (read(STDIN_FILENO, &key, 1) == 1 &&
		    (key == 'q' || key == 'Q' || key == 3))
			monit_quit = 1;
	}
}

static int
cmd_monit_run(struct ctl *ctl, int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
	struct sigaction sa, old[4];
	struct termios saved, raw;
	json_t *data = NULL, *prev = json_object();
	uint64_t last = 0, now;
	int rc = EXIT_OK, i;

	(void)argv;
	if (argc != 1)
		return ctl_usage(ctl);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		ctl_warn("monit needs a terminal (try wsctl status or metrics)");
		return EXIT_CMDFAIL;
	}
	/* the daemon first: "not running" is said on a normal terminal */
	if ((rc = client_call(ctl, "list", NULL, &data)) != 0) {
		json_decref(prev);
		return rc;
	}
	if (tcgetattr(STDIN_FILENO, &saved) < 0) {
		ctl_warn("monit: tcgetattr: %s", strerror(errno));
		json_decref(data);
		json_decref(prev);
		return EXIT_CMDFAIL;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = monit_signal_cb;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);	/* no SA_RESTART */
	raw = saved;
	raw.c_iflag &= ~(unsigned)(IXON | ICRNL | BRKINT | ISTRIP);
	raw.c_lflag &= ~(unsigned)(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	fputs("\033[?1049h\033[?25l\033[2J", stdout);

	while (!monit_quit) {
		now = monit_now_ms();
		if (data == NULL &&
		    (rc = client_call(ctl, "list", NULL, &data)) != 0)
			break;
		if (data != NULL) {
			json_t *insts = json_object_get(data, "instances");

			monit_draw(ctl, insts, prev,
			    last != 0 ? (double)(now - last) / 1000 : 0);
			json_decref(prev);
			prev = monit_keep(insts);
			json_decref(data);
			data = NULL;
			last = now;
		}
		monit_wait(last + MONIT_TICK_MS);
	}
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	/* what client_call said went with the alternate screen */
	if (rc != EXIT_OK)
		ctl_warn("monit: the daemon stopped answering (%s)",
		    ctl->errcode[0] != '\0' ? ctl->errcode : "no reply");
	json_decref(data);
	json_decref(prev);
	return rc;
}

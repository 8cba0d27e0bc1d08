/*
 * wsd: the command line, the event loop, signals, and the daemon's
 * lifecycle (startup, SIGHUP reload, graceful shutdown).
 *
 * Signals arrive through libuv (uv_signal: the handler only writes to a
 * pipe), so all the work they cause runs on the loop like any other event.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "exitcodes.h"
#include "fsutil.h"
#include "handover.h"
#include "knob.h"
#include "log.h"
#include "notify.h"
#include "wsd.h"
#include "xmalloc.h"

static int		 main_shutting;
static int		 main_ready_sent;
static int		 main_reloading;
static char		*main_config;		/* -f FILE, absolute */
static char		*main_mode;		/* --env MODE */
static char		**main_argv;		/* what wsctl update runs again */
static uv_signal_t	 main_signals[4];
static uv_timer_t	 main_stats;

static const char *const main_private_env[] = {
	"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
	"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
	"WSD_RUN_ID",	/* a wsd started by an instance of another */
	"WSD_METRICS_ADDR",	/* wsd's own port: a nested wsd would collide */
	NULL,
};

static void
usage(void)
{
	fprintf(stderr, "usage: wsd [-f FILE] [--env MODE] [--foreground] "
	    "[--resurrect]\n           [--metrics HOST:PORT]\n"
	    "       wsd -n FILE [--env MODE]\n");
	exit(EXIT_USAGE);
}

static void
main_print_diag(const struct diag *d, const char *prefix)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		fprintf(stderr, "%s%s\n", prefix, d->msgs[i]);
}

/* -n: check a file (and its apps' env files and secrets), start nothing. */
static int
main_check(const char *file, const char *mode)
{
	struct config c;
	struct env base;
	struct config_opts o = { mode, &base, NULL };
	int rc;

	env_init(&base);
	env_from_environ(&base, environ);
	config_load(&c, file, &o);
	main_print_diag(&c.warnings, "warning: ");
	main_print_diag(&c.errors, "");
	rc = c.errors.n > 0 ? EXIT_CONFIG : EXIT_OK;
	if (rc == EXIT_OK)
		fprintf(stderr, "%s: ok (%zu app%s)\n", file, c.napps,
		    c.napps == 1 ? "" : "s");
	config_free(&c);
	env_free(&base);
	return rc;
}

static void
main_finish(void)
{
	log_info("all apps stopped: exiting");
	notify_close();
	httpd_close();
	control_close();
	daemon_cleanup();
	exit(EXIT_OK);
}

/* After every instance transition, once the dust has settled, and after
 * reload.c and command.c have moved on: readiness and shutdown. */
static void
main_observer_cb(void)
{
	if (main_shutting) {
		if (app_all_stopped())
			main_finish();
		return;
	}
	if ((!main_ready_sent || main_reloading) && app_all_online() &&
	    (!main_reloading || reload_idle())) {
		main_ready_sent = 1;
		main_reloading = 0;
		notify_send("READY=1");
	}
}

/* wsd_shutdown: stop every app, then exit 0. */
static void
main_shutdown_cb(const char *why)
{
	if (main_shutting)
		return;
	main_shutting = 1;
	log_info("stopping every app (%s)", why);
	notify_send("STOPPING=1");
	uv_timer_stop(&main_stats);
	app_stop_all();
	if (app_all_stopped())
		main_finish();
}

static void
main_reload_app(struct app *a)
{
	struct inst **v;
	size_t j, n = 0;

	if ((v = calloc(a->ninsts + 1, sizeof *v)) == NULL)
		return;
	for (j = 0; j < a->ninsts; j++)
		if (a->insts[j] != NULL && !a->insts[j]->removing &&
		    j < (size_t)a->cfg.instances)
			v[n++] = a->insts[j];
	if (n > 0)
		reload_start(v, n, NULL, NULL, "SIGHUP");
	free(v);
}

/* SIGHUP: an app already running keeps the --env mode it was started with. */
static const char *
main_mode_of_cb(const char *name, const char *mode)
{
	struct app *old = name != NULL ? app_by_name(name) : NULL;

	return old != NULL ? old->env_mode : mode;
}

/* SIGHUP, one file: apply its new and changed apps. */
static void
main_reload_file(const char *file)
{
	struct config c;
	struct config_opts o = { main_mode, &wsd_base_env, main_mode_of_cb };
	struct diag errors;
	struct app *a, *old;
	size_t i, k;

	if (config_load(&c, file, &o) < 0 && !c.loaded) {
		for (k = 0; k < c.errors.n; k++)
			log_error("reload: %s", c.errors.msgs[k]);
		log_error("reload of %s refused: the running apps "
		    "keep their configuration", file);
		config_free(&c);
		return;
	}
	for (k = 0; k < c.nload_warnings; k++)
		log_warn("%s", c.warnings.msgs[k]);
	diag_init(&errors);
	for (k = 0; k < c.napps; k++) {
		struct config_app *ca = &c.apps[k];

		old = app_by_name(ca->cfg.name);
		if (old != NULL && json_equal(old->cfg.raw, ca->cfg.raw))
			continue;
		log_json(LOG_INFO, json_pack("{ss}", "app", ca->cfg.name),
		    "%s in %s: applying", old != NULL ? "changed" : "new",
		    file);
		for (i = 0; i < ca->errors.n; i++)
			diag_add(&errors, "%s", ca->errors.msgs[i]);
		if (app_add(ca, file, old == NULL, &a) < 0)
			continue;
		if (old != NULL)
			main_reload_app(a);
	}
	for (k = 0; k < errors.n; k++)
		log_error("reload: %s", errors.msgs[k]);
	diag_free(&errors);
	config_free(&c);
}

/* SIGHUP: re-read each ecosystem file; new apps start, changed ones reload
 * (instance by instance, queued behind a reload already under way). */
static void
main_reload_config(void)
{
	struct app *a;
	char **files = NULL;
	size_t nfiles = 0, i;

	if (main_config != NULL) {
		files = realloc(files, (nfiles + 1) * sizeof *files);
		files[nfiles++] = main_config;
	}
	TAILQ_FOREACH(a, app_all(), entry) {
		if (a->config_file == NULL)
			continue;
		for (i = 0; i < nfiles; i++)
			if (strcmp(files[i], a->config_file) == 0)
				break;
		if (i == nfiles) {
			files = realloc(files, (nfiles + 1) * sizeof *files);
			files[nfiles++] = a->config_file;
		}
	}
	main_reloading = 1;
	notify_send("RELOADING=1");
	for (i = 0; i < nfiles; i++) {
		char *file = strdup(files[i]);	/* app_add may free the original */

		main_reload_file(file);
		free(file);
	}
	free(files);
	inst_settled();
}

static void
main_signal_cb(uv_signal_t *h, int signum)
{
	(void)h;
	switch (signum) {
	case SIGTERM:
	case SIGINT:
		wsd_shutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP:
		log_info("SIGHUP: reloading the configuration");
		main_reload_config();
		break;
	case SIGUSR2:
		logcap_reopen_all();
		break;
	}
}

static void
main_stats_cb(uv_timer_t *t)
{
	(void)t;
	app_sample_stats();
	watch_memory();
}

/* The home folder, made absolute (*defhome: what to free), or NULL. */
static const char *
main_home(char *buf, size_t len, char **defhome)
{
	char cwd[4096];

	if (fsutil_home(buf, len) < 0)
		return NULL;
	if (buf[0] == '/')
		return buf;
	if (getcwd(cwd, sizeof cwd) == NULL ||
	    asprintf(defhome, "%s/%s", cwd, buf) < 0)
		return NULL;
	return *defhome;
}

/* The environment apps start from: wsd's own, minus what is for wsd. */
static void
main_base_env(void)
{
	size_t i;

	env_init(&wsd_base_env);
	env_from_environ(&wsd_base_env, environ);
	/* What systemd hands wsd is for wsd alone: an instance speaking
	 * sd_notify or socket activation on it would confuse both. */
	for (i = 0; main_private_env[i] != NULL; i++)
		env_unset(&wsd_base_env, main_private_env[i]);
}

/* What the app table asks of the rooms above it. */
static const struct app_ops main_app_ops = {
	.start = inst_start,
	.stop = inst_stop,
	.remove = inst_delete,
	.steer = inst_steer,
	.reloading = reload_busy,
};

/* The loop, the signals and every room, in the order they observe the
 * instances; then the control socket.  0 or -1. */
static int
main_rooms(int sockfd)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2 };
	size_t i;

	wsd_loop = uv_default_loop();
	for (i = 0; i < 4; i++) {
		uv_signal_init(wsd_loop, &main_signals[i]);
		uv_signal_start(&main_signals[i], main_signal_cb, sigs[i]);
	}
	app_init(&main_app_ops);
	wsd_set_shutdown(main_shutdown_cb);
	watch_init();
	reload_init();
	command_init();
	inst_observe(main_observer_cb);
	proc_init(wsd_loop, inst_child_exit);
	if (control_open(wsd_loop, sockfd) < 0)
		return -1;
	notify_init(wsd_loop);
	return 0;
}

/* The apps of -f (checked already), then those of dump.json. */
static void
main_start_apps(struct config *cfg, int resurrect)
{
	struct diag errors;
	struct app *a;
	json_t *insts;
	size_t k;

	for (k = 0; k < cfg->warnings.n; k++)
		log_warn("%s", cfg->warnings.msgs[k]);
	for (k = 0; k < cfg->napps; k++)
		app_add(&cfg->apps[k], main_config, 1, &a);
	config_free(cfg);
	if (!resurrect)
		return;
	diag_init(&errors);
	dump_resurrect(&errors, &insts);
	for (k = 0; k < errors.n; k++)
		log_error("resurrect: %s", errors.msgs[k]);
	diag_free(&errors);
	json_decref(insts);
}

/* The command line: -f FILE, -n FILE, --env MODE and the flags. */
static void
main_args(int argc, char **argv, char **file, const char **check,
    int *resurrect, const char **metrics, int *handover_check)
{
	int i;

	*metrics = getenv("WSD_METRICS_ADDR");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			*file = argv[++i];
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			*check = argv[++i];
		else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc)
			main_mode = argv[++i];
		else if (strcmp(argv[i], "--foreground") == 0)
			wsd_foreground = 1;
		else if (strcmp(argv[i], "--resurrect") == 0)
			*resurrect = 1;
		else if (strcmp(argv[i], "--handover-check") == 0)
			*handover_check = 1;	/* wsctl update asks it */
		else if (strcmp(argv[i], "--metrics") == 0 && i + 1 < argc)
			*metrics = argv[++i];
		else if (strcmp(argv[i], "--version") == 0) {
			printf("wsd %s\n", WSD_VERSION);
			exit(EXIT_OK);
		} else
			usage();
	}
}

/* -f FILE (none: an empty config), its warnings and errors said; 0 or -1. */
static int
main_load(const char *file, struct config *cfg)
{
	struct config_opts o = { main_mode, &wsd_base_env, NULL };

	memset(cfg, 0, sizeof *cfg);
	diag_init(&cfg->errors);
	diag_init(&cfg->warnings);
	if (file == NULL)
		return 0;
	if ((main_config = realpath(file, NULL)) == NULL)
		main_config = strdup(file);
	config_load(cfg, main_config, &o);
	main_print_diag(&cfg->warnings, "warning: ");
	if (cfg->errors.n == 0)
		return 0;
	main_print_diag(&cfg->errors, "");
	return -1;
}

/* --metrics / WSD_METRICS_ADDR: the bound fd, -1 for none, -2 (said). */
static int
main_metrics_listen(const char *addr)
{
	char	*err = NULL;
	int	 fd;

	if (addr == NULL || *addr == '\0')
		return -1;
	if ((fd = httpd_listen(addr, &err)) < 0) {
		fprintf(stderr, "wsd: %s\n", err != NULL ? err :
		    "cannot listen for metrics");
		free(err);
		return -2;
	}
	return fd;
}

/* The loop with every room, the apps started (or, after an update, the
 * state taken back), until the shutdown.  h: the hand-over, or NULL. */
static int
main_serve(int sockfd, int metricsfd, const char *metrics, struct config *cfg,
    int resurrect, pid_t launcher, struct handover *h)
{
	uint64_t k;

	daemon_write_pid();
	signal(SIGPIPE, SIG_IGN);
	log_setup(NULL, -1);
	events_init();
	wsd_started_ms = h != NULL ? h->started_ms : wsd_epoch_ms();

	if (main_rooms(sockfd) < 0) {
		daemon_ready(1);
		daemon_cleanup();
		return 1;
	}
	if (metricsfd >= 0 && httpd_open(wsd_loop, metricsfd) < 0)
		log_error("metrics endpoint %s: cannot serve",
		    metrics != NULL ? metrics : "");
	update_init(main_argv, main_config, main_mode);
	if (h != NULL) {
		/* Ready was said by the first image; systemd sees one service. */
		main_ready_sent = 1;
		leftover_resume(wsd_home);
		update_restore(h);
		handover_free(h);
	} else {
		log_json(LOG_INFO, json_pack("{ssss}", "home", wsd_home,
		    "version", WSD_VERSION), "wsd started");
		/* A crashed predecessor's leftovers must be gone before any
		 * port of ours is bound: they would serve old code beside the
		 * new instances. */
		leftover_start(wsd_home, launcher);
		main_start_apps(cfg, resurrect);
	}

	uv_timer_init(wsd_loop, &main_stats);
	k = knob_or_default(KNOB_WSD_STATS_INTERVAL_MS);
	uv_timer_start(&main_stats, main_stats_cb, k, k);

	daemon_ready(0);
	inst_settled();
	uv_run(wsd_loop, UV_RUN_DEFAULT);
	daemon_cleanup();
	return EXIT_OK;
}

/*
 * After wsctl update (WSD_HANDOVER_FD): the same process, a new image.
 * Detached, locked and listening already: the state says with what.
 */
static int
main_resume(void)
{
	struct handover h;
	char *err = NULL;

	if (update_read(&h, &err) < 0) {
		/* Nothing to serve with: the children go with us. */
		fprintf(stderr, "wsd: update: %s\n", err);
		return 1;
	}
	/* For the life of the process: the state is freed once taken back. */
	wsd_home = xstrdup(h.home);
	main_config = h.config != NULL ? xstrdup(h.config) : NULL;
	main_mode = h.mode != NULL ? xstrdup(h.mode) : NULL;
	main_base_env();
	daemon_resume(wsd_home, h.lock_fd);
	if (!wsd_foreground)
		daemon_open_log(wsd_home);
	return main_serve(h.control_fd, h.metrics_fd, NULL, NULL, 0, 0, &h);
}

int
main(int argc, char **argv)
{
	struct config cfg;
	static char homebuf[PATH_MAX];	/* wsd_home points here */
	const char *check = NULL, *home, *metrics;
	char *err = NULL, *defhome = NULL, *file = NULL;
	int resurrect = 0, sockfd, metricsfd = -1, rc, hcheck = 0;
	pid_t launcher = getpid();

	xmalloc_jansson();	/* out of memory is fatal in wsd: xmalloc.h */
	main_argv = argv;
	main_args(argc, argv, &file, &check, &resurrect, &metrics, &hcheck);
	if (check != NULL)
		return main_check(check, main_mode);
	if (hcheck)
		return update_check();
	if (getenv("WSD_HANDOVER_FD") != NULL)
		return main_resume();

	if ((home = main_home(homebuf, sizeof homebuf, &defhome)) == NULL)
		return 1;
	wsd_home = home;
	main_base_env();

	/* Configuration errors go to the terminal, before anything starts. */
	if (main_load(file, &cfg) < 0) {
		rc = EXIT_CONFIG;
		goto fail;
	}
	if (daemon_home(home, &err) < 0 || daemon_lock(home, &err) < 0 ||
	    (sockfd = daemon_socket(home, &err)) < 0) {
		fprintf(stderr, "wsd: %s\n", err != NULL ? err : "cannot start");
		free(err);
		rc = 1;
		goto fail;
	}
	/* Bound before detaching, so a taken port is said on the terminal. */
	if ((metricsfd = main_metrics_listen(metrics)) == -2) {
		daemon_cleanup();
		rc = EXIT_CONFIG;
		goto fail;
	}
	if (!wsd_foreground) {
		if (daemon_detach() < 0) {
			fprintf(stderr, "wsd: cannot detach\n");
			return 1;
		}
		daemon_open_log(home);
	}
	return main_serve(sockfd, metricsfd, metrics, &cfg, resurrect,
	    launcher, NULL);
fail:
	config_free(&cfg);
	env_free(&wsd_base_env);
	free(main_config);
	free(defhome);
	return rc;
}

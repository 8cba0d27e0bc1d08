/*
 * The triggers that reload instances on their own: cron_restart (a timer
 * per app, armed when the app is added) and max_memory_restart (checked
 * after each stats sample); and watch (fswatch.c), which restarts them,
 * followed from the same hooks.  Above the table and reload.c: app.c only
 * calls the hooks watch_init gives it.
 */
#include <stdlib.h>
#include <time.h>

#include "cron.h"
#include "log.h"
#include "wsd.h"

static void
watch_cron_free_cb(uv_handle_t *h)
{
	free(h);
}

static void	watch_cron_arm(struct app *);

/* cron_restart: reload the running instances, then wait for the next time. */
static void
watch_cron_cb(uv_timer_t *t)
{
	struct app *a = t->data;
	struct inst **v;
	size_t i, n = 0;

	watch_cron_arm(a);
	if (reload_busy(a)) {
		log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
		    "cron_restart %s: skipped, a reload is in progress",
		    a->cfg.cron_restart);
		return;
	}
	log_json(LOG_INFO, json_pack("{ss}", "app", a->cfg.name),
	    "cron_restart %s: reloading", a->cfg.cron_restart);
	if ((v = calloc(a->ninsts + 1, sizeof *v)) == NULL)
		return;
	for (i = 0; i < a->ninsts; i++)
		if (a->insts[i] != NULL && !a->insts[i]->removing &&
		    (a->insts[i]->ps.state == ST_ONLINE ||
		    a->insts[i]->ps.state == ST_LAUNCHING))
			v[n++] = a->insts[i];
	if (n > 0)
		reload_start(v, n, NULL, NULL, "cron_restart");
	free(v);
}

static void
watch_cron_arm(struct app *a)
{
	struct cron c;
	const char *err;
	time_t now, next;
	uint64_t ms;

	if (a->cron_timer != NULL)
		uv_timer_stop(a->cron_timer);
	if (a->cfg.cron_restart == NULL ||
	    cron_parse(a->cfg.cron_restart, &c, &err) < 0)
		return;
	if (a->cron_timer == NULL) {
		if ((a->cron_timer = malloc(sizeof *a->cron_timer)) == NULL)
			return;
		uv_timer_init(wsd_loop, a->cron_timer);
		a->cron_timer->data = a;
	}
	/* The loop's clock may fire a timer a little before the wall clock
	 * reaches the minute: never pick the same cron time twice. */
	now = (time_t)(wsd_epoch_ms() / 1000);
	next = cron_next(&c, now > a->cron_at ? now : (time_t)a->cron_at);
	a->cron_at = next;
	uv_update_time(wsd_loop);
	ms = (uint64_t)next * 1000 > wsd_epoch_ms() ?
	    (uint64_t)next * 1000 - wsd_epoch_ms() : 0;
	uv_timer_start(a->cron_timer, watch_cron_cb, ms, 0);
}

/* The app's definition changed (or it is new): its cron time and its
 * watched paths too. */
static void
watch_added_cb(struct app *a)
{
	watch_cron_arm(a);
	fswatch_app(a);
}

static void
watch_freed_cb(struct app *a)
{
	if (a->cron_timer != NULL)
		uv_close((uv_handle_t *)a->cron_timer, watch_cron_free_cb);
	a->cron_timer = NULL;
	fswatch_app_stop(a);
}

void
watch_init(void)
{
	app_set_hooks(watch_added_cb, watch_freed_cb);
}

void
watch_memory(void)
{
	struct inst *in;

	/* max_memory_restart: over the limit → reload that instance (not
	 * while its app is being reloaded: a fresh process is coming). */
	TAILQ_FOREACH(in, app_insts(), entry) {
		uint64_t lim = in->app->cfg.max_memory_restart;

		if (lim > 0 && in->ps.state == ST_ONLINE && in->mem > lim &&
		    in->reload == RL_NONE && !reload_busy(in->app)) {
			log_json(LOG_WARN, app_fields(in), "memory limit reached "
			    "(%llu > %llu bytes): reloading",
			    (unsigned long long)in->mem, (unsigned long long)lim);
			reload_start(&in, 1, NULL, NULL, "max_memory_restart");
		}
	}
}

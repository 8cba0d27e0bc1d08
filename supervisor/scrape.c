/*
 * What the aggregated metrics are made from: the instance table read into
 * metrics rows (supervisor/metrics.c), and the fold of a slot's counters
 * into its carried base when a new process takes the slot.
 */
#include <stdlib.h>
#include <unistd.h>

#include "wsd.h"

static void
scrape_row(const struct inst *in, struct metrics_row *r, uint64_t now,
    long hz)
{
	int running = in->pid != 0;

	r->app = in->app->cfg.name;
	r->slot = in->slot;
	r->pid = in->pid;
	r->state = in->ps.state;
	metrics_row_stats(r, in->stats, &in->carry, running);
	r->v[MF_RESTARTS] = in->ps.restarts;
	r->v[MF_UNSTABLE] = in->ps.unstable;
	r->v[MF_UPTIME] = running && in->started_epoch != 0 &&
	    now > in->started_epoch ? (double)(now - in->started_epoch) / 1000 :
	    0;
	r->v[MF_MEMORY] = running ? (double)in->mem : 0;
	r->v[MF_MEMORY_LIMIT] = (double)in->app->cfg.max_memory_restart;
	r->v[MF_CPU_PERCENT] = running ? in->cpu : 0;
	/* cpu_ticks is the current process's (carried like the worker's) */
	r->v[MF_CPU_SECONDS] = in->carry.base[MF_CPU_SECONDS] +
	    (hz > 0 ? (double)in->cpu_ticks / (double)hz : 0);
	r->has[MF_RESTARTS] = r->has[MF_UNSTABLE] = r->has[MF_UPTIME] = 1;
	r->has[MF_MEMORY] = r->has[MF_MEMORY_LIMIT] = 1;
	r->has[MF_CPU_PERCENT] = r->has[MF_CPU_SECONDS] = 1;
}

int
scrape_rows(struct metrics_row **rows, size_t *n)
{
	struct inst *in;
	size_t i = 0;
	uint64_t now = wsd_epoch_ms();
	long hz = sysconf(_SC_CLK_TCK);

	*n = 0;
	TAILQ_FOREACH(in, app_insts(), entry)
		i++;
	if ((*rows = calloc(i > 0 ? i : 1, sizeof **rows)) == NULL)
		return -1;
	TAILQ_FOREACH(in, app_insts(), entry)
		scrape_row(in, &(*rows)[(*n)++], now, hz);
	return 0;
}

char *
scrape_text(void)
{
	struct metrics_row *rows;
	size_t n;
	char *text;

	if (scrape_rows(&rows, &n) < 0)
		return NULL;
	text = metrics_text(rows, n);
	free(rows);
	return text;
}

void
scrape_fold(struct inst *in)
{
	struct metrics_row r = { 0 };

	scrape_row(in, &r, wsd_epoch_ms(), sysconf(_SC_CLK_TCK));
	metrics_carry_fold(&in->carry, &r);
}

/* Latency histogram: 10 µs buckets up to 60 s, so percentiles need no sample array. */
#include <stdlib.h>

#include "wsbench.h"

#define HIST_STEP_NS	10000LL
#define HIST_BUCKETS	(60LL * 1000000000LL / HIST_STEP_NS)

int
wb_hist_init(struct wb_hist *h)
{
	h->n = 0;
	h->max_ns = 0;
	h->sum_ns = 0;
	h->b = calloc((size_t)HIST_BUCKETS, sizeof *h->b);
	return h->b == NULL ? -1 : 0;
}

void
wb_hist_add(struct wb_hist *h, int64_t ns)
{
	int64_t	i;

	if (ns < 0)
		ns = 0;
	i = ns / HIST_STEP_NS;
	if (i >= HIST_BUCKETS)
		i = HIST_BUCKETS - 1;
	h->b[i]++;
	h->n++;
	h->sum_ns += (double)ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

/* The upper edge of the bucket holding the pct-th percentile, in ms. */
double
wb_hist_pct_ms(const struct wb_hist *h, double pct)
{
	uint64_t	want, seen = 0;
	int64_t		i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)((double)h->n * pct / 100.0);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want)
			return (double)((i + 1) * HIST_STEP_NS) / 1e6;
	}
	return (double)h->max_ns / 1e6;
}

void
wb_hist_free(struct wb_hist *h)
{
	free(h->b);
	h->b = NULL;
}

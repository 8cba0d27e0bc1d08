/* The servers' cost as the kernel counts it: RSS and CPU time of whole process trees, from /proc. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsbench.h"

/* "12,34 56" → pids; returns how many (at most max). */
int
wb_proc_parse_pids(const char *s, pid_t *out, int max)
{
	int	n = 0;

	while (s != NULL && *s != '\0' && n < max) {
		char	*end;
		long	 v = strtol(s, &end, 10);

		if (end == s) {
			s++;
			continue;
		}
		if (v > 0)
			out[n++] = (pid_t)v;
		s = end;
	}
	return n;
}

/* ppid, utime+stime+cutime+cstime and rss pages of one process. */
static int
proc_read(pid_t pid, pid_t *ppid, uint64_t *ticks, uint64_t *rss_pages)
{
	char			 path[64], buf[1024], *p;
	FILE			*f;
	size_t			 n;
	unsigned long long	 ut, st, cut, cst;
	long			 pp, rss;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime prio nice threads itreal
	 * starttime vsize rss */
	if (sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
	    "%llu %llu %*d %*d %*d %*d %*u %*u %ld", &pp, &ut, &st, &cut, &cst,
	    &rss) != 6)
		return -1;
	*ppid = (pid_t)pp;
	*ticks = ut + st + cut + cst;
	*rss_pages = (uint64_t)rss;
	return 0;
}

/* On-CPU nanoseconds of every thread of pid (schedstat: finer than ticks). */
static uint64_t
proc_cpu_ns(pid_t pid)
{
	char		 path[320];
	DIR		*d;
	struct dirent	*de;
	uint64_t	 sum = 0;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		FILE			*f;
		unsigned long long	 ns;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat",
		    (int)pid, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/*
 * Sums the trees rooted at roots: every process whose chain of parents
 * reaches a root.  One pass over /proc collects (pid, ppid); descendants
 * are then found by repeated sweeps (trees here are shallow).
 */
int
wb_procstat(const pid_t *roots, int nroots, struct wb_procstat *out)
{
	DIR		*d;
	struct dirent	*de;
	struct ent { pid_t pid, ppid; uint64_t ticks, rss; int in; } *v = NULL;
	size_t		 nv = 0, cap = 0, i;
	long		 page = sysconf(_SC_PAGESIZE);
	int		 changed, k;

	memset(out, 0, sizeof *out);
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct ent	e;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		memset(&e, 0, sizeof e);
		e.pid = (pid_t)atoi(de->d_name);
		if (proc_read(e.pid, &e.ppid, &e.ticks, &e.rss) == -1)
			continue;
		for (k = 0; k < nroots; k++)
			if (roots[k] == e.pid)
				e.in = 1;
		if (nv == cap) {
			struct ent *nvp;

			cap = cap ? cap * 2 : 512;
			if ((nvp = realloc(v, cap * sizeof *v)) == NULL) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nvp;
		}
		v[nv++] = e;
	}
	closedir(d);
	do {
		changed = 0;
		for (i = 0; i < nv; i++) {
			size_t j;

			if (v[i].in)
				continue;
			for (j = 0; j < nv; j++)
				if (v[j].in && v[j].pid == v[i].ppid) {
					v[i].in = 1;
					changed = 1;
					break;
				}
		}
	} while (changed);
	for (i = 0; i < nv; i++)
		if (v[i].in) {
			out->rss += v[i].rss * (uint64_t)page;
			out->ticks += v[i].ticks;
			out->cpu_ns += proc_cpu_ns(v[i].pid);
			out->nprocs++;
		}
	free(v);
	return 0;
}

double
wb_ticks_to_s(uint64_t t)
{
	return (double)t / (double)sysconf(_SC_CLK_TCK);
}

/*
 * Processes as /proc/PID/stat shows them, and the cpu and memory of
 * instances: each instance's figure covers its process tree (its
 * descendants and the members of its process group), so a shell wrapper
 * does not hide the real server's memory.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsd.h"

int
procstat_read(pid_t pid, struct procinfo *pi)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	unsigned long long start;
	long rss;
	int ppid, pgrp, sid;
	char state;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the last
	 * ')'.  Fields 3..24: state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime cutime cstime priority nice
	 * threads itrealvalue starttime vsize rss. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%c %d %d %d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
	    "%*d %*d %*d %*d %*d %*d %llu %*u %ld", &state, &ppid, &pgrp, &sid,
	    &utime, &stime, &start, &rss) != 8)
		return -1;
	pi->pid = pid;
	pi->ppid = ppid;
	pi->pgrp = pgrp;
	pi->sid = sid;
	pi->state = state;
	pi->start = start;
	pi->ticks = utime + stime;
	pi->rss = (uint64_t)(rss > 0 ? rss : 0) * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

static int
procstat_cmp(const void *a, const void *b)
{
	const struct procinfo *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int
procstat_all(struct procinfo **out, size_t *nout)
{
	struct procinfo *all = NULL, *na;
	size_t nall = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*nout = 0;
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (nall == cap) {
			cap = cap ? cap * 2 : 256;
			if ((na = realloc(all, cap * sizeof *all)) == NULL)
				break;
			all = na;
		}
		if (procstat_read((pid_t)atoi(de->d_name), &all[nall]) == 0)
			nall++;
	}
	closedir(d);
	if (all != NULL)
		qsort(all, nall, sizeof *all, procstat_cmp);
	*out = all;
	*nout = nall;
	return 0;
}

const struct procinfo *
procstat_find(const struct procinfo *all, size_t n, pid_t pid)
{
	struct procinfo key;

	if (all == NULL)
		return NULL;
	key.pid = pid;
	return bsearch(&key, all, n, sizeof *all, procstat_cmp);
}

int
procstat_sample(struct procstat *out, size_t n)
{
	struct procinfo *all;
	const struct procinfo *parent;
	size_t nall, i, j;
	char *mark;
	int changed;

	for (i = 0; i < n; i++) {
		out[i].ticks = 0;
		out[i].rss = 0;
	}
	if (n == 0)
		return 0;
	if (procstat_all(&all, &nall) < 0)
		return -1;
	if ((mark = calloc(nall + 1, 1)) == NULL) {
		free(all);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (out[i].pid <= 0)
			continue;
		for (j = 0; j < nall; j++)
			mark[j] = all[j].pid == out[i].pid ||
			    all[j].pgrp == out[i].pid;
		/* Descendants, to a fixed point: children mostly have higher
		 * pids than their parents, so one or two passes do. */
		do {
			changed = 0;
			for (j = 0; j < nall; j++) {
				if (mark[j])
					continue;
				parent = procstat_find(all, nall, all[j].ppid);
				if (parent != NULL && mark[parent - all]) {
					mark[j] = 1;
					changed = 1;
				}
			}
		} while (changed);
		for (j = 0; j < nall; j++) {
			if (mark[j]) {
				out[i].ticks += all[j].ticks;
				out[i].rss += all[j].rss;
			}
		}
	}
	free(mark);
	free(all);
	return 0;
}

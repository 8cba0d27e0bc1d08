/*
 * cpu and memory of instances from /proc: each instance's figure covers its
 * process tree (its descendants and the members of its process group), so
 * a shell wrapper does not hide the real server's memory.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsd.h"

struct pstat {
	pid_t		 pid;
	pid_t		 ppid;
	pid_t		 pgrp;
	uint64_t	 ticks;
	uint64_t	 rss;
	int		 mark;
};

static int
procstat_read(pid_t pid, struct pstat *ps)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	long rss;
	int ppid, pgrp;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%*c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
	    "%*d %*d %*d %*d %*d %*d %*u %*u %ld", &ppid, &pgrp, &utime, &stime,
	    &rss) != 5)
		return -1;
	ps->pid = pid;
	ps->ppid = ppid;
	ps->pgrp = pgrp;
	ps->ticks = utime + stime;
	ps->rss = (uint64_t)(rss > 0 ? rss : 0) * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

static int
procstat_cmp(const void *a, const void *b)
{
	const struct pstat *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int
procstat_sample(struct procstat *out, size_t n)
{
	struct pstat *all = NULL, *na;
	size_t nall = 0, cap = 0, i, j;
	struct dirent *de;
	DIR *d;
	int changed;

	for (i = 0; i < n; i++) {
		out[i].ticks = 0;
		out[i].rss = 0;
	}
	if (n == 0)
		return 0;
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
	qsort(all, nall, sizeof *all, procstat_cmp);

	for (i = 0; i < n; i++) {
		if (out[i].pid <= 0)
			continue;
		for (j = 0; j < nall; j++)
			all[j].mark = all[j].pid == out[i].pid ||
			    all[j].pgrp == out[i].pid;
		/* Descendants, to a fixed point: children mostly have higher
		 * pids than their parents, so one or two passes do. */
		do {
			changed = 0;
			for (j = 0; j < nall; j++) {
				struct pstat key, *parent;

				if (all[j].mark)
					continue;
				key.pid = all[j].ppid;
				parent = bsearch(&key, all, nall, sizeof *all,
				    procstat_cmp);
				if (parent != NULL && parent->mark) {
					all[j].mark = 1;
					changed = 1;
				}
			}
		} while (changed);
		for (j = 0; j < nall; j++) {
			if (all[j].mark) {
				out[i].ticks += all[j].ticks;
				out[i].rss += all[j].rss;
			}
		}
	}
	free(all);
	return 0;
}

/*
 * What a dead wsd left running: the record of this run's instances in the
 * home (run.json), and at start the end of a dead run's leftovers.
 *
 * PR_SET_PDEATHSIG reaches an instance's own process only.  When wsd is
 * SIGKILLed, what that process started (the server under a `sh -c`
 * wrapper, a background job) is re-parented to init and goes on serving
 * on the inherited SO_REUSEPORT socket beside the next wsd's instances.
 * So run.json holds the boot, a random id of this run (every instance gets
 * it as WSD_RUN_ID and its descendants inherit it), wsd's start time, and
 * each live instance's process group with its leader's start time.  The
 * next wsd of the home (it holds the home's lock: the old one is gone)
 * reads it before any instance starts and SIGKILLs, until none is left:
 *
 *  - a recorded group whose leader still runs: a pid and its start time
 *    (clock ticks after boot) name one process for the life of the boot,
 *    and a live leader keeps its group id from being reused;
 *  - a process whose /proc/PID/environ carries the run's WSD_RUN_ID and
 *    that started after that wsd: this also finds what left the group
 *    (setsid, a daemonized job) and what outlived its group's leader.
 *
 * Nothing else: a pid or group id on record but since reused by another
 * process (pid_max may be 32768) matches neither rule, another home's wsd
 * has another run id, and a file from an earlier boot is ignored.  The new
 * wsd, the process that ran it (a detached wsd is no longer its child) and
 * their ancestors are never touched: wsd may have been started from a
 * process of the old run.  A single process is signalled through a pidfd
 * opened before it is checked, so a pid reused in between is never hit; a
 * group gets kill(-pgid) right after its leader is checked, which the
 * kernel applies to the whole group even while it forks.
 */
#include <sys/pidfd.h>
#include <sys/random.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "wsd.h"

#define LEFTOVER_FILE		"run.json"
#define LEFTOVER_VAR		"WSD_RUN_ID"
#define LEFTOVER_POLL_MS	10
#define LEFTOVER_WAIT_MS	5000

/* An instance's process group, named by its leader. */
struct leftover_group {
	pid_t		 pgid;
	uint64_t	 start;		/* the leader's, clock ticks after boot */
};

/* A run of wsd as run.json records it. */
struct leftover_run {
	char			 boot[64];
	char			 id[64];
	pid_t			 pid;
	uint64_t		 start;
	struct leftover_group	*groups;
	size_t			 ngroups;
};

/* What one scan found of a dead run. */
struct leftover_scan {
	const struct leftover_run *old;
	struct procinfo	*all;
	size_t		 nall;
	pid_t		*spare;		/* wsd, its launcher, their ancestors */
	size_t		 nspare;
	pid_t		*logged;	/* killed and logged already */
	size_t		 nlogged;
	size_t		 alive;		/* ours and signalled, this round */
};

static struct leftover_run	 leftover_me;
static size_t			 leftover_cap;
static char			 leftover_path[PATH_MAX];
static char			 leftover_env[sizeof LEFTOVER_VAR + 64];
static int			 leftover_failed;	/* the last write failed */

static int
leftover_boot_id(char *buf, size_t len)
{
	FILE *f;

	buf[0] = '\0';
	if ((f = fopen("/proc/sys/kernel/random/boot_id", "re")) == NULL)
		return -1;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] != '\0' ? 0 : -1;
}

static void
leftover_write(void)
{
	json_t *doc, *groups;
	char tmp[PATH_MAX + 8], *text;
	size_t i;
	int rc = -1;

	groups = json_array();
	for (i = 0; i < leftover_me.ngroups; i++)
		json_array_append_new(groups, json_pack("{sIsI}",
		    "pgid", (json_int_t)leftover_me.groups[i].pgid,
		    "start", (json_int_t)leftover_me.groups[i].start));
	doc = json_pack("{sssssIsIso}", "boot", leftover_me.boot,
	    "run", leftover_me.id, "pid", (json_int_t)leftover_me.pid,
	    "start", (json_int_t)leftover_me.start, "groups", groups);
	text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	snprintf(tmp, sizeof tmp, "%s.new", leftover_path);
	if (text != NULL &&
	    fsutil_write_file(tmp, text, strlen(text), 0600) == 0) {
		if ((rc = rename(tmp, leftover_path)) < 0)
			unlink(tmp);
	}
	free(text);
	/* Once per failure streak: a full disk must not flood the log. */
	if (rc < 0 && !leftover_failed)
		log_error("%s: %s: a crash of this wsd could leave processes "
		    "running", leftover_path, strerror(errno));
	leftover_failed = rc < 0;
}

static int
leftover_number(json_t *o, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

/* The dead run from run.json: 1, 0 when there is none, -1 unusable (*why). */
static int
leftover_load(struct leftover_run *r, const char **why)
{
	json_error_t jerr;
	json_t *doc, *groups, *g;
	const char *boot, *id;
	uint64_t pid, start;
	size_t i;

	memset(r, 0, sizeof *r);
	*why = NULL;
	if (access(leftover_path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if ((doc = json_load_file(leftover_path, 0, &jerr)) == NULL) {
		*why = "not JSON";
		return -1;
	}
	boot = json_string_value(json_object_get(doc, "boot"));
	id = json_string_value(json_object_get(doc, "run"));
	groups = json_object_get(doc, "groups");
	if (boot == NULL || id == NULL || *id == '\0' ||
	    strlen(boot) >= sizeof r->boot || strlen(id) >= sizeof r->id ||
	    leftover_number(doc, "pid", &pid) < 0 ||
	    leftover_number(doc, "start", &start) < 0 ||
	    !json_is_array(groups)) {
		json_decref(doc);
		*why = "a field is missing or of the wrong type";
		return -1;
	}
	snprintf(r->boot, sizeof r->boot, "%s", boot);
	snprintf(r->id, sizeof r->id, "%s", id);
	r->pid = (pid_t)pid;
	r->start = start;
	r->groups = calloc(json_array_size(groups) + 1, sizeof *r->groups);
	json_array_foreach(groups, i, g) {
		if (r->groups == NULL ||
		    leftover_number(g, "pgid", &pid) < 0 || pid <= 1 ||
		    pid > INT_MAX || leftover_number(g, "start", &start) < 0)
			continue;	/* an entry we cannot trust names nothing */
		r->groups[r->ngroups].pgid = (pid_t)pid;
		r->groups[r->ngroups++].start = start;
	}
	json_decref(doc);
	return 1;
}

/*
 * From the environment of pid: does it carry the old run's marker, and
 * which app and instance does it belong to (for the log).  -1: unreadable.
 */
static int
leftover_environ(pid_t pid, const char *marker, char *app, size_t applen,
    int *inst)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while ((n = getdelim(&line, &cap, '\0', f)) > 0) {
		if (marker != NULL && strcmp(line, marker) == 0)
			found = 1;
		else if (app != NULL && strncmp(line, "WSD_APP_NAME=", 13) == 0)
			snprintf(app, applen, "%s", line + 13);
		else if (inst != NULL && strncmp(line, "WSD_INSTANCE=", 13) == 0)
			*inst = atoi(line + 13);
	}
	free(line);
	fclose(f);
	return found;
}

static int
leftover_has(const pid_t *v, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == pid)
			return 1;
	return 0;
}

static void
leftover_log(struct leftover_scan *s, pid_t pid, const char *why)
{
	char app[128] = "";
	int inst = -1;
	json_t *fields;
	pid_t *nl;

	if (leftover_has(s->logged, s->nlogged, pid))
		return;
	if ((nl = realloc(s->logged, (s->nlogged + 1) * sizeof *nl)) != NULL) {
		s->logged = nl;
		s->logged[s->nlogged++] = pid;
	}
	leftover_environ(pid, NULL, app, sizeof app, &inst);
	fields = json_pack("{si}", "pid", (int)pid);
	if (app[0] != '\0')
		json_object_set_new(fields, "app", json_string(app));
	if (inst >= 0)
		json_object_set_new(fields, "instance", json_integer(inst));
	log_json(LOG_WARN, fields, "SIGKILL to a process left by wsd pid %d "
	    "(%s)", (int)s->old->pid, why);
}

/* The live process the pidfd names is still `p` (pid and start time). */
static int
leftover_same(const struct procinfo *p)
{
	struct procinfo now;

	return procstat_read(p->pid, &now) == 0 && now.start == p->start &&
	    now.state != 'Z' && now.state != 'X';
}

/* SIGKILL p through a pidfd if it still is p (and carries `marker`). */
static int
leftover_kill_one(struct leftover_scan *s, const struct procinfo *p,
    const char *marker, const char *why)
{
	int fd, hit = 0;

	if (p->state == 'Z' || p->state == 'X' ||
	    leftover_has(s->spare, s->nspare, p->pid) ||
	    (fd = pidfd_open(p->pid, 0)) < 0)
		return 0;
	if (leftover_same(p) && (marker == NULL ||
	    leftover_environ(p->pid, marker, NULL, 0, NULL) == 1)) {
		leftover_log(s, p->pid, why);
		hit = pidfd_send_signal(fd, SIGKILL, NULL, 0) == 0;
	}
	close(fd);
	return hit;
}

/*
 * Kill each recorded group whose leader still runs: kill(-pgid) reaches
 * the members it forks meanwhile, unless one of the spared is a member.
 */
static void
leftover_kill_groups(struct leftover_scan *s)
{
	static const char why[] = "in its instance's process group";
	const struct leftover_group *g;
	const struct procinfo *leader, *p;
	size_t i, j;
	int shared;

	for (i = 0; i < s->old->ngroups; i++) {
		g = &s->old->groups[i];
		leader = procstat_find(s->all, s->nall, g->pgid);
		if (leader == NULL || leader->start != g->start ||
		    leftover_has(s->spare, s->nspare, g->pgid) ||
		    !leftover_same(leader))
			continue;
		shared = 0;
		for (j = 0; j < s->nall; j++)
			if (s->all[j].pgrp == g->pgid &&
			    leftover_has(s->spare, s->nspare, s->all[j].pid))
				shared = 1;
		for (j = 0; j < s->nall; j++) {
			p = &s->all[j];
			if (p->pgrp != g->pgid)
				continue;
			if (shared)
				s->alive += leftover_kill_one(s, p, NULL, why);
			else if (p->state != 'Z')
				leftover_log(s, p->pid, why);
		}
		if (!shared && kill(-g->pgid, SIGKILL) == 0)
			s->alive++;
	}
}

/* Kill each process started after the old wsd that carries its marker. */
static void
leftover_kill_marked(struct leftover_scan *s, const char *marker)
{
	size_t i;

	for (i = 0; i < s->nall; i++)
		if (s->all[i].start >= s->old->start)
			s->alive += leftover_kill_one(s, &s->all[i], marker,
			    "it carries the run's " LEFTOVER_VAR);
}

/* wsd, the process that started it, and the processes they descend from. */
static void
leftover_spare(struct leftover_scan *s, pid_t launcher)
{
	const struct procinfo *p;
	pid_t pid, *ns;
	int k;

	for (k = 0; k < 2; k++) {
		pid = k == 0 ? getpid() : launcher;
		while (pid > 1 && !leftover_has(s->spare, s->nspare, pid)) {
			ns = realloc(s->spare, (s->nspare + 1) * sizeof *ns);
			if (ns == NULL)
				return;
			s->spare = ns;
			s->spare[s->nspare++] = pid;
			if ((p = procstat_find(s->all, s->nall, pid)) == NULL)
				break;
			pid = p->ppid;
		}
	}
}

static void
leftover_reap(const struct leftover_run *old, pid_t launcher)
{
	struct leftover_scan s;
	struct timespec ts = { 0, LEFTOVER_POLL_MS * 1000000L };
	char marker[sizeof leftover_env];
	uint64_t end = wsd_now_ms() + LEFTOVER_WAIT_MS;

	memset(&s, 0, sizeof s);
	s.old = old;
	snprintf(marker, sizeof marker, "%s=%s", LEFTOVER_VAR, old->id);
	/* Until a scan finds none alive: a leftover may fork between a scan
	 * and its SIGKILL, and one killed is gone only once it is a zombie. */
	for (;;) {
		if (procstat_all(&s.all, &s.nall) < 0) {
			log_error("/proc: %s: leftovers of wsd pid %d not "
			    "looked for", strerror(errno), (int)old->pid);
			break;
		}
		if (s.spare == NULL)
			leftover_spare(&s, launcher);
		s.alive = 0;
		leftover_kill_groups(&s);
		leftover_kill_marked(&s, marker);
		free(s.all);
		s.all = NULL;
		if (s.alive == 0)
			break;
		if (wsd_now_ms() >= end) {
			log_error("%zu process%s left by wsd pid %d still there "
			    "%d ms after SIGKILL: going on", s.alive,
			    s.alive == 1 ? "" : "es", (int)old->pid,
			    LEFTOVER_WAIT_MS);
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (s.nlogged > 0)
		log_info("%zu process%s left by wsd pid %d ended",
		    s.nlogged, s.nlogged == 1 ? "" : "es", (int)old->pid);
	free(s.spare);
	free(s.logged);
}

static void
leftover_new_id(char *buf, size_t len)
{
	unsigned char r[16];
	size_t i;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		/* wsd's pid and start time name this run for the boot. */
		snprintf(buf, len, "%d.%llu", (int)leftover_me.pid,
		    (unsigned long long)leftover_me.start);
		return;
	}
	for (i = 0; i < sizeof r && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

/* Who this run is: the file, our pid, start time and boot. */
static void
leftover_me_init(const char *home)
{
	struct procinfo self;

	snprintf(leftover_path, sizeof leftover_path, "%s/%s", home,
	    LEFTOVER_FILE);
	leftover_me.pid = getpid();
	if (procstat_read(leftover_me.pid, &self) == 0)
		leftover_me.start = self.start;
	if (leftover_boot_id(leftover_me.boot, sizeof leftover_me.boot) < 0)
		log_warn("/proc/sys/kernel/random/boot_id: unreadable");
}

void
leftover_start(const char *home, pid_t launcher)
{
	struct leftover_run old;
	const char *why;
	int rc;

	leftover_me_init(home);
	leftover_new_id(leftover_me.id, sizeof leftover_me.id);
	snprintf(leftover_env, sizeof leftover_env, "%s=%s", LEFTOVER_VAR,
	    leftover_me.id);

	rc = leftover_load(&old, &why);
	if (rc < 0)
		log_warn("%s: %s: ignored", leftover_path, why);
	else if (rc > 0 && (old.boot[0] == '\0' ||
	    strcmp(old.boot, leftover_me.boot) != 0))
		log_info("%s: from an earlier boot: nothing of it runs",
		    leftover_path);
	else if (rc > 0)
		leftover_reap(&old, launcher);
	free(old.groups);
	leftover_write();
}

/*
 * After wsctl update: run.json is this very process's (same pid, same
 * start time, same boot: execve changes none of them), and its instances
 * run on.  Take its run id and groups over instead of reaping them.
 */
int
leftover_resume(const char *home)
{
	struct leftover_run old;
	const char *why;

	leftover_me_init(home);
	if (leftover_load(&old, &why) <= 0 || old.pid != leftover_me.pid ||
	    old.start != leftover_me.start ||
	    strcmp(old.boot, leftover_me.boot) != 0) {
		free(old.groups);
		log_warn("%s: not this process's record: a new run starts",
		    leftover_path);
		leftover_new_id(leftover_me.id, sizeof leftover_me.id);
	} else {
		snprintf(leftover_me.id, sizeof leftover_me.id, "%s", old.id);
		leftover_me.groups = old.groups;
		leftover_me.ngroups = leftover_cap = old.ngroups;
	}
	snprintf(leftover_env, sizeof leftover_env, "%s=%s", LEFTOVER_VAR,
	    leftover_me.id);
	leftover_write();
	return 0;
}

const char *
leftover_marker(void)
{
	return leftover_env[0] != '\0' ? leftover_env : NULL;
}

void
leftover_add(pid_t pgid)
{
	struct leftover_group *ng;
	struct procinfo pi;
	size_t cap;

	if (leftover_path[0] == '\0')
		return;
	if (leftover_me.ngroups == leftover_cap) {
		cap = leftover_cap ? leftover_cap * 2 : 16;
		if ((ng = realloc(leftover_me.groups, cap * sizeof *ng)) == NULL)
			return;
		leftover_me.groups = ng;
		leftover_cap = cap;
	}
	/* Not yet reaped, so /proc still shows it even if it died already. */
	if (procstat_read(pgid, &pi) < 0)
		return;
	leftover_me.groups[leftover_me.ngroups].pgid = pgid;
	leftover_me.groups[leftover_me.ngroups++].start = pi.start;
	leftover_write();
}

void
leftover_check(void)
{
	size_t i = 0;
	int changed = 0;

	while (i < leftover_me.ngroups) {
		if (kill(-leftover_me.groups[i].pgid, 0) < 0 && errno == ESRCH) {
			leftover_me.groups[i] =
			    leftover_me.groups[--leftover_me.ngroups];
			changed = 1;
		} else
			i++;
	}
	if (changed)
		leftover_write();
}

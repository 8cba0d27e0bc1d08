/*
 * Child processes: fork/exec with the fd layout instances expect, process
 * groups, PR_SET_PDEATHSIG, signalling, and reaping on SIGCHLD.  Each
 * instance is put on record for the next wsd (leftover.c): its group, and
 * the run's marker in its environment, which its descendants inherit.
 *
 * Reaping: libuv delivers SIGCHLD through its signal pipe, so the handler
 * runs on the loop like every other event; it then calls
 * waitpid(-1, WNOHANG) until nothing is left, which also reaps orphans
 * re-parented to wsd (it is a child subreaper), so no zombie outlives a
 * loop iteration.
 *
 * Spawning: every signal is blocked around fork() so that libuv's handlers
 * never run in the child; the child resets dispositions and the mask
 * before exec.  It takes the app's user and groups (computed by the parent:
 * no NSS lookup between fork and exec), then asks for SIGKILL when wsd
 * dies (a change of uid clears that request, so it comes after) and checks
 * that wsd did not die before the request (getppid()).  The fds it keeps are first
 * moved above 9 and then placed, so that no source is overwritten by an
 * earlier dup2; everything else is closed.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "fsutil.h"
#include "wsd.h"

static uv_signal_t	 proc_sigchld;
static proc_exit_cb	 proc_cb;

static void
proc_sigchld_cb(uv_signal_t *h, int signum)
{
	pid_t pid;
	int status;

	(void)h;
	(void)signum;
	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		/* Before the callback, which may end wsd (the last one). */
		leftover_check();
		proc_cb(pid, status);
	}
}

int
proc_init(uv_loop_t *loop, proc_exit_cb cb)
{
	proc_cb = cb;
	/* Orphans of an instance (its shell's children) come back to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	uv_signal_init(loop, &proc_sigchld);
	uv_signal_start(&proc_sigchld, proc_sigchld_cb, SIGCHLD);
	uv_unref((uv_handle_t *)&proc_sigchld);
	return 0;
}

int
proc_signal(pid_t pid, int sig, int group)
{
	if (pid <= 0)
		return -1;
	if (group && kill(-pid, sig) == 0)
		return 0;
	return kill(pid, sig);
}

static int
proc_is_exec(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

char *
proc_resolve(const char *script, const char *cwd, const struct env *env)
{
	char buf[2 * PATH_MAX + 2], self[PATH_MAX];
	const char *path, *p, *e;

	if (script == NULL || *script == '\0')
		return NULL;
	if (script[0] == '/')
		return strdup(script);
	/* Relative to the app's cwd when it exists there. */
	if (cwd != NULL) {
		snprintf(buf, sizeof buf, "%s/%s", cwd, script);
		if (access(buf, F_OK) == 0)
			return strdup(buf);
	}
	if (strchr(script, '/') != NULL)
		return strdup(script);
	/* Next to wsd itself: "script":"wsworker" finds bin/wsworker. */
	if (fsutil_self_dir(self, sizeof self) == 0) {
		snprintf(buf, sizeof buf, "%s/%s", self, script);
		if (proc_is_exec(buf))
			return strdup(buf);
	}
	path = env != NULL ? env_get(env, "PATH") : NULL;
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		if (e == p)
			continue;
		snprintf(buf, sizeof buf, "%.*s/%s", (int)(e - p), p, script);
		if (proc_is_exec(buf))
			return strdup(buf);
	}
	return NULL;
}

/* Async-signal-safe decimal into `buf`. */
static void
proc_itoa(char *buf, long v)
{
	char tmp[24];
	int i = 0, j = 0;

	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && i < (int)sizeof tmp);
	while (i > 0)
		buf[j++] = tmp[--i];
	buf[j] = '\0';
}

static void
proc_fail(int errpipe, int err)
{
	while (write(errpipe, &err, sizeof err) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* In the child, between fork and exec. */
static void
proc_child(const struct proc_spec *sp, pid_t parent, int errpipe,
    char *listen_pid)
{
	int fds[8], want[8], n = 0, i, nul, top;

	child_reset();
	if (listen_pid != NULL)
		proc_itoa(listen_pid, (long)getpid());

	if ((nul = open("/dev/null", O_RDONLY)) < 0)
		proc_fail(errpipe, errno);
	fds[n] = nul;		want[n++] = 0;
	fds[n] = sp->out_fd;	want[n++] = 1;
	fds[n] = sp->err_fd;	want[n++] = 2;
	top = 2;
	if (sp->listen_fd >= 0) {
		fds[n] = sp->listen_fd;
		want[n++] = ++top;
	}
	if (sp->ipc_fd >= 0) {
		fds[n] = sp->ipc_fd;
		want[n++] = ++top;
	}
	/* Move above every target first, so no dup2 clobbers a source. */
	for (i = 0; i < n; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
			proc_fail(errpipe, errno);
	for (i = 0; i < n; i++)
		if (dup2(fds[i], want[i]) < 0)	/* the copy is not close-on-exec */
			proc_fail(errpipe, errno);
	/* errpipe is close-on-exec; everything else we hold goes now. */
	if (close_range((unsigned)top + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (i = top + 1; i < 65536; i++)
			if (i != errpipe)
				close(i);
	}
	if (sp->cwd != NULL && chdir(sp->cwd) < 0)
		proc_fail(errpipe, errno);
	/* The app's user, groups first (as libuv does, after chdir). */
	if (sp->setuid && child_become(sp->groups, (size_t)sp->ngroups,
	    sp->gid, sp->uid) < 0)
		proc_fail(errpipe, errno);
	/* After setuid, which clears it; a wsd that died before is caught. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	execve(sp->path, sp->argv, sp->envp);
	proc_fail(errpipe, errno);
}

/*
 * The env the child gets: the spec's, with the run's marker in place of
 * any the app's env brought.  The strings stay the spec's; NULL: no memory.
 */
static char **
proc_envp(const struct proc_spec *sp)
{
	const char *marker = leftover_marker();
	size_t n, i, k = 0, klen;
	char **envp;

	for (n = 0; sp->envp[n] != NULL; n++)
		;
	if ((envp = calloc(n + 2, sizeof *envp)) == NULL)
		return NULL;
	klen = marker != NULL ? strcspn(marker, "=") + 1 : 0;
	for (i = 0; i < n; i++)
		if (marker == NULL || strncmp(sp->envp[i], marker, klen) != 0)
			envp[k++] = sp->envp[i];
	if (marker != NULL)
		envp[k++] = (char *)marker;
	envp[k] = NULL;
	return envp;
}

pid_t
proc_spawn(const struct proc_spec *sp, char **err)
{
	struct proc_spec child;
	sigset_t all, old;
	char *listen_pid = NULL, **envp;
	int ep[2], e = 0, i;
	ssize_t n;
	pid_t pid, self = getpid();

	*err = NULL;
	for (i = 0; sp->envp[i] != NULL; i++)
		if (strncmp(sp->envp[i], "LISTEN_PID=", 11) == 0)
			listen_pid = sp->envp[i] + 11;
	if ((envp = proc_envp(sp)) == NULL) {
		*err = strdup(strerror(ENOMEM));
		return -1;
	}
	child = *sp;
	child.envp = envp;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		*err = strdup(strerror(errno));
		free(envp);
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(ep[0]);
		proc_child(&child, self, ep[1], listen_pid);
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(envp);
	close(ep[1]);
	if (pid < 0) {
		close(ep[0]);
		*err = strdup(strerror(e));
		return -1;
	}
	/* Also set here: a signal to the group must not miss a child that has
	 * not run setpgid yet. */
	setpgid(pid, pid);
	/* On record at once: from here on, a crash of wsd must not lose it. */
	leftover_add(pid);
	/* exec succeeded when the close-on-exec pipe closes without data. */
	do
		n = read(ep[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == sizeof e) {
		if (asprintf(err, "exec %s: %s", sp->path, strerror(e)) < 0)
			*err = NULL;
		/* The child exits 127; the SIGCHLD loop reaps it. */
		return -1;
	}
	return pid;
}

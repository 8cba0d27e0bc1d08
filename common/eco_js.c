/* JavaScript ecosystem files (.config.js, .js, .cjs, .mjs), evaluated by the node on PATH in an unprivileged child. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "eco_js.h"
#include "knob.h"

#define ECO_JS_MAX_OUT		(16 * 1024 * 1024)	/* the JSON */
#define ECO_JS_MAX_ERR		(64 * 1024)		/* what we keep of stderr */
#define ECO_JS_MAX_GROUPS	256

/*
 * The child's program.  import() reads CommonJS (module.exports, require,
 * dotenv from the file's folder) and ES modules (export default) alike.
 * The config's own console output goes to stderr so that stdout carries
 * only the JSON; process.exit ends timers and sockets the config left open.
 * A failure is one last stderr line: "LINE[:COL]<TAB>Name: message".
 */
static const char eco_js_program[] =
	"const f = process.argv[1];"
	"for (const k of ['log', 'info', 'debug', 'dir', 'table'])"
	"  console[k] = console.error;"
	"const done = (s, code) => (code ? process.stderr : process.stdout)"
	"  .write(s, () => process.exit(code));"
	"import(require('url').pathToFileURL(f).href).then(m => {"
	"  const v = m.default !== undefined ? m.default : Object.assign({}, m);"
	"  const s = JSON.stringify(v);"
	"  done(s === undefined ? 'null' : s, 0);"
	"}).catch(e => {"
	"  const st = String(e && e.stack || ''), i = st.indexOf(f + ':');"
	"  const at = i < 0 ? null : /^:(\\d+)(:\\d+)?/.exec(st.slice(i + f.length));"
	"  const msg = e instanceof Error ? e.name + ': ' + e.message"
	"    : 'threw ' + String(e);"
	"  done('\\n' + (at ? at[1] + (at[2] || '') : '') + '\\t' +"
	"    msg.replace(/\\s*\\n\\s*/g, ' ') + '\\n', 1);"
	"});";

/* Who the child runs as: wsd's own credentials unless wsd is root. */
struct eco_js_cred {
	int	 drop;
	uid_t	 uid;
	gid_t	 gid;
	gid_t	 groups[ECO_JS_MAX_GROUPS];
	int	 ngroups;
	char	 who[160];	/* for messages: "as uid 65534 (nobody: root owns the file)" */
};

struct eco_js_buf {
	char	*s;
	size_t	 len;
	size_t	 max;
	int	 over;	/* more came than max */
};

/* The node on PATH, as execvp would find it; NULL when there is none. */
static char *
eco_js_find_node(void)
{
	const char *path = getenv("PATH"), *p, *end;
	char *cand;

	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if (asprintf(&cand, "%.*s/node", end > p ? (int)(end - p) : 1,
		    end > p ? p : ".") < 0)
			return NULL;
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (*end == '\0')
			return NULL;
	}
}

static uint64_t
eco_js_timeout_ms(void)
{
	return knob_or_default(KNOB_WSD_CONFIG_JS_TIMEOUT_MS);
}

static uint64_t
eco_js_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * As root: the file's owner, or nobody when root owns it (a file only root
 * may write is still no reason to run it as root).  Looked up before fork:
 * the child may only make async-signal-safe calls.
 */
static void
eco_js_cred(const char *abs, struct eco_js_cred *c)
{
	struct passwd *pw;
	struct stat st;

	memset(c, 0, sizeof *c);
	if (geteuid() != 0)
		return;
	c->drop = 1;
	c->uid = c->gid = 65534;
	if (stat(abs, &st) == 0 && st.st_uid != 0) {
		c->uid = st.st_uid;
		c->gid = st.st_gid;
		if ((pw = getpwuid(st.st_uid)) != NULL)
			c->gid = pw->pw_gid;
		snprintf(c->who, sizeof c->who, "node runs as uid %u, the "
		    "file's owner", (unsigned)c->uid);
	} else {
		if ((pw = getpwnam("nobody")) != NULL) {
			c->uid = pw->pw_uid;
			c->gid = pw->pw_gid;
		}
		snprintf(c->who, sizeof c->who, "node runs as nobody (uid %u) "
		    "when root owns the file: chown it to the app's user, or "
		    "make its folder readable", (unsigned)c->uid);
	}
	c->groups[0] = c->gid;
	c->ngroups = 1;
	if ((pw = getpwuid(c->uid)) != NULL) {
		c->ngroups = ECO_JS_MAX_GROUPS;
		if (getgrouplist(pw->pw_name, c->gid, c->groups,
		    &c->ngroups) < 0) {
			c->groups[0] = c->gid;
			c->ngroups = 1;
		}
	}
}

static void
eco_js_child_fail(const char *what)
{
	size_t n = strlen(what);

	while (write(2, "\n\twsd: ", 7) < 0 && errno == EINTR)
		;
	while (write(2, what, n) < 0 && errno == EINTR)
		;
	while (write(2, "\n", 1) < 0 && errno == EINTR)
		;
	_exit(126);
}

/* Between fork and exec: async-signal-safe calls only. */
static void
eco_js_child(const char *node, const char *abs, const char *dir,
    const struct eco_js_cred *c, int out, int err)
{
	char *argv[] = { (char *)node, (char *)"-e", (char *)eco_js_program,
	    (char *)abs, NULL };
	int i, nul;

	child_reset();
	/* Above stdio first, so that no dup2 below clobbers a source. */
	if ((out = fcntl(out, F_DUPFD_CLOEXEC, 10)) < 0 ||
	    (err = fcntl(err, F_DUPFD_CLOEXEC, 10)) < 0)
		_exit(126);
	if ((nul = open("/dev/null", O_RDONLY)) < 0 || dup2(nul, 0) < 0 ||
	    dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	/* Only stdio crosses into the config's code. */
	if (close_range(3, ~0U, 0) < 0)
		for (i = 3; i < 65536; i++)
			close(i);
	if (c->drop && child_become(c->groups, (size_t)c->ngroups, c->gid,
	    c->uid) < 0)
		eco_js_child_fail("cannot drop root privileges");
	/* After setuid, which clears it: node must not outlive wsd. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (chdir(dir) < 0)
		eco_js_child_fail("cannot enter the file's folder");
	execv(node, argv);
	eco_js_child_fail("cannot run node");
}

static void
eco_js_buf_read(int *fd, struct eco_js_buf *b)
{
	char chunk[16384];
	ssize_t n;
	size_t take;
	char *t;

	n = read(*fd, chunk, sizeof chunk);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	take = (size_t)n;
	if (b->len + take > b->max) {
		b->over = 1;
		take = b->max - b->len;
	}
	if (take == 0)
		return;
	if ((t = realloc(b->s, b->len + take + 1)) == NULL) {
		b->over = 1;
		return;
	}
	b->s = t;
	memcpy(b->s + b->len, chunk, take);
	b->len += take;
	b->s[b->len] = '\0';
}

/*
 * Read both pipes until both close or the deadline passes, then wait for
 * the child until the deadline.  The group is killed either way, so
 * nothing the config started stays behind.  Returns the wait status, or
 * -1 when the deadline passed.
 */
/*
 * Has node exited?  WNOWAIT leaves it a zombie, so that its process group
 * id stays ours until the group has been killed.
 */
static int
eco_js_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	return waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == pid;
}

static int
eco_js_collect(pid_t pid, int out, int err, uint64_t deadline,
    struct eco_js_buf *ob, struct eco_js_buf *eb)
{
	struct pollfd pfd[2];
	uint64_t now;
	int status, timed_out = 0, n;

	while (out >= 0 || err >= 0) {
		if ((now = eco_js_now_ms()) >= deadline || ob->over) {
			timed_out = !ob->over;
			break;
		}
		pfd[0].fd = out;
		pfd[0].events = POLLIN;
		pfd[1].fd = err;
		pfd[1].events = POLLIN;
		/* In slices: something the file started may hold the pipes
		 * open after node has gone. */
		n = poll(pfd, 2, deadline - now < 50 ? (int)(deadline - now) :
		    50);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && eco_js_exited(pid))
			break;
		if (n <= 0)
			continue;
		if (out >= 0 && pfd[0].revents != 0)
			eco_js_buf_read(&out, ob);
		if (err >= 0 && pfd[1].revents != 0)
			eco_js_buf_read(&err, eb);
	}
	while (!timed_out && !ob->over && !eco_js_exited(pid)) {
		if (eco_js_now_ms() >= deadline) {
			timed_out = 1;
			break;
		}
		poll(NULL, 0, 10);
	}
	kill(-pid, SIGKILL);
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return timed_out ? -1 : status;
}

/* The child's last non-empty stderr line, in place. */
static char *
eco_js_last_line(char *s)
{
	char *end, *start;

	if (s == NULL)
		return NULL;
	end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' '))
		end--;
	*end = '\0';
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	return *start != '\0' ? start : NULL;
}

/* Without root, a permission error is most likely ours: say who node was. */
static void
eco_js_report_failure(const char *shown, int status, struct eco_js_buf *eb,
    const struct eco_js_cred *c, struct diag *errors)
{
	char *line = eco_js_last_line(eb->s), *tab;
	const char *hint = "", *sep = "";

	if (c->drop && line != NULL && (strstr(line, "EACCES") != NULL ||
	    strstr(line, "wsd: cannot enter") != NULL)) {
		hint = c->who;
		sep = "; ";
	}
	if (line != NULL && (tab = strchr(line, '\t')) != NULL) {
		*tab = '\0';
		if (strncmp(tab + 1, "wsd: ", 5) == 0)
			diag_add(errors, "%s: %s%s%s", shown, tab + 6, sep, hint);
		else if (*line != '\0')
			diag_add(errors, "%s:%s: %s%s%s", shown, line, tab + 1,
			    sep, hint);
		else
			diag_add(errors, "%s: %s%s%s", shown, tab + 1, sep,
			    hint);
	} else if (line != NULL)
		diag_add(errors, "%s: node: %s", shown, line);
	else if (WIFSIGNALED(status))
		diag_add(errors, "%s: node was killed by signal %d", shown,
		    WTERMSIG(status));
	else
		diag_add(errors, "%s: node exited with status %d", shown,
		    WEXITSTATUS(status));
}

/*
 * Start node on the file (in its folder, as cred says), in a process group
 * of its own; *rd_out and *rd_err read its stdout and stderr.  The pid, or
 * -1 (errors says why).
 */
static pid_t
eco_js_spawn(const char *abs, const char *shown, struct eco_js_cred *cred,
    int *rd_out, int *rd_err, struct diag *errors)
{
	sigset_t all, old;
	char *node, *dir, *slash;
	int out[2], err[2], e;
	pid_t pid;

	if ((node = eco_js_find_node()) == NULL) {
		diag_add(errors, "%s: a JavaScript ecosystem file needs node, "
		    "and there is none on PATH: install Node.js, or convert "
		    "the file to JSON once with: node -e 'console.log(JSON."
		    "stringify(require(process.argv[1]), null, 2))' %s > "
		    "ecosystem.json", shown, abs);
		return -1;
	}
	eco_js_cred(abs, cred);
	if ((dir = strdup(abs)) == NULL) {
		free(node);
		return -1;
	}
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	if (pipe2(out, O_CLOEXEC) < 0) {
		diag_add(errors, "%s: pipe: %s", shown, strerror(errno));
		free(node);
		free(dir);
		return -1;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		diag_add(errors, "%s: pipe: %s", shown, strerror(errno));
		close(out[0]);
		close(out[1]);
		free(node);
		free(dir);
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		eco_js_child(node, abs, dir, cred, out[1], err[1]);
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(out[1]);
	close(err[1]);
	free(node);
	free(dir);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		diag_add(errors, "%s: fork: %s", shown, strerror(e));
		return -1;
	}
	/* Also here: the group must exist before the timeout may kill it. */
	setpgid(pid, pid);
	*rd_out = out[0];
	*rd_err = err[0];
	return pid;
}

json_t *
eco_js_load(const char *abs, const char *shown, struct diag *errors)
{
	struct eco_js_buf ob = { NULL, 0, ECO_JS_MAX_OUT, 0 };
	struct eco_js_buf eb = { NULL, 0, ECO_JS_MAX_ERR, 0 };
	struct eco_js_cred cred;
	json_error_t jerr;
	json_t *doc = NULL;
	uint64_t timeout = eco_js_timeout_ms();
	int rd_out, rd_err, status;
	pid_t pid;

	if ((pid = eco_js_spawn(abs, shown, &cred, &rd_out, &rd_err,
	    errors)) < 0)
		return NULL;
	status = eco_js_collect(pid, rd_out, rd_err, eco_js_now_ms() + timeout,
	    &ob, &eb);
	if (status == -1)
		diag_add(errors, "%s: node did not finish evaluating it within "
		    "%llu ms (WSD_CONFIG_JS_TIMEOUT_MS): killed", shown,
		    (unsigned long long)timeout);
	else if (ob.over)
		diag_add(errors, "%s: its export is larger than %d MiB as "
		    "JSON", shown, ECO_JS_MAX_OUT / (1024 * 1024));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		eco_js_report_failure(shown, status, &eb, &cred, errors);
	else if (ob.len == 0)
		diag_add(errors, "%s: node printed nothing (did the file call "
		    "process.exit?)", shown);
	else if ((doc = json_loadb(ob.s, ob.len, JSON_DECODE_ANY, &jerr)) ==
	    NULL)
		diag_add(errors, "%s: node's JSON of its export: %s", shown,
		    jerr.text);
	free(ob.s);
	free(eb.s);
	return doc;
}

/*
 * node_version in jlist (PM2's pm2_env.node_version): the version of the
 * node that runs a node app, "20.11.1" as PM2 gives it (its container
 * sends process.versions.node), and nothing for any other app.  Asked of
 * each interpreter once, with `node --version` run through probe.c when
 * an app is added, so a listing never waits for it: until the answer
 * comes the version is unknown (null).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "wsd.h"
#include "xmalloc.h"

#define NODEVER_TIMEOUT_MS	10000

struct nodever {
	char			*path;		/* the interpreter, resolved */
	char			*version;	/* NULL: not known (yet) */
	LIST_ENTRY(nodever)	 entry;
};

static LIST_HEAD(, nodever) nodever_cache = LIST_HEAD_INITIALIZER(nodever_cache);

/* Whether the app runs under node: its interpreter is node or nodejs. */
static int
nodever_is_node(const struct app *a)
{
	const char *i = a->cfg.interpreter, *base;

	if (i == NULL)
		return 0;
	base = strrchr(i, '/') != NULL ? strrchr(i, '/') + 1 : i;
	return strcmp(base, "node") == 0 || strcmp(base, "nodejs") == 0;
}

/* "v20.11.1\n" → "20.11.1"; anything else is not a version. */
static void
nodever_done_cb(void *arg, const char *out, int timed_out)
{
	struct nodever *nv = arg;
	size_t n;

	if (timed_out || out[0] != 'v' || !isdigit((unsigned char)out[1]))
		return;
	n = strspn(out + 1, "0123456789.");
	xasprintf(&nv->version, "%.*s", (int)n, out + 1);
}

const char *
nodever_of(const struct app *a)
{
	struct nodever *nv;
	char *path, *argv[3], *err = NULL, **envp;

	if (!nodever_is_node(a) ||
	    (path = proc_resolve(a->cfg.interpreter, NULL, &a->env)) == NULL)
		return NULL;
	LIST_FOREACH(nv, &nodever_cache, entry)
		if (strcmp(nv->path, path) == 0) {
			free(path);
			return nv->version;
		}
	/* Asked once per path, answered or not: a node that does not say
	 * its version is not asked again at every listing. */
	nv = xcalloc(1, sizeof *nv);
	nv->path = path;
	LIST_INSERT_HEAD(&nodever_cache, nv, entry);
	argv[0] = path;
	argv[1] = "--version";
	argv[2] = NULL;
	envp = env_to_envp(&a->env);
	if (envp != NULL && probe_run(path, argv, envp, -1,
	    NODEVER_TIMEOUT_MS, nodever_done_cb, nv, &err) < 0)
		free(err);
	if (envp != NULL)
		env_envp_free(envp);
	return nv->version;
}

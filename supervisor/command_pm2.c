/*
 * The control commands PM2 scripts use that the core set has no place
 * for: sendSignal, reset, cleardump, appNames (the apps a file defines,
 * for startOrReload), and `start FILE --only a,b` (which apps of a file
 * command.c's start adds).  Registered in command.c's table;
 * access levels in common/ctlcmd.c.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "log.h"
#include "proto.h"
#include "wsd.h"
#include "xmalloc.h"

/* "SIGUSR2", "USR2" or "12"; 0 when it names no signal. */
static int
command_pm2_signal(const char *s)
{
	const char *abbrev;
	char *end;
	long n;
	int i;

	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	n = strtol(s, &end, 10);
	if (end != s && *end == '\0')
		return n > 0 && n < NSIG ? (int)n : 0;
	for (i = 1; i < NSIG; i++)
		if ((abbrev = sigabbrev_np(i)) != NULL &&
		    strcasecmp(abbrev, s) == 0)
			return i;
	return 0;
}

/* Resolve args.target (a name, an id or "all"); NULL with *err on failure. */
static struct inst **
command_pm2_target(struct cmd_ctx *ctx, size_t *n, char **err)
{
	json_t *t = json_object_get(ctx->args, "target");
	struct inst **v;

	*err = NULL;
	if (!json_is_string(t) && !json_is_integer(t)) {
		*err = proto_reply_error(ctx->id, "bad_request",
		    "\"target\" must be a name, an id or \"all\"");
		return NULL;
	}
	if (app_target(t, &v, n) < 0 || *n == 0) {
		free(v);
		*err = json_is_string(t) ?
		    proto_reply_error(ctx->id, "no_such_app",
		    "no app or id matches \"%s\"", json_string_value(t)) :
		    proto_reply_error(ctx->id, "no_such_app",
		    "no app or id matches %lld",
		    (long long)json_integer_value(t));
		return NULL;
	}
	return v;
}

/* pm2 sendSignal SIG NAME|ID: to each running process of the target. */
char *
command_pm2_send_signal(struct cmd_ctx *ctx)
{
	json_t *sj = json_object_get(ctx->args, "signal"), *a;
	struct inst **v;
	size_t n, i;
	char *err;
	int sig;

	if (!json_is_string(sj) && !json_is_integer(sj))
		return proto_reply_error(ctx->id, "bad_request",
		    "\"signal\" must be a signal name or number");
	sig = json_is_integer(sj) ? (int)json_integer_value(sj) :
	    command_pm2_signal(json_string_value(sj));
	if (sig <= 0 || sig >= NSIG)
		return proto_reply_error(ctx->id, "bad_request",
		    "no such signal: %s (use a name such as SIGUSR2, or a "
		    "number)", json_is_string(sj) ? json_string_value(sj) : "?");
	if ((v = command_pm2_target(ctx, &n, &err)) == NULL)
		return err;
	a = json_array();
	for (i = 0; i < n; i++) {
		if (v[i]->pid == 0 || proc_signal(v[i]->pid, sig, 0) == -1)
			continue;
		json_array_append_new(a, view_inst_json(v[i], 0));
	}
	free(v);
	if (json_array_size(a) == 0) {
		json_decref(a);
		return proto_reply_error(ctx->id, "not_running",
		    "no running process to signal");
	}
	log_info("sent SIG%s to %zu process(es)", sigabbrev_np(sig) ?: "?",
	    json_array_size(a));
	return proto_reply_ok(ctx->id, json_pack("{so}", "instances", a));
}

/* pm2 reset NAME|ID|all: the restart counters back to 0. */
char *
command_pm2_reset(struct cmd_ctx *ctx)
{
	json_t *a;
	struct inst **v;
	size_t n, i;
	char *err;

	if ((v = command_pm2_target(ctx, &n, &err)) == NULL)
		return err;
	a = json_array();
	for (i = 0; i < n; i++) {
		app_reset_counters(v[i]);
		json_array_append_new(a, view_inst_json(v[i], 0));
	}
	free(v);
	return proto_reply_ok(ctx->id, json_pack("{so}", "instances", a));
}

/* pm2 cleardump: an empty dump.json, so a resurrect starts nothing. */
char *
command_pm2_cleardump(struct cmd_ctx *ctx)
{
	json_t *doc;
	char *err = NULL, *path, *r;

	doc = json_pack("{sisIs[]}", "version", 1, "saved_at",
	    (json_int_t)wsd_epoch_ms(), "apps");
	if (dump_write(wsd_home, doc, &err) < 0) {
		r = proto_reply_error(ctx->id, "io_error", "%s",
		    err != NULL ? err : "cannot write the dump");
		free(err);
		json_decref(doc);
		return r;
	}
	json_decref(doc);
	xasprintf(&path, "%s/dump.json", wsd_home);
	r = proto_reply_ok(ctx->id, json_pack("{ss}", "path", path));
	free(path);
	return r;
}

/*
 * args.only (an array of app names): keep those apps of `eco`, in file
 * order.  A name the file does not define is an error, so a typo in a
 * deploy script does not silently start nothing.  0, or -1 (errors).
 */
int
command_pm2_only(struct config *c, json_t *args, struct diag *errors)
{
	json_t *only = json_object_get(args, "only"), *o;
	size_t i, k, keep = 0;
	int found;

	if (only == NULL || json_is_null(only))
		return 0;
	if (!json_is_array(only)) {
		diag_add(errors, "\"only\" must be an array of app names");
		return -1;
	}
	json_array_foreach(only, k, o) {
		found = 0;
		for (i = 0; json_is_string(o) && i < c->napps; i++)
			if (strcmp(c->apps[i].cfg.name, json_string_value(o)) == 0)
				found = 1;
		if (!found)
			diag_add(errors, "%s: --only %s: no such app in the file",
			    c->path, json_is_string(o) ? json_string_value(o) :
			    "?");
	}
	if (errors->n > 0)
		return -1;
	for (i = 0; i < c->napps; i++) {
		found = 0;
		json_array_foreach(only, k, o)
			if (strcmp(c->apps[i].cfg.name, json_string_value(o)) == 0)
				found = 1;
		if (found)
			c->apps[keep++] = c->apps[i];
		else
			config_app_free(&c->apps[i]);
	}
	c->napps = keep;
	return 0;
}

/* The names of the apps FILE defines: wsctl's startOrReload/startOrRestart. */
char *
command_pm2_app_names(struct cmd_ctx *ctx)
{
	json_t *file = json_object_get(ctx->args, "file"), *a;
	struct ecosystem eco;
	struct diag errors, warnings;
	size_t i;
	char *r;

	if (!json_is_string(file) || json_string_value(file)[0] != '/')
		return proto_reply_error(ctx->id, "bad_request",
		    "\"file\" must be an absolute path");
	diag_init(&errors);
	diag_init(&warnings);
	memset(&eco, 0, sizeof eco);
	if (eco_load(json_string_value(file), &eco, &errors, &warnings) < 0)
		r = proto_reply_config_error(ctx->id, &errors);
	else {
		a = json_array();
		for (i = 0; i < eco.napps; i++)
			json_array_append_new(a, json_string(eco.apps[i].name));
		r = proto_reply_ok(ctx->id, json_pack("{so}", "names", a));
	}
	eco_free(&eco);
	diag_free(&errors);
	diag_free(&warnings);
	return r;
}

/*
 * The hand-over document (handover.h): what one wsd process writes before
 * it re-executes itself and the new image reads back.  Pure, so that
 * every field and every refusal is unit-tested (tests/unit/test_handover.c).
 *
 * Decoding trusts nothing it did not check: the document comes from a
 * private memfd of the same process, but an older or newer binary may
 * have written it, and a field it misreads would adopt a wrong descriptor
 * or signal a wrong pid.  So every field has its type and range checked,
 * descriptors must be ≥ 3 and unique, and the first problem refuses the
 * whole document with the place it was found.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handover.h"
#include "xmalloc.h"

/* ---- encoding ---- */

static json_t *
handover_env_json(const struct env *e)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < e->n; i++)
		json_array_append_new(a, json_pack("[ssb]", e->v[i].key,
		    e->v[i].value, e->v[i].secret));
	return a;
}

static json_t *
handover_ints_json(const int *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *
handover_ps_json(const struct policy_state *ps)
{
	json_t *crashes = json_array();
	unsigned i;

	for (i = 0; i < POLICY_WINDOW_MAX; i++)
		json_array_append_new(crashes,
		    json_integer((json_int_t)ps->crashes[i]));
	return json_pack("{sisbsbsIsIsIsIsIsosIsisisI}",
	    "state", (int)ps->state, "restart_pending", ps->restart_pending,
	    "killed", ps->killed, "started_at", (json_int_t)ps->started_at,
	    "backoff_ms", (json_int_t)ps->backoff_ms,
	    "restarts", (json_int_t)ps->restarts,
	    "unstable", (json_int_t)ps->unstable,
	    "consecutive_unstable", (json_int_t)ps->consecutive_unstable,
	    "crashes", crashes, "ncrashes", (json_int_t)ps->ncrashes,
	    "last_code", ps->last_code, "last_signal", ps->last_signal,
	    "drain_ms", (json_int_t)ps->drain_ms);
}

static json_t *
handover_inst_json(const struct handover_inst *in)
{
	json_t *carry = json_array();
	size_t i;

	for (i = 0; i < HANDOVER_COUNTERS; i++)
		json_array_append_new(carry, json_real(in->carry[i]));
	return json_pack("{sisisisIsIsIsosIsisosO*ss*ss*sIsI}",
	    "id", in->id, "slot", in->slot, "pid", (int)in->pid,
	    "created_at", (json_int_t)in->created_at,
	    "started_epoch", (json_int_t)in->started_epoch,
	    "spawns", (json_int_t)in->spawns,
	    "policy", handover_ps_json(&in->ps),
	    "timer_ms", (json_int_t)in->timer_ms, "ipc_fd", in->ipc_fd,
	    "carry", carry, "stats", in->stats,
	    "out_path", in->out_path, "err_path", in->err_path,
	    "cpu_ticks", (json_int_t)in->cpu_ticks,
	    "cpu_at", (json_int_t)in->cpu_at);
}

static json_t *
handover_app_json(const struct handover_app *a)
{
	json_t *insts = json_array();
	size_t i;

	for (i = 0; i < a->ninsts; i++)
		json_array_append_new(insts, handover_inst_json(&a->insts[i]));
	return json_pack("{sOss*ssss*sososososo}",
	    "config", a->config, "config_file", a->config_file,
	    "dir", a->dir, "env_mode", a->env_mode,
	    "env", handover_env_json(&a->env),
	    "ran_env", a->ran_env_set ? handover_env_json(&a->ran_env) :
	    json_null(),
	    "sock_fds", handover_ints_json(a->sock_fds, a->nslots),
	    "sock_order", handover_ints_json(a->sock_order, a->norder),
	    "insts", insts);
}

json_t *
handover_encode(const struct handover *h)
{
	json_t *apps = json_array(), *logs = json_array();
	const struct handover_log *l;
	size_t i;

	for (i = 0; i < h->napps; i++)
		json_array_append_new(apps, handover_app_json(&h->apps[i]));
	for (i = 0; i < h->nlogs; i++) {
		l = &h->logs[i];
		json_array_append_new(logs, json_pack("{sissss*sbss*sIsisb}",
		    "fd", l->fd, "path", l->path, "also", l->also,
		    "time", l->time, "datefmt", l->datefmt,
		    "max_size", (json_int_t)l->max_size, "retain", l->retain,
		    "at_bol", l->at_bol));
	}
	return json_pack("{sissss*ss*sIsIsisisisisoso}",
	    "wsd_handover", HANDOVER_VERSION, "home", h->home,
	    "config", h->config, "mode", h->mode,
	    "started_ms", (json_int_t)h->started_ms,
	    "updates", (json_int_t)h->updates, "next_id", h->next_id,
	    "lock_fd", h->lock_fd, "control_fd", h->control_fd,
	    "metrics_fd", h->metrics_fd, "apps", apps, "logs", logs);
}

/* ---- decoding ---- */

/* Where decoding is, for the message: "apps[1].insts[0]". */
struct handover_dec {
	char		 where[96];
	char		*err;
};

static int
handover_fail(struct handover_dec *d, const char *key, const char *fmt, ...)
{
	va_list ap;
	char what[160];

	if (d->err != NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	xasprintf(&d->err, "hand-over state: %s%s%s: %s", d->where,
	    d->where[0] != '\0' && key != NULL ? "." : "",
	    key != NULL ? key : "", what);
	return -1;
}

static int
handover_int(struct handover_dec *d, const json_t *o, const char *key,
    json_int_t min, json_int_t max, json_int_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return handover_fail(d, key, "expected an integer");
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return handover_fail(d, key, "%lld is out of range",
		    (long long)*out);
	return 0;
}

#define HANDOVER_U64(d, o, k, dst) do {					\
	json_int_t v_;							\
	if (handover_int(d, o, k, 0, INT64_MAX, &v_) < 0)		\
		return -1;						\
	(dst) = (uint64_t)v_;						\
} while (0)
#define HANDOVER_INT(d, o, k, lo, hi, dst) do {				\
	json_int_t v_;							\
	if (handover_int(d, o, k, lo, hi, &v_) < 0)			\
		return -1;						\
	(dst) = (int)v_;						\
} while (0)

static int
handover_bool(struct handover_dec *d, const json_t *o, const char *key,
    int *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v))
		return handover_fail(d, key, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

/* A string, or NULL when `nullable` and the value is null or absent. */
static int
handover_str(struct handover_dec *d, const json_t *o, const char *key,
    int nullable, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (nullable && (v == NULL || json_is_null(v)))
		return 0;
	if (!json_is_string(v))
		return handover_fail(d, key, "expected a string");
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* A descriptor number: ≥ 3 (0-2 are wsd's own stdio), or -1 if allowed. */
static int
handover_fd(struct handover_dec *d, const json_t *o, const char *key,
    int none_ok, int *out)
{
	HANDOVER_INT(d, o, key, none_ok ? -1 : 3, INT32_MAX, *out);
	if (*out >= 0 && *out < 3)
		return handover_fail(d, key, "%d is not a descriptor wsd "
		    "hands over", *out);
	return 0;
}

static int
handover_env(struct handover_dec *d, const json_t *o, const char *key,
    struct env *e)
{
	json_t *a = json_object_get(o, key), *kv;
	size_t i;

	if (!json_is_array(a))
		return handover_fail(d, key, "expected an array");
	json_array_foreach(a, i, kv) {
		if (!json_is_array(kv) || json_array_size(kv) != 3 ||
		    !json_is_string(json_array_get(kv, 0)) ||
		    !json_is_string(json_array_get(kv, 1)) ||
		    !json_is_boolean(json_array_get(kv, 2)))
			return handover_fail(d, key, "entry %zu: expected "
			    "[key, value, secret]", i);
		env_set(e, json_string_value(json_array_get(kv, 0)),
		    json_string_value(json_array_get(kv, 1)),
		    json_is_true(json_array_get(kv, 2)));
	}
	return 0;
}

/* An array of integers ≥ lo; fds: ≥ 3 or -1. */
static int
handover_ints(struct handover_dec *d, const json_t *o, const char *key,
    int lo, int fds, int **out, size_t *n)
{
	json_t *a = json_object_get(o, key), *v;
	json_int_t x;
	size_t i;

	if (!json_is_array(a))
		return handover_fail(d, key, "expected an array");
	*n = json_array_size(a);
	*out = xcalloc(*n + 1, sizeof **out);
	json_array_foreach(a, i, v) {
		x = json_is_integer(v) ? json_integer_value(v) : INT64_MIN;
		if (x < lo || x > INT32_MAX || (fds && x >= 0 && x < 3))
			return handover_fail(d, key, "entry %zu: expected %s",
			    i, fds ? "a descriptor or -1" : "a slot number");
		(*out)[i] = (int)x;
	}
	return 0;
}

static int
handover_dec_ps(struct handover_dec *d, const json_t *o,
    struct policy_state *ps)
{
	json_t *crashes = json_object_get(o, "crashes"), *v;
	size_t i;

	if (!json_is_object(o))
		return handover_fail(d, "policy", "expected an object");
	policy_init(ps);
	HANDOVER_INT(d, o, "state", ST_STOPPED, ST_ERRORED, ps->state);
	if (handover_bool(d, o, "restart_pending", &ps->restart_pending) < 0 ||
	    handover_bool(d, o, "killed", &ps->killed) < 0)
		return -1;
	HANDOVER_U64(d, o, "started_at", ps->started_at);
	HANDOVER_U64(d, o, "backoff_ms", ps->backoff_ms);
	HANDOVER_INT(d, o, "restarts", 0, INT32_MAX, ps->restarts);
	HANDOVER_INT(d, o, "unstable", 0, INT32_MAX, ps->unstable);
	HANDOVER_INT(d, o, "consecutive_unstable", 0, INT32_MAX,
	    ps->consecutive_unstable);
	HANDOVER_INT(d, o, "ncrashes", 0, INT32_MAX, ps->ncrashes);
	HANDOVER_INT(d, o, "last_code", -1, 255, ps->last_code);
	HANDOVER_INT(d, o, "last_signal", 0, 128, ps->last_signal);
	/* An older wsd has none: what it spawned was not told it waits. */
	if (json_object_get(o, "drain_ms") != NULL)
		HANDOVER_U64(d, o, "drain_ms", ps->drain_ms);
	if (!json_is_array(crashes) ||
	    json_array_size(crashes) != POLICY_WINDOW_MAX)
		return handover_fail(d, "crashes", "expected %d times",
		    POLICY_WINDOW_MAX);
	json_array_foreach(crashes, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return handover_fail(d, "crashes", "entry %zu: "
			    "expected a time", i);
		ps->crashes[i] = (uint64_t)json_integer_value(v);
	}
	return 0;
}

static int
handover_dec_inst(struct handover_dec *d, const json_t *o,
    struct handover_inst *in)
{
	json_t *carry = json_object_get(o, "carry"), *v;
	size_t i;

	in->ipc_fd = -1;
	if (!json_is_object(o))
		return handover_fail(d, NULL, "expected an object");
	HANDOVER_INT(d, o, "id", 0, INT32_MAX, in->id);
	HANDOVER_INT(d, o, "slot", 0, INT32_MAX, in->slot);
	HANDOVER_INT(d, o, "pid", 0, INT32_MAX, in->pid);
	HANDOVER_U64(d, o, "created_at", in->created_at);
	HANDOVER_U64(d, o, "started_epoch", in->started_epoch);
	HANDOVER_U64(d, o, "spawns", in->spawns);
	if (handover_dec_ps(d, json_object_get(o, "policy"), &in->ps) < 0)
		return -1;
	HANDOVER_INT(d, o, "timer_ms", -1, INT32_MAX, in->timer_ms);
	if (handover_fd(d, o, "ipc_fd", 1, &in->ipc_fd) < 0)
		return -1;
	if (!json_is_array(carry) ||
	    json_array_size(carry) != HANDOVER_COUNTERS)
		return handover_fail(d, "carry", "expected %d numbers",
		    HANDOVER_COUNTERS);
	json_array_foreach(carry, i, v) {
		if (!json_is_number(v))
			return handover_fail(d, "carry", "entry %zu: expected "
			    "a number", i);
		in->carry[i] = json_number_value(v);
	}
	v = json_object_get(o, "stats");
	if (v != NULL && !json_is_null(v) && !json_is_object(v))
		return handover_fail(d, "stats", "expected an object or null");
	in->stats = json_is_object(v) ? json_deep_copy(v) : NULL;
	if (handover_str(d, o, "out_path", 1, &in->out_path) < 0 ||
	    handover_str(d, o, "err_path", 1, &in->err_path) < 0)
		return -1;
	HANDOVER_U64(d, o, "cpu_ticks", in->cpu_ticks);
	HANDOVER_U64(d, o, "cpu_at", in->cpu_at);
	if (in->pid == 0 && in->ipc_fd >= 0)
		return handover_fail(d, "ipc_fd", "an IPC socket without "
		    "a process");
	return 0;
}

static int
handover_dec_app(struct handover_dec *d, const json_t *o,
    struct handover_app *a)
{
	json_t *insts = json_object_get(o, "insts"), *v;
	size_t i, len = strlen(d->where);

	env_init(&a->env);
	env_init(&a->ran_env);
	if (!json_is_object(o))
		return handover_fail(d, NULL, "expected an object");
	if (!json_is_object(json_object_get(o, "config")))
		return handover_fail(d, "config", "expected an object");
	a->config = json_deep_copy(json_object_get(o, "config"));
	if (handover_str(d, o, "config_file", 1, &a->config_file) < 0 ||
	    handover_str(d, o, "dir", 0, &a->dir) < 0 ||
	    handover_str(d, o, "env_mode", 1, &a->env_mode) < 0 ||
	    handover_env(d, o, "env", &a->env) < 0)
		return -1;
	v = json_object_get(o, "ran_env");
	a->ran_env_set = v != NULL && !json_is_null(v);
	if (a->ran_env_set && handover_env(d, o, "ran_env", &a->ran_env) < 0)
		return -1;
	if (handover_ints(d, o, "sock_fds", -1, 1, &a->sock_fds,
	    &a->nslots) < 0 ||
	    handover_ints(d, o, "sock_order", 0, 0, &a->sock_order,
	    &a->norder) < 0)
		return -1;
	for (i = 0; i < a->norder; i++)
		if ((size_t)a->sock_order[i] >= a->nslots ||
		    a->sock_fds[a->sock_order[i]] < 0)
			return handover_fail(d, "sock_order", "slot %d has no "
			    "socket", a->sock_order[i]);
	if (!json_is_array(insts))
		return handover_fail(d, "insts", "expected an array");
	a->ninsts = json_array_size(insts);
	a->insts = xcalloc(a->ninsts + 1, sizeof *a->insts);
	for (i = 0; i < a->ninsts; i++)
		a->insts[i].ipc_fd = -1;
	json_array_foreach(insts, i, v) {
		snprintf(d->where + len, sizeof d->where - len, ".insts[%zu]",
		    i);
		if (handover_dec_inst(d, v, &a->insts[i]) < 0)
			return -1;
		if (a->insts[i].slot != (int)i)
			return handover_fail(d, "slot", "expected %zu", i);
	}
	d->where[len] = '\0';
	return 0;
}

static int
handover_dec_log(struct handover_dec *d, const json_t *o,
    struct handover_log *l)
{
	l->fd = -1;
	if (!json_is_object(o))
		return handover_fail(d, NULL, "expected an object");
	if (handover_fd(d, o, "fd", 0, &l->fd) < 0 ||
	    handover_str(d, o, "path", 0, &l->path) < 0 ||
	    handover_str(d, o, "also", 1, &l->also) < 0 ||
	    handover_bool(d, o, "time", &l->time) < 0 ||
	    handover_str(d, o, "datefmt", 1, &l->datefmt) < 0 ||
	    handover_bool(d, o, "at_bol", &l->at_bol) < 0)
		return -1;
	HANDOVER_U64(d, o, "max_size", l->max_size);
	HANDOVER_INT(d, o, "retain", 0, INT32_MAX, l->retain);
	return 0;
}

/* Every descriptor named once: two owners of one fd would close it twice. */
static int
handover_check_fds(struct handover_dec *d, const struct handover *h)
{
	size_t n, i, j;
	int *fds = handover_fds(h, &n), rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		for (j = i + 1; j < n; j++)
			if (fds[i] == fds[j]) {
				rc = handover_fail(d, NULL, "descriptor %d is "
				    "named twice", fds[i]);
				break;
			}
	free(fds);
	return rc;
}

static int
handover_dec_top(struct handover_dec *d, const json_t *doc,
    struct handover *h)
{
	json_t *apps, *logs, *v;
	size_t i;

	if (!json_is_object(doc))
		return handover_fail(d, NULL, "expected an object");
	v = json_object_get(doc, "wsd_handover");
	if (!json_is_integer(v))
		return handover_fail(d, NULL, "no \"wsd_handover\" version: "
		    "not a wsd hand-over");
	if (json_integer_value(v) != HANDOVER_VERSION)
		return handover_fail(d, NULL, "version %lld, this wsd reads "
		    "version %d only", (long long)json_integer_value(v),
		    HANDOVER_VERSION);
	h->version = HANDOVER_VERSION;
	if (handover_str(d, doc, "home", 0, &h->home) < 0 ||
	    handover_str(d, doc, "config", 1, &h->config) < 0 ||
	    handover_str(d, doc, "mode", 1, &h->mode) < 0)
		return -1;
	HANDOVER_U64(d, doc, "started_ms", h->started_ms);
	HANDOVER_U64(d, doc, "updates", h->updates);
	HANDOVER_INT(d, doc, "next_id", 0, INT32_MAX, h->next_id);
	if (handover_fd(d, doc, "lock_fd", 0, &h->lock_fd) < 0 ||
	    handover_fd(d, doc, "control_fd", 0, &h->control_fd) < 0 ||
	    handover_fd(d, doc, "metrics_fd", 1, &h->metrics_fd) < 0)
		return -1;
	apps = json_object_get(doc, "apps");
	logs = json_object_get(doc, "logs");
	if (!json_is_array(apps) || !json_is_array(logs))
		return handover_fail(d, json_is_array(apps) ? "logs" : "apps",
		    "expected an array");
	h->apps = xcalloc(json_array_size(apps) + 1, sizeof *h->apps);
	json_array_foreach(apps, i, v) {
		snprintf(d->where, sizeof d->where, "apps[%zu]", i);
		h->napps++;
		if (handover_dec_app(d, v, &h->apps[i]) < 0)
			return -1;
	}
	h->logs = xcalloc(json_array_size(logs) + 1, sizeof *h->logs);
	json_array_foreach(logs, i, v) {
		snprintf(d->where, sizeof d->where, "logs[%zu]", i);
		h->nlogs++;
		if (handover_dec_log(d, v, &h->logs[i]) < 0)
			return -1;
	}
	d->where[0] = '\0';
	return handover_check_fds(d, h);
}

int
handover_decode(struct handover *h, const json_t *doc, char **err)
{
	struct handover_dec d;

	memset(h, 0, sizeof *h);
	memset(&d, 0, sizeof d);
	h->lock_fd = h->control_fd = h->metrics_fd = -1;
	if (handover_dec_top(&d, doc, h) == 0) {
		*err = NULL;
		return 0;
	}
	handover_free(h);
	*err = d.err;
	return -1;
}

void
handover_free(struct handover *h)
{
	struct handover_app *a;
	size_t i, j;

	for (i = 0; i < h->napps; i++) {
		a = &h->apps[i];
		json_decref(a->config);
		free(a->config_file);
		free(a->dir);
		free(a->env_mode);
		env_free(&a->env);
		env_free(&a->ran_env);
		free(a->sock_fds);
		free(a->sock_order);
		for (j = 0; j < a->ninsts; j++) {
			json_decref(a->insts[j].stats);
			free(a->insts[j].out_path);
			free(a->insts[j].err_path);
		}
		free(a->insts);
	}
	free(h->apps);
	for (i = 0; i < h->nlogs; i++) {
		free(h->logs[i].path);
		free(h->logs[i].also);
		free(h->logs[i].datefmt);
	}
	free(h->logs);
	free(h->home);
	free(h->config);
	free(h->mode);
	memset(h, 0, sizeof *h);
	h->lock_fd = h->control_fd = h->metrics_fd = -1;
}

int *
handover_fds(const struct handover *h, size_t *n)
{
	const struct handover_app *a;
	size_t cap = 3 + h->nlogs, i, j;
	int *v;

	for (i = 0; i < h->napps; i++)
		cap += h->apps[i].nslots + h->apps[i].ninsts;
	v = xcalloc(cap + 1, sizeof *v);
	*n = 0;
	if (h->lock_fd >= 0)
		v[(*n)++] = h->lock_fd;
	if (h->control_fd >= 0)
		v[(*n)++] = h->control_fd;
	if (h->metrics_fd >= 0)
		v[(*n)++] = h->metrics_fd;
	for (i = 0; i < h->napps; i++) {
		a = &h->apps[i];
		for (j = 0; j < a->nslots; j++)
			if (a->sock_fds[j] >= 0)
				v[(*n)++] = a->sock_fds[j];
		for (j = 0; j < a->ninsts; j++)
			if (a->insts[j].ipc_fd >= 0)
				v[(*n)++] = a->insts[j].ipc_fd;
	}
	for (i = 0; i < h->nlogs; i++)
		v[(*n)++] = h->logs[i].fd;
	return v;
}

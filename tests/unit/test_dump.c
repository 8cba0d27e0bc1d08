/* dump.json: atomic write with a backup, fallback to the backup on corruption. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "diag.h"
#include "dump.h"

struct fixture {
	char	home[64];
	char	cur[128];
	char	bak[128];
	char	tmp[128];
};

static int
setup(void **state)
{
	struct fixture *f;

	f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->home, sizeof f->home, "/tmp/wsd-test-dump.XXXXXX");
	assert_non_null(mkdtemp(f->home));
	snprintf(f->cur, sizeof f->cur, "%s/dump.json", f->home);
	snprintf(f->bak, sizeof f->bak, "%s/dump.json.bak", f->home);
	snprintf(f->tmp, sizeof f->tmp, "%s/dump.json.new", f->home);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->home);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* A dump of one app named `name` with `instances` instances. */
static json_t *
doc_with(const char *name, int instances)
{
	return json_pack("{s:i, s:I, s:[{s:{s:s, s:s}, s:s, s:n, s:i, s:b, s:[i]}]}",
	    "version", 1, "saved_at", (json_int_t)1763800000000LL, "apps",
	    "config", "name", name, "script", "wsworker",
	    "config_file", "/srv/app/ecosystem.json", "env_mode",
	    "instances", instances, "stopped", 0, "ids", 0);
}

static const char *
first_name(json_t *doc)
{
	json_t *app = json_array_get(json_object_get(doc, "apps"), 0);

	return json_string_value(json_object_get(json_object_get(app,
	    "config"), "name"));
}

static void
write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static json_t *
load(const char *path)
{
	json_error_t je;

	return json_load_file(path, 0, &je);
}

static void
test_missing_is_empty(void **state)
{
	struct fixture *f = *state;
	struct diag w;
	char *err = NULL;
	json_t *doc;

	diag_init(&w);
	doc = dump_read(f->home, &w, &err);
	assert_non_null(doc);
	assert_null(err);
	assert_int_equal(w.n, 0);
	assert_true(json_is_array(json_object_get(doc, "apps")));
	assert_int_equal(json_array_size(json_object_get(doc, "apps")), 0);
	json_decref(doc);
	diag_free(&w);
}

static void
test_write_then_read(void **state)
{
	struct fixture *f = *state;
	struct diag w;
	struct stat st;
	char *err = NULL;
	json_t *doc, *back, *ondisk;

	doc = doc_with("fonana-ws", 2);
	assert_int_equal(dump_write(f->home, doc, &err), 0);
	assert_null(err);

	assert_int_equal(stat(f->cur, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* The temporary file is gone, and a first save has no backup. */
	assert_int_equal(access(f->tmp, F_OK), -1);
	assert_int_equal(access(f->bak, F_OK), -1);

	ondisk = load(f->cur);
	assert_non_null(ondisk);
	assert_true(json_equal(ondisk, doc));

	diag_init(&w);
	back = dump_read(f->home, &w, &err);
	assert_non_null(back);
	assert_int_equal(w.n, 0);
	assert_true(json_equal(back, doc));
	json_decref(back);
	json_decref(ondisk);
	json_decref(doc);
	diag_free(&w);
}

static void
test_previous_kept_as_bak(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	json_t *a, *b, *c, *d;

	a = doc_with("first", 1);
	b = doc_with("second", 2);
	c = doc_with("third", 3);
	assert_int_equal(dump_write(f->home, a, &err), 0);
	assert_int_equal(dump_write(f->home, b, &err), 0);
	d = load(f->bak);
	assert_non_null(d);
	assert_string_equal(first_name(d), "first");
	json_decref(d);
	d = load(f->cur);
	assert_string_equal(first_name(d), "second");
	json_decref(d);

	assert_int_equal(dump_write(f->home, c, &err), 0);
	d = load(f->bak);
	assert_string_equal(first_name(d), "second");
	json_decref(d);
	d = load(f->cur);
	assert_string_equal(first_name(d), "third");
	json_decref(d);
	assert_int_equal(access(f->tmp, F_OK), -1);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void
test_corrupt_falls_back_with_warning(void **state)
{
	struct fixture *f = *state;
	struct diag w;
	char *err = NULL;
	json_t *a, *b, *doc;

	a = doc_with("good-old", 1);
	b = doc_with("good-new", 1);
	assert_int_equal(dump_write(f->home, a, &err), 0);
	assert_int_equal(dump_write(f->home, b, &err), 0);
	/* A half-written file, as PM2 leaves after a crash mid-save. */
	write_text(f->cur, "{\"version\":1,\"apps\":[{\"config\":{\"na");

	diag_init(&w);
	doc = dump_read(f->home, &w, &err);
	assert_non_null(doc);
	assert_null(err);
	assert_string_equal(first_name(doc), "good-old");
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.msgs[0], f->cur));
	assert_non_null(strstr(w.msgs[0], "dump.json.bak"));
	json_decref(doc);
	diag_free(&w);

	/* Valid JSON of the wrong shape is corrupt too. */
	write_text(f->cur, "{\"version\":1}");
	diag_init(&w);
	doc = dump_read(f->home, &w, &err);
	assert_non_null(doc);
	assert_string_equal(first_name(doc), "good-old");
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.msgs[0], "apps"));
	json_decref(doc);
	diag_free(&w);

	/* An empty file (a full disk) as well. */
	write_text(f->cur, "");
	diag_init(&w);
	doc = dump_read(f->home, &w, &err);
	assert_non_null(doc);
	assert_string_equal(first_name(doc), "good-old");
	assert_int_equal(w.n, 1);
	json_decref(doc);
	diag_free(&w);
	json_decref(a);
	json_decref(b);
}

static void
test_saving_over_corrupt_keeps_good_bak(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	json_t *a, *b, *d;

	a = doc_with("good", 1);
	b = doc_with("newer", 1);
	assert_int_equal(dump_write(f->home, a, &err), 0);
	assert_int_equal(dump_write(f->home, a, &err), 0);	/* bak = good */
	write_text(f->cur, "garbage");
	assert_int_equal(dump_write(f->home, b, &err), 0);
	d = load(f->bak);
	assert_non_null(d);
	assert_string_equal(first_name(d), "good");
	json_decref(d);
	d = load(f->cur);
	assert_string_equal(first_name(d), "newer");
	json_decref(d);
	json_decref(a);
	json_decref(b);
}

static void
test_missing_cur_uses_bak(void **state)
{
	struct fixture *f = *state;
	struct diag w;
	char *err = NULL;
	json_t *doc;

	write_text(f->bak, "{\"version\":1,\"apps\":[{\"config\":{\"name\":\"x\"}}]}");
	diag_init(&w);
	doc = dump_read(f->home, &w, &err);
	assert_non_null(doc);
	assert_string_equal(first_name(doc), "x");
	assert_int_equal(w.n, 1);
	json_decref(doc);
	diag_free(&w);
}

static void
test_both_unusable_is_error(void **state)
{
	struct fixture *f = *state;
	struct diag w;
	char *err = NULL;
	json_t *doc;

	/* Corrupt and no backup: an error, never an empty list. */
	write_text(f->cur, "[1,");
	diag_init(&w);
	doc = dump_read(f->home, &w, &err);
	assert_null(doc);
	assert_non_null(err);
	assert_non_null(strstr(err, f->cur));
	free(err);
	err = NULL;

	write_text(f->bak, "also bad");
	doc = dump_read(f->home, &w, &err);
	assert_null(doc);
	assert_non_null(err);
	assert_non_null(strstr(err, "dump.json.bak"));
	free(err);
	diag_free(&w);
}

static void
test_failed_write_leaves_dump_intact(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	json_t *a, *b, *bad, *d;

	a = doc_with("kept", 1);
	b = doc_with("lost", 1);
	assert_int_equal(dump_write(f->home, a, &err), 0);

	/* The temporary path cannot be created: nothing may change. */
	assert_int_equal(mkdir(f->tmp, 0700), 0);
	assert_int_equal(dump_write(f->home, b, &err), -1);
	assert_non_null(err);
	free(err);
	err = NULL;
	d = load(f->cur);
	assert_non_null(d);
	assert_string_equal(first_name(d), "kept");
	json_decref(d);
	assert_int_equal(access(f->bak, F_OK), -1);
	rmdir(f->tmp);

	/* A document without an apps array is refused before any write. */
	bad = json_pack("{s:i}", "version", 1);
	assert_int_equal(dump_write(f->home, bad, &err), -1);
	assert_non_null(err);
	free(err);
	d = load(f->cur);
	assert_string_equal(first_name(d), "kept");
	json_decref(d);
	json_decref(bad);
	json_decref(a);
	json_decref(b);
}

/* Inline secrets leave the config; only their names stay, per section. */
static void
test_redact(void **state)
{
	json_t *c, *r, *want;
	char *text;

	(void)state;
	c = json_loads("{\"name\":\"a\",\"env_file\":[\"/x/.env\"],"
	    "\"env\":{\"NEXTAUTH_SECRET\":\"s1\",\"PORT\":3000,"
	    "\"REDIS_URL\":\"redis://:pw@h:6379\",\"PIN_KEY\":1234,"
	    "\"NODE_ENV\":\"production\"},"
	    "\"env_production\":{\"DB_PASSWORD\":\"p\"},"
	    "\"env_test\":{\"A\":\"b\"}}", 0, NULL);
	assert_non_null(c);
	r = dump_redact(c);
	want = json_loads("{\"env\":[\"NEXTAUTH_SECRET\",\"REDIS_URL\","
	    "\"PIN_KEY\"],\"env_production\":[\"DB_PASSWORD\"]}", 0, NULL);
	assert_true(json_equal(r, want));
	text = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(text, "{\"env\":{\"NODE_ENV\":\"production\","
	    "\"PORT\":3000},\"env_file\":[\"/x/.env\"],\"env_production\":{},"
	    "\"env_test\":{\"A\":\"b\"},\"name\":\"a\"}");
	free(text);
	json_decref(want);
	json_decref(r);
	json_decref(c);
	/* Nothing secret: nothing to say. */
	c = json_loads("{\"env\":{\"A\":\"1\"}}", 0, NULL);
	assert_null(dump_redact(c));
	json_decref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test_setup_teardown(test_missing_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_previous_kept_as_bak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_falls_back_with_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_saving_over_corrupt_keeps_good_bak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_cur_uses_bak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_unusable_is_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_leaves_dump_intact, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

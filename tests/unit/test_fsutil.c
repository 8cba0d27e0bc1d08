/* Unit tests of common/fsutil.c: mkdir -p, the program's folder, the home. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_fsutil.XXXXXX");
	umask(022);
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static mode_t
mode_of(const char *fmt, const char *arg)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof path, fmt, dir, arg);
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static void
test_mkdirs(void **state)
{
	char path[256], *err = (char *)"unset";

	(void)state;
	/* The last folder gets the mode, the parents 0755. */
	snprintf(path, sizeof path, "%s/a/b/home", dir);
	assert_int_equal(fsutil_mkdirs(path, 0700, &err), 0);
	assert_null(err);
	assert_int_equal(mode_of("%s/%s", "a"), 0755);
	assert_int_equal(mode_of("%s/%s", "a/b"), 0755);
	assert_int_equal(mode_of("%s/%s", "a/b/home"), 0700);
	/* Again: everything exists, nothing changes. */
	assert_int_equal(fsutil_mkdirs(path, 0750, NULL), 0);
	assert_int_equal(mode_of("%s/%s", "a/b/home"), 0700);
	/* A trailing slash is the same folder. */
	snprintf(path, sizeof path, "%s/c/", dir);
	assert_int_equal(fsutil_mkdirs(path, 0700, NULL), 0);
	assert_int_equal(mode_of("%s/%s", "c"), 0700);
}

static void
test_mkdirs_error(void **state)
{
	char path[256], want[256], *err = NULL;
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/file", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	/* The error names the prefix that could not be made. */
	snprintf(path, sizeof path, "%s/file/x/y", dir);
	errno = 0;
	assert_int_equal(fsutil_mkdirs(path, 0700, &err), -1);
	assert_int_equal(errno, ENOTDIR);
	snprintf(want, sizeof want, "%s/file/x: %s", dir, strerror(ENOTDIR));
	assert_string_equal(err, want);
	free(err);
	/* Nothing to make: like mkdir(""). */
	assert_int_equal(fsutil_mkdirs("", 0700, NULL), -1);
	assert_int_equal(errno, ENOENT);
	/* Without err, errno alone. */
	errno = 0;
	assert_int_equal(fsutil_mkdirs(path, 0700, NULL), -1);
	assert_int_equal(errno, ENOTDIR);
}

static void
test_mkdirs_too_long(void **state)
{
	char *path, *err = NULL;

	(void)state;
	assert_non_null(path = malloc(PATH_MAX + 10));
	memset(path, 'a', PATH_MAX + 9);
	path[0] = '/';
	path[PATH_MAX + 9] = '\0';
	assert_int_equal(fsutil_mkdirs(path, 0700, &err), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_non_null(err);
	free(err);
	free(path);
}

static void
test_mkdirs_for(void **state)
{
	char path[256], cwd[PATH_MAX];

	(void)state;
	/* The folder the file goes in, not the file. */
	snprintf(path, sizeof path, "%s/logs/app/out.log", dir);
	assert_int_equal(fsutil_mkdirs_for(path), 0);
	assert_int_equal(mode_of("%s/%s", "logs/app"), 0755);
	assert_int_equal(mode_of("%s/%s", "logs/app/out.log"), (mode_t)-1);
	/* A bare name, a file in "/", NULL: nothing to make. */
	assert_int_equal(fsutil_mkdirs_for("out.log"), 0);
	assert_int_equal(fsutil_mkdirs_for("/out.log"), 0);
	assert_int_equal(fsutil_mkdirs_for(NULL), 0);
	/* Relative paths are made from the current folder. */
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(fsutil_mkdirs_for("rel/sub/x.log"), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(mode_of("%s/%s", "rel/sub"), 0755);
}

static void
test_self_dir(void **state)
{
	char self[PATH_MAX], want[PATH_MAX], small[4];
	ssize_t n;

	(void)state;
	n = readlink("/proc/self/exe", want, sizeof want - 1);
	assert_true(n > 0);
	want[n] = '\0';
	*strrchr(want, '/') = '\0';
	assert_int_equal(fsutil_self_dir(self, sizeof self), 0);
	assert_string_equal(self, want);
	/* This test binary lives in <objdir>/tests. */
	assert_string_equal(strrchr(self, '/'), "/tests");
	errno = 0;
	assert_int_equal(fsutil_self_dir(small, sizeof small), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_home(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(fsutil_home_of(buf, sizeof buf, "/home/u"), 0);
	assert_string_equal(buf, "/home/u/.wsd");
	assert_int_equal(fsutil_home_of(buf, sizeof buf, NULL), 0);
	assert_string_equal(buf, "/.wsd");
	assert_int_equal(fsutil_home_of(buf, sizeof buf, ""), 0);
	assert_string_equal(buf, "/.wsd");
	assert_int_equal(fsutil_home_of(buf, 8, "/home/u"), -1);
	assert_int_equal(errno, ENAMETOOLONG);

	/* $WSD_HOME, else $HOME/.wsd; an empty WSD_HOME is unset. */
	setenv("HOME", "/home/v", 1);
	unsetenv("WSD_HOME");
	assert_int_equal(fsutil_home(buf, sizeof buf), 0);
	assert_string_equal(buf, "/home/v/.wsd");
	setenv("WSD_HOME", "", 1);
	assert_int_equal(fsutil_home(buf, sizeof buf), 0);
	assert_string_equal(buf, "/home/v/.wsd");
	setenv("WSD_HOME", "rel/home", 1);
	assert_int_equal(fsutil_home(buf, sizeof buf), 0);
	assert_string_equal(buf, "rel/home");
	assert_int_equal(fsutil_home(buf, 4), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	unsetenv("HOME");
	unsetenv("WSD_HOME");
	assert_int_equal(fsutil_home(buf, sizeof buf), 0);
	assert_string_equal(buf, "/.wsd");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdirs_error, setup,
		    teardown),
		cmocka_unit_test(test_mkdirs_too_long),
		cmocka_unit_test_setup_teardown(test_mkdirs_for, setup,
		    teardown),
		cmocka_unit_test(test_self_dir),
		cmocka_unit_test(test_home),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

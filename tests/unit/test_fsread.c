/* Unit tests of common/fsutil.c: the capped, non-blocking file reader. */
#include <errno.h>
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
static char path[128];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_fsutil.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
put(const char *name, size_t len)
{
	FILE *f;
	size_t i;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	for (i = 0; i < len; i++)
		fputc('a' + (int)(i % 26), f);
	fclose(f);
	return path;
}

static void
test_regular(void **state)
{
	char *buf, why[128];
	size_t len;
	mode_t mode;

	(void)state;
	assert_int_equal(fsutil_read_file(put("ten", 10), 10, &buf, &len,
	    &mode, why, sizeof why), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "abcdefghij");
	assert_true(S_ISREG(mode));
	free(buf);
	/* Empty is fine, and the cap is inclusive. */
	assert_int_equal(fsutil_read_file(put("empty", 0), 0, &buf, &len,
	    NULL, why, sizeof why), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	/* Bigger than the first guess: the buffer grows up to the cap. */
	assert_int_equal(fsutil_read_file(put("big", 100000), 1 << 20, &buf,
	    &len, NULL, why, sizeof why), 0);
	assert_int_equal(len, 100000);
	free(buf);
}

static void
test_refused(void **state)
{
	char *buf = (char *)1, why[128], fifo[160];
	size_t len;

	(void)state;
	assert_int_equal(fsutil_read_file(put("eleven", 11), 10, &buf, &len,
	    NULL, why, sizeof why), -1);
	assert_null(buf);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(why, "larger than the 10 bytes cap");
	assert_int_equal(fsutil_read_file(put("two-mib", 2 << 20), 1 << 20,
	    &buf, &len, NULL, why, sizeof why), -1);
	assert_string_equal(why, "larger than the 1 MiB cap");
	/* A device that never ends: only cap + 1 bytes are read. */
	assert_int_equal(fsutil_read_file("/dev/zero", 1 << 20, &buf, &len,
	    NULL, why, sizeof why), -1);
	assert_string_equal(why, "not a regular file");
	/* A FIFO with no writer: refused at once, not waited on. */
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(fsutil_read_file(fifo, 1 << 20, &buf, &len, NULL,
	    why, sizeof why), -1);
	assert_string_equal(why, "not a regular file");
	assert_int_equal(fsutil_read_file(dir, 1 << 20, &buf, &len, NULL,
	    why, sizeof why), -1);
	assert_string_equal(why, "Is a directory");
	snprintf(fifo, sizeof fifo, "%s/missing", dir);
	assert_int_equal(fsutil_read_file(fifo, 1 << 20, &buf, &len, NULL,
	    why, sizeof why), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(why, "No such file or directory");
}

static void
test_size_text(void **state)
{
	char b[32];

	(void)state;
	fsutil_size_text(1 << 20, b, sizeof b);
	assert_string_equal(b, "1 MiB");
	fsutil_size_text(64 * 1024, b, sizeof b);
	assert_string_equal(b, "64 KiB");
	fsutil_size_text(1000, b, sizeof b);
	assert_string_equal(b, "1000 bytes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_size_text),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

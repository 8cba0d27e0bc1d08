/* Unit tests of wsctl's table renderer and status formatting (ctl/table.c, ctl/status.c). */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"
#include "table.h"

/* status.c reaches the client, which reports through ctl.c: quiet
 * stand-ins. */
void
ctl_warn(const char *fmt, ...)
{
	(void)fmt;
}

int
ctl_usage(struct ctl *ctl)
{
	(void)ctl;
	return 64;
}

static char *
render(struct table *t, int colour)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	table_write(t, f, colour);
	fclose(f);
	return buf;
}

/* Remove "\033[...m" sequences. */
static char *
strip_escapes(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	while (*s != '\0') {
		if (*s == '\033') {
			while (*s != '\0' && *s != 'm')
				s++;
			if (*s == 'm')
				s++;
			continue;
		}
		*o++ = *s++;
	}
	*o = '\0';
	return out;
}

static void
test_width(void **state)
{
	(void)state;
	assert_int_equal(table_width(""), 0);
	assert_int_equal(table_width("abc"), 3);
	assert_int_equal(table_width("↺"), 1);		/* 3 bytes, 1 column */
	assert_int_equal(table_width("─│┌"), 3);
	assert_int_equal(table_width("日本"), 4);	/* wide */
	assert_int_equal(table_width("e\xcc\x81"), 1);	/* e + combining acute */
	assert_int_equal(table_width("\xff" "a"), 2);	/* stray byte */
}

static void
test_plain_golden(void **state)
{
	static const char *hdr[] = { "id", "name", "↺" };
	static const char *want =
	    "┌────┬───────────┬────┐\n"
	    "│ id │ name      │ ↺  │\n"
	    "├────┼───────────┼────┤\n"
	    "│ 0  │ fonana-ws │ 2  │\n"
	    "│ 11 │ x         │ 10 │\n"
	    "└────┴───────────┴────┘\n";
	struct table *t = table_create(3, hdr);
	char *out;

	(void)state;
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "%d", 0);
	table_cell(t, 1, TABLE_GREEN, "fonana-ws");
	table_cell(t, 2, TABLE_PLAIN, "2");
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "11");
	table_cell(t, 1, TABLE_RED, "x");
	table_cell(t, 2, TABLE_PLAIN, "10");
	out = render(t, 0);
	assert_string_equal(out, want);
	assert_null(strchr(out, '\033'));
	free(out);
	table_free(t);
}

/* Colour adds escapes around the text only: stripped, it is the plain table. */
static void
test_colour_same_layout(void **state)
{
	static const char *hdr[] = { "status", "日本" };
	struct table *t = table_create(2, hdr);
	char *plain, *col, *stripped;

	(void)state;
	table_row(t);
	table_cell(t, 0, TABLE_GREEN, "online");
	table_cell(t, 1, TABLE_PLAIN, "a");
	table_row(t);
	table_cell(t, 0, TABLE_YELLOW, "waiting restart");
	table_cell(t, 1, TABLE_RED, "bb");
	plain = render(t, 0);
	col = render(t, 1);
	assert_non_null(strstr(col, "\033[32monline\033[0m"));
	assert_non_null(strstr(col, "\033[33mwaiting restart\033[0m"));
	assert_null(strchr(plain, '\033'));
	stripped = strip_escapes(col);
	assert_string_equal(stripped, plain);
	/* The wide header takes 4 columns: "a" is padded to 4. */
	assert_non_null(strstr(plain, "│ 日本 │\n"));
	assert_non_null(strstr(plain, "│ a    │\n"));
	free(plain);
	free(col);
	free(stripped);
	table_free(t);
}

/* Every line of a table has the same width in columns. */
static void
test_lines_aligned(void **state)
{
	static const char *hdr[] = { "k", "v" };
	struct table *t = table_create(2, hdr);
	char *out, *line, *save = NULL;
	size_t w = 0;

	(void)state;
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "↺↺↺");
	table_cell(t, 1, TABLE_PLAIN, "日本語");
	table_row(t);
	table_cell(t, 1, TABLE_PLAIN, "long value here");
	out = render(t, 0);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (w == 0)
			w = table_width(line);
		assert_int_equal(table_width(line), w);
	}
	/* "│ " + 3 + " │ " + 15 + " │" */
	assert_int_equal(w, 2 + 3 + 3 + 15 + 2);
	free(out);
	table_free(t);
}

static void
test_no_header_and_empty(void **state)
{
	static const char *hdr[] = { "a", "b" };
	struct table *t = table_create(2, NULL);
	char *out;

	(void)state;
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "status");
	table_cell(t, 1, TABLE_PLAIN, "online");
	out = render(t, 0);
	assert_string_equal(out,
	    "┌────────┬────────┐\n"
	    "│ status │ online │\n"
	    "└────────┴────────┘\n");
	free(out);
	table_free(t);

	t = table_create(2, hdr);
	out = render(t, 0);
	assert_string_equal(out,
	    "┌───┬───┐\n"
	    "│ a │ b │\n"
	    "├───┼───┤\n"
	    "└───┴───┘\n");
	free(out);
	table_free(t);
}

/* A name from a config file must not smuggle escapes to the terminal. */
static void
test_control_chars(void **state)
{
	struct table *t = table_create(1, NULL);
	char *out;

	(void)state;
	table_row(t);
	table_cell(t, 0, TABLE_PLAIN, "a\033[2Jb\n");
	out = render(t, 0);
	assert_null(strchr(out, '\033'));
	assert_non_null(strstr(out, "│ a?[2Jb? │"));
	free(out);
	table_free(t);
}

static void
test_uptime(void **state)
{
	char b[32];

	(void)state;
	status_uptime(b, sizeof b, 0);
	assert_string_equal(b, "0s");
	status_uptime(b, sizeof b, 5999);
	assert_string_equal(b, "5s");
	status_uptime(b, sizeof b, 119 * 1000);	/* PM2: a unit once two passed */
	assert_string_equal(b, "119s");
	status_uptime(b, sizeof b, 3 * 60 * 1000);
	assert_string_equal(b, "3m");
	status_uptime(b, sizeof b, 2LL * 3600 * 1000);
	assert_string_equal(b, "2h");
	status_uptime(b, sizeof b, 4LL * 86400 * 1000);
	assert_string_equal(b, "4D");
	status_uptime(b, sizeof b, 90LL * 86400 * 1000);
	assert_string_equal(b, "3M");
	status_uptime(b, sizeof b, -5);
	assert_string_equal(b, "0s");
}

static void
test_bytes(void **state)
{
	char b[32];

	(void)state;
	status_bytes(b, sizeof b, 0);
	assert_string_equal(b, "0b");
	status_bytes(b, sizeof b, 512);
	assert_string_equal(b, "512b");
	status_bytes(b, sizeof b, 1536);
	assert_string_equal(b, "1.5kb");
	status_bytes(b, sizeof b, 12.3 * 1024 * 1024);
	assert_string_equal(b, "12.3mb");
	status_bytes(b, sizeof b, 3.0 * 1024 * 1024 * 1024);
	assert_string_equal(b, "3.0gb");
}

/* The cpu column as it was drawn with libm's round and floor. */
static void
cpu_libm(char *buf, size_t len, double cpu)
{
	cpu = round(cpu * 10) / 10;
	if (cpu == floor(cpu))
		snprintf(buf, len, "%.0f%%", cpu);
	else
		snprintf(buf, len, "%.1f%%", cpu);
}

static void
test_cpu(void **state)
{
	static const double edges[] = {
		0, -0.0, 0.04, 0.05, 0.049999999999999996, 0.25, 0.35, 0.45,
		-0.03, -0.05, -0.25, 0.95, 0.96, 99.95, 100, 199.96, 1e15,
		4503599627370495.5, 4503599627370496.0, 1e300, -1e300,
		INFINITY, -INFINITY, NAN,
	};
	char got[400], want[400];
	size_t i;
	double v;

	(void)state;
	status_cpu(got, sizeof got, 0.4);
	assert_string_equal(got, "0.4%");
	status_cpu(got, sizeof got, 12.04);
	assert_string_equal(got, "12%");
	status_cpu(got, sizeof got, 0.05);
	assert_string_equal(got, "0.1%");
	for (i = 0; i < sizeof edges / sizeof edges[0]; i++) {
		status_cpu(got, sizeof got, edges[i]);
		cpu_libm(want, sizeof want, edges[i]);
		assert_string_equal(got, want);
	}
	/* Every hundredth and its neighbours up to 400 %, both signs. */
	for (i = 0; i <= 40000; i++) {
		v = i / 100.0;
		status_cpu(got, sizeof got, v);
		cpu_libm(want, sizeof want, v);
		assert_string_equal(got, want);
		status_cpu(got, sizeof got, nextafter(v, 1e9));
		cpu_libm(want, sizeof want, nextafter(v, 1e9));
		assert_string_equal(got, want);
		status_cpu(got, sizeof got, nextafter(v, -1e9));
		cpu_libm(want, sizeof want, nextafter(v, -1e9));
		assert_string_equal(got, want);
		status_cpu(got, sizeof got, -v);
		cpu_libm(want, sizeof want, -v);
		assert_string_equal(got, want);
	}
}

static void
test_status_table(void **state)
{
	struct ctl ctl;
	json_t *list;
	char *buf = NULL, *hdr;
	size_t len = 0;
	FILE *f;

	(void)state;
	memset(&ctl, 0, sizeof ctl);
	list = json_loads("[{\"id\":0,\"name\":\"fonana-ws\",\"exec_mode\":"
	    "\"cluster\",\"pid\":4242,\"status\":\"online\",\"restarts\":2,"
	    "\"uptime_ms\":10000,\"cpu\":0.4,\"memory\":6234112,"
	    "\"connections\":17},{\"id\":1,\"name\":\"redis\",\"exec_mode\":"
	    "\"fork\",\"pid\":0,\"status\":\"stopped\",\"restarts\":0,"
	    "\"uptime_ms\":50000,\"cpu\":0,\"memory\":0,\"connections\":null}]",
	    0, NULL);
	assert_non_null(list);
	f = open_memstream(&buf, &len);
	status_print(&ctl, f, list);
	fclose(f);
	hdr = strstr(buf, "│ id │ name      │ mode    │ pid  │ uptime │ ↺ │ "
	    "status  │ cpu  │ mem   │ conns │");
	assert_non_null(hdr);
	assert_non_null(strstr(buf, "│ 0  │ fonana-ws │ cluster │ 4242 │ 10s"
	    "    │ 2 │ online  │ 0.4% │ 5.9mb │ 17    │"));
	/* Not running: uptime 0; no reported connections: "-". */
	assert_non_null(strstr(buf, "│ 1  │ redis     │ fork    │ 0    │ 0"
	    "      │ 0 │ stopped │ 0%   │ 0b    │ -     │"));
	assert_null(strchr(buf, '\033'));
	free(buf);

	ctl.colour = 1;
	buf = NULL;
	f = open_memstream(&buf, &len);
	status_print(&ctl, f, list);
	fclose(f);
	assert_non_null(strstr(buf, "\033[32monline\033[0m"));
	assert_non_null(strstr(buf, "\033[31mstopped\033[0m"));
	free(buf);
	json_decref(list);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_plain_golden),
		cmocka_unit_test(test_colour_same_layout),
		cmocka_unit_test(test_lines_aligned),
		cmocka_unit_test(test_no_header_and_empty),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_uptime),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_status_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The process list view: instance objects drawn as PM2's status table. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "exitcodes.h"
#include "table.h"

static const char *status_headers[] = {
	"id", "name", "mode", "pid", "uptime", "↺", "status", "cpu", "mem",
	"conns",
};

/* PM2's timeSince: a unit is used once two of it have passed. */
void
status_uptime(char *buf, size_t len, long long ms)
{
	long long s = ms > 0 ? ms / 1000 : 0;

	if (s / 31536000 > 1)
		snprintf(buf, len, "%lldY", s / 31536000);
	else if (s / 2592000 > 1)
		snprintf(buf, len, "%lldM", s / 2592000);
	else if (s / 86400 > 1)
		snprintf(buf, len, "%lldD", s / 86400);
	else if (s / 3600 > 1)
		snprintf(buf, len, "%lldh", s / 3600);
	else if (s / 60 > 1)
		snprintf(buf, len, "%lldm", s / 60);
	else
		snprintf(buf, len, "%llds", s);
}

/* PM2's bytesToSize with one decimal: 512b, 1.5kb, 12.3mb. */
void
status_bytes(char *buf, size_t len, double b)
{
	static const char *units[] = { "kb", "mb", "gb", "tb" };
	size_t i;

	if (b < 1024) {
		snprintf(buf, len, "%.0fb", b < 0 ? 0 : b);
		return;
	}
	b /= 1024;
	for (i = 0; i < 3 && b >= 1024; i++)
		b /= 1024;
	snprintf(buf, len, "%.1f%s", b, units[i]);
}

/*
 * round(3) and an integer test without libm: loading libm.so costs every
 * wsctl run more than these two lines (SPEC §6, status under 5 ms).
 * At 2^52 and beyond every double is whole already.
 */
#define STATUS_WHOLE	4503599627370496.0	/* 2^52 */

static double
status_round(double x)
{
	double t;

	if (!(x > -STATUS_WHOLE && x < STATUS_WHOLE))
		return x;			/* whole, infinite or NaN */
	t = (double)(long long)x;		/* toward zero; x - t is exact */
	if (x - t >= 0.5)
		return t + 1;
	if (t - x >= 0.5)
		return t - 1;
	return t == 0 ? x * 0 : t;		/* round(-0.3) is -0 */
}

static int
status_whole(double x)
{
	if (!(x > -STATUS_WHOLE && x < STATUS_WHOLE))
		return x == x;			/* not NaN */
	return x == (double)(long long)x;
}

/* PM2's cpu column: one decimal, none when it is .0 (4%, 0.4%). */
void
status_cpu(char *buf, size_t len, double cpu)
{
	cpu = status_round(cpu * 10) / 10;
	if (status_whole(cpu))
		snprintf(buf, len, "%.0f%%", cpu);
	else
		snprintf(buf, len, "%.1f%%", cpu);
}

static enum table_colour
status_colour(const char *st)
{
	if (strcmp(st, "online") == 0)
		return TABLE_GREEN;
	if (strcmp(st, "errored") == 0 || strcmp(st, "stopped") == 0)
		return TABLE_RED;
	return TABLE_YELLOW;
}

static int
status_running(const char *st)
{
	return strcmp(st, "online") == 0 || strcmp(st, "launching") == 0 ||
	    strcmp(st, "stopping") == 0;
}

void
status_print(struct ctl *ctl, FILE *f, json_t *instances)
{
	struct table *t;
	json_t *in, *conns;
	const char *st, *mode;
	char buf[64];
	size_t i;

	t = table_create(10, status_headers);
	json_array_foreach(instances, i, in) {
		st = json_string_value(json_object_get(in, "status"));
		if (st == NULL)
			st = "unknown";
		mode = json_string_value(json_object_get(in, "exec_mode"));
		table_row(t);
		table_cell(t, 0, TABLE_PLAIN, "%lld",
		    json_integer_value(json_object_get(in, "id")));
		table_cell(t, 1, TABLE_PLAIN, "%s",
		    json_string_value(json_object_get(in, "name")) ?: "?");
		table_cell(t, 2, TABLE_PLAIN, "%s", mode != NULL ? mode : "fork");
		table_cell(t, 3, TABLE_PLAIN, "%lld",
		    json_integer_value(json_object_get(in, "pid")));
		if (status_running(st))
			status_uptime(buf, sizeof buf, json_integer_value(
			    json_object_get(in, "uptime_ms")));
		else
			snprintf(buf, sizeof buf, "0");
		table_cell(t, 4, TABLE_PLAIN, "%s", buf);
		table_cell(t, 5, TABLE_PLAIN, "%lld",
		    json_integer_value(json_object_get(in, "restarts")));
		table_cell(t, 6, status_colour(st), "%s", st);
		status_cpu(buf, sizeof buf,
		    json_number_value(json_object_get(in, "cpu")));
		table_cell(t, 7, TABLE_PLAIN, "%s", buf);
		status_bytes(buf, sizeof buf,
		    json_number_value(json_object_get(in, "memory")));
		table_cell(t, 8, TABLE_PLAIN, "%s", buf);
		conns = json_object_get(in, "connections");
		if (json_is_integer(conns))
			table_cell(t, 9, TABLE_PLAIN, "%lld",
			    json_integer_value(conns));
		else
			table_cell(t, 9, TABLE_GREY, "-");
	}
	table_write(t, f, ctl->colour);
	table_free(t);
}

int
status_show(struct ctl *ctl)
{
	json_t *data;
	int rc;

	if ((rc = client_call(ctl, "list", NULL, &data)) != 0)
		return rc;
	if (ctl->json)
		status_json_print(data);
	else
		status_print(ctl, stdout, json_object_get(data, "instances"));
	json_decref(data);
	return EXIT_OK;
}

void
status_json_print(json_t *v)
{
	json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

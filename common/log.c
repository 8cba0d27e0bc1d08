/* JSON-lines logger: formats one object per event and writes it whole. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *level_names[] = { "debug", "info", "warn", "error" };

static char		*log_app;
static int		 log_instance = -1;
static int		 log_fd = 1;
static enum log_level	 log_min = LOG_INFO;
static void		(*log_tap)(const char *, size_t);

void
log_setup(const char *app, int instance)
{
	free(log_app);
	log_app = app != NULL ? strdup(app) : NULL;
	log_instance = instance;
}

void
log_set_fd(int fd)
{
	log_fd = fd;
}

int
log_get_fd(void)
{
	return log_fd;
}

void
log_set_level(enum log_level lvl)
{
	log_min = lvl;
}

int
log_enabled(enum log_level lvl)
{
	return lvl >= log_min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

void
log_timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	char base[24];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(tv.tv_usec / 1000));
}

void
log_noalloc(enum log_level lvl, const char *msg)
{
	char ts[32], line[512];
	int n;

	log_timestamp(ts, sizeof ts);
	n = snprintf(line, sizeof line,
	    "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%.400s\",\"pid\":%d}\n",
	    ts, level_names[lvl], msg, (int)getpid());
	if (n > 0 && (size_t)n < sizeof line)
		while (write(log_fd, line, (size_t)n) < 0 && errno == EINTR)
			;
}

void
log_json(enum log_level lvl, json_t *fields, const char *fmt, ...)
{
	char ts[32], msg[2048], *line;
	const char *key;
	json_t *obj, *val;
	va_list ap;
	size_t n;

	if (lvl < log_min) {
		json_decref(fields);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_timestamp(ts, sizeof ts);

	obj = json_object();
	json_object_set_new(obj, "ts", json_string(ts));
	json_object_set_new(obj, "level", json_string(level_names[lvl]));
	json_object_set_new(obj, "msg", json_string(msg));
	if (log_app != NULL)
		json_object_set_new(obj, "app", json_string(log_app));
	if (log_instance >= 0)
		json_object_set_new(obj, "instance", json_integer(log_instance));
	json_object_set_new(obj, "pid", json_integer(getpid()));
	if (fields != NULL) {
		json_object_foreach(fields, key, val)
			json_object_set(obj, key, val);
		json_decref(fields);
	}
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (line == NULL)
		return;
	n = strlen(line);
	line[n] = '\n';	/* replaces the NUL: one write() per line, so lines
				 * from processes sharing a file never interleave */
	while (write(log_fd, line, n + 1) < 0 && errno == EINTR)
		;
	if (log_tap != NULL)
		log_tap(line, n);
	free(line);
}

void
log_set_tap(void (*tap)(const char *, size_t))
{
	log_tap = tap;
}

/* The log commands: logs (tail and follow the files the daemon names), flush, reloadLogs. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "exitcodes.h"
#include "xmalloc.h"

static int	cmd_logs_logs(struct ctl *, int, char **);
static int	cmd_logs_flush(struct ctl *, int, char **);
static int	cmd_logs_reload(struct ctl *, int, char **);

const struct ctl_cmd cmd_logs_cmds[] = {
	{ "logs", "log", "[NAME|ID] [--lines N] [--follow|--nostream] "
	    "[--err|--out] [--raw] [--timestamp]", cmd_logs_logs },
	{ "flush", NULL, "[NAME|ID]", cmd_logs_flush },
	{ "reloadLogs", NULL, "", cmd_logs_reload },
	{ NULL, NULL, NULL, NULL }
};

#define CMD_LOGS_POLL_MS	100

/* How each line is drawn: PM2's --raw and --timestamp. */
struct cmd_logs_view {
	int		 raw;		/* the line only, no "id|name | " */
	int		 timestamp;	/* the time it is printed, first */
};

static struct cmd_logs_view cmd_logs_view;

/* One log file being shown, and where we are in it. */
struct cmd_logs_file {
	char		*path;
	char		*prefix;	/* "0|fonana-ws | " */
	int		 err;		/* an error log: red prefix */
	int		 fd;		/* -1 until it exists */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 off;		/* next byte to read */
	char		*part;		/* a line not yet ended */
	size_t		 partlen;
};

static void
cmd_logs_emit(struct ctl *ctl, struct cmd_logs_file *lf, const char *line,
    size_t len)
{
	char ts[32];
	struct tm tm;
	time_t now;

	if (cmd_logs_view.timestamp) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S: ", &tm);
		fputs(ts, stdout);
	}
	if (cmd_logs_view.raw)
		;
	else if (ctl->colour)
		printf("%s%s\033[0m", lf->err ? "\033[31m" : "\033[32m",
		    lf->prefix);
	else
		fputs(lf->prefix, stdout);
	fwrite(line, 1, len, stdout);
	fputc('\n', stdout);
}

/* Print the complete lines of buf (after any pending part); keep the rest. */
static void
cmd_logs_feed(struct ctl *ctl, struct cmd_logs_file *lf, const char *buf,
    size_t n)
{
	const char *nl;
	size_t chunk;

	while (n > 0) {
		nl = memchr(buf, '\n', n);
		chunk = nl != NULL ? (size_t)(nl - buf) : n;
		if (nl == NULL || lf->partlen > 0) {
			lf->part = xrealloc(lf->part, lf->partlen + chunk);
			memcpy(lf->part + lf->partlen, buf, chunk);
			lf->partlen += chunk;
			if (nl != NULL) {
				cmd_logs_emit(ctl, lf, lf->part, lf->partlen);
				lf->partlen = 0;
			}
		} else
			cmd_logs_emit(ctl, lf, buf, chunk);
		if (nl == NULL)
			break;
		buf += chunk + 1;
		n -= chunk + 1;
	}
}

/* Read lf->fd from lf->off to end, or to its end of file if end is -1. */
static void
cmd_logs_drain(struct ctl *ctl, struct cmd_logs_file *lf, off_t end)
{
	char buf[65536];
	size_t want;
	ssize_t r;

	for (;;) {
		want = sizeof buf;
		if (end != -1) {
			if (lf->off >= end)
				break;
			if ((off_t)want > end - lf->off)
				want = (size_t)(end - lf->off);
		}
		if ((r = pread(lf->fd, buf, want, lf->off)) <= 0)
			break;
		lf->off += r;
		cmd_logs_feed(ctl, lf, buf, r);
	}
}

/* Where the last `lines` lines of fd start (size bytes long). */
static off_t
cmd_logs_tail_start(int fd, off_t size, long lines)
{
	char buf[8192];
	off_t end = size, start;
	long seen = 0;
	ssize_t r, i;

	if (lines <= 0)
		return size;
	while (end > 0) {
		start = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
		r = pread(fd, buf, end - start, start);
		if (r <= 0)
			return 0;
		for (i = r - 1; i >= 0; i--) {
			if (buf[i] != '\n' || start + i == size - 1)
				continue;
			if (++seen == lines)
				return start + i + 1;
		}
		end = start;
	}
	return 0;
}

static int
cmd_logs_open(struct cmd_logs_file *lf)
{
	struct stat sb;

	if ((lf->fd = open(lf->path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(lf->fd, &sb) == -1) {
		close(lf->fd);
		lf->fd = -1;
		return -1;
	}
	lf->dev = sb.st_dev;
	lf->ino = sb.st_ino;
	lf->off = 0;
	lf->partlen = 0;
	return 0;
}

static void
cmd_logs_tail(struct ctl *ctl, struct cmd_logs_file *lf, long lines,
    int follow)
{
	struct stat sb;

	if (cmd_logs_open(lf) == -1) {
		if (errno != ENOENT)
			ctl_warn("%s: %s", lf->path, strerror(errno));
		return;
	}
	if (fstat(lf->fd, &sb) == -1)
		return;
	if (cmd_logs_view.raw)
		;
	else if (lines > 0 && ctl->colour)
		printf("\033[90m%s last %ld lines:\033[0m\n", lf->path, lines);
	else if (lines > 0)
		printf("%s last %ld lines:\n", lf->path, lines);
	/*
	 * Up to the size seen now, not to the end: an app writing while we
	 * read would otherwise get more than --lines lines printed.
	 */
	lf->off = cmd_logs_tail_start(lf->fd, sb.st_size, lines);
	cmd_logs_drain(ctl, lf, sb.st_size);
	if (!follow && lf->partlen > 0) {
		cmd_logs_emit(ctl, lf, lf->part, lf->partlen);
		lf->partlen = 0;
	}
}

/*
 * Follow by polling: cheap for a handful of files, and it sees what
 * inotify makes awkward — a file replaced by rotation (new inode: finish
 * the old one, then read the new one from its start), truncated in place
 * by flush or logrotate's copytruncate (size below our offset: start
 * again at 0), or created after we started.
 */
static void
cmd_logs_follow(struct ctl *ctl, struct cmd_logs_file *files, size_t n)
{
	struct timespec ts = { 0, CMD_LOGS_POLL_MS * 1000000L };
	struct stat sb, fsb;
	size_t i;

	for (;;) {
		for (i = 0; i < n; i++) {
			struct cmd_logs_file *lf = &files[i];

			if (lf->fd == -1) {
				if (cmd_logs_open(lf) == -1)
					continue;
			}
			if (stat(lf->path, &sb) == 0 &&
			    (sb.st_ino != lf->ino || sb.st_dev != lf->dev)) {
				cmd_logs_drain(ctl, lf, -1);
				close(lf->fd);
				if (cmd_logs_open(lf) == -1)
					continue;
			}
			if (fstat(lf->fd, &fsb) == 0 && fsb.st_size < lf->off) {
				lf->off = 0;
				lf->partlen = 0;
			}
			cmd_logs_drain(ctl, lf, -1);
		}
		if (fflush(stdout) == EOF)
			return;		/* the reader went away */
		nanosleep(&ts, NULL);
	}
}

enum {
	OPT_LINES = 1,
	OPT_FOLLOW,
	OPT_ERR,
	OPT_OUT,
	OPT_NOSTREAM,
	OPT_RAW,
	OPT_TIMESTAMP,
};

static const struct option cmd_logs_options[] = {
	{ "lines", required_argument, NULL, OPT_LINES },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "err", no_argument, NULL, OPT_ERR },
	{ "out", no_argument, NULL, OPT_OUT },
	{ "nostream", no_argument, NULL, OPT_NOSTREAM },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "timestamp", optional_argument, NULL, OPT_TIMESTAMP },
	{ NULL, 0, NULL, 0 }
};

/* The options of `logs`; 0, or the usage exit status (said). */
static int
cmd_logs_parse(struct ctl *ctl, int argc, char **argv, long *lines,
    int *follow, const char **want)
{
	char *end;
	int ch, nostream = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f", cmd_logs_options,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_LINES:
			errno = 0;
			*lines = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    *lines < 0) {
				ctl_warn("--lines: not a number: %s", optarg);
				return ctl_usage(ctl);
			}
			break;
		case 'f':
		case OPT_FOLLOW:
			*follow = 1;
			break;
		case OPT_ERR:
			*want = "err";
			break;
		case OPT_OUT:
			*want = "out";
			break;
		case OPT_NOSTREAM:
			/* PM2 follows by default; we print and exit already. */
			nostream = 1;
			break;
		case OPT_RAW:
			cmd_logs_view.raw = 1;
			break;
		case OPT_TIMESTAMP:
			if (optarg != NULL) {
				ctl_warn("--timestamp takes no format here: each "
				    "line gets YYYY-MM-DDTHH:MM:SS; drop "
				    "\"=%s\"", optarg);
				return ctl_usage(ctl);
			}
			cmd_logs_view.timestamp = 1;
			break;
		default:
			ctl_warn("bad option: %s", argv[optind - 1]);
			return ctl_usage(ctl);
		}
	}
	if (argc - optind > 1)
		return ctl_usage(ctl);
	if (nostream)
		*follow = 0;
	return 0;
}

/* The daemon's file list, kept to `want` ("out", "err" or NULL: both). */
static struct cmd_logs_file *
cmd_logs_files(json_t *list, const char *want, size_t *n)
{
	struct cmd_logs_file *files;
	const char *type;
	json_t *f;
	size_t i;

	*n = 0;
	files = xcalloc(json_array_size(list) + 1, sizeof *files);
	json_array_foreach(list, i, f) {
		type = json_string_value(json_object_get(f, "type"));
		if (json_string_value(json_object_get(f, "path")) == NULL ||
		    (want != NULL && (type == NULL || strcmp(type, want) != 0)))
			continue;
		files[*n].path = xstrdup(json_string_value(json_object_get(f,
		    "path")));
		xasprintf(&files[*n].prefix, "%lld|%s | ",
		    json_integer_value(json_object_get(f, "id")),
		    json_string_value(json_object_get(f, "name")) ?: "?");
		files[*n].err = type != NULL && strcmp(type, "err") == 0;
		files[*n].fd = -1;
		(*n)++;
	}
	return files;
}

static int
cmd_logs_logs(struct ctl *ctl, int argc, char **argv)
{
	struct cmd_logs_file *files;
	const char *want = NULL;
	json_t *args, *data;
	long lines = 15;
	size_t i, n;
	int rc, follow = 0;

	if ((rc = cmd_logs_parse(ctl, argc, argv, &lines, &follow, &want)) != 0)
		return rc;
	args = json_object();
	if (optind < argc)
		json_object_set_new(args, "target", json_string(argv[optind]));
	if ((rc = client_call(ctl, "logs", args, &data)) != 0)
		return rc;
	/* The files are all we need: don't hold the daemon's socket. */
	client_close(ctl);
	if (ctl->json) {
		status_json_print(data);
		json_decref(data);
		return EXIT_OK;
	}
	files = cmd_logs_files(json_object_get(data, "files"), want, &n);
	json_decref(data);

	for (i = 0; i < n; i++)
		cmd_logs_tail(ctl, &files[i], lines, follow);
	if (follow)
		cmd_logs_follow(ctl, files, n);

	for (i = 0; i < n; i++) {
		if (files[i].fd != -1)
			close(files[i].fd);
		free(files[i].path);
		free(files[i].prefix);
		free(files[i].part);
	}
	free(files);
	return EXIT_OK;
}

static int
cmd_logs_flush(struct ctl *ctl, int argc, char **argv)
{
	json_t *args, *data, *p;
	size_t i;
	int rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return ctl_usage(ctl);
	args = json_object();
	if (argc == 2)
		json_object_set_new(args, "target", json_string(argv[1]));
	if ((rc = client_call(ctl, "flush", args, &data)) != 0)
		return rc;
	if (ctl->json)
		status_json_print(data);
	else {
		json_array_foreach(json_object_get(data, "truncated"), i, p)
			printf("[wsd] flushed %s\n", json_string_value(p) ?: "?");
		printf("[wsd] logs flushed ✓\n");
	}
	json_decref(data);
	return EXIT_OK;
}

static int
cmd_logs_reload(struct ctl *ctl, int argc, char **argv)
{
	json_t *data;
	int rc;

	(void)argv;
	if (argc != 1)
		return ctl_usage(ctl);
	if ((rc = client_call(ctl, "reloadLogs", NULL, &data)) != 0)
		return rc;
	if (ctl->json)
		status_json_print(data);
	else
		printf("[wsd] logs reopened ✓\n");
	json_decref(data);
	return EXIT_OK;
}

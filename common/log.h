/* JSON-lines logger shared by wsd and wsworker (one object per line). */
#ifndef WSD_LOG_H
#define WSD_LOG_H

#include <jansson.h>

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

/*
 * Every line carries ts (ISO 8601 UTC, ms), level, msg, and — when set
 * here — app, instance and pid.  wsd leaves app unset and passes app and
 * instance per event in `fields`.
 */
void	log_setup(const char *app, int instance);
void	log_set_fd(int fd);		/* default 1 (stdout) */
int	log_get_fd(void);
void	log_set_level(enum log_level);
int	log_level_parse(const char *, enum log_level *);	/* 0 ok, -1 bad */
int	log_enabled(enum log_level);

/*
 * Emit one line.  `fields` (may be NULL) is a JSON object whose members are
 * added to the line; the reference is stolen.  Never pass a secret value.
 */
void	log_json(enum log_level, json_t *fields, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_debug(...)	log_json(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)	log_json(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...)	log_json(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...)	log_json(LOG_ERROR, NULL, __VA_ARGS__)

/*
 * Also hand every line log_json writes (without its newline) to `tap`, or
 * to no one with NULL: wsd keeps its recent events for `wsctl monit`.
 */
void	log_set_tap(void (*tap)(const char *line, size_t len));

/*
 * Emit one line without allocating (ts, level, msg, pid): for when memory
 * has run out.  `msg` is written as it is, so it must need no JSON escaping.
 */
void	log_noalloc(enum log_level, const char *msg);

/* "2026-11-22T10:00:00.123Z" into buf (at least 32 bytes). */
void	log_timestamp(char *buf, size_t len);

#endif

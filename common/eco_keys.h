/* The keys of an app object as rows of one table, and the reader that walks it. */
#ifndef WSD_ECO_KEYS_H
#define WSD_ECO_KEYS_H

#include <stddef.h>

#include <jansson.h>

#include "diag.h"
#include "ecosystem.h"

/*
 * The keys of an app object are rows of one table (eco_keys.c), as nginx's
 * ngx_command_t: the loader, the defaults and the unknown-key warnings all
 * walk it.  How a row's value is read:
 */
enum eco_type {
	ECO_BOOL,	/* int: true or false */
	ECO_UINT,	/* int: a whole number 0..INT_MAX, "3" too */
	ECO_DURATION,	/* uint64_t ms: a number, or a string with a unit */
	ECO_SIZE,	/* uint64_t bytes: a number, or a string with a unit */
	ECO_STRING,	/* char * */
	ECO_PATH,	/* char *, not empty (made absolute by the loader) */
	ECO_VARNAME,	/* char *, an environment variable's name */
	ECO_ID,		/* char *, a user or group: a name or a number */
	ECO_WORDS,	/* char **: an array, or a string split as a shell would */
	ECO_CUSTOM,	/* the row's handler reads it */
	ECO_ALIAS,	/* another name for the row `alias` */
	ECO_IGNORED,	/* a PM2 key wsd does not implement: a warning */
};

/* Where a message points: the file and "apps[N]", and where it goes. */
struct eco_ctx {
	const char	*path;
	const char	*dir;		/* the file's folder */
	int		 index;
	struct diag	*errors;
	struct diag	*warnings;
};

struct eco_key {
	const char	*key;		/* "kill_timeout"; "env_<mode>" is a prefix */
	enum eco_type	 type;
	size_t		 offset;	/* of the field in struct app_config */
	/*
	 * The default as a user would write it ("1600", "10M", "true",
	 * "SIGINT"), read by the row's own reader; NULL: zero/none, or
	 * computed by the loader (name, interpreter, cwd).
	 */
	const char	*def;
	void		(*fn)(struct eco_ctx *, struct app_config *,
			    const char *key, json_t *v);	/* ECO_CUSTOM */
	const char	*alias;		/* ECO_ALIAS */
};

/* Row `i` of the table, NULL past its end: for tests and documentation. */
const struct eco_key *eco_keys_at(size_t i);
/*
 * One app object into `a`: the defaults, then each key (errors and the
 * unknown-key warnings name ctx's place), then what is computed from other
 * keys (name from script, interpreter, exec_mode, absolute paths).
 */
void	eco_keys_read(struct eco_ctx *, json_t *obj, struct app_config *a);

#endif

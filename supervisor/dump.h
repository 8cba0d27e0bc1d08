/*
 * dump.json: the saved app list that `wsd --resurrect` restores.  Written
 * atomically (write + fsync + rename, the previous file kept as
 * dump.json.bak); never holds secret values.
 *
 * Document: {"version":1,"saved_at":<ms>,"apps":[{"name":"…","config":{…the
 * app object as written, with cwd/env_file made absolute and secret values
 * left out…},"redacted":{"env":["NEXTAUTH_SECRET"]},"config_file":"…",
 * "env_mode":null|"production","instances":N,"stopped":false,
 * "ids":[0,1]}]}
 */
#ifndef WSD_DUMP_H
#define WSD_DUMP_H

#include <jansson.h>

#include "diag.h"

/* Write `doc` (borrowed) to HOME/dump.json; -1 with *err (malloc'd). */
int	dump_write(const char *home, json_t *doc, char **err);
/*
 * Read HOME/dump.json; when it is missing or corrupt, fall back to
 * dump.json.bak with a warning in `warnings`.  NULL with *err when neither
 * is usable (a missing dump is not an error: returns an empty document).
 */
json_t	*dump_read(const char *home, struct diag *warnings, char **err);

/*
 * Take the secret values out of an app object's env and env_<mode> (in
 * place); returns {"env":["KEY",…],…} naming them, or NULL when none.
 */
json_t	*dump_redact(json_t *config);
/*
 * Put them back from the app `name` of ecosystem `file` (NULL: none).  0,
 * or -1 with "app \"NAME\" not restored: …" in `errors`.
 */
int	dump_restore_secrets(json_t *config, json_t *redacted,
	    const char *name, const char *file, struct diag *errors);

/* Saving the app table, restoring it (these two need the running wsd). */
enum dump_save_rc {
	DUMP_SAVED,
	DUMP_EMPTY,	/* no app, and not forced: nothing written */
	DUMP_FAILED,	/* *err (malloc'd) */
};
enum dump_save_rc dump_save(const char *home, int force, size_t *napps,
	    char **err);
/* Start the apps of HOME/dump.json (their instances in *insts); 0, or -1
 * with messages in errors (the apps that could be started still are). */
int	dump_resurrect(struct diag *errors, json_t **insts);

#endif

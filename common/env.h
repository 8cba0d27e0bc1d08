/*
 * An ordered environment (KEY=value list), the dotenv parser that fills it,
 * and secret handling (VAR_FILE, the `secrets` list, masking).
 */
#ifndef WSD_ENV_H
#define WSD_ENV_H

#include <stddef.h>

#include "diag.h"

struct env_var {
	char		*key;
	char		*value;
	int		 secret;	/* came from a secret source: mask it */
};

struct env {
	struct env_var	*v;
	size_t		 n;
	size_t		 cap;
};

void	 env_init(struct env *);
void	 env_free(struct env *);
int	 env_copy(struct env *dst, const struct env *src);
/* Set (replace or append, keeping first position); 0 ok, -1 ENOMEM. */
int	 env_set(struct env *, const char *key, const char *value, int secret);
const char *env_get(const struct env *, const char *key);
const struct env_var *env_find(const struct env *, const char *key);
void	 env_unset(struct env *, const char *key);
/* Overlay every entry of src onto dst (src wins). */
int	 env_merge(struct env *dst, const struct env *src);
/* Load "K=V" strings (environ). */
int	 env_from_environ(struct env *, char *const *environ);
/* NULL-terminated "K=V" array; free with env_envp_free. */
char	**env_to_envp(const struct env *);
void	 env_envp_free(char **);

/*
 * Whether a variable's name says it holds a secret (…SECRET…, …PASSWORD…,
 * …PASSWD…, …TOKEN…, …API_KEY…, …PRIVATE_KEY…, …_KEY, …CREDENTIAL…,
 * case-insensitive): one table, used for masking and for the dump.
 */
int	 env_secret_name(const char *key);
/*
 * Whether a value given inline must stay out of dump.json: its name is a
 * secret's, or it is a URL with a password (redis://:pw@host).
 */
int	 env_secret_value(const char *key, const char *value);
/*
 * Whether a value must be shown as "****": it came from a secret source, or
 * its key names a secret (env_secret_name).  URLs with a password
 * (redis://:pw@host) are shown with the password masked: see env_display.
 */
int	 env_is_secret(const struct env_var *);
/* The value as it may be shown to a person (malloc'd). */
char	*env_display(const struct env_var *);

/*
 * dotenv: parse `text` exactly as the npm `dotenv` package (v16) does and
 * append/overwrite the keys into `out` (a later duplicate wins, as in
 * dotenv's parse()).  dotenv never fails on syntax: lines that are not
 * assignments are ignored.
 */
void	 envfile_parse(const char *text, size_t len, struct env *out);
/*
 * Read and parse a file; -1 with *err ("PATH: No such file …", "PATH: not
 * a regular file", "PATH: larger than the 1 MiB cap") on failure.
 */
#define ENVFILE_MAX_SIZE	(1024 * 1024)
int	 envfile_load(const char *path, struct env *out, char **err);

/*
 * Secrets, applied to a resolved environment:
 *  - each VAR_FILE=/path becomes VAR (file content, one trailing newline
 *    trimmed, marked secret) and VAR_FILE is removed; VAR and VAR_FILE both
 *    set is an error;
 *  - each name of `names` is read from `secrets_dir`/<name> (default
 *    $SECRETS_DIR, else /run/secrets) into the upper-cased name; an absent
 *    file keeps the env value (development fallback);
 *  - a secret file readable by group or others gets a warning;
 *  - a secret file must be a regular file of at most SECRETS_MAX_SIZE.
 * Errors go to `errors` (path and reason); returns -1 when any was added.
 */
#define SECRETS_MAX_SIZE	(1024 * 1024)
int	 secrets_apply(struct env *, char *const *names, size_t nnames,
	    const char *secrets_dir, struct diag *errors, struct diag *warnings);
/*
 * One secret from the process environment, for a program that reads its
 * own (wsworker run without wsd): NAME, else the content of the file
 * NAME_FILE names, read and trimmed as by secrets_apply.  An empty
 * variable counts as unset.  1 with *out (malloc'd), 0 when neither is set,
 * -1 with the reason in `errors` (NAME and NAME_FILE both set, a file that
 * cannot be read).
 */
int	 secrets_getenv(const char *name, char **out, struct diag *errors,
	    struct diag *warnings);

#endif

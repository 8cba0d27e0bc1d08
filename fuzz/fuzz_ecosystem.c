/*
 * Fuzzes the ecosystem loader: the text is parsed as eco_load() does and
 * loaded with every check, then each app's environment is resolved for no
 * mode and for each of its env_<mode>s.  The files a config may name are
 * kept inside a private folder (a fuzzer must not read /dev/zero or a
 * FIFO): env_file lists are dropped, every *_FILE value and SECRETS_DIR
 * point into the folder, and secret names holding a '/' are dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ecosystem.h"
#include "fuzz.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);

static char	 fuzz_eco_dir[] = "/tmp/wsd-fuzz-eco.XXXXXX";
static char	*fuzz_eco_secret;	/* a readable secret file */
static char	*fuzz_eco_secrets;	/* SECRETS_DIR, holding "db_password" */

static void
fuzz_eco_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		abort();
}

static void
fuzz_eco_cleanup(void)
{
	char *p;

	if (asprintf(&p, "%s/db_password", fuzz_eco_secrets) > 0) {
		unlink(p);
		free(p);
	}
	rmdir(fuzz_eco_secrets);
	unlink(fuzz_eco_secret);
	rmdir(fuzz_eco_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *p;

	(void)argc;
	(void)argv;
	if (mkdtemp(fuzz_eco_dir) == NULL ||
	    asprintf(&fuzz_eco_secret, "%s/secret", fuzz_eco_dir) < 0 ||
	    asprintf(&fuzz_eco_secrets, "%s/secrets", fuzz_eco_dir) < 0 ||
	    asprintf(&p, "%s/db_password", fuzz_eco_secrets) < 0)
		abort();
	fuzz_eco_write(fuzz_eco_secret, "s3cret\r\n");
	if (mkdir(fuzz_eco_secrets, 0700) != 0)
		abort();
	fuzz_eco_write(p, "pw\n");
	free(p);
	setenv("SECRETS_DIR", fuzz_eco_secrets, 1);
	atexit(fuzz_eco_cleanup);
	return 0;
}

static void
fuzz_eco_confine_env(struct env *env)
{
	size_t i, len;

	for (i = 0; i < env->n; i++) {
		len = strlen(env->v[i].key);
		if (len > 5 && strcmp(env->v[i].key + len - 5, "_FILE") == 0 &&
		    env->v[i].value[0] != '\0')
			env_set(env, env->v[i].key, fuzz_eco_secret, 0);
		else if (strcmp(env->v[i].key, "SECRETS_DIR") == 0)
			env_set(env, "SECRETS_DIR", fuzz_eco_secrets, 0);
	}
}

static void
fuzz_eco_confine(struct app_config *a)
{
	size_t i, kept = 0;

	for (i = 0; i < a->nenv_files; i++)
		free(a->env_files[i]);
	a->nenv_files = 0;
	fuzz_eco_confine_env(&a->env);
	for (i = 0; i < a->nmodes; i++)
		fuzz_eco_confine_env(&a->modes[i].env);
	for (i = 0; i < a->nsecrets; i++) {
		if (strchr(a->secrets[i], '/') != NULL)
			free(a->secrets[i]);
		else
			a->secrets[kept++] = a->secrets[i];
	}
	a->nsecrets = kept;
}

static void
fuzz_eco_resolve(const struct app_config *a, const char *mode,
    const struct env *base)
{
	struct diag	 errors, warnings;
	struct env	 out;

	diag_init(&errors);
	diag_init(&warnings);
	if (eco_resolve_env(a, mode, base, &out, &errors, &warnings) == 0)
		env_free(&out);
	else if (errors.n == 0)
		abort();	/* a failure always says why */
	diag_free(&errors);
	diag_free(&warnings);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ecosystem	 eco;
	struct app_config	 copy;
	struct diag		 errors, warnings;
	struct env		 base;
	json_error_t		 jerr;
	json_t			*doc;
	size_t			 i, m;
	int			 rc;

	/* eco_load() reads the file with the same flags. */
	doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	if (doc == NULL)
		return 0;
	diag_init(&errors);
	diag_init(&warnings);
	rc = eco_load_json(doc, "fuzz.json", fuzz_eco_dir, &eco, &errors,
	    &warnings);
	if ((rc < 0) != (errors.n > 0))
		abort();
	env_init(&base);
	env_set(&base, "PATH", "/usr/bin:/bin", 0);
	env_set(&base, "NIX_SSL_CERT_FILE", "/nonexistent", 0);
	for (i = 0; rc == 0 && i < eco.napps; i++) {
		fuzz_eco_confine(&eco.apps[i]);
		fuzz_eco_resolve(&eco.apps[i], NULL, &base);
		for (m = 0; m < eco.apps[i].nmodes; m++)
			fuzz_eco_resolve(&eco.apps[i], eco.apps[i].modes[m].mode,
			    &base);
		/* A reload keeps copies of apps. */
		if (eco_app_copy(&copy, &eco.apps[i]) == 0)
			eco_app_free(&copy);
	}
	env_free(&base);
	eco_free(&eco);
	json_decref(doc);
	diag_free(&errors);
	diag_free(&warnings);
	return 0;
}

/* envfile-dump FILE: prints the environment our dotenv parser reads from FILE as one JSON object. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "env.h"

int
main(int argc, char **argv)
{
	struct env env;
	json_t *obj;
	char *err, *s;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: envfile-dump FILE\n");
		return 64;
	}
	env_init(&env);
	if (envfile_load(argv[1], &env, &err) < 0) {
		fprintf(stderr, "envfile-dump: %s\n", err != NULL ? err : argv[1]);
		return 1;
	}
	obj = json_object();
	for (i = 0; i < env.n; i++)
		json_object_set_new(obj, env.v[i].key, json_string(env.v[i].value));
	/* Keys in file order: the golden test compares them as sets. */
	s = json_dumps(obj, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (s == NULL)
		return 1;
	printf("%s\n", s);
	free(s);
	json_decref(obj);
	env_free(&env);
	return 0;
}

/* Fuzzes the dotenv parser (an env_file is written by people): bytes in, env out. */
#include <stdlib.h>

#include "env.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env	 env;
	size_t		 i;
	char		*shown;

	env_init(&env);
	envfile_parse((const char *)data, size, &env);
	/* Masking reads every value (URLs with a password): parse them too. */
	for (i = 0; i < env.n; i++) {
		if (env.v[i].key == NULL || env.v[i].value == NULL)
			abort();
		shown = env_display(&env.v[i]);
		free(shown);
	}
	env_free(&env);
	return 0;
}

/*
 * Fuzzes what a WebSocket client sends to be let in: the ?token= query,
 * the Authorization header and the NextAuth cookie are pulled out of the
 * input, and the input itself and what came out are verified as a JWS and
 * as a session JWE with the test secrets (tests/fixtures/auth), at an
 * instant the seed tokens are valid.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "fuzz.h"
#include "../tests/fixtures/auth/vectors.h"

#define FUZZ_AUTH_NOW	(1700000000 + 10)

static const struct auth_keys fuzz_auth_keys = {
	(const unsigned char *)V_SECRET, sizeof V_SECRET - 1,
	(const unsigned char *)V_PREVIOUS, sizeof V_PREVIOUS - 1,
};

typedef enum auth_status (*fuzz_auth_verify_fn)(const struct auth_keys *,
	    const char *, int64_t, struct auth_result *);

/* A result is a user (NUL-terminated, not empty) exactly when it is AUTH_OK. */
static void
fuzz_auth_verify(fuzz_auth_verify_fn verify, const char *token)
{
	struct auth_result	 res;
	enum auth_status	 st;
	size_t			 len;

	st = verify(&fuzz_auth_keys, token, FUZZ_AUTH_NOW, &res);
	len = strnlen(res.user, sizeof res.user);
	if (len == sizeof res.user || auth_strerror(st) == NULL)
		abort();
	if ((st == AUTH_OK) != (len > 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *tok;

	s = fuzz_cstr(data, size);
	fuzz_auth_verify(auth_verify_jwt, s);
	fuzz_auth_verify(auth_verify_session, s);
	if ((tok = auth_token_from_query(s)) != NULL) {
		fuzz_auth_verify(auth_verify_jwt, tok);
		free(tok);
	}
	if ((tok = auth_token_from_bearer(s)) != NULL) {
		fuzz_auth_verify(auth_verify_jwt, tok);
		free(tok);
	}
	if ((tok = auth_session_from_cookie(s)) != NULL) {
		fuzz_auth_verify(auth_verify_session, tok);
		free(tok);
	}
	free(s);
	return 0;
}

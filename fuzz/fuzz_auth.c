/*
 * Fuzzes what a WebSocket client sends to be let in: the ?token= query,
 * the Authorization header and the NextAuth cookie are pulled out of the
 * input, and the input itself and what came out are verified as a JWS and
 * as a session JWE with the test secrets (tests/fixtures/auth), at an
 * instant the seed tokens are valid.  A forged signature stops a JWS
 * before its claims or libjwt are read, so an input "HEADER\nCLAIMS" is
 * also made into a JWS of those two texts signed with the secret (HS384 or
 * HS512 when the header names one, else HS256).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "auth.h"
#include "fuzz.h"
#include "jwtmint.h"
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

static void
fuzz_auth_signed(const uint8_t *data, size_t size)
{
	const uint8_t	*nl;
	const EVP_MD	*md = EVP_sha256();
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen;
	size_t		 hlen;
	char		*tok, *p;

	if ((nl = memchr(data, '\n', size)) == NULL)
		return;
	hlen = (size_t)(nl - data);
	if (memmem(data, hlen, "HS384", 5) != NULL)
		md = EVP_sha384();
	else if (memmem(data, hlen, "HS512", 5) != NULL)
		md = EVP_sha512();
	if ((tok = malloc(size / 3 * 4 + 2 * EVP_MAX_MD_SIZE + 16)) == NULL)
		abort();
	p = tok + jwtmint_b64url(tok, data, hlen);
	*p++ = '.';
	p += jwtmint_b64url(p, nl + 1, size - hlen - 1);
	if (HMAC(md, V_SECRET, sizeof V_SECRET - 1, (unsigned char *)tok,
	    (size_t)(p - tok), mac, &maclen) == NULL)
		abort();
	*p++ = '.';
	p[jwtmint_b64url(p, mac, maclen)] = '\0';
	fuzz_auth_verify(auth_verify_jwt, tok);
	free(tok);
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
	fuzz_auth_signed(data, size);
	return 0;
}

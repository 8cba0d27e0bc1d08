/* Minting HS256 test tokens (wsctl token, tests, the benchmark). */
#ifndef WSD_JWTMINT_H
#define WSD_JWTMINT_H

#include <stddef.h>
#include <stdint.h>

/*
 * A compact HS256 JWS with claims {"userId":user,"sub":user,"iat":iat,
 * "exp":exp}; malloc'd, NULL on failure.
 */
char	*jwt_mint_hs256(const unsigned char *secret, size_t secret_len,
	    const char *user, int64_t iat, int64_t exp);

/*
 * Writes base64url without padding of `len` bytes at out (room for
 * (len + 2) / 3 * 4 bytes, no NUL added); returns the length written.
 */
size_t	 jwtmint_b64url(char *out, const unsigned char *in, size_t len);

#endif

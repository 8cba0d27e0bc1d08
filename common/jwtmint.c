/* Minting HS256 test tokens with our own HMAC-SHA256 (sha256.c). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jwtmint.h"
#include "sha256.h"

static const char jwtmint_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

size_t
jwtmint_b64url(char *out, const unsigned char *in, size_t len)
{
	static const char	 alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t		 acc = 0;
	size_t			 i, n = 0;
	int			 bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = alphabet[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		out[n++] = alphabet[(acc << (6 - bits)) & 0x3f];
	return n;
}

char *
jwt_mint_hs256(const unsigned char *secret, size_t secret_len,
    const char *user, int64_t iat, int64_t exp)
{
	json_t		*claims;
	char		*body, *tok = NULL;
	unsigned char	 mac[SHA256_LEN];
	size_t		 blen, n;

	/* An empty key would mint tokens anyone can forge. */
	if (secret == NULL || secret_len == 0 || secret_len > INT_MAX ||
	    user == NULL || *user == '\0')
		return NULL;
	claims = json_pack("{s:s, s:s, s:I, s:I}", "userId", user, "sub", user,
	    "iat", (json_int_t)iat, "exp", (json_int_t)exp);
	if (claims == NULL)
		return NULL;
	body = json_dumps(claims, JSON_COMPACT);
	json_decref(claims);
	if (body == NULL)
		return NULL;
	blen = strlen(body);

	if ((tok = malloc((sizeof jwtmint_header + blen + SHA256_LEN) /
	    3 * 4 + 16)) == NULL)
		goto out;
	n = jwtmint_b64url(tok, (const unsigned char *)jwtmint_header,
	    sizeof jwtmint_header - 1);
	tok[n++] = '.';
	n += jwtmint_b64url(tok + n, (const unsigned char *)body, blen);
	sha256_hmac(secret, secret_len, tok, n, mac);
	tok[n++] = '.';
	n += jwtmint_b64url(tok + n, mac, sizeof mac);
	tok[n] = '\0';
out:
	free(body);
	return tok;
}

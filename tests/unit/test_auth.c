/* auth: JWS and NextAuth session verification, credential extraction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "../fixtures/auth/vectors.h"	/* node crypto vectors */

#define NOW	(1700000000 + 10)	/* V_IAT + 10, V_EXP - 3590 */
#define EXP	1700003600

static const char	 other[] = "some other secret entirely, 32+ bytes";

static struct auth_keys
keys_of(const char *secret, const char *previous)
{
	struct auth_keys k;

	memset(&k, 0, sizeof k);
	k.secret = (const unsigned char *)secret;
	k.secret_len = secret != NULL ? strlen(secret) : 0;
	k.previous = (const unsigned char *)previous;
	k.previous_len = previous != NULL ? strlen(previous) : 0;
	return k;
}

static char *
b64u(const void *in, size_t len)
{
	char	*out, *p;
	int	 n;

	out = malloc(len / 3 * 4 + 8);
	assert_non_null(out);
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	for (p = out; p < out + n; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	return out;
}

static char *
b64s(const char *s)
{
	return b64u(s, strlen(s));
}

/*
 * A compact JWS of any header and claims, signed with HMAC md (NULL: an
 * empty signature) and key.
 */
static char *
mint_key(const char *md, const char *header, const char *claims,
    const void *key, size_t keylen)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	char		*h, *c, *s, *tok;
	size_t		 n;

	h = b64u(header, strlen(header));
	c = b64u(claims, strlen(claims));
	n = strlen(h) + strlen(c) + 2 * EVP_MAX_MD_SIZE + 4;
	tok = malloc(n);
	assert_non_null(tok);
	snprintf(tok, n, "%s.%s", h, c);
	if (md != NULL)
		assert_non_null(HMAC(EVP_get_digestbyname(md), key, (int)keylen,
		    (unsigned char *)tok, strlen(tok), mac, &maclen));
	s = b64u(mac, maclen);
	strcat(tok, ".");
	strcat(tok, s);
	free(h);
	free(c);
	free(s);
	return tok;
}

/* Two given base64url segments, HS256-signed with V_SECRET. */
static char *
sign_segments(const char *h, const char *c)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen;
	char		*in, *s, *tok;

	assert_true(asprintf(&in, "%s.%s", h, c) > 0);
	assert_non_null(HMAC(EVP_sha256(), V_SECRET, strlen(V_SECRET),
	    (unsigned char *)in, strlen(in), mac, &maclen));
	s = b64u(mac, maclen);
	assert_true(asprintf(&tok, "%s.%s", in, s) > 0);
	free(in);
	free(s);
	return tok;
}

static char *
mint(const char *md, const char *header, const char *claims,
    const char *secret)
{
	return mint_key(md, header, claims, secret, strlen(secret));
}

/* Verifies a token minted with V_SECRET against V_SECRET alone. */
static enum auth_status
verify(const char *tok, struct auth_result *res)
{
	struct auth_keys k = keys_of(V_SECRET, NULL);

	return auth_verify_jwt(&k, tok, NOW, res);
}

static enum auth_status
verify_claims(const char *claims, struct auth_result *res)
{
	enum auth_status	 st;
	char			*tok;

	tok = mint("SHA256", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims,
	    V_SECRET);
	st = verify(tok, res);
	free(tok);
	return st;
}

static void
test_node_vectors(void **state)
{
	struct auth_result res;

	(void)state;
	assert_int_equal(verify(V_JWS_HS256, &res), AUTH_OK);
	assert_string_equal(res.user, "u-256");
	assert_int_equal(res.exp, EXP);
	assert_int_equal(verify(V_JWS_HS384, &res), AUTH_OK);
	assert_string_equal(res.user, "u-384");
	assert_int_equal(verify(V_JWS_HS512, &res), AUTH_OK);	/* no typ */
	assert_string_equal(res.user, "512");		/* integer sub */
}

static void
test_minted_algs(void **state)
{
	static const char	*algs[][2] = {
		{ "HS256", "SHA256" }, { "HS384", "SHA384" },
		{ "HS512", "SHA512" },
	};
	struct auth_result	 res;
	char			 hdr[64], *tok;
	size_t			 i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\"}", algs[i][0]);
		tok = mint(algs[i][1], hdr,
		    "{\"sub\":\"7\",\"exp\":1700003600}", V_SECRET);
		assert_int_equal(verify(tok, &res), AUTH_OK);
		assert_string_equal(res.user, "7");
		free(tok);
		/* The digest must match the header's alg. */
		tok = mint(algs[(i + 1) % 3][1], hdr,
		    "{\"sub\":\"7\",\"exp\":1700003600}", V_SECRET);
		assert_int_equal(verify(tok, &res), AUTH_BAD_SIGNATURE);
		assert_string_equal(res.user, "");
		free(tok);
	}
}

static void
test_wrong_secret(void **state)
{
	struct auth_keys	 k = keys_of(other, NULL);
	struct auth_result	 res;
	unsigned char		 raw[64];
	char			*tok;
	int			 n;

	(void)state;
	assert_int_equal(auth_verify_jwt(&k, V_JWS_HS256, NOW, &res),
	    AUTH_BAD_SIGNATURE);
	assert_string_equal(res.user, "");

	/* The secret is raw bytes: signing with its base64 decoding fails. */
	n = EVP_DecodeBlock(raw, (const unsigned char *)V_SECRET,
	    strlen(V_SECRET));
	assert_true(n > 0);
	tok = mint_key("SHA256", "{\"alg\":\"HS256\"}",
	    "{\"sub\":\"1\",\"exp\":1700003600}", raw, n - 1);
	assert_int_equal(verify(tok, &res), AUTH_BAD_SIGNATURE);
	free(tok);

	/* A secret that is a prefix of the real one. */
	tok = mint_key("SHA256", "{\"alg\":\"HS256\"}",
	    "{\"sub\":\"1\",\"exp\":1700003600}", V_SECRET, 10);
	assert_int_equal(verify(tok, &res), AUTH_BAD_SIGNATURE);
	free(tok);
}

static void
test_tampered(void **state)
{
	struct auth_result	 res;
	char			*tok, *forged, *c, *dot;

	(void)state;
	/* New claims under the old signature. */
	tok = strdup(V_JWS_HS256);
	dot = strrchr(tok, '.');
	c = b64s("{\"userId\":\"admin\",\"exp\":1700003600}");
	assert_true(asprintf(&forged, "%.*s.%s%s",
	    (int)(strchr(tok, '.') - tok), tok, c, dot) > 0);
	assert_int_equal(verify(forged, &res), AUTH_BAD_SIGNATURE);
	free(forged);
	free(c);

	/* One signature bit flipped. */
	dot[1] = dot[1] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(tok, &res), AUTH_BAD_SIGNATURE);
	free(tok);

	/* Signature truncated, and empty. */
	tok = strdup(V_JWS_HS256);
	tok[strlen(tok) - 4] = '\0';
	assert_int_equal(verify(tok, &res), AUTH_BAD_SIGNATURE);
	strrchr(tok, '.')[1] = '\0';
	assert_int_equal(verify(tok, &res), AUTH_BAD_SIGNATURE);
	free(tok);
}

static void
test_alg_none(void **state)
{
	static const char	*hdrs[] = {
		"{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"none\"}",
		"{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}", "{\"typ\":\"JWT\"}",
		"{\"alg\":\"\"}", "{\"alg\":null}", "{\"alg\":256}",
		"{\"alg\":\"hs256\"}", "{\"alg\":\"HS256 \"}",
	};
	static const char	 claims[] =
	    "{\"sub\":\"1\",\"exp\":1700003600}";
	struct auth_result	 res;
	char			*tok;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		tok = mint(NULL, hdrs[i], claims, V_SECRET);	/* "h.c." */
		assert_int_equal(verify(tok, &res), AUTH_BAD_ALG);
		free(tok);
		tok = mint("SHA256", hdrs[i], claims, V_SECRET);
		assert_int_equal(verify(tok, &res), AUTH_BAD_ALG);
		free(tok);
	}
	/* Without the trailing dot it is not even a JWS. */
	tok = mint(NULL, hdrs[0], claims, V_SECRET);
	tok[strlen(tok) - 1] = '\0';
	assert_int_equal(verify(tok, &res), AUTH_MALFORMED);
	free(tok);
}

static void
test_asymmetric_algs(void **state)
{
	static const char	*algs[] = {
		"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
		"EdDSA", "HS1",
	};
	struct auth_result	 res;
	char			 hdr[64], *tok;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof algs / sizeof algs[0]; i++) {
		snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
		    algs[i]);
		/* An HMAC made with the secret (the key-confusion attack). */
		tok = mint("SHA256", hdr, "{\"sub\":\"1\",\"exp\":1700003600}",
		    V_SECRET);
		assert_int_equal(verify(tok, &res), AUTH_BAD_ALG);
		free(tok);
	}
}

static void
test_header_rules(void **state)
{
	static const struct {
		const char		*hdr;
		enum auth_status	 st;
	} cases[] = {
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", AUTH_OK },
		{ "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", AUTH_OK },
		{ "{\"alg\":\"HS256\",\"kid\":\"k1\"}", AUTH_OK },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWE\"}", AUTH_MALFORMED },
		{ "{\"alg\":\"HS256\",\"typ\":1}", AUTH_MALFORMED },
		{ "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
		    AUTH_MALFORMED },
		/* Duplicate keys: parsers disagree on which one wins. */
		{ "{\"alg\":\"none\",\"alg\":\"HS256\"}", AUTH_MALFORMED },
		{ "[\"HS256\"]", AUTH_MALFORMED },
		{ "\"HS256\"", AUTH_MALFORMED },
		{ "{\"alg\":\"HS256\"", AUTH_MALFORMED },
	};
	struct auth_result	 res;
	char			*tok;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tok = mint("SHA256", cases[i].hdr,
		    "{\"sub\":\"1\",\"exp\":1700003600}", V_SECRET);
		if (verify(tok, &res) != cases[i].st)
			fail_msg("header %s", cases[i].hdr);
		free(tok);
	}
}

static void
test_exp(void **state)
{
	static const struct {
		const char		*claims;
		enum auth_status	 st;
	} cases[] = {
		{ "{\"sub\":\"1\"}", AUTH_NO_EXP },
		{ "{\"sub\":\"1\",\"exp\":null}", AUTH_NO_EXP },
		{ "{\"sub\":\"1\",\"exp\":1700003600.0}", AUTH_NO_EXP },
		{ "{\"sub\":\"1\",\"exp\":1.7000036e9}", AUTH_NO_EXP },
		{ "{\"sub\":\"1\",\"exp\":\"1700003600\"}", AUTH_NO_EXP },
		{ "{\"sub\":\"1\",\"exp\":true}", AUTH_NO_EXP },
		{ "{\"sub\":\"1\",\"exp\":[1700003600]}", AUTH_NO_EXP },
		/* NOW - 31, - 30: past the leeway; - 29: within it. */
		{ "{\"sub\":\"1\",\"exp\":1699999979}", AUTH_EXPIRED },
		{ "{\"sub\":\"1\",\"exp\":1699999980}", AUTH_EXPIRED },
		{ "{\"sub\":\"1\",\"exp\":1699999981}", AUTH_OK },
		{ "{\"sub\":\"1\",\"exp\":0}", AUTH_EXPIRED },
		{ "{\"sub\":\"1\",\"exp\":-9223372036854775808}",
		    AUTH_EXPIRED },
		{ "{\"sub\":\"1\",\"exp\":9223372036854775807}", AUTH_OK },
		/* Beyond int64: jansson refuses the number. */
		{ "{\"sub\":\"1\",\"exp\":99999999999999999999}",
		    AUTH_MALFORMED },
	};
	struct auth_result	 res;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (verify_claims(cases[i].claims, &res) != cases[i].st)
			fail_msg("claims %s", cases[i].claims);
	}
	assert_int_equal(verify_claims("{\"sub\":\"1\",\"exp\":1699999981}",
	    &res), AUTH_OK);
	assert_int_equal(res.exp, 1699999981);

	/* The node vector's own exp, with the clock moved. */
	{
		struct auth_keys k = keys_of(V_SECRET, NULL);

		assert_int_equal(auth_verify_jwt(&k, V_JWS_HS256, EXP + 29,
		    &res), AUTH_OK);
		assert_int_equal(auth_verify_jwt(&k, V_JWS_HS256, EXP + 30,
		    &res), AUTH_EXPIRED);
		assert_string_equal(res.user, "");
	}
}

static void
test_nbf(void **state)
{
	static const struct {
		const char		*claims;
		enum auth_status	 st;
	} cases[] = {
		/* NOW + 31: beyond the leeway; + 30 within it. */
		{ "{\"sub\":\"1\",\"exp\":1700003600,\"nbf\":1700000041}",
		    AUTH_NOT_YET_VALID },
		{ "{\"sub\":\"1\",\"exp\":1700003600,\"nbf\":1700000040}",
		    AUTH_OK },
		{ "{\"sub\":\"1\",\"exp\":1700003600,\"nbf\":1700000000}",
		    AUTH_OK },
		{ "{\"sub\":\"1\",\"exp\":1700003600,\"nbf\":\"1700000000\"}",
		    AUTH_MALFORMED },
		{ "{\"sub\":\"1\",\"exp\":1700003600,\"nbf\":1700000000.5}",
		    AUTH_MALFORMED },
		{ "{\"sub\":\"1\",\"exp\":1700003600,"
		    "\"nbf\":9223372036854775807}", AUTH_NOT_YET_VALID },
	};
	struct auth_result	 res;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (verify_claims(cases[i].claims, &res) != cases[i].st)
			fail_msg("claims %s", cases[i].claims);
	}
}

static void
test_user(void **state)
{
	static const struct {
		const char		*claims;
		enum auth_status	 st;
		const char		*user;
	} cases[] = {
		{ "{\"userId\":\"u\",\"sub\":\"s\",\"exp\":1700003600}",
		    AUTH_OK, "u" },
		{ "{\"sub\":\"s\",\"exp\":1700003600}", AUTH_OK, "s" },
		{ "{\"sub\":42,\"exp\":1700003600}", AUTH_OK, "42" },
		{ "{\"sub\":-7,\"exp\":1700003600}", AUTH_OK, "-7" },
		{ "{\"userId\":12345678901234,\"exp\":1700003600}", AUTH_OK,
		    "12345678901234" },
		{ "{\"userId\":\"\",\"sub\":\"s\",\"exp\":1700003600}",
		    AUTH_OK, "s" },
		{ "{\"userId\":null,\"sub\":\"s\",\"exp\":1700003600}",
		    AUTH_OK, "s" },
		{ "{\"exp\":1700003600}", AUTH_NO_USER, "" },
		{ "{\"sub\":\"\",\"exp\":1700003600}", AUTH_NO_USER, "" },
		{ "{\"sub\":4.2,\"exp\":1700003600}", AUTH_NO_USER, "" },
		{ "{\"sub\":{\"id\":1},\"exp\":1700003600}", AUTH_NO_USER, "" },
		{ "{\"userId\":true,\"exp\":1700003600}", AUTH_NO_USER, "" },
		/* JSON escapes are decoded; NUL is refused by the parser. */
		{ "{\"sub\":\"a\\u00e9\\\"b\",\"exp\":1700003600}", AUTH_OK,
		    "a\xc3\xa9\"b" },
		{ "{\"sub\":\"a\\u0000b\",\"exp\":1700003600}", AUTH_MALFORMED,
		    "" },
	};
	struct auth_result	 res;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (verify_claims(cases[i].claims, &res) != cases[i].st)
			fail_msg("claims %s", cases[i].claims);
		assert_string_equal(res.user, cases[i].user);
	}
}

static void
test_user_length(void **state)
{
	struct auth_result	 res;
	char			 id[AUTH_USER_MAX + 1], claims[512];

	(void)state;
	memset(id, 'x', sizeof id);
	id[AUTH_USER_MAX - 1] = '\0';		/* the longest that fits */
	snprintf(claims, sizeof claims, "{\"sub\":\"%s\",\"exp\":%d}", id,
	    EXP);
	assert_int_equal(verify_claims(claims, &res), AUTH_OK);
	assert_int_equal(strlen(res.user), AUTH_USER_MAX - 1);

	id[AUTH_USER_MAX - 1] = 'x';
	id[AUTH_USER_MAX] = '\0';
	snprintf(claims, sizeof claims, "{\"sub\":\"%s\",\"exp\":%d}", id,
	    EXP);
	assert_int_equal(verify_claims(claims, &res), AUTH_NO_USER);
	assert_string_equal(res.user, "");

	/* A userId that does not fit is refused, not replaced by sub. */
	snprintf(claims, sizeof claims,
	    "{\"userId\":\"%s\",\"sub\":\"s\",\"exp\":%d}", id, EXP);
	assert_int_equal(verify_claims(claims, &res), AUTH_NO_USER);
}

static void
test_previous_secret(void **state)
{
	struct auth_keys	 both = keys_of(V_SECRET, V_PREVIOUS);
	struct auth_keys	 cur = keys_of(V_SECRET, NULL);
	struct auth_keys	 blank = keys_of(V_SECRET, "");
	struct auth_result	 res;

	(void)state;
	assert_int_equal(auth_verify_jwt(&both, V_JWS_PREVIOUS, NOW, &res),
	    AUTH_OK);
	assert_string_equal(res.user, "rotated");
	assert_int_equal(auth_verify_jwt(&both, V_JWS_HS256, NOW, &res),
	    AUTH_OK);
	assert_int_equal(auth_verify_jwt(&cur, V_JWS_PREVIOUS, NOW, &res),
	    AUTH_BAD_SIGNATURE);
	assert_int_equal(auth_verify_jwt(&blank, V_JWS_PREVIOUS, NOW, &res),
	    AUTH_BAD_SIGNATURE);
}

/* The keys in force, swapped at run time (a hot settings push). */
static void
test_keys_swap(void **state)
{
	struct auth_result	 res;
	const char		*err = NULL;

	(void)state;
	assert_int_equal(auth_keys_set(V_PREVIOUS, "", &err), 0);
	assert_null(auth_keys_current()->previous);
	assert_int_equal(auth_verify_jwt(auth_keys_current(), V_JWS_PREVIOUS,
	    NOW, &res), AUTH_OK);
	assert_int_equal(auth_verify_jwt(auth_keys_current(), V_JWS_HS256,
	    NOW, &res), AUTH_BAD_SIGNATURE);
	/* Rotated: the new secret, the old one as previous. */
	assert_int_equal(auth_keys_set(V_SECRET, V_PREVIOUS, &err), 0);
	assert_int_equal(auth_verify_jwt(auth_keys_current(), V_JWS_HS256,
	    NOW, &res), AUTH_OK);
	assert_int_equal(auth_verify_jwt(auth_keys_current(), V_JWS_PREVIOUS,
	    NOW, &res), AUTH_OK);
	/* An empty or missing secret is refused; the keys stay. */
	assert_int_equal(auth_keys_set("", NULL, &err), -1);
	assert_non_null(err);
	assert_int_equal(auth_keys_set(NULL, NULL, &err), -1);
	assert_int_equal(auth_verify_jwt(auth_keys_current(), V_JWS_PREVIOUS,
	    NOW, &res), AUTH_OK);
	/* The previous one removed: its tokens are refused. */
	assert_int_equal(auth_keys_set(V_SECRET, NULL, &err), 0);
	assert_int_equal(auth_verify_jwt(auth_keys_current(), V_JWS_PREVIOUS,
	    NOW, &res), AUTH_BAD_SIGNATURE);
	assert_int_equal(auth_verify_jwt(auth_keys_current(), V_JWS_HS256,
	    NOW, &res), AUTH_OK);
}

static void
test_empty_secret(void **state)
{
	struct auth_keys	 empty = keys_of("", NULL);
	struct auth_keys	 none = keys_of(NULL, NULL);
	struct auth_keys	 blankprev = keys_of(V_SECRET, "");
	struct auth_result	 res;
	char			*tok;

	(void)state;
	/* Signed with the empty key: what libjwt alone would take. */
	tok = mint("SHA256", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    "{\"sub\":\"1\",\"exp\":1700003600}", "");
	assert_int_equal(auth_verify_jwt(&empty, tok, NOW, &res),
	    AUTH_BAD_SIGNATURE);
	assert_int_equal(auth_verify_jwt(&none, tok, NOW, &res),
	    AUTH_BAD_SIGNATURE);
	assert_int_equal(auth_verify_jwt(NULL, tok, NOW, &res),
	    AUTH_BAD_SIGNATURE);
	assert_int_equal(auth_verify_jwt(&blankprev, tok, NOW, &res),
	    AUTH_BAD_SIGNATURE);
	free(tok);
	/* Even a correctly signed token is refused without a key. */
	assert_int_equal(auth_verify_jwt(&none, V_JWS_HS256, NOW, &res),
	    AUTH_BAD_SIGNATURE);
}

static void
test_shape(void **state)
{
	static const char	*bad[] = {
		"abc",
		"abc.def",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",
		"..",
		"...",
		"." V_JWS_HS256,
		V_JWS_HS256 ".",
		V_JWS_HS256 ".AAAA",
		V_JWS_HS256 "..",
		" " V_JWS_HS256,
		V_JWS_HS256 " ",
	};
	struct auth_result	 res;
	size_t			 i;

	(void)state;
	assert_int_equal(verify(NULL, &res), AUTH_MISSING);
	assert_int_equal(verify("", &res), AUTH_MISSING);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (verify(bad[i], &res) == AUTH_OK)
			fail_msg("accepted %s", bad[i]);
	}
	/* Exactly 2 and 4 parts. */
	assert_int_equal(verify("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", &res),
	    AUTH_MALFORMED);
	assert_int_equal(verify(V_JWS_HS256 ".AAAA", &res), AUTH_MALFORMED);
	assert_int_equal(verify(V_JWS_HS256 ".", &res), AUTH_MALFORMED);
	/* A session JWE is not a JWS. */
	assert_int_equal(verify(V_JWE_SESSION, &res), AUTH_MALFORMED);
}

/* Replaces the n'th character of a copy of tok. */
static char *
poke(const char *tok, size_t n, char c)
{
	char	*t = strdup(tok);

	assert_non_null(t);
	assert_true(n < strlen(t));
	t[n] = c;
	return t;
}

static const char b64alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
test_base64(void **state)
{
	struct auth_result	 res;
	const char		*sig;
	char			*t, *hdr;
	size_t			 last;
	int			 v;

	(void)state;
	/* Characters outside base64url in each part. */
	t = poke(V_JWS_HS256, 3, '+');
	assert_int_equal(verify(t, &res), AUTH_MALFORMED);
	free(t);
	t = poke(V_JWS_HS256, 3, '/');
	assert_int_equal(verify(t, &res), AUTH_MALFORMED);
	free(t);
	t = poke(V_JWS_HS256, strchr(V_JWS_HS256, '.') - V_JWS_HS256 + 5, '*');
	assert_int_equal(verify(t, &res), AUTH_MALFORMED);
	free(t);
	t = poke(V_JWS_HS256, strlen(V_JWS_HS256) - 5, '=');
	assert_int_equal(verify(t, &res), AUTH_BAD_SIGNATURE);
	free(t);

	/* Padding is not base64url. */
	assert_true(asprintf(&t, "%s=", V_JWS_HS256) > 0);
	assert_int_equal(verify(t, &res), AUTH_BAD_SIGNATURE);
	free(t);
	hdr = b64s("{\"alg\":\"HS256\"}");	/* 20 chars, no padding */
	assert_true(asprintf(&t, "%s==%s", hdr, strchr(V_JWS_HS512, '.')) > 0);
	assert_int_equal(verify(t, &res), AUTH_MALFORMED);
	free(t);
	free(hdr);

	/* A length no base64 has (4n + 1). */
	assert_true(asprintf(&t, "eyJhbGciOiJIUzUxMiJ9A%s",
	    strchr(V_JWS_HS512, '.')) > 0);
	assert_int_equal(verify(t, &res), AUTH_MALFORMED);
	free(t);

	/*
	 * The same signature bytes spelled with a non-zero unused bit: a
	 * lenient decoder reads the same 32 bytes, this one refuses.
	 */
	sig = strrchr(V_JWS_HS256, '.') + 1;
	assert_int_equal(strlen(sig), 43);	/* 32 bytes: 2 spare bits */
	last = strlen(V_JWS_HS256) - 1;
	v = strchr(b64alphabet, V_JWS_HS256[last]) - b64alphabet;
	assert_int_equal(v & 3, 0);
	t = poke(V_JWS_HS256, last, b64alphabet[v | 1]);
	assert_int_equal(verify(t, &res), AUTH_BAD_SIGNATURE);
	free(t);
	assert_int_equal(verify(V_JWS_HS256, &res), AUTH_OK);

	/*
	 * The same in a signed header and payload (HMAC over the odd
	 * spelling, which libjwt's decoder would take).
	 */
	hdr = b64s("{\"alg\":\"HS256\" }");	/* 16 bytes: 4 spare bits */
	assert_int_equal(strlen(hdr), 22);
	t = sign_segments(hdr, "eyJzdWIiOiIxIiwiZXhwIjoxNzAwMDAzNjAwfQ");
	assert_int_equal(verify(t, &res), AUTH_OK);
	free(t);
	v = strchr(b64alphabet, hdr[21]) - b64alphabet;
	assert_int_equal(v & 15, 0);
	hdr[21] = b64alphabet[v | 8];
	t = sign_segments(hdr, "eyJzdWIiOiIxIiwiZXhwIjoxNzAwMDAzNjAwfQ");
	assert_int_equal(verify(t, &res), AUTH_MALFORMED);
	free(t);
	free(hdr);
	/* {"sub":"1","exp":1700003600}, 28 bytes: 4 spare bits. */
	t = sign_segments("eyJhbGciOiJIUzI1NiJ9",
	    "eyJzdWIiOiIxIiwiZXhwIjoxNzAwMDAzNjAwfR");
	assert_int_equal(verify(t, &res), AUTH_MALFORMED);
	free(t);
}

static void
test_json_shape(void **state)
{
	struct auth_result res;

	(void)state;
	assert_int_equal(verify_claims("[1,2]", &res), AUTH_MALFORMED);
	assert_int_equal(verify_claims("\"sub\"", &res), AUTH_MALFORMED);
	assert_int_equal(verify_claims("42", &res), AUTH_MALFORMED);
	assert_int_equal(verify_claims("{\"sub\":\"1\",\"exp\":1700003600",
	    &res), AUTH_MALFORMED);
	/* Duplicate exp: which one a parser keeps must not matter. */
	assert_int_equal(verify_claims("{\"sub\":\"1\",\"exp\":1,"
	    "\"exp\":1700003600}", &res), AUTH_MALFORMED);
	assert_int_equal(verify_claims("{\"sub\":\"1\",\"exp\":1700003600}",
	    &res), AUTH_OK);
}

static void
test_oversize(void **state)
{
	struct auth_result	 res;
	char			 claims[7200], pad[7000], *tok;
	size_t			 n;

	(void)state;
	/* Grow a padding claim until the token passes 8 KiB. */
	for (n = 5900; n < sizeof pad; n++) {
		memset(pad, 'p', n);
		pad[n] = '\0';
		snprintf(claims, sizeof claims,
		    "{\"sub\":\"1\",\"exp\":1700003600,\"pad\":\"%s\"}", pad);
		tok = mint("SHA256", "{\"alg\":\"HS256\"}", claims, V_SECRET);
		if (strlen(tok) > 8192) {
			assert_int_equal(verify(tok, &res), AUTH_MALFORMED);
			free(tok);
			break;
		}
		assert_int_equal(verify(tok, &res), AUTH_OK);
		free(tok);
	}
	assert_true(n < sizeof pad);
}

/* JWE: NextAuth v4 session tokens made by node. */

static enum auth_status
session(const char *jwe, struct auth_result *res)
{
	struct auth_keys k = keys_of(V_SECRET, NULL);

	return auth_verify_session(&k, jwe, NOW, res);
}

/* jwe with its part n (0-4) replaced. */
static char *
jwe_part(const char *jwe, int n, const char *part)
{
	const char	*p = jwe, *e;
	char		*out;
	size_t		 len;
	int		 i;

	for (i = 0; i < n; i++)
		p = strchr(p, '.') + 1;
	e = p + strcspn(p, ".");
	len = strlen(jwe) + strlen(part) + 1;
	out = malloc(len);
	assert_non_null(out);
	snprintf(out, len, "%.*s%s%s", (int)(p - jwe), jwe, part, e);
	return out;
}

static void
test_session_ok(void **state)
{
	struct auth_keys	 both = keys_of(other, V_SECRET);
	struct auth_result	 res;

	(void)state;
	assert_int_equal(session(V_JWE_SESSION, &res), AUTH_OK);
	assert_string_equal(res.user, "42");
	assert_int_equal(res.exp, EXP);
	/* The secret as the previous one (a rotation). */
	assert_int_equal(auth_verify_session(&both, V_JWE_SESSION, NOW, &res),
	    AUTH_OK);
	assert_string_equal(res.user, "42");
	both = keys_of(V_SECRET, V_PREVIOUS);
	assert_int_equal(auth_verify_session(&both, V_JWE_PREVIOUS, NOW, &res),
	    AUTH_OK);
	assert_string_equal(res.user, "42");
	/* sub first, then userId: the other way round from a JWS. */
	assert_int_equal(session(V_JWE_BOTH, &res), AUTH_OK);
	assert_string_equal(res.user, "42");
	assert_int_equal(session(V_JWE_USERID, &res), AUTH_OK);
	assert_string_equal(res.user, "only-userid");
}

static void
test_session_refused(void **state)
{
	struct auth_keys	 k = keys_of(other, NULL);
	struct auth_keys	 empty = keys_of("", NULL);
	struct auth_result	 res;
	char			*t, *h;

	(void)state;
	assert_int_equal(session(NULL, &res), AUTH_MISSING);
	assert_int_equal(session("", &res), AUTH_MISSING);
	assert_int_equal(auth_verify_session(&k, V_JWE_SESSION, NOW, &res),
	    AUTH_BAD_SIGNATURE);
	assert_string_equal(res.user, "");
	assert_int_equal(auth_verify_session(&empty, V_JWE_SESSION, NOW, &res),
	    AUTH_BAD_SIGNATURE);
	assert_int_equal(auth_verify_session(NULL, V_JWE_SESSION, NOW, &res),
	    AUTH_BAD_SIGNATURE);
	assert_int_equal(session(V_JWE_PREVIOUS, &res), AUTH_BAD_SIGNATURE);

	/* Claims: exp missing or a float; the clock past exp + leeway. */
	assert_int_equal(session(V_JWE_NOEXP, &res), AUTH_NO_EXP);
	assert_int_equal(session(V_JWE_FLOATEXP, &res), AUTH_NO_EXP);
	k = keys_of(V_SECRET, NULL);
	assert_int_equal(auth_verify_session(&k, V_JWE_SESSION, EXP + 29,
	    &res), AUTH_OK);
	assert_int_equal(auth_verify_session(&k, V_JWE_SESSION, EXP + 30,
	    &res), AUTH_EXPIRED);

	/* Header: only dir + A256GCM. */
	h = b64s("{\"alg\":\"A256KW\",\"enc\":\"A256GCM\"}");
	t = jwe_part(V_JWE_SESSION, 0, h);
	assert_int_equal(session(t, &res), AUTH_BAD_ALG);
	free(t);
	free(h);
	h = b64s("{\"alg\":\"dir\",\"enc\":\"A128GCM\"}");
	t = jwe_part(V_JWE_SESSION, 0, h);
	assert_int_equal(session(t, &res), AUTH_BAD_ALG);
	free(t);
	free(h);
	h = b64s("{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"}");
	t = jwe_part(V_JWE_SESSION, 0, h);
	assert_int_equal(session(t, &res), AUTH_BAD_ALG);
	free(t);
	free(h);
	/* The same header spelled differently: the AAD no longer matches. */
	h = b64s("{\"enc\":\"A256GCM\",\"alg\":\"dir\"}");
	t = jwe_part(V_JWE_SESSION, 0, h);
	assert_int_equal(session(t, &res), AUTH_BAD_SIGNATURE);
	free(t);
	free(h);
}

static void
test_session_tampered(void **state)
{
	struct auth_result	 res;
	const char		*p;
	char			*t;
	size_t			 tag, ct, iv;

	(void)state;
	tag = strrchr(V_JWE_SESSION, '.') - V_JWE_SESSION + 1;
	p = strstr(V_JWE_SESSION, "..") + 2;
	iv = p - V_JWE_SESSION;
	ct = strchr(p, '.') - V_JWE_SESSION + 1;

	t = poke(V_JWE_SESSION, tag, V_JWE_SESSION[tag] == 'A' ? 'B' : 'A');
	assert_int_equal(session(t, &res), AUTH_BAD_SIGNATURE);
	free(t);
	t = poke(V_JWE_SESSION, ct + 3, V_JWE_SESSION[ct + 3] == 'A' ?
	    'B' : 'A');
	assert_int_equal(session(t, &res), AUTH_BAD_SIGNATURE);
	free(t);
	t = poke(V_JWE_SESSION, iv, V_JWE_SESSION[iv] == 'A' ? 'B' : 'A');
	assert_int_equal(session(t, &res), AUTH_BAD_SIGNATURE);
	free(t);

	/* Shape: a key where dir has none, wrong IV and tag lengths. */
	t = jwe_part(V_JWE_SESSION, 1, "AAAA");
	assert_int_equal(session(t, &res), AUTH_MALFORMED);
	free(t);
	t = jwe_part(V_JWE_SESSION, 2, "AAAAAAAAAAAA");		/* 9 bytes */
	assert_int_equal(session(t, &res), AUTH_MALFORMED);
	free(t);
	t = jwe_part(V_JWE_SESSION, 4, "AAAAAAAAAAAAAAAAAAAA");	/* 15 */
	assert_int_equal(session(t, &res), AUTH_MALFORMED);
	free(t);
	t = jwe_part(V_JWE_SESSION, 3, "");
	assert_int_equal(session(t, &res), AUTH_MALFORMED);
	free(t);
	t = jwe_part(V_JWE_SESSION, 3, "a*b");
	assert_int_equal(session(t, &res), AUTH_MALFORMED);
	free(t);
	assert_int_equal(session(V_JWE_SESSION ".", &res), AUTH_MALFORMED);
	assert_int_equal(session(V_JWS_HS256, &res), AUTH_MALFORMED);
	assert_int_equal(session(V_JWS_HS256 ".AAAA", &res), AUTH_MALFORMED);
	assert_int_equal(session(V_JWE_SESSION, &res), AUTH_OK);
}

/* Extraction from the request. */

static void
expect(const char *what, const char *in, char *got, const char *want)
{
	const char	*g = got != NULL ? got : "nothing";

	if (in == NULL)
		in = "NULL";
	if ((want == NULL) != (got == NULL) ||
	    (want != NULL && strcmp(got, want) != 0))
		fail_msg("%s %s: got %s, want %s", what, in, g,
		    want != NULL ? want : "nothing");
	free(got);
}

static void
expect_query(const char *query, const char *want)
{
	expect("query", query, auth_token_from_query(query), want);
}

static void
test_query(void **state)
{
	(void)state;
	expect_query("token=abc", "abc");
	expect_query("?token=abc", "abc");
	expect_query("a=1&b=2&token=abc.def", "abc.def");
	expect_query("a=1&token=ab%2Ecd%2e&token=second", "ab.cd.");
	expect_query("token=%41%62", "Ab");
	expect_query("token=a+b", "a+b");
	expect_query("mytoken=no&token=yes", "yes");
	expect_query("token_x=no&tokens=no&token=yes", "yes");
	expect_query("x=token%3Dno&token=yes", "yes");
	expect_query("token=abc#frag", "abc");
	expect_query("token=abc&x=1", "abc");
	expect_query("a=1#token=abc", NULL);
	expect_query("token=", NULL);
	expect_query("token=&token=abc", NULL);
	expect_query("token", NULL);
	expect_query("Token=abc", NULL);
	expect_query("token=a%zz", NULL);
	expect_query("token=a%4", NULL);
	expect_query("token=a%", NULL);
	expect_query("token=a%00b", NULL);
	expect_query("", NULL);
	expect_query("&&&", NULL);
	expect_query(NULL, NULL);
}

static void
expect_bearer(const char *hdr, const char *want)
{
	expect("bearer", hdr, auth_token_from_bearer(hdr), want);
}

static void
test_bearer(void **state)
{
	(void)state;
	expect_bearer("Bearer abc.def.ghi", "abc.def.ghi");
	expect_bearer("bearer abc", "abc");
	expect_bearer("BEARER\tabc", "abc");
	expect_bearer("  Bearer   abc  \t", "abc");
	expect_bearer("Bearer", NULL);
	expect_bearer("Bearer   ", NULL);
	expect_bearer("Bearerabc", NULL);
	expect_bearer("Basic dXNlcjpwYXNz", NULL);
	expect_bearer("abc.def.ghi", NULL);
	expect_bearer("", NULL);
	expect_bearer(NULL, NULL);
}

static void
expect_cookie(const char *hdr, const char *want)
{
	expect("cookie", hdr, auth_session_from_cookie(hdr), want);
}

static void
test_cookie(void **state)
{
	(void)state;
	expect_cookie("next-auth.session-token=abc", "abc");
	expect_cookie("a=b; next-auth.session-token=abc; c=d", "abc");
	expect_cookie("a=b;next-auth.session-token = abc ;c=d", "abc");
	expect_cookie("next-auth.session-token=\"abc\"", "abc");
	expect_cookie("next-auth.session-token=abc; "
	    "next-auth.session-token=later", "abc");
	/* __Secure- wins, whichever comes first. */
	expect_cookie("__Secure-next-auth.session-token=sec; "
	    "next-auth.session-token=plain", "sec");
	expect_cookie("next-auth.session-token=plain; "
	    "__Secure-next-auth.session-token=sec", "sec");
	expect_cookie("next-auth.session-token.0=P0; "
	    "__Secure-next-auth.session-token.1=S1; "
	    "__Secure-next-auth.session-token.0=S0", "S0S1");
	/* Names must match exactly. */
	expect_cookie("xnext-auth.session-token=evil; "
	    "next-auth.session-token.evil=evil; "
	    "next-auth.session-tokens=evil; next-auth.session-token=good",
	    "good");
	expect_cookie("next-auth.csrf-token=x; next-auth.callback-url=y", NULL);
	expect_cookie("Next-Auth.Session-Token=abc", NULL);
	/* Chunks, in numeric order, up to the first one missing. */
	expect_cookie("next-auth.session-token.1=BB; x=y; "
	    "next-auth.session-token.0=AA; next-auth.session-token.2=CC",
	    "AABBCC");
	expect_cookie("next-auth.session-token.0=AA; "
	    "next-auth.session-token.2=CC", "AA");
	expect_cookie("next-auth.session-token.1=BB", NULL);
	expect_cookie("next-auth.session-token.01=X; "
	    "next-auth.session-token.0=AA", "AA");
	expect_cookie("next-auth.session-token=", NULL);
	expect_cookie("next-auth.session-token", NULL);
	expect_cookie("", NULL);
	expect_cookie(NULL, NULL);
}

static void
test_cookie_many_chunks(void **state)
{
	static const int	 order[] = { 10, 3, 0, 7, 1, 9, 2, 8, 4, 6, 5 };
	char			 hdr[1024];
	size_t			 n = 0, i;

	(void)state;
	/* .10 sorts after .9, not after .1. */
	for (i = 0; i < sizeof order / sizeof order[0]; i++)
		n += snprintf(hdr + n, sizeof hdr - n,
		    "%snext-auth.session-token.%d=%c", i ? "; " : "",
		    order[i], 'a' + order[i]);
	expect_cookie(hdr, "abcdefghijk");
}

static void
test_cookie_session(void **state)
{
	struct auth_result	 res;
	const char		*j = V_JWE_SESSION;
	char			*hdr, *got;
	int			 a, b;

	(void)state;
	/* The node session split into three chunks, then verified. */
	a = strlen(j) / 3;
	b = 2 * strlen(j) / 3;
	assert_true(asprintf(&hdr, "next-auth.session-token.2=%s; "
	    "next-auth.csrf-token=abc%%7Cdef; next-auth.session-token.0=%.*s; "
	    "next-auth.session-token.1=%.*s", j + b, a, j, b - a, j + a) > 0);
	got = auth_session_from_cookie(hdr);
	assert_non_null(got);
	assert_string_equal(got, j);
	assert_int_equal(session(got, &res), AUTH_OK);
	assert_string_equal(res.user, "42");
	free(got);
	free(hdr);
}

static void
test_strerror(void **state)
{
	int	i;

	(void)state;
	for (i = AUTH_OK; i <= AUTH_NO_USER; i++)
		assert_string_not_equal(auth_strerror(i), "unknown");
	assert_string_equal(auth_strerror(AUTH_NO_USER + 1), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_vectors),
		cmocka_unit_test(test_minted_algs),
		cmocka_unit_test(test_wrong_secret),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_asymmetric_algs),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_exp),
		cmocka_unit_test(test_nbf),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_user_length),
		cmocka_unit_test(test_previous_secret),
		cmocka_unit_test(test_keys_swap),
		cmocka_unit_test(test_empty_secret),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_session_ok),
		cmocka_unit_test(test_session_refused),
		cmocka_unit_test(test_session_tampered),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_cookie_many_chunks),
		cmocka_unit_test(test_cookie_session),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

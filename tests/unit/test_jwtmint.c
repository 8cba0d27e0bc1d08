/* jwtmint: HS256 tokens byte-identical to node's, and accepted by auth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "jwtmint.h"
#include "../fixtures/auth/vectors.h"	/* node crypto vectors */

#define SECRET		((const unsigned char *)V_SECRET)
#define SECRET_LEN	(sizeof V_SECRET - 1)

static void
test_matches_node(void **state)
{
	char	*tok;

	(void)state;
	tok = jwt_mint_hs256(SECRET, SECRET_LEN, "42", 1700000000, 1700003600);
	assert_non_null(tok);
	assert_string_equal(tok, V_JWS_MINT);
	free(tok);
}

static void
test_verifies(void **state)
{
	struct auth_keys	 k = { SECRET, SECRET_LEN, NULL, 0 };
	struct auth_keys	 wrong = { (const unsigned char *)"nope", 4,
	    NULL, 0 };
	struct auth_result	 res;
	char			*tok;

	(void)state;
	tok = jwt_mint_hs256(SECRET, SECRET_LEN, "user \"x\"/\\é", 100,
	    4102444800LL);
	assert_non_null(tok);
	assert_null(strchr(tok, '='));
	assert_null(strchr(tok, '+'));
	assert_null(strchr(tok, '/'));
	assert_int_equal(auth_verify_jwt(&k, tok, 200, &res), AUTH_OK);
	assert_string_equal(res.user, "user \"x\"/\\é");
	assert_int_equal(res.exp, 4102444800LL);
	assert_int_equal(auth_verify_jwt(&wrong, tok, 200, &res),
	    AUTH_BAD_SIGNATURE);
	/* exp and iat are what was asked for: expired after exp + leeway. */
	assert_int_equal(auth_verify_jwt(&k, tok, 4102444800LL + AUTH_LEEWAY_S,
	    &res), AUTH_EXPIRED);
	free(tok);
}

static void
test_lengths(void **state)
{
	struct auth_keys	 k = { SECRET, SECRET_LEN, NULL, 0 };
	struct auth_result	 res;
	char			 user[4096], *tok;
	size_t			 n;

	(void)state;
	/* Every padding case of every part's base64. */
	for (n = 1; n < 40; n++) {
		memset(user, 'u', n);
		user[n] = '\0';
		tok = jwt_mint_hs256(SECRET, SECRET_LEN, user, 0, 1700003600);
		assert_non_null(tok);
		assert_int_equal(auth_verify_jwt(&k, tok, 1700000000, &res),
		    AUTH_OK);
		assert_string_equal(res.user, user);
		free(tok);
	}
	memset(user, 'u', sizeof user - 1);
	user[sizeof user - 1] = '\0';
	tok = jwt_mint_hs256(SECRET, SECRET_LEN, user, 0, 1700003600);
	assert_non_null(tok);
	assert_true(strlen(tok) > 2 * 4 * sizeof user / 3);
	free(tok);
}

static void
test_refuses(void **state)
{
	(void)state;
	assert_null(jwt_mint_hs256(SECRET, 0, "42", 0, 1));
	assert_null(jwt_mint_hs256((const unsigned char *)"", 0, "42", 0, 1));
	assert_null(jwt_mint_hs256(NULL, 5, "42", 0, 1));
	assert_null(jwt_mint_hs256(SECRET, SECRET_LEN, NULL, 0, 1));
	assert_null(jwt_mint_hs256(SECRET, SECRET_LEN, "", 0, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_node),
		cmocka_unit_test(test_verifies),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

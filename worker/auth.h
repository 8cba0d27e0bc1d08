/*
 * Authentication of a WebSocket upgrade (SPEC §4.2): HS256/384/512 JWS
 * signed with NEXTAUTH_SECRET as raw bytes, and the NextAuth v4 session
 * cookie (JWE dir/A256GCM).  The only file that includes libjwt.
 */
#ifndef WSD_AUTH_H
#define WSD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_LEEWAY_S	30
#define AUTH_USER_MAX	128

enum auth_status {
	AUTH_OK = 0,
	AUTH_MISSING,		/* no token at all */
	AUTH_MALFORMED,		/* not a compact JWS/JWE */
	AUTH_BAD_ALG,		/* alg none, RS*, ES*, … */
	AUTH_BAD_SIGNATURE,	/* no key verifies it */
	AUTH_NO_EXP,		/* exp missing or not an integer */
	AUTH_EXPIRED,
	AUTH_NOT_YET_VALID,	/* nbf in the future (beyond leeway) */
	AUTH_NO_USER,		/* neither userId nor sub (string or integer) */
};

struct auth_keys {
	const unsigned char	*secret;	/* NEXTAUTH_SECRET, raw bytes, len > 0 */
	size_t			 secret_len;
	const unsigned char	*previous;	/* NEXTAUTH_SECRET_PREVIOUS or NULL */
	size_t			 previous_len;
};

struct auth_result {
	char		user[AUTH_USER_MAX];	/* userId, else sub (integers as decimal) */
	int64_t		exp;			/* seconds since the epoch */
};

const char	*auth_strerror(enum auth_status);

/*
 * The keys in force, owned copies: set at start and swapped by a hot
 * settings push (SPEC §4.11).  A swap only decides new upgrades; a socket
 * already authenticated keeps its session until its token's exp.  An
 * empty `previous` is none.  Returns 0, or -1 with *err (static) and the
 * keys unchanged: an empty secret is refused (libjwt 1.10 would verify
 * alg none and empty-key signatures with it).
 */
int	auth_keys_set(const char *secret, const char *previous,
	    const char **err);
const struct auth_keys *auth_keys_current(void);

/* A compact JWS (the ?token= / Bearer value). */
enum auth_status auth_verify_jwt(const struct auth_keys *, const char *token,
	    int64_t now, struct auth_result *);

/* A NextAuth v4 session token (compact JWE, alg dir, enc A256GCM). */
enum auth_status auth_verify_session(const struct auth_keys *, const char *jwe,
	    int64_t now, struct auth_result *);

/*
 * Pull credentials out of a request.  Each returns a malloc'd string or
 * NULL.  The query value is percent-decoded; the cookie joins chunked
 * `next-auth.session-token.0`, `.1`, … (and the __Secure- variant).
 */
char	*auth_token_from_query(const char *query);	/* "a=b&token=…" */
char	*auth_token_from_bearer(const char *authorization);
char	*auth_session_from_cookie(const char *cookie_header);

#endif

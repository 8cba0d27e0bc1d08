/* Authenticating a WebSocket upgrade: JWS and NextAuth session tokens. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "auth.h"
#include "hexdigit.h"

#define AUTH_TOKEN_MAX		8192	/* a ?token= or Bearer JWS */
#define AUTH_SESSION_MAX	32768	/* a session JWE, chunks joined */
#define AUTH_CHUNKS_MAX		64
#define AUTH_GCM_IV		12
#define AUTH_GCM_TAG		16
#define AUTH_ENC_KEY		32
#define AUTH_HKDF_INFO		"NextAuth.js Generated Encryption Key"

#define nitems(a)		(sizeof (a) / sizeof (a)[0])

static const char *auth_errors[] = {
	[AUTH_OK] = "ok",
	[AUTH_MISSING] = "no token",
	[AUTH_MALFORMED] = "malformed token",
	[AUTH_BAD_ALG] = "algorithm not allowed",
	[AUTH_BAD_SIGNATURE] = "bad signature",
	[AUTH_NO_EXP] = "exp missing or not an integer",
	[AUTH_EXPIRED] = "token expired",
	[AUTH_NOT_YET_VALID] = "token not yet valid",
	[AUTH_NO_USER] = "no usable user id",
};

/* The only algorithms a JWS may use: HMAC with the shared secret. */
static const struct auth_hmac {
	const char	 *name;
	const EVP_MD	*(*md)(void);
	jwt_alg_t	  alg;
} auth_hmacs[] = {
	{ "HS256", EVP_sha256, JWT_ALG_HS256 },
	{ "HS384", EVP_sha384, JWT_ALG_HS384 },
	{ "HS512", EVP_sha512, JWT_ALG_HS512 },
};

struct auth_seg {
	const char	*p;
	size_t		 len;
};

const char *
auth_strerror(enum auth_status st)
{
	if ((size_t)st >= nitems(auth_errors) ||
	    auth_errors[st] == NULL)
		return "unknown";
	return auth_errors[st];
}

/*
 * Split a compact serialisation into exactly n segments; anything else
 * (fewer or more dots) is refused.
 */
static int
auth_split(const char *s, size_t len, struct auth_seg *seg, int n)
{
	const char	*p = s, *end = s + len, *dot;
	int		 i;

	for (i = 0; i < n; i++) {
		dot = memchr(p, '.', end - p);
		if ((dot == NULL) != (i == n - 1))
			return -1;
		seg[i].p = p;
		seg[i].len = (dot != NULL ? dot : end) - p;
		if (dot != NULL)
			p = dot + 1;
	}
	return 0;
}

static int
auth_b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Strict base64url without padding: only the URL alphabet, no '=', no
 * whitespace, and unused trailing bits zero, so that each byte string has
 * exactly one accepted spelling.  libjwt's decoder skips bad characters;
 * nothing reaches it that this has not accepted first.  Returns a malloc'd
 * buffer with a NUL after the data.
 */
static unsigned char *
auth_b64url_decode(const struct auth_seg *seg, size_t *outlen)
{
	unsigned char	*out;
	uint32_t	 acc = 0;
	size_t		 i, n = 0;
	int		 bits = 0, v;

	if (seg->len % 4 == 1)
		return NULL;
	if ((out = malloc(seg->len / 4 * 3 + 3)) == NULL)
		return NULL;
	for (i = 0; i < seg->len; i++) {
		if ((v = auth_b64url_value(seg->p[i])) < 0)
			goto bad;
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (acc >> bits) & 0xff;
		}
	}
	if ((acc & ((1U << bits) - 1)) != 0)
		goto bad;
	out[n] = '\0';
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

/* A segment that must decode to a JSON object (no duplicate keys). */
static json_t *
auth_json_object(const unsigned char *buf, size_t len)
{
	json_t	*j;

	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static json_t *
auth_json_segment(const struct auth_seg *seg)
{
	unsigned char	*buf;
	size_t		 len;
	json_t		*j;

	if (seg->len == 0 || (buf = auth_b64url_decode(seg, &len)) == NULL)
		return NULL;
	j = auth_json_object(buf, len);
	free(buf);
	return j;
}

static struct auth_keys	 auth_keys_now;

int
auth_keys_set(const char *secret, const char *previous, const char **err)
{
	unsigned char *s, *p = NULL;

	if (secret == NULL || *secret == '\0') {
		*err = "NEXTAUTH_SECRET is missing or empty";
		return -1;
	}
	if ((s = (unsigned char *)strdup(secret)) == NULL ||
	    (previous != NULL && *previous != '\0' &&
	    (p = (unsigned char *)strdup(previous)) == NULL)) {
		free(s);
		*err = "out of memory";
		return -1;
	}
	free((void *)auth_keys_now.secret);
	free((void *)auth_keys_now.previous);
	auth_keys_now.secret = s;
	auth_keys_now.secret_len = strlen(secret);
	auth_keys_now.previous = p;
	auth_keys_now.previous_len = p != NULL ? strlen(previous) : 0;
	return 0;
}

const struct auth_keys *
auth_keys_current(void)
{
	return &auth_keys_now;
}

/* The i'th usable key; an empty key is never one (see SPEC §4.1). */
static int
auth_key(const struct auth_keys *keys, int i, const unsigned char **key,
    size_t *len)
{
	if (keys == NULL || keys->secret == NULL || keys->secret_len == 0)
		return 0;
	if (i == 0) {
		*key = keys->secret;
		*len = keys->secret_len;
	} else if (i == 1 && keys->previous != NULL && keys->previous_len > 0) {
		*key = keys->previous;
		*len = keys->previous_len;
	} else
		return 0;
	return *len <= INT_MAX;
}

/*
 * A user id claim: a non-empty string, or an integer written in decimal.
 * Returns 1 when set, 0 when the claim is absent or of another type, -1
 * when it does not fit.
 */
static int
auth_user(json_t *v, char *buf, size_t size)
{
	const char	*s;
	int		 n;

	if (json_is_string(v)) {
		s = json_string_value(v);
		if (json_string_length(v) == 0)
			return 0;
		if (json_string_length(v) >= size)
			return -1;
		memcpy(buf, s, json_string_length(v) + 1);
		return 1;
	}
	if (json_is_integer(v)) {
		n = snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return n > 0 && (size_t)n < size ? 1 : -1;
	}
	return 0;
}

static int64_t
auth_shift(int64_t t, int64_t by)
{
	int64_t	r;

	if (__builtin_add_overflow(t, by, &r))
		return by < 0 ? INT64_MIN : INT64_MAX;
	return r;
}

/*
 * The claim checks, done here rather than by libjwt, which checks none and
 * reads a float or string exp as 0.  first/second name the user id claims
 * in order of preference.
 */
static enum auth_status
auth_claims(json_t *claims, const char *first, const char *second,
    int64_t now, struct auth_result *res)
{
	json_t	*exp, *nbf;
	int	 r;

	exp = json_object_get(claims, "exp");
	if (!json_is_integer(exp))
		return AUTH_NO_EXP;
	if (json_integer_value(exp) <= auth_shift(now, -AUTH_LEEWAY_S))
		return AUTH_EXPIRED;
	if ((nbf = json_object_get(claims, "nbf")) != NULL) {
		if (!json_is_integer(nbf))
			return AUTH_MALFORMED;
		if (json_integer_value(nbf) > auth_shift(now, AUTH_LEEWAY_S))
			return AUTH_NOT_YET_VALID;
	}

	r = auth_user(json_object_get(claims, first), res->user,
	    sizeof res->user);
	if (r == 0)
		r = auth_user(json_object_get(claims, second), res->user,
		    sizeof res->user);
	if (r != 1) {
		res->user[0] = '\0';
		return AUTH_NO_USER;
	}
	res->exp = json_integer_value(exp);
	return AUTH_OK;
}

/*
 * The signature is checked twice.  First with OpenSSL's HMAC and
 * CRYPTO_memcmp over the decoded bytes: constant time whatever libjwt
 * build is installed (upstream 1.10.2 compares the base64 text with
 * strcmp, CVE-2024-25189, patched in Debian's deb12u1 but not everywhere),
 * and a forged token never reaches libjwt's parser.  Then jwt_decode with
 * the key that matched must agree, algorithm included: given an empty key,
 * libjwt accepts a signature made with the empty key and reports alg none.
 * Two HMACs per connection cost nothing worth saving.
 */
static enum auth_status
auth_jws_signature(const struct auth_keys *keys, const char *token,
    const struct auth_seg *seg, const struct auth_hmac *h)
{
	const unsigned char	*key = NULL;
	unsigned char		*sig, mac[EVP_MAX_MD_SIZE];
	unsigned int		 maclen;
	size_t			 keylen = 0, siglen;
	jwt_t			*jwt;
	int			 i, found = 0, ok;

	if (seg[2].len == 0 || (sig = auth_b64url_decode(&seg[2],
	    &siglen)) == NULL)
		return AUTH_BAD_SIGNATURE;
	for (i = 0; !found && auth_key(keys, i, &key, &keylen); i++) {
		if (HMAC(h->md(), key, (int)keylen,
		    (const unsigned char *)token, seg[2].p - 1 - token,
		    mac, &maclen) == NULL)
			continue;
		found = siglen == maclen &&
		    CRYPTO_memcmp(mac, sig, maclen) == 0;
	}
	OPENSSL_cleanse(mac, sizeof mac);
	free(sig);
	if (!found)
		return AUTH_BAD_SIGNATURE;

	jwt = NULL;
	ok = jwt_decode(&jwt, token, key, (int)keylen) == 0 &&
	    jwt_get_alg(jwt) == h->alg;
	jwt_free(jwt);
	return ok ? AUTH_OK : AUTH_BAD_SIGNATURE;
}

enum auth_status
auth_verify_jwt(const struct auth_keys *keys, const char *token,
    int64_t now, struct auth_result *res)
{
	const struct auth_hmac	*h = NULL;
	struct auth_seg		 seg[3];
	json_t			*header = NULL, *claims = NULL, *typ;
	const char		*alg;
	enum auth_status	 st;
	size_t			 len, i;

	memset(res, 0, sizeof *res);
	if (token == NULL || *token == '\0')
		return AUTH_MISSING;
	if ((len = strnlen(token, AUTH_TOKEN_MAX + 1)) > AUTH_TOKEN_MAX ||
	    auth_split(token, len, seg, 3) != 0)
		return AUTH_MALFORMED;

	st = AUTH_MALFORMED;
	if ((header = auth_json_segment(&seg[0])) == NULL)
		goto out;
	alg = json_string_value(json_object_get(header, "alg"));
	for (i = 0; alg != NULL && i < nitems(auth_hmacs); i++) {
		if (strcmp(alg, auth_hmacs[i].name) == 0)
			h = &auth_hmacs[i];
	}
	if (h == NULL) {
		st = AUTH_BAD_ALG;
		goto out;
	}
	/* No extension is understood, so any "crit" must be refused. */
	typ = json_object_get(header, "typ");
	if (json_object_get(header, "crit") != NULL || (typ != NULL &&
	    (!json_is_string(typ) ||
	    strcasecmp(json_string_value(typ), "JWT") != 0)))
		goto out;
	if ((claims = auth_json_segment(&seg[1])) == NULL)
		goto out;

	if ((st = auth_jws_signature(keys, token, seg, h)) == AUTH_OK)
		st = auth_claims(claims, "userId", "sub", now, res);
out:
	json_decref(header);
	json_decref(claims);
	return st;
}

/* HKDF-SHA256(secret, salt "", info, 32): what NextAuth v4 encrypts with. */
static int
auth_session_key(const unsigned char *secret, size_t len,
    unsigned char out[AUTH_ENC_KEY])
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*ctx = NULL;
	OSSL_PARAM	 params[4], *p = params;
	int		 ok = 0;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return 0;
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return 0;
	/*
	 * No salt parameter: RFC 5869 makes an absent salt HashLen zero
	 * bytes, the same HMAC key as the empty salt NextAuth passes.
	 */
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)AUTH_HKDF_INFO, sizeof AUTH_HKDF_INFO - 1);
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(ctx, out, AUTH_ENC_KEY, params) > 0;
	EVP_KDF_CTX_free(ctx);
	return ok;
}

/* AES-256-GCM open; the tag check is OpenSSL's (constant time). */
static int
auth_gcm_open(const unsigned char *key, const unsigned char *iv,
    const struct auth_seg *aad, const unsigned char *ct, size_t ctlen,
    unsigned char *tag, unsigned char *pt)
{
	EVP_CIPHER_CTX	*ctx;
	int		 n, ok;

	if (ctlen > INT_MAX || aad->len > INT_MAX ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return 0;
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, AUTH_GCM_IV,
	    NULL) &&
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) &&
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad->p,
	    (int)aad->len) &&
	    EVP_DecryptUpdate(ctx, pt, &n, ct, (int)ctlen) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AUTH_GCM_TAG,
	    tag) &&
	    EVP_DecryptFinal_ex(ctx, pt + n, &n) > 0;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

enum auth_status
auth_verify_session(const struct auth_keys *keys, const char *jwe,
    int64_t now, struct auth_result *res)
{
	struct auth_seg		 seg[5];
	unsigned char		*iv = NULL, *ct = NULL, *tag = NULL, *pt = NULL;
	unsigned char		 cek[AUTH_ENC_KEY];
	const unsigned char	*key;
	size_t			 len, keylen, ivlen, ctlen, taglen;
	json_t			*header = NULL, *claims = NULL;
	const char		*alg, *enc;
	enum auth_status	 st;
	int			 i, opened = 0;

	memset(res, 0, sizeof *res);
	if (jwe == NULL || *jwe == '\0')
		return AUTH_MISSING;
	if ((len = strnlen(jwe, AUTH_SESSION_MAX + 1)) > AUTH_SESSION_MAX ||
	    auth_split(jwe, len, seg, 5) != 0)
		return AUTH_MALFORMED;

	st = AUTH_MALFORMED;
	if ((header = auth_json_segment(&seg[0])) == NULL)
		goto out;
	alg = json_string_value(json_object_get(header, "alg"));
	enc = json_string_value(json_object_get(header, "enc"));
	if (alg == NULL || enc == NULL || strcmp(alg, "dir") != 0 ||
	    strcmp(enc, "A256GCM") != 0 ||
	    json_object_get(header, "zip") != NULL) {
		st = AUTH_BAD_ALG;
		goto out;
	}
	if (json_object_get(header, "crit") != NULL || seg[1].len != 0)
		goto out;
	if ((iv = auth_b64url_decode(&seg[2], &ivlen)) == NULL ||
	    ivlen != AUTH_GCM_IV ||
	    (tag = auth_b64url_decode(&seg[4], &taglen)) == NULL ||
	    taglen != AUTH_GCM_TAG || seg[3].len == 0 ||
	    (ct = auth_b64url_decode(&seg[3], &ctlen)) == NULL ||
	    (pt = malloc(ctlen + 1)) == NULL)
		goto out;

	for (i = 0; !opened && auth_key(keys, i, &key, &keylen); i++) {
		opened = auth_session_key(key, keylen, cek) &&
		    auth_gcm_open(cek, iv, &seg[0], ct, ctlen, tag, pt);
	}
	OPENSSL_cleanse(cek, sizeof cek);
	if (!opened) {
		st = AUTH_BAD_SIGNATURE;
		goto out;
	}
	if ((claims = auth_json_object(pt, ctlen)) == NULL)
		goto out;
	st = auth_claims(claims, "sub", "userId", now, res);
out:
	if (pt != NULL) {
		OPENSSL_cleanse(pt, ctlen);
		free(pt);
	}
	free(iv);
	free(ct);
	free(tag);
	json_decref(header);
	json_decref(claims);
	return st;
}

/*
 * The first token= parameter, %XX decoded ('+' is left alone: no JWS
 * contains one).  A bad escape, an encoded NUL or an empty value gives
 * NULL, so that the caller goes on to the Authorization header.
 */
char *
auth_token_from_query(const char *query)
{
	const char	*p, *end;
	char		*out, *o;
	int		 hi, lo;

	if (query == NULL)
		return NULL;
	if (*query == '?')
		query++;
	for (p = query;; p = end + 1) {
		end = p + strcspn(p, "&#");
		if (end - p >= 6 && strncmp(p, "token=", 6) == 0)
			break;
		if (*end != '&')
			return NULL;
	}
	if (end - p == 6)
		return NULL;
	if ((out = malloc(end - p - 6 + 1)) == NULL)
		return NULL;
	for (o = out, p += 6; p < end; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		if (end - p < 3 || (hi = hexdigit(p[1])) < 0 ||
		    (lo = hexdigit(p[2])) < 0 || (hi | lo) == 0) {
			free(out);
			return NULL;
		}
		*o++ = hi << 4 | lo;
		p += 2;
	}
	*o = '\0';
	return out;
}

/* "Bearer <token>", the scheme in any case, blanks around trimmed. */
char *
auth_token_from_bearer(const char *authorization)
{
	const char	*p, *end;

	if (authorization == NULL)
		return NULL;
	p = authorization + strspn(authorization, " \t");
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return NULL;
	p += 6;
	p += strspn(p, " \t");
	for (end = p + strlen(p); end > p && (end[-1] == ' ' ||
	    end[-1] == '\t'); end--)
		;
	if (end == p)
		return NULL;
	return strndup(p, end - p);
}

/*
 * The value of the first cookie called name (chunk < 0) or name.<chunk>,
 * blanks trimmed and a pair of double quotes removed (RFC 6265).
 */
static const char *
auth_cookie_get(const char *hdr, const char *name, int chunk, size_t *vlen)
{
	const char	*p, *end, *eq, *ne, *v, *ve;
	char		 want[128];
	size_t		 wlen;
	int		 n;

	if (chunk < 0)
		n = snprintf(want, sizeof want, "%s", name);
	else
		n = snprintf(want, sizeof want, "%s.%d", name, chunk);
	if (n < 0 || (size_t)n >= sizeof want)
		return NULL;
	wlen = n;

	for (p = hdr; *p != '\0'; p = end + (*end == ';')) {
		end = p + strcspn(p, ";");
		p += strspn(p, " \t");
		if ((eq = memchr(p, '=', end - p)) == NULL)
			continue;
		for (ne = eq; ne > p && (ne[-1] == ' ' || ne[-1] == '\t'); ne--)
			;
		if ((size_t)(ne - p) != wlen || memcmp(p, want, wlen) != 0)
			continue;
		v = eq + 1;
		v += strspn(v, " \t");
		for (ve = end; ve > v && (ve[-1] == ' ' ||
		    ve[-1] == '\t'); ve--)
			;
		if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
			v++;
			ve--;
		}
		*vlen = ve - v;
		return v;
	}
	return NULL;
}

/*
 * One cookie name: chunks .0, .1, … joined in order up to the first
 * missing one when .0 exists (NextAuth removes the unchunked cookie when it
 * chunks), else the unchunked cookie.
 */
static char *
auth_cookie_session(const char *hdr, const char *name)
{
	const char	*v;
	char		*out, *o;
	size_t		 vlen, total;
	int		 i;

	if (auth_cookie_get(hdr, name, 0, &vlen) == NULL) {
		if ((v = auth_cookie_get(hdr, name, -1, &vlen)) == NULL ||
		    vlen == 0 || vlen > AUTH_SESSION_MAX)
			return NULL;
		return strndup(v, vlen);
	}
	total = 0;
	for (i = 0; i < AUTH_CHUNKS_MAX &&
	    auth_cookie_get(hdr, name, i, &vlen) != NULL; i++) {
		total += vlen;
		if (total > AUTH_SESSION_MAX)
			return NULL;
	}
	if (total == 0 || (out = malloc(total + 1)) == NULL)
		return NULL;
	for (o = out, i = 0; i < AUTH_CHUNKS_MAX &&
	    (v = auth_cookie_get(hdr, name, i, &vlen)) != NULL; i++) {
		memcpy(o, v, vlen);
		o += vlen;
	}
	*o = '\0';
	return out;
}

/* The secure-prefixed cookie wins: only an https origin can have set it. */
char *
auth_session_from_cookie(const char *cookie_header)
{
	static const char	*names[] = {
		"__Secure-next-auth.session-token",
		"next-auth.session-token",
	};
	char			*v;
	size_t			 i;

	if (cookie_header == NULL)
		return NULL;
	for (i = 0; i < nitems(names); i++) {
		if ((v = auth_cookie_session(cookie_header, names[i])) != NULL)
			return v;
	}
	return NULL;
}

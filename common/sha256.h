/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), so wsctl need not load libcrypto. */
#ifndef WSD_SHA256_H
#define WSD_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32	/* digest bytes */
#define SHA256_BLOCK	64	/* message block bytes */

/* Caller-allocated; sha256_init, any number of sha256_update, sha256_final. */
struct sha256 {
	uint32_t	 h[8];			/* intermediate hash value */
	uint64_t	 len;			/* message bytes so far */
	unsigned char	 buf[SHA256_BLOCK];	/* a partial block */
	size_t		 nbuf;
};

void	sha256_init(struct sha256 *);
void	sha256_update(struct sha256 *, const void *, size_t);
void	sha256_final(struct sha256 *, unsigned char [SHA256_LEN]);
void	sha256_digest(const void *, size_t, unsigned char [SHA256_LEN]);
void	sha256_hmac(const void *key, size_t keylen, const void *msg,
	    size_t msglen, unsigned char [SHA256_LEN]);

#endif

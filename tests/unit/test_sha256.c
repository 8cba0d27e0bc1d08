/*
 * Unit tests of common/sha256.c: the FIPS 180-4 examples, every padding
 * case around a block boundary fed whole and in pieces, and all of
 * RFC 4231's HMAC-SHA256 cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

/* The digest as lower-case hex, truncated to the first `len` bytes. */
static void
hex(char *out, const unsigned char *d, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
check_digest(const void *msg, size_t len, const char *want)
{
	unsigned char	 d[SHA256_LEN];
	char		 got[2 * SHA256_LEN + 1];

	sha256_digest(msg, len, d);
	hex(got, d, sizeof d);
	assert_string_equal(got, want);
}

static void
test_fips_examples(void **state)
{
	(void)state;
	check_digest("abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* 448 bits: the length no longer fits, so padding takes a block. */
	check_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_digest("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	check_digest("", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_digest(NULL, 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_million_a(void **state)
{
	static const char	 want[] =
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	struct sha256		 s;
	unsigned char		 d[SHA256_LEN];
	char			 got[2 * SHA256_LEN + 1], *a;
	size_t			 off, n;

	(void)state;
	assert_non_null(a = malloc(1000000));
	memset(a, 'a', 1000000);
	check_digest(a, 1000000, want);

	/* In uneven pieces, so the partial-block path runs at every offset. */
	sha256_init(&s);
	for (off = 0, n = 1; off < 1000000; off += n, n = n % 97 + 1) {
		if (n > 1000000 - off)
			n = 1000000 - off;
		sha256_update(&s, a + off, n);
	}
	sha256_final(&s, d);
	hex(got, d, sizeof d);
	assert_string_equal(got, want);
	free(a);
}

/*
 * Messages of bytes (7i + 3) mod 256 whose lengths sit on either side of
 * where the 9 bytes of padding stop fitting (55/56) and of a block
 * (63/64/65), for one and two blocks.  Digests from another
 * implementation (Python's hashlib).
 */
static const struct {
	size_t		 len;
	const char	*digest;
} edges[] = {
	{ 1, "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5" },
	{ 55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b" },
	{ 56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27" },
	{ 57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73" },
	{ 63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055" },
	{ 64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241" },
	{ 65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e" },
	{ 111, "67d9492e628fd376e0b2efec8ca2b99b123e202cf620deb270728df979b2f73e" },
	{ 112, "96b928cff8528dbb99602c709a65b846cb6467acb8b722f0d758e4dc27bfc508" },
	{ 119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e" },
	{ 120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5" },
	{ 127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07" },
	{ 128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6" },
	{ 129, "307f8fc2c1622b92762e818d39a185d4d667ad49a4b07ceae1f4afa008a93ec4" },
	{ 1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371" },
};

static void
test_block_edges(void **state)
{
	struct sha256	 s;
	unsigned char	 msg[1000], d[SHA256_LEN];
	char		 got[2 * SHA256_LEN + 1];
	size_t		 i, j, cut;

	(void)state;
	for (i = 0; i < sizeof msg; i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	for (i = 0; i < sizeof edges / sizeof edges[0]; i++) {
		check_digest(msg, edges[i].len, edges[i].digest);
		/* Split in two at every point (only the short ones: quick). */
		for (cut = 0; cut <= edges[i].len && edges[i].len <= 129;
		    cut++) {
			sha256_init(&s);
			sha256_update(&s, msg, cut);
			sha256_update(&s, msg + cut, edges[i].len - cut);
			sha256_final(&s, d);
			hex(got, d, sizeof d);
			assert_string_equal(got, edges[i].digest);
		}
		/* A byte at a time. */
		sha256_init(&s);
		for (j = 0; j < edges[i].len; j++)
			sha256_update(&s, msg + j, 1);
		sha256_final(&s, d);
		hex(got, d, sizeof d);
		assert_string_equal(got, edges[i].digest);
	}
}

static void
check_hmac(const void *key, size_t keylen, const void *msg, size_t msglen,
    const char *want)
{
	unsigned char	 d[SHA256_LEN];
	char		 got[2 * SHA256_LEN + 1];

	sha256_hmac(key, keylen, msg, msglen, d);
	/* Case 5 gives only the first 128 bits. */
	hex(got, d, strlen(want) / 2);
	assert_string_equal(got, want);
}

static void
test_rfc4231(void **state)
{
	static const char	 big_key_msg[] =
	    "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char	 big_both_msg[] =
	    "This is a test using a larger than block-size key and a larger "
	    "than block-size data. The key needs to be hashed before being "
	    "used by the HMAC algorithm.";
	unsigned char		 key[131], data[50];
	size_t			 i;

	(void)state;
	/* 4.2 Test Case 1 */
	memset(key, 0x0b, 20);
	check_hmac(key, 20, "Hi There", 8,
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* 4.3 Test Case 2: a key shorter than the output. */
	check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* 4.4 Test Case 3 */
	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	check_hmac(key, 20, data, 50,
	    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	/* 4.5 Test Case 4 */
	for (i = 0; i < 25; i++)
		key[i] = (unsigned char)(i + 1);
	memset(data, 0xcd, 50);
	check_hmac(key, 25, data, 50,
	    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	/* 4.6 Test Case 5: truncated to 128 bits. */
	memset(key, 0x0c, 20);
	check_hmac(key, 20, "Test With Truncation", 20,
	    "a3b6167473100ee06e0c796c2955552b");
	/* 4.7 Test Case 6: a key longer than a block is hashed first. */
	memset(key, 0xaa, 131);
	check_hmac(key, 131, big_key_msg, sizeof big_key_msg - 1,
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	/* 4.8 Test Case 7: and data longer than a block. */
	check_hmac(key, 131, big_both_msg, sizeof big_both_msg - 1,
	    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* Keys of one block less one, one block, one more (hashed); from Python. */
static void
test_hmac_key_edges(void **state)
{
	unsigned char	 key[65];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof key; i++)
		key[i] = (unsigned char)(i * 13 + 1);
	check_hmac(key, 63, "wsd", 3,
	    "908982879230be33a3c06095ac82765786bd676859e6629b0301286bafce0104");
	check_hmac(key, 64, "wsd", 3,
	    "ace39280084f705f7506c97f1ef80b58d0fcfbc20c8e5f9f038ed4903ad66293");
	check_hmac(key, 65, "wsd", 3,
	    "aef12fbc9277103f52bb56c63f9b2da7a38e05f11079a80731c3ea9c7186874d");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_examples),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_block_edges),
		cmocka_unit_test(test_rfc4231),
		cmocka_unit_test(test_hmac_key_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

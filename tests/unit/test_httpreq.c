/* The HTTP request reader: handshakes, refusals, bodies, any split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "httpreq.h"

#define KEY	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define UPG	"GET /?token=t HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n" \
		"Connection: keep-alive, Upgrade\r\n"

/* Feed `s` whole; the result. */
static int
feed(struct httpreq *r, const char *s)
{
	httpreq_init(r, 16384, 1024);
	return httpreq_feed(r, s, strlen(s));
}

/* Feed `s` one more byte at a time: every prefix but the last is MORE. */
static int
feed_bytewise(struct httpreq *r, const char *s)
{
	size_t	i, n = strlen(s);
	int	res = HTTPREQ_MORE;

	httpreq_init(r, 16384, 1024);
	for (i = 1; i <= n && res == HTTPREQ_MORE; i++)
		res = httpreq_feed(r, s, i);
	return res;
}

static void
test_upgrade(void **state)
{
	static const char	 req[] = UPG "Sec-WebSocket-Version: 13\r\n"
				    KEY "Sec-WebSocket-Protocol: json, x\r\n\r\n";
	struct httpreq		 r;

	(void)state;
	assert_int_equal(feed(&r, req), HTTPREQ_DONE);
	assert_true(r.websocket);
	assert_int_equal(r.method, HTTPREQ_GET);
	assert_int_equal(r.total, strlen(req));
	assert_int_equal(r.head_len, strlen(req));
	assert_memory_equal(req + r.path.off, "/?token=t", r.path.len);
	assert_int_equal(r.protocol.len, 4);
	assert_memory_equal(req + r.protocol.off, "json", 4);
	assert_int_equal(r.nstrip, 1);
	assert_memory_equal(req + r.strip[0].off, "Sec-WebSocket-Protocol",
	    22);
	assert_int_equal(r.strip[0].len,
	    strlen("Sec-WebSocket-Protocol: json, x\r\n"));
	assert_int_equal(feed_bytewise(&r, req), HTTPREQ_DONE);
	assert_int_equal(r.total, strlen(req));
}

static void
test_handshake_refusals(void **state)
{
	static const struct {
		const char	*req;
		int		 status;
	} cases[] = {
		{ UPG KEY "\r\n", 426 },				/* no version */
		{ UPG "Sec-WebSocket-Version: 8\r\n" KEY "\r\n", 426 },
		{ UPG "Sec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Version: 13\r\n" KEY "\r\n", 426 },
		{ UPG "Sec-WebSocket-Version: 13\r\n\r\n", 400 },	/* no key */
		{ UPG "Sec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: abc\r\n\r\n", 400 },
		{ UPG "Sec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=!\r\n\r\n", 400 },
		{ UPG "Sec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n\r\n", 400 },
		{ UPG "Sec-WebSocket-Version: 13\r\n" KEY KEY "\r\n", 400 },
		{ UPG "Sec-WebSocket-Version: 13\r\n" KEY
		  "Sec-WebSocket-Protocol: a b\r\n\r\n", 400 },
		{ UPG "Sec-WebSocket-Version: 13\r\n" KEY
		  "Sec-WebSocket-Protocol: a,,b\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade"
		  "\r\nSec-WebSocket-Version: 13\r\n" KEY "\r\n", 400 },
		{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\n"
		  "Sec-WebSocket-Version: 13\r\n" KEY "\r\n", 400 },
	};
	struct httpreq	r;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (feed(&r, cases[i].req) != HTTPREQ_ERROR ||
		    r.status != cases[i].status)
			fail_msg("case %zu: status %d, want %d", i, r.status,
			    cases[i].status);
		assert_int_equal(feed_bytewise(&r, cases[i].req),
		    HTTPREQ_ERROR);
		assert_int_equal(r.status, cases[i].status);
	}
}

static void
test_bad_requests(void **state)
{
	static const char *cases[] = {
		"\x16\x03\x01\x02\x00",			/* TLS: at once */
		"GET\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET http://x/ HTTP/1.1\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
		"GET / HTTP/1.1\r\nA : b\r\n\r\n",
		"GET / HTTP/1.1\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
		"GET / HTTP/1.1\rX\r\n\r\n",
		"POST /api/publish HTTP/1.1\r\nContent-Length: 5\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
		"POST /api/publish HTTP/1.1\r\nContent-Length: 5\r\n"
		    "Content-Length: 6\r\n\r\n",
		"POST /api/publish HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"POST /api/publish HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
		"POST /api/publish HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\nzz\r\n",
	};
	struct httpreq	r;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (feed(&r, cases[i]) != HTTPREQ_ERROR || r.status != 400)
			fail_msg("case %zu: status %d", i, r.status);
	}
}

static void
test_sizes(void **state)
{
	char		big[20000];
	struct httpreq	r;
	size_t		n;

	(void)state;
	/* a head over the cap: 431 before its end arrives */
	n = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nCookie: ");
	memset(big + n, 'c', sizeof big - n - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(feed(&r, big), HTTPREQ_ERROR);
	assert_int_equal(r.status, 431);
	/* a body over the cap, by Content-Length: 413 at the head */
	assert_int_equal(feed(&r, "POST /api/publish HTTP/1.1\r\n"
	    "Content-Length: 1025\r\n\r\n"), HTTPREQ_ERROR);
	assert_int_equal(r.status, 413);
	/* chunked: 413 once the decoded data passes the cap */
	n = (size_t)snprintf(big, sizeof big, "POST /api/publish HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	while (n < 4000)
		n += (size_t)snprintf(big + n, sizeof big - n,
		    "40\r\n%064d\r\n", 0);
	assert_int_equal(feed(&r, big), HTTPREQ_ERROR);
	assert_int_equal(r.status, 413);
	assert_int_equal(feed_bytewise(&r, big), HTTPREQ_ERROR);
	assert_int_equal(r.status, 413);
}

static void
test_bodies(void **state)
{
	static const char	cl[] = "POST /api/publish HTTP/1.1\r\n"
				    "Content-Length: 5\r\n\r\nhello";
	static const char	ch[] = "POST /api/publish HTTP/1.1\r\n"
				    "Transfer-Encoding: chunked\r\n\r\n"
				    "3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n";
	struct httpreq		r;

	(void)state;
	assert_int_equal(feed(&r, cl), HTTPREQ_DONE);
	assert_int_equal(r.method, HTTPREQ_POST);
	assert_int_equal(r.total, strlen(cl));
	assert_int_equal(r.content_length, 5);
	assert_int_equal(r.nstrip, 1);		/* Content-Length */
	assert_int_equal(feed_bytewise(&r, cl), HTTPREQ_DONE);
	assert_int_equal(feed(&r, ch), HTTPREQ_DONE);
	assert_true(r.chunked);
	assert_int_equal(r.body_len, 5);
	/* done once the last chunk is seen, trailers or not */
	assert_int_equal(feed_bytewise(&r, ch), HTTPREQ_DONE);
	assert_int_equal(r.body_len, 5);
	assert_int_equal(r.total, strlen(ch) - 2);
	/* bytes after the body are not counted in */
	assert_int_equal(feed(&r, "POST / HTTP/1.1\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n"),
	    HTTPREQ_DONE);
	assert_int_equal(r.total, 56);
	/* Expect: 100-continue is noted, and taken out of what lws sees */
	assert_int_equal(feed(&r, "POST /api/publish HTTP/1.1\r\n"
	    "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
	    HTTPREQ_MORE);
	assert_true(r.expect_continue);
	assert_int_equal(r.nstrip, 2);
	/* a GET: complete at its head, bytes after it are not counted */
	assert_int_equal(feed(&r, "GET /health HTTP/1.1\r\n\r\nGET /x"),
	    HTTPREQ_DONE);
	assert_int_equal(r.total, 24);
	assert_false(r.websocket);
}

static void
test_reason(void **state)
{
	(void)state;
	assert_string_equal(httpreq_reason(426), "Upgrade Required");
	assert_string_equal(httpreq_reason(431),
	    "Request Header Fields Too Large");
	assert_string_equal(httpreq_reason(599), "Error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test(test_handshake_refusals),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

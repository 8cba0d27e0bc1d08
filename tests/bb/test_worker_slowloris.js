// Slowloris at the worker's edge: 504 sockets from 127.0.0.2-.9
// that send "GET / HTTP/1.1\r\nHost: a\r\n" and then trickle a header line
// now and then must not keep real clients (127.0.0.1) from their welcome
// or /health from answering.  The per-address cap on handshakes in
// progress (WS_HANDSHAKE_PER_IP) and the whole-request deadline
// (WS_HANDSHAKE_TIMEOUT_MS) are observed from the client side.
'use strict';
const net = require('net');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
const ADDRS = 8;		// 127.0.0.2 .. 127.0.0.9
const PER_ADDR = 63;		// 504 trickling sockets
const CAP = 70;			// WS_HANDSHAKE_PER_IP
let w, wShort, wOrigin;
const tricklers = [];
let timer = null;

s.setup(async () => {
	// a deadline far beyond the test: every trickler stays in progress
	w = await lib.startWorker({ env: { WS_HANDSHAKE_TIMEOUT_MS: '120000', WS_HANDSHAKE_PER_IP: String(CAP) } });
	wShort = await lib.startWorker({ env: { WS_HANDSHAKE_TIMEOUT_MS: '1000' } });
	wOrigin = await lib.startWorker({ env: { ALLOWED_ORIGINS: 'https://ok.example' } });
	timer = setInterval(() => {
		for (const t of tricklers) if (!t.closed) t.sock.write('X-Slow-' + (t.n++) + ': a\r\n');
	}, 300);
});

s.teardown(() => {
	clearInterval(timer);
	for (const t of tricklers) t.sock.destroy();
});

// A socket that starts a request and never finishes it.
function trickle(port, addr) {
	return new Promise((resolve) => {
		const t = { addr, n: 0, closed: false, got: 0, text: '', err: null, at: Date.now(), closedAt: 0 };
		t.sock = net.connect({ port, host: '127.0.0.1', localAddress: addr });
		t.sock.on('connect', () => { t.sock.write('GET / HTTP/1.1\r\nHost: a\r\n'); resolve(t); });
		t.sock.on('data', (d) => { t.got += d.length; t.text += d; });
		t.sock.on('error', (e) => { t.err = e.code || e.message; /* counted as closed */ });
		t.sock.on('close', () => { t.closed = true; t.closedAt = Date.now(); resolve(t); });
		tricklers.push(t);
	});
}

function closedOnes(list) { return list.filter((t) => t.closed); }

let held = [];

s.test('504 trickling sockets from 127.0.0.2-.9 are all held open', async () => {
	const all = [];
	for (let a = 0; a < ADDRS; a++) {
		for (let i = 0; i < PER_ADDR; i++) all.push(trickle(w.port, '127.0.0.' + (2 + a)));
	}
	held = await Promise.all(all);
	// each has sent its request line and a header or two
	await lib.waitFor(() => held.every((t) => t.n >= 2 || t.closed), 10000, 'every trickler to send headers');
	assert.strictEqual(closedOnes(held).length, 0, 'closed early: ' + closedOnes(held).length);
}, { timeout: 30000 });

s.test('meanwhile 20 clients from 127.0.0.1 authenticate and get their welcome, /health answers', async () => {
	const clients = [];
	for (let i = 0; i < 20; i++) clients.push(lib.connectUser(w.url, 'real' + i, { timeout: 20000 }));
	const got = await Promise.all(clients);
	const h = await lib.httpGet(w.port, '/health');
	assert.strictEqual(h.status, 200, h.body);
	// all of that while every trickler still held its socket: nothing
	// got in by the tricklers being dropped
	assert.strictEqual(closedOnes(held).length, 0, 'tricklers dropped meanwhile: ' + closedOnes(held).length);
	for (const c of got) c.close();
}, { timeout: 30000 });

s.test('WS_HANDSHAKE_PER_IP: sockets past the cap of one address are answered 503 with Retry-After and closed, not reset', async () => {
	const more = [];
	for (let i = 0; i < 20; i++) more.push(await trickle(w.port, '127.0.0.2'));
	const over = PER_ADDR + more.length - CAP;	// 13
	await lib.waitFor(() => closedOnes(more).length >= over, 10000, over + ' of the new sockets to be closed');
	// the rest are held like the first ones: exactly the excess is refused
	await lib.waitFor(() => more.every((t) => t.closed || t.n >= 2), 10000, 'the others to send headers');
	assert.strictEqual(closedOnes(more).length, over, 'refused');
	for (const t of closedOnes(more)) {
		assert.ok(/^HTTP\/1\.1 503 /.test(t.text) && /\r\nRetry-After: 1\r\n/i.test(t.text),
		    'a refused socket\'s answer: ' + JSON.stringify(t.text.slice(0, 200)));
		assert.strictEqual(t.err, null, 'a refused socket was reset');
	}
	assert.strictEqual(closedOnes(held).length, 0, 'older tricklers dropped: ' + closedOnes(held).length);
	// another address is not affected by 127.0.0.2's count
	const other = await trickle(w.port, '127.0.0.10');
	await lib.waitFor(() => other.n >= 2 || other.closed, 5000, 'the 127.0.0.10 socket to send headers');
	assert.ok(!other.closed, '127.0.0.10 was refused');
}, { timeout: 30000 });

s.test('WS_HANDSHAKE_TIMEOUT_MS: a request still incomplete at the deadline is closed while it trickles', async () => {
	const few = [];
	for (let i = 0; i < 5; i++) few.push(await trickle(wShort.port, '127.0.0.3'));
	await lib.waitFor(() => few.every((t) => t.closed), 20000, 'the deadline to close every trickler');
	for (const t of few) {
		// The worker's timer counts from libuv's loop clock, cached when
		// the loop woke, and Date.now() has 1 ms steps: a close at 999 ms
		// is the deadline.  What this guards is an early close.
		assert.ok(t.closedAt - t.at >= 1000 - 25, 'closed after ' + (t.closedAt - t.at) + ' ms, before the deadline');
		assert.ok(t.n >= 2, 'it was still sending');
	}
	// and the worker serves complete requests as usual
	const c = await lib.connectUser(wShort.url, 'after');
	c.close();
}, { timeout: 30000 });

// Write `text`, and once it is answered, the same again on the same
// connection; resolve with the number of answers the server gave before it
// ended the connection (2: it kept the connection for a next request).
function answersOnOneConnection(port, text) {
	return new Promise((resolve) => {
		const c = net.connect(port, '127.0.0.1');
		let got = '';
		let again = false;
		const answers = () => (got.match(/HTTP\/1\.[01] \d{3} /g) || []).length;
		c.on('connect', () => c.write(text));
		c.on('data', (d) => {
			got += d.toString('latin1');
			if (!again && got.includes('\r\n\r\n')) {
				again = true;
				c.write(text);
			}
			if (answers() >= 2) { c.destroy(); resolve({ n: answers(), got }); }
		});
		c.on('error', () => {});
		c.on('close', () => resolve({ n: answers(), got }));
	});
}

s.test('plain HTTP answers (/health, 426, an Origin 403) end the connection: no second request skips the reader', async () => {
	const cases = [
		[w.port, 'GET /health HTTP/1.1\r\nHost: a\r\n\r\n', 200],
		[w.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 426],
		[wOrigin.port, 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
		    'Origin: https://evil.example\r\nSec-WebSocket-Version: 13\r\n' +
		    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 403],
	];
	for (const [port, req, status] of cases) {
		const r = await answersOnOneConnection(port, req);
		assert.strictEqual(r.n, 1, JSON.stringify(req.split('\r\n')[0]) + ': answers on one connection: ' + r.n);
		assert.strictEqual(Number(r.got.split(' ')[1]), status, r.got.split('\r\n')[0]);
	}
}, { timeout: 30000 });

s.run();

// RFC 6455 at the worker's edge: handshakes refused with the right status
// (426 + Sec-WebSocket-Version: 13, 400), a subprotocol offer accepted the
// way Node's ws server does, and the frame rules (unmasked or malformed →
// 1002, bad UTF-8 → 1007, bad close frames → 1002/1007), plus 413 for a chunked
// publish body over the cap.  Malformed input goes over raw sockets.
'use strict';
const net = require('net');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
let w;

s.setup(async () => {
	w = await lib.startWorker({ env: { WS_MAX_PUBLISH: '1024' } });
});

// Send `text` as is; resolve with the answer once the server closes.
function rawExchange(port, text) {
	return new Promise((resolve, reject) => {
		const c = net.connect(port, '127.0.0.1');
		const chunks = [];
		c.on('connect', () => c.write(text));
		c.on('data', (d) => chunks.push(d));
		c.on('error', reject);
		c.on('close', () => {
			const all = Buffer.concat(chunks).toString('latin1');
			const e = all.indexOf('\r\n\r\n');
			const head = e < 0 ? all : all.slice(0, e);
			const headers = {};
			for (const l of head.split('\r\n').slice(1)) {
				const i = l.indexOf(':');
				if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
			}
			resolve({ status: Number(head.split(' ')[1]), headers, body: e < 0 ? '' : all.slice(e + 4), raw: all });
		});
		c.setTimeout(10000, () => c.destroy(new Error('no answer to ' + JSON.stringify(text.slice(0, 60)))));
	});
}

function handshake(extra) {
	return 'GET /?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' + extra + '\r\n';
}
const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

// A raw client past the handshake and the welcome.
async function rawUser(user) {
	const c = new lib.RawClient(w.port, '/?token=' + encodeURIComponent(lib.token(lib.SECRET, user)));
	await c.connect();
	await lib.waitFor(() => c.texts().some((t) => t.includes('"connected"')), 5000, 'the welcome');
	return c;
}

async function closedWith(c, code) {
	await lib.waitFor(() => c.closeFrame !== null, 5000, 'a close frame (expecting ' + code + ')');
	assert.strictEqual(c.closeFrame.code, code, 'close code ' + c.closeFrame.code + ' "' + c.closeFrame.reason + '"');
	await lib.waitFor(() => c.ended, 5000, 'the connection to end');
}

s.test('Sec-WebSocket-Version missing or 8 → 426 with Sec-WebSocket-Version: 13', async () => {
	for (const v of ['', 'Sec-WebSocket-Version: 8\r\n']) {
		const r = await rawExchange(w.port, handshake(KEY + v));
		assert.strictEqual(r.status, 426, JSON.stringify(v) + ' → ' + r.raw.split('\r\n')[0]);
		assert.strictEqual(r.headers['sec-websocket-version'], '13', 'headers ' + JSON.stringify(r.headers));
	}
});

s.test('Sec-WebSocket-Key missing or not base64 of 16 bytes → 400', async () => {
	for (const k of ['', 'Sec-WebSocket-Key: abc\r\n', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n',
	    'Sec-WebSocket-Key: !!!!IHNhbXBsZSBub25jZQ==\r\n']) {
		const r = await rawExchange(w.port, handshake('Sec-WebSocket-Version: 13\r\n' + k));
		assert.strictEqual(r.status, 400, JSON.stringify(k) + ' → ' + r.raw.split('\r\n')[0]);
	}
});

s.test('subprotocols ["json","x"] (npm ws client) → 101 selecting "json", welcome as usual', async () => {
	const ws = new lib.WebSocket(lib.url(w.url, lib.token(lib.SECRET, 'proto')), ['json', 'x']);
	const first = await new Promise((resolve, reject) => {
		ws.on('message', (d) => resolve(String(d)));
		ws.on('error', reject);
		ws.on('close', (code) => reject(new Error('closed ' + code)));
	});
	assert.strictEqual(ws.protocol, 'json');
	assert.ok(first.includes('"connected"'), first);
	ws.terminate();
});

s.test('an unmasked client frame → close 1002', async () => {
	const c = await rawUser('unmasked');
	const body = Buffer.from('{"type":"ping"}');
	c.sock.write(Buffer.concat([Buffer.from([0x81, body.length]), body]));
	await closedWith(c, 1002);
	assert.ok(!c.texts().some((t) => t.includes('"pong"')), 'the unmasked ping was served: ' + c.texts());
});

s.test('malformed frames → 1002: reserved opcode or bit, bad control frames, broken fragment sequence', async () => {
	const cases = [
		['reserved opcode 3', (c) => c.sendFrame(3, 'x')],
		['RSV1 without an extension', (c) => c.sendFrame(0x40 | 1, '{}')],
		['a fragmented ping', (c) => c.sendFrame(9, 'x', false)],
		['a ping of 126 bytes', (c) => c.sendFrame(9, Buffer.alloc(126))],
		['a continuation with no message', (c) => c.sendFrame(0, 'x')],
		['a new text inside a fragmented one', (c) => { c.sendFrame(1, 'a', false); c.sendFrame(1, 'b'); }],
	];
	for (const [name, send] of cases) {
		const c = await rawUser('bad' + name.length);
		c.echoClose = false;
		send(c);
		try {
			await closedWith(c, 1002);
		} catch (e) {
			throw new Error(name + ': ' + e.message);
		}
	}
});

s.test('invalid UTF-8 in a text message → 1007, also split across fragments', async () => {
	const c = await rawUser('utf8a');
	c.sendFrame(1, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]));
	await closedWith(c, 1007);
	// a valid character cut in two, then a byte that cannot continue it
	const d = await rawUser('utf8b');
	d.sendFrame(1, Buffer.from([0x22, 0xe2, 0x82]), false);
	d.sendFrame(0, Buffer.from([0x28, 0x22]), true);
	await closedWith(d, 1007);
});

s.test('valid UTF-8 that is not JSON (even split mid-character) → error reply, socket stays open', async () => {
	const c = await rawUser('notjson');
	const n = c.texts().length;
	c.sendFrame(1, Buffer.from([0x68, 0xe2, 0x82]), false);
	c.sendFrame(0, Buffer.from([0xac, 0x21]), true);	// "h€!"
	await lib.waitFor(() => c.texts().length > n, 5000, 'a reply');
	assert.ok(c.texts()[n].includes('Invalid message format'), c.texts()[n]);
	c.sendText({ type: 'ping' });
	await lib.waitFor(() => c.texts().some((t) => t.includes('"pong"')), 5000, 'pong');
	assert.strictEqual(c.closeFrame, null);
	c.destroy();
});

s.test('close frames: 1-byte payload and every invalid code class → 1002, bad UTF-8 reason → 1007', async () => {
	const cases = [[Buffer.from([0x03]), 1002]];
	for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
		const b = Buffer.alloc(2);
		b.writeUInt16BE(code);
		cases.push([b, 1002]);
	}
	cases.push([Buffer.from([0x03, 0xe8, 0xc0, 0xaf]), 1007]);
	for (const [payload, want] of cases) {
		const c = await rawUser('close' + payload.toString('hex'));
		c.echoClose = false;
		c.sendFrame(8, payload);
		try {
			await closedWith(c, want);
		} catch (e) {
			throw new Error('close payload ' + payload.toString('hex') + ': ' + e.message);
		}
	}
});

s.test('a valid close frame (1000 and 4000 with a UTF-8 reason) is echoed', async () => {
	for (const code of [1000, 4000]) {
		const c = await rawUser('goodclose' + code);
		c.echoClose = false;
		const b = Buffer.concat([Buffer.alloc(2), Buffer.from('bye ✓')]);
		b.writeUInt16BE(code);
		c.sendFrame(8, b);
		await closedWith(c, code);
	}
});

s.test('a frame begun in the same write as the handshake, finished after the 101, is served', async () => {
	const crypto = require('crypto');
	const tok = encodeURIComponent(lib.token(lib.SECRET, 'early'));
	const payload = Buffer.from('{"type":"ping"}');
	const mask = crypto.randomBytes(4);
	const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask,
	    Buffer.from(payload.map((b, i) => b ^ mask[i & 3]))]);
	const c = net.connect(w.port, '127.0.0.1');
	let got = '';
	c.on('data', (d) => { got += d.toString('latin1'); });
	c.on('error', () => {});
	await new Promise((r) => c.on('connect', r));
	c.write(Buffer.concat([Buffer.from(handshake('Sec-WebSocket-Version: 13\r\n' + KEY).replace('token=x', 'token=' + tok)),
	    frame.subarray(0, 5)]));
	await lib.waitFor(() => got.includes('"connected"'), 5000, 'the 101 and the welcome');
	c.write(frame.subarray(5));
	await lib.waitFor(() => got.includes('"pong"') || got.includes('\x88'), 5000, 'an answer to the ping');
	assert.ok(got.includes('"pong"'), 'closed instead: ' + JSON.stringify(got.slice(-40)));
	c.destroy();
});

s.test('chunked POST /api/publish over WS_MAX_PUBLISH → 413', async () => {
	const r = await new Promise((resolve, reject) => {
		const req = require('http').request({ host: '127.0.0.1', port: w.port, method: 'POST', path: '/api/publish',
		    headers: { Authorization: 'Bearer ' + lib.API_KEY, 'Content-Type': 'application/json' }, agent: false }, (res) => {
			let body = '';
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode, body }));
		});
		req.on('error', reject);
		req.write(JSON.stringify({ channel: 'post_1', type: 't', data: 'x'.repeat(800) }));
		req.write(JSON.stringify({ pad: 'y'.repeat(800) }));
		req.end();
	});
	assert.strictEqual(r.status, 413, r.body);
	assert.ok(/body too large/.test(r.body), r.body);
});

s.run();

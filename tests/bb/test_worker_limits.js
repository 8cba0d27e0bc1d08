// Limits and liveness (SPEC §4.7): client message size cap (1009), the
// per-socket send-queue cap against a peer that never reads, the
// subscription cap, ping/pong liveness, and the Origin check.  The caps are
// made small through the worker's environment knobs.
'use strict';
const crypto = require('crypto');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
const QUEUE_MAX = 256 * 1024;
let redis, w, wPing, wBig;

s.setup(async () => {
	// Redis must not drop the worker's subscriber link while we flood it.
	redis = await lib.startRedis({ args: ['--client-output-buffer-limit', 'pubsub 0 0 0'] });
	w = await lib.startWorker({ redis, env: { WS_SEND_QUEUE_MAX: String(QUEUE_MAX), WS_MAX_SUBSCRIPTIONS: '4' } });
	wBig = await lib.startWorker({ redis, env: { WS_SEND_QUEUE_MAX: String(64 * 1024 * 1024) } });
	wPing = await lib.startWorker({ env: { WS_PING_INTERVAL_MS: '300', ALLOWED_ORIGINS: 'https://fonana.me,https://www.fonana.me' } });
});

s.test('a client message over 64 KiB → close 1009', async () => {
	const c = await lib.connectUser(w.url, 'big1');
	c.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) }));
	const cl = await c.waitClose();
	assert.strictEqual(cl.code, 1009, 'close ' + JSON.stringify(cl));
});

s.test('a 60 KB client message is accepted', async () => {
	const c = await lib.connectUser(w.url, 'big2');
	c.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(60 * 1024) }));
	await c.expect((j) => j && j.type === 'pong', 'pong to the 60 KB ping');
	assert.ok(c.isOpen());
	c.close();
});

s.test('a fragmented client message whose fragments add up to over 64 KiB → close 1009', async () => {
	const tok = lib.token(lib.SECRET, 'frag');
	const r = await new lib.RawClient(w.port, '/?token=' + tok).connect();
	await lib.waitFor(() => r.texts().some((t) => t.includes('"connected"')), 5000, 'the welcome');
	r.sendFrame(1, Buffer.from('{"type":"ping","pad":"' + 'y'.repeat(40 * 1024)), false);
	r.sendFrame(0, Buffer.from('z'.repeat(40 * 1024) + '"}'), true);
	await lib.waitFor(() => r.closeFrame || r.ended, 5000, 'the server to close');
	assert.ok(r.closeFrame, 'the connection ended without a close frame');
	assert.strictEqual(r.closeFrame.code, 1009, 'close ' + JSON.stringify(r.closeFrame));
	r.destroy();
});

let slow = null;	// shared by the two send-queue tests
s.test('a client that never reads is cut at the send-queue cap while another receives every event', async () => {
	const N = 160;			// 160 × 60 KB ≈ 9.6 MB: twice what loopback socket buffers + the 256 KiB cap hold
	const A = await new lib.RawClient(w.port, '/?token=' + lib.token(lib.SECRET, 'slow')).connect();
	await lib.waitFor(() => A.texts().some((t) => t.includes('"connected"')), 5000, 'the welcome (slow client)');
	A.sendText({ type: 'subscribe', channel: { type: 'post', postId: '9' } });
	await lib.waitFor(() => A.texts().some((t) => t.includes('"subscribed"')), 5000, 'subscribed (slow client)');
	A.pause();	// from now on it never reads
	const B = await lib.connectUser(w.url, 'fast');
	await lib.subscribe(B, { type: 'post', postId: '9' });
	const from = B.msgs.length;
	const pad = crypto.randomBytes(45 * 1024).toString('base64');
	const sent = [];
	for (let i = 0; i < N; i++) {
		const t = JSON.stringify({ type: 'post_updated', data: { postId: '9', seq: i, pad } });
		sent.push(t);
		await lib.publish(redis, 'post_9', t);
		if (i % 20 === 19) await lib.waitFor(() => B.msgs.length - from >= i + 1, 10000, 'the fast client to receive ' + (i + 1) + ' events');
	}
	await lib.waitFor(() => B.msgs.length - from >= N, 10000, 'all ' + N + ' events at the fast client');
	assert.ok(B.isOpen(), 'the fast client was closed: ' + JSON.stringify(B.closed));
	const got = B.texts(from);
	assert.strictEqual(got.length, N);
	assert.ok(got.every((t, i) => t === sent[i]), 'the fast client\'s events differ or are out of order');
	A.resume();	// read what the kernel holds: the connection must end there
	await lib.waitFor(() => A.ended || A.closeFrame, 10000, () => 'the slow client\'s connection to end (it was never cut; it read ' +
	    A.bytes + ' bytes, ' + A.frames.length + ' frames)');
	const n = A.texts().filter((t) => t.includes('post_updated')).length;
	assert.ok(n < N, 'the slow client received all ' + N + ' events: it was never cut');
	lib.note('slow client got ' + n + ' of ' + N + ' events before the cut; close frame ' + JSON.stringify(A.closeFrame) +
	    (A.error ? ', error ' + A.error.code : ''));
	slow = A;
	B.close();
}, { timeout: 60000 });

s.test('the slow consumer is closed with 1008 "slow consumer"', async () => {
	assert.ok(slow, 'the previous test did not get that far');
	assert.deepStrictEqual(slow.closeFrame, { code: 1008, reason: 'slow consumer' });
});

s.test('ws_slow_consumer_closes_total counts the cut', async () => {
	const m = lib.parseMetrics((await lib.httpGet(w.port, '/metrics')).body);
	assert.strictEqual(m.ws_slow_consumer_closes_total, 1);
});

s.test('a client ping while the server is blocked mid-frame: the pong waits for the frame, every event arrives intact', async () => {
	// 120 × 60 KB is more than loopback's socket buffers hold, so the
	// worker ends up with a frame partly written when the ping comes; a
	// pong written there would be spliced into that frame.
	const N = 120;
	const A = await new lib.RawClient(wBig.port, '/?token=' + lib.token(lib.SECRET, 'midframe')).connect();
	await lib.waitFor(() => A.texts().some((t) => t.includes('"connected"')), 5000, 'the welcome');
	A.sendText({ type: 'subscribe', channel: { type: 'post', postId: 'mid' } });
	await lib.waitFor(() => A.texts().some((t) => t.includes('"subscribed"')), 5000, 'subscribed');
	const from = A.frames.length;
	A.pause();
	const pad = crypto.randomBytes(45 * 1024).toString('base64');
	const sent = [];
	for (let i = 0; i < N; i++) {
		const t = JSON.stringify({ type: 'post_updated', data: { postId: 'mid', seq: i, pad } });
		sent.push(t);
		await lib.publish(redis, 'post_mid', t);
	}
	await lib.sleep(300);
	A.sendFrame(9, Buffer.from('client-ping'));
	await lib.sleep(300);
	A.resume();
	await lib.waitFor(() => A.ended || A.frames.length - from >= N + 1, 20000, () => 'all ' + N + ' events and a pong (got ' +
	    (A.frames.length - from) + ' frames)');
	const got = A.frames.slice(from);
	const bad = got.filter((f) => f.opcode !== 1 && f.opcode !== 10);
	assert.deepStrictEqual(bad.map((f) => f.opcode), [], 'frames that are neither text nor pong: the stream is corrupt');
	const texts = got.filter((f) => f.opcode === 1).map((f) => f.payload.toString('utf8'));
	assert.strictEqual(texts.length, N);
	assert.ok(texts.every((t, i) => t === sent[i]), 'events differ or are out of order');
	const pongs = got.filter((f) => f.opcode === 10).map((f) => f.payload.toString());
	assert.deepStrictEqual(pongs, ['client-ping']);
	A.destroy();
}, { timeout: 60000 });

s.test('subscriptions per socket are capped (WS_MAX_SUBSCRIPTIONS=4); unsubscribing frees a slot', async () => {
	const c = await lib.connectUser(w.url, 'subcap');
	for (let i = 1; i <= 4; i++) await lib.subscribe(c, { type: 'post', postId: 'cap' + i });
	c.send({ type: 'subscribe', channel: { type: 'post', postId: 'cap5' } });
	c.send({ type: 'ping' });
	const replies = [];
	for (;;) {
		const m = await c.next(5000, 'a reply to the 5th subscribe, then pong');
		if (m.json && m.json.type === 'pong') break;
		replies.push(m.json);
	}
	assert.ok(!replies.some((j) => j && j.type === 'subscribed'), 'the 5th subscription was accepted: ' + JSON.stringify(replies));
	const e = JSON.stringify({ type: 'post_liked', data: { postId: 'cap5' } });
	await lib.publish(redis, 'post_cap5', e);
	const sentinel = JSON.stringify({ type: 'sentinel', data: {} });
	await lib.publish(redis, 'post_cap1', sentinel);
	await c.expect((j, t) => t === sentinel, 'the sentinel');
	assert.ok(!c.texts(0).includes(e), 'an event arrived on the refused 5th subscription');
	c.send({ type: 'unsubscribe', channel: { type: 'post', postId: 'cap1' } });
	await c.expect((j) => j && j.type === 'unsubscribed', 'unsubscribed cap1');
	await lib.subscribe(c, { type: 'post', postId: 'cap5' });
	c.close();
});

s.test('the server pings (WS_PING_INTERVAL_MS) and a client that answers stays connected', async () => {
	const c = await lib.connectUser(wPing.url, 'pinged', { origin: 'https://fonana.me' });
	await lib.waitFor(() => {
		if (c.closed) throw lib.fatal('closed ' + JSON.stringify(c.closed) + ' after ' + c.pings + ' pings, though the client answers each with a pong');
		return c.pings >= 4;
	}, 10000, () => '4 pings (got ' + c.pings + ')');
	assert.ok(c.isOpen(), 'closed: ' + JSON.stringify(c.closed));
	c.close();
});

s.test('a client that never answers pings is closed', async () => {
	const r = new lib.RawClient(wPing.port, '/?token=' + lib.token(lib.SECRET, 'nopong'), { Origin: 'https://fonana.me' });
	r.autoPong = false;
	await r.connect();
	await lib.waitFor(() => r.texts().some((t) => t.includes('"connected"')), 5000, 'the welcome');
	await lib.waitFor(() => r.ended || r.closeFrame, 10000, 'the server to drop the silent client');
	assert.ok(r.frames.some((f) => f.opcode === 9), 'closed without ever being pinged');
	r.destroy();
});

s.test('a foreign Origin with ALLOWED_ORIGINS set → 403 before the upgrade; a listed Origin connects', async () => {
	const bad = new lib.Client(lib.url(wPing.url, lib.token(lib.SECRET, 'o1')), { origin: 'https://evil.example' });
	await lib.waitFor(() => bad.closed || bad.opened, 10000, 'the handshake to end');
	assert.strictEqual(bad.httpStatus, 403, 'foreign origin: ' + (bad.opened ? 'upgraded' : 'HTTP ' + bad.httpStatus));
	assert.ok(!bad.opened);
	const sub = new lib.Client(lib.url(wPing.url, lib.token(lib.SECRET, 'o2')), { origin: 'https://fonana.me.evil.example' });
	await lib.waitFor(() => sub.closed || sub.opened, 10000, 'the handshake to end');
	assert.strictEqual(sub.httpStatus, 403, 'prefix-matching origin: ' + (sub.opened ? 'upgraded' : 'HTTP ' + sub.httpStatus));
	const good = await lib.connectUser(wPing.url, 'o3', { origin: 'https://www.fonana.me' });
	assert.ok(good.isOpen());
	good.close();
});

s.run();

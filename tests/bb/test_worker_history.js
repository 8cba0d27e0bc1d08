// Channel history (SPEC §4.8): every publish through wsd (POST /api/publish,
// and so wsctl publish, which posts there; clients/node/publisher.js) is appended to a capped Redis
// Stream per channel by one server-side script, and sockets that did not ask
// for positions still get the event's exact bytes.
'use strict';
const path = require('path');
const crypto = require('crypto');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
let redis, w, wSmall;

s.setup(async () => {
	redis = await lib.startRedis();
	w = await lib.startWorker({ redis });
	wSmall = await lib.startWorker({ redis, env: { WS_HISTORY_SIZE: '10', WS_HISTORY_TTL: '60' } });
});

function apiPublish(port, body) {
	return lib.httpRequest(port, 'POST', '/api/publish',
	    { 'Content-Type': 'application/json', Authorization: 'Bearer ' + lib.API_KEY }, JSON.stringify(body));
}

// XRANGE entries as [{ id, e, p }].
async function history(key) {
	const r = await lib.redisCmd(redis, ['XRANGE', 'ws:h:' + key, '-', '+']);
	return r.map(([id, f]) => {
		const o = { id };
		for (let i = 0; i + 1 < f.length; i += 2) o[f[i]] = f[i + 1];
		return o;
	});
}

s.test('POST /api/publish appends the event to ws:h:<key> (with its epoch and TTL) and plain sockets get its exact bytes', async () => {
	const c = await lib.connectUser(w.url, 'h1');
	await lib.subscribe(c, { type: 'post', postId: 'h1' });
	const from = c.msgs.length;
	for (let i = 1; i <= 3; i++) {
		const r = await apiPublish(w.port, { channel: 'post_h1', type: 'post_liked', data: { n: i } });
		assert.strictEqual(r.status, 200, r.body);
	}
	await lib.waitFor(() => c.msgs.length >= from + 3, 10000, '3 events');
	const want = [1, 2, 3].map((i) => JSON.stringify({ type: 'post_liked', data: { n: i } }));
	assert.deepStrictEqual(c.texts(from), want, 'a plain socket must get the event bytes only');
	const h = await history('post_h1');
	assert.deepStrictEqual(h.map((x) => x.e), want);
	assert.strictEqual(h[0].p, '0-0');
	assert.strictEqual(h[1].p, h[0].id, 'entries chain to the one before');
	assert.strictEqual(h[2].p, h[1].id);
	const meta = await lib.redisCmd(redis, ['HGETALL', 'ws:m:post_h1']);
	const m = {};
	for (let i = 0; i + 1 < meta.length; i += 2) m[meta[i]] = meta[i + 1];
	assert.ok(/^[0-9a-f]{16}$/.test(m.epoch), 'epoch ' + m.epoch);
	assert.strictEqual(m.last, h[2].id);
	const ttl = await lib.redisCmd(redis, ['TTL', 'ws:h:post_h1']);
	assert.ok(ttl > 86000 && ttl <= 86400, 'TTL ' + ttl + ' (WS_HISTORY_TTL default 86400)');
	c.close();
});

s.test('WS_HISTORY_SIZE caps the stream and WS_HISTORY_TTL sets its expiry', async () => {
	for (let i = 0; i < 300; i++) {
		const r = await apiPublish(wSmall.port, { channel: 'post_cap', type: 'x', data: { i } });
		assert.strictEqual(r.status, 200, r.body);
	}
	const len = await lib.redisCmd(redis, ['XLEN', 'ws:h:post_cap']);
	// MAXLEN ~ trims whole stream nodes (100 entries each by default).
	assert.ok(len >= 10 && len <= 110, 'XLEN ' + len + ' with WS_HISTORY_SIZE=10');
	const ttl = await lib.redisCmd(redis, ['TTL', 'ws:h:post_cap']);
	assert.ok(ttl > 0 && ttl <= 60, 'TTL ' + ttl + ' with WS_HISTORY_TTL=60');
});

s.test('a Redis that forgot the script (SCRIPT FLUSH) still gets every publish (EVAL after NOSCRIPT)', async () => {
	const c = await lib.connectUser(w.url, 'h2');
	await lib.subscribe(c, { type: 'post', postId: 'h2' });
	assert.strictEqual(await lib.redisCmd(redis, ['SCRIPT', 'FLUSH']), 'OK');
	const r = await apiPublish(w.port, { channel: 'post_h2', type: 'after_flush', data: {} });
	assert.strictEqual(r.status, 200, r.body);
	await c.expect((j) => j && j.type === 'after_flush', 'the event published after SCRIPT FLUSH');
	assert.strictEqual((await history('post_h2')).length, 1);
	c.close();
});

s.test('clients/node/publisher.js (ioredis) writes history with the worker\'s script, plain sockets get exact bytes', async () => {
	const Redis = require('ioredis');
	const { createPublisher, SCRIPT } = require(path.join(lib.TOP, 'clients/node/publisher.js'));
	const rc = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: false });
	try {
		const pub = createPublisher(rc);
		const c = await lib.connectUser(w.url, 'h4');
		await lib.subscribe(c, { type: 'notifications', userId: 'h4' });
		const from = c.msgs.length;
		const ev = { type: 'notification', userId: 'h4', notification: { id: 1 } };
		const n = await pub.publish('notifications_h4', ev);
		assert.strictEqual(n, 1, 'PUBLISH receivers');
		await pub.publish('notifications_h4', '{}');
		await lib.waitFor(() => c.msgs.length >= from + 2, 10000, '2 events');
		assert.deepStrictEqual(c.texts(from), [JSON.stringify(ev), '{}']);
		const h = await history('notifications_h4');
		assert.strictEqual(h.length, 2);
		assert.strictEqual(h[1].p, h[0].id);
		// One script for both: the worker's publish left the same SHA1 cached.
		await lib.redisCmd(redis, ['SCRIPT', 'FLUSH']);
		assert.strictEqual((await apiPublish(w.port, { channel: 'post_h4', type: 'x' })).status, 200);
		const sha = crypto.createHash('sha1').update(SCRIPT).digest('hex');
		assert.deepStrictEqual(await lib.redisCmd(redis, ['SCRIPT', 'EXISTS', sha]), [1],
		    'publisher.js runs a different script text than the worker');
		c.close();
	} finally {
		rc.disconnect();
	}
});

s.test('a legacy PUBLISH ws:<key> still delivers verbatim', async () => {
	const c = await lib.connectUser(w.url, 'h5');
	await lib.subscribe(c, { type: 'post', postId: 'h5' });
	const from = c.msgs.length;
	const text = '{"type":"legacy","data":{"x":"}"}}';
	await lib.publish(redis, 'post_h5', text);
	await lib.waitFor(() => c.msgs.length > from, 10000, 'the legacy event');
	assert.deepStrictEqual(c.texts(from), [text]);
	c.close();
});

s.run();

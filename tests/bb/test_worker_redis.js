// The Redis link (SPEC §4.4–4.5, issue #3 build 3): /health follows the
// link, the worker reconnects and resubscribes after Redis dies and comes
// back on the same port (clients never reconnect), REDIS_URL with a
// password, REDIS_PASSWORD, unix:// URLs, and a worker that starts before
// its Redis.
'use strict';
const path = require('path');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
const FAST = { WS_REDIS_BACKOFF_MIN_MS: '50', WS_REDIS_BACKOFF_MAX_MS: '300' };
let redis, w;

s.setup(async () => {
	redis = await lib.startRedis();
	w = await lib.startWorker({ redis, env: FAST });
});

async function health(port) {
	const r = await lib.httpGet(port, '/health');
	let j = null;
	try { j = JSON.parse(r.body); } catch (e) { /* checked by callers */ }
	return { status: r.status, json: j, body: r.body };
}

s.test('Redis killed → /health 503; restarted on the same port → 200; delivery resumes without reconnecting', async () => {
	const c = await lib.connectUser(w.url, 'r1');
	await lib.subscribe(c, { type: 'post', postId: '1' });
	const e1 = JSON.stringify({ type: 'post_liked', data: { postId: '1', n: 1 } });
	await lib.publish(redis, 'post_1', e1);
	await c.expect((j, t) => t === e1, 'an event before the outage');

	await redis.kill();
	let h;
	await lib.waitFor(async () => { h = await health(w.port); return h.status === 503; }, 10000, '/health 503 while Redis is down');
	if (h.json) assert.notStrictEqual(h.json.redis, 'up', '/health 503 but says redis up: ' + h.body);
	assert.ok(c.isOpen(), 'the client was disconnected when Redis went down: ' + JSON.stringify(c.closed));
	// A subscription made during the outage must be replayed too.
	await lib.subscribe(c, { type: 'creator', id: 'cr' });

	redis = await lib.startRedis({ port: redis.port, gen: 2 });
	await lib.waitFor(async () => (await health(w.port)).status === 200, 15000, '/health 200 after Redis came back');
	await lib.waitFor(async () => (await lib.numsub(redis, 'post_1')) === 1 && (await lib.numsub(redis, 'creator_cr')) === 1,
	    10000, 'the worker to resubscribe ws:post_1 and ws:creator_cr');
	const e2 = JSON.stringify({ type: 'post_liked', data: { postId: '1', n: 2 } });
	const e3 = JSON.stringify({ type: 'new_post', data: { creatorId: 'cr' } });
	await lib.publish(redis, 'post_1', e2);
	await lib.publish(redis, 'creator_cr', e3);
	await c.expect((j, t) => t === e2, 'the event after Redis came back');
	c.cursor = 0;
	await c.expect((j, t) => t === e3, 'the event on the channel subscribed during the outage');
	assert.ok(c.isOpen(), 'client closed: ' + JSON.stringify(c.closed));
	assert.strictEqual(c.msgs.filter((m) => m.json && m.json.type === 'connected').length, 1, 'the client was welcomed twice');
	c.close();
}, { timeout: 40000 });

s.test('a worker started before its Redis: /health 503, then 200, and a subscription made meanwhile works', async () => {
	const port = await lib.freePort();
	const w2 = await lib.startWorker({ env: { ...FAST, REDIS_URL: 'redis://127.0.0.1:' + port } });
	let h;
	await lib.waitFor(async () => { h = await health(w2.port); return h.status === 503; }, 10000, '/health 503 (no Redis yet)');
	const c = await lib.connectUser(w2.url, 'r2');
	await lib.subscribe(c, { type: 'post', postId: '2' });
	const r2 = await lib.startRedis({ port });
	await lib.waitFor(async () => (await health(w2.port)).status === 200, 15000, '/health 200 once Redis is up');
	await lib.waitFor(async () => (await lib.numsub(r2, 'post_2')) === 1, 10000, 'ws:post_2 subscribed');
	const e = JSON.stringify({ type: 'post_liked', data: { postId: '2' } });
	await lib.publish(r2, 'post_2', e);
	await c.expect((j, t) => t === e, 'the event');
	c.close();
}, { timeout: 40000 });

async function checkDelivery(worker, r, user, postId) {
	await lib.waitFor(async () => (await health(worker.port)).status === 200, 10000, '/health 200');
	const c = await lib.connectUser(worker.url, user);
	await lib.subscribe(c, { type: 'post', postId });
	await lib.waitFor(async () => (await lib.numsub(r, 'post_' + postId)) === 1, 5000, 'ws:post_' + postId + ' subscribed');
	const e = JSON.stringify({ type: 'post_liked', data: { postId } });
	await lib.publish(r, 'post_' + postId, e);
	await c.expect((j, t) => t === e, 'the event');
	c.close();
}

s.test('REDIS_URL redis://:password@host:port/db and REDIS_PASSWORD both authenticate', async () => {
	const pw = 'p' + require('crypto').randomBytes(8).toString('hex');
	const r = await lib.startRedis({ args: ['--requirepass', pw], password: pw });
	const wa = await lib.startWorker({ env: { ...FAST, REDIS_URL: 'redis://:' + pw + '@127.0.0.1:' + r.port + '/2' } });
	await checkDelivery(wa, r, 'r3', '3');
	const wb = await lib.startWorker({ env: { ...FAST, REDIS_URL: 'redis://127.0.0.1:' + r.port, REDIS_PASSWORD: pw } });
	await checkDelivery(wb, r, 'r4', '4');
	// and the password is not logged
	assert.ok(!(wa.logs() + wb.logs()).includes(pw), 'the Redis password appears in a log');
}, { timeout: 30000 });

s.test('REDIS_URL unix:///path', async () => {
	const sock = path.join(lib.T, 'redis-unix.sock');
	const r = await lib.startRedis({ args: ['--unixsocket', sock, '--unixsocketperm', '700'] });
	const wu = await lib.startWorker({ env: { ...FAST, REDIS_URL: 'unix://' + sock } });
	await checkDelivery(wu, r, 'r5', '5');
	const list = await lib.redisCmd(r, ['CLIENT', 'LIST']);
	assert.ok(list.includes('addr=' + sock), 'no client on the unix socket in CLIENT LIST:\n' + list);
}, { timeout: 30000 });

s.run();

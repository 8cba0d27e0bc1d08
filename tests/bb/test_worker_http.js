// The worker's plain-HTTP side (SPEC §4.2, §4.4, §4.9): 426 for non-upgrade
// requests, /health, /metrics with the Node server's names, and the
// publish API (with Redis → through Redis; without Redis → local delivery).
'use strict';
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
let redis, w, wLocal;

s.setup(async () => {
	redis = await lib.startRedis();
	w = await lib.startWorker({ redis });
	wLocal = await lib.startWorker({});	// no REDIS_URL
});

function apiPublish(port, body, key) {
	const headers = { 'Content-Type': 'application/json' };
	if (key !== null) headers.Authorization = 'Bearer ' + (key === undefined ? lib.API_KEY : key);
	return lib.httpRequest(port, 'POST', '/api/publish', headers, typeof body === 'string' ? body : JSON.stringify(body));
}

s.test('plain HTTP GET / (no upgrade) → 426 Upgrade Required', async () => {
	for (const p of ['/', '/?token=x', '/some/path']) {
		const r = await lib.httpGet(w.port, p);
		assert.strictEqual(r.status, 426, 'GET ' + p + ' → ' + r.status);
	}
});

s.test('GET /health → 200 JSON {"status":"ok","redis":"up",…}', async () => {
	const r = await lib.httpGet(w.port, '/health');
	assert.strictEqual(r.status, 200);
	let j;
	assert.doesNotThrow(() => { j = JSON.parse(r.body); }, 'body is not JSON: ' + r.body.slice(0, 200));
	assert.strictEqual(j.status, 'ok');
	assert.strictEqual(j.redis, 'up');
	assert.ok(/json/.test(r.headers['content-type'] || ''), 'content-type ' + r.headers['content-type']);
});

s.test('GET /health without Redis configured → 200 JSON', async () => {
	const r = await lib.httpGet(wLocal.port, '/health');
	assert.strictEqual(r.status, 200);
	assert.strictEqual(JSON.parse(r.body).status, 'ok');
});

s.test('/metrics has the Node server\'s names and counts connections, messages and auth failures', async () => {
	const names = ['ws_active_connections', 'ws_total_connections', 'ws_total_messages', 'ws_auth_failures', 'ws_errors'];
	const get = async () => {
		const r = await lib.httpGet(w.port, '/metrics');
		assert.strictEqual(r.status, 200);
		return { text: r.body, m: lib.parseMetrics(r.body) };
	};
	const before = await get();
	for (const n of names) assert.ok(n in before.m, n + ' missing from /metrics:\n' + lib.tail(before.text, 30));
	const cs = [];
	for (let i = 0; i < 3; i++) cs.push(await lib.connectUser(w.url, 'metrics' + i));
	for (const c of cs) { c.send({ type: 'ping' }); await c.expect((j) => j && j.type === 'pong', 'pong'); }
	const bad = new lib.Client(lib.url(w.url, lib.token('wrong-secret-wrong-secret-wrong-secret', 'x')));
	await bad.waitClose();
	let after;
	await lib.waitFor(async () => {
		after = await get();
		return after.m.ws_active_connections === before.m.ws_active_connections + 3;
	}, 5000, 'ws_active_connections +3 (before ' + before.m.ws_active_connections + ')');
	assert.ok(after.m.ws_total_connections >= before.m.ws_total_connections + 3, 'ws_total_connections did not grow by 3');
	assert.ok(after.m.ws_total_messages >= before.m.ws_total_messages + 3, 'ws_total_messages did not grow by 3');
	assert.ok(after.m.ws_auth_failures >= before.m.ws_auth_failures + 1, 'ws_auth_failures did not grow');
	for (const c of cs) c.close();
	await lib.waitFor(async () => (await get()).m.ws_active_connections === before.m.ws_active_connections, 5000,
	    'ws_active_connections back after the clients closed');
});

s.test('POST /api/publish with the key → 2xx and the event reaches a subscriber', async () => {
	const c = await lib.connectUser(w.url, 'pub1');
	await lib.subscribe(c, { type: 'post', postId: '1' });
	const data = { postId: '1', likesCount: 3 };
	const r = await apiPublish(w.port, { channel: 'post_1', type: 'post_liked', data });
	assert.ok(r.status >= 200 && r.status < 300, 'status ' + r.status + ' ' + r.body);
	const m = await c.expect((j) => j && j.type === 'post_liked', 'the published event');
	assert.deepStrictEqual(m.json.data, data);
	c.close();
});

s.test('POST /api/publish without the key or with a wrong key → 401, nothing delivered', async () => {
	const c = await lib.connectUser(w.url, 'pub2');
	await lib.subscribe(c, { type: 'post', postId: '2' });
	const from = c.msgs.length;
	const r1 = await apiPublish(w.port, { channel: 'post_2', type: 'evil', data: {} }, null);
	assert.strictEqual(r1.status, 401, 'no key → ' + r1.status);
	const r2 = await apiPublish(w.port, { channel: 'post_2', type: 'evil', data: {} }, lib.API_KEY + 'x');
	assert.strictEqual(r2.status, 401, 'wrong key → ' + r2.status);
	const r3 = await apiPublish(w.port, { channel: 'post_2', type: 'evil', data: {} }, lib.API_KEY.slice(0, -1));
	assert.strictEqual(r3.status, 401, 'key prefix → ' + r3.status);
	const sentinel = JSON.stringify({ type: 'sentinel', data: {} });
	await lib.publish(redis, 'post_2', sentinel);
	await c.expect((j, t) => t === sentinel, 'the sentinel');
	assert.ok(!c.msgs.slice(from).some((m) => m.json && m.json.type === 'evil'), 'an unauthorized publish was delivered');
	c.close();
});

s.test('POST /api/publish with Redis configured goes through Redis (a Redis subscriber sees it)', async () => {
	// A plain Redis SUBSCRIBE on ws:post_3 — the channel other hosts listen on.
	const net = require('net');
	const sub = net.connect(redis.port, '127.0.0.1');
	let got = '';
	sub.on('data', (d) => { got += d.toString('utf8'); });
	sub.write('SUBSCRIBE ws:post_3\r\n');
	await lib.waitFor(() => got.includes('subscribe'), 5000, 'SUBSCRIBE confirmed');
	const r = await apiPublish(w.port, { channel: 'post_3', type: 'post_liked', data: { postId: '3' } });
	assert.ok(r.status >= 200 && r.status < 300, 'status ' + r.status);
	await lib.waitFor(() => got.includes('post_liked'), 5000, 'the event on Redis ws:post_3');
	sub.destroy();
});

s.test('POST /api/publish keeps every member of a flat event but the routing "channel" (Redis and local)', async () => {
	// fonana publishes flat events: {type:'notification', userId, notification}.
	for (const [wk, uid] of [[w, 'flat1'], [wLocal, 'flat2']]) {
		const c = await lib.connectUser(wk.url, uid);
		await lib.subscribe(c, { type: 'notifications', userId: uid });
		const ev = { type: 'notification', userId: uid, notification: { id: 'n1', text: 'hi', read: false }, n: 7 };
		const r = await apiPublish(wk.port, Object.assign({ channel: 'notifications_' + uid }, ev));
		assert.ok(r.status >= 200 && r.status < 300, 'status ' + r.status + ' ' + r.body);
		const m = await c.expect((j) => j && j.type === 'notification', 'the flat event');
		assert.deepStrictEqual(m.json, ev, 'members lost on the way: ' + m.text);
		c.close();
	}
});

s.test('without Redis, POST /api/publish delivers locally', async () => {
	const c = await lib.connectUser(wLocal.url, 'local1');
	await lib.subscribe(c, { type: 'creator', id: 'cl' });
	const data = { creatorId: 'cl', postId: '9' };
	const r = await apiPublish(wLocal.port, { channel: 'creator_cl', type: 'new_post', data });
	assert.ok(r.status >= 200 && r.status < 300, 'status ' + r.status + ' ' + r.body);
	const m = await c.expect((j) => j && j.type === 'new_post', 'the event');
	assert.deepStrictEqual(m.json.data, data);
	const r401 = await apiPublish(wLocal.port, { channel: 'creator_cl', type: 'x', data: {} }, 'nope');
	assert.strictEqual(r401.status, 401);
	c.close();
});

s.run();

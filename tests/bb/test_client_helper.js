// clients/js/wsd-client.js under Node (npm ws as its WebSocket), against real
// workers and Redis, with clients/node/publisher.js numbering its events:
// nothing lost and nothing doubled across the client's own network cuts and
// a kill -9 of the worker it was on; a Redis restarted without persistence
// gives onResync, then the live stream.
'use strict';
const path = require('path');
const lib = require('./lib');
const { assert } = lib;
const Redis = require('ioredis');
const WsdClient = require(path.join(lib.TOP, 'clients/js/wsd-client.js'));
const { createPublisher } = require(path.join(lib.TOP, 'clients/node/publisher.js'));

const s = lib.suite();
let redis, rc, pub;

s.setup(async () => {
	redis = await lib.startRedis();
	rc = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: null });
	pub = createPublisher(rc);
});
s.teardown(() => rc.disconnect());

// A helper client that records numbered events per channel key.
function helper(w, user, channel) {
	const got = [];
	const resyncs = [];
	const c = new WsdClient({
		url: w.url, token: () => lib.token(lib.SECRET, user), WebSocket: lib.WebSocket,
		backoffMin: 50, backoffMax: 500,
		onEvent: (ev, key) => { if (ev.type === 'num') got.push({ n: ev.data.n, key, offset: ev.offset }); },
		onResync: (key) => resyncs.push(key),
	});
	c.subscribe(channel);
	return { c, got, resyncs };
}

function checkOnce(got, from, to, what) {
	const ns = got.map((g) => g.n);
	const want = []; for (let i = from; i <= to; i++) want.push(i);
	const dups = ns.filter((n, i) => ns.indexOf(n) !== i);
	const lost = want.filter((n) => !ns.includes(n));
	assert.deepStrictEqual({ lost: lost.length, dups: dups.length }, { lost: 0, dups: 0 },
	    what + ': lost ' + JSON.stringify(lost.slice(0, 20)) + ' dups ' + JSON.stringify(dups.slice(0, 20)));
	assert.deepStrictEqual(ns, want, what + ': out of order');
}

async function subscribedOn(h) {
	await lib.waitFor(() => h.c.byKey.size > 0 && h.c.ws && h.c.ws.readyState === 1, 10000, 'the helper subscribed');
}

// What a master killed before its replica had a publish leaves: the
// retry, same idempotency key, stored again under a new offset.
s.test('an event stored twice under one idempotency key (its dedup key gone with a master): onEvent once, live and replayed after a cut', async () => {
	const w = await lib.startWorker({ redis });
	const h = helper(w, 'c9', { type: 'post', postId: 'c9' });
	await subscribedOn(h);
	const publish = (n) => pub.publish('post_c9', { type: 'num', data: { n } }, { idempotencyKey: 'ev-' + n });
	await publish(1);
	await publish(2);
	await lib.redisCmd(redis, ['DEL', 'ws:d:post_c9:ev-1']);
	await publish(1);		// live
	await publish(3);
	await lib.waitFor(() => h.got.some((g) => g.n === 3), 10000, 'event 3');
	h.c.ws._socket.destroy();
	await lib.redisCmd(redis, ['DEL', 'ws:d:post_c9:ev-2']);
	await publish(2);		// replayed from history after the cut
	await publish(4);
	await lib.waitFor(() => h.got.some((g) => g.n === 4), 10000, 'event 4');
	assert.strictEqual((await lib.redisCmd(redis, ['XLEN', 'ws:h:post_c9'])), 6, 'stored twice');
	checkOnce(h.got, 1, 4, 'one key, two offsets');
	assert.deepStrictEqual(h.resyncs, []);
	h.c.close();
}, { timeout: 30000 });

s.test('the client\'s own network cut (socket destroyed) 5 times while events flow: 0 lost, 0 doubled, in order', async () => {
	const w = await lib.startWorker({ redis });
	const h = helper(w, 'c1', { type: 'post', postId: 'c1' });
	await subscribedOn(h);
	let n = 0, cuts = 0;
	for (let round = 0; round < 5; round++) {
		for (let i = 0; i < 20; i++) await pub.publish('post_c1', { type: 'num', data: { n: ++n } });
		h.c.ws._socket.destroy();	// the network goes, no close frame
		cuts++;
		for (let i = 0; i < 20; i++) await pub.publish('post_c1', { type: 'num', data: { n: ++n } });
		await subscribedOn(h);
	}
	await lib.waitFor(() => h.got.length >= n, 15000, n + ' events (got ' + h.got.length + ')');
	await lib.sleep(100);
	checkOnce(h.got, 1, n, cuts + ' cuts');
	assert.deepStrictEqual(h.resyncs, []);
	h.c.close();
}, { timeout: 60000 });

s.test('the client\'s TCP connection killed in the kernel (ss -K of the worker\'s end) 3 times while events flow: 0 lost, 0 doubled, in order', async () => {
	const w = await lib.startWorker({ redis });
	const h = helper(w, 'k1', { type: 'post', postId: 'k1' });
	await subscribedOn(h);
	let n = 0;
	for (let round = 0; round < 3; round++) {
		for (let i = 0; i < 20; i++) await pub.publish('post_k1', { type: 'num', data: { n: ++n } });
		// The worker's socket whose peer is the client's port: aborted,
		// the client gets a reset.
		const ws = h.c.ws, port = ws._socket.localPort;
		const r = require('child_process').spawnSync('ss', ['-K', 'dst', '127.0.0.1', 'dport', '=', String(port)], { encoding: 'utf8' });
		assert.ok(r.stdout.includes(':' + port), 'ss -K found the connection: ' + r.stdout + r.stderr);
		await lib.waitFor(() => h.c.ws !== ws, 10000, 'the helper saw the cut');
		for (let i = 0; i < 20; i++) await pub.publish('post_k1', { type: 'num', data: { n: ++n } });
		await subscribedOn(h);
	}
	await lib.waitFor(() => h.got.length >= n, 15000, n + ' events (got ' + h.got.length + ')');
	await lib.sleep(100);
	checkOnce(h.got, 1, n, '3 kernel cuts');
	assert.deepStrictEqual(h.resyncs, []);
	h.c.close();
}, { timeout: 60000 });

s.test('kill -9 of the worker the client is on: it resumes on the other instance, 0 lost, 0 doubled', async () => {
	const a = await lib.startWorker({ redis });
	const h = helper(a, 'c2', { type: 'post', postId: 'c2' });
	await subscribedOn(h);
	const b = await lib.startWorker({ redis, port: a.port });	// same port, SO_REUSEPORT
	let n = 0;
	for (let i = 0; i < 30; i++) await pub.publish('post_c2', { type: 'num', data: { n: ++n } });
	process.kill(a.pid, 'SIGKILL');
	for (let i = 0; i < 30; i++) await pub.publish('post_c2', { type: 'num', data: { n: ++n } });
	await lib.waitFor(() => h.got.length >= n, 20000, n + ' events (got ' + h.got.length + ')');
	await lib.sleep(100);
	checkOnce(h.got, 1, n, 'across kill -9');
	assert.deepStrictEqual(h.resyncs, []);
	h.c.close();
	lib.killGroup(b.pid);
}, { timeout: 60000 });

s.test('Redis restarted without persistence: onResync, then the live stream (0 lost after it)', async () => {
	const r2 = await lib.startRedis();
	const rc2 = new Redis({ port: r2.port, host: '127.0.0.1', maxRetriesPerRequest: null });
	const pub2 = createPublisher(rc2);
	try {
		const w = await lib.startWorker({ redis: r2, env: { WS_REDIS_BACKOFF_MAX_MS: '300' } });
		const h = helper(w, 'c3', { type: 'post', postId: 'c3' });
		await subscribedOn(h);
		for (let i = 1; i <= 10; i++) await pub2.publish('post_c3', { type: 'num', data: { n: i } });
		await lib.waitFor(() => h.got.length >= 10, 10000, 'events 1..10');
		await r2.kill();
		await lib.startRedis({ port: r2.port });	// empty: no persistence
		await lib.waitFor(async () => (await lib.httpGet(w.port, '/health')).status === 200, 20000, 'the worker back on Redis');
		for (let i = 11; i <= 30; i++) await pub2.publish('post_c3', { type: 'num', data: { n: i } });
		await lib.waitFor(() => h.got.length >= 30, 15000, 'events 11..30 (got ' + h.got.length + ')');
		assert.deepStrictEqual(h.resyncs, ['post_c3'], 'one resync');
		checkOnce(h.got, 1, 30, 'across the Redis restart');
		h.c.close();
	} finally {
		rc2.disconnect();
	}
}, { timeout: 60000 });

s.test('two channels resynced under a live socket (Redis restarted without persistence), events interleaved: each event reaches onEvent with its own channel, and a resume is per channel', async () => {
	const r2 = await lib.startRedis();
	const rc2 = new Redis({ port: r2.port, host: '127.0.0.1', maxRetriesPerRequest: null });
	const pub2 = createPublisher(rc2);
	try {
		const w = await lib.startWorker({ redis: r2, env: { WS_REDIS_BACKOFF_MAX_MS: '300' } });
		const got = { post_ia: [], post_ib: [] }, resyncs = [], wrong = [];
		const c = new WsdClient({
			url: w.url, token: () => lib.token(lib.SECRET, 'i1'), WebSocket: lib.WebSocket,
			backoffMin: 50, backoffMax: 500,
			onEvent: (ev, key) => {
				if (ev.type !== 'num') return;
				if (key !== ev.data.ch) wrong.push({ n: ev.data.n, ch: ev.data.ch, key });
				if (got[ev.data.ch]) got[ev.data.ch].push({ n: ev.data.n });
			},
			onResync: (key) => resyncs.push(key),
		});
		c.subscribe({ type: 'post', postId: 'ia' });
		c.subscribe({ type: 'post', postId: 'ib' });
		await lib.waitFor(() => c.byKey.size === 2, 10000, 'both subscribed');
		let n = 0;
		const ev = (ch) => pub2.publish(ch, { type: 'num', data: { n: ++n, ch } });
		await ev('post_ia'); await ev('post_ib');
		await lib.waitFor(() => got.post_ia.length + got.post_ib.length === 2, 10000, 'events 1, 2');
		await r2.kill();
		await lib.startRedis({ port: r2.port });	// empty: both epochs are lost
		await lib.waitFor(async () => (await lib.httpGet(w.port, '/health')).status === 200, 20000, 'the worker back on Redis');
		// Where the resyncs come before any event, publish first on the
		// channel resynced last: a helper that guessed by arrival order errs.
		await lib.waitFor(() => resyncs.length === 2, 2000, 'resyncs').catch(() => {});
		const order = resyncs.length === 2 ? [resyncs[1], resyncs[0]] : ['post_ib', 'post_ia'];
		for (let i = 0; i < 5; i++) { await ev(order[0]); await ev(order[1]); }
		await lib.waitFor(() => got.post_ia.length + got.post_ib.length === 12, 15000, 'events 3..12');
		assert.deepStrictEqual(wrong, [], 'events handed to the wrong channel');
		assert.deepStrictEqual(resyncs.slice().sort(), ['post_ia', 'post_ib']);
		// Missed while the client's network is cut: each channel resumes
		// from its own position (a wrong one would resync or skip).
		c.ws._socket.destroy();
		for (let i = 0; i < 5; i++) { await ev('post_ia'); await ev('post_ib'); }
		await lib.waitFor(() => got.post_ia.length + got.post_ib.length === 22, 15000,
		    'events 13..22 after the cut (got ' + (got.post_ia.length + got.post_ib.length) + ')');
		await lib.sleep(100);
		assert.deepStrictEqual(wrong, [], 'events handed to the wrong channel after the resume');
		assert.strictEqual(resyncs.length, 2, 'no resync on the resume: ' + JSON.stringify(resyncs));
		for (const k of ['post_ia', 'post_ib']) {
			const ns = got[k].map((g) => g.n);
			assert.deepStrictEqual(ns, ns.slice().sort((a, b) => a - b), k + ' in order');
			assert.strictEqual(new Set(ns).size, ns.length, k + ' once');
			assert.strictEqual(ns.length, 11, k + ': ' + JSON.stringify(ns));
		}
		c.close();
	} finally {
		rc2.disconnect();
	}
}, { timeout: 60000 });

s.run();

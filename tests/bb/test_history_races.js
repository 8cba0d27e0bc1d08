// Channel history under races (SPEC §4.8): a socket subscribing with
// positions to a key its worker does not follow yet misses nothing
// published while the worker's SUBSCRIBE and its history read are both in
// flight; after a Redis link drop a worker reads each key's history once,
// whatever the number of its subscribers with positions.
'use strict';
const path = require('path');
const lib = require('./lib');
const { assert } = lib;
const Redis = require('ioredis');
const { createPublisher } = require(path.join(lib.TOP, 'clients/node/publisher.js'));

const s = lib.suite();
let redis;

s.setup(async () => {
	redis = await lib.startRedis();
});

function apiPublish(port, body) {
	return lib.httpRequest(port, 'POST', '/api/publish',
	    { 'Content-Type': 'application/json', Authorization: 'Bearer ' + lib.API_KEY }, JSON.stringify(body));
}

// "ms-seq" ids in order.
function idCmp(a, b) {
	const [am, as] = a.split('-').map(BigInt), [bm, bs] = b.split('-').map(BigInt);
	return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : (as < bs ? -1 : 1);
}

s.test('fresh keys subscribed with recover:true while an event is published on each at once: every event after the subscribed offset arrives, none before it', async () => {
	const w = await lib.startWorker({ redis, env: { WS_MAX_SUBSCRIPTIONS: '1000' } });
	const c = await lib.connectUser(w.url, 'r1');
	const N = 300;
	const subs = new Map();
	// The subscribe and the publish reach the worker together: its
	// SUBSCRIBE and its history read go to Redis along with the event.
	for (let b = 0; b < N; b += 10) {
		await Promise.all(Array.from({ length: 10 }, async (_, j) => {
			const i = b + j, key = 'post_race' + i;
			c.send({ type: 'subscribe', channel: { type: 'post', postId: 'race' + i }, recover: true });
			const r = await apiPublish(w.port, { channel: key, type: 'num', data: { n: i } });
			assert.strictEqual(r.status, 200, r.body);
		}));
	}
	await lib.waitFor(() => c.msgs.filter((m) => m.json && m.json.type === 'subscribed').length === N, 20000, N + ' subscribed replies');
	for (const m of c.msgs) if (m.json && m.json.type === 'subscribed') subs.set(m.json.data.channelKey, m.json.offset);
	const want = new Map();
	for (let i = 0; i < N; i++) {
		const key = 'post_race' + i;
		const h = await lib.redisCmd(redis, ['XRANGE', 'ws:h:' + key, '-', '+']);
		assert.strictEqual(h.length, 1, key);
		if (idCmp(h[0][0], subs.get(key)) > 0) want.set(i, h[0][0]);
	}
	lib.note(want.size + ' of ' + N + ' events came after their subscribed offset');
	const got = () => c.msgs.filter((m) => m.json && m.json.type === 'num');
	await lib.waitFor(() => got().length >= want.size, 10000,
	    want.size + ' events after their subscribed offsets (got ' + got().length + ')').catch(() => {});
	await lib.sleep(200);
	const ns = got().map((m) => m.json.data.n).sort((a, b) => a - b);
	const lost = [...want.keys()].filter((n) => !ns.includes(n));
	const extra = ns.filter((n) => !want.has(n));
	assert.deepStrictEqual({ lost, extra }, { lost: [], extra: [] }, 'events lost or delivered though older than subscribed');
	for (const m of got()) assert.strictEqual(m.json.offset, want.get(m.json.data.n));
	c.close();
	lib.killGroup(w.pid);
	await w.proc.exited;
}, { timeout: 60000 });

s.test('Redis reads the worker\'s command link (history read, then a publish) before its subscriber link (the SUBSCRIBE): the event published after the read still arrives', async () => {
	// While DEBUG SLEEP holds Redis, the worker writes, in this order: a
	// publish on its command link, the SUBSCRIBE of a key subscribed with
	// positions on its subscriber link and that key's history read on its
	// command link, then a publish on that key on its command link again.
	// Redis wakes with the command link first in line and runs all three
	// of its commands before the SUBSCRIBE.
	const r = await lib.startRedis({ args: ['--enable-debug-command', 'local'] });
	const w = await lib.startWorker({ redis: r });
	const admin = new Redis({ port: r.port, host: '127.0.0.1' });
	try {
		await admin.ping();
		assert.strictEqual((await apiPublish(w.port, { channel: 'post_sub1', type: 'warm' })).status, 200);
		const c = await lib.connectUser(w.url, 'sub1');
		// Redis has the read script (no NOSCRIPT round trip below).
		c.send({ type: 'subscribe', channel: { type: 'post', postId: 'sub1warm' }, recover: true });
		await c.expect((j) => j && j.type === 'subscribed', 'the first subscribe');
		const sleeping = admin.call('DEBUG', 'SLEEP', '2');
		// Each step is given to the worker before the next (Redis sleeps:
		// nothing answers, so the order is all the pauses change).
		const other = apiPublish(w.port, { channel: 'post_other', type: 'warm' });
		await lib.sleep(150);
		c.send({ type: 'subscribe', channel: { type: 'post', postId: 'sub1' }, recover: true });
		await lib.sleep(150);
		const published = apiPublish(w.port, { channel: 'post_sub1', type: 'num', data: { n: 1 } });
		await sleeping;
		assert.strictEqual((await other).status, 200);
		assert.strictEqual((await published).status, 200);
		const sub = await c.expect((j) => j && j.type === 'subscribed' && j.data.channelKey === 'post_sub1', 'subscribed', 20000);
		const h = await lib.redisCmd(r, ['XRANGE', 'ws:h:post_sub1', '-', '+']);
		const ev = h[h.length - 1][0];
		lib.note('subscribed at ' + sub.json.offset + ', the event is ' + ev);
		if (idCmp(ev, sub.json.offset) > 0) {
			const m = await c.expect((j) => j && j.type === 'num', 'the event published after subscribed ' + sub.json.offset, 5000);
			assert.strictEqual(m.json.offset, ev);
		} else {
			// Its position already covers the event: it must not come.
			assert.strictEqual((await apiPublish(w.port, { channel: 'post_sub1', type: 'marker' })).status, 200);
			await c.expect((j) => j && j.type === 'marker', 'the marker');
			assert.ok(!c.msgs.some((m) => m.json && m.json.type === 'num'), 'an event at or before the subscribed offset was delivered');
		}
		c.close();
	} finally {
		admin.disconnect();
		lib.killGroup(w.pid);
		await w.proc.exited;
		await r.kill();
	}
}, { timeout: 60000 });

// cmdstat_xrange counts the XRANGE calls the history read script makes.
async function xrangeCalls(redis) {
	const info = await lib.redisCmd(redis, ['INFO', 'commandstats']);
	const m = /cmdstat_xrange:calls=(\d+)/.exec(info);
	return m ? Number(m[1]) : 0;
}

s.test('after a Redis link drop, 50 subscribers with positions on one key: one history read, each gets what it missed once, in order', async () => {
	const redis = await lib.startRedis();
	const w = await lib.startWorker({ redis, env: { WS_REDIS_BACKOFF_MIN_MS: '1000', WS_REDIS_BACKOFF_MAX_MS: '1000' } });
	const rc = new Redis({ port: redis.port, host: '127.0.0.1' });
	try {
		const pub = createPublisher(rc);
		const cs = [];
		for (let i = 0; i < 50; i++) {
			const c = await lib.connectUser(w.url, 'f' + i);
			c.send({ type: 'subscribe', channel: { type: 'post', postId: 'fan' }, recover: true });
			await c.expect((j) => j && j.type === 'subscribed', 'subscribed');
			cs.push(c);
		}
		const nums = (c) => c.msgs.filter((m) => m.json && m.json.type === 'num').map((m) => m.json.data.n);
		for (let i = 1; i <= 3; i++) await pub.publish('post_fan', { type: 'num', data: { n: i } });
		await lib.waitFor(() => cs.every((c) => nums(c).length === 3), 10000, 'events 1..3 everywhere');
		await lib.redisCmd(redis, ['CONFIG', 'RESETSTAT']);
		await lib.redisCmd(redis, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
		await lib.waitFor(async () => (await lib.httpGet(w.port, '/health')).status === 503, 10000, 'the worker sees its link down');
		for (let i = 4; i <= 10; i++) await pub.publish('post_fan', { type: 'num', data: { n: i } });
		await lib.waitFor(() => cs.every((c) => nums(c).length >= 10), 20000, 'events 4..10 everywhere after the link is back');
		const want = []; for (let i = 1; i <= 10; i++) want.push(i);
		for (const c of cs) assert.deepStrictEqual(nums(c), want);
		assert.strictEqual(await xrangeCalls(redis), 1, 'history reads after the link came back');
		for (const c of cs) c.close();
	} finally {
		rc.disconnect();
		lib.killGroup(w.pid);
		await w.proc.exited;
	}
}, { timeout: 60000 });

s.run();

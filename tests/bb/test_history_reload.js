// Nothing lost across `wsctl reload` (SPEC §4.8): wsd runs 2 instances; 30
// clients using clients/js/wsd-client.js follow one channel while
// clients/node/publisher.js numbers events all along; two reloads replace
// every instance (each drains over WS_DRAIN_SPREAD_MS): every client gets
// every event exactly once, in order.  Also kill -9 of an instance.
'use strict';
const path = require('path');
const lib = require('./lib');
const { assert } = lib;
const Redis = require('ioredis');
const WsdClient = require(path.join(lib.TOP, 'clients/js/wsd-client.js'));
const { createPublisher } = require(path.join(lib.TOP, 'clients/node/publisher.js'));

const s = lib.suite();
let redis, d, rc, pub;
const K = 30;

s.setup(async () => {
	redis = await lib.startRedis();
	d = await lib.startWsd({ redis, instances: 2, env: { WS_DRAIN_SPREAD_MS: '1500' }, app: { kill_timeout: 5000 } });
	rc = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: null });
	pub = createPublisher(rc);
});
s.teardown(() => rc.disconnect());

function helpers(key, n) {
	const hs = [];
	for (let i = 0; i < n; i++) {
		const h = { got: [], resyncs: [] };
		h.c = new WsdClient({
			url: d.url, token: () => lib.token(lib.SECRET, 'r' + key + i), WebSocket: lib.WebSocket,
			backoffMin: 100, backoffMax: 2000,
			onEvent: (ev) => { if (ev.type === 'num') h.got.push(ev.data.n); },
			onResync: (k) => h.resyncs.push(k),
		});
		h.c.subscribe({ type: 'post', postId: key });
		hs.push(h);
	}
	return hs;
}

async function publishing(key, until) {
	let n = 0;
	while (!until()) await pub.publish('post_' + key, { type: 'num', data: { n: ++n } });
	return n;
}

function check(hs, n, what) {
	const want = []; for (let i = 1; i <= n; i++) want.push(i);
	let bad = 0;
	for (const h of hs) {
		const dups = h.got.filter((x, i) => h.got.indexOf(x) !== i).length;
		const lost = want.filter((x) => !h.got.includes(x)).length;
		if (dups || lost || h.resyncs.length || h.got.join() !== want.join()) bad++;
	}
	assert.strictEqual(bad, 0, what + ': ' + bad + ' of ' + hs.length + ' clients lost, doubled or reordered events');
}

async function pids() { return lib.instancesOf(await lib.status()).map((i) => i.pid); }

s.test('2 × wsctl reload while publishing: every client gets every event once, in order', async () => {
	const hs = helpers('rl', K);
	await lib.waitFor(() => hs.every((h) => h.c.byKey.size === 1), 15000, 'all helpers subscribed');
	let stop = false;
	const loop = publishing('rl', () => stop);
	try {
		for (let r = 0; r < 2; r++) {
			const before = await pids();
			const res = await lib.wsctlAsync(['reload', 'fonana-ws'], { timeout: 60000 });
			assert.strictEqual(res.status, 0, 'wsctl reload: ' + res.stderr);
			await lib.waitFor(async () => {
				const now = lib.instancesOf(await lib.status());
				return now.length === 2 && now.every((i) => i.status === 'online' && !before.includes(i.pid));
			}, 30000, 'every instance replaced');
		}
		await lib.waitFor(() => hs.every((h) => h.c.byKey.size === 1 && h.c.ws && h.c.ws.readyState === 1), 20000, 'all helpers back');
	} finally {
		stop = true;
	}
	const n = await loop;
	await lib.waitFor(() => hs.every((h) => h.got.length >= n), 20000, 'every client at event ' + n);
	await lib.sleep(200);
	lib.note(n + ' events × ' + K + ' clients across 2 reloads');
	check(hs, n, 'reload');
	for (const h of hs) h.c.close();
}, { timeout: 150000 });

s.test('kill -9 of an instance while publishing: every client gets every event once, in order', async () => {
	const hs = helpers('kl', K);
	await lib.waitFor(() => hs.every((h) => h.c.byKey.size === 1), 15000, 'all helpers subscribed');
	let stop = false;
	const loop = publishing('kl', () => stop);
	try {
		const victim = lib.instancesOf(await lib.status())[0];
		process.kill(victim.pid, 'SIGKILL');
		await lib.waitFor(async () => {
			const now = lib.instancesOf(await lib.status());
			return now.length === 2 && now.every((i) => i.status === 'online' && i.pid !== victim.pid);
		}, 30000, 'the instance restarted');
		await lib.waitFor(() => hs.every((h) => h.c.byKey.size === 1 && h.c.ws && h.c.ws.readyState === 1), 20000, 'all helpers back');
	} finally {
		stop = true;
	}
	const n = await loop;
	await lib.waitFor(() => hs.every((h) => h.got.length >= n), 20000, 'every client at event ' + n);
	await lib.sleep(200);
	check(hs, n, 'kill -9');
	for (const h of hs) h.c.close();
}, { timeout: 120000 });

s.run();

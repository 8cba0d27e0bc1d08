// Nothing lost across a Sentinel failover (SPEC §4.5, §4.8; docs/deploy.md):
// a master and a replica with min-replicas-to-write 1 / min-replicas-max-lag
// 10 (as deploy/ configures them) and three sentinels; a default ioredis
// Sentinel client publishing numbered events through clients/node/publisher.js
// and a client using clients/js/wsd-client.js on a worker that follows the
// sentinels.  Across SENTINEL FAILOVER, then kill -9 of the new master (and
// its restart as a replica: with min-replicas-to-write 1 a lone master takes
// no writes), with the client's own connection cut at each step, every
// event published arrives, once, in order.
//
// The kill -9 is made to lose writes the client already saw, every run.
// Replication is asynchronous (min-replicas-max-lag bounds the lag, it
// does not wait for the replica), so a master killed right after a write
// may take it along while its PUBLISH went out: rare by itself, so the
// test cuts the replica off the master (requirepass, which the replica
// lacks, keeps it out) for a few events first.  A publish whose reply the
// kill took is retried by the publisher with the same idempotency key on
// the promoted master, which never had that key, so it is stored again
// under a new offset; the test retries each such event, as the publisher
// would, and the helper must drop the second copy.  Which kind of
// duplicate a failure is gets reported: the same offset twice (the
// worker's own doubling) or one event stored under two offsets.  The
// promoted master's history lacks the client's position then: it gets a
// resync, and an event that master stored before the client was back on
// it is covered by the reload that a resync asks for (counted apart).
//
// The control: the same failover without min-replicas-to-write.  The
// demoted master then keeps taking the publisher's writes until the
// sentinels reconfigure it, and those events never reach the new master:
// the run must show them (else the first test proves nothing about the
// settings).
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('./lib');
const { assert } = lib;
const Redis = require('ioredis');
const WsdClient = require(path.join(lib.TOP, 'clients/js/wsd-client.js'));
const { createPublisher } = require(path.join(lib.TOP, 'clients/node/publisher.js'));

const s = lib.suite();
const SAFE = ['--min-replicas-to-write', '1', '--min-replicas-max-lag', '10'];

async function startSentinel(masterPort) {
	const port = await lib.freePort();
	const conf = path.join(lib.T, 'sentinel-' + port + '.conf');
	fs.writeFileSync(conf, ['port ' + port, 'bind 127.0.0.1', 'dir ' + lib.T,
	    'sentinel monitor mymaster 127.0.0.1 ' + masterPort + ' 2',
	    'sentinel down-after-milliseconds mymaster 1000', 'sentinel failover-timeout mymaster 5000',
	    'sentinel parallel-syncs mymaster 1', ''].join('\n'));
	const proc = lib.spawnTracked('redis-sentinel', [conf], { logName: 'sentinel-' + port });
	await lib.waitFor(async () => (await lib.redisCmd(port, ['PING']).catch(() => null)) === 'PONG', 10000, 'sentinel on ' + port);
	return { port, proc };
}

const role = async (port) => (await lib.redisCmd(port, ['ROLE']).catch(() => ['down']))[0];

// Each step is noted with the time it took, so a run that fails shows
// where it was (CI keeps only the output).
function stepper() {
	let t = Date.now();
	return (what) => { const now = Date.now(); lib.note(what + ' (+' + (now - t) + ' ms)'); t = now; };
}

// The publishing loop ends with the test; after a failure its current
// publish may be retrying against a broken cluster, so it is not waited
// for (the run's teardown stops every process).
async function endLoop(x, failed) {
	x.stop = true;
	if (!failed)
		await lib.withTimeout(x.loop, 70000, 'the publishing loop');
}

// A master, its replica, 3 sentinels, a worker following them, a default
// ioredis Sentinel publisher and a helper client counting numbered events.
async function cluster(args) {
	const x = { sentinels: [], got: [], copies: new Map(), msgs: [], resyncs: [], acked: new Set() };
	x.m = await lib.startRedis({ args });
	x.r = await lib.startRedis({ args: args.concat(['--replicaof', '127.0.0.1', String(x.m.port)]) });
	await lib.waitFor(async () => /master_link_status:up/.test(await lib.redisCmd(x.r, ['INFO', 'replication'])), 15000, 'replica in sync');
	for (let i = 0; i < 3; i++) x.sentinels.push(await startSentinel(x.m.port));
	await lib.waitFor(async () => {
		for (const y of x.sentinels) {
			const info = (await lib.redisCmd(y.port, ['SENTINEL', 'MASTER', 'mymaster'])).join(' ');
			if (!/num-slaves 1 /.test(info + ' ') || !/num-other-sentinels 2 /.test(info + ' ')) return false;
		}
		return true;
	}, 30000, 'sentinels see the replica and each other');
	const list = x.sentinels.map((y) => '127.0.0.1:' + y.port).join(',');
	x.w = await lib.startWorker({ redis: null, env: { REDIS_SENTINELS: list, WS_REDIS_BACKOFF_MAX_MS: '500' } });
	await lib.waitFor(async () => (await lib.httpGet(x.w.port, '/health')).status === 200, 15000, 'the worker on the master');
	// A default ioredis Sentinel client, as the application has.
	x.rc = new Redis({ sentinels: x.sentinels.map((y) => ({ host: '127.0.0.1', port: y.port })), name: 'mymaster' });
	x.rc.on('error', () => {});	// reconnects by itself; publish() retries
	// History long enough to hold the whole run, for missingFrom.
	x.pub = createPublisher(x.rc, { historySize: 100000 });
	x.c = new WsdClient({
		url: x.w.url, token: () => lib.token(lib.SECRET, 'sent1'), WebSocket: lib.WebSocket, backoffMin: 50, backoffMax: 500,
		onEvent: (ev) => { if (ev.type === 'num') x.got.push(ev.data.n); },
		// Every copy off the socket, before the helper's dedup.
		onMessage: (m) => {
			x.msgs.push({ type: m.type, offset: m.offset });
			if (m.type !== 'num') return;
			if (!x.copies.has(m.data.n)) x.copies.set(m.data.n, []);
			x.copies.get(m.data.n).push(m.offset + '@' + m.epoch);
		},
		onResync: (key) => x.resyncs.push(key),
	});
	x.c.subscribe({ type: 'post', postId: 's1' });
	await lib.waitFor(() => x.c.byKey.size === 1 && x.c.ws && x.c.ws.readyState === 1, 10000, 'the helper subscribed');
	x.n = 0;
	x.stop = false;
	x.loop = (async () => {
		while (!x.stop) {
			const k = ++x.n;
			await x.pub.publish('post_s1', { type: 'num', data: { n: k } }, { idempotencyKey: 'num-' + k });
			x.acked.add(k);
			await lib.sleep(20);	// about 50 events/s, as the issue measured
		}
	})();
	x.close = async () => {
		x.stop = true;
		await x.loop.catch(() => {});
		x.c.close();
		x.rc.disconnect();
		lib.killGroup(x.w.pid);
		for (const y of x.sentinels) lib.killGroup(y.proc.pid);
		await x.m.kill();
		await x.r.kill();
	};
	return x;
}

// The client's own network goes (no close frame); the helper reconnects
// and resumes with `since`.
function cutClient(x) {
	if (x.c.ws && x.c.ws._socket) x.c.ws._socket.destroy();
}

// The events the socket carried more than once, by kind: the same
// position twice is the worker's doubling (its dedup, or a stale `since`
// from the helper); two offsets, one event stored twice (a publisher retry
// landing on two masters).
function doubled(x) {
	const out = { sameOffset: [], twoOffsets: [] };
	for (const [n, c] of x.copies) {
		if (c.length < 2) continue;
		(new Set(c).size < c.length ? out.sameOffset : out.twoOffsets).push(n + ' ' + c.join(' '));
	}
	return out;
}

function cmpId(a, b) {
	const [am, as] = a.split('-').map(BigInt), [bm, bs] = b.split('-').map(BigInt);
	return am !== bm ? (am < bm ? -1 : 1) : as < bs ? -1 : as > bs ? 1 : 0;
}

// What a resync covers: the history up to the position it came with (the
// subscribed right before it, inclusive), or, on a live socket, up to the
// event right after it (exclusive).  An event stored there is reloaded
// with the channel's state, not delivered.
async function coveredByResync(x, port, missing) {
	const bounds = [];
	x.msgs.forEach((m, i) => {
		if (m.type !== 'resync') return;
		const before = x.msgs[i - 1], after = x.msgs[i + 1];
		if (before && before.type === 'subscribed') bounds.push([before.offset, 0]);
		else if (after && after.offset) bounds.push([after.offset, -1]);
	});
	const h = await lib.redisCmd(port, ['XRANGE', 'ws:h:post_s1', '-', '+']);
	const at = new Map();
	for (const [id, f] of h) {
		const n = JSON.parse(f[f.indexOf('e') + 1]).data.n;
		if (!at.has(n)) at.set(n, id);
	}
	return missing.filter((n) => at.has(n) && bounds.some(([b, max]) => cmpId(at.get(n), b) <= max));
}

// The acknowledged publishes up to `at` that the master's history lacks
// (within what its capped history still holds).
async function missingFrom(port, acked, at) {
	const h = await lib.redisCmd(port, ['XRANGE', 'ws:h:post_s1', '-', '+']);
	const have = new Set(h.map(([, f]) => JSON.parse(f[f.indexOf('e') + 1]).data.n));
	const from = Math.min(...have);
	return [...acked].filter((k) => k >= from && k <= at && !have.has(k));
}

s.test('SENTINEL FAILOVER, then kill -9 of the new master, while publishing and cutting the client\'s connection: 0 lost, 0 doubled at the client', async () => {
	const step = stepper();
	const x = await cluster(SAFE);
	step('cluster up');
	let failed = true;
	try {
		await lib.waitFor(() => x.got.length >= 50, 15000, '50 events before the failover');
		step('failover at ' + x.n);
		assert.strictEqual(await lib.redisCmd(x.sentinels[0].port, ['SENTINEL', 'FAILOVER', 'mymaster']), 'OK');
		cutClient(x);
		await lib.waitFor(async () => (await role(x.r.port)) === 'master' && (await role(x.m.port)) === 'slave', 30000, 'the replica promoted');
		step('the replica promoted at ' + x.n);
		const at = x.n;
		await lib.waitFor(() => x.got.length > 0 && x.got[x.got.length - 1] > at + 50, 30000, '50 events after the failover');
		step('50 events after the failover');
		// Every publish the publisher saw succeed is on the new master.
		const missing = await missingFrom(x.r.port, x.acked, at);
		assert.deepStrictEqual(missing, [], 'acknowledged publishes missing from the new master');
		// The replica loses the stream: what the master takes now, the
		// client gets, and the kill -9 loses.
		await lib.waitFor(async () => /master_link_status:up/.test(await lib.redisCmd(x.m, ['INFO', 'replication'])), 30000, 'the demoted master in sync');
		step('the demoted master in sync');
		await lib.redisCmd(x.r, ['CONFIG', 'SET', 'min-replicas-to-write', '0']);
		await lib.redisCmd(x.r, ['CONFIG', 'SET', 'requirepass', 'cut']);
		await lib.redisCmd({ port: x.r.port, password: 'cut' }, ['CLIENT', 'KILL', 'TYPE', 'replica']);
		const stopAt = x.n;
		await lib.waitFor(() => x.acked.has(stopAt + 3) && x.got.includes(stopAt + 3), 15000, 'events the replica lacks, delivered');
		step('kill -9 at ' + x.n);
		await x.r.kill();		// kill -9 of the new master: the old one comes back
		cutClient(x);
		// Each of them may be a publish whose reply the kill took: the
		// publisher retries it, same idempotency key, on the next master.
		const lostWrites = [...x.acked].filter((k) => k > stopAt).sort((a, b) => a - b);
		lib.note('writes lost with the master, retried: ' + lostWrites.join(' '));
		x.retries = lostWrites.map((k) => x.pub.publish('post_s1', { type: 'num', data: { n: k } }, { idempotencyKey: 'num-' + k }));
		await lib.waitFor(async () => (await role(x.m.port)) === 'master', 40000, 'the first master promoted again');
		step('the first master promoted again');
		// With min-replicas-to-write 1 it takes writes again once it has a
		// replica: the dead one, restarted (the publisher retries meanwhile).
		x.r = await lib.startRedis({ port: x.r.port, args: SAFE.concat(['--replicaof', '127.0.0.1', String(x.m.port)]), gen: 2 });
		const at2 = x.n;
		await lib.waitFor(() => x.got.length > 0 && x.got[x.got.length - 1] > at2 + 50, 40000, '50 events after the kill -9');
		step('50 events after the kill -9');
		await lib.withTimeout(Promise.all(x.retries), 70000, 'the retried publishes');
		cutClient(x);
		const at3 = x.n;
		await lib.waitFor(() => x.got.length > 0 && x.got[x.got.length - 1] > at3 + 20, 40000, '20 events after the last cut');
		step('20 events after the last cut');
		failed = false;
	} finally {
		await endLoop(x, failed);
	}
	const n = x.n, got = x.got;
	// In order: the last one comes last (the assertions say what is missing).
	await lib.waitFor(() => got.includes(n), 20000, 'event ' + n).catch(() => {});
	await lib.sleep(200);
	const want = []; for (let i = 1; i <= n; i++) want.push(i);
	const dups = got.filter((v, i) => got.indexOf(v) !== i);
	const missing = want.filter((v) => !got.includes(v));
	const covered = await coveredByResync(x, x.m.port, missing);
	const lost = missing.filter((v) => !covered.includes(v));
	const d = doubled(x);
	lib.note(n + ' events published, ' + got.length + ' received, resyncs ' + JSON.stringify(x.resyncs) +
	    ', covered by a resync ' + JSON.stringify(covered));
	lib.note('on the socket, the same offset twice (the worker, or a stale since): ' + JSON.stringify(d.sameOffset));
	lib.note('on the socket, one event under two offsets (stored twice, by a retry): ' + JSON.stringify(d.twoOffsets));
	assert.deepStrictEqual(d.sameOffset, [], 'the worker sent a position twice');
	assert.deepStrictEqual({ lost, dups }, { lost: [], dups: [] }, 'at the client');
	assert.deepStrictEqual(got, want.filter((v) => !covered.includes(v)), 'order');
	await x.close();
}, { timeout: 180000 });

s.test('control: the same SENTINEL FAILOVER without min-replicas-to-write: the demoted master takes writes the new master never gets', async () => {
	const x = await cluster([]);
	let missing, failed = true;
	try {
		await lib.waitFor(() => x.got.length >= 50, 15000, '50 events before the failover');
		assert.strictEqual(await lib.redisCmd(x.sentinels[0].port, ['SENTINEL', 'FAILOVER', 'mymaster']), 'OK');
		await lib.waitFor(async () => (await role(x.r.port)) === 'master' && (await role(x.m.port)) === 'slave', 30000, 'the replica promoted');
		// The old master is a replica of the new one now: whatever it took
		// meanwhile and did not pass on is gone.
		await lib.waitFor(async () => /master_link_status:up/.test(await lib.redisCmd(x.m, ['INFO', 'replication'])), 30000, 'the demoted master resynced');
		const at = x.n;
		await lib.waitFor(() => x.got.length > 0 && x.got[x.got.length - 1] > at + 20, 30000, '20 events after the failover');
		missing = await missingFrom(x.r.port, x.acked, at);
		failed = false;
	} finally {
		await endLoop(x, failed);
	}
	const lost = [];
	for (let i = 1; i <= x.n; i++) if (!x.got.includes(i)) lost.push(i);
	lib.note('without the settings: ' + missing.length + ' acknowledged publishes not on the new master, ' +
	    lost.length + ' events never reached the client, resyncs ' + JSON.stringify(x.resyncs));
	assert.ok(missing.length > 0, 'the control lost nothing: the failover did not exercise the settings');
	await x.close();
}, { timeout: 120000 });

s.run();

// Nothing lost across a Sentinel failover (SPEC §4.5, §4.8; docs/deploy.md):
// a master and a replica with min-replicas-to-write 1 / min-replicas-max-lag
// 10 (as deploy/ configures them) and three sentinels; a default ioredis
// Sentinel client publishing numbered events through clients/node/publisher.js
// and a client using clients/js/wsd-client.js on a worker that follows the
// sentinels.  Across SENTINEL FAILOVER, then kill -9 of the new master (and
// its restart as a replica: with min-replicas-to-write 1 a lone master takes
// no writes), every event published arrives, once, in order.
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
let m, r, sentinels = [], rc, pub, w;

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

s.setup(async () => {
	m = await lib.startRedis({ args: SAFE });
	r = await lib.startRedis({ args: SAFE.concat(['--replicaof', '127.0.0.1', String(m.port)]) });
	await lib.waitFor(async () => /master_link_status:up/.test(await lib.redisCmd(r, ['INFO', 'replication'])), 15000, 'replica in sync');
	for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(m.port));
	await lib.waitFor(async () => {
		for (const x of sentinels) {
			const info = (await lib.redisCmd(x.port, ['SENTINEL', 'MASTER', 'mymaster'])).join(' ');
			if (!/num-slaves 1 /.test(info + ' ') || !/num-other-sentinels 2 /.test(info + ' ')) return false;
		}
		return true;
	}, 30000, 'sentinels see the replica and each other');
	const list = sentinels.map((x) => '127.0.0.1:' + x.port).join(',');
	w = await lib.startWorker({ redis: null, env: { REDIS_SENTINELS: list, WS_REDIS_BACKOFF_MAX_MS: '500' } });
	await lib.waitFor(async () => (await lib.httpGet(w.port, '/health')).status === 200, 15000, 'the worker on the master');
	// A default ioredis Sentinel client, as the application has.
	rc = new Redis({ sentinels: sentinels.map((x) => ({ host: '127.0.0.1', port: x.port })), name: 'mymaster' });
	rc.on('error', () => {});	// reconnects by itself; publish() retries
	pub = createPublisher(rc);
});
s.teardown(() => { if (rc) rc.disconnect(); });

s.test('SENTINEL FAILOVER, then kill -9 of the new master, while publishing: 0 lost, 0 doubled at the client', async () => {
	const got = [];
	const resyncs = [];
	const c = new WsdClient({
		url: w.url, token: () => lib.token(lib.SECRET, 'sent1'), WebSocket: lib.WebSocket, backoffMin: 50, backoffMax: 500,
		onEvent: (ev) => { if (ev.type === 'num') got.push(ev.data.n); },
		onResync: (key) => resyncs.push(key),
	});
	c.subscribe({ type: 'post', postId: 's1' });
	await lib.waitFor(() => c.byKey.size === 1, 10000, 'the helper subscribed');
	let n = 0, stop = false;
	const loop = (async () => {
		while (!stop) await pub.publish('post_s1', { type: 'num', data: { n: ++n } });
	})();
	try {
		await lib.waitFor(() => got.length >= 50, 15000, '50 events before the failover');
		lib.note('failover at ' + n);
		assert.strictEqual(await lib.redisCmd(sentinels[0].port, ['SENTINEL', 'FAILOVER', 'mymaster']), 'OK');
		await lib.waitFor(async () => (await role(r.port)) === 'master' && (await role(m.port)) === 'slave', 30000, 'the replica promoted');
		const at = n;
		await lib.waitFor(() => got.length > 0 && got[got.length - 1] > at + 50, 30000, '50 events after the failover');
		lib.note('kill -9 at ' + n);
		await r.kill();		// kill -9 of the new master: the old one comes back
		await lib.waitFor(async () => (await role(m.port)) === 'master', 40000, 'the first master promoted again');
		// With min-replicas-to-write 1 it takes writes again once it has a
		// replica: the dead one, restarted (the publisher retries meanwhile).
		r = await lib.startRedis({ port: r.port, args: SAFE.concat(['--replicaof', '127.0.0.1', String(m.port)]), gen: 2 });
		const at2 = n;
		await lib.waitFor(() => got.length > 0 && got[got.length - 1] > at2 + 50, 40000, '50 events after the kill -9');
	} finally {
		stop = true;
		await loop;
	}
	await lib.waitFor(() => got.length >= n, 20000, 'all ' + n + ' events (got ' + got.length + ')');
	await lib.sleep(200);
	const want = []; for (let i = 1; i <= n; i++) want.push(i);
	const dups = got.filter((x, i) => got.indexOf(x) !== i);
	const lost = want.filter((x) => !got.includes(x));
	lib.note(n + ' events published, ' + got.length + ' received, resyncs ' + JSON.stringify(resyncs));
	assert.deepStrictEqual({ lost, dups }, { lost: [], dups: [] });
	assert.deepStrictEqual(got, want, 'order');
	c.close();
}, { timeout: 150000 });

s.run();

// clients/node/publisher.js with waitReplicas: publish() resolves only once
// the event is on that many replicas (Redis WAIT), and a publish the
// replicas did not confirm is tried again under its idempotency key, so it
// is stored once.  A real master and a real replica; the replica is cut
// off (DEBUG SLEEP blocks it) to make a write the master alone holds.
'use strict';
const lib = require('./lib');
const { assert } = lib;
const Redis = require('ioredis');
const path = require('path');
const { createPublisher } = require(path.join(lib.TOP, 'clients/node/publisher.js'));

const s = lib.suite();
let master, replica, rc;

s.setup(async () => {
	master = await lib.startRedis();
	replica = await lib.startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port),
	    '--enable-debug-command', 'local'] });
	await lib.waitFor(async () => /master_link_status:up/.test(await lib.redisCmd(replica, ['INFO', 'replication'])),
	    10000, 'the replica to be in sync');
	rc = new Redis({ port: master.port, host: '127.0.0.1', maxRetriesPerRequest: null });
});

s.teardown(async () => {
	if (rc) rc.disconnect();
	if (replica) await replica.kill();
	if (master) await master.kill();
});

s.test('waitReplicas 1: publish() resolves with the event on the replica', async () => {
	const pub = createPublisher(rc, { waitReplicas: 1 });
	await pub.publish('post_w1', { type: 'num', data: { n: 1 } }, { idempotencyKey: 'w1-1' });
	const len = await lib.redisCmd(replica, ['XLEN', 'ws:h:post_w1']);
	assert.strictEqual(Number(len), 1, 'the replica has the event the moment publish() resolved');
});

s.test('a replica that does not confirm: publish() waits and tries again, then the event is stored once', async () => {
	const pub = createPublisher(rc, { waitReplicas: 1, waitMs: 200, retryMs: 20000 });
	// The replica stops for 1.5 s (reads nothing, acknowledges nothing):
	// WAIT sees 0 replicas.  Its answer comes when it wakes.
	const asleep = lib.redisCmd(replica, ['DEBUG', 'SLEEP', '1.5']);
	await lib.sleep(100);
	let resolved = false;
	const p = pub.publish('post_w2', { type: 'num', data: { n: 1 } }, { idempotencyKey: 'w2-1' })
	    .then((v) => { resolved = true; return v; });
	await lib.waitFor(async () => Number(await lib.redisCmd(master, ['XLEN', 'ws:h:post_w2'])) === 1, 5000,
	    'the master to store the event');
	assert.strictEqual(resolved, false, 'publish() resolved before the replica had the event');
	await p;
	await asleep;
	assert.strictEqual(Number(await lib.redisCmd(replica, ['XLEN', 'ws:h:post_w2'])), 1, 'stored once on the replica');
	assert.strictEqual(Number(await lib.redisCmd(master, ['XLEN', 'ws:h:post_w2'])), 1, 'stored once on the master');
});

s.test('waitReplicas above the replicas that run: publish() rejects, naming NOREPLICAS', async () => {
	const pub = createPublisher(rc, { waitReplicas: 2, waitMs: 100, retryMs: 600 });
	await assert.rejects(pub.publish('post_w3', { type: 'num', data: {} }), /NOREPLICAS/);
});

s.run();

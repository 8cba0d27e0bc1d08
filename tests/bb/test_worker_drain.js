// Drain without a reconnect storm (SPEC §4.8, docs/worker.md Drain): a
// draining worker closes its clients over WS_DRAIN_SPREAD_MS, not all at
// once; until a client is closed it keeps getting events; the spread is
// capped below wsd's kill_timeout, so the worker still exits 0 in time.
'use strict';
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
const N = 40;
let redis;

s.setup(async () => { redis = await lib.startRedis(); });

async function clients(w, n, prefix) {
	const cs = [];
	for (let i = 0; i < n; i++) {
		const c = await lib.connectUser(w.url, prefix + i);
		await lib.subscribe(c, { type: 'creator', id: 'drain' });
		cs.push(c);
	}
	return cs;
}

s.test('SIGTERM with WS_DRAIN_SPREAD_MS: clients close one after another, the open ones still get events, all get 1001, exit 0', async () => {
	const w = await lib.startWorker({ redis, env: { WS_DRAIN_SPREAD_MS: '8000', WS_DRAIN_TIMEOUT_MS: '2000' } });
	const cs = await clients(w, N, 'd');
	process.kill(w.pid, 'SIGTERM');
	await lib.waitFor(() => cs.some((c) => c.closed), 10000, 'the first close');
	const openAtFirst = cs.filter((c) => !c.closed);
	assert.ok(openAtFirst.length > 0, 'every client was closed at once');
	// The ones still open are still served (the listener is closed: through Redis).
	await lib.publish(redis, 'creator_drain', JSON.stringify({ type: 'during_drain', data: {} }));
	await lib.waitFor(() => openAtFirst.every((c) => c.closed || c.msgs.some((m) => m.json && m.json.type === 'during_drain')), 10000,
	    'the event on every client still open');
	assert.ok(openAtFirst.some((c) => c.msgs.some((m) => m.json && m.json.type === 'during_drain')), 'no open client got the event');
	await lib.waitFor(() => cs.every((c) => c.closed), 20000, 'every client closed');
	assert.deepStrictEqual([...new Set(cs.map((c) => c.closed.code))], [1001]);
	const ex = await w.proc.exited;
	assert.strictEqual(ex.code, 0, 'exit ' + JSON.stringify(ex));
}, { timeout: 40000 });

s.test('the spread is capped below wsd\'s kill_timeout (WSD_KILL_TIMEOUT_MS): a 10 min spread still exits 0 in time', async () => {
	const w = await lib.startWorker({ env: { WS_DRAIN_SPREAD_MS: '600000', WSD_KILL_TIMEOUT_MS: '3000' } });
	const cs = await clients(w, 10, 'k');
	process.kill(w.pid, 'SIGTERM');
	await lib.waitFor(() => cs.every((c) => c.closed), 15000, 'every client closed well before the 10 min spread');
	assert.deepStrictEqual([...new Set(cs.map((c) => c.closed.code))], [1001]);
	const ex = await lib.withTimeout(w.proc.exited, 15000, 'the worker exit');
	assert.strictEqual(ex.code, 0, 'exit ' + JSON.stringify(ex));
}, { timeout: 40000 });

s.run();

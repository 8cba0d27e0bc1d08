// wsctl scale (SPEC §2 "Listening sockets", §3): taking slots away strands
// no connection — a removed slot's socket gets no new connects, what is
// queued on it is served before it closes — under a steady churn of
// WebSocket connects through 2→3→2 and 2→1→2; relative +N/-N; a scale
// right after another, or during a reload, takes effect.
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const lib = require('./lib');
const { assert } = lib;

const RATE = Number(process.env.CHURN_RATE || 200);

const s = lib.suite();
let d;

// A second app whose processes ignore SIGINT: each stop or reload of it
// lasts its kill_timeout, long enough to scale in the middle of one.
const SLOW = path.join(lib.T, 'slow.sh');

s.setup(async () => {
	fs.writeFileSync(SLOW, '#!/bin/sh\ntrap "" INT\nwhile :; do sleep 1; done\n', { mode: 0o755 });
	d = await lib.startWsd({
		instances: 2,
		extraApps: [{ name: 'slow', script: SLOW, exec_mode: 'cluster', instances: 1, kill_timeout: 5000 }],
	});
});

async function scale(arg, app) {
	app = app || 'fonana-ws';
	const r = await lib.wsctlAsync(['scale', app, arg], { timeout: 30000 });
	assert.strictEqual(r.status, 0, 'wsctl scale ' + app + ' ' + arg + ': status ' + r.status + ' ' + r.stderr + r.stdout);
	return r;
}

// Exactly n instances of the app, every one online.
async function online(n, what, app) {
	let last;
	await lib.waitFor(async () => {
		last = (await d.status()).filter((i) => i.name === (app || 'fonana-ws'));
		return last.length === n && last.every((i) => i.status === 'online' && i.pid > 0);
	}, 20000, () => n + ' instances online ' + what + ' (last ' + JSON.stringify((last || []).map((i) => [i.id, i.instance, i.pid, i.status])) + ')');
}

// Connects made through the scales, then long enough after the last one
// that a connect sent to a stranded socket would have had to hang.
async function churnThrough(steps) {
	const ch = lib.churn(d.url, RATE, 100);
	try {
		await lib.waitFor(() => ch.r.ok >= 100, 20000, '100 connects before scaling');
		for (const [arg, n] of steps) {
			await scale(arg);
			await online(n, 'after scale ' + arg);
			const okAt = ch.r.ok;
			await lib.waitFor(() => ch.r.ok >= okAt + 2 * RATE, 30000, () => 2 * RATE + ' connects after scale ' + arg + ' ' + JSON.stringify(ch.r));
		}
	} finally {
		await ch.stop();
	}
	return ch.r;
}

s.test('scale 2→3→2 under ' + RATE + ' connects/s: every connect welcomed (none hung, reset or refused)', async () => {
	const r = await churnThrough([['3', 3], ['2', 2]]);
	lib.churnCheck(r, 'scale 2→3→2');
}, { timeout: 180000 });

s.test('scale 2→1→2 under ' + RATE + ' connects/s: every connect welcomed (none hung, reset or refused)', async () => {
	const r = await churnThrough([['1', 1], ['2', 2]]);
	lib.churnCheck(r, 'scale 2→1→2');
}, { timeout: 180000 });

s.test('scale +1 on 2 → 3 online, -1 → 2 online; -5 (would leave -3) → status 1, 0 → usage 64', async () => {
	await scale('2');
	await online(2, 'to begin with');
	await scale('+1');
	await online(3, 'after +1');
	await scale('-1');
	await online(2, 'after -1');
	let r = await lib.wsctlAsync(['scale', 'fonana-ws', '-5']);
	assert.strictEqual(r.status, 1, 'scale -5: status ' + r.status + ' ' + r.stderr);
	assert.match(r.stderr, /would make -3/);
	r = await lib.wsctlAsync(['scale', 'fonana-ws', '0']);
	assert.strictEqual(r.status, 64, 'scale 0: status ' + r.status + ' ' + r.stderr);
	await online(2, 'after the refused ones');
}, { timeout: 60000 });

// Send control requests in one write, as fast as a client can; the replies.
function control(reqs) {
	return new Promise((resolve, reject) => {
		const c = net.connect(path.join(d.home, 'wsd.sock'));
		let buf = '';
		c.on('connect', () => c.write(reqs.map((r, k) => JSON.stringify({ v: 1, id: k + 1, ...r }) + '\n').join('')));
		c.on('data', (x) => {
			buf += x;
			const lines = buf.split('\n').filter((l) => l !== '');
			if (buf.endsWith('\n') && lines.length === reqs.length) {
				c.end();
				resolve(lines.map((l) => JSON.parse(l)));
			}
		});
		c.on('error', reject);
	});
}

s.test('scale 1 then at once scale 2 (one write): 2 instances online', async () => {
	await scale('2');
	await online(2, 'to begin with');
	const rs = await control([
		{ cmd: 'scale', args: { target: 'fonana-ws', instances: 1 } },
		{ cmd: 'scale', args: { target: 'fonana-ws', instances: 2 } },
	]);
	assert.ok(rs.every((r) => r.ok), JSON.stringify(rs));
	await online(2, 'after scale 1; scale 2');
}, { timeout: 60000 });

s.test('scale up while a scaled-down instance is still stopping: recorded, applied once it has stopped', async () => {
	await scale('2', 'slow');
	await online(2, 'to begin with', 'slow');
	await scale('1', 'slow');
	let now;
	await lib.waitFor(async () => {
		now = (await d.status()).filter((i) => i.name === 'slow');
		return now.some((i) => i.status === 'stopping');
	}, 10000, () => 'slot 1 of slow stopping (last ' + JSON.stringify(now) + ')');
	const r = await scale('2', 'slow');
	assert.match(r.stdout, /scale to 2 waits: an instance it scaled down is still stopping/);
	await online(2, 'once the old slot 1 has stopped', 'slow');
	await scale('1', 'slow');
	await online(1, 'back to 1', 'slow');
}, { timeout: 60000 });

s.test('two concurrent +1 on 2 → 4 online, then -2 → 2', async () => {
	await scale('2');
	await online(2, 'to begin with');
	const [a, b] = await Promise.all([scale('+1'), scale('+1')]);
	assert.ok(a && b);
	await online(4, 'after two +1');
	await scale('-2');
	await online(2, 'after -2');
}, { timeout: 60000 });

s.test('scale during a reload: recorded, the reply says so, applied once the reload is done', async () => {
	const before = (await d.status()).find((i) => i.name === 'slow');
	const rl = lib.wsctlAsync(['reload', 'slow'], { timeout: 30000 });
	let now;
	await lib.waitFor(async () => {
		now = (await d.status()).find((i) => i.name === 'slow');
		return now && now.old_pid > 0;
	}, 10000, () => 'the reload of slow under way (last ' + JSON.stringify(now) + ')');
	const r = await scale('2', 'slow');
	assert.match(r.stdout, /scale to 2 waits: a reload of it is in progress/);
	const rr = await rl;
	assert.strictEqual(rr.status, 0, 'wsctl reload slow: ' + rr.status + ' ' + rr.stderr);
	await online(2, 'after the reload', 'slow');
	const after = (await d.status()).filter((i) => i.name === 'slow');
	assert.ok(after.some((i) => i.id === before.id && i.pid !== before.pid), 'slot 0 reloaded: ' + JSON.stringify(after));
}, { timeout: 60000 });

s.test('scale during a stop: recorded, applied once the stop is done (the new slot stays stopped until start)', async () => {
	await scale('1', 'slow');
	await online(1, 'to begin with', 'slow');
	const st = lib.wsctlAsync(['stop', 'slow'], { timeout: 30000 });
	let now;
	await lib.waitFor(async () => {
		now = (await d.status()).filter((i) => i.name === 'slow');
		return now.length === 1 && now[0].status === 'stopping';
	}, 10000, () => 'slow stopping (last ' + JSON.stringify(now) + ')');
	const r = await scale('2', 'slow');
	assert.match(r.stdout, /scale to 2 waits: a stop or restart of it is in progress/);
	const sr = await st;
	assert.strictEqual(sr.status, 0, 'wsctl stop slow: ' + sr.status + ' ' + sr.stderr);
	await lib.waitFor(async () => {
		now = (await d.status()).filter((i) => i.name === 'slow');
		return now.length === 2 && now.every((i) => i.status === 'stopped');
	}, 10000, () => '2 slow instances, stopped (last ' + JSON.stringify(now) + ')');
	const sa = await lib.wsctlAsync(['start', 'slow']);
	assert.strictEqual(sa.status, 0, 'wsctl start slow: ' + sa.stderr);
	await online(2, 'after start', 'slow');
}, { timeout: 60000 });

s.run();

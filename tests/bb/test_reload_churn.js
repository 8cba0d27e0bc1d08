// Zero failed connects (SPEC §2 "Reload", §6 "failed connects during wsctl
// reload or a crash restart: 0"): wsd runs 2 wsworker instances; a client
// loop opens WebSocket connections with a valid token at a bounded rate
// (CHURN_RATE per second, default 200, at most 100 in flight), waits for the
// {"type":"connected"} welcome on each, then drops it.  During
// `wsctl reload fonana-ws`, and during a kill -9 of an instance, no connect
// may fail: not refused, not reset, no handshake failure, no missing
// welcome — and every connect started is counted as one or the other.
'use strict';
const lib = require('./lib');
const { assert } = lib;

const RATE = Number(process.env.CHURN_RATE || 200);
const MAX_IN_FLIGHT = 100;

const s = lib.suite();
let d;

s.setup(async () => {
	d = await lib.startWsd({ instances: 2 });
});

const churn = (base) => lib.churn(base, RATE, MAX_IN_FLIGHT);
const check = lib.churnCheck;

const RELOADS = 3;

s.test(RELOADS + ' × wsctl reload fonana-ws under ' + RATE + ' connects/s: same ids, new pids, restarts +1 each time, 0 failed connects', async () => {
	const ch = churn(d.url);
	let during = 0;
	try {
		await lib.waitFor(() => ch.r.ok >= 100, 20000, '100 connects before the reload');
		for (let k = 0; k < RELOADS; k++) {
			const before = lib.instancesOf(await d.status());
			assert.strictEqual(before.length, 2);
			const startedAt = ch.r.started;
			const rl = await lib.wsctlAsync(['reload', 'fonana-ws'], { timeout: 60000 });
			during += ch.r.started - startedAt;
			assert.strictEqual(rl.status, 0, 'wsctl reload: status ' + rl.status + ' ' + rl.stderr + rl.stdout);
			const after = lib.instancesOf(await d.status());
			for (const b of before) {
				const a = after.find((i) => i.id === b.id);
				assert.ok(a, 'instance ' + b.id + ' is gone: ' + JSON.stringify(after));
				assert.notStrictEqual(a.pid, b.pid, 'instance ' + b.id + ' kept pid ' + b.pid);
				assert.strictEqual(a.status, 'online');
				assert.strictEqual(a.restarts, b.restarts + 1, 'restarts of ' + b.id + ': ' + b.restarts + ' → ' + a.restarts);
				let alive = true;
				try { process.kill(b.pid, 0); } catch (e) { alive = false; }
				assert.ok(!alive, 'old pid ' + b.pid + ' still runs');
			}
			const okAt = ch.r.ok;
			await lib.waitFor(() => ch.r.ok >= okAt + 50, 20000, '50 connects after reload ' + (k + 1));
		}
	} finally {
		await ch.stop();
	}
	lib.note(during + ' connects started while the ' + RELOADS + ' reloads ran');
	assert.ok(during > 0, 'no connect was made during a reload');
	check(ch.r, 'the reloads');
}, { timeout: 180000 });

s.test('kill -9 of an instance under ' + RATE + ' connects/s: restarted (restarts +1), 0 failed connects', async () => {
	const before = lib.instancesOf(await d.status());
	const victim = before[0];
	const ch = churn(d.url);
	let now;
	try {
		await lib.waitFor(() => ch.r.ok >= 100, 20000, '100 connects before the kill');
		// A handshake the killed process had already accepted dies with
		// it (nothing can save that one); what must not fail are the
		// connects made while the slot restarts.  So the kill comes at a
		// moment with no connect in flight, and the churn resumes at once.
		await ch.pause();
		process.kill(victim.pid, 'SIGKILL');
		ch.resume();
		const startedAt = ch.r.started;
		await lib.waitFor(async () => {
			now = lib.instancesOf(await d.status()).find((i) => i.id === victim.id);
			return now && now.pid > 0 && now.pid !== victim.pid && now.status === 'online';
		}, 20000, () => 'instance ' + victim.id + ' restarted and online (last ' + JSON.stringify(now) + ')');
		lib.note((ch.r.started - startedAt) + ' connects started between the kill and the replacement online');
		const okAt = ch.r.ok;
		await lib.waitFor(() => ch.r.ok >= okAt + 100, 20000, '100 connects after the restart');
	} finally {
		await ch.stop();
	}
	assert.strictEqual(now.restarts, victim.restarts + 1, 'restarts ' + victim.restarts + ' → ' + now.restarts);
	assert.strictEqual(now.exit_signal, 'SIGKILL');
	check(ch.r, 'the crash restart');
}, { timeout: 120000 });

s.run();

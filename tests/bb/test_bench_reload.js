// make bench's reload session (bench/reload.js) on a tiny load: 40 clients
// of clients/js/wsd-client.js on a wsd of 2 instances, a numbered publisher
// through the history script, `wsctl reload` in the middle.  Checks that
// the session runs and counts right (every client closed and back, events
// published and checked, a reconnect peak); no figure is judged.
'use strict';
const child_process = require('child_process');
const path = require('path');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
const N = 40;
let redis, d, res;

s.setup(async () => {
	redis = await lib.startRedis();
	d = await lib.startWsd({ redis, instances: 2, env: { WS_DRAIN_SPREAD_MS: '300' } });
});

s.test('bench/reload.js runs a reload under load and prints one result line', async () => {
	const out = await new Promise((resolve) => {
		child_process.execFile(process.execPath, [path.join(lib.TOP, 'bench/reload.js'),
		    '--stack', 'wsd', '--rep', '1', '--port', String(d.port), '--redis-port', String(redis.port),
		    '--secret', lib.SECRET, '-n', String(N), '--channels', '4', '--rate', '40', '--history',
		    '--', path.join(lib.BIN, 'wsctl'), 'reload', 'fonana-ws'],
		{ env: lib.cleanEnv({ WSD_HOME: lib.HOME }), timeout: 100000, encoding: 'utf8' },
		(err, stdout, stderr) => resolve({ err, stdout, stderr }));
	});
	assert.ok(!out.err, 'reload.js failed: ' + (out.err && out.err.message) + '\n' + lib.tail(out.stderr, 10));
	const lines = out.stdout.trim().split('\n');
	assert.strictEqual(lines.length, 1, 'one result line: ' + out.stdout);
	res = JSON.parse(lines[0]);
	assert.deepStrictEqual([res.stack, res.scenario], ['wsd', 'reload_' + N]);
}, { timeout: 110000 });

s.test('the reload closed every client and every one came back', () => {
	const r = res.r;
	assert.strictEqual(r.cmd_code, 0, 'wsctl reload exit code');
	assert.strictEqual(r.all_back, true, 'all_back');
	assert.strictEqual(r.not_back, 0, 'not_back');
	assert.ok(r.reconnects >= N, 'reconnects ' + r.reconnects + ' < ' + N);
	assert.ok(r.peak_reconnects_per_s > 0 && r.peak_reconnects_per_s_1s > 0, 'a reconnect peak');
	assert.ok(r.window_ms > 0, 'first close → last back: ' + r.window_ms);
});

s.test('numbered events were published and every client\'s were checked: none lost, none doubled', () => {
	const r = res.r;
	assert.ok(r.events > 0 && r.publish_failed === 0, 'events ' + r.events + ', failed ' + r.publish_failed);
	assert.deepStrictEqual({ lost: r.lost, doubled: r.doubled, resyncs: r.resyncs },
	    { lost: 0, doubled: 0, resyncs: 0 });
});

s.run();

// A reload of 2 instances holding many clients must be clean (issue 13):
// RELOAD_N clients (default 5000, 50 per source address) of
// clients/js/wsd-client.js through bench/reload.js, on a wsd of 2
// instances with a short kill_timeout,
// `wsctl reload fonana-ws` in the middle.  Every socket the reload ends
// must end with the drain's close frame (1001), no reconnect may be reset
// or refused, and each replaced process must exit on its own: wsd never
// needs its SIGKILL.
'use strict';
const child_process = require('child_process');
const path = require('path');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
const N = Number(process.env.RELOAD_N || 5000);
// Short, so that 2 500 clients per instance load the drain as 10 000 do
// with the default 1600 ms (the drain plan scales with it).
const KILL_TIMEOUT = 300;
let redis, d, res;

s.setup(async () => {
	redis = await lib.startRedis();
	d = await lib.startWsd({ redis, instances: 2, app: { kill_timeout: KILL_TIMEOUT } });
});

s.test('wsctl reload with ' + N + ' clients on 2 instances: bench/reload.js runs it', async () => {
	const out = await new Promise((resolve) => {
		child_process.execFile(process.execPath, [path.join(lib.TOP, 'bench/reload.js'),
		    '--stack', 'wsd', '--rep', '1', '--port', String(d.port), '--redis-port', String(redis.port),
		    '--secret', lib.SECRET, '-n', String(N), '--history',
		    '--', path.join(lib.BIN, 'wsctl'), 'reload', 'fonana-ws'],
		{ env: lib.cleanEnv({ WSD_HOME: lib.HOME }), timeout: 240000, encoding: 'utf8' },
		(err, stdout, stderr) => resolve({ err, stdout, stderr }));
	});
	assert.ok(!out.err, 'reload.js failed: ' + (out.err && out.err.message) + '\n' + lib.tail(out.stderr, 10));
	res = JSON.parse(out.stdout.trim().split('\n').pop()).r;
	lib.note('close codes ' + JSON.stringify(res.close_codes) + ', connect errors ' +
	    JSON.stringify(res.connect_errors) + ', outage p99 ' + res.outage_p99_ms + ' ms');
	assert.strictEqual(res.cmd_code, 0, 'wsctl reload exit code');
	assert.strictEqual(res.all_back, true, 'every client back');
}, { timeout: 250000 });

s.test('no replaced process needed the SIGKILL at kill_timeout', () => {
	const killed = d.logs().split('\n').filter((l) => l.includes('kill_timeout passed'));
	assert.deepStrictEqual(killed, [], 'SIGKILLs');
});

s.test('every socket the reload ended got a close frame (1001), none was reset', () => {
	assert.ok(res, 'the reload ran');
	const codes = Object.keys(res.close_codes).filter((c) => c !== '1001');
	assert.deepStrictEqual(codes.map((c) => c + ' × ' + res.close_codes[c]), [], 'close codes other than 1001');
	assert.deepStrictEqual(res.connect_errors, {}, 'errors of reconnects');
	assert.ok(res.close_codes['1001'] >= N, '1001 × ' + res.close_codes['1001'] + ' < ' + N);
	assert.deepStrictEqual({ lost: res.lost, doubled: res.doubled }, { lost: 0, doubled: 0 });
});

s.run();

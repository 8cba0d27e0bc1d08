// A PM2 tool from npm, fed by wsd: pm2-prometheus-exporter (unchanged) with
// its `pm2` dependency replaced by tests/bb/pm2-shim, whose list() is
// `wsctl jlist`.  Its up, cpu, memory, uptime and restarts series must be
// the figures `wsctl status --json` gives (the exporter's "restarts" is
// PM2's unstable_restarts).  Before jlist had pm2_env.axm_monitor the
// exporter threw on every scrape.
'use strict';

const lib = require('./lib');
const fs = require('fs');
const path = require('path');

const s = lib.suite();
let port, exporter;
const SECRET_VALUE = 'jlist-secret-abcdefghijklmnopqrstuvwxyz';

s.setup(async () => {
	const app = path.join(lib.T, 'idle.sh');
	fs.writeFileSync(app, '#!/bin/sh\nexec sleep 100000\n', { mode: 0o755 });
	const eco = path.join(lib.T, 'eco.json');
	fs.writeFileSync(eco, JSON.stringify({ apps: [{ name: 'idle', script: app, instances: 2, kill_timeout: 1000,
	    env: { NEXTAUTH_SECRET: SECRET_VALUE, PLAIN_VAR: 'plain' } }] }));
	await lib.startWsdFile(eco, { online: { idle: 2 } });
	port = await lib.freePort();
	// With -e, process.argv[1] is the first argument: the exporter's port.
	exporter = lib.spawnTracked(process.execPath, ['-e',
	    'require(' + JSON.stringify(path.join(lib.TOP, 'node_modules', 'pm2-prometheus-exporter', 'exporter.js')) + ')',
	    String(port)], { env: lib.cleanEnv({ WSD_HOME: lib.HOME, WSD_BINDIR: lib.BIN }), logName: 'exporter' });
	await lib.waitFor(async () => {
		if (exporter.exitInfo) throw lib.fatal('exporter exited: ' + exporter.logErr());
		return lib.tcpConnects(port, '127.0.0.1');
	}, 10000, 'the exporter listens');
});

function series(m, name, inst) {
	return m['pm2_' + name + '{name="idle",instance="' + inst + '"}'];
}

s.test('the exporter\'s figures are wsctl status\'s', async () => {
	const before = await lib.status();
	const t0 = Date.now();
	const r = await lib.httpGet(port, '/metrics');
	const t1 = Date.now();
	const after = await lib.status();
	lib.assert.strictEqual(r.status, 200, 'GET /metrics: ' + r.status + ' ' + exporter.logErr());
	const m = lib.parseMetrics(r.body);
	for (const b of before.filter((i) => i.name === 'idle')) {
		const a = after.find((i) => i.id === b.id);
		const one = (f, want) => lib.assert.ok(want.includes(series(m, f, b.instance)),
		    f + ' of instance ' + b.instance + ': ' + series(m, f, b.instance) + ', status says ' + want.join(' or ') + '\n' + r.body);
		one('up', [b.status === 'online' ? 1 : 0, a.status === 'online' ? 1 : 0]);
		one('cpu', [b.cpu, a.cpu]);
		one('memory', [b.memory, a.memory]);
		one('restarts', [b.unstable_restarts, a.unstable_restarts]);
		one('instances', [b.instances]);
		// Scraped between the two status calls: its uptime lies between theirs.
		const up = series(m, 'uptime', b.instance);
		lib.assert.ok(up >= Math.floor(b.uptime_ms / 1000) && up <= Math.ceil((a.uptime_ms + (t1 - t0)) / 1000),
		    'uptime of instance ' + b.instance + ': ' + up + ' not within ' + b.uptime_ms + '..' + a.uptime_ms + ' ms');
	}
});

s.test('jlist carries the PM2 fields tools read', async () => {
	const r = lib.wsctl(['jlist']);
	lib.assert.strictEqual(r.status, 0, r.stderr);
	const l = JSON.parse(r.stdout);
	lib.assert.strictEqual(l.length, 2);
	for (const p of l) {
		const e = p.pm2_env;
		lib.assert.ok(e.axm_monitor && typeof e.axm_monitor === 'object', 'axm_monitor');
		lib.assert.ok(/idle\.sh$/.test(e.pm_exec_path), 'pm_exec_path ' + e.pm_exec_path);
		lib.assert.strictEqual(e.exec_interpreter, 'none');
		lib.assert.ok('node_version' in e && 'version' in e && 'prev_restart_delay' in e, JSON.stringify(Object.keys(e)));
		lib.assert.strictEqual(e.env.PLAIN_VAR, 'plain', 'pm2_env.env: ' + JSON.stringify(e.env));
		lib.assert.ok(typeof e.env.NEXTAUTH_SECRET === 'string' && !e.env.NEXTAUTH_SECRET.includes(SECRET_VALUE.slice(6)),
		    'secret masked: ' + e.env.NEXTAUTH_SECRET);
		lib.assert.ok(!r.stdout.includes(SECRET_VALUE), 'the secret appears nowhere in jlist');
	}
});

s.run();

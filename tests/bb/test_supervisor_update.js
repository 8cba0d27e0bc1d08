// wsctl update (issue 12): wsd re-executes its own binary in place.  Two
// wsworker instances hold WebSocket clients across it: the same worker
// pids, no client closed, events still delivered, the same restarts and
// start times in status, wsd's own pid unchanged, counters not going
// backwards, and a worker killed -9 afterwards is still seen, restarted
// and counted.  A binary that cannot take the state over (an older wsd)
// is refused before the exec and the running wsd carries on; the binary
// put in its place afterwards (a package upgrade) is the one run.
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
let redis, d, mport;
const clients = [];

s.setup(async () => {
	redis = await lib.startRedis();
	mport = await lib.freePort();
	d = await lib.startWsd({
		redis, instances: 2,
		wsdEnv: { WSD_METRICS_ADDR: '127.0.0.1:' + mport },
	});
});

async function ping(home) {
	const r = await lib.wsctlAsync(['ping', '--json'], { home });
	assert.strictEqual(r.status, 0, 'wsctl ping: ' + r.status + ' ' + r.stderr);
	return JSON.parse(r.stdout);
}

async function metrics() {
	const r = await lib.httpGet(mport, '/metrics');
	assert.strictEqual(r.status, 200, 'GET /metrics: ' + r.status);
	return lib.parseMetrics(r.body);
}

async function delivered(list, n) {
	lib.publish(redis, 'post_9', JSON.stringify({ type: 'post_liked', data: { postId: '9', n } }));
	for (const c of list)
		await c.expect((j) => j && j.type === 'post_liked' && j.data && j.data.n === n, 'event ' + n);
}

const keep = ['pid', 'restarts', 'unstable_restarts', 'started_at', 'created_at', 'id', 'status'];
function pick(list) { return lib.instancesOf(list).map((i) => Object.fromEntries(keep.map((k) => [k, i[k]]))); }

s.test('wsctl update keeps the workers, their clients, status and counters', async () => {
	for (let i = 0; i < 20; i++) clients.push(await lib.connectUser(d.url, 'u' + i));
	for (const c of clients) await lib.subscribe(c, { type: 'post', postId: '9' });
	await delivered(clients, 1);
	await lib.waitFor(async () => (await metrics())['wsd_app_deliveries_total{app="fonana-ws"}'] >= 20,
	    15000, 'deliveries counted');
	const before = pick(await lib.status());
	const uptimeBefore = lib.instancesOf(await lib.status()).map((i) => i.uptime_ms);
	const m0 = await metrics();
	const p0 = await ping();
	assert.strictEqual(p0.updates, 0);

	const r = await lib.wsctlAsync(['update', '--json'], { timeout: 30000 });
	assert.strictEqual(r.status, 0, 'wsctl update: ' + r.status + ' ' + r.stdout + r.stderr);
	const u = JSON.parse(r.stdout);
	lib.note('control socket answered again ' + u.gap_ms + ' ms after the update reply');
	assert.strictEqual(u.pid, p0.pid, 'wsd pid unchanged');
	assert.strictEqual(u.updates, 1);
	assert.ok(u.uptime_ms >= p0.uptime_ms, 'wsd uptime not reset: ' + p0.uptime_ms + ' → ' + u.uptime_ms);

	assert.deepStrictEqual(pick(await lib.status()), before, 'status after the update');
	const uptimeAfter = lib.instancesOf(await lib.status()).map((i) => i.uptime_ms);
	uptimeAfter.forEach((v, k) => assert.ok(v >= uptimeBefore[k], 'uptime reset: ' + uptimeBefore[k] + ' → ' + v));
	assert.strictEqual(clients.filter((c) => c.closed).length, 0, 'clients closed');
	await delivered(clients, 2);
	// new clients are still accepted, on both slots' sockets
	for (let i = 0; i < 6; i++) {
		const c = await lib.connectUser(d.url, 'v' + i);
		await lib.subscribe(c, { type: 'post', postId: '9' });
		clients.push(c);
	}
	await lib.waitFor(async () => {
		const m = await metrics();
		return m['wsd_app_active_connections{app="fonana-ws"}'] === clients.length;
	}, 15000, 'the workers report ' + clients.length + ' clients to the new image');
	const m1 = await metrics();
	const counters = Object.keys(m0).filter((k) => /_total\{/.test(k));
	assert.ok(counters.length >= 10, 'only ' + counters.length + ' counters');
	for (const k of counters) assert.ok(m1[k] >= m0[k], k + ' went backwards: ' + m0[k] + ' → ' + m1[k]);
	assert.match(lib.readFile(path.join(lib.HOME, 'wsd.log')) + d.logs(), /re-executed in place, 2 processes kept/);
}, { timeout: 90000 });

s.test('a worker killed -9 after the update is restarted and counted', async () => {
	const [victim] = lib.instancesOf(await lib.status());
	process.kill(victim.pid, 'SIGKILL');
	await lib.waitFor(async () => {
		const i = lib.instancesOf(await lib.status()).find((x) => x.instance === victim.instance);
		return i && i.status === 'online' && i.pid > 0 && i.pid !== victim.pid;
	}, 20000, 'instance ' + victim.instance + ' restarted');
	const i = lib.instancesOf(await lib.status()).find((x) => x.instance === victim.instance);
	assert.strictEqual(i.restarts, victim.restarts + 1);
	const other = clients.filter((c) => !c.closed);
	assert.ok(other.length > 0 && other.length < clients.length, 'only the killed worker\'s clients closed');
	await delivered(other, 3);
	// and a second update right after, with a process that has restarted
	// (PM2's spelling)
	const r = await lib.wsctlAsync(['updatePM2'], { timeout: 30000 });
	assert.strictEqual(r.status, 0, 'wsctl update: ' + r.status + ' ' + r.stderr);
	assert.match(r.stdout, /updated in place/);
	assert.strictEqual((await ping()).updates, 2);
	await delivered(other, 4);
}, { timeout: 90000 });

s.test('a binary that cannot take the state over is refused; the old wsd runs on', async () => {
	const home = path.join(lib.T, 'home2');
	const bindir = path.join(lib.T, 'bin2');
	fs.mkdirSync(home, { recursive: true });
	fs.mkdirSync(bindir);
	const wsd = path.join(bindir, 'wsd');
	fs.copyFileSync(path.join(lib.BIN, 'wsd'), wsd);
	fs.chmodSync(wsd, 0o755);
	const eco = path.join(lib.T, 'sleep-eco.json');
	fs.writeFileSync(eco, JSON.stringify({ apps: [
		{ name: 'sleeper', script: '/bin/sleep', args: ['600'] },
		// ignores its stop signal: stopping until kill_timeout
		{ name: 'stubborn', script: '/bin/sh', args: ['-c', 'trap "" INT TERM; while :; do sleep 1; done'],
		  kill_timeout: 4000 },
	] }));
	const env = lib.cleanEnv({ WSD_HOME: home });
	const proc = lib.spawnTracked(wsd, ['--foreground', '-f', eco], { env, logName: 'wsd-home2' });
	let st;
	await lib.waitFor(async () => {
		st = await lib.status(home).catch(() => null);
		return st && st.length === 2 && st.every((i) => i.status === 'online');
	}, 20000, 'sleeper and stubborn online');
	const p0 = await ping(home);

	// Something half done: refused with the reason, nothing changed.
	const stopping = lib.wsctlAsync(['stop', 'stubborn'], { home, timeout: 30000 });
	await lib.waitFor(async () => (await lib.status(home)).find((i) => i.name === 'stubborn').status === 'stopping',
	    10000, 'stubborn stopping');
	let r = await lib.wsctlAsync(['update'], { home, timeout: 30000 });
	assert.strictEqual(r.status, 1, 'exit ' + r.status + ' ' + r.stdout + r.stderr);
	assert.match(r.stderr, /app stubborn: instance \d+ is stopping/);
	assert.strictEqual((await stopping).status, 0);

	// An older wsd, or no wsd at all: replaced as a package upgrade does.
	const old = path.join(bindir, 'wsd.new');
	fs.writeFileSync(old, '#!/bin/sh\necho "usage: wsd [-f FILE]" >&2\nexit 64\n', { mode: 0o755 });
	fs.renameSync(old, wsd);
	r = await lib.wsctlAsync(['update'], { home, timeout: 30000 });
	assert.strictEqual(r.status, 1, 'exit ' + r.status + ' ' + r.stdout + r.stderr);
	assert.match(r.stderr, /knows no hand-over/);
	fs.writeFileSync(old, 'not a program', { mode: 0o755 });
	fs.renameSync(old, wsd);
	r = await lib.wsctlAsync(['update'], { home, timeout: 30000 });
	assert.strictEqual(r.status, 1, 'exit ' + r.status + ' ' + r.stdout + r.stderr);
	assert.match(r.stderr, /exec .*wsd: Exec format error/);
	let p = await ping(home);
	assert.strictEqual(p.pid, p0.pid);
	assert.strictEqual(p.updates, 0);
	assert.strictEqual(p.update_failures, 3);
	assert.strictEqual((await lib.status(home))[0].pid, st[0].pid, 'the app runs on');
	assert.strictEqual(proc.exitInfo, null, 'wsd still running');

	// The real binary back: the update goes through, the app kept.
	fs.copyFileSync(path.join(lib.BIN, 'wsd'), old);
	fs.chmodSync(old, 0o755);
	fs.renameSync(old, wsd);
	r = await lib.wsctlAsync(['update'], { home, timeout: 30000 });
	assert.strictEqual(r.status, 0, 'exit ' + r.status + ' ' + r.stdout + r.stderr);
	p = await ping(home);
	assert.strictEqual(p.pid, p0.pid);
	assert.strictEqual(p.updates, 1);
	const st2 = await lib.status(home);
	assert.strictEqual(st2[0].pid, st[0].pid);
	assert.strictEqual(st2[0].status, 'online');
	// the apps are the file's as loaded: a SIGHUP finds nothing changed
	process.kill(proc.pid, 'SIGHUP');
	await lib.waitFor(async () => /SIGHUP: reloading the configuration/.test(proc.logOut()), 10000, 'the SIGHUP logged');
	assert.doesNotMatch(proc.logOut(), /changed in .*: applying/);
	assert.strictEqual((await lib.status(home))[0].pid, st[0].pid, 'not reloaded by the SIGHUP');
	// the stop still works on the re-adopted process
	r = await lib.wsctlAsync(['stop', 'sleeper'], { home, timeout: 30000 });
	assert.strictEqual(r.status, 0, 'stop: ' + r.stderr);
	assert.strictEqual((await lib.status(home))[0].status, 'stopped');
	r = await lib.wsctlAsync(['kill'], { home, timeout: 30000 });
	assert.strictEqual(r.status, 0, 'kill: ' + r.stderr);
}, { timeout: 90000 });

s.teardown(() => { for (const c of clients) c.close(); });
s.run();

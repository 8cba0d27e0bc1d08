// The aggregated metrics (SPEC §4.9): wsd runs 2 wsworker instances on one
// port; `wsctl metrics` and wsd's GET /metrics (WSD_METRICS_ADDR) sum the
// clients held across both, whichever instance the kernel gave each; a
// slot's counters do not go backwards over a kill -9 of its process; the
// endpoint answers GET /metrics only and cuts a peer that trickles.
'use strict';
const net = require('net');
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
		wsdEnv: { WSD_METRICS_ADDR: '127.0.0.1:' + mport, WSD_METRICS_TIMEOUT_MS: '1500' },
	});
});

async function wsctlMetrics() {
	const r = await lib.wsctlAsync(['metrics']);
	assert.strictEqual(r.status, 0, 'wsctl metrics: ' + r.status + ' ' + r.stderr);
	return r.stdout;
}

async function httpMetrics() {
	const r = await lib.httpGet(mport, '/metrics');
	assert.strictEqual(r.status, 200, 'GET /metrics: ' + r.status + ' ' + r.body);
	assert.match(r.headers['content-type'], /^text\/plain/);
	return r.body;
}

const APP = '{app="fonana-ws"}';
function inst(slot) { return '{app="fonana-ws",instance="' + slot + '"}'; }

// Poll until both views sum the clients held open.
async function summed(want) {
	let last;
	await lib.waitFor(async () => {
		const a = lib.parseMetrics(await wsctlMetrics());
		const b = lib.parseMetrics(await httpMetrics());
		last = [a['wsd_app_active_connections' + APP], b['wsd_app_active_connections' + APP]];
		return last[0] === want && last[1] === want;
	}, 15000, () => 'wsd_app_active_connections = ' + want + ' in wsctl metrics and GET /metrics (last ' + JSON.stringify(last) + ')');
}

s.test('wsctl metrics and GET /metrics sum the clients held across 2 instances', async () => {
	for (let i = 0; i < 30; i++) clients.push(await lib.connectUser(d.url, 'm' + i));
	await summed(30);
	const m = lib.parseMetrics(await httpMetrics());
	const per = [m['wsd_instance_active_connections' + inst(0)], m['wsd_instance_active_connections' + inst(1)]];
	lib.note('clients per instance: ' + per.join(' + '));
	assert.strictEqual(per[0] + per[1], 30);
	assert.ok(m['wsd_app_connections_total' + APP] >= 30, 'connections_total ' + m['wsd_app_connections_total' + APP]);
	assert.strictEqual(m['wsd_app_instances' + APP], 2);
	assert.strictEqual(m['wsd_app_instances_online' + APP], 2);
	for (const slot of [0, 1]) {
		assert.strictEqual(m['wsd_instance_status{app="fonana-ws",instance="' + slot + '",status="online"}'], 1);
		assert.strictEqual(m['wsd_instance_redis_up' + inst(slot)], 1);
	}
	const st = lib.instancesOf(await lib.status());
	for (const i of st) {
		assert.strictEqual(m['wsd_instance_info{app="fonana-ws",instance="' + i.instance + '",pid="' + i.pid + '"}'], 1,
		    'info series with pid ' + i.pid);
		assert.strictEqual(m['wsd_instance_active_connections' + inst(i.instance)], i.connections);
	}
}, { timeout: 60000 });

s.test('no counter goes backwards over a kill -9 of one instance', async () => {
	for (const c of clients) await lib.subscribe(c, { type: 'post', postId: '7' });
	lib.publish(redis, 'post_7', '{"type":"post_liked","data":{"postId":"7"}}');
	for (const c of clients) await c.expect((j) => j && j.type === 'post_liked', 'the event');
	// both instances reported the messages and deliveries
	let before;
	await lib.waitFor(async () => {
		before = lib.parseMetrics(await httpMetrics());
		return before['wsd_app_messages_total' + APP] >= 30 && before['wsd_app_deliveries_total' + APP] >= 30;
	}, 15000, 'messages and deliveries counted');
	const counters = (await httpMetrics()).split('\n').filter((l) => /^# TYPE \S+ counter$/.test(l)).map((l) => l.split(' ')[2]);
	const victim = lib.instancesOf(await lib.status()).find((i) => i.connections > 0);
	process.kill(victim.pid, 'SIGKILL');
	await lib.waitFor(async () => {
		const i = lib.instancesOf(await lib.status()).find((x) => x.instance === victim.instance);
		return i && i.status === 'online' && i.pid !== victim.pid && i.pid > 0 && i.stats;
	}, 20000, 'the replacement of pid ' + victim.pid + ' online and reporting');
	const after = lib.parseMetrics(await httpMetrics());
	let checked = 0;
	for (const key of Object.keys(before)) {
		const name = key.replace(/\{.*/, '');
		if (!counters.includes(name)) continue;
		assert.ok(key in after, key + ' gone after the restart');
		assert.ok(after[key] >= before[key], key + ' went backwards: ' + before[key] + ' → ' + after[key]);
		checked++;
	}
	assert.ok(checked >= 20, 'only ' + checked + ' counter series');
	assert.ok(after['wsd_instance_restarts_total' + inst(victim.instance)] >= 1);
	assert.ok(after['wsd_instance_messages_total' + inst(victim.instance)] >= victim.stats.messages,
	    'the killed process\'s messages are carried');
}, { timeout: 60000 });

function rawRequest(text, waitMs) {
	return new Promise((resolve, reject) => {
		const sock = net.connect(mport, '127.0.0.1');
		let got = '';
		sock.on('data', (b) => { got += b.toString('latin1'); });
		sock.on('error', () => {});
		sock.on('close', () => resolve(got));
		sock.on('connect', () => { if (text) sock.write(text); });
		setTimeout(() => { sock.destroy(); reject(new Error('no answer and no close in ' + waitMs + ' ms')); }, waitMs);
	});
}

s.test('the endpoint answers GET /metrics only: 404 for other paths, 405 for other methods', async () => {
	assert.strictEqual((await lib.httpGet(mport, '/')).status, 404);
	assert.strictEqual((await lib.httpGet(mport, '/metricsX')).status, 404);
	assert.strictEqual((await lib.httpGet(mport, '/metrics?x=1')).status, 200);
	const p = await lib.httpRequest(mport, 'POST', '/metrics', {}, 'x');
	assert.strictEqual(p.status, 405);
	assert.strictEqual(p.headers.allow, 'GET');
	assert.match(await rawRequest('garbage\r\n\r\n', 10000), /^HTTP\/1\.1 400 /);
});

s.test('a request over the size cap gets 431, not a buffer that grows', async () => {
	const big = 'GET /metrics HTTP/1.1\r\nX-Pad: ' + 'a'.repeat(16384) + '\r\n\r\n';
	assert.match(await rawRequest(big, 10000), /^HTTP\/1\.1 431 /);
});

s.test('a trickling client is cut at the deadline and does not stall the others', async () => {
	const sock = net.connect(mport, '127.0.0.1');
	let closed = false;
	sock.on('error', () => {});
	sock.on('close', () => { closed = true; });
	await new Promise((r) => sock.on('connect', r));
	sock.write('GET /met');
	const timer = setInterval(() => { if (!closed) sock.write('r'); }, 200);
	try {
		// served while the trickler holds its connection
		assert.match(await httpMetrics(), /wsd_app_active_connections/);
		await lib.waitFor(async () => closed, 15000, 'wsd closes the trickling connection');
	} finally {
		clearInterval(timer);
		sock.destroy();
	}
});

s.test('wsd --metrics with a bad address refuses to start', async () => {
	const r = require('child_process').spawnSync(lib.BIN + '/wsd', ['--foreground', '--metrics', 'nonsense'], {
		env: lib.cleanEnv({ WSD_HOME: lib.T + '/home-bad' }), encoding: 'utf8', timeout: 10000,
	});
	assert.strictEqual(r.status, 78, 'exit ' + r.status + ' ' + r.stderr);
	assert.match(r.stderr, /metrics address "nonsense"/);
});

s.teardown(() => { for (const c of clients) c.close(); });
s.run();

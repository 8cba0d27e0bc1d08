// The supervised service (SPEC §2 listening sockets, §3 wsctl token and
// publish, §4.4 fan-out, §4.7 drain): wsd runs 2 wsworker instances on one
// port with a private redis-server; clients spread over both instances by
// the kernel; per-instance `connections` come from `wsctl status --json`.
'use strict';
const crypto = require('crypto');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
let redis, d;
const all = [];		// every client this file opened on the cluster
let seq = 0;

s.setup(async () => {
	redis = await lib.startRedis();
	d = await lib.startWsd({ redis, instances: 2 });
});

function openClients() { return all.filter((c) => c.isOpen()); }

// Poll `wsctl status --json` until the instances' reported connections add
// up to the clients we hold open; returns the fonana-ws instances.
async function settled(what) {
	let last;
	await lib.waitFor(async () => {
		last = lib.instancesOf(await lib.status());
		const want = openClients().length;
		return last.length === 2 && last.every((i) => i.status === 'online' && typeof i.connections === 'number') &&
		    last.reduce((a, i) => a + i.connections, 0) === want;
	}, 10000, () => (what || 'per-instance connections') + ' to add up to ' + openClients().length +
	    ' open clients (last: ' + JSON.stringify((last || []).map((i) => ({ pid: i.pid, status: i.status, connections: i.connections }))) + ')');
	return last;
}

// Open clients (4 at a time) until every instance holds at least one.
async function spread(max) {
	for (let n = 0; n < (max || 48); n += 4) {
		for (let i = 0; i < 4; i++) all.push(await lib.connectUser(d.url, 'c' + (seq++)));
		const inst = await settled();
		if (inst.every((i) => i.connections > 0)) return inst;
	}
	throw new Error('after ' + (max || 48) + ' connects not every instance holds a client');
}

s.test('wsctl status --json: 2 online instances with distinct pids and a connections count', async () => {
	const inst = await settled('initial connections');
	assert.strictEqual(inst.length, 2);
	assert.notStrictEqual(inst[0].pid, inst[1].pid);
	for (const i of inst) assert.ok(i.pid > 0 && i.status === 'online', JSON.stringify(i));
});

s.test('an event published once with redis-cli reaches subscribers on both instances, verbatim', async () => {
	const inst = await spread();
	lib.note('clients per instance: ' + inst.map((i) => i.pid + ':' + i.connections).join(' '));
	for (const c of openClients()) await lib.subscribe(c, { type: 'post', postId: '1' });
	await lib.waitFor(async () => (await lib.numsub(redis, 'post_1')) === 2, 5000, 'both instances subscribed to ws:post_1');
	const text = '{"type":"post_liked","data":{"postId":"1","likesCount":3}}';
	const receivers = lib.redisCli(redis.port, ['PUBLISH', 'ws:post_1', text]);
	assert.strictEqual(receivers, '2', 'PUBLISH receivers');
	for (const c of openClients()) await c.expect((j, t) => t === text, 'the event at every client');
}, { timeout: 30000 });

s.test('`wsctl status` shows each instance\'s conns and `wsctl jlist` carries connections (from the worker\'s IPC stats)', async () => {
	const inst = await settled();
	assert.ok(inst.some((i) => i.connections > 0));
	const t = await lib.wsctlAsync(['status']);
	assert.strictEqual(t.status, 0, t.stderr);
	const lines = t.stdout.split('\n');
	const head = lines.find((l) => /\bid\b/.test(l) && /\bconns\b/.test(l));
	assert.ok(head, 'no conns column in:\n' + t.stdout);
	const cols = head.split(/[│|]/).map((x) => x.trim());
	const ci = cols.indexOf('conns');
	const pi = cols.indexOf('pid');
	for (const i of inst) {
		const row = lines.map((l) => l.split(/[│|]/).map((x) => x.trim())).find((c) => c[pi] === String(i.pid));
		assert.ok(row, 'no row for pid ' + i.pid + ' in:\n' + t.stdout);
		assert.strictEqual(row[ci], String(i.connections), 'conns of pid ' + i.pid);
	}
	const j = await lib.wsctlAsync(['jlist']);
	assert.strictEqual(j.status, 0, j.stderr);
	const arr = JSON.parse(j.stdout);
	for (const i of inst) {
		const e = arr.find((x) => x.pid === i.pid);
		assert.ok(e, 'no jlist entry for pid ' + i.pid);
		const c = 'connections' in e ? e.connections : e.pm2_env && e.pm2_env.connections;
		assert.strictEqual(c, i.connections, 'jlist connections of pid ' + i.pid + ': ' + JSON.stringify(e).slice(0, 300));
	}
});

s.test('SIGINT to an instance: its clients get close 1001, it exits 0, the other instance\'s clients stay', async () => {
	const inst = await spread();
	const victim = inst.reduce((a, b) => (b.connections > a.connections ? b : a));
	const total = openClients().length;
	const before = new Set(openClients());
	process.kill(victim.pid, 'SIGINT');
	await lib.waitFor(() => [...before].filter((c) => c.closed).length >= victim.connections, 10000,
	    victim.connections + ' clients of pid ' + victim.pid + ' to be closed');
	const closed = [...before].filter((c) => c.closed);
	assert.strictEqual(closed.length, victim.connections, 'closed ' + closed.length + ' of ' + total + ', instance held ' + victim.connections);
	const codes = closed.map((c) => c.closed.code);
	assert.ok(codes.every((c) => c === 1001), 'close codes ' + JSON.stringify([...new Set(codes)]) + ' reasons ' +
	    JSON.stringify([...new Set(closed.map((c) => c.closed.reason))]));
	assert.strictEqual(openClients().length, total - victim.connections, 'clients of the other instance were closed too');
	let last;
	await lib.waitFor(async () => {
		last = lib.instancesOf(await lib.status()).find((i) => i.id === victim.id);
		return last && last.pid !== victim.pid && last.status === 'online';
	}, 10000, 'instance ' + victim.id + ' replaced and online');
	assert.strictEqual(last.exit_code, 0, 'last exit of the SIGINTed instance: ' + JSON.stringify({ exit_code: last.exit_code, exit_signal: last.exit_signal }));
	lib.note('close reason: ' + JSON.stringify(closed[0] && closed[0].closed.reason));
}, { timeout: 30000 });

// Clients connecting in a loop (LOOPS at a time) until stop(): each waits
// for the welcome; failures are sorted by kind.
function connectLoops(base, LOOPS) {
	let stopped = false;
	const results = { ok: 0, refused: 0, reset: 0, other: [], resets: [] };
	const loop = async (k) => {
		while (!stopped) {
			const c = new lib.Client(lib.url(base, lib.token(lib.SECRET, 'loop' + k)));
			try {
				await c.expect((j) => j && j.type === 'connected', 'welcome', 10000);
				results.ok++;
			} catch (e) {
				const codes = c.errors.map((x) => x.code || x.message);
				if (codes.includes('ECONNREFUSED')) results.refused++;
				else if (codes.some((x) => /ECONNRESET|socket hang up|EPIPE/.test(x)) || (c.closed && c.closed.code === 1006)) {
					results.reset++;
					if (results.resets.length < 3) {
						results.resets.push((c.opened ? 'upgraded, ' : 'before the upgrade, ') + (codes.join(',') || 'close ' + JSON.stringify(c.closed)));
					}
				}
				else results.other.push(codes.join(',') + ' ' + e.message.slice(0, 120));
			}
			c.terminate();
		}
	};
	const loops = [];
	for (let k = 0; k < LOOPS; k++) loops.push(loop(k));
	return { results, async stop() { stopped = true; await Promise.all(loops); } };
}

// kill -9 `victim` (an instance object) while clients connect in a loop;
// returns its replacement's instance object and the loop's results.
async function killDuringConnects(base, getStatus, victim, LOOPS) {
	const cl = connectLoops(base, LOOPS);
	const results = cl.results;
	try {
		await lib.waitFor(() => results.ok >= 20, 10000, '20 connects before the kill');
		const okBefore = results.ok;
		process.kill(victim.pid, 'SIGKILL');
		let now;
		await lib.waitFor(async () => {
			now = (await getStatus()).find((i) => i.id === victim.id);
			return now && now.pid > 0 && now.pid !== victim.pid && now.status === 'online';
		}, 15000, () => 'instance ' + victim.id + ' restarted and online (last ' + JSON.stringify(now) + ')');
		await lib.waitFor(() => results.ok >= okBefore + 40, 15000, '40 more connects after the restart');
		return { now, results };
	} finally {
		await cl.stop();
		lib.note('connect loop: ' + JSON.stringify(results));
	}
}

function checkRestart(victim, now, results, LOOPS) {
	assert.strictEqual(now.restarts, victim.restarts + 1, 'restarts ' + victim.restarts + ' → ' + now.restarts);
	assert.strictEqual(now.exit_signal, 'SIGKILL', 'exit_signal ' + JSON.stringify(now.exit_signal));
	assert.strictEqual(results.refused, 0, results.refused + ' connects refused during the restart');
	assert.strictEqual(results.other.length, 0, 'failed connects: ' + results.other.slice(0, 3).join(' | '));
	// At most the handshakes the killed process had already accepted may die;
	// connections still queued on the listening socket wait for the replacement.
	assert.ok(results.reset <= LOOPS, results.reset + ' connects reset (more than the ' + LOOPS + ' that may be in flight)');
}

s.test('kill -9 of an instance with clients: restarted with a new pid (restarts +1), new clients served, no refused connect meanwhile', async () => {
	const inst = await spread();
	const victim = inst.reduce((a, b) => (b.connections > a.connections ? b : a));
	const mine = new Set(openClients());
	const { now, results } = await killDuringConnects(d.url, async () => lib.instancesOf(await lib.status()), victim, 4);
	checkRestart(victim, now, results, 4);
	// The killed instance's clients were dropped; the others stayed.
	await lib.waitFor(() => [...mine].filter((c) => c.closed).length === victim.connections, 10000,
	    victim.connections + ' clients of the killed instance to see their socket close');
	// New clients are served by the replacement.
	let inst2;
	for (let n = 0; n < 48; n += 4) {
		for (let i = 0; i < 4; i++) all.push(await lib.connectUser(d.url, 'after' + (seq++)));
		inst2 = await settled('connections after the restart');
		if (inst2.find((i) => i.id === victim.id).connections > 0) break;
	}
	assert.ok(inst2.find((i) => i.id === victim.id).connections > 0, 'the replacement never got a client');
	const c = openClients().slice(-1)[0];
	await lib.subscribe(c, { type: 'post', postId: 'k9' });
	const e = JSON.stringify({ type: 'post_liked', data: { postId: 'k9' } });
	await lib.waitFor(async () => (await lib.numsub(redis, 'post_k9')) >= 1, 5000, 'ws:post_k9 subscribed');
	await lib.publish(redis, 'post_k9', e);
	await c.expect((j, t) => t === e, 'an event after the restart');
}, { timeout: 60000 });

s.test('kill -9 of the only instance: connects made while it restarts wait for the replacement (the port is held by wsd)', async () => {
	// A second daemon (own home) running a single instance: no other
	// listener can take over, so a dropped listening socket would show as
	// refused or reset connects.
	const d1 = await lib.startWsd({ home: require('path').join(lib.T, 'home1'), redis, instances: 1 });
	const getStatus = async () => lib.instancesOf(await d1.status());
	const victim = (await getStatus())[0];
	const { now, results } = await killDuringConnects(d1.url, getStatus, victim, 4);
	checkRestart(victim, now, results, 4);
}, { timeout: 60000 });

function decodeJws(t) {
	const [h, p, sig] = t.split('.');
	return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(p, 'base64url')), input: h + '.' + p, sig };
}

s.test('`wsctl token --user 42` prints an HS256 token signed with the app\'s secret that the server accepts', async () => {
	const r = await lib.wsctlAsync(['token', '--user', '42']);
	assert.strictEqual(r.status, 0, 'wsctl token: status ' + r.status + ' ' + r.stderr);
	const tok = r.stdout.trim();
	assert.ok(/^[\w-]+\.[\w-]+\.[\w-]+$/.test(tok), 'not a compact JWS: ' + JSON.stringify(tok.slice(0, 80)));
	const j = decodeJws(tok);
	assert.strictEqual(j.header.alg, 'HS256');
	const want = crypto.createHmac('sha256', lib.SECRET).update(j.input).digest('base64url');
	assert.strictEqual(j.sig, want, 'signature does not verify with NEXTAUTH_SECRET');
	assert.ok(String(j.claims.userId) === '42' || String(j.claims.sub) === '42', 'claims ' + JSON.stringify(j.claims));
	assert.ok(Number.isInteger(j.claims.exp) && j.claims.exp > lib.now(), 'exp ' + j.claims.exp);
	const c = new lib.Client(lib.url(d.url, tok));
	all.push(c);
	const m = await c.expect((x) => x && x.type === 'connected', 'the welcome');
	assert.strictEqual(m.json.data.userId, '42');
});

s.test('`wsctl publish post_1 \'{"type":"post_liked",…}\'` reaches a subscriber', async () => {
	const c = await lib.connectUser(d.url, 'wsctlpub');
	all.push(c);
	await lib.subscribe(c, { type: 'post', postId: '1' });
	await lib.waitFor(async () => (await lib.numsub(redis, 'post_1')) >= 1, 5000, 'ws:post_1 subscribed');
	const r = await lib.wsctlAsync(['publish', 'post_1', '{"type":"post_liked","data":{"postId":"1"}}']);
	assert.strictEqual(r.status, 0, 'wsctl publish: status ' + r.status + ' ' + r.stderr + r.stdout);
	const m = await c.expect((j) => j && j.type === 'post_liked' && j.data && j.data.postId === '1', 'the event');
	assert.deepStrictEqual(m.json.data, { postId: '1' });
});

s.test('wsctl reload fonana-ws: every instance replaced, their clients get 1001, no connect fails meanwhile', async () => {
	const inst = await spread();
	const mine = openClients();
	const cl = connectLoops(d.url, 4);
	let r, now;
	try {
		await lib.waitFor(() => cl.results.ok >= 20, 10000, '20 connects before the reload');
		r = await lib.wsctlAsync(['reload', 'fonana-ws'], { timeout: 30000 });
		await lib.waitFor(async () => {
			now = lib.instancesOf(await lib.status());
			return now.length === 2 && now.every((i) => i.status === 'online' && !inst.some((o) => o.pid === i.pid));
		}, 20000, () => 'both instances replaced and online (last ' + JSON.stringify((now || []).map((i) => [i.pid, i.status])) + ')');
		const okAfter = cl.results.ok;
		await lib.waitFor(() => cl.results.ok >= okAfter + 20, 10000, '20 connects after the reload');
	} finally {
		await cl.stop();
		lib.note('connect loop: ' + JSON.stringify(cl.results));
	}
	assert.strictEqual(r.status, 0, 'wsctl reload: ' + r.status + ' ' + r.stderr);
	await lib.waitFor(() => mine.every((c) => c.closed), 10000, 'every client of the old instances to be closed');
	const codes = [...new Set(mine.map((c) => c.closed.code))];
	assert.deepStrictEqual(codes, [1001], 'close codes of the old instances\' clients');
	const res = cl.results;
	assert.strictEqual(res.refused + res.reset + res.other.length, 0, 'connects failed during the reload: ' + JSON.stringify(res));
}, { timeout: 60000 });

s.test('wsctl stop fonana-ws: every client gets 1001, the instances end stopped with exit code 0', async () => {
	await spread();
	const mine = openClients();
	const r = await lib.wsctlAsync(['stop', 'fonana-ws'], { timeout: 30000 });
	assert.strictEqual(r.status, 0, 'wsctl stop: ' + r.status + ' ' + r.stderr);
	await lib.waitFor(() => mine.every((c) => c.closed), 10000, 'every client to be closed');
	assert.deepStrictEqual([...new Set(mine.map((c) => c.closed.code))], [1001]);
	const st = lib.instancesOf(await lib.status());
	for (const i of st) {
		assert.strictEqual(i.status, 'stopped', JSON.stringify(i));
		assert.strictEqual(i.exit_code, 0, 'instance ' + i.id + ' exit_code ' + i.exit_code + ' signal ' + i.exit_signal + ' (drained within kill_timeout?)');
	}
}, { timeout: 40000 });

s.final('instance logs are JSON lines with ts, level, msg, app, instance, pid (and user where it applies)', async () => {
	const fs = require('fs');
	const path = require('path');
	const dir = path.join(d.home, 'logs');
	const files = fs.readdirSync(dir).filter((f) => /^fonana-ws-out/.test(f));
	assert.ok(files.length >= 2, 'out logs: ' + fs.readdirSync(dir).join(' '));
	let n = 0;
	let withUser = 0;
	for (const f of files) {
		for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
			if (!line.trim()) continue;
			let j;
			try { j = JSON.parse(line); } catch (e) { throw new Error(f + ': not a JSON line: ' + line.slice(0, 200)); }
			for (const k of ['ts', 'level', 'msg', 'app', 'instance', 'pid']) assert.ok(k in j, f + ': no "' + k + '" in ' + line.slice(0, 200));
			assert.strictEqual(j.app, 'fonana-ws', f + ': ' + line.slice(0, 200));
			n++;
			if (j.user !== undefined) withUser++;
		}
	}
	assert.ok(n > 0, 'no log lines');
	assert.ok(withUser > 0, 'no log line names a user (connects happened)');
});

s.run();

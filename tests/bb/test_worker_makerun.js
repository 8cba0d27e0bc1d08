// The `make run` flow of issue #3, on private ports: a copy of ecosystem/
// (its ecosystem.json, .env.example and init-env.sh), .env created by
// init-env.sh with fresh secrets, wsd supervising the managed redis-server
// and 2 fonana-ws instances found by name ("script": "wsworker", PATH
// without our bin folder, as under `make run`), then `wsctl token --user 42`
// and `wsctl publish post_1 …` end to end.
'use strict';
const child_process = require('child_process');
const fs = require('fs');
const path = require('path');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
const ECO = path.join(lib.T, 'eco');
let d, wsPort, redisPort, env;

s.setup(async () => {
	fs.mkdirSync(ECO);
	for (const f of ['ecosystem.json', '.env.example', 'init-env.sh']) {
		fs.copyFileSync(path.join(lib.TOP, 'ecosystem', f), path.join(ECO, f));
	}
	const r = child_process.spawnSync('sh', [path.join(ECO, 'init-env.sh')], { encoding: 'utf8', timeout: 10000 });
	if (r.status !== 0) throw new Error('init-env.sh: status ' + r.status + ' ' + r.stderr);
	env = fs.readFileSync(path.join(ECO, '.env'), 'utf8');
	// Private ports instead of 3002 / 6390; nothing else changes.
	wsPort = await lib.freePort();
	redisPort = await lib.freePort();
	const text = fs.readFileSync(path.join(ECO, 'ecosystem.json'), 'utf8');
	assert.ok(text.includes('6390') && text.includes('3002'), 'ecosystem.json no longer uses 6390/3002: update this test');
	fs.writeFileSync(path.join(ECO, 'ecosystem.json'), text.split('6390').join(String(redisPort)).split('3002').join(String(wsPort)));
	const pathNoBin = (process.env.PATH || '').split(':').filter((p) => p && path.resolve(p) !== path.resolve(lib.BIN)).join(':');
	d = await lib.startWsdFile(path.join(ECO, 'ecosystem.json'), { path: pathNoBin, online: { redis: 1, 'fonana-ws': 2 } });
	d.url = 'ws://127.0.0.1:' + wsPort;
	await lib.waitFor(async () => (await lib.httpGet(wsPort, '/health')).status === 200, 10000, '/health 200 (Redis link up)');
});

function envValue(k) {
	const m = new RegExp('^' + k + '=(.*)$', 'm').exec(env);
	return m ? m[1].trim() : null;
}

s.test('init-env.sh wrote .env (mode 0600) with a fresh 32-byte NEXTAUTH_SECRET and a WS_API_KEY', async () => {
	const st = fs.statSync(path.join(ECO, '.env'));
	assert.strictEqual(st.mode & 0o777, 0o600, 'mode ' + (st.mode & 0o777).toString(8));
	const secret = envValue('NEXTAUTH_SECRET');
	assert.ok(secret && Buffer.byteLength(secret) >= 32 && secret !== 'replace-with-the-apps-nextauth-secret', 'NEXTAUTH_SECRET=' + (secret || '').slice(0, 8) + '…');
	const key = envValue('WS_API_KEY');
	assert.ok(key && key !== 'replace-with-a-random-key', 'WS_API_KEY not generated');
});

s.test('`wsctl token --user 42` gives a token the served port accepts (user "42")', async () => {
	const r = await lib.wsctlAsync(['token', '--user', '42']);
	assert.strictEqual(r.status, 0, 'wsctl token: ' + r.status + ' ' + r.stderr);
	const c = new lib.Client(lib.url(d.url, r.stdout.trim()));
	const m = await c.expect((j) => j && j.type === 'connected', 'the welcome');
	assert.strictEqual(m.json.data.userId, '42');
	c.close();
});

s.test('`wsctl publish post_1 \'{"type":"post_liked","data":{"postId":"1"}}\'` reaches a subscriber connected with that token', async () => {
	const r = await lib.wsctlAsync(['token', '--user', '42']);
	assert.strictEqual(r.status, 0, 'wsctl token: ' + r.status + ' ' + r.stderr);
	const c = new lib.Client(lib.url(d.url, r.stdout.trim()));
	await c.expect((j) => j && j.type === 'connected', 'the welcome');
	await lib.subscribe(c, { type: 'post', postId: '1' });
	await lib.waitFor(async () => (await lib.numsub(redisPort, 'post_1')) >= 1, 5000, 'ws:post_1 subscribed on the managed redis');
	const p = await lib.wsctlAsync(['publish', 'post_1', '{"type":"post_liked","data":{"postId":"1"}}']);
	assert.strictEqual(p.status, 0, 'wsctl publish: ' + p.status + ' ' + p.stderr + p.stdout);
	const m = await c.expect((j) => j && j.type === 'post_liked', 'the event');
	assert.deepStrictEqual(m.json.data, { postId: '1' });
	c.close();
});

s.test('init-env.sh never overwrites an existing .env', async () => {
	const r = child_process.spawnSync('sh', [path.join(ECO, 'init-env.sh')], { encoding: 'utf8', timeout: 10000 });
	assert.strictEqual(r.status, 0, r.stderr);
	assert.strictEqual(fs.readFileSync(path.join(ECO, '.env'), 'utf8'), env);
});

s.run();

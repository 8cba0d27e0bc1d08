// Hot settings (SPEC §4.11): a secret rotated in the env file reaches the
// running instances over IPC — `wsctl reload` and `restart --update-env`
// close no connection and keep the pids; tokens signed with the new secret
// are accepted at once, old ones while NEXTAUTH_SECRET_PREVIOUS holds the
// old secret and refused once it does not.  Any other change still
// replaces the instances.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const lib = require('./lib');
const { assert } = lib;

const CLIENTS = 200;
const OLD = 'old-secret-' + crypto.randomBytes(16).toString('hex');
const NEW = 'new-secret-' + crypto.randomBytes(16).toString('hex');
const NEWER = 'newer-secret-' + crypto.randomBytes(16).toString('hex');

const s = lib.suite();
let d, envFile;
const held = [];	// clients connected with OLD before the rotation

function writeEnv(vars) {
	fs.writeFileSync(envFile, Object.entries(vars).map(([k, v]) => k + '=' + v + '\n').join(''));
}

// 'ok' when a connect with `tok` gets its welcome, else why not.
async function tryToken(tok, opts) {
	const c = new lib.Client(lib.url(d.url, tok), opts);
	try {
		await c.waitOpen();
		await c.expect((j) => j && j.type === 'connected', 'the welcome');
		return 'ok';
	} catch (e) {
		// The worker refuses a bad token with close 1008 (SPEC §4.2).
		if (c.closed && c.closed.code === 1008) return 'refused';
		if (c.httpStatus === 403) return 'forbidden';
		return c.httpStatus ? 'HTTP ' + c.httpStatus : e.message;
	} finally {
		c.close();
	}
}

function closedCount() { return held.filter((c) => c.closed || !c.isOpen()).length; }

async function pids() { return lib.instancesOf(await d.status()).map((i) => i.pid); }

async function wsctlOk(args) {
	const r = await lib.wsctlAsync(args, { timeout: 60000 });
	assert.strictEqual(r.status, 0, 'wsctl ' + args.join(' ') + ': status ' + r.status + ' ' + r.stderr + r.stdout);
	return r.stdout;
}

s.setup(async () => {
	envFile = path.join(lib.T, 'hot.env');
	writeEnv({ NEXTAUTH_SECRET: OLD });
	// The secret comes from the env file alone ("env" would override it).
	// "plain" never speaks IPC: a push cannot reach it.  "mute" says
	// ready on IPC, then never reads it: a push gets no answer.
	const mute = path.join(lib.T, 'mute.sh');
	fs.writeFileSync(mute, '#!/bin/bash\nprintf \'{"ready":true}\\n\' >&"$WSD_IPC_FD"\nexec sleep 100000\n', { mode: 0o755 });
	d = await lib.startWsd({
		instances: 2, env: { NEXTAUTH_SECRET: undefined }, app: { env_file: envFile },
		extraApps: [
			{ name: 'plain', script: '/bin/sleep', args: ['100000'], exec_mode: 'fork', env_file: envFile },
			{ name: 'mute', script: mute, exec_mode: 'fork', env_file: envFile },
		],
	});
	for (let i = 0; i < CLIENTS; i += 20) {
		const batch = [];
		for (let k = i; k < i + 20; k++) {
			const c = new lib.Client(lib.url(d.url, lib.token(OLD, 'u' + k)));
			held.push(c);
			batch.push(c.waitOpen().then(() => c.expect((j) => j && j.type === 'connected', 'the welcome')));
		}
		await Promise.all(batch);
	}
});

s.test('rotation by wsctl reload: settings pushed to 2 instances, same pids, 0 of ' + CLIENTS + ' clients closed', async () => {
	const before = await pids();
	writeEnv({ NEXTAUTH_SECRET: NEW, NEXTAUTH_SECRET_PREVIOUS: OLD });
	const out = await wsctlOk(['reload', 'fonana-ws']);
	assert.match(out, /fonana-ws: settings pushed to 2 instances \(NEXTAUTH_SECRET, NEXTAUTH_SECRET_PREVIOUS\)/, out);
	assert.ok(!out.includes(NEW) && !out.includes(OLD), 'a secret value printed: ' + out);
	assert.deepStrictEqual(await pids(), before, 'the instances were replaced');
	assert.strictEqual(closedCount(), 0, closedCount() + ' of ' + CLIENTS + ' clients closed');
	assert.match(d.logs(), /hot settings pushed/);
	assert.ok(!d.logs().includes(NEW), 'the new secret is in wsd\'s log');
}, { timeout: 120000 });

s.test('after the rotation: a new-secret token and an old-secret token (previous set) are accepted', async () => {
	assert.strictEqual(await tryToken(lib.token(NEW, 'fresh')), 'ok');
	assert.strictEqual(await tryToken(lib.token(OLD, 'cached')), 'ok');
	assert.strictEqual(await tryToken(lib.token('some-other-secret-' + 'x'.repeat(20), 'forged')), 'refused');
});

s.test('wsctl env shows the pushed environment (masked)', async () => {
	const out = await wsctlOk(['env', 'fonana-ws', '--json']);
	const j = JSON.parse(out);
	const env = j.env || j;
	assert.ok('NEXTAUTH_SECRET_PREVIOUS' in env, 'no NEXTAUTH_SECRET_PREVIOUS in ' + out);
	assert.ok(!out.includes(NEW) && !out.includes(OLD), 'a secret value shown');
});

s.test('the previous secret removed by a second reload: old tokens refused for new connects, connected clients kept', async () => {
	const before = await pids();
	writeEnv({ NEXTAUTH_SECRET: NEW });
	const out = await wsctlOk(['reload', 'fonana-ws']);
	assert.match(out, /settings pushed to 2 instances \(NEXTAUTH_SECRET_PREVIOUS\)/, out);
	assert.deepStrictEqual(await pids(), before, 'the instances were replaced');
	assert.strictEqual(await tryToken(lib.token(OLD, 'cached')), 'refused');
	assert.strictEqual(await tryToken(lib.token(NEW, 'fresh')), 'ok');
	assert.strictEqual(closedCount(), 0, closedCount() + ' clients closed');
});

s.test('restart --update-env with only the secret changed pushes it too', async () => {
	const before = await pids();
	writeEnv({ NEXTAUTH_SECRET: NEWER, NEXTAUTH_SECRET_PREVIOUS: NEW });
	const out = await wsctlOk(['restart', 'fonana-ws', '--update-env']);
	assert.match(out, /settings pushed to 2 instances \(NEXTAUTH_SECRET, NEXTAUTH_SECRET_PREVIOUS\)/, out);
	assert.deepStrictEqual(await pids(), before, 'the instances were replaced');
	assert.strictEqual(await tryToken(lib.token(NEWER, 'fresh')), 'ok');
	assert.strictEqual(closedCount(), 0, closedCount() + ' clients closed');
}, { timeout: 120000 });

s.test('an app that does not speak IPC is replaced on a hot change', async () => {
	const list = await d.status();
	const before = list.find((i) => i.name === 'plain');
	assert.ok(before && before.pid > 0, 'plain: ' + JSON.stringify(before));
	const out = await wsctlOk(['reload', 'plain']);
	assert.match(out, /plain: 1 instance replaced/, out);
	const after = (await d.status()).find((i) => i.name === 'plain');
	assert.notStrictEqual(after.pid, before.pid, 'plain kept its pid');
}, { timeout: 60000 });

s.test('an instance that does not answer the push is replaced', async () => {
	const before = (await d.status()).find((i) => i.name === 'mute');
	assert.ok(before && before.pid > 0, 'mute: ' + JSON.stringify(before));
	const out = await wsctlOk(['reload', 'mute']);
	assert.match(out, /mute: 1 instance replaced/, out);
	assert.match(d.logs(), /hot settings not applied \(no answer\)/);
	const after = (await d.status()).find((i) => i.name === 'mute');
	assert.notStrictEqual(after.pid, before.pid, 'mute kept its pid');
}, { timeout: 60000 });

s.test('ALLOWED_ORIGINS changed in the ecosystem file (wsctl reload FILE): pushed, enforced at once', async () => {
	const before = await pids();
	const eco = JSON.parse(fs.readFileSync(d.eco, 'utf8'));
	eco.apps[0].env.ALLOWED_ORIGINS = 'https://fonana.example';
	fs.writeFileSync(d.eco, JSON.stringify(eco, null, 2));
	// reload FILE applies the file's definition, then reloads (as PM2's
	// `reload ecosystem` passes the file's env); `start FILE` would restart.
	const out = await wsctlOk(['reload', d.eco, '--only', 'fonana-ws']);
	assert.match(out, /fonana-ws: settings pushed to 2 instances \(ALLOWED_ORIGINS\)/, out);
	assert.deepStrictEqual(await pids(), before, 'the instances were replaced');
	assert.strictEqual(await tryToken(lib.token(NEWER, 'b1'), { origin: 'https://evil.example' }), 'forbidden');
	assert.strictEqual(await tryToken(lib.token(NEWER, 'b2'), { origin: 'https://fonana.example' }), 'ok');
	assert.strictEqual(closedCount(), 0, closedCount() + ' clients closed');
}, { timeout: 60000 });

s.test('an empty NEXTAUTH_SECRET is refused by the instances: the reload falls back to replacing, which fails; the old processes keep serving', async () => {
	const before = await pids();
	writeEnv({ NEXTAUTH_SECRET: '', NEXTAUTH_SECRET_PREVIOUS: NEW });
	const r = await lib.wsctlAsync(['reload', 'fonana-ws'], { timeout: 60000 });
	assert.notStrictEqual(r.status, 0, 'the reload succeeded: ' + r.stdout);
	assert.match(d.logs(), /hot settings not applied \(NEXTAUTH_SECRET is missing or empty\)/);
	assert.deepStrictEqual(await pids(), before, 'the serving processes changed');
	assert.strictEqual(closedCount(), 0, closedCount() + ' clients closed');
	assert.strictEqual(await tryToken(lib.token(NEWER, 'fresh')), 'ok');
	writeEnv({ NEXTAUTH_SECRET: NEWER, NEXTAUTH_SECRET_PREVIOUS: NEW });
}, { timeout: 120000 });

s.test('a secret read from a _FILE: a new file content is pushed', async () => {
	const before = await pids();
	const file = path.join(lib.T, 'nextauth_secret');
	const a = 'file-secret-a-' + crypto.randomBytes(16).toString('hex');
	const b = 'file-secret-b-' + crypto.randomBytes(16).toString('hex');
	fs.writeFileSync(file, a);
	writeEnv({ NEXTAUTH_SECRET_FILE: file, NEXTAUTH_SECRET_PREVIOUS: NEW });
	let out = await wsctlOk(['reload', 'fonana-ws']);
	assert.match(out, /fonana-ws: settings pushed to 2 instances \(NEXTAUTH_SECRET\)/, out);
	fs.writeFileSync(file, b);
	out = await wsctlOk(['reload', 'fonana-ws']);
	assert.match(out, /fonana-ws: settings pushed to 2 instances \(NEXTAUTH_SECRET\)/, out);
	assert.deepStrictEqual(await pids(), before, 'the instances were replaced');
	assert.strictEqual(await tryToken(lib.token(b, 'f1')), 'ok');
	assert.strictEqual(await tryToken(lib.token(a, 'f2')), 'refused');
	assert.strictEqual(await tryToken(lib.token(NEW, 'f3')), 'ok');
	assert.strictEqual(closedCount(), 0, closedCount() + ' clients closed');
}, { timeout: 60000 });

s.test('a non-hot change (WS_PING_INTERVAL_MS) replaces the instances as before', async () => {
	const before = await pids();
	writeEnv({ NEXTAUTH_SECRET: NEWER, WS_PING_INTERVAL_MS: '20000' });
	const out = await wsctlOk(['reload', 'fonana-ws']);
	assert.match(out, /fonana-ws: 2 instances replaced/, out);
	const after = await pids();
	for (let i = 0; i < 2; i++) assert.notStrictEqual(after[i], before[i], 'instance ' + i + ' kept pid ' + before[i]);
	await lib.waitFor(() => closedCount() === CLIENTS, 20000, () => 'every held client closed by the replacement (' + closedCount() + ')');
}, { timeout: 120000 });

s.run();

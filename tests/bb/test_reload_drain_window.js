// A drain window longer than kill_timeout is honoured (issue 13 §4): the
// worker announces its spread in its IPC ready (drain_ms) and wsd sends
// its SIGKILL kill_timeout after the end of that window, on a reload's
// replaced process as on a stop.  With kill_timeout 1000 and
// WS_DRAIN_SPREAD_MS=3000 every client gets its close frame, the closes
// span more than kill_timeout (a lower bound: a slow machine only widens
// it) and wsd kills nobody.  An app that announces nothing keeps PM2's
// kill_timeout exactly; one that announces too much is cut to wsd's cap.
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
const N = 200;
const KILL_TIMEOUT = 1000;
const SPREAD = 3000;
const CAP = 600000;	// WSD_DRAIN_MAX_MS, WS_DRAIN_SPREAD_MS's maximum
let redis, d;

s.setup(async () => {
	redis = await lib.startRedis();
	// Ignores SIGINT and never speaks IPC: PM2's kill_timeout applies.
	const stubborn = path.join(lib.T, 'stubborn.js');
	fs.writeFileSync(stubborn, "process.on('SIGINT', () => {});\nsetInterval(() => {}, 1000);\n");
	// Announces a window far past wsd's cap, exits at once when asked.
	const boaster = path.join(lib.T, 'boaster.sh');
	fs.writeFileSync(boaster, '#!/bin/sh\ntrap "exit 0" INT\n' +
	    'printf \'{"ready":true,"drain_ms":1000000000000}\\n\' >&"$WSD_IPC_FD"\n' +
	    'while :; do sleep 1; done\n', { mode: 0o755 });
	d = await lib.startWsd({
		redis, instances: 1, env: { WS_DRAIN_SPREAD_MS: String(SPREAD) },
		app: { kill_timeout: KILL_TIMEOUT },
		extraApps: [
			{ name: 'stubborn', script: stubborn, exec_mode: 'fork', kill_timeout: KILL_TIMEOUT },
			{ name: 'boaster', script: boaster, exec_mode: 'fork', wait_ready: true,
			    kill_timeout: KILL_TIMEOUT },
		],
	});
});

// wsd's log lines about one app, parsed.
function appLog(app) {
	return d.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => {
		try { return JSON.parse(l); } catch (e) { return null; }
	}).filter((j) => j && j.app === app);
}

function sigkills(app) {
	return appLog(app).filter((j) => /kill_timeout passed/.test(j.msg)).map((j) => j.msg);
}

// n clients, each with the time its socket closed.
async function connectMany(n, tag) {
	const v = [];
	for (let i = 0; i < n; i += 50) {
		const batch = [];
		for (let k = i; k < Math.min(n, i + 50); k++) {
			const c = new lib.Client(lib.url(d.url, lib.token(lib.SECRET, tag + k)));
			c.ws.on('close', () => { c.closedAt = Date.now(); });
			v.push(c);
			batch.push(c.waitOpen().then(() => c.expect((j) => j && j.type === 'connected', 'the welcome')));
		}
		await Promise.all(batch);
	}
	return v;
}

// Every client got the drain's close frame; the closes spanned > kill_timeout.
async function drainedOverWindow(v, what) {
	await lib.waitFor(() => v.every((c) => c.closed), 60000, 'every client closed by the ' + what);
	const codes = {};
	for (const c of v) codes[c.closed.code] = (codes[c.closed.code] || 0) + 1;
	const bad = Object.keys(codes).filter((c) => c !== '1001' && c !== '1012');
	assert.deepStrictEqual(bad.map((c) => c + ' × ' + codes[c]), [], 'close codes other than 1001/1012');
	const t = v.map((c) => c.closedAt);
	const span = Math.max(...t) - Math.min(...t);
	lib.note(what + ': ' + v.length + ' closes over ' + span + ' ms');
	assert.ok(span > KILL_TIMEOUT, 'first close → last close ' + span + ' ms, not more than kill_timeout ' +
	    KILL_TIMEOUT + ' ms: the spread was cut');
}

s.test('reload, kill_timeout ' + KILL_TIMEOUT + ' ms, WS_DRAIN_SPREAD_MS=' + SPREAD + ': ' + N +
    ' clients closed with 1001/1012 over more than kill_timeout', async () => {
	const v = await connectMany(N, 'r');
	const r = await lib.wsctlAsync(['reload', 'fonana-ws'], { timeout: 60000 });
	assert.strictEqual(r.status, 0, 'wsctl reload: ' + r.stderr + r.stdout);
	await drainedOverWindow(v, 'reload');
}, { timeout: 90000 });

s.test('reload: wsd waited kill_timeout + the announced window and sent no SIGKILL', async () => {
	const want = 'SIGKILL after ' + (KILL_TIMEOUT + SPREAD) + ' ms (kill_timeout ' + KILL_TIMEOUT +
	    ' + drain window ' + SPREAD + ')';
	const said = appLog('fonana-ws').filter((j) => /draining the old process/.test(j.msg)).map((j) => j.msg);
	assert.ok(said.length === 1 && said[0].includes(want), 'the drain log says "' + want + '": ' + JSON.stringify(said));
	assert.deepStrictEqual(sigkills('fonana-ws'), [], 'SIGKILLs');
});

// After `wsctl update` too: the new wsd is handed the window it waits for.
s.test('stop after wsctl update: the same window, no SIGKILL', async () => {
	let r = await lib.wsctlAsync(['update'], { timeout: 30000 });
	assert.strictEqual(r.status, 0, 'wsctl update: ' + r.stderr + r.stdout);
	const v = await connectMany(N / 2, 's');
	r = await lib.wsctlAsync(['stop', 'fonana-ws'], { timeout: 60000 });
	assert.strictEqual(r.status, 0, 'wsctl stop: ' + r.stderr + r.stdout);
	await drainedOverWindow(v, 'stop');
	const said = appLog('fonana-ws').filter((j) => /^stopping with/.test(j.msg)).map((j) => j.msg);
	assert.ok(said.length === 1 && said[0].includes('SIGKILL after ' + (KILL_TIMEOUT + SPREAD) + ' ms'),
	    'the stop log: ' + JSON.stringify(said));
	assert.deepStrictEqual(sigkills('fonana-ws'), [], 'SIGKILLs');
}, { timeout: 90000 });

s.test('an app that announces no window and ignores SIGINT: SIGKILL at kill_timeout', async () => {
	const r = await lib.wsctlAsync(['stop', 'stubborn'], { timeout: 60000 });
	assert.strictEqual(r.status, 0, 'wsctl stop: ' + r.stderr + r.stdout);
	assert.deepStrictEqual(sigkills('stubborn'), ['kill_timeout passed: SIGKILL']);
	const said = appLog('stubborn').filter((j) => /^stopping with/.test(j.msg)).map((j) => j.msg);
	assert.ok(said.length === 1 && said[0].includes('SIGKILL after ' + KILL_TIMEOUT + ' ms'),
	    'the stop log names kill_timeout alone: ' + JSON.stringify(said));
}, { timeout: 90000 });

s.test('an app that announces more than wsd waits for: cut to ' + CAP + ' ms', async () => {
	await lib.waitFor(async () => (await d.status()).some((i) => i.name === 'boaster' && i.status === 'online'),
	    20000, 'boaster online');
	const r = await lib.wsctlAsync(['stop', 'boaster'], { timeout: 60000 });
	assert.strictEqual(r.status, 0, 'wsctl stop: ' + r.stderr + r.stdout);
	const said = appLog('boaster').filter((j) => /^stopping with/.test(j.msg)).map((j) => j.msg);
	assert.ok(said.length === 1 && said[0].includes('SIGKILL after ' + (KILL_TIMEOUT + CAP) + ' ms'),
	    'the stop log: ' + JSON.stringify(said));
}, { timeout: 90000 });

s.run();

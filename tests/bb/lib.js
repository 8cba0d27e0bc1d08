// Shared by the black-box node tests: a private temp home per file, free
// ports, polling instead of sleeping, TAP-style results, tokens minted with
// node's crypto (independent of our C code), the npm `ws` client, a raw
// WebSocket client for the misbehaving-peer cases, a tiny Redis (RESP)
// client, and an exit hook that SIGKILLs every process group this file
// started — including instances that a wsd started with this file's home.
//
//   const lib = require('./lib');
//   const s = lib.suite();
//   s.setup(async () => { redis = await lib.startRedis(); w = await lib.startWorker({…}); });
//   s.test('ping gets pong', async () => { … lib.assert… }, { timeout: 10000 });
//   s.run();      // prints ok/not ok lines, then exits 0 or 1
'use strict';

const assert = require('assert');
const child_process = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const TOP = process.env.WSD_TOP || path.resolve(__dirname, '..', '..');
const BIN = process.env.WSD_BINDIR || path.join(TOP, 'bin');
const WebSocket = require(path.join(TOP, 'node_modules', 'ws'));

// ---------------------------------------------------------------- temp dir

const T = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'wsd-bbjs.'));
const HOME = path.join(T, 'home');
fs.mkdirSync(HOME);

// ---------------------------------------------------------------- cleanup

const groups = new Set();	// pids of detached children (= their pgids)
const wsdHomes = [];		// homes of wsd daemons we started
const clients = new Set();	// open client sockets, ended at exit

function killGroup(pid) {
	try { process.kill(-pid, 'SIGKILL'); } catch (e) { /* gone */ }
	try { process.kill(pid, 'SIGKILL'); } catch (e) { /* gone */ }
}

// Processes (of this uid) whose environment names one of our wsd homes:
// the instances a wsd of ours spawned, found by id, never by name.
function pidsWithHome() {
	const out = [];
	let ents = [];
	try { ents = fs.readdirSync('/proc'); } catch (e) { return out; }
	for (const ent of ents) {
		if (!/^\d+$/.test(ent) || Number(ent) === process.pid) continue;
		let env;
		try { env = fs.readFileSync('/proc/' + ent + '/environ', 'latin1'); } catch (e) { continue; }
		const vars = env.split('\0');
		if (wsdHomes.some((h) => vars.includes('WSD_HOME=' + h))) out.push(Number(ent));
	}
	return out;
}

let cleaned = false;
function cleanup() {
	if (cleaned) return;
	cleaned = true;
	for (const c of clients) { try { c.terminate(); } catch (e) { /* ignore */ } }
	for (const h of wsdHomes) {
		// Ask the daemon first (it stops its instances), then make sure.
		try {
			child_process.spawnSync(path.join(BIN, 'wsctl'), ['kill'],
			    { env: { ...process.env, WSD_HOME: h }, timeout: 5000, stdio: 'ignore' });
		} catch (e) { /* ignore */ }
	}
	for (const pid of groups) killGroup(pid);
	for (const pid of pidsWithHome()) killGroup(pid);
	if (process.env.BB_KEEP === '1') {
		process.stdout.write('# kept ' + T + '\n');
	} else {
		try { fs.rmSync(T, { recursive: true, force: true }); } catch (e) { /* ignore */ }
	}
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
	process.on(sig, () => { process.stdout.write('# killed by ' + sig + '\n'); process.exit(130); });
}

// ---------------------------------------------------------------- results

let nPass = 0;
let nFail = 0;

function ok(name) { nPass++; process.stdout.write('ok - ' + name + '\n'); }
function notOk(name, ...details) {
	nFail++;
	process.stdout.write('not ok - ' + name + '\n');
	for (const d of details) {
		for (const line of String(d).split('\n')) process.stdout.write('  # ' + line + '\n');
	}
}
function note(msg) { process.stdout.write('# ' + msg + '\n'); }

process.on('uncaughtException', (e) => {
	notOk('uncaught exception', e && e.stack || String(e));
	process.exit(1);
});
process.on('unhandledRejection', (e) => {
	// A late rejection from a test that already timed out: report, go on.
	note('unhandled rejection: ' + (e && e.message || String(e)));
});

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function withTimeout(p, ms, what) {
	let timer;
	return Promise.race([
		p,
		new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timed out after ' + ms + ' ms: ' + what)), ms); }),
	]).finally(() => clearTimeout(timer));
}

// An error that ends a waitFor at once (the awaited state can never come).
function fatal(msg) { const e = new Error(msg); e.fatal = true; return e; }

// waitFor(fn, timeoutMs, what): poll fn (sync or async) every 25 ms until it
// returns a truthy value, which is returned; throws naming `what` (a string,
// or a function giving one) on timeout.  fn may throw: a fatal() error ends
// the wait, any other is retried.
async function waitFor(fn, timeoutMs, what) {
	const end = Date.now() + timeoutMs;
	let last;
	for (;;) {
		try {
			const v = await fn();
			if (v) return v;
		} catch (e) {
			if (e && e.fatal) throw e;
			last = e;
		}
		if (Date.now() >= end) {
			throw new Error('timed out after ' + timeoutMs + ' ms waiting for ' + (typeof what === 'function' ? what() : what) +
			    (last ? ' (last error: ' + last.message + ')' : ''));
		}
		await sleep(25);
	}
}

// A sequential list of tests; setup failures fail every test (so nothing is
// silently skipped), a test that throws or times out is `not ok` with why.
function suite() {
	const tests = [];
	const setups = [];
	const finals = [];
	const teardowns = [];
	const down = async () => {
		for (const f of teardowns) {
			try { await withTimeout(Promise.resolve().then(f), 10000, 'teardown'); } catch (e) { note('teardown: ' + e.message); }
		}
	};
	return {
		setup(fn) { setups.push(fn); },
		test(name, fn, opts) { tests.push({ name, fn, timeout: (opts && opts.timeout) || 15000 }); },
		// Graceful shutdown before exit (the exit hook SIGKILLs anyway).
		teardown(fn) { teardowns.push(fn); },
		// Runs after every test even if one failed (e.g. log checks).
		final(name, fn, opts) { finals.push({ name, fn, timeout: (opts && opts.timeout) || 15000 }); },
		async run() {
			const t0 = Date.now();
			try {
				for (const s of setups) await withTimeout(Promise.resolve().then(s), 60000, 'setup');
			} catch (e) {
				for (const t of tests.concat(finals)) notOk(t.name, 'setup failed: ' + (e && e.message || e));
				await down();
				return finish(t0);
			}
			for (const t of tests.concat(finals)) {
				try {
					await withTimeout(Promise.resolve().then(t.fn), t.timeout, t.name);
					ok(t.name);
				} catch (e) {
					notOk(t.name, (e && e.message) || String(e));
				}
			}
			await down();
			return finish(t0);
		},
	};
}

function finish(t0) {
	note(nPass + ' passed, ' + nFail + ' failed (' + ((Date.now() - t0) / 1000).toFixed(1) + ' s)');
	process.exit(nFail === 0 && nPass > 0 ? 0 : 1);
}

// ---------------------------------------------------------------- ports, processes

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const p = s.address().port;
			s.close(() => resolve(p));
		});
	});
}

// spawn detached (own process group), output to files in T, tracked.
function spawnTracked(cmd, args, opts) {
	const name = (opts && opts.logName) || path.basename(cmd);
	const out = fs.openSync(path.join(T, name + '.out'), 'a');
	const err = fs.openSync(path.join(T, name + '.err'), 'a');
	const env = { ...((opts && opts.env) || process.env) };
	const p = child_process.spawn(cmd, args, {
		detached: true, stdio: ['ignore', out, err], env, cwd: (opts && opts.cwd) || T,
	});
	fs.closeSync(out);
	fs.closeSync(err);
	if (p.pid) groups.add(p.pid);
	p.exitInfo = null;
	p.exited = new Promise((resolve) => {
		p.on('exit', (code, signal) => { p.exitInfo = { code, signal }; groups.delete(p.pid); resolve(p.exitInfo); });
		p.on('error', (e) => { p.exitInfo = { code: null, signal: null, error: e }; resolve(p.exitInfo); });
	});
	p.logOut = () => readFile(path.join(T, name + '.out'));
	p.logErr = () => readFile(path.join(T, name + '.err'));
	return p;
}

function readFile(f) { try { return fs.readFileSync(f, 'utf8'); } catch (e) { return ''; } }

function tail(s, n) { const l = String(s).split('\n'); return l.slice(Math.max(0, l.length - (n || 15))).join('\n'); }

function tcpConnects(port, host) {
	return new Promise((resolve) => {
		const s = net.connect(port, host || '127.0.0.1');
		s.on('connect', () => { s.destroy(); resolve(true); });
		s.on('error', () => resolve(false));
	});
}

// ---------------------------------------------------------------- redis

// A private redis-server on a free port (or given port), tracked.
async function startRedis(opts) {
	opts = opts || {};
	const port = opts.port || await freePort();
	const dir = path.join(T, 'redis-' + port);
	fs.mkdirSync(dir, { recursive: true });
	const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
	    '--dir', dir].concat(opts.args || []);
	const proc = spawnTracked('redis-server', args, { logName: 'redis-' + port + (opts.gen ? '-' + opts.gen : '') });
	const r = { port, proc, pid: proc.pid, password: opts.password, unixPath: opts.unixPath };
	await waitFor(async () => {
		if (proc.exitInfo) throw fatal('redis-server exited: ' + JSON.stringify(proc.exitInfo) + ' ' + tail(proc.logOut() + proc.logErr(), 5));
		return (await redisCmd(r, ['PING']).catch(() => null)) === 'PONG';
	}, 10000, 'redis-server on ' + port);
	r.kill = async () => { killGroup(proc.pid); await proc.exited; };
	return r;
}

function respEncode(args) {
	const parts = ['*' + args.length + '\r\n'];
	for (const a of args) {
		const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
		parts.push(Buffer.from('$' + b.length + '\r\n'), b, Buffer.from('\r\n'));
	}
	return Buffer.concat(parts.map((p) => Buffer.isBuffer(p) ? p : Buffer.from(p)));
}

// Parse one RESP reply at buf[off]; returns [value, nextOff] or null if incomplete.
function respParse(buf, off) {
	const nl = buf.indexOf('\r\n', off);
	if (nl < 0) return null;
	const t = String.fromCharCode(buf[off]);
	const line = buf.toString('utf8', off + 1, nl);
	const after = nl + 2;
	switch (t) {
	case '+': return [line, after];
	case '-': return [new Error(line), after];
	case ':': return [Number(line), after];
	case '$': {
		const n = Number(line);
		if (n < 0) return [null, after];
		if (buf.length < after + n + 2) return null;
		return [buf.toString('utf8', after, after + n), after + n + 2];
	}
	case '*': {
		const n = Number(line);
		if (n < 0) return [null, after];
		const arr = [];
		let o = after;
		for (let i = 0; i < n; i++) {
			const r = respParse(buf, o);
			if (!r) return null;
			arr.push(r[0]);
			o = r[1];
		}
		return [arr, o];
	}
	default: throw new Error('bad RESP reply: ' + buf.toString('utf8', off, Math.min(buf.length, off + 40)));
	}
}

// redisCmd(redis | port, [args…]): one command on a fresh connection
// (AUTH first when the redis has a password); resolves to the reply.
function redisCmd(r, args) {
	const port = typeof r === 'number' ? r : r.port;
	const password = typeof r === 'object' ? r.password : undefined;
	return new Promise((resolve, reject) => {
		const s = net.connect(port, '127.0.0.1');
		let buf = Buffer.alloc(0);
		const want = password ? 2 : 1;
		const replies = [];
		s.setTimeout(10000, () => { s.destroy(); reject(new Error('redis command timed out')); });
		s.on('error', reject);
		s.on('connect', () => {
			if (password) s.write(respEncode(['AUTH', password]));
			s.write(respEncode(args));
		});
		s.on('data', (d) => {
			buf = Buffer.concat([buf, d]);
			let off = 0;
			for (;;) {
				const p = respParse(buf, off);
				if (!p) break;
				replies.push(p[0]);
				off = p[1];
			}
			buf = buf.subarray(off);
			if (replies.length >= want) {
				s.destroy();
				const v = replies[want - 1];
				if (v instanceof Error) reject(v); else resolve(v);
			}
		});
	});
}

function publish(r, key, text) { return redisCmd(r, ['PUBLISH', 'ws:' + key, text]); }

// The real redis-cli (for the tests that say "with redis-cli").
function redisCli(port, args) {
	const res = child_process.spawnSync('redis-cli', ['-p', String(port)].concat(args), { encoding: 'utf8', timeout: 10000 });
	if (res.status !== 0) throw new Error('redis-cli ' + args.join(' ') + ': status ' + res.status + ' ' + res.stderr);
	return res.stdout.trim();
}

// Subscriber count of ws:<key> on that redis (all workers together).
async function numsub(r, key) {
	const v = await redisCmd(r, ['PUBSUB', 'NUMSUB', 'ws:' + key]);
	return Number(v[1]);
}

// ---------------------------------------------------------------- tokens

function b64u(x) { return Buffer.from(x).toString('base64url'); }

const HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

// A compact JWS.  header/claims are objects (or raw strings, used as is);
// alg picks the HMAC unless signAlg says otherwise; alg "none" → empty sig.
function mintJws({ secret, header, claims, signAlg }) {
	const h = typeof header === 'string' ? header : JSON.stringify(header);
	const c = typeof claims === 'string' ? claims : JSON.stringify(claims);
	const input = b64u(h) + '.' + b64u(c);
	const alg = signAlg || (typeof header === 'object' ? header.alg : 'HS256');
	if (alg === 'none') return input + '.';
	const sig = crypto.createHmac(HASH[alg] || 'sha256', secret).update(input).digest();
	return input + '.' + b64u(sig);
}

function now() { return Math.floor(Date.now() / 1000); }

// A valid HS256 test token for user: claims {userId, sub, iat, exp}.
function token(secret, userId, opts) {
	opts = opts || {};
	const iat = now();
	const claims = { userId: String(userId), sub: String(userId), iat, exp: iat + 3600, ...(opts.claims || {}) };
	for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
	return mintJws({ secret, header: { alg: opts.alg || 'HS256', typ: 'JWT' }, claims, signAlg: opts.signAlg });
}

// A NextAuth v4 session token: JWE alg dir / enc A256GCM, key =
// HKDF-SHA256(secret, salt "", info "NextAuth.js Generated Encryption Key", 32).
function sessionToken(secret, payload) {
	const key = Buffer.from(crypto.hkdfSync('sha256', Buffer.from(secret), Buffer.alloc(0),
	    Buffer.from('NextAuth.js Generated Encryption Key'), 32));
	const prot = b64u(JSON.stringify({ alg: 'dir', enc: 'A256GCM' }));
	const iv = crypto.randomBytes(12);
	const c = crypto.createCipheriv('aes-256-gcm', key, iv);
	c.setAAD(Buffer.from(prot, 'ascii'));
	const ct = Buffer.concat([c.update(JSON.stringify(payload)), c.final()]);
	return prot + '..' + b64u(iv) + '.' + b64u(ct) + '.' + b64u(c.getAuthTag());
}

// ---------------------------------------------------------------- worker, wsd

const SECRET = 'bb-test-secret-' + crypto.randomBytes(24).toString('hex');	// > 32 bytes
const API_KEY = 'k' + crypto.randomBytes(16).toString('hex');

function cleanEnv(extra) {
	const env = { ...process.env };
	for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'WSD_LISTEN_FD', 'WSD_IPC_FD',
	    'NOTIFY_SOCKET', 'REDIS_URL', 'REDIS_SENTINELS', 'REDIS_PASSWORD', 'NEXTAUTH_SECRET',
	    'NEXTAUTH_SECRET_PREVIOUS', 'ALLOWED_ORIGINS', 'WS_API_KEY', 'DATABASE_URL']) delete env[k];
	// VAR_FILE in the environment means "read VAR from this file" to wsd
	// (SPEC §1.2); this machine's unrelated *_FILE variables must not leak in.
	for (const k of Object.keys(env)) if (/_FILE$/.test(k)) delete env[k];
	env.PATH = BIN + ':' + env.PATH;
	env.WSD_HOME = HOME;
	return { ...env, ...(extra || {}) };
}

// wsworker alone (no LISTEN_FDS: it binds its own SO_REUSEPORT socket).
// env: WS_* overrides; redis: a startRedis() result (or null: no Redis).
let workerSeq = 0;
async function startWorker(opts) {
	opts = opts || {};
	const port = opts.port || await freePort();
	const env = {
		WS_PORT: String(port), WS_HOST: '127.0.0.1', NEXTAUTH_SECRET: SECRET,
		WS_API_KEY: API_KEY, LOG_LEVEL: 'info',
		// posts open to all, as before the database rule: set it to
		// undefined (or another rule) to test the rule itself
		WS_RULE_POST: 'public',
	};
	if (opts.redis) env.REDIS_URL = 'redis://127.0.0.1:' + opts.redis.port;
	Object.assign(env, opts.env || {});
	for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
	const bin = path.join(BIN, 'wsworker');
	if (!fs.existsSync(bin)) throw new Error(bin + ' does not exist (not built yet?)');
	const proc = spawnTracked(bin, opts.args || [], { env: cleanEnv(env), logName: 'wsworker-' + (++workerSeq) });
	const w = { port, proc, pid: proc.pid, env, url: 'ws://127.0.0.1:' + port };
	if (opts.noWait) return w;
	await waitFor(async () => {
		if (proc.exitInfo) {
			throw fatal('wsworker exited ' + JSON.stringify(proc.exitInfo) + '\n' + tail(proc.logOut() + proc.logErr(), 10));
		}
		return tcpConnects(port);
	}, 10000, 'wsworker listening on ' + port);
	if (opts.redis && opts.waitRedis !== false) {
		await waitFor(async () => (await httpGet(port, '/health')).status === 200, 10000, 'wsworker /health 200 (Redis link up)');
	}
	w.logs = () => proc.logOut() + proc.logErr();
	return w;
}

function wsctl(args, opts) {
	const res = child_process.spawnSync(path.join(BIN, 'wsctl'), args, {
		env: cleanEnv({ WSD_HOME: (opts && opts.home) || HOME }), encoding: 'utf8', timeout: (opts && opts.timeout) || 15000,
	});
	return { status: res.status, stdout: res.stdout || '', stderr: res.stderr || '', error: res.error };
}

function wsctlAsync(args, opts) {
	return new Promise((resolve) => {
		child_process.execFile(path.join(BIN, 'wsctl'), args, {
			env: cleanEnv({ WSD_HOME: (opts && opts.home) || HOME }), encoding: 'utf8', timeout: (opts && opts.timeout) || 15000,
		}, (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
	});
}

// The instance objects from `wsctl status --json` (data {"instances":[…]}).
async function status(home) {
	const r = await wsctlAsync(['status', '--json'], { home });
	if (r.status !== 0) throw new Error('wsctl status --json: status ' + r.status + ' ' + r.stderr.trim());
	const d = JSON.parse(r.stdout);
	const list = Array.isArray(d) ? d : d.instances;
	if (!Array.isArray(list)) throw new Error('wsctl status --json: no instances array: ' + r.stdout.slice(0, 200));
	return list;
}

// wsd --foreground -f eco.json with one cluster app of `instances` wsworkers;
// waits until every instance is online.  opts.home: another WSD_HOME than
// HOME (for a second daemon).
async function startWsd(opts) {
	opts = opts || {};
	const home = opts.home || HOME;
	fs.mkdirSync(home, { recursive: true });
	const port = opts.port || await freePort();
	const env = {
		WS_PORT: port, WS_HOST: '127.0.0.1', NEXTAUTH_SECRET: SECRET, WS_API_KEY: API_KEY, LOG_LEVEL: 'info',
		WS_RULE_POST: 'public',
	};
	if (opts.redis) env.REDIS_URL = 'redis://127.0.0.1:' + opts.redis.port;
	Object.assign(env, opts.env || {});
	const n = opts.instances || 2;
	const app = {
		name: 'fonana-ws', script: path.join(BIN, 'wsworker'), instances: n, exec_mode: 'cluster', env,
		...(opts.app || {}),
	};
	const eco = { apps: [app].concat(opts.extraApps || []) };
	const ecoPath = path.join(home, '..', path.basename(home) + '-eco.json');
	fs.writeFileSync(ecoPath, JSON.stringify(eco, null, 2));
	const d = await startWsdFile(ecoPath, { home, online: { 'fonana-ws': n }, env: opts.wsdEnv });
	d.port = port;
	d.url = 'ws://127.0.0.1:' + port;
	return d;
}

// wsd --foreground -f FILE (home: WSD_HOME, env: extra environment, path:
// PATH to use); waits until each app of `online` ({name: count}) has that
// many instances online.
async function startWsdFile(ecoPath, opts) {
	const home = opts.home || HOME;
	fs.mkdirSync(home, { recursive: true });
	const bin = path.join(BIN, 'wsd');
	if (!fs.existsSync(bin)) throw new Error(bin + ' does not exist (not built yet?)');
	wsdHomes.push(home);
	const env = cleanEnv({ WSD_STATS_INTERVAL_MS: '200', WSD_HOME: home, ...(opts.env || {}) });
	if (opts.path) env.PATH = opts.path;
	const proc = spawnTracked(bin, ['--foreground', '-f', ecoPath], { env, logName: 'wsd-' + path.basename(home), cwd: opts.cwd });
	const d = { proc, pid: proc.pid, eco: ecoPath, home };
	d.logs = () => proc.logOut() + proc.logErr() + readFile(path.join(home, 'wsd.log'));
	d.status = () => status(home);
	let last = null;
	await waitFor(async () => {
		if (proc.exitInfo) throw fatal('wsd exited ' + JSON.stringify(proc.exitInfo) + '\n' + tail(d.logs(), 10));
		last = await status(home).catch((e) => { last = e.message; return null; });
		if (!last) return false;
		return Object.keys(opts.online).every((name) => {
			const mine = last.filter((i) => i.name === name);
			return mine.length === opts.online[name] && mine.every((i) => i.status === 'online' && i.pid > 0);
		});
	}, 20000, () => JSON.stringify(opts.online) + ' instances online (last status: ' +
	    JSON.stringify(Array.isArray(last) ? last.map((i) => [i.name, i.pid, i.status, i.exit_code]) : last) + ')\n' + tail(d.logs(), 8));
	return d;
}

function instancesOf(list) { return list.filter((i) => i.name === 'fonana-ws').sort((a, b) => a.instance - b.instance); }

// ---------------------------------------------------------------- HTTP

function httpRequest(port, method, pth, headers, body) {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port, method, path: pth, headers: headers || {}, agent: false }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
			res.on('error', reject);
		});
		req.setTimeout(10000, () => req.destroy(new Error('HTTP ' + method + ' ' + pth + ' timed out')));
		req.on('error', reject);
		if (body !== undefined) req.write(body);
		req.end();
	});
}
function httpGet(port, pth, headers) { return httpRequest(port, 'GET', pth, headers); }

// Prometheus text → { 'name': value } for unlabelled series, and
// { 'name{labels}': value } for labelled ones.
function parseMetrics(text) {
	const m = {};
	for (const line of text.split('\n')) {
		if (!line || line[0] === '#') continue;
		const r = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
		if (r) m[r[1]] = Number(r[2]);
	}
	return m;
}

// ---------------------------------------------------------------- ws client

// A `ws` client that records everything: messages (text, in order), the
// close code/reason, an unexpected HTTP response, errors.
class Client {
	constructor(url, opts) {
		opts = opts || {};
		this.url = url;
		this.msgs = [];		// [{ text, json }]
		this.cursor = 0;	// next() position
		this.opened = false;
		this.closed = null;	// { code, reason }
		this.httpStatus = null;	// unexpected-response status
		this.errors = [];
		this.pings = 0;
		// ws offers permessage-deflate by default, as browsers do.
		const wsOpts = { handshakeTimeout: 10000, headers: opts.headers || {} };
		if (opts.origin) wsOpts.origin = opts.origin;
		this.ws = new WebSocket(url, wsOpts);
		clients.add(this.ws);
		this.ws.on('open', () => {
			this.opened = true;
			if (opts.onOpen) opts.onOpen(this);
		});
		this.ws.on('message', (data, isBinary) => {
			const text = isBinary ? data : data.toString('utf8');
			let json = null;
			try { json = JSON.parse(text); } catch (e) { /* keep text */ }
			this.msgs.push({ text, json, binary: isBinary });
		});
		this.ws.on('ping', () => { this.pings++; });
		this.ws.on('unexpected-response', (req, res) => {
			this.httpStatus = res.statusCode;
			res.resume();
			req.destroy();
			this.closed = this.closed || { code: null, reason: 'HTTP ' + res.statusCode };
		});
		this.ws.on('error', (e) => { this.errors.push(e); });
		this.ws.on('close', (code, reason) => {
			clients.delete(this.ws);
			this.closed = { code, reason: reason.toString('utf8') };
		});
	}
	send(x) { this.ws.send(typeof x === 'string' || Buffer.isBuffer(x) ? x : JSON.stringify(x)); }
	isOpen() { return this.ws.readyState === WebSocket.OPEN; }
	async waitOpen(ms) {
		await waitFor(() => {
			if (this.opened) return true;
			if (this.closed || this.errors.length) {
				throw fatal('connect to ' + this.url.replace(/token=[^&]*/, 'token=…') + ' failed: ' +
				    (this.httpStatus ? 'HTTP ' + this.httpStatus : '') + this.errors.map((e) => e.message).join('; ') +
				    (this.closed ? ' close ' + JSON.stringify(this.closed) : ''));
			}
			return false;
		}, ms || 10000, 'WebSocket open');
		return this;
	}
	async waitClose(ms) {
		await waitFor(() => this.closed, ms || 10000, 'the server to close the socket');
		return this.closed;
	}
	// The next message (in arrival order) not yet returned by next()/expect().
	async next(ms, what) {
		await waitFor(() => {
			if (this.msgs.length > this.cursor) return true;
			if (this.closed) throw fatal('socket closed ' + JSON.stringify(this.closed) + ' while waiting for ' + (what || 'a message'));
			return false;
		}, ms || 10000, what || 'a message');
		return this.msgs[this.cursor++];
	}
	// The first message at or after the cursor for which pred(json, text)
	// holds; the cursor moves past it.
	async expect(pred, what, ms) {
		let idx = -1;
		await waitFor(() => {
			for (let i = this.cursor; i < this.msgs.length; i++) {
				const m = this.msgs[i];
				let r = false;
				try { r = pred(m.json, m.text); } catch (e) { r = false; }
				if (r) { idx = i; return true; }
			}
			if (this.closed) throw fatal('socket closed ' + JSON.stringify(this.closed) + ' while waiting for ' + what);
			return false;
		}, ms || 10000, what + ' (received so far: ' + this.summary() + ')');
		this.cursor = idx + 1;
		return this.msgs[idx];
	}
	// The text of every message received after `from` (an index).
	texts(from) { return this.msgs.slice(from || 0).map((m) => m.text); }
	summary() {
		const t = this.msgs.map((m) => typeof m.text === 'string' ? m.text : '<binary>').map((s) => s.length > 120 ? s.slice(0, 120) + '…' : s);
		return '[' + t.slice(-8).join(', ') + ']' + (t.length > 8 ? ' (last 8 of ' + t.length + ')' : '');
	}
	close() { try { this.ws.close(); } catch (e) { /* ignore */ } }
	terminate() { try { this.ws.terminate(); } catch (e) { /* ignore */ } }
}

const WELCOME = 'Successfully connected to WebSocket server';

function url(base, tok) { return base + '/?token=' + encodeURIComponent(tok); }

// Connect with a valid token for user and wait for the welcome message.
async function connectUser(base, userId, opts) {
	opts = opts || {};
	const c = new Client(url(base, token(SECRET, userId)), opts);
	await c.waitOpen(opts.timeout);
	await c.expect((j) => j && j.type === 'connected', 'the welcome message', opts.timeout);
	return c;
}

async function subscribe(c, channel) {
	c.send({ type: 'subscribe', channel });
	const m = await c.expect((j) => j && (j.type === 'subscribed' || j.type === 'error'),
	    'a reply to subscribe ' + JSON.stringify(channel));
	if (m.json.type !== 'subscribed') throw new Error('subscribe ' + JSON.stringify(channel) + ' → ' + m.text);
	return m.json;
}

// ---------------------------------------------------------------- raw client

// A WebSocket client written by hand over net: for peers that never read,
// never answer pings, or send odd frames.  Server frames are parsed as
// they arrive (while the socket is read).
class RawClient {
	constructor(port, pth, headers) {
		this.port = port;
		this.pth = pth;
		this.headers = headers || {};
		this.buf = Buffer.alloc(0);
		this.handshake = null;	// { status, head }
		this.frames = [];	// { opcode, payload }
		this.closeFrame = null;	// { code, reason }
		this.ended = false;
		this.error = null;
		this.bytes = 0;
		this.autoPong = true;
		this.echoClose = true;
	}
	connect() {
		return new Promise((resolve, reject) => {
			const s = this.sock = net.connect(this.port, '127.0.0.1');
			const key = crypto.randomBytes(16).toString('base64');
			s.on('connect', () => {
				let req = 'GET ' + this.pth + ' HTTP/1.1\r\nHost: 127.0.0.1:' + this.port +
				    '\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ' + key +
				    '\r\nSec-WebSocket-Version: 13\r\n';
				for (const k of Object.keys(this.headers)) req += k + ': ' + this.headers[k] + '\r\n';
				s.write(req + '\r\n');
			});
			s.on('data', (d) => {
				this.bytes += d.length;
				this.buf = Buffer.concat([this.buf, d]);
				if (!this.handshake) {
					const e = this.buf.indexOf('\r\n\r\n');
					if (e < 0) return;
					const head = this.buf.toString('latin1', 0, e);
					this.handshake = { status: Number(head.split(' ')[1]), head };
					this.buf = this.buf.subarray(e + 4);
					if (this.handshake.status !== 101) { reject(new Error('handshake: ' + head.split('\r\n')[0])); return; }
					resolve(this);
				}
				this.parse();
			});
			s.on('error', (e) => { this.error = e; reject(e); });
			s.on('close', () => { this.ended = true; reject(new Error('closed before handshake')); });
		});
	}
	parse() {
		for (;;) {
			const b = this.buf;
			if (b.length < 2) return;
			const opcode = b[0] & 0x0f;
			let len = b[1] & 0x7f;
			let off = 2;
			if (len === 126) { if (b.length < 4) return; len = b.readUInt16BE(2); off = 4; }
			else if (len === 127) { if (b.length < 10) return; len = Number(b.readBigUInt64BE(2)); off = 10; }
			if (b[1] & 0x80) off += 4;	// servers must not mask; tolerate
			if (b.length < off + len) return;
			const payload = b.subarray(off, off + len);
			this.buf = b.subarray(off + len);
			this.frames.push({ opcode, payload: Buffer.from(payload), fin: !!(b[0] & 0x80) });
			if (opcode === 8) {
				this.closeFrame = { code: payload.length >= 2 ? payload.readUInt16BE(0) : null, reason: payload.subarray(2).toString('utf8') };
				if (this.echoClose) this.sendFrame(8, payload.subarray(0, 2));	// complete the close handshake
			} else if (opcode === 9 && this.autoPong) {
				this.sendFrame(10, payload);
			}
		}
	}
	sendFrame(opcode, payload, fin) {
		payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload || '');
		const mask = crypto.randomBytes(4);
		let head;
		if (payload.length < 126) { head = Buffer.alloc(2); head[1] = 0x80 | payload.length; }
		else if (payload.length < 65536) { head = Buffer.alloc(4); head[1] = 0x80 | 126; head.writeUInt16BE(payload.length, 2); }
		else { head = Buffer.alloc(10); head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(payload.length), 2); }
		head[0] = (fin === false ? 0 : 0x80) | opcode;
		const masked = Buffer.alloc(payload.length);
		for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i & 3];
		try { this.sock.write(Buffer.concat([head, mask, masked])); } catch (e) { this.error = e; }
	}
	sendText(s) { this.sendFrame(1, Buffer.from(typeof s === 'string' ? s : JSON.stringify(s))); }
	texts() { return this.frames.filter((f) => f.opcode === 1).map((f) => f.payload.toString('utf8')); }
	pause() { this.sock.pause(); }
	resume() { this.sock.resume(); }
	destroy() { try { this.sock.destroy(); } catch (e) { /* ignore */ } }
}

// ---------------------------------------------------------------- churn

// A churn of WebSocket connects (SPEC §2 "Reload"): starts connects at `rate`
// per second (at most maxInFlight at once) until stop(); each waits for the
// welcome, then drops, and ends in exactly one of ok / a failure kind
// (refused, reset, hung: no answer within 10 s, handshake, noWelcome).
function churn(base, rate, maxInFlight) {
	const tok = token(SECRET, 'churn');
	const r = { started: 0, ok: 0, refused: 0, reset: 0, hung: 0, handshake: 0, noWelcome: 0, examples: [] };
	let inFlight = 0;
	let paused = false;
	let stopped = false;
	const t0 = Date.now();
	let base0 = 0;		// connects owed before a pause
	let since = t0;
	const fail = (kind, c, why) => {
		r[kind]++;
		if (r.examples.length < 5) r.examples.push(kind + ': ' + why);
	};
	const one = async () => {
		r.started++;
		inFlight++;
		const c = new Client(url(base, tok));
		try {
			await c.expect((j) => j && j.type === 'connected', 'welcome', 15000);
			r.ok++;
		} catch (e) {
			const codes = c.errors.map((x) => x.code || x.message);
			if (codes.includes('ECONNREFUSED')) fail('refused', c, codes.join(','));
			else if (codes.some((x) => /ECONNRESET|socket hang up|EPIPE/.test(x))) fail('reset', c, codes.join(','));
			else if (!c.opened && codes.every((x) => /timed out/.test(x))) fail('hung', c, 'no answer: ' + codes.join(',') + ' ' + e.message.slice(0, 100));
			else if (!c.opened) fail('handshake', c, (c.httpStatus ? 'HTTP ' + c.httpStatus + ' ' : '') + codes.join(',') + ' ' + e.message.slice(0, 100));
			else fail('noWelcome', c, 'close ' + JSON.stringify(c.closed) + ' ' + e.message.slice(0, 100));
		}
		c.terminate();
		inFlight--;
	};
	const timer = setInterval(() => {
		if (stopped || paused) return;
		const due = base0 + Math.floor((Date.now() - since) * rate / 1000);
		while (r.started < due && inFlight < maxInFlight) one();
	}, 5);
	return {
		r,
		inFlight: () => inFlight,
		// No new connect until resume(), and none in flight on return.
		async pause() {
			paused = true;
			await waitFor(() => inFlight === 0, 20000, 'connects in flight to finish');
		},
		resume() { base0 = r.started; since = Date.now(); paused = false; },
		async stop() {
			stopped = true;
			clearInterval(timer);
			await waitFor(() => inFlight === 0, 30000, 'connects in flight to finish');
			r.seconds = (Date.now() - t0) / 1000;
		},
	};
}

function churnFailed(r) { return r.refused + r.reset + r.hung + r.handshake + r.noWelcome; }

function churnCheck(r, what) {
	note(what + ': ' + JSON.stringify(r));
	assert.strictEqual(r.ok + churnFailed(r), r.started, 'every connect counted: ' + r.ok + ' ok + ' + churnFailed(r) + ' failed != ' + r.started + ' started');
	assert.strictEqual(churnFailed(r), 0, churnFailed(r) + ' connects failed during ' + what + ': ' + JSON.stringify(r));
}

// ---------------------------------------------------------------- exports

module.exports = {
	assert, WebSocket, TOP, BIN, T, HOME, SECRET, API_KEY, WELCOME,
	suite, ok, notOk, note, sleep, waitFor, withTimeout, fatal,
	freePort, spawnTracked, killGroup, readFile, tail, tcpConnects,
	startRedis, redisCmd, publish, redisCli, numsub,
	b64u, mintJws, token, sessionToken, now,
	cleanEnv, startWorker, startWsd, startWsdFile, wsctl, wsctlAsync, status, instancesOf,
	httpRequest, httpGet, parseMetrics,
	Client, RawClient, url, connectUser, subscribe,
	churn, churnFailed, churnCheck,
};

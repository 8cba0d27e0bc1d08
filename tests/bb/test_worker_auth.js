// Authentication of the upgrade (SPEC §4.1–4.2): tokens minted here with
// node's crypto, never with our code.  Every refusal must complete the
// upgrade and then close with 1008 "Unauthorized" (what fonana clients
// expect), never send the welcome, and the token must never reach a log.
'use strict';
const crypto = require('crypto');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
let w, wPrev, wB64;
const used = [];	// every token/cookie we sent: none may appear in a log
const OTHER = 'another-secret-' + crypto.randomBytes(20).toString('hex');
const PREVIOUS = 'previous-secret-' + crypto.randomBytes(20).toString('hex');
// Looks like base64 on purpose: the server must use it as raw bytes.
const B64SECRET = crypto.randomBytes(36).toString('base64');
let expiring = null;	// a socket whose token expires during the run
let expiringExp = 0;

s.setup(async () => {
	w = await lib.startWorker({});	// no Redis: auth needs none
	wPrev = await lib.startWorker({ env: { NEXTAUTH_SECRET_PREVIOUS: PREVIOUS } });
	wB64 = await lib.startWorker({ env: { NEXTAUTH_SECRET: B64SECRET } });
});

function jws(claims, opts) {
	opts = opts || {};
	const t = lib.mintJws({ secret: opts.secret || lib.SECRET, header: opts.header || { alg: opts.alg || 'HS256', typ: 'JWT' },
	    claims, signAlg: opts.signAlg });
	used.push(t);
	return t;
}
function claims(extra) {
	const now = lib.now();
	const c = { userId: 'u1', sub: 'u1', iat: now, exp: now + 600, ...(extra || {}) };
	for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
	return c;
}

async function expectUnauthorized(base, tok, opts) {
	opts = opts || {};
	const u = tok === null ? base + '/' : lib.url(base, tok);
	const c = new lib.Client(u, { headers: opts.headers });
	const cl = await c.waitClose(10000);
	assert.ok(c.opened, 'the upgrade did not complete (' + (c.httpStatus ? 'HTTP ' + c.httpStatus : c.errors.map((e) => e.message).join('; ')) +
	    '); SPEC §4.2: upgrade, then close 1008');
	assert.deepStrictEqual(cl, { code: 1008, reason: 'Unauthorized' });
	assert.ok(!c.msgs.some((m) => m.json && m.json.type === 'connected'), 'welcome sent to an unauthorized socket');
}

async function expectAccepted(base, tok, user, opts) {
	opts = opts || {};
	const c = new lib.Client(tok === null ? base + '/' : lib.url(base, tok), { headers: opts.headers });
	const m = await c.expect((j) => j && j.type === 'connected', 'the welcome', 10000);
	assert.strictEqual(m.json.data.userId, user);
	c.close();
}

s.test('a token that expires while connected: socket stays open until then (checked at the end)', async () => {
	expiringExp = lib.now() + 3;
	const t = jws(claims({ userId: 'exp-user', sub: 'exp-user', exp: expiringExp }));
	expiring = new lib.Client(lib.url(w.url, t));
	const m = await expiring.expect((j) => j && j.type === 'connected', 'the welcome');
	assert.strictEqual(m.json.data.userId, 'exp-user');
});

s.test('missing token → upgrade, then close 1008 "Unauthorized"', async () => {
	await expectUnauthorized(w.url, null);
});

s.test('expired token → 1008', async () => {
	await expectUnauthorized(w.url, jws(claims({ iat: lib.now() - 7200, exp: lib.now() - 3600 })));
});

s.test('token signed with another secret → 1008', async () => {
	await expectUnauthorized(w.url, jws(claims(), { secret: OTHER }));
});

s.test('alg "none" (unsigned) → 1008', async () => {
	await expectUnauthorized(w.url, jws(claims(), { header: { alg: 'none', typ: 'JWT' } }));
	await expectUnauthorized(w.url, jws(claims(), { header: { alg: 'none', typ: 'JWT' }, signAlg: 'HS256' }));
});

s.test('HS512 signed with another secret → 1008', async () => {
	await expectUnauthorized(w.url, jws(claims(), { alg: 'HS512', secret: OTHER }));
});

s.test('non-HMAC alg (RS256 header, HMAC-signed with the secret) → 1008', async () => {
	await expectUnauthorized(w.url, jws(claims(), { header: { alg: 'RS256', typ: 'JWT' }, signAlg: 'HS256' }));
});

s.test('exp missing → 1008', async () => {
	await expectUnauthorized(w.url, jws(claims({ exp: undefined })));
});

s.test('non-integer exp (string, float) → 1008', async () => {
	await expectUnauthorized(w.url, jws(claims({ exp: String(lib.now() + 600) })));
	await expectUnauthorized(w.url, jws(claims({ exp: lib.now() + 600.5 })));
});

s.test('nbf in the future beyond the 30 s leeway → 1008; within it → accepted', async () => {
	await expectUnauthorized(w.url, jws(claims({ nbf: lib.now() + 600 })));
	await expectAccepted(w.url, jws(claims({ nbf: lib.now() + 5 })), 'u1');
});

s.test('malformed token, and a valid signature over claims without userId/sub → 1008', async () => {
	used.push('not.a.jwt');
	await expectUnauthorized(w.url, 'not.a.jwt');
	await expectUnauthorized(w.url, jws(claims({ userId: undefined, sub: undefined })));
});

s.test('HS256, HS384 and HS512 with the right secret are accepted', async () => {
	for (const alg of ['HS256', 'HS384', 'HS512']) {
		await expectAccepted(w.url, jws(claims({ userId: 'alg-' + alg, sub: 'alg-' + alg }), { alg }), 'alg-' + alg);
	}
});

s.test('token via Authorization: Bearer works (no query)', async () => {
	const t = jws(claims({ userId: 'bearer-user', sub: 'bearer-user' }));
	await expectAccepted(w.url, null, 'bearer-user', { headers: { Authorization: 'Bearer ' + t } });
	await expectUnauthorized(w.url, null, { headers: { Authorization: 'Bearer ' + jws(claims(), { secret: OTHER }) } });
});

s.test('?token= is used before Authorization: Bearer', async () => {
	const q = jws(claims({ userId: 'query-user', sub: 'query-user' }));
	const b = jws(claims({ userId: 'bearer-user', sub: 'bearer-user' }));
	await expectAccepted(w.url, q, 'query-user', { headers: { Authorization: 'Bearer ' + b } });
});

s.test('NEXTAUTH_SECRET is used as raw bytes, not base64-decoded', async () => {
	await expectAccepted(wB64.url, jws(claims({ userId: 'raw', sub: 'raw' }), { secret: Buffer.from(B64SECRET) }), 'raw');
	await expectUnauthorized(wB64.url, jws(claims(), { secret: Buffer.from(B64SECRET, 'base64') }));
});

s.test('NEXTAUTH_SECRET_PREVIOUS is accepted during a rotation; other secrets still refused', async () => {
	await expectAccepted(wPrev.url, jws(claims({ userId: 'cur', sub: 'cur' })), 'cur');
	await expectAccepted(wPrev.url, jws(claims({ userId: 'prev', sub: 'prev' }), { secret: PREVIOUS }), 'prev');
	await expectUnauthorized(wPrev.url, jws(claims(), { secret: OTHER }));
});

function session(user, secret) {
	const now = lib.now();
	const t = lib.sessionToken(secret || lib.SECRET, { name: 'N', email: 'n@example.com', sub: user, iat: now, exp: now + 600,
	    jti: crypto.randomUUID() });
	used.push(t);
	return t;
}

s.test('NextAuth v4 session cookie (next-auth.session-token, JWE dir/A256GCM) is accepted; user = sub', async () => {
	await expectAccepted(w.url, null, 'cookie-user', { headers: { Cookie: 'other=1; next-auth.session-token=' + session('cookie-user') } });
	await expectAccepted(w.url, null, 'secure-user', { headers: { Cookie: '__Secure-next-auth.session-token=' + session('secure-user') } });
	await expectUnauthorized(w.url, null, { headers: { Cookie: 'next-auth.session-token=' + session('x', OTHER) } });
});

s.test('chunked session cookie (.0/.1) is joined', async () => {
	const t = session('chunk-user');
	const half = Math.floor(t.length / 2);
	await expectAccepted(w.url, null, 'chunk-user', { headers: {
		Cookie: 'next-auth.session-token.0=' + t.slice(0, half) + '; a=b; next-auth.session-token.1=' + t.slice(half) } });
});

s.test('missing or empty NEXTAUTH_SECRET → the worker exits 78 with a message', async () => {
	for (const secret of [undefined, '']) {
		const x = await lib.startWorker({ env: { NEXTAUTH_SECRET: secret }, noWait: true });
		const ex = await lib.withTimeout(x.proc.exited, 10000, 'wsworker to exit');
		assert.strictEqual(ex.code, 78, 'NEXTAUTH_SECRET=' + JSON.stringify(secret) + ': exit ' + JSON.stringify(ex));
		assert.ok(/NEXTAUTH_SECRET/.test(x.proc.logOut() + x.proc.logErr()), 'the message does not name NEXTAUTH_SECRET');
	}
});

// One knob reader (common/knob.c): every bad number, whichever part of the
// worker reads it, is refused the same way, naming the variable and range.
s.test('a bad numeric knob → exit 78 naming the variable and its range', async () => {
	for (const [name, value, range] of [['WS_PORT', '0', '1 to 65535'], ['WS_PING_INTERVAL_MS', '-1', '0 to 86400000'],
	    ['WS_MAX_MESSAGE', '99999999999999999999999', '16 to 67108864'], ['WS_REDIS_PING_MS', '0', '1 to 86400000'],
	    ['WS_REDIS_CONNECT_TIMEOUT_MS', '5s', '1 to 86400000'], ['WS_HISTORY_TTL', ' 5', '0 to 31536000']]) {
		const x = await lib.startWorker({ env: { [name]: value }, noWait: true });
		const ex = await lib.withTimeout(x.proc.exited, 10000, 'wsworker to exit');
		const out = x.proc.logOut() + x.proc.logErr();
		assert.strictEqual(ex.code, 78, name + '=' + JSON.stringify(value) + ': exit ' + JSON.stringify(ex));
		assert.ok(out.includes(name + ': expected a number') && out.includes('from ' + range + ', got'),
		    name + '=' + JSON.stringify(value) + ': the message does not name the variable and its range: ' + out.slice(0, 400));
	}
});

s.final('a socket is closed with 1008 when its token expires', async () => {
	assert.ok(expiring, 'the expiring socket was not set up');
	const cl = await expiring.waitClose(45000);	// exp + the 30 s leeway at most
	assert.strictEqual(cl.code, 1008, 'close: ' + JSON.stringify(cl));
	lib.note('closed ' + (Date.now() / 1000 - expiringExp).toFixed(1) + ' s after exp, reason ' + JSON.stringify(cl.reason));
}, { timeout: 50000 });

s.final('no token or cookie appears in any log line', async () => {
	assert.ok(used.length > 10);
	const logs = [w, wPrev, wB64].map((x) => x.logs()).join('\n');
	assert.ok(logs.length > 0, 'the workers logged nothing at all (SPEC §4.9: JSON lines on stdout)');
	// The whole token, or its payload or signature part (the header alone is no secret).
	const leaked = used.filter((t) => logs.includes(t) || t.split('.').slice(1).some((p) => p.length >= 20 && logs.includes(p)));
	assert.strictEqual(leaked.length, 0, leaked.length + ' tokens found in the logs, e.g. ' + (leaked[0] || '').slice(0, 40) + '…');
});

s.run();

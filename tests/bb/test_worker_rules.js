// Channel rules from the application's PostgreSQL database (SPEC §4.10)
// against a real postgres with fonana's tables: every case of the post rule,
// the unread notifications after a subscribe to one's own channel, replies
// kept in order while a query runs, fail closed when the database is slow or
// down (and recovery), sockets closed mid-query, the cache and coalescing,
// /health and /metrics, DATABASE_URL masked, bad rules refused at start.
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('./lib');
const pglib = require('./pg_lib');
const { assert } = lib;

const s = lib.suite();
const DB_PASSWORD = 'pg-pw-never-logged-7f3a';
// Takes the shared side of advisory lock 42: a test holding the lock makes
// every check wait, for as long as it wants (no sleeps, no timing).
const LOCKED_RULE = "sql:SELECT $2 <> 'p_missing' AND length($1) > 0 FROM pg_advisory_xact_lock_shared(42)";
let pg, w, wLock, wSlow, wDown;

function dbUrl() { return pg.url.replace('postgres@', 'postgres:' + DB_PASSWORD + '@'); }

async function metric(worker, name) {
	const r = await lib.httpGet(worker.port, '/metrics');
	return lib.parseMetrics(r.body)[name];
}

// The reply to a subscribe: 'subscribed', or the error message.
async function trySubscribe(c, channel) {
	c.send({ type: 'subscribe', channel });
	const m = await c.expect((j) => j && (j.type === 'subscribed' || j.type === 'error'),
	    'a reply to subscribe ' + JSON.stringify(channel));
	return m.json.type === 'subscribed' ? 'subscribed' : m.json.data.message;
}

s.setup(async () => {
	pg = await pglib.startPostgres();
	pg.psql(fs.readFileSync(path.join(lib.TOP, 'tests', 'fixtures', 'fonana-db.sql'), 'utf8'));
	const db = { DATABASE_URL: dbUrl(), WS_RULE_POST: undefined };
	w = await lib.startWorker({ env: { ...db, LOG_LEVEL: 'debug' } });
	wLock = await lib.startWorker({ env: { ...db, WS_RULE_POST: LOCKED_RULE, WS_DB_POOL: '1', WS_RULES_CACHE_MS: '0', WS_DB_TIMEOUT_MS: '60000' } });
	wSlow = await lib.startWorker({ env: { ...db, WS_RULE_POST: LOCKED_RULE, WS_DB_TIMEOUT_MS: '300' } });
	wDown = await lib.startWorker({ env: { ...db, WS_RULES_CACHE_MS: '0', WS_DB_BACKOFF_MS: '20', WS_DB_BACKOFF_MAX_MS: '200' } });
	// (a worker without the database feature has no link to wait for: its
	// tests then fail on their own assertions, not all in the setup)
	for (const x of [w, wLock, wSlow, wDown]) {
		await lib.waitFor(async () => {
			const h = JSON.parse((await lib.httpGet(x.port, '/health')).body);
			return h.database === 'up' || !('database' in h);
		}, 20000, 'the worker\'s database link up');
	}
});

s.test('post rule: creator, open, locked and tiered posts, each kind of subscriber, a missing post', async () => {
	const cases = [
		// user, post, expected
		['creator1', 'p_locked', 'subscribed'], ['creator1', 'p_tier', 'subscribed'],
		['creator1', 'p_locked_tier', 'subscribed'], ['creator1', 'p_missing', 'Access denied to channel'],
		['u_paid', 'p_open', 'subscribed'], ['u_paid', 'p_locked', 'subscribed'],
		['u_paid', 'p_tier', 'subscribed'], ['u_paid', 'p_locked_tier', 'subscribed'],
		['u_pending', 'p_open', 'subscribed'], ['u_pending', 'p_locked', 'Access denied to channel'],
		['u_pending', 'p_tier', 'Access denied to channel'],
		['u_inactive', 'p_open', 'subscribed'], ['u_inactive', 'p_locked', 'Access denied to channel'],
		['u_inactive', 'p_tier', 'Access denied to channel'],
		['u_none', 'p_open', 'subscribed'], ['u_none', 'p_locked', 'Access denied to channel'],
		['u_none', 'p_tier', 'Access denied to channel'], ['u_none', 'p_missing', 'Access denied to channel'],
		['u_other', 'p_locked', 'Access denied to channel'], ['u_other', 'p_open', 'subscribed'],
		['nobody-at-all', 'p_locked', 'Access denied to channel'],
	];
	const got = [];
	for (const [user, post, want] of cases) {
		const c = await lib.connectUser(w.url, user);
		const r = await trySubscribe(c, { type: 'post', postId: post });
		got.push(user + ' ' + post + ': ' + r + (r === want ? '' : ' (expected ' + want + ')'));
		assert.ok(c.isOpen(), 'a denial closed the socket');
		c.close();
	}
	const bad = got.filter((g) => g.includes('expected'));
	assert.deepStrictEqual(bad, [], bad.join('\n'));
	// the denial is the error the Node server sent, with the channel
	const c = await lib.connectUser(w.url, 'u_none');
	c.send({ type: 'subscribe', channel: { type: 'post', postId: 'p_locked' } });
	const m = await c.expect((j) => j && j.type === 'error', 'the denial');
	assert.deepStrictEqual(m.json, { type: 'error', data: { message: 'Access denied to channel', channel: { type: 'post', postId: 'p_locked' } } });
	c.close();
});

s.test('a denied user receives nothing published to the locked post; a paying one does', async () => {
	const paid = await lib.connectUser(w.url, 'u_paid');
	const none = await lib.connectUser(w.url, 'u_none');
	assert.strictEqual(await trySubscribe(paid, { type: 'post', postId: 'p_locked' }), 'subscribed');
	assert.strictEqual(await trySubscribe(none, { type: 'post', postId: 'p_locked' }), 'Access denied to channel');
	const r = await lib.httpRequest(w.port, 'POST', '/api/publish', { authorization: 'Bearer ' + lib.API_KEY, 'content-type': 'application/json' },
	    JSON.stringify({ channel: 'post_p_locked', type: 'post_updated', data: { postId: 'p_locked' } }));
	assert.strictEqual(r.status, 200, r.body);
	await paid.expect((j) => j && j.type === 'post_updated', 'the event for the paying user');
	// the paying socket got it, and the other's next reply comes after it
	none.send({ type: 'ping' });
	await none.expect((j) => j && j.type === 'pong', 'pong');
	assert.ok(!none.texts().some((t) => t.includes('post_updated')), 'the denied user got the locked post\'s event');
	paid.close(); none.close();
});

s.test('subscribe to one\'s own notifications → subscribed, then the 20 newest unread with Prisma\'s names and types', async () => {
	const c = await lib.connectUser(w.url, 'u_paid');
	const from = c.msgs.length;
	c.send({ type: 'subscribe', channel: { type: 'notifications', userId: 'u_paid' } });
	c.send({ type: 'ping' });
	const un = await c.expect((j) => j && j.type === 'unread_notifications', 'unread_notifications');
	await c.expect((j) => j && j.type === 'pong', 'pong');
	const types = c.msgs.slice(from).map((m) => m.json.type);
	assert.deepStrictEqual(types, ['subscribed', 'unread_notifications', 'pong'], 'order: ' + types);
	const d = un.json.data;
	assert.deepStrictEqual(Object.keys(un.json), ['type', 'data']);
	assert.strictEqual(d.count, 20);
	assert.strictEqual(d.notifications.length, 20);
	const ids = d.notifications.map((n) => n.id);
	const want = [];
	for (let i = 25; i >= 6; i--) want.push('n' + String(i).padStart(2, '0'));
	assert.deepStrictEqual(ids, want, 'newest unread first');
	for (const n of d.notifications) {
		assert.strictEqual(n.userId, 'u_paid');
		assert.strictEqual(n.isRead, false);
		assert.match(n.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
		assert.match(n.updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
		assert.strictEqual(typeof n.priority, 'number');
	}
	const n25 = d.notifications[0];
	assert.deepStrictEqual(n25, {
		id: 'n25', userId: 'u_paid', type: 'COMMENT_POST', title: 'title 25', message: 'message 25',
		isRead: false, metadata: null, priority: 25,
		createdAt: '2026-01-02T03:29:05.175Z', updatedAt: '2026-01-02T03:04:05.000Z',
		expiresAt: null, day: null, score: null, amount: null,
	});
	// the other column types: timestamptz in UTC, a date at midnight UTC,
	// float, Decimal as Prisma's string; a non-finite float as null (JSON.stringify)
	const n24 = d.notifications[1];
	assert.deepStrictEqual([n24.expiresAt, n24.day, n24.score, n24.amount],
	    ['2026-01-03T02:05:06.789Z', '2026-01-02T00:00:00.000Z', 1.5, '12.3']);
	const n23 = d.notifications[2];
	assert.deepStrictEqual([n23.score, n23.amount], [null, '7']);
	const n20 = d.notifications[5];
	assert.strictEqual(n20.id, 'n20');
	assert.strictEqual(n20.createdAt, '2026-01-02T03:24:05.140Z', 'milliseconds keep their trailing zero');
	assert.deepStrictEqual(n20.metadata, { n: 20, postId: 'p_open', tags: ['a', 20] }, 'jsonb is a JSON value');
	assert.strictEqual(n20.type, 'NEW_POST', 'an enum is its name');
	c.close();
});

s.test('another user\'s notifications: denied, and no unread list; creator and feed need no database', async () => {
	const c = await lib.connectUser(w.url, 'u_none');
	assert.strictEqual(await trySubscribe(c, { type: 'notifications', userId: 'u_paid' }), 'Access denied to channel');
	assert.strictEqual(await trySubscribe(c, { type: 'creator', id: 'creator1' }), 'subscribed');
	assert.strictEqual(await trySubscribe(c, { type: 'feed', userId: 'u_none' }), 'subscribed');
	// own list: only its own 2
	assert.strictEqual(await trySubscribe(c, { type: 'notifications', userId: 'u_none' }), 'subscribed');
	const un = await c.expect((j) => j && j.type === 'unread_notifications', 'unread_notifications');
	assert.deepStrictEqual(un.json.data.notifications.map((n) => n.id), ['o2', 'o1']);
	assert.strictEqual(un.json.data.count, 2);
	c.send({ type: 'ping' });
	await c.expect((j) => j && j.type === 'pong', 'pong');
	assert.ok(!c.texts().some((t) => t.includes('"n2')), 'another user\'s notifications were sent');
	c.close();
});

s.test('answers are cached per (user, channel): a repeat is a cache hit, not a query; /metrics and /health show the database', async () => {
	const q0 = await metric(w, 'ws_db_queries_total');
	const h0 = await metric(w, 'ws_rules_cache_hits_total');
	const c = await lib.connectUser(w.url, 'u_paid');
	assert.strictEqual(await trySubscribe(c, { type: 'post', postId: 'p_tier' }), 'subscribed');
	const c2 = await lib.connectUser(w.url, 'u_paid');
	assert.strictEqual(await trySubscribe(c2, { type: 'post', postId: 'p_tier' }), 'subscribed');
	assert.ok(await metric(w, 'ws_rules_cache_hits_total') > h0, 'no cache hit');
	assert.ok(await metric(w, 'ws_db_queries_total') - q0 <= 1, 'the repeat asked the database again');
	assert.strictEqual(await metric(w, 'ws_db_up'), 1);
	const h = await lib.httpGet(w.port, '/health');
	assert.strictEqual(h.status, 200);
	assert.strictEqual(JSON.parse(h.body).database, 'up');
	c.close(); c2.close();
});

s.test('the cache window: a user who stops paying keeps access while cached, loses it once the answer expires; the cap bounds it', async () => {
	pg.psql(`INSERT INTO users (id) VALUES ('u_lapse');
	    INSERT INTO subscriptions (id, "userId", "creatorId", "isActive", "paymentStatus")
	    VALUES ('s_lapse', 'u_lapse', 'creator1', true, 'COMPLETED');`);
	const long = await lib.startWorker({ env: { DATABASE_URL: dbUrl(), WS_RULE_POST: undefined, WS_RULES_CACHE_MS: '600000',
	    WS_RULES_CACHE_MAX: '2' } });
	const short = await lib.startWorker({ env: { DATABASE_URL: dbUrl(), WS_RULE_POST: undefined, WS_RULES_CACHE_MS: '50' } });
	const sub = async (x, user, post) => {
		const c = await lib.connectUser(x.url, user);
		let r;
		await lib.waitFor(async () => (r = await trySubscribe(c, { type: 'post', postId: post })) !== 'Failed to subscribe',
		    10000, 'the database link');
		c.close();
		return r;
	};
	assert.strictEqual(await sub(long, 'u_lapse', 'p_locked'), 'subscribed');
	assert.strictEqual(await sub(short, 'u_lapse', 'p_locked'), 'subscribed');
	pg.psql(`UPDATE subscriptions SET "paymentStatus" = 'FAILED' WHERE id = 's_lapse'`);
	assert.strictEqual(await sub(long, 'u_lapse', 'p_locked'), 'subscribed', 'the cached answer');
	await lib.waitFor(async () => (await sub(short, 'u_lapse', 'p_locked')) === 'Access denied to channel',
	    10000, 'access gone once the 50 ms answer expired');
	// cap 2: two more pairs push the first out, and it is asked again
	await sub(long, 'u_none', 'p_open');
	await sub(long, 'u_none', 'p_tier');
	assert.ok(await metric(long, 'ws_rules_cached') <= 2, 'more answers than WS_RULES_CACHE_MAX');
	assert.strictEqual(await sub(long, 'u_lapse', 'p_locked'), 'Access denied to channel', 'an evicted answer is asked again');
	long.proc.kill('SIGTERM'); short.proc.kill('SIGTERM');
	await long.proc.exited; await short.proc.exited;
});

s.test('subscribe (denied) + unsubscribe + ping in one burst while the query waits → replies in that order', async () => {
	const lock = await pglib.holdLock(pg, 42);
	try {
		const c = await lib.connectUser(wLock.url, 'u_order');
		const from = c.msgs.length;
		const ch = { type: 'post', postId: 'p_missing' };
		const ok = { type: 'post', postId: 'p_locked' };
		c.send({ type: 'subscribe', channel: ch });
		c.send({ type: 'unsubscribe', channel: ch });
		c.send({ type: 'subscribe', channel: ok });
		c.send({ type: 'unsubscribe', channel: ok });
		c.send({ type: 'ping' });
		// every message has reached the worker (one query waits, the rest queue)
		await lib.waitFor(async () => (await metric(wLock, 'ws_db_queries_total')) >= 1, 10000, 'the query sent');
		await lock.release();
		await c.expect((j) => j && j.type === 'pong', 'pong');
		const got = c.msgs.slice(from).map((m) => m.json.type + (m.json.type === 'error' ? ':' + m.json.data.message : '') +
		    (m.json.data && m.json.data.channelKey ? ':' + m.json.data.channelKey : ''));
		assert.deepStrictEqual(got, ['error:Access denied to channel', 'unsubscribed:post_p_missing',
		    'subscribed:post_p_locked', 'unsubscribed:post_p_locked', 'pong']);
		c.close();
	} finally {
		await lock.release();
	}
});

s.test('concurrent identical lookups coalesce: 20 sockets of one user, one query', async () => {
	const lock = await pglib.holdLock(pg, 42);
	try {
		const q0 = await metric(wLock, 'ws_db_queries_total');
		const m0 = await metric(wLock, 'ws_rules_cache_misses_total');
		const c0 = await metric(wLock, 'ws_rules_coalesced_total');
		const cs = [];
		for (let i = 0; i < 20; i++) cs.push(await lib.connectUser(wLock.url, 'u_storm'));
		for (const c of cs) c.send({ type: 'subscribe', channel: { type: 'post', postId: 'p_storm' } });
		await lib.waitFor(async () => (await metric(wLock, 'ws_rules_cache_misses_total')) - m0 +
		    (await metric(wLock, 'ws_rules_coalesced_total')) - c0 >= 20, 10000, 'all 20 lookups attached');
		await lock.release();
		for (const c of cs) await c.expect((j) => j && j.type === 'subscribed', 'subscribed');
		assert.strictEqual(await metric(wLock, 'ws_db_queries_total') - q0, 1, 'queries for 20 identical lookups');
		for (const c of cs) c.close();
	} finally {
		await lock.release();
	}
});

s.test('sockets closed while their query runs: no crash, the worker answers the next one', async () => {
	const lock = await pglib.holdLock(pg, 42);
	try {
		const q0 = await metric(wLock, 'ws_db_queries_total');
		for (let i = 0; i < 10; i++) {
			const c = await lib.connectUser(wLock.url, 'u_gone' + i);
			c.send({ type: 'subscribe', channel: { type: 'post', postId: 'p_locked' } });
			c.send({ type: 'ping' });	// queued behind the subscribe
			c.send({ type: 'subscribe', channel: { type: 'notifications', userId: 'u_gone' + i } });
			await lib.waitFor(async () => (await metric(wLock, 'ws_db_queries_total')) > q0, 10000, 'the first query sent');
			if (i % 2) c.terminate(); else c.close();
			await c.waitClose();
		}
		await lock.release();
		// one connection: this query runs after every earlier one completed
		const c = await lib.connectUser(wLock.url, 'u_after');
		assert.strictEqual(await trySubscribe(c, { type: 'post', postId: 'p_missing' }), 'Access denied to channel');
		assert.strictEqual(await trySubscribe(c, { type: 'post', postId: 'p_open' }), 'subscribed');
		assert.strictEqual(wLock.proc.exitInfo, null);
		c.close();
	} finally {
		await lock.release();
	}
});

s.test('a client that floods messages while its subscribe waits is closed 1008 past the cap; others are unaffected', async () => {
	const x = await lib.startWorker({ env: { DATABASE_URL: dbUrl(), WS_RULE_POST: LOCKED_RULE, WS_SEND_QUEUE_MAX: '4096',
	    WS_DB_TIMEOUT_MS: '60000' } });
	const lock = await pglib.holdLock(pg, 42);
	try {
		const c = await lib.connectUser(x.url, 'u_flood');
		c.send({ type: 'subscribe', channel: { type: 'post', postId: 'p_open' } });
		for (let i = 0; i < 200; i++) c.send({ type: 'ping', pad: 'x'.repeat(40) });
		const cl = await c.waitClose();
		assert.deepStrictEqual(cl, { code: 1008, reason: 'too many pending messages' });
		const d = await lib.connectUser(x.url, 'u_calm');
		assert.strictEqual(await trySubscribe(d, { type: 'creator', id: 'creator1' }), 'subscribed');
		d.close();
	} finally {
		await lock.release();
	}
});

s.test('a query past WS_DB_TIMEOUT_MS fails closed ("Failed to subscribe"), the socket stays open', async () => {
	const lock = await pglib.holdLock(pg, 42);
	try {
		const f0 = await metric(wSlow, 'ws_db_failures_total');
		const c = await lib.connectUser(wSlow.url, 'u_paid');
		c.send({ type: 'subscribe', channel: { type: 'post', postId: 'p_locked' } });
		const m = await c.expect((j) => j && (j.type === 'error' || j.type === 'subscribed'), 'a reply');
		assert.deepStrictEqual(m.json, { type: 'error', data: { message: 'Failed to subscribe', channel: { type: 'post', postId: 'p_locked' } } });
		c.send({ type: 'ping' });
		await c.expect((j) => j && j.type === 'pong', 'pong after the failure');
		assert.ok(await metric(wSlow, 'ws_db_failures_total') > f0);
		await lock.release();
		// the answer after a failure is asked again (failures are not cached)
		await lib.waitFor(async () => (await trySubscribe(c, { type: 'post', postId: 'p_locked' })) === 'subscribed',
		    20000, 'a subscribe that works again');
		c.close();
	} finally {
		await lock.release();
	}
}, { timeout: 30000 });

s.test('database stopped while clients subscribe → "Failed to subscribe", /health says down; back → access again', async () => {
	const cs = [];
	for (let i = 0; i < 8; i++) cs.push(await lib.connectUser(wDown.url, i % 2 ? 'u_paid' : 'u_none'));
	for (const c of cs) c.send({ type: 'subscribe', channel: { type: 'post', postId: 'p_locked' } });
	await pg.stop();
	for (const c of cs) c.send({ type: 'subscribe', channel: { type: 'post', postId: 'p_tier' } });
	// every subscribe is answered; none lets a non-payer in
	for (let i = 0; i < cs.length; i++) {
		for (let k = 0; k < 2; k++) {
			const m = await cs[i].expect((j) => j && (j.type === 'error' || j.type === 'subscribed'), 'a reply');
			if (i % 2 === 0) assert.strictEqual(m.json.type, 'error', 'u_none got in: ' + m.text);
		}
		assert.ok(cs[i].isOpen());
	}
	await lib.waitFor(async () => JSON.parse((await lib.httpGet(wDown.port, '/health')).body).database === 'down',
	    10000, '/health database down');
	const h = await lib.httpGet(wDown.port, '/health');
	assert.strictEqual(h.status, 200, 'a database down is not a 503 (documented policy)');
	assert.strictEqual(await metric(wDown, 'ws_db_up'), 0);
	assert.strictEqual(await trySubscribe(cs[1], { type: 'post', postId: 'p_locked' }), 'Failed to subscribe');
	// public and owner channels need no database
	assert.strictEqual(await trySubscribe(cs[1], { type: 'creator', id: 'creator1' }), 'subscribed');
	await pg.start();
	await lib.waitFor(async () => (await trySubscribe(cs[1], { type: 'post', postId: 'p_locked' })) === 'subscribed',
	    20000, 'access once the database is back');
	assert.strictEqual(await trySubscribe(cs[0], { type: 'post', postId: 'p_locked' }), 'Access denied to channel');
	assert.strictEqual(wDown.proc.exitInfo, null);
	for (const c of cs) c.close();
}, { timeout: 60000 });

s.test('no DATABASE_URL: the post rule refuses (fail closed) and says so at start; WS_RULE_POST=public opts in, loudly', async () => {
	const x = await lib.startWorker({ env: { WS_RULE_POST: undefined } });
	const c = await lib.connectUser(x.url, 'u_paid');
	assert.strictEqual(await trySubscribe(c, { type: 'post', postId: 'p_open' }), 'Failed to subscribe');
	assert.strictEqual(await trySubscribe(c, { type: 'creator', id: 'creator1' }), 'subscribed');
	assert.match(x.logs(), /needs DATABASE_URL/);
	c.close();
	const y = await lib.startWorker({ env: { WS_RULE_POST: 'public' } });
	const c2 = await lib.connectUser(y.url, 'u_none');
	assert.strictEqual(await trySubscribe(c2, { type: 'post', postId: 'p_locked' }), 'subscribed');
	assert.match(y.logs(), /"level":"warn".*public/);
	c2.close();
});

s.test('a bad rule is a config error: exit 78 naming the variable', async () => {
	for (const [env, name] of [[{ WS_RULE_POST: 'everyone' }, 'WS_RULE_POST'], [{ WS_RULE_COMMENTS: 'public' }, 'WS_RULE_COMMENTS'],
	    [{ WS_RULE_POST: 'sql:' }, 'WS_RULE_POST'], [{ WS_RULES_FILE: path.join(lib.T, 'no-such-rules.json') }, 'WS_RULES_FILE'],
	    [{ WS_DB_POOL: '0' }, 'WS_DB_POOL'],
	    [{ DATABASE_URL: 'postgresql://u:' + DB_PASSWORD + '@[::1/x' }, 'DATABASE_URL'],
	    [{ DATABASE_URL: 'host=127.0.0.1 password=' + DB_PASSWORD + ' bogus_key=1' }, 'DATABASE_URL']]) {
		const x = await lib.startWorker({ env, noWait: true });
		const ex = await x.proc.exited;
		assert.strictEqual(ex.code, 78, JSON.stringify(env) + ': exit ' + JSON.stringify(ex));
		assert.ok((x.proc.logOut() + x.proc.logErr()).includes(name), JSON.stringify(env) + ': the message does not name ' + name);
		assert.ok(!(x.proc.logOut() + x.proc.logErr()).includes(DB_PASSWORD), JSON.stringify(env) + ': the password is in the message');
	}
});

s.test('an SQL rule the server refuses fails closed, named in the log; other channels keep working', async () => {
	const x = await lib.startWorker({ env: { DATABASE_URL: dbUrl(), WS_RULE_POST: 'sql:SELEC $1, $2', WS_DB_BACKOFF_MS: '20' } });
	await lib.waitFor(() => x.logs().split('\n').some((l) => l.includes('database error') && l.includes('WS_RULE_POST')),
	    10000, 'the error logged with its variable');
	const c = await lib.connectUser(x.url, 'creator1');
	assert.strictEqual(await trySubscribe(c, { type: 'post', postId: 'p_open' }), 'Failed to subscribe');
	assert.strictEqual(await trySubscribe(c, { type: 'creator', id: 'creator1' }), 'subscribed');
	assert.ok(!x.logs().includes(DB_PASSWORD));
	c.close();
});

s.test('WS_RULES_FILE sets rules by channel type', async () => {
	const f = path.join(lib.T, 'rules.json');
	fs.writeFileSync(f, JSON.stringify({ creator: 'owner', post: 'sql:SELECT $1 = \'u_file\' AND $2 = \'p_x\'' }));
	const x = await lib.startWorker({ env: { DATABASE_URL: dbUrl(), WS_RULES_FILE: f, WS_RULE_POST: undefined } });
	const c = await lib.connectUser(x.url, 'u_file');
	assert.strictEqual(await trySubscribe(c, { type: 'creator', id: 'creator1' }), 'Access denied to channel');
	assert.strictEqual(await trySubscribe(c, { type: 'creator', id: 'u_file' }), 'subscribed');
	await lib.waitFor(async () => (await trySubscribe(c, { type: 'post', postId: 'p_x' })) === 'subscribed', 10000, 'the file\'s SQL rule');
	assert.strictEqual(await trySubscribe(c, { type: 'post', postId: 'p_y' }), 'Access denied to channel');
	c.close();
});

s.test('DATABASE_URL_FILE and the database_url secret in SECRETS_DIR are read like DATABASE_URL', async () => {
	const f = path.join(lib.T, 'db-url');
	fs.writeFileSync(f, dbUrl() + '\n', { mode: 0o600 });
	const dir = path.join(lib.T, 'secrets');
	fs.mkdirSync(dir, { mode: 0o700 });
	fs.writeFileSync(path.join(dir, 'database_url'), dbUrl() + '\n', { mode: 0o600 });
	for (const env of [{ DATABASE_URL_FILE: f }, { SECRETS_DIR: dir }]) {
		const x = await lib.startWorker({ env: { ...env, WS_RULE_POST: undefined } });
		const c = await lib.connectUser(x.url, 'u_none');
		await lib.waitFor(async () => (await trySubscribe(c, { type: 'post', postId: 'p_open' })) === 'subscribed',
		    10000, JSON.stringify(env) + ': the post rule through the database');
		assert.strictEqual(await trySubscribe(c, { type: 'post', postId: 'p_locked' }), 'Access denied to channel');
		assert.ok(!x.logs().includes(DB_PASSWORD), 'the database password is in the logs');
		c.close();
	}
});

s.final('DATABASE_URL\'s password is never logged by workers that used it; they exit cleanly (no sanitizer report)', async () => {
	for (const x of [w, wLock, wSlow, wDown]) {
		x.proc.kill('SIGTERM');
		const ex = await lib.withTimeout(x.proc.exited, 15000, 'the worker to exit');
		const logs = x.proc.logOut() + x.proc.logErr();
		// (it did use the URL: its link came up, and went down with pg)
		assert.ok(logs.includes('database link up'), 'the worker never reported its database link up');
		assert.ok(!logs.includes(DB_PASSWORD), 'the database password is in the logs');
		assert.ok(!/AddressSanitizer|LeakSanitizer|runtime error/.test(logs), lib.tail(logs, 30));
		assert.strictEqual(ex.code, 0, 'exit ' + JSON.stringify(ex) + '\n' + lib.tail(logs, 10));
	}
}, { timeout: 60000 });

s.teardown(async () => { if (pg) await pg.stop(); });

s.run();

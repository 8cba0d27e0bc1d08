// Channel history (SPEC §4.8): every publish through wsd (POST /api/publish,
// and so wsctl publish, which posts there; clients/node/publisher.js) is appended to a capped Redis
// Stream per channel by one server-side script, and sockets that did not ask
// for positions still get the event's exact bytes.
'use strict';
const path = require('path');
const crypto = require('crypto');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
let redis, w, wSmall;

s.setup(async () => {
	redis = await lib.startRedis();
	w = await lib.startWorker({ redis });
	wSmall = await lib.startWorker({ redis, env: { WS_HISTORY_SIZE: '10', WS_HISTORY_TTL: '60' } });
});

function apiPublish(port, body) {
	return lib.httpRequest(port, 'POST', '/api/publish',
	    { 'Content-Type': 'application/json', Authorization: 'Bearer ' + lib.API_KEY }, JSON.stringify(body));
}

// XRANGE entries as [{ id, e, p }].
async function history(key) {
	const r = await lib.redisCmd(redis, ['XRANGE', 'ws:h:' + key, '-', '+']);
	return r.map(([id, f]) => {
		const o = { id };
		for (let i = 0; i + 1 < f.length; i += 2) o[f[i]] = f[i + 1];
		return o;
	});
}

s.test('POST /api/publish appends the event to ws:h:<key> (with its epoch and TTL) and plain sockets get its exact bytes', async () => {
	const c = await lib.connectUser(w.url, 'h1');
	await lib.subscribe(c, { type: 'post', postId: 'h1' });
	const from = c.msgs.length;
	for (let i = 1; i <= 3; i++) {
		const r = await apiPublish(w.port, { channel: 'post_h1', type: 'post_liked', data: { n: i } });
		assert.strictEqual(r.status, 200, r.body);
	}
	await lib.waitFor(() => c.msgs.length >= from + 3, 10000, '3 events');
	const want = [1, 2, 3].map((i) => JSON.stringify({ type: 'post_liked', data: { n: i } }));
	assert.deepStrictEqual(c.texts(from), want, 'a plain socket must get the event bytes only');
	const h = await history('post_h1');
	assert.deepStrictEqual(h.map((x) => x.e), want);
	assert.strictEqual(h[0].p, '0-0');
	assert.strictEqual(h[1].p, h[0].id, 'entries chain to the one before');
	assert.strictEqual(h[2].p, h[1].id);
	const meta = await lib.redisCmd(redis, ['HGETALL', 'ws:m:post_h1']);
	const m = {};
	for (let i = 0; i + 1 < meta.length; i += 2) m[meta[i]] = meta[i + 1];
	assert.ok(/^[0-9a-f]{16}$/.test(m.epoch), 'epoch ' + m.epoch);
	assert.strictEqual(m.last, h[2].id);
	const ttl = await lib.redisCmd(redis, ['TTL', 'ws:h:post_h1']);
	assert.ok(ttl > 86000 && ttl <= 86400, 'TTL ' + ttl + ' (WS_HISTORY_TTL default 86400)');
	c.close();
});

s.test('WS_HISTORY_SIZE caps the stream and WS_HISTORY_TTL sets its expiry', async () => {
	for (let i = 0; i < 300; i++) {
		const r = await apiPublish(wSmall.port, { channel: 'post_cap', type: 'x', data: { i } });
		assert.strictEqual(r.status, 200, r.body);
	}
	const len = await lib.redisCmd(redis, ['XLEN', 'ws:h:post_cap']);
	// MAXLEN ~ trims whole stream nodes (100 entries each by default).
	assert.ok(len >= 10 && len <= 110, 'XLEN ' + len + ' with WS_HISTORY_SIZE=10');
	const ttl = await lib.redisCmd(redis, ['TTL', 'ws:h:post_cap']);
	assert.ok(ttl > 0 && ttl <= 60, 'TTL ' + ttl + ' with WS_HISTORY_TTL=60');
});

s.test('a Redis that forgot the script (SCRIPT FLUSH) still gets every publish (EVAL after NOSCRIPT)', async () => {
	const c = await lib.connectUser(w.url, 'h2');
	await lib.subscribe(c, { type: 'post', postId: 'h2' });
	assert.strictEqual(await lib.redisCmd(redis, ['SCRIPT', 'FLUSH']), 'OK');
	const r = await apiPublish(w.port, { channel: 'post_h2', type: 'after_flush', data: {} });
	assert.strictEqual(r.status, 200, r.body);
	await c.expect((j) => j && j.type === 'after_flush', 'the event published after SCRIPT FLUSH');
	assert.strictEqual((await history('post_h2')).length, 1);
	c.close();
});

s.test('clients/node/publisher.js (ioredis) writes history with the worker\'s script, plain sockets get exact bytes', async () => {
	const Redis = require('ioredis');
	const { createPublisher, SCRIPT } = require(path.join(lib.TOP, 'clients/node/publisher.js'));
	const rc = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: false });
	try {
		const pub = createPublisher(rc);
		const c = await lib.connectUser(w.url, 'h4');
		await lib.subscribe(c, { type: 'notifications', userId: 'h4' });
		const from = c.msgs.length;
		const ev = { type: 'notification', userId: 'h4', notification: { id: 1 } };
		const n = await pub.publish('notifications_h4', ev);
		assert.strictEqual(n, 1, 'PUBLISH receivers');
		await pub.publish('notifications_h4', '{}');
		await lib.waitFor(() => c.msgs.length >= from + 2, 10000, '2 events');
		assert.deepStrictEqual(c.texts(from), [JSON.stringify(ev), '{}']);
		const h = await history('notifications_h4');
		assert.strictEqual(h.length, 2);
		assert.strictEqual(h[1].p, h[0].id);
		// One script for both: the worker's publish left the same SHA1 cached.
		await lib.redisCmd(redis, ['SCRIPT', 'FLUSH']);
		assert.strictEqual((await apiPublish(w.port, { channel: 'post_h4', type: 'x' })).status, 200);
		const sha = crypto.createHash('sha1').update(SCRIPT).digest('hex');
		assert.deepStrictEqual(await lib.redisCmd(redis, ['SCRIPT', 'EXISTS', sha]), [1],
		    'publisher.js runs a different script text than the worker');
		c.close();
	} finally {
		rc.disconnect();
	}
});

s.test('a legacy PUBLISH ws:<key> still delivers verbatim', async () => {
	const c = await lib.connectUser(w.url, 'h5');
	await lib.subscribe(c, { type: 'post', postId: 'h5' });
	const from = c.msgs.length;
	const text = '{"type":"legacy","data":{"x":"}"}}';
	await lib.publish(redis, 'post_h5', text);
	await lib.waitFor(() => c.msgs.length > from, 10000, 'the legacy event');
	assert.deepStrictEqual(c.texts(from), [text]);
	c.close();
});

// ------------------------------------------------------- idempotency keys

function apiPublishIdem(port, body, idem) {
	return lib.httpRequest(port, 'POST', '/api/publish', { 'Content-Type': 'application/json',
	    Authorization: 'Bearer ' + lib.API_KEY, 'Idempotency-Key': idem }, JSON.stringify(body));
}

// A socket that counts the events of one type it gets, ended by a marker
// published after them: what it got then is all it will get.
async function countedUntilMarker(c, key, type) {
	assert.strictEqual((await apiPublish(w.port, { channel: key, type: 'marker' })).status, 200);
	await c.expect((j) => j && j.type === 'marker', 'the marker');
	return c.msgs.filter((m) => m.json && m.json.type === type).length;
}

s.test('POST /api/publish with the same Idempotency-Key twice: stored and delivered once; another key is another event; a bad key is 400', async () => {
	const c = await lib.connectUser(w.url, 'idem1');
	await lib.subscribe(c, { type: 'post', postId: 'idem1' });
	for (let i = 0; i < 2; i++) {
		const r = await apiPublishIdem(w.port, { channel: 'post_idem1', type: 'once', data: { n: 1 } }, 'evt-1.a_B');
		assert.strictEqual(r.status, 200, r.body);
	}
	assert.strictEqual((await apiPublishIdem(w.port, { channel: 'post_idem1', type: 'once', data: { n: 2 } }, 'evt-2')).status, 200);
	assert.strictEqual((await history('post_idem1')).length, 2);
	assert.ok(await lib.redisCmd(redis, ['TTL', 'ws:d:post_idem1:evt-1.a_B']) > 0, 'the dedup key expires');
	for (const bad of ['a:b', 'x'.repeat(129), 'sp ace']) {
		const r = await apiPublishIdem(w.port, { channel: 'post_idem1', type: 'once', data: { n: 3 } }, bad);
		assert.strictEqual(r.status, 400, bad + ': ' + r.body);
	}
	assert.strictEqual(await countedUntilMarker(c, 'post_idem1', 'once'), 2);
	c.close();
});

s.test('wsctl publish --idempotency-key twice: stored once', async () => {
	const env = { WS_PORT: String(w.port), WS_API_KEY: lib.API_KEY, WSD_HOME: path.join(require('os').tmpdir(), 'wsd-none-' + process.pid) };
	for (let i = 0; i < 2; i++) {
		const r = require('child_process').spawnSync(path.join(lib.BIN, 'wsctl'),
		    ['publish', 'post_idem2', '{"type":"once"}', '--idempotency-key', 'cli-1'], { env: lib.cleanEnv(env), encoding: 'utf8' });
		assert.strictEqual(r.status, 0, r.stderr);
	}
	assert.strictEqual((await history('post_idem2')).length, 1);
	const bad = require('child_process').spawnSync(path.join(lib.BIN, 'wsctl'),
	    ['publish', 'post_idem2', '{"type":"once"}', '--idempotency-key', 'a b'], { env: lib.cleanEnv(env), encoding: 'utf8' });
	assert.notStrictEqual(bad.status, 0);
	assert.match(bad.stderr, /idempotency-key/);
});

s.test('clients/node/publisher.js: its connection cut after the script went out, before the reply: the retry stores and delivers the event once', async () => {
	const Redis = require('ioredis');
	const { createPublisher } = require(path.join(lib.TOP, 'clients/node/publisher.js'));
	const rc = new Redis({ port: redis.port, host: '127.0.0.1' });
	const c = await lib.connectUser(w.url, 'idem3');
	try {
		await lib.subscribe(c, { type: 'post', postId: 'idem3' });
		const pub = createPublisher(rc);
		await pub.publish('post_idem3w', { type: 'warm' });	// connected, script loaded
		// The network goes the moment the script call is written: Redis
		// runs it, its reply is lost, the client retries.
		let cut = 0;
		const stream = rc.stream, write = stream.write;
		stream.write = function (...a) {
			const r = write.apply(this, a);
			if (!cut && String(a[0]).includes('ws:h:post_idem3')) { cut = 1; setImmediate(() => stream.destroy()); }
			return r;
		};
		await pub.publish('post_idem3', { type: 'once', data: { n: 1 } });
		assert.strictEqual(cut, 1, 'the connection was cut');
		assert.strictEqual((await history('post_idem3')).length, 1, 'stored once');
		assert.strictEqual(await countedUntilMarker(c, 'post_idem3', 'once'), 1, 'delivered once');
	} finally {
		rc.disconnect();
		c.close();
	}
});

// ------------------------------------------------------------ positions

// Subscribe asking for positions; resolves to the subscribed reply.
async function subscribePos(c, channel, since) {
	const msg = { type: 'subscribe', channel };
	if (since) msg.since = since; else msg.recover = true;
	c.send(msg);
	const m = await c.expect((j) => j && (j.type === 'subscribed' || j.type === 'error'), 'subscribed (positions)');
	assert.strictEqual(m.json.type, 'subscribed', m.text);
	return m.json;
}

// The numbered events (data.n) a client got on a type, in arrival order.
function numbers(c, type, from) {
	return c.msgs.slice(from || 0).filter((m) => m.json && m.json.type === type).map((m) => m.json.data.n);
}

function assertOnceInOrder(got, want, what) {
	const dups = got.filter((n, i) => got.indexOf(n) !== i);
	const lost = want.filter((n) => !got.includes(n));
	assert.deepStrictEqual({ lost, dups }, { lost: [], dups: [] }, what + ': lost/duplicated');
	assert.deepStrictEqual(got, want, what + ': order');
}

s.test('recover:true → subscribed carries offset+epoch, events carry them added; plain sockets keep the exact bytes', async () => {
	const a = await lib.connectUser(w.url, 'p1');
	const b = await lib.connectUser(w.url, 'p1b');
	const sub = await subscribePos(a, { type: 'post', postId: 'p1' });
	assert.ok(typeof sub.offset === 'string' && typeof sub.epoch === 'string', 'subscribed: ' + JSON.stringify(sub));
	await lib.subscribe(b, { type: 'post', postId: 'p1' });
	const fa = a.msgs.length, fb = b.msgs.length;
	const r = await apiPublish(w.port, { channel: 'post_p1', type: 'ev', data: { n: 1 } });
	assert.strictEqual(r.status, 200);
	await lib.waitFor(() => a.msgs.length > fa && b.msgs.length > fb, 10000, 'the event on both sockets');
	const h = await history('post_p1');
	const last = h[h.length - 1];
	assert.strictEqual(b.msgs[fb].text, '{"type":"ev","data":{"n":1}}');
	assert.strictEqual(a.msgs[fa].text, '{"type":"ev","data":{"n":1},"offset":"' + last.id + '","epoch":"' + sub.epoch + '"}');
	a.close(); b.close();
});

s.test('an Idempotency-Key travels to sockets with positions, live and replayed from history, never to plain sockets', async () => {
	const ch = { type: 'post', postId: 'idk' };
	const a = await lib.connectUser(w.url, 'idk');
	const b = await lib.connectUser(w.url, 'idkb');
	const sub = await subscribePos(a, ch);
	await lib.subscribe(b, ch);
	const fa = a.msgs.length, fb = b.msgs.length;
	assert.strictEqual((await apiPublishIdem(w.port, { channel: 'post_idk', type: 'ev', data: { n: 1 } }, 'k-1.x_Y')).status, 200);
	assert.strictEqual((await apiPublish(w.port, { channel: 'post_idk', type: 'ev', data: { n: 2 } })).status, 200);
	await lib.waitFor(() => a.msgs.length >= fa + 2 && b.msgs.length >= fb + 2, 10000, 'both events on both sockets');
	const h = await history('post_idk');
	const [e1, e2] = h.slice(-2);
	assert.strictEqual(e1.i, 'k-1.x_Y', 'the stream entry keeps the key');
	assert.strictEqual(e2.i, undefined);
	const want1 = '{"type":"ev","data":{"n":1},"offset":"' + e1.id + '","epoch":"' + sub.epoch + '","idempotencyKey":"k-1.x_Y"}';
	const want2 = '{"type":"ev","data":{"n":2},"offset":"' + e2.id + '","epoch":"' + sub.epoch + '"}';
	assert.deepStrictEqual([a.msgs[fa].text, a.msgs[fa + 1].text], [want1, want2]);
	assert.deepStrictEqual([b.msgs[fb].text, b.msgs[fb + 1].text], ['{"type":"ev","data":{"n":1}}', '{"type":"ev","data":{"n":2}}']);
	// The same bytes when read back from history.
	const c = await lib.connectUser(w.url, 'idkc');
	const fc = c.msgs.length;
	await subscribePos(c, ch, { offset: sub.offset, epoch: sub.epoch });
	await lib.waitFor(() => numbers(c, 'ev', fc).length >= 2, 10000, 'the replay');
	assert.deepStrictEqual(c.msgs.slice(fc).filter((m) => m.json && m.json.type === 'ev').map((m) => m.text), [want1, want2]);
	a.close(); b.close(); c.close();
});

s.test('since: the missed events in order, then live, none lost or doubled (publishing all along)', async () => {
	const ch = { type: 'post', postId: 'p2' };
	const a = await lib.connectUser(w.url, 'p2');
	await subscribePos(a, ch);
	let n = 0;
	const pub = async (k) => { for (let i = 0; i < k; i++) { const r = await apiPublish(w.port, { channel: 'post_p2', type: 'num', data: { n: ++n } }); assert.strictEqual(r.status, 200); } };
	await pub(5);
	await lib.waitFor(() => numbers(a, 'num').length === 5, 10000, '5 events');
	const lastMsg = a.msgs.filter((m) => m.json && m.json.type === 'num').pop().json;
	a.terminate();
	await pub(5);		// missed: 6..10
	// Reconnect while events keep coming: 11..60 race the fetch.
	const b = await lib.connectUser(w.url, 'p2');
	const publishing = pub(50);
	const sub = await subscribePos(b, ch, { offset: lastMsg.offset, epoch: lastMsg.epoch });
	assert.strictEqual(sub.epoch, lastMsg.epoch);
	await publishing;
	await lib.waitFor(() => numbers(b, 'num').length >= 50, 15000, 'events 6..60');
	await lib.sleep(200);
	assert.ok(!b.msgs.some((m) => m.json && m.json.type === 'resync'), 'no resync expected');
	const want = []; for (let i = 6; i <= 60; i++) want.push(i);
	assertOnceInOrder(numbers(b, 'num'), want, 'after since');
	const offs = b.msgs.filter((m) => m.json && m.json.type === 'num').map((m) => m.json.offset);
	assert.strictEqual(new Set(offs).size, offs.length, 'offsets are unique');
	b.close();
}, { timeout: 30000 });

s.test('since with a changed epoch (history deleted) → resync, then the live stream', async () => {
	const ch = { type: 'post', postId: 'p3' };
	const a = await lib.connectUser(w.url, 'p3');
	await subscribePos(a, ch);
	assert.strictEqual((await apiPublish(w.port, { channel: 'post_p3', type: 'num', data: { n: 1 } })).status, 200);
	const m1 = (await a.expect((j) => j && j.type === 'num', 'event 1')).json;
	a.terminate();
	await lib.redisCmd(redis, ['DEL', 'ws:h:post_p3', 'ws:m:post_p3']);
	assert.strictEqual((await apiPublish(w.port, { channel: 'post_p3', type: 'num', data: { n: 2 } })).status, 200);
	const b = await lib.connectUser(w.url, 'p3');
	const sub = await subscribePos(b, ch, { offset: m1.offset, epoch: m1.epoch });
	assert.notStrictEqual(sub.epoch, m1.epoch);
	await b.expect((j) => j && j.type === 'resync' && j.data.channelKey === 'post_p3', 'resync');
	assert.strictEqual((await apiPublish(w.port, { channel: 'post_p3', type: 'num', data: { n: 3 } })).status, 200);
	const m3 = (await b.expect((j) => j && j.type === 'num', 'the live event')).json;
	assert.strictEqual(m3.data.n, 3);
	assert.strictEqual(m3.epoch, sub.epoch);
	b.close();
});

s.test('since older than the capped history → resync; a bad since → resync, socket stays open', async () => {
	const ch = { type: 'post', postId: 'p4' };
	const a = await lib.connectUser(wSmall.url, 'p4');
	await subscribePos(a, ch);
	assert.strictEqual((await apiPublish(wSmall.port, { channel: 'post_p4', type: 'num', data: { n: 0 } })).status, 200);
	const m0 = (await a.expect((j) => j && j.type === 'num', 'event 0')).json;
	a.terminate();
	for (let i = 1; i <= 300; i++) assert.strictEqual((await apiPublish(wSmall.port, { channel: 'post_p4', type: 'num', data: { n: i } })).status, 200);
	const b = await lib.connectUser(wSmall.url, 'p4');
	await subscribePos(b, ch, { offset: m0.offset, epoch: m0.epoch });
	await b.expect((j) => j && j.type === 'resync', 'resync (trimmed)');
	const c = await lib.connectUser(w.url, 'p4c');
	for (const since of [{ offset: 'nope', epoch: 'x' }, { offset: 5, epoch: [] }, { offset: '1-0' }]) {
		await subscribePos(c, { type: 'post', postId: 'p4c' }, since);
		await c.expect((j) => j && j.type === 'resync', 'resync for ' + JSON.stringify(since));
	}
	c.send({ type: 'ping' });
	await c.expect((j) => j && j.type === 'pong', 'pong');
	b.close(); c.close();
}, { timeout: 60000 });

s.test('the worker repairs its own gap after its Redis link drops (events published while it was away arrive, once, in order)', async () => {
	const Redis = require('ioredis');
	const { createPublisher } = require(path.join(lib.TOP, 'clients/node/publisher.js'));
	const wg = await lib.startWorker({ redis, env: { WS_REDIS_BACKOFF_MIN_MS: '2000', WS_REDIS_BACKOFF_MAX_MS: '2000' } });
	const rc = new Redis({ port: redis.port, host: '127.0.0.1' });
	try {
		const pub = createPublisher(rc);
		const a = await lib.connectUser(wg.url, 'p5');
		await subscribePos(a, { type: 'post', postId: 'p5' });
		for (let i = 1; i <= 3; i++) await pub.publish('post_p5', { type: 'num', data: { n: i } });
		await lib.waitFor(() => numbers(a, 'num').length === 3, 10000, 'events 1..3');
		// Cut every link of the worker; it stays away for its 2 s backoff.
		await lib.redisCmd(redis, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
		await lib.waitFor(async () => (await lib.httpGet(wg.port, '/health')).status === 503, 10000, 'the worker sees its link down');
		// Published while it is away, and nothing after: only a repair brings them.
		for (let i = 4; i <= 10; i++) await pub.publish('post_p5', { type: 'num', data: { n: i } });
		await lib.waitFor(() => numbers(a, 'num').length >= 10, 20000, 'events 4..10 after the link is back');
		const want = []; for (let i = 1; i <= 10; i++) want.push(i);
		assertOnceInOrder(numbers(a, 'num'), want, 'across the link drop');
		a.close();
	} finally {
		rc.disconnect();
		lib.killGroup(wg.pid);
		await wg.proc.exited;
	}
}, { timeout: 40000 });

s.run();

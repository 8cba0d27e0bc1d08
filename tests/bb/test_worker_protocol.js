// The fonana-ws message protocol (SPEC §4.2 welcome, §4.3 messages and
// channel rules, §4.4 delivery) against one wsworker started by hand, with a
// private redis-server, driven by the npm `ws` client.
'use strict';
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
let redis, w;

s.setup(async () => {
	redis = await lib.startRedis();
	w = await lib.startWorker({ redis });
});

const U = (id) => lib.connectUser(w.url, id);

// A sentinel published after the events under test: once it arrives, every
// event published before it on the same Redis link has been delivered.
async function sentinel(clientsOnKey, key) {
	const text = JSON.stringify({ type: 'sentinel', data: { n: Math.random() } });
	await lib.publish(redis, key, text);
	for (const c of clientsOnKey) await c.expect((j, t) => t === text, 'the sentinel on ' + key);
}

s.test('welcome message is exactly {"type":"connected","data":{"userId":…,"message":…}}', async () => {
	const c = new lib.Client(lib.url(w.url, lib.token(lib.SECRET, 'user42')));
	await c.waitOpen();
	const m = await c.next(5000, 'the welcome message');
	assert.strictEqual(m.text, JSON.stringify({ type: 'connected', data: { userId: 'user42', message: lib.WELCOME } }));
	c.close();
});

s.test('subscribe post → subscribed with channel echoed and channelKey post_P', async () => {
	const c = await U('1');
	const ch = { type: 'post', postId: '77' };
	c.send({ type: 'subscribe', channel: ch });
	const m = await c.next(5000, 'reply to subscribe');
	assert.deepStrictEqual(m.json, { type: 'subscribed', data: { channel: ch, channelKey: 'post_77' } });
	c.close();
});

s.test('subscribe creator → subscribed creator_C (any authenticated user)', async () => {
	const c = await U('2');
	const ch = { type: 'creator', id: 'c9' };
	c.send({ type: 'subscribe', channel: ch });
	const m = await c.next(5000, 'reply to subscribe');
	assert.deepStrictEqual(m.json, { type: 'subscribed', data: { channel: ch, channelKey: 'creator_c9' } });
	c.close();
});

s.test('notifications and feed of one\'s own user id are allowed', async () => {
	const c = await U('u5');
	for (const [type, key] of [['notifications', 'notifications_u5'], ['feed', 'feed_u5']]) {
		const ch = { type, userId: 'u5' };
		c.send({ type: 'subscribe', channel: ch });
		const m = await c.next(5000, 'reply to subscribe ' + type);
		assert.deepStrictEqual(m.json, { type: 'subscribed', data: { channel: ch, channelKey: key } });
	}
	c.close();
});

s.test('notifications/feed of another user → "Access denied to channel", socket stays open', async () => {
	const c = await U('u6');
	for (const type of ['notifications', 'feed']) {
		const ch = { type, userId: 'u7' };
		c.send({ type: 'subscribe', channel: ch });
		const m = await c.next(5000, 'reply to subscribe ' + type);
		assert.deepStrictEqual(m.json, { type: 'error', data: { message: 'Access denied to channel', channel: ch } });
	}
	c.send({ type: 'ping' });
	const p = await c.next(5000, 'pong after the denials');
	assert.deepStrictEqual(p.json, { type: 'pong' });
	assert.ok(c.isOpen(), 'socket closed after a denial: ' + JSON.stringify(c.closed));
	c.close();
});

s.test('unknown channel type → denied, socket stays open', async () => {
	const c = await U('u8');
	for (const ch of [{ type: 'admin', id: '1' }, { type: 'messages', userId: 'u8' }, { foo: 'bar' }]) {
		c.send({ type: 'subscribe', channel: ch });
		const m = await c.next(5000, 'reply to subscribe ' + JSON.stringify(ch));
		assert.deepStrictEqual(m.json, { type: 'error', data: { message: 'Access denied to channel', channel: ch } });
	}
	c.send({ type: 'ping' });
	assert.deepStrictEqual((await c.next(5000, 'pong')).json, { type: 'pong' });
	c.close();
});

s.test('unsubscribe → unsubscribed with channel and channelKey', async () => {
	const c = await U('u9');
	const ch = { type: 'post', postId: '78' };
	await lib.subscribe(c, ch);
	c.send({ type: 'unsubscribe', channel: ch });
	const m = await c.next(5000, 'reply to unsubscribe');
	assert.deepStrictEqual(m.json, { type: 'unsubscribed', data: { channel: ch, channelKey: 'post_78' } });
	c.close();
});

s.test('ping → {"type":"pong"}', async () => {
	const c = await U('u10');
	c.send({ type: 'ping' });
	const m = await c.next(5000, 'pong');
	assert.deepStrictEqual(m.json, { type: 'pong' });
	c.close();
});

s.test('invalid JSON → {"type":"error","data":{"message":"Invalid message format"}}, socket stays open', async () => {
	const c = await U('u11');
	c.send('this is {not json');
	const m = await c.next(5000, 'the error reply');
	assert.deepStrictEqual(m.json, { type: 'error', data: { message: 'Invalid message format' } });
	c.send({ type: 'ping' });
	assert.deepStrictEqual((await c.next(5000, 'pong after bad JSON')).json, { type: 'pong' });
	assert.ok(c.isOpen());
	c.close();
});

s.test('unknown message type is ignored (no reply, socket open)', async () => {
	const c = await U('u12');
	c.send({ type: 'hello', data: { x: 1 } });
	c.send({ type: 'ping' });
	const m = await c.next(5000, 'the next reply');
	assert.deepStrictEqual(m.json, { type: 'pong' }, 'the unknown type got a reply: ' + m.text);
	assert.ok(c.isOpen());
	c.close();
});

s.test('frames sent in the open handler, before the welcome, are not lost', async () => {
	const ch = { type: 'post', postId: '79' };
	const c = new lib.Client(lib.url(w.url, lib.token(lib.SECRET, 'u13')), {
		onOpen: (cl) => { cl.send({ type: 'subscribe', channel: ch }); cl.send({ type: 'ping' }); },
	});
	await c.waitOpen();
	await c.expect((j) => j && j.type === 'connected', 'the welcome');
	c.cursor = 0;
	await c.expect((j) => j && j.type === 'subscribed' && j.data.channelKey === 'post_79', 'subscribed post_79');
	c.cursor = 0;
	await c.expect((j) => j && j.type === 'pong', 'pong');
	const text = JSON.stringify({ type: 'post_liked', data: { postId: '79' } });
	await lib.waitFor(async () => (await lib.numsub(redis, 'post_79')) > 0, 5000, 'ws:post_79 subscribed on Redis');
	await lib.publish(redis, 'post_79', text);
	await c.expect((j, t) => t === text, 'the event');
	c.close();
});

s.test('one user with two sockets: both stay open and both receive an event', async () => {
	const a = await U('u14');
	const b = await U('u14');
	const ch = { type: 'notifications', userId: 'u14' };
	await lib.subscribe(a, ch);
	await lib.subscribe(b, ch);
	const text = JSON.stringify({ type: 'new_notification', data: { id: 'n1', text: 'hi' } });
	await lib.publish(redis, 'notifications_u14', text);
	await a.expect((j, t) => t === text, 'event on the first socket');
	await b.expect((j, t) => t === text, 'event on the second socket');
	assert.ok(a.isOpen() && b.isOpen(), 'a socket was closed: ' + JSON.stringify([a.closed, b.closed]));
	a.close(); b.close();
});

s.test('events reach only subscribers: notifications_U only to U; post/creator to anyone subscribed', async () => {
	const u = await U('u15');
	const other = await U('u16');
	await lib.subscribe(u, { type: 'notifications', userId: 'u15' });
	other.send({ type: 'subscribe', channel: { type: 'notifications', userId: 'u15' } });
	await other.expect((j) => j && j.type === 'error', 'denial for another user\'s notifications');
	await lib.subscribe(u, { type: 'creator', id: 'cr1' });
	await lib.subscribe(other, { type: 'creator', id: 'cr1' });
	const n = JSON.stringify({ type: 'new_notification', data: { id: 'n2' } });
	await lib.publish(redis, 'notifications_u15', n);
	await sentinel([u, other], 'creator_cr1');
	assert.ok(u.texts(0).includes(n), 'U did not receive its notification');
	assert.ok(!other.texts(0).includes(n), 'another user received U\'s notification');
	const e = JSON.stringify({ type: 'creator_post', data: { creatorId: 'cr1' } });
	await lib.publish(redis, 'creator_cr1', e);
	await u.expect((j, t) => t === e, 'creator event for U');
	await other.expect((j, t) => t === e, 'creator event for the other user');
	u.close(); other.close();
});

s.test('an unsubscribed socket and a never-subscribed socket receive nothing', async () => {
	const a = await U('u17');
	const b = await U('u18');
	const never = await U('u19');
	await lib.subscribe(a, { type: 'post', postId: '80' });
	await lib.subscribe(a, { type: 'post', postId: '81' });
	await lib.subscribe(b, { type: 'post', postId: '80' });
	await lib.subscribe(never, { type: 'post', postId: '81' });
	a.send({ type: 'unsubscribe', channel: { type: 'post', postId: '80' } });
	await a.expect((j) => j && j.type === 'unsubscribed', 'unsubscribed');
	const from = a.msgs.length;
	const e = JSON.stringify({ type: 'post_liked', data: { postId: '80', likesCount: 1 } });
	await lib.publish(redis, 'post_80', e);
	await b.expect((j, t) => t === e, 'the event on the still-subscribed socket');
	await sentinel([a, never], 'post_81');
	assert.ok(!a.texts(from).includes(e), 'unsubscribed socket received ' + e);
	assert.ok(!never.texts(0).includes(e), 'never-subscribed socket received ' + e);
	a.close(); b.close(); never.close();
});

s.test('the worker SUBSCRIBEs ws:<key> on the first local subscriber and UNSUBSCRIBEs after the last leaves', async () => {
	const key = 'post_82';
	assert.strictEqual(await lib.numsub(redis, key), 0);
	const a = await U('u20');
	const b = await U('u21');
	await lib.subscribe(a, { type: 'post', postId: '82' });
	await lib.waitFor(async () => (await lib.numsub(redis, key)) === 1, 5000, 'NUMSUB ws:post_82 = 1');
	await lib.subscribe(b, { type: 'post', postId: '82' });
	a.send({ type: 'unsubscribe', channel: { type: 'post', postId: '82' } });
	await a.expect((j) => j && j.type === 'unsubscribed', 'unsubscribed');
	assert.strictEqual(await lib.numsub(redis, key), 1, 'Redis subscription dropped while a local subscriber remains');
	b.close();	// the last subscriber leaves by closing its socket
	await lib.waitFor(async () => (await lib.numsub(redis, key)) === 0, 5000, 'NUMSUB ws:post_82 back to 0 after the last subscriber left');
	const pats = await lib.redisCmd(redis, ['PUBSUB', 'NUMPAT']);
	assert.strictEqual(pats, 0, 'the worker holds pattern subscriptions (SPEC §4.6: no literal ws:*)');
	a.close();
});

s.test('an event is delivered verbatim (same bytes, unicode and spacing kept)', async () => {
	const c = await U('u22');
	await lib.subscribe(c, { type: 'post', postId: '83' });
	const text = '{"type":"comment_added",  "data":{"postId":"83","text":"h\u00e9llo \u2713 \ud83d\ude00","n":1.50}}';
	await lib.publish(redis, 'post_83', text);
	const m = await c.expect((j) => j && j.type === 'comment_added', 'the event');
	assert.strictEqual(m.text, text);
	assert.strictEqual(m.binary, false, 'event sent as a binary frame');
	c.close();
});

s.test('a 60 KB event arrives intact', async () => {
	const c = await U('u23');
	await lib.subscribe(c, { type: 'post', postId: '84' });
	const big = require('crypto').randomBytes(45 * 1024).toString('base64');	// 61 440 chars
	const text = JSON.stringify({ type: 'post_updated', data: { postId: '84', blob: big } });
	assert.ok(text.length >= 60 * 1024);
	await lib.publish(redis, 'post_84', text);
	const m = await c.expect((j) => j && j.type === 'post_updated', 'the 60 KB event');
	assert.strictEqual(m.text.length, text.length);
	assert.ok(m.text === text, 'content differs');
	c.close();
});

s.test('100 events arrive complete and in order', async () => {
	const c = await U('u24');
	await lib.subscribe(c, { type: 'post', postId: '85' });
	const from = c.msgs.length;
	const sent = [];
	for (let i = 0; i < 100; i++) {
		const t = JSON.stringify({ type: 'post_liked', data: { postId: '85', seq: i } });
		sent.push(t);
		await lib.publish(redis, 'post_85', t);
	}
	await lib.waitFor(() => c.msgs.length - from >= 100, 10000, '100 events (got ' + (c.msgs.length - from) + ')');
	assert.deepStrictEqual(c.texts(from), sent);
	c.close();
});

s.test('userId claim is used, else sub (welcome names the user)', async () => {
	const now = lib.now();
	const a = new lib.Client(lib.url(w.url, lib.mintJws({ secret: lib.SECRET, header: { alg: 'HS256', typ: 'JWT' },
	    claims: { sub: 'only-sub', iat: now, exp: now + 600 } })));
	const ma = await a.expect((j) => j && j.type === 'connected', 'welcome (sub only)');
	assert.strictEqual(ma.json.data.userId, 'only-sub');
	const b = new lib.Client(lib.url(w.url, lib.mintJws({ secret: lib.SECRET, header: { alg: 'HS256', typ: 'JWT' },
	    claims: { userId: 'the-user', sub: 'the-sub', iat: now, exp: now + 600 } })));
	const mb = await b.expect((j) => j && j.type === 'connected', 'welcome (userId and sub)');
	assert.strictEqual(mb.json.data.userId, 'the-user');
	// and the channel rule follows that id
	await lib.subscribe(b, { type: 'notifications', userId: 'the-user' });
	b.send({ type: 'subscribe', channel: { type: 'notifications', userId: 'the-sub' } });
	await b.expect((j) => j && j.type === 'error' && j.data.message === 'Access denied to channel', 'denial for the sub id');
	a.close(); b.close();
});

s.test('numeric ids give the same keys as the Node server (postId 1 → post_1; userId 42 for user "42")', async () => {
	const c = await U('42');
	const p = { type: 'post', postId: 1 };
	c.send({ type: 'subscribe', channel: p });
	assert.deepStrictEqual((await c.next(5000, 'reply')).json, { type: 'subscribed', data: { channel: p, channelKey: 'post_1' } });
	const n = { type: 'notifications', userId: 42 };
	c.send({ type: 'subscribe', channel: n });
	assert.deepStrictEqual((await c.next(5000, 'reply')).json, { type: 'subscribed', data: { channel: n, channelKey: 'notifications_42' } });
	c.close();
});

s.test('malformed subscribe messages are denied and crash nothing (socket and worker stay up)', async () => {
	const c = await U('u25');
	// No key can be made from these: the "anything else → denied" row.
	const bad = [
		{ type: 'post' },			// no postId
		{ type: 'creator' },			// no id
		{ type: 'notifications' },		// no userId
		{ type: 'post', postId: { a: 1 } },
		{ type: 'post', postId: ['1'] },
		{ type: 7, postId: '1' },
		{},
		'post_1',
		null,
	];
	// Odd ids whose fate the SPEC leaves open: any reply will do, no crash.
	const odd = [{ type: 'post', postId: '' }, { type: 'post', postId: null }, { type: 'post', postId: 'x'.repeat(5000) },
	    { type: 'post', postId: 1.5 }, { type: 'post', postId: 'a b/c\u0000d' }];
	for (const ch of bad.concat(odd)) {
		c.send({ type: 'subscribe', channel: ch });
		c.send({ type: 'ping' });
		const replies = [];
		for (;;) {
			const m = await c.next(5000, 'the replies to subscribe ' + JSON.stringify(ch).slice(0, 60));
			if (m.json && m.json.type === 'pong') break;
			replies.push(m.json);
		}
		if (odd.includes(ch)) {
			lib.note('subscribe ' + JSON.stringify(ch).slice(0, 60) + ' → ' + JSON.stringify(replies).slice(0, 160));
			continue;
		}
		assert.ok(!replies.some((j) => j && j.type === 'subscribed'), 'accepted ' + JSON.stringify(ch).slice(0, 60) + ': ' + JSON.stringify(replies).slice(0, 200));
		assert.ok(replies.some((j) => j && j.type === 'error' && j.data && j.data.message === 'Access denied to channel'),
		    'no denial for ' + JSON.stringify(ch).slice(0, 60) + ': ' + JSON.stringify(replies).slice(0, 200));
	}
	for (const m of [{ type: 'subscribe' }, { type: 'unsubscribe' }, { type: 'subscribe', channel: { type: 'post', postId: '1' }, extra: [1, { x: null }] },
	    { type: null }, { type: 42 }, [], 42, 'null', '"str"', '{"type":"ping"', '']) {
		c.send(typeof m === 'string' ? m : JSON.stringify(m));
	}
	c.send({ type: 'ping' });
	await c.expect((j) => j && j.type === 'pong', 'pong after odd messages');
	assert.ok(c.isOpen(), 'socket closed: ' + JSON.stringify(c.closed));
	assert.strictEqual(w.proc.exitInfo, null, 'the worker died: ' + JSON.stringify(w.proc.exitInfo));
	c.close();
});

s.run();

// End to end in a real browser: Debian's chromium, headless, driven by npm
// playwright-core.  A page served from 127.0.0.1 opens `new WebSocket(url)`
// with a token, subscribes to post_1 when connected and writes what it
// receives into the DOM; the event is published with redis-cli.  If chromium
// cannot start here, the tests say so as `not ok` (never a silent skip).
'use strict';
const http = require('http');
const path = require('path');
const lib = require('./lib');
const { launchChromium } = require('./browser_lib');
const { assert } = lib;

const s = lib.suite();
let redis, w, server, httpPort, browser;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>wsd browser test</title></head>
<body>
<div id="state">init</div>
<div id="close"></div>
<ul id="events"></ul>
<script>
const params = new URLSearchParams(location.search);
const ws = new WebSocket(params.get('ws') + '/?token=' + encodeURIComponent(params.get('token')));
const state = document.getElementById('state');
ws.onopen = () => { state.textContent = 'open'; };
ws.onmessage = (ev) => {
	const m = JSON.parse(ev.data);
	if (m.type === 'connected') {
		state.textContent = 'connected:' + m.data.userId;
		ws.send(JSON.stringify({ type: 'subscribe', channel: { type: 'post', postId: '1' } }));
	} else if (m.type === 'subscribed') {
		state.textContent = 'subscribed:' + m.data.channelKey;
	} else {
		const li = document.createElement('li');
		li.textContent = ev.data;
		document.getElementById('events').appendChild(li);
	}
};
ws.onclose = (ev) => {
	const c = document.getElementById('close');
	c.textContent = ev.code + ' ' + ev.reason;
	c.setAttribute('data-closed', '1');
};
</script>
</body></html>`;

s.setup(async () => {
	redis = await lib.startRedis();
	w = await lib.startWorker({ redis });
	server = http.createServer((req, res) => {
		if (req.url.startsWith('/page')) {
			res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
			res.end(PAGE);
		} else {
			res.writeHead(404);
			res.end();
		}
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	httpPort = server.address().port;
	browser = await launchChromium();
});

function pageUrl(tok) {
	return 'http://127.0.0.1:' + httpPort + '/page?ws=' + encodeURIComponent(w.url) + '&token=' + encodeURIComponent(tok);
}

s.test('a browser page connects with a token, subscribes to post_1 and shows an event published with redis-cli', async () => {
	const page = await browser.newPage();
	try {
		await page.goto(pageUrl(lib.token(lib.SECRET, 'browser-user')));
		await page.waitForFunction(() => document.getElementById('state').textContent === 'subscribed:post_1', null, { timeout: 15000 })
		    .catch(async (e) => { throw new Error('page state ' + JSON.stringify(await page.textContent('#state')) + ' close ' +
		        JSON.stringify(await page.textContent('#close')) + ': ' + e.message.split('\n')[0]); });
		await lib.waitFor(async () => (await lib.numsub(redis, 'post_1')) === 1, 5000, 'ws:post_1 subscribed');
		const text = '{"type":"post_liked","data":{"postId":"1","likesCount":7,"by":"caf\u00e9"}}';
		assert.strictEqual(lib.redisCli(redis.port, ['PUBLISH', 'ws:post_1', text]), '1');
		await page.waitForSelector('#events li', { timeout: 10000 });
		assert.strictEqual(await page.textContent('#events li'), text);
	} finally {
		await page.close();
	}
}, { timeout: 40000 });

s.test('a browser with a bad token sees the socket closed with 1008 "Unauthorized"', async () => {
	const page = await browser.newPage();
	try {
		await page.goto(pageUrl(lib.token('not-the-secret-not-the-secret-xx', 'intruder')));
		await page.waitForSelector('#close[data-closed]', { timeout: 15000 });
		assert.strictEqual(await page.textContent('#close'), '1008 Unauthorized');
		assert.ok(!/^connected|^subscribed/.test(await page.textContent('#state')), 'the page was welcomed');
	} finally {
		await page.close();
	}
}, { timeout: 30000 });

s.teardown(async () => {
	if (browser) await browser.close();
	if (server) server.close();
});

s.run();

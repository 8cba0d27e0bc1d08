// clients/js/wsd-client.js in a real browser (Debian's chromium, headless,
// driven by npm playwright-core), loaded with a plain <script> tag: it
// connects with a token, subscribes with positions and, after a kill -9 of
// the worker it was on, reconnects to the other instance and resumes with
// `since`: every numbered event exactly once, in order.  If chromium cannot
// start here, the test says so as `not ok` (never a silent skip).
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const lib = require('./lib');
const { launchChromium } = require('./browser_lib');
const { assert } = lib;
const Redis = require('ioredis');
const { createPublisher } = require(path.join(lib.TOP, 'clients/node/publisher.js'));

const s = lib.suite();
let redis, rc, pub, server, httpPort, browser;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>wsd-client.js</title>
<script src="/wsd-client.js"></script></head>
<body><div id="n"></div><div id="resync"></div>
<script>
const params = new URLSearchParams(location.search);
window.got = [];
const c = new WsdClient({
	url: params.get('ws'), token: params.get('token'), backoffMin: 50, backoffMax: 500,
	onEvent: (ev) => { if (ev.type === 'num') { window.got.push(ev.data.n); document.getElementById('n').textContent = String(window.got.length); } },
	onResync: (key) => { document.getElementById('resync').textContent += key + ' '; },
});
c.subscribe({ type: 'post', postId: 'b1' });
window.wsd = c;
</script></body></html>`;

s.setup(async () => {
	redis = await lib.startRedis();
	rc = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: null });
	pub = createPublisher(rc);
	const helperJs = fs.readFileSync(path.join(lib.TOP, 'clients/js/wsd-client.js'));
	server = http.createServer((req, res) => {
		if (req.url.startsWith('/page')) {
			res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
			res.end(PAGE);
		} else if (req.url === '/wsd-client.js') {
			res.writeHead(200, { 'Content-Type': 'text/javascript' });
			res.end(helperJs);
		} else {
			res.writeHead(404);
			res.end();
		}
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	httpPort = server.address().port;
	browser = await launchChromium();
});

s.test('in chromium: the helper resumes after a kill -9 of its worker, every event once and in order', async () => {
	const a = await lib.startWorker({ redis });
	const page = await browser.newPage();
	let b;
	try {
		await page.goto('http://127.0.0.1:' + httpPort + '/page?ws=' + encodeURIComponent(a.url) +
		    '&token=' + encodeURIComponent(lib.token(lib.SECRET, 'browser-helper')));
		await lib.waitFor(async () => (await lib.numsub(redis, 'post_b1')) === 1, 15000, 'the page subscribed to post_b1');
		await page.waitForFunction(() => window.wsd.byKey.size === 1, null, { timeout: 15000 });
		b = await lib.startWorker({ redis, port: a.port });
		let n = 0;
		for (let i = 0; i < 20; i++) await pub.publish('post_b1', { type: 'num', data: { n: ++n } });
		await page.waitForFunction((k) => window.got.length >= k, 20, { timeout: 15000 });
		process.kill(a.pid, 'SIGKILL');
		for (let i = 0; i < 20; i++) await pub.publish('post_b1', { type: 'num', data: { n: ++n } });
		await page.waitForFunction((k) => window.got.length >= k, n, { timeout: 20000 })
		    .catch(async (e) => { throw new Error('got ' + JSON.stringify(await page.evaluate(() => window.got)) + ': ' + e.message.split('\n')[0]); });
		const got = await page.evaluate(() => window.got);
		const want = []; for (let i = 1; i <= n; i++) want.push(i);
		assert.deepStrictEqual(got, want);
		assert.strictEqual(await page.textContent('#resync'), '');
	} finally {
		await page.close();
		if (b) lib.killGroup(b.pid);
	}
}, { timeout: 60000 });

s.teardown(async () => {
	if (browser) await browser.close();
	if (server) server.close();
	rc.disconnect();
});

s.run();

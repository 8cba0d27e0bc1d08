// A reload under load, a make bench session (bench/run.sh): N clients on a
// running stack of 2 instances, each subscribed to one of C post channels
// through clients/js/wsd-client.js (positions, reconnect with backoff and
// full jitter, resubscribe with `since`), a publisher numbering the events
// of every channel at a steady total rate, and the reload command run in
// the middle.  Reported: reconnects per second at the peak (100 ms and 1 s
// buckets), the command's wall time, the window from the first close to
// the last client back, and per client the numbered events lost and
// doubled (a socket that never asked for history, the Node peer's, loses
// what was published while it was away).
//
//   node bench/reload.js --stack S --rep R --port P --redis-port RP \
//       --secret SECRET -n N [--channels C] [--rate EVENTS_PER_S] \
//       [--history] -- RELOAD_COMMAND…
//
// --history publishes through clients/node/publisher.js (the history
// script), else with a plain PUBLISH.  The clients run in child processes
// of at most PER_PROC each (one process may hold 20 000 open files here),
// PER_ADDR clients per 127.x.y.z source address (ephemeral ports).  Prints
// one result line ({"stack","rep","scenario","r"}) on stdout.
'use strict';
const child_process = require('child_process');
const crypto = require('crypto');

const PER_PROC = 2500;
const PER_ADDR = 50;		// clients per source address
const WINDOW = 100;		// connects in flight per client process
const TICK_MS = 10;		// publisher's clock
const SETTLE_MS = 1000;		// publishing before the reload and after the last client is back
const BACK_MS = 120000;		// at most this long for every client to come back
const TAIL_MS = 15000;		// for every client to get its channel's last event
// A connect that hangs (accepted into the backlog of a process on its way
// out) is given up after this long, as a browser gives up in the end;
// wsd-client.js then retries with its backoff.
const HANDSHAKE_MS = 10000;

function parseArgs(argv) {
	const o = { channels: 0, rate: 0, history: false, cmd: [] };
	const FLAGS = { '--stack': 'stack', '--rep': 'rep', '--port': 'port', '--redis-port': 'redisPort',
	    '--secret': 'secret', '-n': 'n', '--channels': 'channels', '--rate': 'rate' };
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === '--') { o.cmd = argv.slice(i + 1); break; }
		if (argv[i] === '--history') { o.history = true; continue; }
		const k = FLAGS[argv[i]];
		if (!k || i + 1 >= argv.length) throw new Error('reload: bad argument ' + argv[i]);
		o[k] = argv[++i];
	}
	for (const k of ['port', 'redisPort', 'n', 'channels', 'rate']) o[k] = Number(o[k]);
	if (!o.stack || !o.port || !o.redisPort || !o.secret || !o.n || !o.cmd.length)
		throw new Error('reload: --stack, --port, --redis-port, --secret, -n and a command are needed');
	if (!o.channels) o.channels = Math.max(1, Math.round(o.n / 100));
	if (!o.rate) o.rate = 2 * o.channels;
	return o;
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

async function until(fn, ms, what) {
	const end = Date.now() + ms;
	for (;;) {
		if (await fn()) return true;
		if (Date.now() > end) { process.stderr.write('reload: gave up waiting for ' + what + '\n'); return false; }
		await sleep(50);
	}
}

// ---------------------------------------------------------------- clients

// One client process: its share of the clients, answering the driver's
// questions over IPC ({q:'status'} / {q:'stats', last:[seq per channel]}).
// An HS256 token for user (as fonana's NextAuth JWTs): no dependency
// beyond ws and ioredis, so the tests can run this file too.
function token(secret, user) {
	const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
	const head = b64u({ alg: 'HS256', typ: 'JWT' });
	const body = b64u({ userId: user, sub: user, exp: Math.floor(Date.now() / 1000) + 3600 });
	const sig = crypto.createHmac('sha256', secret).update(head + '.' + body).digest('base64url');
	return head + '.' + body + '.' + sig;
}

// Client i's source address: PER_ADDR clients share one, as users behind
// one NAT do; real clients come from many addresses, and the server caps
// the requests in progress per address (WS_HANDSHAKE_PER_IP).
function srcAddr(i) {
	const a = Math.floor(i / PER_ADDR);
	return '127.' + (1 + Math.floor(a / 62500)) + '.' + (1 + Math.floor(a / 250) % 250) + '.' + (1 + a % 250);
}

function clientMain() {
	const WebSocket = require('ws');
	const WsdClient = require('../clients/js/wsd-client.js');
	let cs = [];
	process.on('disconnect', () => process.exit(0));	// the driver is gone
	process.on('message', async (m) => {
		if (m.q === 'start') {
			cs = await openAll(m, WebSocket, WsdClient);
			process.send({ a: 'ready' });
		} else if (m.q === 'status') {
			process.send({ a: 'status', up: cs.filter((c) => c.up).length,
			    cycled: cs.filter((c) => c.up && c.closes > 0).length });
		} else if (m.q === 'caught_up') {
			process.send({ a: 'caught_up', n: cs.filter((c) => !m.last[c.ch] || c.seen.has(m.last[c.ch])).length });
		} else if (m.q === 'stats') {
			process.send({ a: 'stats', ...stats(cs, m.last), why });
			for (const c of cs) c.client.close();
			setTimeout(() => process.exit(0), 100);
		}
	});
}

const why = { errors: {}, codes: {} };

async function openAll(m, WebSocket, WsdClient) {
	// wsd-client.js makes its sockets with `new WS(url)`: the source
	// address goes in through a subclass.
	// What ended each socket, for the report: the close codes and the
	// errors of connects that failed.
	const tally = (o, k) => { o[k] = (o[k] || 0) + 1; };
	const wsFrom = (src) => class WS extends WebSocket {
		constructor(u) {
			super(u, { localAddress: src, perMessageDeflate: false, handshakeTimeout: HANDSHAKE_MS });
			this.on('error', (e) => tally(why.errors, e.code || String(e.message).slice(0, 60)));
			this.on('close', (code) => tally(why.codes, code));
		}
	};
	const cs = [];
	let next = 0;
	const one = () => new Promise((resolve) => {
		const i = m.first + next++;
		const WS = wsFrom(srcAddr(i));
		const c = { ch: i % m.channels, up: false, closes: 0, seen: new Map(), resyncs: 0, back: [], closed: [] };
		const tok = token(m.secret, 'r' + i);
		c.client = new WsdClient({
			url: 'ws://127.0.0.1:' + m.port, token: tok, WebSocket: WS,
			onEvent: (ev) => {
				const s = ev && ev.data && ev.data.seq;
				if (ev.type === 'bench_seq' && s > 0) c.seen.set(s, (c.seen.get(s) || 0) + 1);
			},
			onResync: () => { c.resyncs++; },
			onMessage: (msg) => {
				if (msg.type === 'connected' && c.closes > 0) c.back.push(Date.now());
				if (msg.type === 'subscribed') {
					if (!c.up) { c.up = true; resolve(); }
				}
			},
			onState: (s) => {
				if (s === 'closed') { c.up = false; c.closes++; c.closed.push(Date.now()); }
			},
		});
		c.client.subscribe({ type: 'post', postId: 'rl' + c.ch });
		cs.push(c);
	});
	const lanes = [];
	for (let k = 0; k < Math.min(WINDOW, m.count); k++) {
		lanes.push((async () => { while (next < m.count) await one(); })());
	}
	await Promise.all(lanes);
	return cs;
}

function stats(cs, last) {
	const r = { clients: cs.length, lost: 0, doubled: 0, lost_max: 0, doubled_max: 0,
	    clients_lost: 0, clients_doubled: 0, resyncs: 0, not_back: 0, back: [], closed: [], outage: [] };
	for (const c of cs) {
		let lost = 0, doubled = 0;
		for (let s = 1; s <= last[c.ch]; s++) {
			const k = c.seen.get(s) || 0;
			if (k === 0) lost++;
			else doubled += k - 1;
		}
		r.lost += lost;
		r.doubled += doubled;
		r.lost_max = Math.max(r.lost_max, lost);
		r.doubled_max = Math.max(r.doubled_max, doubled);
		if (lost) r.clients_lost++;
		if (doubled) r.clients_doubled++;
		r.resyncs += c.resyncs;
		if (!c.up) r.not_back++;
		r.back.push(...c.back);
		r.closed.push(...c.closed);
		// its first close (by the server) to its last welcome
		if (c.back.length && c.closed.length) r.outage.push(c.back[c.back.length - 1] - c.closed[0]);
	}
	return r;
}

// ---------------------------------------------------------------- driver

function ask(kids, q, a) {
	return Promise.all(kids.map((k) => new Promise((resolve) => {
		const on = (m) => { if (m.a === a) { k.off('message', on); resolve(m); } };
		k.on('message', on);
		k.send(q);
	})));
}

// The steady publisher: rate events/s in total, channel after channel,
// each channel's events numbered from 1.
function publisher(o, send) {
	const seq = new Array(o.channels).fill(0);
	let ch = 0, owed = 0, failed = 0;
	const timer = setInterval(() => {
		owed += o.rate * TICK_MS / 1000;
		for (; owed >= 1; owed--) {
			const c = ch;
			ch = (ch + 1) % o.channels;
			seq[c]++;
			send(c, JSON.stringify({ type: 'bench_seq', data: { ch: c, seq: seq[c] } })).catch(() => { failed++; });
		}
	}, TICK_MS);
	return { stop: () => clearInterval(timer), seq, failed: () => failed };
}

function pct(xs, p) {
	const s = xs.slice().sort((a, b) => a - b);
	return s.length ? s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)] : null;
}

function peak(ts, bucketMs) {
	const b = new Map();
	for (const t of ts) {
		const k = Math.floor(t / bucketMs);
		b.set(k, (b.get(k) || 0) + 1);
	}
	let p = 0;
	for (const v of b.values()) p = Math.max(p, v);
	return p * 1000 / bucketMs;
}

function runCmd(cmd) {
	return new Promise((resolve) => {
		const t0 = Date.now();
		const p = child_process.spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
		p.on('exit', (code) => resolve({ code, t0, t1: Date.now() }));
		p.on('error', (e) => resolve({ code: -1, error: String(e), t0, t1: Date.now() }));
	});
}

async function driverMain(o) {
	const Redis = require('ioredis');
	const { createPublisher } = require('../clients/node/publisher.js');
	const rc = new Redis({ port: o.redisPort, host: '127.0.0.1' });
	const pub = o.history ? createPublisher(rc) : null;
	const send = (c, ev) => (pub ? pub.publish('post_rl' + c, ev) : rc.publish('ws:post_rl' + c, ev));
	// Every channel gets a position before the clients come, as a channel
	// with a past has (event 0: counted by nobody).
	for (let c = 0; c < o.channels; c++)
		await send(c, JSON.stringify({ type: 'bench_seq', data: { ch: c, seq: 0 } }));
	const kids = [];
	for (let first = 0, k = 0; first < o.n; first += PER_PROC, k++) {
		const kid = child_process.fork(__filename, ['--client'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
		kids.push(kid);
		kid.send({ q: 'start', port: o.port, secret: o.secret, channels: o.channels, first,
		    count: Math.min(PER_PROC, o.n - first) });
	}
	const r = { n: o.n, instances: 2, channels: o.channels, rate: o.rate, client_procs: kids.length, per_addr: PER_ADDR,
	    history: o.history, bucket_ms: 100 };
	try {
		await Promise.all(kids.map((k) => new Promise((resolve, reject) => {
			k.on('message', (m) => { if (m.a === 'ready') resolve(); });
			k.on('exit', (code) => reject(new Error('a client process exited (' + code + ') before it was ready')));
		})));
		const p = publisher(o, send);
		await sleep(SETTLE_MS);
		const cmd = await runCmd(o.cmd);
		r.cmd_code = cmd.code;
		r.cmd_ms = cmd.t1 - cmd.t0;
		const allBack = async () => {
			const s = await ask(kids, { q: 'status' }, 'status');
			return s.reduce((a, x) => a + x.cycled, 0) === o.n;
		};
		r.all_back = await until(allBack, BACK_MS, 'every client to be back');
		await sleep(SETTLE_MS);
		p.stop();
		r.publish_failed = p.failed();
		const last = p.seq.slice();
		r.events = last.reduce((a, x) => a + x, 0);
		await until(async () => (await ask(kids, { q: 'caught_up', last }, 'caught_up'))
		    .reduce((a, x) => a + x.n, 0) >= o.n, TAIL_MS, 'every client to get its last event');
		const st = await ask(kids, { q: 'stats', last }, 'stats');
		for (const k of ['lost', 'doubled', 'clients_lost', 'clients_doubled', 'resyncs', 'not_back'])
			r[k] = st.reduce((a, x) => a + x[k], 0);
		r.lost_max = Math.max(...st.map((x) => x.lost_max));
		r.doubled_max = Math.max(...st.map((x) => x.doubled_max));
		const back = [].concat(...st.map((x) => x.back));
		const closed = [].concat(...st.map((x) => x.closed));
		const outage = [].concat(...st.map((x) => x.outage));
		r.reconnects = back.length;
		// every close a client saw: the server's, and each failed attempt
		r.failed_attempts = closed.length - back.length - r.not_back;
		r.outage_p50_ms = pct(outage, 50);
		r.outage_p99_ms = pct(outage, 99);
		r.outage_max_ms = pct(outage, 100);
		r.connect_errors = {};
		r.close_codes = {};
		for (const x of st) {
			for (const [k, v] of Object.entries(x.why.errors)) r.connect_errors[k] = (r.connect_errors[k] || 0) + v;
			for (const [k, v] of Object.entries(x.why.codes)) r.close_codes[k] = (r.close_codes[k] || 0) + v;
		}
		r.peak_reconnects_per_s = peak(back, 100);
		r.peak_reconnects_per_s_1s = peak(back, 1000);
		if (closed.length && back.length)
			r.window_ms = Math.max(...back) - Math.min(...closed);
	} finally {
		rc.disconnect();
		for (const k of kids) k.kill('SIGKILL');
	}
	process.stdout.write(JSON.stringify({ stack: o.stack, rep: Number(o.rep || 1), scenario: 'reload_' + o.n, r }) + '\n');
}

if (process.argv[2] === '--client') {
	clientMain();
} else {
	driverMain(parseArgs(process.argv.slice(2))).then(() => process.exit(0),
	    (e) => { process.stderr.write('reload: ' + (e.stack || e) + '\n'); process.exit(1); });
}

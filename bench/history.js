// Channel history's cost, a make bench session (bench/run.sh):
// - worker CPU per delivery, N sockets on one channel, M events pipelined
//   50 at a time, for the servers fed the ways MODES lists: the worker
//   before history existed with a plain PUBLISH (the baseline), today's
//   worker with a plain PUBLISH (an app not changed), through the history
//   script (the publisher module) to sockets without positions and to
//   sockets with positions, and the Node peer;
// - redis-server CPU per publish: plain PUBLISH against the history script.
// CPU = the server process's on-CPU time (utime+stime, every thread) from
// the first publish to the last delivery, read from
// /proc/<pid>/task/*/schedstat in ns: /proc/<pid>/stat counts 10 ms ticks,
// too coarse for a 5 % target (its figure is in the raw lines too).  Each
// mode gets its own redis-server and server; the modes alternate within
// each repeat.
//
//   WSD_TOP=<tree> WSD_BINDIR=<programs> [PRE_BINDIR=<the baseline's programs>] \
//       node bench/history.js [SOCKETS [EVENTS [REPS]]]
//
// Without PRE_BINDIR the baseline is not run (report.py says so).  Prints
// one result line per run on stdout, in bench/run.sh's format
// ({"stack","rep","scenario","r"}), which bench/report.py renders.
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('../tests/bb/lib');
const Redis = require('ioredis');
const { createPublisher } = require('../clients/node/publisher.js');

const N = Number(process.argv[2] || 500);
const M = Number(process.argv[3] || 2000);
const REPS = Number(process.argv[4] || 3);
const PRE_BINDIR = process.env.PRE_BINDIR || '';
const PEER = path.join(__dirname, 'peer', 'server.js');
const BATCH = 50;
const WARMUP = 100;	// events before the measurement: first-touch costs
const CHANNEL = { type: 'post', postId: 'bench' };
const KEY = 'post_bench';

// stack: the report's column; server: which program; publish: plain
// PUBLISH or the publisher module; recover: sockets ask for positions.
const MODES = [
	{ scenario: 'hist_fanout_pre', stack: 'pre', server: 'pre', publish: 'plain', recover: false },
	{ scenario: 'hist_fanout_legacy', stack: 'wsd', server: 'wsd', publish: 'plain', recover: false },
	{ scenario: 'hist_fanout_plain', stack: 'wsd', server: 'wsd', publish: 'history', recover: false },
	{ scenario: 'hist_fanout_positions', stack: 'wsd', server: 'wsd', publish: 'history', recover: true },
	{ scenario: 'hist_fanout_node', stack: 'node', server: 'node', publish: 'plain', recover: false },
];

const CLK_TCK = 100;	// USER_HZ on Linux
function tickMs(pid) {
	const f = fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ');
	return (Number(f[11]) + Number(f[12])) * 1000 / CLK_TCK;
}
// A thread that exited in between takes its time with it: the servers
// here keep theirs for their whole life.
function cpuMs(pid) {
	let ns = 0;
	for (const t of fs.readdirSync('/proc/' + pid + '/task')) {
		try { ns += Number(fs.readFileSync('/proc/' + pid + '/task/' + t + '/schedstat', 'utf8').split(' ')[0]); } catch (e) { /* gone */ }
	}
	return ns / 1e6;
}

function workerCmd(bindir) { return [path.join(bindir, 'wsworker'), []]; }
const SERVERS = {
	pre: () => workerCmd(PRE_BINDIR),
	wsd: () => workerCmd(lib.BIN),
	node: () => [process.execPath, [PEER]],
};

async function startServer(kind, redis) {
	const port = await lib.freePort();
	const [cmd, args] = SERVERS[kind]();
	const env = lib.cleanEnv({
		WS_PORT: String(port), WS_HOST: '127.0.0.1', NEXTAUTH_SECRET: lib.SECRET,
		WS_API_KEY: lib.API_KEY, LOG_LEVEL: 'warn', WS_RULE_POST: 'public',
		REDIS_URL: 'redis://127.0.0.1:' + redis.port,
	});
	const proc = lib.spawnTracked(cmd, args, { env, logName: 'hist-' + kind + '-' + port });
	await lib.waitFor(async () => {
		if (proc.exitInfo) throw lib.fatal(kind + ' exited ' + JSON.stringify(proc.exitInfo) + '\n' + lib.tail(proc.logErr(), 10));
		return (await lib.httpGet(port, '/health').catch(() => ({}))).status === 200;
	}, 20000, kind + ' /health 200 on ' + port);
	return { pid: proc.pid, url: 'ws://127.0.0.1:' + port };
}

// N sockets subscribed to CHANNEL; counts every other message.
async function subscribeAll(url, recover) {
	const st = { got: 0, socks: [] };
	const sub = JSON.stringify({ type: 'subscribe', channel: CHANNEL, ...(recover ? { recover: true } : {}) });
	for (let i = 0; i < N; i++) {
		const c = new lib.WebSocket(lib.url(url, lib.token(lib.SECRET, 'b' + i)), { perMessageDeflate: false });
		// The welcome may come in the same read as the handshake: listen first.
		await new Promise((res, rej) => {
			c.on('error', rej);
			c.on('message', (d) => {
				const t = d.toString();
				if (t.startsWith('{"type":"connected"')) c.send(sub);
				else if (t.startsWith('{"type":"subscribed"')) res();
				else st.got++;
			});
		});
		st.socks.push(c);
	}
	return st;
}

async function publishAll(mode, rc, pub, count) {
	const ev = JSON.stringify({ type: 'post_liked', data: { postId: 'bench', likesCount: 3, by: 'someone' } });
	// Pipelined in batches, so both kinds arrive at the server as bursts
	// (a slower publisher would otherwise mean fewer events per write).
	for (let i = 0; i < count; i += BATCH) {
		const batch = [];
		for (let j = i; j < Math.min(count, i + BATCH); j++)
			batch.push(mode.publish === 'plain' ? rc.publish('ws:' + KEY, ev) : pub.publish(KEY, ev));
		await Promise.all(batch);
	}
}

async function run(mode) {
	const redis = await lib.startRedis();
	const srv = await startServer(mode.server, redis);
	const rc = new Redis({ port: redis.port, host: '127.0.0.1' });
	const pub = createPublisher(rc);
	try {
		const st = await subscribeAll(srv.url, mode.recover);
		await lib.waitFor(async () => await lib.numsub(redis, KEY) >= 1, 10000, 'the server subscribed to ws:' + KEY);
		await publishAll(mode, rc, pub, WARMUP);
		await lib.waitFor(() => st.got >= N * WARMUP, 60000, 'warm-up deliveries');
		const base = st.got;
		const w0 = cpuMs(srv.pid), r0 = cpuMs(redis.pid), t0 = tickMs(srv.pid);
		await publishAll(mode, rc, pub, M);
		await lib.waitFor(() => st.got - base >= N * M, 300000, 'deliveries');
		const w1 = cpuMs(srv.pid), r1 = cpuMs(redis.pid), t1 = tickMs(srv.pid);
		for (const c of st.socks) c.terminate();
		const deliveries = st.got - base;
		return {
			sockets: N, events: M, deliveries, server_cpu_ms: w1 - w0, redis_cpu_ms: r1 - r0,
			server_stat_ms: t1 - t0,
			// ms per 1000 deliveries (= µs per delivery), ms per 1000 publishes
			cpu_ms_per_1k_deliveries: (w1 - w0) * 1000 / deliveries,
			redis_ms_per_1k_publishes: (r1 - r0) * 1000 / M,
			publish: mode.publish, positions: mode.recover,
		};
	} finally {
		rc.disconnect();
		lib.killGroup(srv.pid);
		await redis.kill();
	}
}

(async () => {
	const modes = MODES.filter((m) => m.server !== 'pre' || PRE_BINDIR);
	for (let rep = 1; rep <= REPS; rep++) {
		// Alternate the order, so that no mode always runs first.
		const order = rep % 2 ? modes : modes.slice().reverse();
		for (const mode of order) {
			const r = await run(mode);
			process.stdout.write(JSON.stringify({ stack: mode.stack, rep, scenario: mode.scenario, r }) + '\n');
		}
	}
	process.exit(0);
})().catch((e) => { process.stderr.write('history: ' + (e.stack || e) + '\n'); process.exit(1); });

// Quick figures for channel history (not part of make bench):
//   node bench/history.js [BINDIR]      (WSD_BINDIR/WSD_TOP as for the tests)
// - worker CPU per 1000 deliveries, N sockets on one channel: events
//   published with a plain PUBLISH, through the history script to plain
//   sockets, and through it to sockets that asked for positions;
// - redis-server CPU per publish: PUBLISH against the history script.
// CPU is utime+stime from /proc; each figure is the median of REPS runs.
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('../tests/bb/lib');
const Redis = require('ioredis');
const { createPublisher } = require('../clients/node/publisher.js');

const N = Number(process.env.HB_CONNS || 500);
const M = Number(process.env.HB_EVENTS || 2000);
const REPS = Number(process.env.HB_REPS || 3);

function cpuMs(pid) {
	const f = fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ');
	return (Number(f[11]) + Number(f[12])) * 1000 / 100;	// USER_HZ 100
}
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function run(mode) {
	const redis = await lib.startRedis();
	const w = await lib.startWorker({ redis });
	const rc = new Redis({ port: redis.port, host: '127.0.0.1' });
	const pub = createPublisher(rc);
	const cs = [];
	let got = 0;
	for (let i = 0; i < N; i++) {
		const c = new lib.WebSocket(lib.url(w.url, lib.token(lib.SECRET, 'b' + i)));
		const sub = { type: 'subscribe', channel: { type: 'post', postId: 'bench' } };
		if (mode === 'positions') sub.recover = true;
		// The welcome may come in the same read as the handshake: listen first.
		await new Promise((res, rej) => {
			c.on('error', rej);
			c.on('message', (d) => {
				const t = d.toString();
				if (t.startsWith('{"type":"connected"')) c.send(JSON.stringify(sub));
				else if (t.startsWith('{"type":"subscribed"')) res();
				else got++;
			});
		});
		cs.push(c);
	}
	const ev = JSON.stringify({ type: 'post_liked', data: { postId: 'bench', likesCount: 3, by: 'someone' } });
	const w0 = cpuMs(w.pid), r0 = cpuMs(redis.pid);
	// Pipelined in batches, so both kinds arrive at the worker as bursts
	// (a slower publisher would otherwise mean fewer events per write).
	for (let i = 0; i < M; i += 50) {
		const batch = [];
		for (let j = i; j < Math.min(M, i + 50); j++)
			batch.push(mode === 'plain-publish' ? rc.publish('ws:post_bench', ev) : pub.publish('post_bench', ev));
		await Promise.all(batch);
	}
	await lib.waitFor(() => got >= N * M, 120000, 'deliveries');
	const w1 = cpuMs(w.pid), r1 = cpuMs(redis.pid);
	for (const c of cs) c.terminate();
	rc.disconnect();
	lib.killGroup(w.pid);
	await redis.kill();
	return { worker: (w1 - w0) * 1000 / (N * M), redis: (r1 - r0) * 1000 / M };
}

(async () => {
	const rows = {};
	for (let r = 0; r < REPS; r++) {
		for (const mode of ['plain-publish', 'history-plain', 'positions']) {
			const x = await run(mode);
			(rows[mode] = rows[mode] || []).push(x);
		}
	}
	console.log('| mode (' + N + ' sockets, ' + M + ' events, median of ' + REPS + ') | worker CPU µs per delivery | redis CPU µs per publish |');
	console.log('|---|---|---|');
	for (const [mode, xs] of Object.entries(rows))
		console.log('| ' + mode + ' | ' + median(xs.map((x) => x.worker)).toFixed(3) + ' | ' + median(xs.map((x) => x.redis)).toFixed(1) + ' |');
	process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });

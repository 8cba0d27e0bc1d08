// The database channel rule under load: subscribes per second to a locked
// post with fonana's post rule, cold (every (user, post) pair asked of
// PostgreSQL) and warm (answered from the worker's cache), with latency
// percentiles; against the ceiling of one query per subscribe: pgbench
// running the very statement the worker prepared (read from its start log),
// prepared, with as many connections as the worker's pool.
//
//   WSD_TOP=<tree> WSD_BINDIR=<programs> [PG_POOL=2] node bench/pgrules.js [USERS [WINDOW [REPS]]]
//
// A private postgres (tests/bb/pg_lib.js) seeded with fonana's tables and
// USERS users (half with a COMPLETED subscription to the post's creator);
// one wsworker with DATABASE_URL (WS_DB_POOL = PG_POOL, default 2); USERS
// connections, one per user; each pass keeps WINDOW subscribes in flight.
// Prints one result line per figure on stdout, in bench/run.sh's format
// ({"stack","rep","scenario","r"}), which bench/report.py renders.
'use strict';
const child_process = require('child_process');
const fs = require('fs');
const path = require('path');
const lib = require('../tests/bb/lib');
const pglib = require('../tests/bb/pg_lib');

const USERS = Number(process.argv[2] || 2000);
const WINDOW = Number(process.argv[3] || 64);
const REPS = Number(process.argv[4] || 3);
const POOL = Number(process.env.PG_POOL || 2);
const POST = 'p_locked';

function pct(xs, p) {
	const s = xs.slice().sort((a, b) => a - b);
	return s.length ? s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)] : null;
}

function connect(url, user) {
	return new Promise((resolve, reject) => {
		const ws = new lib.WebSocket(url + '/?token=' + encodeURIComponent(lib.token(lib.SECRET, user)),
		    { perMessageDeflate: false });
		ws.once('message', () => resolve(ws));	// the welcome
		ws.once('error', reject);
	});
}

// One pass: every socket subscribes (or unsubscribes) once, WINDOW at a time.
function pass(socks, type) {
	return new Promise((resolve) => {
		const lat = [];
		const replies = {};
		let next = 0, done = 0;
		const t0 = process.hrtime.bigint();
		const send = () => {
			if (next >= socks.length) return;
			const ws = socks[next++];
			const t = process.hrtime.bigint();
			ws.once('message', (m) => {
				lat.push(Number(process.hrtime.bigint() - t) / 1e6);
				const j = JSON.parse(m);
				const k = j.type === 'error' ? j.data.message : j.type;
				replies[k] = (replies[k] || 0) + 1;
				if (++done === socks.length) {
					const s = Number(process.hrtime.bigint() - t0) / 1e9;
					resolve({ n: done, per_s: done / s, p50_ms: pct(lat, 50), p99_ms: pct(lat, 99), replies });
				} else {
					send();
				}
			});
			ws.send(JSON.stringify({ type, channel: { type: 'post', postId: POST } }));
		};
		for (let i = 0; i < WINDOW; i++) send();
	});
}

// On-CPU ns of every thread of pid (schedstat): not skewed by other load.
function cpuNs(pid) {
	let t = 0;
	for (const task of fs.readdirSync('/proc/' + pid + '/task')) {
		t += Number(fs.readFileSync('/proc/' + pid + '/task/' + task + '/schedstat', 'utf8').split(' ')[0]);
	}
	return t;
}

function metric(text, name) {
	return lib.parseMetrics(text)[name];
}

async function main() {
	const pg = await pglib.startPostgres();
	pg.psql(fs.readFileSync(path.join(lib.TOP, 'tests', 'fixtures', 'fonana-db.sql'), 'utf8'));
	pg.psql(`INSERT INTO users (id) SELECT 'b' || i FROM generate_series(0, ${USERS - 1}) i;
	    INSERT INTO subscriptions (id, "userId", "creatorId", "isActive", "paymentStatus")
	    SELECT 'bs' || i, 'b' || i, 'creator1', true, 'COMPLETED' FROM generate_series(0, ${USERS - 1}, 2) i;
	    ANALYZE;`);
	const version = pg.psql('SHOW server_version').trim();
	const out = [];
	const emit = (stack, scenario, rep, r) => {
		const o = { stack, rep, scenario, r };
		out.push(o);
		process.stdout.write(JSON.stringify(o) + '\n');
	};
	for (let rep = 1; rep <= REPS; rep++) {
		const w = await lib.startWorker({ env: { DATABASE_URL: pg.url, WS_RULE_POST: undefined, LOG_LEVEL: 'info',
		    WS_DB_POOL: String(POOL), WS_RULES_CACHE_MS: '600000', WS_PING_INTERVAL_MS: '0' } });
		await lib.waitFor(async () => JSON.parse((await lib.httpGet(w.port, '/health')).body).database === 'up',
		    20000, 'the database link');
		const socks = [];
		for (let i = 0; i < USERS; i++) socks.push(await connect(w.url, 'b' + i));
		let c0 = cpuNs(w.pid);
		const cold = await pass(socks, 'subscribe');
		cold.worker_cpu_us = (cpuNs(w.pid) - c0) / 1e3 / cold.n;
		const m1 = (await lib.httpGet(w.port, '/metrics')).body;
		await pass(socks, 'unsubscribe');
		c0 = cpuNs(w.pid);
		const warm = await pass(socks, 'subscribe');
		warm.worker_cpu_us = (cpuNs(w.pid) - c0) / 1e3 / warm.n;
		const m2 = (await lib.httpGet(w.port, '/metrics')).body;
		emit('wsd', 'pg_subscribe_cold', rep, { ...cold, users: USERS, window: WINDOW, pool: POOL, pg_version: version,
		    queries: metric(m1, 'ws_db_queries_total') });
		emit('wsd', 'pg_subscribe_warm', rep, { ...warm, users: USERS, window: WINDOW, pool: POOL,
		    queries: metric(m2, 'ws_db_queries_total') - metric(m1, 'ws_db_queries_total'),
		    cache_hits: metric(m2, 'ws_rules_cache_hits_total') });
		// the statement the worker prepared, as pgbench's script
		const line = w.logs().split('\n').find((l) => l.includes('"channel":"post"') && l.includes('"sql"'));
		const sql = JSON.parse(line).sql;
		for (const s of socks) s.terminate();
		w.proc.kill('SIGTERM');
		await w.proc.exited;
		const script = path.join(pg.dir, 'rule.sql');
		fs.writeFileSync(script, `\\set n random(0, ${USERS - 1})\n` +
		    sql.replace(/\$1/g, "('b' || :n)").replace(/\$2/g, "'" + POST + "'") + ';\n');
		const logp = path.join(lib.T, 'pgb' + rep);
		fs.mkdirSync(logp);
		const r = child_process.execFileSync(path.join(pglib.PG_BIN, 'pgbench'), ['-h', '127.0.0.1', '-p', String(pg.port),
		    '-U', 'postgres', '-n', '-M', 'prepared', '-c', String(POOL), '-j', String(POOL), '-T', '3',
		    '-f', script, '-l', '--log-prefix', path.join(logp, 'log'), 'postgres'], { encoding: 'utf8', cwd: logp });
		const tps = Number(/tps = ([0-9.]+)/.exec(r)[1]);
		const lat = [];
		for (const f of fs.readdirSync(logp)) {
			for (const l of fs.readFileSync(path.join(logp, f), 'utf8').split('\n')) {
				const x = l.split(' ');
				if (x.length >= 3) lat.push(Number(x[2]) / 1000);
			}
		}
		emit('pgbench', 'pg_query_ceiling', rep, { n: lat.length, per_s: tps, clients: POOL,
		    p50_ms: pct(lat, 50), p99_ms: pct(lat, 99) });
	}
	await pg.stop();
	return out;
}

main().then(() => process.exit(0), (e) => { process.stderr.write('pgrules: ' + (e.stack || e) + '\n'); process.exit(1); });

// A private PostgreSQL server for the black-box tests: initdb in the test's
// temp folder, postgres on a free port on 127.0.0.1 with its unix socket in
// that folder, run as an unprivileged user when we are root (postgres
// refuses to run as root), stopped and started again at will.
'use strict';
const child_process = require('child_process');
const fs = require('fs');
const path = require('path');
const lib = require('./lib');

const PG_BIN = process.env.PG_BINDIR || '/usr/lib/postgresql/15/bin';
const PG_USER = process.env.WSD_TEST_PG_USER || 'nobody';
const asRoot = process.getuid() === 0;

function asUser(cmd, args) {
	return asRoot ? { cmd: 'runuser', args: ['-u', PG_USER, '--', cmd].concat(args) } : { cmd, args };
}

function pgBin(name) { return path.join(PG_BIN, name); }

// psql as the superuser over TCP (trust): the -At output.
function psqlAt(port, sql) {
	return child_process.execFileSync(pgBin('psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres',
	    '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql],
	    { encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '5' } });
}

async function startPostgres() {
	const port = await lib.freePort();
	// the user must reach its folder: T becomes traversable, not listable
	fs.chmodSync(lib.T, 0o711);
	const dir = path.join(lib.T, 'pg-' + port);
	const data = path.join(dir, 'data');
	fs.mkdirSync(dir, { mode: 0o700 });
	if (asRoot) {
		const id = child_process.execFileSync('id', ['-u', PG_USER], { encoding: 'utf8' }).trim();
		const gid = child_process.execFileSync('id', ['-g', PG_USER], { encoding: 'utf8' }).trim();
		fs.chownSync(dir, Number(id), Number(gid));
	}
	const init = asUser(pgBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8',
	    '--no-sync', '--locale=C']);
	child_process.execFileSync(init.cmd, init.args, { stdio: 'ignore', timeout: 120000, cwd: dir });
	const pg = { port, dir, data, proc: null, gen: 0 };
	pg.url = 'postgresql://postgres@127.0.0.1:' + port + '/postgres';
	pg.psql = (sql) => psqlAt(port, sql);
	pg.start = async () => {
		const run = asUser(pgBin('postgres'), ['-D', data, '-p', String(port), '-k', dir,
		    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off',
		    '-c', 'synchronous_commit=off', '-c', 'max_connections=200']);
		pg.proc = lib.spawnTracked(run.cmd, run.args, { logName: 'postgres-' + port + '-' + (++pg.gen), cwd: dir });
		await lib.waitFor(() => {
			if (pg.proc.exitInfo) throw lib.fatal('postgres exited: ' + lib.tail(pg.proc.logErr(), 10));
			try { return psqlAt(port, 'SELECT 1').trim() === '1'; } catch (e) { return false; }
		}, 60000, 'postgres on ' + port);
	};
	// A fast shutdown (SIGINT to the postmaster): clients are cut at once.
	pg.stop = async () => {
		if (!pg.proc || pg.proc.exitInfo) return;
		const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
		try { process.kill(pid, 'SIGINT'); } catch (e) { /* gone */ }
		await lib.withTimeout(pg.proc.exited, 30000, 'postgres to stop');
	};
	await pg.start();
	return pg;
}

// A psql session that holds an advisory lock until released: queries that
// take the same lock (shared) wait for it, as long as the test wants.
async function holdLock(pg, key) {
	const p = child_process.spawn(pgBin('psql'), ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres',
	    '-d', 'postgres', '-qAt'], { stdio: ['pipe', 'pipe', 'pipe'] });
	let out = '';
	p.stdout.on('data', (d) => { out += d; });
	p.stdin.write('SELECT pg_advisory_lock(' + key + '); SELECT \'held\';\n');
	await lib.waitFor(() => out.includes('held'), 10000, 'the advisory lock');
	const exited = new Promise((r) => p.on('exit', r));
	process.on('exit', () => { try { p.kill('SIGKILL'); } catch (e) { /* gone */ } });
	let released = false;
	return {
		// idempotent: tests release in `finally`
		release: async () => {
			if (!released) p.stdin.end('SELECT pg_advisory_unlock(' + key + ');\n\\q\n');
			released = true;
			await exited;
		},
	};
}

module.exports = { startPostgres, holdLock, PG_BIN };

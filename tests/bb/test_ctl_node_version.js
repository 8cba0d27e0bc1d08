// jlist's pm2_env.node_version (issue 12): the version of the node that
// runs a node app, as PM2 gives it ("20.11.1", from `node --version` of
// the app's interpreter, asked once without blocking the daemon), and
// null for an app that node does not run.
'use strict';
const child_process = require('child_process');
const fs = require('fs');
const path = require('path');
const lib = require('./lib');
const { assert } = lib;

const s = lib.suite();
let d;

s.setup(async () => {
	const dir = path.join(lib.T, 'app');
	fs.mkdirSync(dir);
	fs.writeFileSync(path.join(dir, 'server.js'), 'setInterval(() => {}, 1000);\n');
	const eco = path.join(lib.T, 'eco.json');
	fs.writeFileSync(eco, JSON.stringify({ apps: [
		{ name: 'nodeapp', script: 'server.js', cwd: dir },
		{ name: 'sleeper', script: '/bin/sleep', args: ['600'] },
	] }));
	d = await lib.startWsdFile(eco, { online: { nodeapp: 1, sleeper: 1 } });
});

s.test('jlist: node_version of the node app, null for the other', async () => {
	const env = lib.cleanEnv();
	const want = child_process.execFileSync('node', ['--version'], { env, encoding: 'utf8' }).trim().replace(/^v/, '');
	let last;
	await lib.waitFor(async () => {
		const r = await lib.wsctlAsync(['jlist']);
		assert.strictEqual(r.status, 0, 'jlist: ' + r.stderr);
		last = JSON.parse(r.stdout);
		const n = last.find((p) => p.name === 'nodeapp');
		return n && n.pm2_env.node_version !== null;
	}, 15000, () => 'a node_version for nodeapp (last ' + JSON.stringify(last && last.map((p) => [p.name, p.pm2_env.node_version])) + ')');
	const n = last.find((p) => p.name === 'nodeapp');
	const o = last.find((p) => p.name === 'sleeper');
	assert.strictEqual(n.pm2_env.node_version, want);
	assert.strictEqual(n.pm2_env.exec_interpreter, 'node');
	assert.strictEqual(o.pm2_env.node_version, null);
	assert.strictEqual(o.pm2_env.exec_interpreter, 'none');
});

s.run();

// The pm2 API's list() as PM2 tools call it, answered by `wsctl jlist`
// (WSD_BINDIR/wsctl, else the one on PATH; WSD_HOME picks the daemon), so
// that a tool from npm (pm2-prometheus-exporter) is fed by wsd unchanged.
'use strict';

const child_process = require('child_process');
const path = require('path');

const wsctl = process.env.WSD_BINDIR ? path.join(process.env.WSD_BINDIR, 'wsctl') : 'wsctl';

function list(args, cb) {
	if (typeof args === 'function') cb = args;
	child_process.execFile(wsctl, ['jlist'], { encoding: 'utf8' }, (err, stdout, stderr) => {
		if (err) return cb(new Error('wsctl jlist: ' + (stderr || err.message).trim()));
		let l;
		try { l = JSON.parse(stdout); } catch (e) { return cb(e); }
		cb(null, l);
	});
}

function connect(a, cb) { (typeof a === 'function' ? a : cb)(null); }
function disconnect(cb) { if (cb) cb(); }

module.exports = { list, connect, disconnect };

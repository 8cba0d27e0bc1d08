// wsd publisher for Node applications: call publish() instead of
// redis.publish('ws:' + key, json).  Each event is appended to the
// channel's capped history (a Redis Stream) and published, in one
// server-side script, so wsd workers can hand clients their missed events
// after a reconnect, a reload or a failover (docs/protocol.md, positions).
//
//   const Redis = require('ioredis');
//   const { createPublisher } = require('./publisher');
//   const pub = createPublisher(new Redis(process.env.REDIS_URL));
//   await pub.publish('post_1', { type: 'post_liked', data: { postId: '1' } });
//
// Works with any ioredis client (plain, Sentinel); ioredis runs the
// script with EVALSHA and loads it again when Redis answers NOSCRIPT.
// No dependency of its own.
'use strict';

const crypto = require('crypto');

// Must stay byte-for-byte the text of history_script in worker/history.c:
// the worker reads the position this appends.
const SCRIPT =
    "if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then return 0 end\n" +
    "local m = redis.call('HMGET', KEYS[3], 'epoch', 'last')\n" +
    "local ep, prev = m[1], m[2]\n" +
    "if not ep then ep = ARGV[4]; prev = '0-0' end\n" +
    "if not prev then prev = '0-0' end\n" +
    "local ik, iq = {}, ''\n" +
    "if KEYS[4] then\n" +
    "  ik = {'i', string.sub(KEYS[4], #KEYS[1] + 4)}\n" +
    "  iq = ',\"' .. ik[2] .. '\"'\n" +
    "end\n" +
    "local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1], 'p', prev, unpack(ik))\n" +
    "redis.call('HSET', KEYS[3], 'epoch', ep, 'last', id)\n" +
    "if KEYS[4] then redis.call('SET', KEYS[4], id, 'EX', 600) end\n" +
    "local ttl = tonumber(ARGV[3])\n" +
    "if ttl > 0 then\n" +
    "  redis.call('EXPIRE', KEYS[2], ttl)\n" +
    "  redis.call('EXPIRE', KEYS[3], ttl)\n" +
    "end\n" +
    "local ev = ARGV[1]\n" +
    "if string.sub(ev, -1) ~= '}' then\n" +
    "  return redis.call('PUBLISH', KEYS[1], ev)\n" +
    "end\n" +
    "local body = string.sub(ev, 1, -2)\n" +
    "local sep = ','\n" +
    "if string.match(body, '^%s*{%s*$') then sep = '' end\n" +
    "return redis.call('PUBLISH', KEYS[1], body .. sep .. '\"_wsd\":[\"' .. prev .. '\",\"' .. id .. '\",\"' .. ep .. '\"' .. iq .. ']}')\n";

const KEY_RE = /^[^\s\x00-\x1f\x7f]{1,255}$/;
// An idempotency key, as the worker takes it (history_idem_valid).
const IDEM_RE = /^[A-Za-z0-9._-]{1,128}$/;

function envNumber(name, def) {
	const v = process.env[name];
	if (v === undefined || v === '') return def;
	const n = Number(v);
	if (!Number.isInteger(n) || n < 0) throw new Error(name + ': not a whole number: ' + v);
	return n;
}

// A write refused because this node is not (or no longer) a healthy master:
// during a Sentinel failover, or a demoted master with min-replicas-to-write.
const RETRY_RE = /^(READONLY|NOREPLICAS|LOADING|MASTERDOWN|TRYAGAIN)|Connection is closed/;

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// redis: an ioredis client.  opts.historySize (WS_HISTORY_SIZE, 1000) and
// opts.historyTtl (WS_HISTORY_TTL, 86400 s; 0 = no expiry) must match the
// workers'.  opts.retryMs (60000): how long a publish refused by a node that
// is not a writable master is retried (reconnecting, so a Sentinel client
// finds the new master) before it rejects.  opts.waitReplicas
// (WS_PUBLISH_WAIT_REPLICAS, 0): with Sentinel, the number of replicas
// that must have the event before publish() resolves (Redis WAIT, up to
// opts.waitMs, 1000, each try).  Replication is asynchronous: a master
// killed before its replica got a write loses it, and the replica it
// becomes never had it; a publish not confirmed is tried again with its
// idempotency key (stored once wherever it landed), so an event the caller
// saw resolved survives a failover.  Never more than the replicas that run
// (WAIT would wait out waitMs on each publish).
function createPublisher(redis, opts) {
	opts = opts || {};
	const size = opts.historySize !== undefined ? opts.historySize : envNumber('WS_HISTORY_SIZE', 1000);
	const ttl = opts.historyTtl !== undefined ? opts.historyTtl : envNumber('WS_HISTORY_TTL', 86400);
	if (typeof redis.wsdPublish !== 'function')
		redis.defineCommand('wsdPublish', { numberOfKeys: 4, lua: SCRIPT });
	const retryMs = opts.retryMs !== undefined ? opts.retryMs : 60000;
	const replicas = opts.waitReplicas !== undefined ? opts.waitReplicas : envNumber('WS_PUBLISH_WAIT_REPLICAS', 0);
	const waitMs = opts.waitMs !== undefined ? opts.waitMs : 1000;
	// The script and WAIT in one pipeline: WAIT counts the replicas that
	// have this connection's writes, so both must go on one connection.
	async function once(keys, args) {
		if (replicas === 0) return redis.wsdPublish(...keys, ...args);
		const r = await redis.pipeline().wsdPublish(...keys, ...args).wait(replicas, waitMs).exec();
		if (r[0][0]) throw r[0][0];
		if (r[1][0]) throw r[1][0];
		if (r[1][1] < replicas) throw new Error('NOREPLICAS: the event reached ' + r[1][1] + ' of ' + replicas + ' replicas in ' + waitMs + ' ms');
		return r[0][1];
	}
	let reconnecting = null;
	// One reconnect for all publishes refused at once.
	function reconnect() {
		if (!reconnecting) {
			redis.disconnect(true);
			reconnecting = sleep(100).then(() => { reconnecting = null; });
		}
		return reconnecting;
	}
	return {
		// Resolves to PUBLISH's count (worker links that got it); 0 for an
		// idempotency key already stored.  Every publish has one: opts.
		// idempotencyKey, else a fresh UUID; its retries reuse it, so an
		// event whose reply was lost is not stored twice.
		async publish(key, event, popts) {
			if (typeof key !== 'string' || !KEY_RE.test(key)) throw new Error('wsd publish: bad channel key ' + JSON.stringify(key));
			const text = typeof event === 'string' ? event : JSON.stringify(event);
			if (typeof text !== 'string') throw new Error('wsd publish: the event is not JSON');
			const idem = popts && popts.idempotencyKey !== undefined ? popts.idempotencyKey : crypto.randomUUID();
			if (typeof idem !== 'string' || !IDEM_RE.test(idem)) throw new Error('wsd publish: bad idempotency key ' + JSON.stringify(idem));
			const until = Date.now() + retryMs;
			for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
				const epoch = crypto.randomBytes(8).toString('hex');
				try {
					return await once(['ws:' + key, 'ws:h:' + key, 'ws:m:' + key, 'ws:d:' + key + ':' + idem],
					    [text, String(size), String(ttl), epoch]);
				} catch (e) {
					if (!RETRY_RE.test(String(e && e.message)) || Date.now() + delay > until) throw e;
					if (/^(READONLY|NOREPLICAS)/.test(e.message)) await reconnect();
					await sleep(delay);
				}
			}
		},
	};
}

module.exports = { createPublisher, SCRIPT };

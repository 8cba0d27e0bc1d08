// The Node peer of make bench: the fonana-ws protocol (SPEC §4) on ws +
// jsonwebtoken + ioredis, written competently (per-channel Redis
// subscriptions, many sockets per user, no lost early frames) so that the
// comparison is against a good Node server, not the broken original.
'use strict';
const http = require('http');
const { URL } = require('url');
const { WebSocketServer } = require('ws');
const jwt = require('jsonwebtoken');
const Redis = require('ioredis');

const PORT = Number(process.env.WS_PORT || 3002);
const HOST = process.env.WS_HOST || '0.0.0.0';
const SECRET = process.env.NEXTAUTH_SECRET || '';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const PING_MS = Number(process.env.WS_PING_INTERVAL_MS || 30000);

if (!SECRET) {
  console.error('NEXTAUTH_SECRET is required');
  process.exit(78);
}

// channel object → key, and who may subscribe (a table, as in the worker).
const RULES = {
  notifications: { field: 'userId', prefix: 'notifications_', own: true },
  feed: { field: 'userId', prefix: 'feed_', own: true },
  creator: { field: 'id', prefix: 'creator_', own: false },
  post: { field: 'postId', prefix: 'post_', own: false },
};

function channelKey(ch, userId) {
  if (!ch || typeof ch !== 'object') return null;
  const r = RULES[ch.type];
  if (!r) return null;
  const v = ch[r.field];
  if (v === undefined || v === null || v === '' || typeof v === 'object') return null;
  if (r.own && String(v) !== String(userId)) return null;
  return r.prefix + String(v);
}

const channels = new Map(); // key → Set<ws>
let connections = 0;

const pub = new Redis(REDIS_URL, { lazyConnect: false });
const sub = new Redis(REDIS_URL, { lazyConnect: false });
pub.on('error', () => {});
sub.on('error', () => {});
// ioredis resubscribes every channel by itself after a reconnect.
sub.on('message', (chan, message) => {
  const set = channels.get(chan.slice(3));
  if (!set) return;
  for (const ws of set) {
    if (ws.readyState === 1) ws.send(message);
  }
});

function join(ws, key) {
  if (ws.keys.has(key)) return;
  ws.keys.add(key);
  let set = channels.get(key);
  if (!set) {
    set = new Set();
    channels.set(key, set);
    sub.subscribe('ws:' + key).catch(() => {});
  }
  set.add(ws);
}

function leave(ws, key) {
  if (!ws.keys.delete(key)) return;
  const set = channels.get(key);
  if (!set) return;
  set.delete(ws);
  if (set.size === 0) {
    channels.delete(key);
    sub.unsubscribe('ws:' + key).catch(() => {});
  }
}

function tokenOf(req) {
  try {
    const u = new URL(req.url, 'http://x');
    const t = u.searchParams.get('token');
    if (t) return t;
  } catch (e) { /* fall through */ }
  const h = req.headers.authorization || '';
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m ? m[1].trim() : null;
}

function verify(token) {
  if (!token) return null;
  try {
    const c = jwt.verify(token, SECRET, { algorithms: ['HS256', 'HS384', 'HS512'], clockTolerance: 30 });
    if (typeof c.exp !== 'number' || !Number.isInteger(c.exp)) return null;
    const id = c.userId !== undefined ? c.userId : c.sub;
    return id === undefined || id === null ? null : String(id);
  } catch (e) {
    return null;
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    const up = sub.status === 'ready';
    res.writeHead(up ? 200 : 503, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: up ? 'ok' : 'degraded', redis: up ? 'up' : 'down',
      connections, channels: channels.size, pid: process.pid }));
    return;
  }
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('Upgrade Required');
});

const wss = new WebSocketServer({ server, maxPayload: 64 * 1024, clientTracking: true });

wss.on('connection', (ws, req) => {
  const userId = verify(tokenOf(req));
  if (userId === null) {
    ws.close(1008, 'Unauthorized');
    return;
  }
  connections++;
  ws.userId = userId;
  ws.keys = new Set();
  ws.alive = true;
  ws.on('pong', () => { ws.alive = true; });
  ws.on('message', (data, isBinary) => {
    let msg;
    try {
      msg = JSON.parse(isBinary ? data : data.toString());
    } catch (e) {
      ws.send('{"type":"error","data":{"message":"Invalid message format"}}');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
    case 'ping':
      ws.send('{"type":"pong"}');
      break;
    case 'subscribe':
    case 'unsubscribe': {
      const key = channelKey(msg.channel, ws.userId);
      if (key === null) {
        ws.send(JSON.stringify({ type: 'error', data: { message: 'Access denied to channel', channel: msg.channel } }));
        break;
      }
      if (msg.type === 'subscribe') join(ws, key); else leave(ws, key);
      ws.send(JSON.stringify({ type: msg.type === 'subscribe' ? 'subscribed' : 'unsubscribed',
        data: { channel: msg.channel, channelKey: key } }));
      break;
    }
    default:
      break;
    }
  });
  ws.on('close', () => {
    connections--;
    for (const key of Array.from(ws.keys)) leave(ws, key);
  });
  ws.on('error', () => {});
  ws.send(JSON.stringify({ type: 'connected', data: { userId, message: 'Successfully connected to WebSocket server' } }));
});

const pinger = setInterval(() => {
  for (const ws of wss.clients) {
    if (!ws.alive) { ws.terminate(); continue; }
    ws.alive = false;
    ws.ping();
  }
}, PING_MS);

server.listen(PORT, HOST, () => {
  if (process.send) process.send('ready');
});

function shutdown() {
  clearInterval(pinger);
  server.close();
  for (const ws of wss.clients) ws.close(1001, 'going away');
  pub.disconnect();
  sub.disconnect();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

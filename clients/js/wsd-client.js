// wsd-client.js: a WebSocket client for wsd that loses nothing.  Browser
// and Node, no build step (UMD: a <script> tag defines window.WsdClient;
// require() returns it).  It connects with a token, reconnects with
// exponential backoff and full jitter, resubscribes every channel with the
// position it had (`since`), so missed events arrive in order and once,
// and calls onResync when the history could not cover the gap (reload the
// channel's state then).  Protocol: docs/protocol.md.
//
//   const c = new WsdClient({
//     url: 'wss://example.com/ws',
//     token: () => fetch('/api/ws-token').then((r) => r.text()),	// or a string
//     onEvent: (ev, channelKey) => {…},	// as published, plus offset/epoch (and idempotencyKey)
//     onResync: (channelKey, channel) => {…},
//   });
//   c.subscribe({ type: 'post', postId: '1' });
//
// Under Node, pass the `ws` package: new WsdClient({ …, WebSocket: require('ws') }).
(function (root, factory) {
	if (typeof module === 'object' && module.exports)
		module.exports = factory();
	else
		root.WsdClient = factory();
})(typeof self !== 'undefined' ? self : this, function () {
	'use strict';

	function noop() {}

	function WsdClient(opts) {
		if (!(this instanceof WsdClient)) return new WsdClient(opts);
		this.opts = opts || {};
		this.WS = this.opts.WebSocket || (typeof WebSocket !== 'undefined' ? WebSocket : null);
		if (!this.WS) throw new Error('WsdClient: no WebSocket (pass opts.WebSocket)');
		this.min = this.opts.backoffMin || 500;
		this.max = this.opts.backoffMax || 30000;
		this.random = this.opts.random || Math.random;
		this.onEvent = this.opts.onEvent || noop;
		this.onResync = this.opts.onResync || noop;
		this.onMessage = this.opts.onMessage || noop;	// every message, raw
		this.onState = this.opts.onState || noop;	// 'open' | 'closed'
		// Idempotency keys remembered per channel (see seen()).
		this.dedupSize = this.opts.dedupSize || 10000;
		this.channels = new Map();	// JSON(channel) → { channel, key, pos }
		this.byKey = new Map();		// channelKey → entry
		this.byEpoch = new Map();	// epoch → entry (events carry no key)
		this.resynced = null;		// a live resync's entry: the next event's
		this.attempt = 0;
		this.prev = null;		// the entry whose subscribed came last
		this.ws = null;
		this.timer = null;
		this.stopped = false;
		this.connect();
	}

	WsdClient.prototype.connect = function () {
		var self = this;
		var tok = this.opts.token;
		Promise.resolve(typeof tok === 'function' ? tok() : tok).then(function (t) {
			if (self.stopped) return;
			var sep = self.opts.url.indexOf('?') >= 0 ? '&' : '?';
			var ws = new self.WS(self.opts.url + sep + 'token=' + encodeURIComponent(t || ''));
			self.ws = ws;
			ws.onopen = function () { self.onState('open'); };
			ws.onmessage = function (e) { self.handle(e.data); };
			ws.onerror = function () {};
			ws.onclose = function () {
				if (self.ws === ws) self.ws = null;
				self.onState('closed');
				self.retry();
			};
		}, function () { self.retry(); });
	};

	// Full jitter: a random delay up to min·2^attempt, capped at max.
	WsdClient.prototype.retry = function () {
		var self = this;
		if (this.stopped || this.timer) return;
		var cap = Math.min(this.max, this.min * Math.pow(2, this.attempt++));
		this.timer = setTimeout(function () { self.timer = null; self.connect(); },
		    Math.floor(this.random() * cap));
	};

	// A subscribe the worker could not serve (its Redis or database
	// down: "Failed to subscribe") is sent again after a backoff of its
	// own, as long as the socket lasts; a new socket resubscribes anyway.
	WsdClient.prototype.retrySubscribe = function (c) {
		var self = this, ws = this.ws;
		if (this.stopped || c.timer) return;
		var cap = Math.min(this.max, this.min * Math.pow(2, c.attempt++));
		c.timer = setTimeout(function () {
			c.timer = null;
			if (self.ws === ws && self.channels.get(JSON.stringify(c.channel)) === c) self.sendSubscribe(c);
		}, Math.floor(this.random() * cap));
	};

	WsdClient.prototype.send = function (m) {
		if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(m));
	};

	WsdClient.prototype.sendSubscribe = function (c) {
		var m = { type: 'subscribe', channel: c.channel };
		if (c.pos) m.since = { offset: c.pos.offset, epoch: c.pos.epoch };
		else m.recover = true;
		this.send(m);
	};

	WsdClient.prototype.subscribe = function (channel) {
		var id = JSON.stringify(channel);
		if (!this.channels.has(id)) {
			var c = { channel: channel, key: null, pos: null, attempt: 0, timer: null, ids: new Set() };
			this.channels.set(id, c);
			this.sendSubscribe(c);
		}
	};

	WsdClient.prototype.unsubscribe = function (channel) {
		var id = JSON.stringify(channel), c = this.channels.get(id);
		if (!c) return;
		this.channels.delete(id);
		if (c.timer) clearTimeout(c.timer);
		c.timer = null;
		if (c.key) this.byKey.delete(c.key);
		if (c.pos) this.byEpoch.delete(c.pos.epoch);
		this.send({ type: 'unsubscribe', channel: channel });
	};

	WsdClient.prototype.setPos = function (c, offset, epoch) {
		if (c.pos && c.pos.epoch !== epoch) this.byEpoch.delete(c.pos.epoch);
		c.pos = { offset: offset, epoch: epoch };
		this.byEpoch.set(epoch, c);
	};

	// An event published with an idempotency key that this channel already
	// delivered: a publisher's retry whose first try was delivered, then
	// lost with a master killed before its replica had it, so the new
	// master stored it again under a new offset.  Only the last dedupSize
	// keys are kept (the publisher retries for 60 s).
	WsdClient.prototype.seen = function (c, id) {
		if (c.ids.has(id)) return true;
		c.ids.add(id);
		if (c.ids.size > this.dedupSize) c.ids.delete(c.ids.values().next().value);
		return false;
	};

	WsdClient.prototype.handle = function (text) {
		var m, c, prev = this.prev, resynced = this.resynced;
		try { m = JSON.parse(text); } catch (e) { return; }
		this.onMessage(m);
		this.prev = null;
		this.resynced = null;
		if (!m || typeof m !== 'object') return;
		switch (m.type) {
		case 'connected':
			this.attempt = 0;
			var self = this;
			this.channels.forEach(function (ch) {
				if (ch.timer) clearTimeout(ch.timer);
				ch.timer = null;
				self.sendSubscribe(ch);
			});
			return;
		case 'subscribed':
			c = this.channels.get(JSON.stringify(m.data && m.data.channel));
			if (!c) return;
			c.key = m.data.channelKey;
			c.attempt = 0;
			this.byKey.set(c.key, c);
			this.prev = c;
			// Keep our own position if the epoch holds: missed events follow.
			if (typeof m.epoch === 'string' && (!c.pos || c.pos.epoch !== m.epoch))
				this.setPos(c, m.offset, m.epoch);
			return;
		case 'resync':
			c = this.byKey.get(m.data && m.data.channelKey);
			if (c) {
				// Right after its subscribed: the position there is the
				// new one.  Later (history lost under a live socket): wsd
				// sends it right before the channel's first event of the
				// new epoch, so the next message is that event.
				if (prev !== c) this.resynced = c;
				this.onResync(c.key, c.channel);
			}
			return;
		case 'error':
			c = m.data && m.data.message === 'Failed to subscribe' && m.data.channel ?
			    this.channels.get(JSON.stringify(m.data.channel)) : null;
			if (c) this.retrySubscribe(c);
			return;
		case 'unsubscribed': case 'pong':
			return;
		}
		if (typeof m.offset === 'string' && typeof m.epoch === 'string') {
			c = resynced || this.byEpoch.get(m.epoch);
			if (c) this.setPos(c, m.offset, m.epoch);
			// Its position is still ours (the copy is on the chain).
			if (c && typeof m.idempotencyKey === 'string' && this.seen(c, m.idempotencyKey)) return;
			this.onEvent(m, c ? c.key : null);
		} else
			this.onEvent(m, null);
	};

	WsdClient.prototype.close = function () {
		this.stopped = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		if (this.ws) this.ws.close();
	};

	return WsdClient;
});

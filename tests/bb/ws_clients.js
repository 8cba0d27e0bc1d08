// Clients for the shell tests (the container tests): N WebSocket users on
// one URL, each subscribed to a creator channel (public: no database needed), reporting one line per event
// on stdout for the test to poll.  Runs until every socket closed or it is
// killed.
//
//   CLIENT_SECRET=… node ws_clients.js ws://127.0.0.1:PORT N POST_ID
//
//   welcome I            the server's welcome reached client I
//   subscribed I         its subscription to creator CREATOR_ID was accepted
//   event I TEXT         a later message
//   close I CODE         the server closed it (CODE as sent)
//   error I MESSAGE      it failed to connect
'use strict';
const lib = require('./lib');

const [base, n, creatorId] = process.argv.slice(2);
const secret = process.env.CLIENT_SECRET;
if (!base || !n || !creatorId || !secret) {
	process.stderr.write('usage: CLIENT_SECRET=… node ws_clients.js URL N POST_ID\n');
	process.exit(2);
}
const say = (s) => process.stdout.write(s + '\n');

async function one(i) {
	const c = new lib.Client(lib.url(base, lib.token(secret, 'u' + i)));
	try {
		await c.waitOpen(20000);
		await c.expect((j) => j && j.type === 'connected', 'the welcome', 20000);
		say('welcome ' + i);
		await lib.subscribe(c, { type: 'creator', id: creatorId });
		say('subscribed ' + i);
	} catch (e) {
		say('error ' + i + ' ' + e.message.split('\n')[0]);
		c.terminate();
		return;
	}
	for (;;) {
		if (c.msgs.length > c.cursor) {
			say('event ' + i + ' ' + c.msgs[c.cursor++].text);
			continue;
		}
		if (c.closed) break;
		await lib.sleep(20);
	}
	say('close ' + i + ' ' + c.closed.code);
}

Promise.all(Array.from({ length: Number(n) }, (_, i) => one(i))).then(() => process.exit(0));

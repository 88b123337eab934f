// peer_node.js: the node + ws (npm) peer for tests/bench/bench.py: /echo and
// a broadcast room in the wire shape wsbench speaks (docs/BENCHMARKS.md,
// "The peers' wire shape").  No auth, no storage: join, send, broadcast.
//
//   node tests/bench/peer_node.js PORTFILE
//
// Listens on 127.0.0.1, a free port, written to PORTFILE once listening.
'use strict';

const fs = require('fs');
const http = require('http');
const { WebSocketServer } = require('ws');

const portfile = process.argv[2];
const rooms = new Map();	// name -> { seq, members: Set }
const opts = { noServer: true, perMessageDeflate: false,
	maxPayload: 16 << 20 };
const echoServer = new WebSocketServer(opts);
const chatServer = new WebSocketServer(opts);

function onEcho(ws) {
	ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

function onChat(ws) {
	const joined = new Set();

	ws.send('{"type":"welcome"}');
	ws.on('message', (data) => {
		let m;

		try {
			m = JSON.parse(data);
		} catch (e) {
			ws.close(1007, 'bad JSON');
			return;
		}
		if (m.type === 'join') {
			let r = rooms.get(m.room);

			if (r === undefined) {
				r = { seq: 0, members: new Set() };
				rooms.set(m.room, r);
			}
			r.members.add(ws);
			joined.add(r);
			ws.send(JSON.stringify({ type: 'joined', id: m.id,
				room: m.room, last_seq: r.seq }));
		} else if (m.type === 'send') {
			const r = rooms.get(m.room);

			if (r === undefined || !joined.has(r)) {
				ws.send(JSON.stringify({ type: 'error', id: m.id,
					code: 'NOT_MEMBER', message: 'join first' }));
				return;
			}
			r.seq++;
			ws.send(JSON.stringify({ type: 'ack', id: m.id,
				room: m.room, seq: r.seq }));
			const out = JSON.stringify({ type: 'message', room: m.room,
				seq: r.seq, text: m.text });
			for (const c of r.members)
				c.send(out);
		}
	});
	ws.on('close', () => {
		for (const r of joined)
			r.members.delete(ws);
	});
}

const server = http.createServer((req, res) => {
	res.writeHead(404);
	res.end();
});
server.on('upgrade', (req, sock, head) => {
	const path = req.url.split('?')[0];

	if (path === '/echo')
		echoServer.handleUpgrade(req, sock, head, onEcho);
	else if (path === '/ws')
		chatServer.handleUpgrade(req, sock, head, onChat);
	else
		sock.destroy();
});
server.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(portfile + '.tmp', server.address().port + '\n');
	fs.renameSync(portfile + '.tmp', portfile);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

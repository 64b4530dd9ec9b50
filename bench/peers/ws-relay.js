'use strict';
// A relay of roomcast's wire protocol (docs/PROTOCOL.md) on the Node `ws` library, used by
// roomcast-bench as a peer to compare with. It mirrors roomcast: join/joined/peer-joined,
// leave/left/peer-left, any other JSON type and every binary frame relayed byte for byte to the
// OTHER members of the sender's room (never echoed), errors as {"type":"error",...} with the
// connection kept open. perMessageDeflate is off and maxPayload is 32 MiB, like roomcast.
//
//   node ws-relay.js --host 127.0.0.1 --port 8081 [--max-room-members 16] [--max-message-bytes N]

const http = require('node:http');
const { WebSocketServer } = require('ws');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  const env = process.env[name.toUpperCase().replace(/-/g, '_')];
  return env !== undefined && env !== '' ? env : fallback;
}

const host = option('host', '127.0.0.1');
const port = Number(option('port', '8081'));
const maxRoomMembers = Number(option('max-room-members', '16'));
const maxMessageBytes = Number(option('max-message-bytes', String(32 * 1024 * 1024)));
const roomPattern = /^[A-Za-z0-9_-]{1,128}$/;

const rooms = new Map(); // room name -> Set of sockets
let nextId = 1;

function sendJson(ws, obj) {
  ws.send(JSON.stringify(obj));
}

function sendError(ws, code, message) {
  sendJson(ws, { type: 'error', code, message });
}

// Removes `ws` from its room and tells the others. Returns the room it left, or null.
function leaveRoom(ws) {
  const name = ws.room;
  if (name === null) return null;
  ws.room = null;
  const members = rooms.get(name);
  if (members === undefined) return name;
  members.delete(ws);
  if (members.size === 0) {
    rooms.delete(name);
  } else {
    const note = JSON.stringify({ type: 'peer-left', id: ws.id });
    for (const peer of members) peer.send(note);
  }
  return name;
}

function join(ws, name) {
  if (typeof name !== 'string' || !roomPattern.test(name)) {
    sendError(ws, 'bad-room', 'room must be 1-128 characters of [A-Za-z0-9_-]');
    return;
  }
  if (ws.room === name) {
    const peers = [...rooms.get(name)].filter((p) => p !== ws).map((p) => p.id);
    sendJson(ws, { type: 'joined', room: name, id: ws.id, peers });
    return;
  }
  const members = rooms.get(name);
  if (members !== undefined && members.size >= maxRoomMembers) {
    sendError(ws, 'room-full', `room ${name} already has ${maxRoomMembers} members`);
    return;
  }
  leaveRoom(ws);
  const target = members !== undefined ? members : new Set();
  if (members === undefined) rooms.set(name, target);
  const peers = [...target].map((p) => p.id);
  const note = JSON.stringify({ type: 'peer-joined', id: ws.id });
  for (const peer of target) peer.send(note);
  target.add(ws);
  ws.room = name;
  sendJson(ws, { type: 'joined', room: name, id: ws.id, peers });
}

// Sends the sender's exact bytes to every other member of its room.
function relay(ws, data, isBinary) {
  if (ws.room === null) {
    sendError(ws, 'not-joined', 'join a room first');
    return;
  }
  for (const peer of rooms.get(ws.room)) {
    if (peer !== ws) peer.send(data, { binary: isBinary });
  }
}

function onMessage(ws, data, isBinary) {
  if (isBinary) {
    relay(ws, data, true);
    return;
  }
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    sendError(ws, 'bad-json', 'text frames must be JSON');
    return;
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg) || typeof msg.type !== 'string') {
    sendError(ws, 'bad-message', 'expected an object with a string "type"');
    return;
  }
  if (msg.type === 'join') {
    join(ws, msg.room);
  } else if (msg.type === 'leave') {
    const left = leaveRoom(ws);
    if (left === null) sendError(ws, 'not-joined', 'not in a room');
    else sendJson(ws, { type: 'left', room: left });
  } else {
    relay(ws, data, false);
  }
}

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const wss = new WebSocketServer({
  server,
  path: '/ws',
  maxPayload: maxMessageBytes,
  perMessageDeflate: false,
  clientTracking: false,
});

wss.on('connection', (ws) => {
  ws.id = nextId++;
  ws.room = null;
  ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
  ws.on('close', () => leaveRoom(ws));
  ws.on('error', () => {});
});

server.listen(port, host, () => {
  console.log(`ws-relay listening on ${host}:${server.address().port} (max room members ${maxRoomMembers})`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(0));
}

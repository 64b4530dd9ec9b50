'use strict';
// The Socket.IO tutorial's relay server, as roomcast-bench's Socket.IO peer: express + socket.io,
// on "join" -> socket.join(room), on "image" -> socket.broadcast.to(room).emit("image", msg).
// maxHttpBufferSize is raised to 32 MiB (roomcast's limit) so that 5 MiB photos fit; the default
// (1 MB) closes the connection on the first photo.
//
//   node socketio-server.js --host 127.0.0.1 --port 8082

const { createServer } = require('node:http');
const express = require('express');
const { Server } = require('socket.io');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  const env = process.env[name.toUpperCase().replace(/-/g, '_')];
  return env !== undefined && env !== '' ? env : fallback;
}

const host = option('host', '127.0.0.1');
const port = Number(option('port', '8082'));

const app = express();
const server = createServer(app);
const io = new Server(server, { maxHttpBufferSize: 32 * 1024 * 1024 });

app.get('/', (req, res) => {
  res.send('socket.io relay for roomcast-bench\n');
});

io.on('connection', (socket) => {
  let room = null;
  socket.on('join', (name) => {
    room = name;
    socket.join(name);
  });
  socket.on('image', (msg) => {
    if (room !== null) socket.broadcast.to(room).emit('image', msg);
  });
});

server.listen(port, host, () => {
  console.log(`socketio-server listening on ${host}:${server.address().port}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(0));
}

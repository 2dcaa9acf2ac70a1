// A server with a planted leak: every tick it parks LEAK_PER_TICK LeakedSession objects
// (about 8 KB each) in the module-level `leakedSessions` array and never removes them.
// It also churns short-lived garbage so that V8 runs major GCs. Serves GET / with its pid.
'use strict';
const http = require('http');

class LeakedSession {
  constructor(id) {
    this.id = id;
    this.createdAt = Date.now();
    this.payload = new Array(1000).fill(id);
  }
}

const leakedSessions = [];
let next = 0;
const perTick = Number(process.env.LEAK_PER_TICK || 250);
setInterval(() => {
  for (let i = 0; i < perTick; i++) leakedSessions.push(new LeakedSession(next++));
  let junk = [];
  for (let i = 0; i < 2000; i++) junk.push({ i, s: 'x'.repeat(64) + i });
  junk = null;
}, 100);

const server = http.createServer((req, res) => {
  res.end(JSON.stringify({ pid: process.pid, sessions: leakedSessions.length }) + '\n');
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`leaky-server ${process.pid} listening on ${server.address().port}`);
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});

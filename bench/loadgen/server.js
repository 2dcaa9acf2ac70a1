// The trivial server both load generators hit: one small JSON answer, keep-alive.
// DELAY_MS=N answers after N ms (a timer, no CPU): latencies then sit well above
// autocannon's whole-millisecond resolution and neither client is saturated, so their
// latency percentiles can be compared.
'use strict';
const http = require('node:http');
const body = JSON.stringify({ hello: 'world' });
const delay = Number(process.env.DELAY_MS || 0);
const answer = (res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};
const server = http.createServer((req, res) => {
  if (delay > 0) setTimeout(answer, delay, res);
  else answer(res);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});

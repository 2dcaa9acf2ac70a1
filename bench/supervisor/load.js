// Keeps CONCURRENCY requests in flight against http://127.0.0.1:PORT/ for SECONDS seconds
// (keep-alive); prints the number of requests and the rate.
'use strict';
const http = require('http');
const port = Number(process.argv[2]);
const seconds = Number(process.argv[3] || 60);
const concurrency = Number(process.argv[4] || 16);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const end = Date.now() + seconds * 1000;
let done = 0;
let errors = 0;
function one(i) {
  if (Date.now() > end) return;
  http.get({ host: '127.0.0.1', port, path: `/item/${i % 100}`, agent }, (res) => {
    res.resume();
    res.on('end', () => { done++; one(i + 1); });
  }).on('error', () => { errors++; setTimeout(() => one(i + 1), 10); });
}
for (let c = 0; c < concurrency; c++) one(c * 1000);
setTimeout(() => {
  console.log(JSON.stringify({ requests: done, errors, rps: Math.round(done / seconds) }));
  agent.destroy();
}, seconds * 1000 + 200);

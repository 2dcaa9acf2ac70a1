// Test target for `leakhound sample`: leaks from one known line (marked LEAK-SITE below);
// the test finds the line by the marker, so edits above it do not break the test.
'use strict';
const http = require('http');
const retained = [];
let n = 0;

function handleRequest() {
  n++;
  retained.push(new Array(1000).fill(n)); // LEAK-SITE
}

// A second, non-leaking allocation site: garbage right away.
function churn() {
  let s = 0;
  for (let i = 0; i < 100; i++) s += [i, i + 1].length;
  return s;
}

setInterval(() => {
  for (let i = 0; i < 20; i++) handleRequest();
  churn();
}, 10);

const server = http.createServer((req, res) => res.end('ok ' + retained.length));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ pid: process.pid, httpPort: server.address().port }) + '\n');
});

// Test/benchmark target for `leakhound snapshot` and `leakhound sample`.
//
//   node app.js [--hold-mb N] [--own-sigusr1] [--no-sigusr1-handler]
//
// --own-sigusr1: the app listens to SIGUSR1 itself, so the signal no longer opens the
//   inspector (what --disable-sigusr1 does on Node >= 22.14; Node 20 lacks that flag).
// --no-sigusr1-handler: no SIGUSR1 handler at all; the signal's default action would
//   terminate the process.
//
// Holds about N MB of live objects, serves HTTP on 127.0.0.1 (random port) and prints one
// JSON line to stdout once ready: {"pid":..,"httpPort":..,"heapUsed":..}.
//   GET /            -> "ok <pid>"
//   GET /heap        -> process.memoryUsage() as JSON
//   GET /write?path=P -> v8.writeHeapSnapshot(P) in-process; answers {"ms":..,"bytes":..}
//   GET /gc          -> global.gc() when started with --expose-gc
'use strict';
const http = require('http');
const v8 = require('v8');
const fs = require('fs');

const args = process.argv.slice(2);
if (args.includes('--own-sigusr1')) {
  process.on('SIGUSR1', () => {});
}
if (args.includes('--no-sigusr1-handler')) {
  process.on('SIGUSR1', () => {});
  process.removeAllListeners('SIGUSR1');
}
const holdMb = Number(args[args.indexOf('--hold-mb') + 1] || 0) || 0;

// About 220 bytes of heap per item (object + string + small array + nested object).
const held = [];
function fill(mb) {
  const target = mb * 1024 * 1024;
  let i = 0;
  while (process.memoryUsage().heapUsed < target) {
    for (let k = 0; k < 10000; k++, i++) {
      held.push({ id: i, name: 'item-' + i, tags: [i, i + 1, i + 2], child: { v: i * 1.5 } });
    }
  }
}
if (holdMb > 0) fill(holdMb);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/heap') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(process.memoryUsage()));
  } else if (url.pathname === '/write') {
    const path = url.searchParams.get('path');
    const t0 = process.hrtime.bigint();
    v8.writeHeapSnapshot(path);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ms, bytes: fs.statSync(path).size }));
  } else if (url.pathname === '/gc' && global.gc) {
    global.gc();
    res.end('ok');
  } else {
    res.end('ok ' + process.pid + ' ' + held.length);
  }
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({
    pid: process.pid,
    httpPort: server.address().port,
    heapUsed: process.memoryUsage().heapUsed,
  }) + '\n');
});

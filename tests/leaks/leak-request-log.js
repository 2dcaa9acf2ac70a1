'use strict';
// Leak: a module-level array that logs every request and is never trimmed.
const { run } = require('./harness');

const requestLog = []; // LEAK: requestLog

function handle(i) {
  requestLog.push({ url: `/api/items/${i}`, method: 'GET', at: Date.now(), agent: 'curl/8.' + (i % 10) });
  return i * 2;
}

run({ request: (i) => handle(i) });

'use strict';
// Leak: requests whose upstream call fails schedule a retry that waits for the upstream to
// come back, which never happens, and nothing times it out. Each pending retry promise also
// carries the request's AsyncLocalStorage store (the store is attached to every async
// resource created inside `run`), so every failed request's context stays alive.
const { AsyncLocalStorage } = require('async_hooks');
const { run } = require('./harness');

const requestContext = new AsyncLocalStorage();
const upstream = { waiters: 0 };
const retryQueue = new Set(); // LEAK: retryQueue

function scheduleRetry() {
  const retry = new Promise((resolve) => {
    upstream.waiters++;
    if (upstream.waiters < 0) resolve(); // the upstream never recovers
  });
  retryQueue.add(retry);
  retry.finally(() => retryQueue.delete(retry));
}

function handle(i) {
  const store = { requestId: i, user: `user-${i}`, trace: 'span '.repeat(32) + i };
  requestContext.run(store, () => {
    if (i % 3 === 0) scheduleRetry();
  });
}

run({ request: (i) => handle(i) });

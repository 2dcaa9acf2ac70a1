'use strict';
// Leak: a plain object used as a dictionary of sessions; entries are added, never deleted.
const { run } = require('./harness');

const sessions = {}; // LEAK: sessions

function handle(i) {
  sessions['sess_' + i] = { user: `u${i % 97}`, started: Date.now(), cart: [i, i + 1] };
  return i;
}

run({ request: (i) => handle(i) });

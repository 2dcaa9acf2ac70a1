'use strict';
// Leak: every request subscribes a listener to a long-lived emitter and never removes it.
const { EventEmitter } = require('events');
const { run } = require('./harness');

const feed = new EventEmitter();
feed.setMaxListeners(0);

function handle(i) {
  const session = { id: i, buffer: [] };
  feed.on('data', (chunk) => session.buffer.push(chunk)); // LEAK: data
  return session.id;
}

run({ request: (i) => handle(i) });

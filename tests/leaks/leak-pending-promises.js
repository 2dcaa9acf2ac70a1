'use strict';
// Leak: every request waits for a reply event that never comes, with no timeout. Each call
// stays suspended at its `await`: the pending promise's resolver sits on the long-lived
// `replies` emitter (events.once), and keeps the suspended call and its request alive.
const { EventEmitter, once } = require('events');
const { run } = require('./harness');

const replies = new EventEmitter();
replies.setMaxListeners(0);

async function callRemote(i) { // LEAK: pending
  const request = { id: i, body: `payload-${i}`.repeat(8), sentAt: Date.now() };
  const [reply] = await once(replies, `reply:${request.id}`);
  return reply;
}

run({ request: (i) => { callRemote(i); } });

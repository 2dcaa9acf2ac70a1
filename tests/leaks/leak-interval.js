'use strict';
// Leak: every request starts a polling interval that is never cleared.
const { run } = require('./harness');

function poll(state) {
  state.polls++;
}

function handle(i) {
  const state = { id: i, polls: 0, tag: `poller-${i}` };
  setInterval(() => poll(state), 3600 * 1000); // LEAK: setInterval
  return state.id;
}

run({ request: (i) => handle(i) });

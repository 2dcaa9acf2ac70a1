'use strict';
// Leak: a Set that remembers every token it has seen.
const { run } = require('./harness');

const seenTokens = new Set(); // LEAK: seenTokens

function handle(i) {
  const token = `tok-${i}-${(i * 2654435761) % 1000003}`;
  if (seenTokens.has(token)) return false;
  seenTokens.add(token);
  return true;
}

run({ request: (i) => handle(i), requests: 3000 });

'use strict';
// Control: a cache that fills during warm-up (1000 distinct keys) and then only gets hits.
const { run } = require('./harness');

const cache = new Map();

function handle(i) {
  const key = `country:${i % 1000}`;
  let v = cache.get(key);
  if (!v) {
    v = { code: i % 1000, label: 'country name '.repeat(5) + (i % 1000) };
    cache.set(key, v);
  }
  return v.code;
}

run({ request: (i) => handle(i) });

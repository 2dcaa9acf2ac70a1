'use strict';
// Control: an LRU cache bounded at 500 entries, already full before the first snapshot.
const { run } = require('./harness');

class LRU {
  constructor(max) {
    this.max = max;
    this.map = new Map();
  }
  get(key) {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value);
  }
}

const cache = new LRU(500);

function handle(i) {
  const key = `user:${i}`;
  if (!cache.get(key)) cache.set(key, { id: i, bio: 'lorem ipsum '.repeat(20) + i });
}

run({ request: (i) => handle(i) });

'use strict';
// Leak: an unbounded Map used as a cache; every request adds an entry, nothing evicts.
const { run } = require('./harness');

const cache = new Map(); // LEAK: cache

function loadUser(id) {
  const key = `user:${id}`;
  let user = cache.get(key);
  if (!user) {
    user = { id, name: `user-${id}`, bio: 'lorem ipsum '.repeat(20) + id, roles: ['reader'] };
    cache.set(key, user);
  }
  return user;
}

run({ request: (i) => loadUser(i) });

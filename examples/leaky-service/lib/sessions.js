// Sessions: every request to /api/session opens one, remembered for later lookups.
'use strict';

const crypto = require('node:crypto');

// Sessions by id. Nothing ever removes an entry: every request adds one for good.
const sessions = new Map(); // LEAK: an unbounded cache, never evicted

class Session {
  constructor(id, user, headers) {
    this.id = id;
    this.user = user;
    this.createdAt = Date.now();
    // A copy of what the client sent, kept for "auditing".
    this.fingerprint = JSON.stringify({ ua: headers['user-agent'] || '', host: headers.host || '' });
    this.audit = new Array(16).fill(0).map((_, i) => `${id}:${i}`).join('|');
  }
}

function openSession(user, headers) {
  const id = crypto.randomUUID();
  const session = new Session(id, user, headers);
  sessions.set(id, session); // ...and nothing ever calls sessions.delete()
  return session;
}

function sessionCount() {
  return sessions.size;
}

module.exports = { openSession, sessionCount };

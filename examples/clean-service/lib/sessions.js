// Sessions: every request to /api/session opens one, remembered for later lookups.
'use strict';

const crypto = require('node:crypto');

// Sessions by id, bounded: once MAX_SESSIONS are open the oldest one is evicted
// (a Map iterates in insertion order, so the first key is the oldest).
const MAX_SESSIONS = 500;
const sessions = new Map();

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
  sessions.set(id, session);
  if (sessions.size > MAX_SESSIONS) {
    sessions.delete(sessions.keys().next().value);
  }
  return session;
}

function sessionCount() {
  return sessions.size;
}

module.exports = { openSession, sessionCount };

// A small order service: sessions, orders and a health check. Plain node, no dependencies.
'use strict';

const http = require('node:http');
const { openSession, sessionCount } = require('./lib/sessions');
const { placeOrder, recentOrders } = require('./lib/orders');

const port = Number(process.env.PORT || 3801);

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req, done) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/health') {
    return send(res, 200, { ok: true, sessions: sessionCount() });
  }
  if (req.method === 'GET' && url.pathname === '/api/session') {
    const session = openSession(url.searchParams.get('user') || 'anonymous', req.headers);
    return send(res, 200, { id: session.id, user: session.user });
  }
  if (req.method === 'POST' && url.pathname === '/api/orders') {
    return readBody(req, (text) => {
      let order;
      try {
        order = JSON.parse(text || '{}');
      } catch {
        return send(res, 400, { error: 'body is not JSON' });
      }
      return send(res, 201, placeOrder(order));
    });
  }
  if (req.method === 'GET' && url.pathname === '/api/orders') {
    return send(res, 200, recentOrders());
  }
  return send(res, 404, { error: 'not found' });
});

server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`order service listening on http://127.0.0.1:${port}`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));

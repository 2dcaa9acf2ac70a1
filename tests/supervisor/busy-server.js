// For the benchmark: an HTTP server doing a little JSON work per request.
'use strict';
const http = require('http');
const cache = new Map();
const server = http.createServer((req, res) => {
  const key = req.url;
  const body = JSON.stringify({ url: key, n: (cache.get(key) || 0) + 1, t: Date.now() });
  cache.set(key, (cache.get(key) || 0) + 1);
  if (cache.size > 1000) cache.clear();
  res.end(body);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`busy-server ${process.pid} on ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

// Serves on the listening socket that `leakhound run --listen` hands over as fd 4
// (LEAKHOUND_LISTEN_FD). Answers "<instance> <pid>". On SIGTERM it stops accepting, lets
// in-flight requests finish, and exits.
'use strict';
const http = require('http');
const instance = process.env.LEAKHOUND_INSTANCE;
const server = http.createServer((req, res) => {
  res.setHeader('connection', 'close');
  res.end(`${instance} ${process.pid}\n`);
});
server.listen({ fd: Number(process.env.LEAKHOUND_LISTEN_FD) }, () => {
  console.log(`instance ${instance} pid ${process.pid} serving`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

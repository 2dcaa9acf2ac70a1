// Writes "<signal> <pid>" to MARKER when it gets SIGTERM, SIGINT or SIGHUP. On SIGHUP it
// goes on running; on SIGTERM/SIGINT it exits with EXIT_CODE (default 42).
'use strict';
const fs = require('fs');
const marker = process.env.MARKER;
function note(sig) {
  fs.appendFileSync(marker, `${sig} ${process.pid}\n`);
}
process.on('SIGHUP', () => note('SIGHUP'));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    note(sig);
    process.exit(Number(process.env.EXIT_CODE || 42));
  });
}
fs.appendFileSync(marker, `ready ${process.pid}\n`);
setInterval(() => {}, 1000);

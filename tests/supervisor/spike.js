// Start-up spike: holds ~SPIKE_MB of Buffers for SPIKE_MS, then frees them (run with
// --expose-gc so the memory goes back to the OS) and idles at a small footprint.
'use strict';
const mb = Number(process.env.SPIKE_MB || 200);
const ms = Number(process.env.SPIKE_MS || 1000);
let hold = [];
for (let i = 0; i < mb; i++) hold.push(Buffer.alloc(1024 * 1024, i & 0xff));
console.log(`spike ${process.pid}: holding ${mb} MB`);
setTimeout(() => {
  hold = null;
  if (global.gc) global.gc();
  console.log(`spike ${process.pid}: released`);
}, ms);
setInterval(() => {}, 1000);
process.on('SIGTERM', () => process.exit(0));

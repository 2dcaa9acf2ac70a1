'use strict';
// Shared driver for the leak corpus. Every scenario calls `run({ warmup, request })`:
//   node --expose-gc <scenario>.js OUT_DIR [SNAPSHOTS] [REQUESTS_PER_ROUND]
// It warms up, then writes SNAPSHOTS (default 3) heap snapshots s1..sN into OUT_DIR, each
// after a full GC, simulating one round of REQUESTS_PER_ROUND requests in-process between
// two snapshots. Snapshots are written to a temporary name, chmod 0600, then renamed.
const fs = require('fs');
const path = require('path');
const v8 = require('v8');

async function run({ warmup, request, requests = 1500 }) {
  if (typeof global.gc !== 'function') {
    console.error('run with node --expose-gc');
    process.exit(2);
  }
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node --expose-gc scenario.js OUT_DIR [SNAPSHOTS] [REQUESTS]');
    process.exit(2);
  }
  const snapshots = Number(process.argv[3] || 3);
  const perRound = Number(process.argv[4] || requests);
  fs.mkdirSync(outDir, { recursive: true });
  let n = 0;
  if (warmup) await warmup();
  // A first round before the first snapshot, so lazy compilation and one-off caches settle.
  for (let i = 0; i < perRound; i++) await request(n++);
  for (let s = 1; s <= snapshots; s++) {
    global.gc();
    global.gc();
    const final = path.join(outDir, `s${s}.heapsnapshot`);
    const tmp = `${final}.tmp-${process.pid}`;
    v8.writeHeapSnapshot(tmp);
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, final);
    if (s < snapshots) {
      for (let i = 0; i < perRound; i++) await request(n++);
    }
  }
  // Leaked timers would keep the process alive.
  process.exit(0);
}

module.exports = { run };

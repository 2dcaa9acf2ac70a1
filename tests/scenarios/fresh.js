'use strict'
// Writes OUT_DIR/fresh.heapsnapshot: a fresh heap, as close to `node -e` as a
// script can be (nothing of its own beyond the helper module).
//   node --expose-gc tests/scenarios/fresh.js OUT_DIR
const { outDir, write } = require('./lib/write')

write(outDir(), 'fresh.heapsnapshot')

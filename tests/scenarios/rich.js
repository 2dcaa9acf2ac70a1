'use strict'
// Writes OUT_DIR/rich.heapsnapshot: the rich heap (lib/rich-heap.js).
//   node --expose-gc tests/scenarios/rich.js OUT_DIR
const { outDir, write } = require('./lib/write')
const { build } = require('./lib/rich-heap')

const dir = outDir()
build()
write(dir, 'rich.heapsnapshot')
process.exit(0)

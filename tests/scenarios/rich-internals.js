'use strict'
// Writes OUT_DIR/rich-internals.heapsnapshot: the rich heap written with
// {exposeInternals: true} (no user roots, so DevTools skips the shallow-size
// reassignment and distances have no 100000000 system offset).
//   node --expose-gc tests/scenarios/rich-internals.js OUT_DIR
const { outDir, write } = require('./lib/write')
const { build } = require('./lib/rich-heap')

const dir = outDir()
build()
write(dir, 'rich-internals.heapsnapshot', { exposeInternals: true })
process.exit(0)

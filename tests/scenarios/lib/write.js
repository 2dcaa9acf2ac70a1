'use strict'
// Shared helper: collect garbage, then write a snapshot to DIR/NAME atomically.
const v8 = require('node:v8')
const fs = require('node:fs')
const path = require('node:path')

function outDir () {
  const dir = process.argv[2]
  if (!dir) {
    process.stderr.write(`usage: node --expose-gc ${path.basename(process.argv[1])} OUT_DIR\n`)
    process.exit(2)
  }
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

function gc () {
  if (typeof global.gc !== 'function') {
    throw new Error('run node with --expose-gc')
  }
  // Several rounds: weak callbacks and finalizers can free more on the next one.
  for (let i = 0; i < 3; i++) global.gc()
}

function write (dir, name, options) {
  gc()
  const file = path.join(dir, name)
  const tmp = path.join(dir, `.${name}.${process.pid}.tmp`)
  v8.writeHeapSnapshot(tmp, options)
  fs.renameSync(tmp, file)
  return file
}

module.exports = { outDir, write, gc }

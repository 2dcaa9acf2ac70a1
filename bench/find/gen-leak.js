#!/usr/bin/env node
// One leaking process for the `leakhound find` benchmark: long-lived ballast, transient
// garbage, and three planted leaks (an unbounded Map cache, a growing request-log Array and
// EventEmitter listener closures added per request). Writes s1..s3.heapsnapshot into OUT_DIR
// with the same load between snapshots.
//
//   node --expose-gc --max-old-space-size=16000 bench/find/gen-leak.js OUT_DIR SCALE
//
// SCALE 1 gives snapshots of about 100 MB; file size is linear in SCALE (run.sh picks 3.5
// and 9.5 for the ~350 MB and ~950 MB sets). Deterministic: no Math.random.
'use strict'
const v8 = require('node:v8')
const fs = require('node:fs')
const path = require('node:path')
const { EventEmitter } = require('node:events')

const [outDir, scaleArg] = process.argv.slice(2)
const scale = Number(scaleArg)
if (!outDir || !(scale > 0) || typeof global.gc !== 'function') {
  process.stderr.write('usage: node --expose-gc gen-leak.js OUT_DIR SCALE\n')
  process.exit(2)
}
fs.mkdirSync(outDir, { recursive: true })

let seed = 12345
function rnd () {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed
}

class Account {
  constructor (id) {
    this.id = id
    this.name = `account-${id}`
    this.tags = [id % 7, id % 11]
    this.meta = { created: id * 1000, region: `r${id % 13}` }
  }
}

// Long-lived ballast: about 80% of the heap.
const ballast = []
const BALLAST = Math.round(scale * 230000)
for (let i = 0; i < BALLAST; i++) ballast.push(new Account(i))
// Keep it reachable: an unused local would be dead to the GC.
globalThis.ballast = ballast

// The leaks.
const sessionCache = new Map()
const requestLog = []
const bus = new EventEmitter()
globalThis.app = { sessionCache, requestLog, bus }
bus.setMaxListeners(0)

let n = 0
function request () {
  const id = n++
  // Transient garbage.
  const scratch = []
  for (let j = 0; j < 8; j++) scratch.push({ j, s: `tmp-${id}-${j}-${rnd()}` })
  // Leak 1: cache without eviction.
  sessionCache.set(`sess-${id}`, { id, user: `user-${rnd() % 100000}`, seen: scratch.length })
  // Leak 2: request log never trimmed.
  requestLog.push({ id, path: `/api/items/${id % 1000}`, at: id * 7 })
  // Leak 3: a listener per request, never removed.
  const ctx = { id }
  bus.on('message', (m) => { ctx.last = m })
  return scratch.length
}

const PER_ROUND = Math.round(scale * 20000)
function round () {
  for (let i = 0; i < PER_ROUND; i++) request()
}

round()
for (let s = 1; s <= 3; s++) {
  global.gc()
  const t0 = Date.now()
  const final = path.join(outDir, `s${s}.heapsnapshot`)
  const tmp = `${final}.tmp`
  v8.writeHeapSnapshot(tmp)
  fs.chmodSync(tmp, 0o600)
  fs.renameSync(tmp, final)
  process.stdout.write(JSON.stringify({ snapshot: final, bytes: fs.statSync(final).size, ms: Date.now() - t0 }) + '\n')
  if (s < 3) round()
}

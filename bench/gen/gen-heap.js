#!/usr/bin/env node
// Writes a heap snapshot of a synthetic, deterministic heap of a chosen size.
//
//   node --expose-gc --max-old-space-size=20000 bench/gen/gen-heap.js OUT.heapsnapshot UNITS
//
// One "unit" allocates a few objects of several kinds (class instances, plain
// objects of a few shapes, unique strings, arrays, closures with contexts, Map
// and Set entries), ~11 heap-snapshot nodes. File size grows linearly with
// UNITS (about 820 bytes per unit); bench/engine/run.sh maps target sizes to
// UNITS. Prints one JSON line with the unit count, file size and timings.
'use strict'
const v8 = require('node:v8')
const fs = require('node:fs')

const [out, unitsArg] = process.argv.slice(2)
const units = Number(unitsArg)
if (!out || !Number.isInteger(units) || units <= 0) {
  process.stderr.write('usage: node --expose-gc gen-heap.js OUT.heapsnapshot UNITS\n')
  process.exit(2)
}

class Order {
  constructor (id, customer, lines) {
    this.id = id
    this.customer = customer
    this.lines = lines
    this.status = id % 3 === 0 ? 'open' : 'closed'
  }
}

class Customer {
  constructor (id, name) {
    this.id = id
    this.name = name
    this.orders = []
  }
}

// Deterministic pseudo-random numbers (no Math.random: the heap must not vary).
let seed = 12345
function rnd () {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed
}

const t0 = Date.now()
const customers = []
const orders = []
const points = []
const byName = new Map()
const seen = new Set()
const handlers = []
const buckets = []
let bucket = null
for (let i = 0; i < units; i++) {
  if (i % 1000 === 0) {
    customers.push(new Customer(customers.length, 'customer-' + customers.length))
  }
  if (i % 500 === 0) {
    bucket = new Map()
    buckets.push(bucket)
  }
  const customer = customers[customers.length - 1]
  // A unique string, a small array and a class instance pointing at both.
  const label = 'order-' + i + '-' + (rnd() % 100000)
  const lines = [i, rnd() % 1000, label]
  const order = new Order(i, customer, lines)
  orders.push(order)
  if (i % 50 === 0) customer.orders.push(order)
  // Plain objects with a few shapes.
  switch (i % 4) {
    case 0: points.push({ x: i, y: i + 0.5 }); break
    case 1: points.push({ a: i, b: label, c: null }); break
    case 2: points.push({ name: label, value: i, tags: ['t' + (i % 7)] }); break
    default: points.push({ x: i, y: -i, z: { depth: i % 10 } })
  }
  // A closure with its own context every 4th unit.
  if (i % 4 === 0) {
    const captured = { order, n: i }
    handlers.push(function onEvent (e) { return captured.n + e })
  }
  // Collections.
  if (i % 2 === 0) bucket.set(label, order)
  if (i % 8 === 0) seen.add(label)
  if (i % 3 === 0) byName.set('k' + (i % 5000000), i)
}
globalThis.__bench = { customers, orders, points, byName, seen, handlers, buckets }
const t1 = Date.now()
if (typeof global.gc === 'function') global.gc()
const tmp = out + '.tmp-' + process.pid
v8.writeHeapSnapshot(tmp)
fs.renameSync(tmp, out)
const t2 = Date.now()
process.stdout.write(JSON.stringify({
  file: out,
  units,
  bytes: fs.statSync(out).size,
  build_s: (t1 - t0) / 1000,
  write_s: (t2 - t1) / 1000,
  heap_used_mb: Math.round(process.memoryUsage().heapUsed / 1048576)
}) + '\n')

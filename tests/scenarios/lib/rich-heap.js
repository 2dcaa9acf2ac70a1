'use strict'
// Builds the "rich" heap shared by rich.js and rich-internals.js: every kind of
// object whose DevTools numbers leakhound must reproduce. Everything is kept
// alive from `globalThis.__rich` (or from the places noted) until the process
// exits. Deterministic: no Math.random, no time-dependent content.
const { EventEmitter } = require('node:events')
const ItemA = require('./item-a').Item
const ItemB = require('./item-b').Item

function build () {
  const heap = {}

  // Collections.
  const map = new Map()
  for (let i = 0; i < 2000; i++) map.set('key-' + i, { index: i })
  const objKeyMap = new Map([[{ k: 1 }, 'one'], [{ k: 2 }, 'two']])
  const set = new Set()
  for (let i = 0; i < 1000; i++) set.add(i * 7)
  const stringSet = new Set(['alpha', 'beta', 'gamma'])
  heap.collections = { map, objKeyMap, set, stringSet }

  // WeakMaps with live keys (ephemerons: value retained through key + table),
  // one key that is only held by the WeakMap (collected), a WeakSet.
  const liveKeys = []
  const weakMap = new WeakMap()
  for (let i = 0; i < 50; i++) {
    const key = { wk: i }
    liveKeys.push(key)
    weakMap.set(key, { payload: 'weak-value-' + i, big: new Array(20).fill(i) })
  }
  weakMap.set({ dropped: true }, { payload: 'collected' })
  const weakSet = new WeakSet(liveKeys.slice(0, 10))
  heap.weak = { liveKeys, weakMap, weakSet }

  // WeakRefs: to a live target, and to a target only a WeakRef points at.
  const strongTarget = { target: 'strong' }
  heap.weakRefs = [new WeakRef(strongTarget), new WeakRef({ target: 'weak-only' })]
  heap.strongTarget = strongTarget
  const registry = new FinalizationRegistry(() => {})
  registry.register(strongTarget, 'token')
  heap.registry = registry

  // Closures capturing variables (contexts), nested, and a bound function.
  function makeCounter (start) {
    let count = start
    const history = []
    return {
      inc () { history.push(count); return ++count },
      get () { return count }
    }
  }
  heap.counters = []
  for (let i = 0; i < 100; i++) heap.counters.push(makeCounter(i))
  const outer = { name: 'outer' }
  heap.nested = (function () {
    const level1 = [outer]
    return function () {
      const level2 = { level1 }
      return () => level2
    }
  })()()
  heap.bound = function boundTarget () { return this }.bind({ boundThis: true })
  heap.arrow = (x) => x + outer.name.length

  // The same class name defined in two files: two rows in DevTools' Summary.
  heap.itemsA = []
  heap.itemsB = []
  for (let i = 0; i < 300; i++) heap.itemsA.push(new ItemA(i))
  for (let i = 0; i < 200; i++) heap.itemsB.push(new ItemB(i, { p: i }))

  // Repeated plain-object shapes (interface inference) and mixed shapes.
  // Property values are heap objects on purpose: Smi-valued properties have no
  // edge in a snapshot, so {x: 1, y: 2} would look like an empty object.
  heap.xy = []
  for (let i = 0; i < 1000; i++) heap.xy.push({ x: 'x' + i, y: i + 0.5 })
  heap.abc = []
  for (let i = 0; i < 500; i++) heap.abc.push({ a: [i], b: 'b' + i, c: i % 2 === 0 })
  heap.smiOnly = []
  for (let i = 0; i < 100; i++) heap.smiOnly.push({ x: i, y: i * 2 })
  heap.mixed = []
  for (let i = 0; i < 300; i++) {
    switch (i % 6) {
      case 0: heap.mixed.push({ x: 'x', y: 'y', z: 'z' + i }); break // superset of {x, y}
      case 1: heap.mixed.push({ y: 'y', x: 'x' + i }); break // same names, other order
      case 2: heap.mixed.push({ a: 'a', b: 'b' + i }); break // subset of {a, b, c}
      case 3: heap.mixed.push({ ['prop with space ' + (i % 3)]: 'v' + i }); break
      case 4: heap.mixed.push({ x: 'x', y: 'y' + i, __proto__: { inherited: true } }); break
      default: heap.mixed.push({ only: 'only' + i })
    }
  }
  heap.dictObject = {}
  for (let i = 0; i < 200; i++) heap.dictObject['dict' + i] = i // dictionary mode
  delete heap.dictObject.dict0

  // Typed arrays, ArrayBuffers and Buffers, one of several MB.
  heap.bigBuffer = Buffer.alloc(4 * 1024 * 1024, 1)
  heap.smallBuffers = []
  for (let i = 0; i < 20; i++) heap.smallBuffers.push(Buffer.from('buffer-' + i))
  const ab = new ArrayBuffer(1 << 16)
  heap.views = [new Uint8Array(ab), new Float64Array(ab, 8, 100), new DataView(ab)]
  heap.float32 = new Float32Array(50000)
  heap.sharedViewsOfBig = heap.bigBuffer.subarray(100, 200)

  // Strings: concatenated (cons), sliced, internalized, astral, long.
  const base = 'The quick brown fox jumps over the lazy dog. '
  const long = base.repeat(200)
  heap.cons = []
  for (let i = 0; i < 100; i++) heap.cons.push(base + 'cons-' + i + base)
  heap.sliced = []
  for (let i = 0; i < 100; i++) heap.sliced.push(long.slice(i, i + 500))
  heap.long = long
  heap.astral = '\u{1F600} grinning \u{1D11E} clef \u{1F4A9}'.repeat(10)
  heap.unicode = 'naïve café – 日本語 – Ελληνικά'
  heap.numbers = [1.5, -0.25, 1e300, 2 ** 53, 123456789012]
  heap.bigint = 12345678901234567890123456789n
  heap.symbol = Symbol('rich-symbol')
  heap.regexp = /rich-(\d+)/g

  // Arrays of arrays, holey and dictionary-mode arrays.
  heap.matrix = []
  for (let i = 0; i < 50; i++) {
    const row = []
    for (let j = 0; j < 20; j++) row.push([i, j])
    heap.matrix.push(row)
  }
  const holey = new Array(1000)
  holey[3] = 'three'
  holey[999] = 'last'
  heap.holey = holey
  const sparse = []
  sparse[1000000] = 'far'
  heap.sparse = sparse

  // Cyclic structures: one reachable, one only through a WeakRef.
  const ringHead = { ring: 0 }
  let node = ringHead
  for (let i = 1; i < 20; i++) {
    node.next = { ring: i, prev: node }
    node = node.next
  }
  node.next = ringHead
  heap.ring = ringHead
  const orphanA = { orphan: 'a' }
  const orphanB = { orphan: 'b', peer: orphanA }
  orphanA.peer = orphanB
  heap.orphanRef = new WeakRef(orphanA)

  // Promises: a pending chain, resolved and rejected (handled) ones.
  let release
  const pending = new Promise((resolve) => { release = resolve })
  heap.promiseChain = pending.then((v) => v + 1).then((v) => ({ result: v })).catch(() => null)
  heap.release = release
  heap.resolved = Promise.resolve({ done: true })
  heap.rejected = Promise.reject(new Error('handled rejection'))
  heap.rejected.catch(() => {})
  heap.error = new Error('kept error with a stack')

  // Timers and an event emitter with listeners.
  heap.timeout = setTimeout(() => {}, 1e9)
  heap.interval = setInterval(() => {}, 1e9)
  heap.timeout.unref()
  heap.interval.unref()
  heap.immediate = setImmediate(() => {})
  heap.emitter = new EventEmitter()
  for (let i = 0; i < 30; i++) heap.emitter.on('tick', () => i)

  globalThis.__rich = heap
  return heap
}

module.exports = { build }

'use strict'
// Writes OUT_DIR/s1.heapsnapshot, s2.heapsnapshot and s3.heapsnapshot from one
// process while a Map, an array of class instances and a listener list grow and
// other objects are freed, so every diff has added AND deleted objects:
//   - leakMap (Map) gains 1000 entries per step;
//   - sessions (array of Session) gains 500 instances per step;
//   - bus (EventEmitter) gains 100 listener closures per step;
//   - scratch (array of {tmp, step}) is replaced each step (old ones freed);
//   - half of the previous step's leakMap entries are deleted;
//   - shapes that are plain-object "interfaces" in one snapshot and not in the
//     next (DevTools applies the *target's* interface definitions to the base):
//     300 {p, q} objects live only in s1; 400 {g, h} objects appear in s2
//     while two {g, h, i} objects of s1 are freed; 5 {m, n} objects exist
//     throughout. Property values are strings: Smi-valued properties have no
//     edge in a snapshot and would not show up in interface names.
//   node --expose-gc tests/scenarios/growth.js OUT_DIR
const { EventEmitter } = require('node:events')
const { outDir, write } = require('./lib/write')

class Session {
  constructor (id) {
    this.id = id
    this.user = 'user-' + id
    this.data = new Array(8).fill(id)
  }
}

const dir = outDir()
const state = {
  leakMap: new Map(),
  sessions: [],
  bus: new EventEmitter(),
  scratch: [],
  shapes: {},
  steady: []
}
state.bus.setMaxListeners(0)
globalThis.__growth = state
for (let i = 0; i < 5; i++) state.steady.push({ m: 'm' + i, n: 'steady-' + i })

let nextKey = 0
function step (n) {
  // Free half of the previous step's Map entries, then add 1000 new ones.
  const keys = [...state.leakMap.keys()]
  for (let i = 0; i < keys.length; i += 2) state.leakMap.delete(keys[i])
  for (let i = 0; i < 1000; i++) {
    const k = nextKey++
    state.leakMap.set('entry-' + k, { key: 'k' + k, value: 'value-' + k + '-'.repeat(k % 16) })
  }
  for (let i = 0; i < 500; i++) state.sessions.push(new Session(state.sessions.length))
  for (let i = 0; i < 100; i++) {
    const captured = { step: n, i }
    state.bus.on('event', () => captured.i)
  }
  state.scratch = []
  for (let i = 0; i < 700; i++) state.scratch.push({ tmp: i, step: n })
  if (n === 1) {
    state.shapes.pq = []
    for (let i = 0; i < 300; i++) state.shapes.pq.push({ p: 'p' + i, q: 'q' + i })
    state.shapes.ghi = [{ g: 'g1', h: 'h1', i: 'i1' }, { g: 'g2', h: 'h2', i: 'i2' }]
  } else if (n === 2) {
    delete state.shapes.pq
    delete state.shapes.ghi
    state.shapes.gh = []
    for (let i = 0; i < 400; i++) state.shapes.gh.push({ g: 'g' + i, h: 'h' + i })
  } else {
    state.shapes.gh.length = 200
  }
}

for (let n = 1; n <= 3; n++) {
  step(n)
  write(dir, `s${n}.heapsnapshot`)
}

#!/usr/bin/env node
// Writes a very large heap snapshot by tiling a real one written by V8:
//
//   node --max-old-space-size=8000 bench/gen/tile-heap.js TEMPLATE.heapsnapshot COPIES OUT.heapsnapshot
//
// Why: V8's own snapshot writer (node 20) peaks at ~490 bytes of RSS per node,
// so a >= 40M-node snapshot written by node would need ~20 GB of RAM. Instead,
// the template's graph (everything but the root) is repeated COPIES times under
// one root: copy k's nodes get ids shifted by k * (maxId + 1) (parity kept),
// at most 31 copies,
// its edges point into copy k, and the root gets every copy's root edges. The
// string table is shared, locations are repeated per copy. The result is a
// valid snapshot whose per-node structure is exactly V8's. It is streamed out,
// so memory stays near the template's size.
'use strict'
const fs = require('node:fs')

const [template, copiesArg, out] = process.argv.slice(2)
const copies = Number(copiesArg)
if (!template || !out || !Number.isInteger(copies) || copies < 1) {
  process.stderr.write('usage: node tile-heap.js TEMPLATE.heapsnapshot COPIES OUT.heapsnapshot\n')
  process.exit(2)
}

const t0 = Date.now()
const snap = JSON.parse(fs.readFileSync(template, 'utf8'))
const meta = snap.snapshot.meta
const NF = meta.node_fields.length
const EF = meta.edge_fields.length
const LF = (meta.location_fields || []).length
const idOff = meta.node_fields.indexOf('id')
const ecOff = meta.node_fields.indexOf('edge_count')
const toOff = meta.edge_fields.indexOf('to_node')
const locIdx = (meta.location_fields || []).indexOf('object_index')
const nodes = snap.nodes
const edges = snap.edges
const n = nodes.length / NF
if (snap.snapshot.root_index && snap.snapshot.root_index !== 0) {
  throw new Error('template root is not node 0')
}
if (snap.trace_function_infos?.length || snap.samples?.length) {
  throw new Error('template has allocation traces or samples; write it without tracking')
}
// V8 hands out ids in steps of 2 from 1; a few embedder (native) nodes have
// address-derived ids above 2^31. Regular ids are shifted by k * stride; the
// big ones (multiples of 64 apart) by 2k, which cannot collide for k < 32.
const BIG = 2 ** 30
let maxId = 0
for (let i = idOff; i < nodes.length; i += NF) if (nodes[i] < BIG) maxId = Math.max(maxId, nodes[i])
const idStride = (maxId + 1) + ((maxId + 1) % 2)
if (copies > 31) throw new Error('at most 31 copies (use a bigger template)')
if (maxId + (copies - 1) * idStride >= BIG) throw new Error('too many copies: regular ids would reach 2^30')
const shiftId = (id, k) => (id < BIG ? id + k * idStride : id + 2 * k)
const rootEdges = nodes[ecOff]
const perCopyNodes = n - 1
const perCopyEdges = edges.length / EF - rootEdges
const nodeCount = 1 + copies * perCopyNodes
const edgeCount = copies * (rootEdges + perCopyEdges)

const fd = fs.openSync(out + '.tmp', 'w', 0o600)
// Numbers are written digit by digit into one reused buffer: joining strings
// for ~200M rows would take an hour.
const CAP = 16 << 20
const out8 = Buffer.allocUnsafe(CAP)
let pos = 0
function flush () {
  if (pos) fs.writeSync(fd, out8, 0, pos)
  pos = 0
}
function emit (str) {
  flush()
  fs.writeSync(fd, str)
}
function byte (c) {
  if (pos >= CAP) flush()
  out8[pos++] = c
}
const digits = new Uint8Array(20)
function num (v) {
  if (pos + 24 >= CAP) flush()
  if (v === 0) { out8[pos++] = 48; return }
  let d = 0
  while (v > 0) {
    const q = Math.floor(v / 10)
    digits[d++] = 48 + (v - q * 10)
    v = q
  }
  while (d > 0) out8[pos++] = digits[--d]
}
function rowOut (arr, leadingComma) {
  if (leadingComma) { byte(44); byte(10) }
  for (let i = 0; i < arr.length; i++) {
    if (i) byte(44)
    num(arr[i])
  }
}
// Ordinal of template node `o` (>= 1) in copy k; the root stays at 0.
const remap = (o, k) => (o === 0 ? 0 : 1 + k * perCopyNodes + (o - 1))

const header = { ...snap.snapshot, node_count: nodeCount, edge_count: edgeCount }
emit('{"snapshot":' + JSON.stringify(header) + ',\n"nodes":[')
// Root: its edge count covers every copy's root edges.
const root = nodes.slice(0, NF)
root[ecOff] = rootEdges * copies
rowOut(root, false)
for (let k = 0; k < copies; k++) {
  const row = new Array(NF)
  for (let o = 1; o < n; o++) {
    for (let f = 0; f < NF; f++) row[f] = nodes[o * NF + f]
    row[idOff] = shiftId(row[idOff], k)
    rowOut(row, true)
  }
}
emit('],\n"edges":[')
let first = true
const erow = new Array(EF)
function emitEdge (e, k) {
  for (let f = 0; f < EF; f++) erow[f] = edges[e * EF + f]
  erow[toOff] = remap(erow[toOff] / NF, k) * NF
  rowOut(erow, !first)
  first = false
}
for (let k = 0; k < copies; k++) {
  for (let e = 0; e < rootEdges; e++) emitEdge(e, k)
}
const totalEdges = edges.length / EF
for (let k = 0; k < copies; k++) {
  for (let e = rootEdges; e < totalEdges; e++) emitEdge(e, k)
}
emit('],\n"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n"locations":[')
first = true
const locs = snap.locations || []
const lrow = new Array(LF)
for (let k = 0; k < copies; k++) {
  for (let i = 0; i < locs.length; i += LF) {
    for (let f = 0; f < LF; f++) lrow[f] = locs[i + f]
    lrow[locIdx] = remap(lrow[locIdx] / NF, k) * NF
    rowOut(lrow, !first)
    first = false
  }
}
emit('],\n"strings":[')
const strings = snap.strings
let chunk = []
for (let i = 0; i < strings.length; i++) {
  chunk.push(JSON.stringify(strings[i]))
  if (chunk.length === 100000 || i === strings.length - 1) {
    emit((i >= chunk.length ? ',\n' : '') + chunk.join(',\n'))
    chunk = []
  }
}
emit(']}')
fs.closeSync(fd)
fs.renameSync(out + '.tmp', out)
process.stdout.write(JSON.stringify({
  file: out,
  template,
  copies,
  nodes: nodeCount,
  edges: edgeCount,
  bytes: fs.statSync(out).size,
  seconds: (Date.now() - t0) / 1000
}) + '\n')

#!/usr/bin/env node
// Test oracle: runs Chrome DevTools' own heap snapshot worker (bundled in the
// npm package heap-snapshot-toolkit) on .heapsnapshot files and prints the
// numbers DevTools shows, as JSON, in the shapes `leakhound` uses.
//
//   node devtools.mjs summary FILE        -> one JSON object
//   node devtools.mjs diff BASE TARGET    -> one JSON object (Comparison view)
//   node devtools.mjs export FILE         -> JSON lines, one per node, ordinal order
//
// Run big files with a large heap: node --max-old-space-size=16000 devtools.mjs ...
//
// Facts about the bundled worker this script relies on (see
// node_modules/heap-snapshot-toolkit/thirdparty/devtools-frontend/index.js):
// - calculateShallowSizes() rewrites the self_size column of `snapshot.nodes`
//   in place, so node.selfSize() is the DevTools-adjusted shallow size.
// - The class name lives in the upper 30 bits of the `detachedness` column
//   (node.className()); the low 2 bits keep the DOM state.
// - DevTools' Comparison view (HeapSnapshotDiffDataGrid.populateChildren)
//   passes the *current* (target) snapshot's interfaceDefinitions() to the
//   *base* snapshot's aggregatesForDiff(). The package's own diff() passes the
//   base's own definitions instead, so it is not used here.

import { createReadStream } from 'node:fs'
import { once } from 'node:events'
import { parse } from 'heap-snapshot-toolkit'

// V8 writes lone surrogates into strings; JSON.stringify would emit them as
// "\udXXX" escapes that strict JSON readers (serde_json) reject. leakhound maps
// them to U+FFFD, so do the same here.
const wf = (s) => (typeof s === 'string' ? s.toWellFormed() : String(s))

async function load (file) {
  const stream = createReadStream(file, { encoding: 'utf-8', highWaterMark: 1 << 20 })
  return await parse(stream)
}

function edgeCount (snapshot) {
  return snapshot.containmentEdges.length / snapshot.edgeFieldsCount
}

function statistics (snapshot) {
  const s = snapshot.getStatistics()
  return {
    total: s.total,
    native: { total: s.native.total, typed_arrays: s.native.typedArrays },
    v8heap: {
      total: s.v8heap.total,
      code: s.v8heap.code,
      js_arrays: s.v8heap.jsArrays,
      strings: s.v8heap.strings,
      system: s.v8heap.system
    }
  }
}

function byKey (a, b) {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}

async function summary (file) {
  const snapshot = await load(file)
  // The Summary view: HeapSnapshotConstructorsDataGrid -> aggregatesWithFilter({}).
  const aggregates = snapshot.aggregatesWithFilter({})
  const classes = []
  for (const key of Object.keys(aggregates)) {
    const a = aggregates[key]
    classes.push({
      name: wf(a.name),
      key: wf(key),
      count: a.count,
      self_size: a.self,
      retained_size: a.maxRet,
      distance: a.distance
    })
  }
  classes.sort(byKey)
  const out = {
    node_count: snapshot.nodeCount,
    edge_count: edgeCount(snapshot),
    total_size: snapshot.totalSize,
    statistics: statistics(snapshot),
    classes
  }
  await writeOut(JSON.stringify(out) + '\n')
}

async function diff (baseFile, targetFile) {
  // Mirrors HeapSnapshotDiffDataGrid.populateChildren:
  //   interfaceDefinitions = await this.snapshot.interfaceDefinitions()     (current)
  //   aggregatesForDiff = await this.baseSnapshot.aggregatesForDiff(interfaceDefinitions)
  //   diffByClassName = await this.snapshot.calculateSnapshotDiff(base.uid, aggregatesForDiff)
  // and every returned class becomes a row (calculateDiffForClass already drops
  // classes without added or removed objects).
  // Both snapshots must be alive at once because the base needs the current's
  // interface definitions; parse the target first so we can ask for them.
  const target = await load(targetFile)
  const interfaceDefinitions = target.interfaceDefinitions()
  let base = await load(baseFile)
  const aggregatesForDiff = base.aggregatesForDiff(interfaceDefinitions)
  base = undefined
  // calculateSnapshotDiff caches by the first argument only.
  const byClass = target.calculateSnapshotDiff('base', aggregatesForDiff)
  const classes = []
  for (const key of Object.keys(byClass)) {
    const d = byClass[key]
    classes.push({
      name: wf(d.name),
      key: wf(key),
      added_count: d.addedCount,
      removed_count: d.removedCount,
      count_delta: d.countDelta,
      added_size: d.addedSize,
      removed_size: d.removedSize,
      size_delta: d.sizeDelta
    })
  }
  classes.sort(byKey)
  await writeOut(JSON.stringify({ classes }) + '\n')
}

async function exportNodes (file) {
  const snapshot = await load(file)
  const { nodeCount, nodeFieldCount, nodeDistances, dominatorsTree, retainedSizes } = snapshot
  const node = snapshot.createNode(0)
  const dom = snapshot.createNode(0)
  let buf = []
  let bufLen = 0
  for (let ordinal = 0; ordinal < nodeCount; ordinal++) {
    node.nodeIndex = ordinal * nodeFieldCount
    dom.nodeIndex = dominatorsTree[ordinal] * nodeFieldCount
    const line = JSON.stringify({
      id: node.id(),
      type: node.type(),
      name: wf(node.rawName()),
      class: wf(node.className()),
      self_size: node.selfSize(),
      retained_size: retainedSizes[ordinal],
      distance: nodeDistances[ordinal],
      dominator_id: dom.id(),
      edge_count: node.edgesCount(),
      detachedness: node.detachedness()
    })
    buf.push(line)
    bufLen += line.length
    if (bufLen > (1 << 20)) {
      await writeOut(buf.join('\n') + '\n')
      buf = []
      bufLen = 0
    }
  }
  if (buf.length) {
    await writeOut(buf.join('\n') + '\n')
  }
}

async function writeOut (text) {
  if (!process.stdout.write(text)) {
    await once(process.stdout, 'drain')
  }
}

function usage () {
  process.stderr.write(
    'usage: node devtools.mjs summary FILE | diff BASE TARGET | export FILE\n'
  )
  process.exit(2)
}

// A closed pipe (`| head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

async function main () {
  const [cmd, a, b] = process.argv.slice(2)
  if (cmd === 'summary' && a) return summary(a)
  if (cmd === 'diff' && a && b) return diff(a, b)
  if (cmd === 'export' && a) return exportNodes(a)
  usage()
}

main().catch((err) => {
  process.stderr.write(`devtools.mjs: ${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
})

#!/usr/bin/env node
// Benchmark peer: memlab's full heap load (@memlab/heap-analysis
// getFullHeapFromFile = parse + shortest paths + dominators + retained sizes
// of every node), the pass its analyses run before anything else.
//   node --max-old-space-size=16000 memlab-peer.js FILE
// Prints one JSON line: {nodes, root_retained_size}.
'use strict'
const { getFullHeapFromFile } = require('@memlab/heap-analysis')

async function main () {
  const file = process.argv[2]
  if (!file) {
    process.stderr.write('usage: node memlab-peer.js FILE\n')
    process.exit(2)
  }
  const heap = await getFullHeapFromFile(file)
  let rootRetained = 0
  const root = heap.getNodeById(1)
  if (root) rootRetained = root.retainedSize
  process.stdout.write(JSON.stringify({ nodes: heap.nodes.length, root_retained_size: rootRetained }) + '\n')
}

main().catch((err) => {
  process.stderr.write(`memlab-peer: ${err && err.message ? err.message : err}\n`)
  process.exit(1)
})

#!/usr/bin/env node
// Benchmark peer: Chrome DevTools' heap snapshot worker (heap-snapshot-toolkit)
// doing what the Summary view needs: parse + every analysis (initialize runs
// shallow sizes, distances, dominators, retained sizes, class names,
// statistics), then the class aggregates with their retained sizes.
//   node --max-old-space-size=16000 devtools-peer.mjs FILE
// Prints one JSON line: {nodes, classes, total_size}.
import { createReadStream } from 'node:fs'
import { parse } from 'heap-snapshot-toolkit'

const file = process.argv[2]
if (!file) {
  process.stderr.write('usage: node devtools-peer.mjs FILE\n')
  process.exit(2)
}
try {
  const snapshot = await parse(createReadStream(file, { encoding: 'utf-8', highWaterMark: 1 << 20 }))
  const aggregates = snapshot.aggregatesWithFilter({})
  const statistics = snapshot.getStatistics()
  process.stdout.write(JSON.stringify({
    nodes: snapshot.nodeCount,
    classes: Object.keys(aggregates).length,
    total_size: statistics.total
  }) + '\n')
} catch (err) {
  process.stderr.write(`devtools-peer: ${err && err.message ? err.message : err}\n`)
  process.exit(1)
}

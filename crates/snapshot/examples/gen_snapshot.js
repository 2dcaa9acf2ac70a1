// Writes a large heap snapshot for the parser benchmark (examples/parse_bench.rs).
// usage: node --max-old-space-size=8000 examples/gen_snapshot.js OUT.heapsnapshot [MILLIONS]
// MILLIONS (default 3) is the number of millions of small objects kept alive, spread over
// arrays, Maps, Sets, closures and strings; ~3 ≈ 300 MB, ~9 ≈ 950 MB of snapshot.
'use strict';
const v8 = require('v8');
const out = process.argv[2];
const millions = Number(process.argv[3] || 3);
if (!out) { console.error('usage: gen_snapshot.js OUT [MILLIONS]'); process.exit(2); }
const n = Math.round(millions * 1e6);
class Point { constructor(x, y) { this.x = x; this.y = y; } }
class Session { constructor(id) { this.id = id; this.tags = ['a' + (id % 97)]; } }
const keep = (globalThis.keep = { points: [], map: new Map(), set: new Set(), fns: [], strs: [] });
for (let i = 0; i < n; i++) {
  switch (i % 5) {
    case 0: keep.points.push(new Point(i, i * 0.5)); break;
    case 1: keep.map.set('k' + i, { v: i, s: 'v' + (i % 1000) }); break;
    case 2: keep.set.add(new Session(i)); break;
    case 3: { const c = i; keep.fns.push(() => c); break; }
    default: keep.strs.push('str-' + i + '-\u00e9\u{1F600}');
  }
}
v8.writeHeapSnapshot(out);
console.log(JSON.stringify({ out, objects: n, heapUsed: process.memoryUsage().heapUsed, kept: keep.points.length }));

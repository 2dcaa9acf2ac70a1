// leakhound preload agent. Loaded into a supervised node process with
// NODE_OPTIONS=--require <this file>. It talks to `leakhound run` over an inherited
// Unix socket (fd in LEAKHOUND_AGENT_FD), one JSON object per line, and never opens a
// port: heap snapshots are written in-process with v8.writeHeapSnapshot.
//
// Outgoing: hello, sample (every LEAKHOUND_AGENT_INTERVAL_MS), gc (after each major GC),
// listening (a net.Server started listening), snapshot_written / error.
// Incoming: {"cmd":"write_snapshot","id":N,"path":P} (v8.writeHeapSnapshot).
'use strict';
(function leakhoundAgent() {
  const fdText = process.env.LEAKHOUND_AGENT_FD;
  if (!fdText) return;
  // Only the first node process of the tree talks to the supervisor: children spawned by
  // the app inherit neither the fd variable nor the --require.
  delete process.env.LEAKHOUND_AGENT_FD;
  if (typeof process.env.NODE_OPTIONS === 'string') {
    const me = __filename;
    process.env.NODE_OPTIONS = process.env.NODE_OPTIONS
      .split(`--require "${me}"`).join('')
      .split(`--require ${me}`).join('')
      .trim();
  }
  const fd = Number(fdText);
  if (!Number.isInteger(fd) || fd < 3) return;

  const net = require('net');
  const v8 = require('v8');
  const perf = require('perf_hooks');

  let sock;
  try {
    sock = new net.Socket({ fd, readable: true, writable: true });
  } catch (_) {
    return;
  }
  let alive = true;
  sock.on('error', () => { alive = false; });
  sock.on('close', () => { alive = false; });
  sock.unref();

  function send(obj) {
    if (!alive) return;
    try { sock.write(JSON.stringify(obj) + '\n'); } catch (_) { alive = false; }
  }

  const intervalMs = Math.max(50, Number(process.env.LEAKHOUND_AGENT_INTERVAL_MS) || 1000);

  // GC: durations per kind as prom-client's histogram, heap after each major GC.
  const C = perf.constants;
  const KIND = {};
  KIND[C.NODE_PERFORMANCE_GC_MAJOR] = 'major';
  KIND[C.NODE_PERFORMANCE_GC_MINOR] = 'minor';
  KIND[C.NODE_PERFORMANCE_GC_INCREMENTAL] = 'incremental';
  KIND[C.NODE_PERFORMANCE_GC_WEAKCB] = 'weakcb';
  const BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
  const gc = {};
  for (const k of ['major', 'minor', 'incremental', 'weakcb']) {
    gc[k] = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
  }
  try {
    const obs = new perf.PerformanceObserver((list) => {
      let major = false;
      for (const e of list.getEntries()) {
        const kindNum = e.detail && e.detail.kind !== undefined ? e.detail.kind : e.kind;
        const kind = KIND[kindNum];
        if (!kind) continue;
        const s = e.duration / 1000;
        const h = gc[kind];
        h.sum += s;
        h.count += 1;
        for (let i = 0; i < BUCKETS.length; i++) if (s <= BUCKETS[i]) h.buckets[i] += 1;
        if (kind === 'major') major = true;
      }
      if (major) {
        const hs = v8.getHeapStatistics();
        send({ t: 'gc', kind: 'major', ts: Date.now(), heap_used_after: hs.used_heap_size, heap_limit: hs.heap_size_limit });
      }
    });
    obs.observe({ entryTypes: ['gc'] });
  } catch (_) { /* no gc observer: no post-GC figures */ }

  let eld = null;
  try {
    eld = perf.monitorEventLoopDelay({ resolution: 10 });
    eld.enable();
  } catch (_) { eld = null; }

  function countByType(list) {
    const out = {};
    for (const h of list) {
      const name = (h && h.constructor && h.constructor.name) || 'unknown';
      out[name] = (out[name] || 0) + 1;
    }
    return out;
  }

  function sample(lagSeconds) {
    const hs = v8.getHeapStatistics();
    const mu = process.memoryUsage();
    const spaces = v8.getHeapSpaceStatistics().map((s) => [
      s.space_name.replace(/_space$/, ''), s.space_size, s.space_used_size, s.space_available_size,
    ]);
    const msg = {
      t: 'sample',
      ts: Date.now(),
      heap_used: mu.heapUsed,
      heap_total: mu.heapTotal,
      heap_limit: hs.heap_size_limit,
      external: mu.external,
      array_buffers: mu.arrayBuffers,
      native_contexts: hs.number_of_native_contexts,
      detached_contexts: hs.number_of_detached_contexts,
      spaces,
      lag: lagSeconds,
      gc,
    };
    if (eld) {
      const ns = (x) => (Number.isFinite(x) ? x / 1e9 : 0);
      msg.lag_min = ns(eld.min);
      msg.lag_max = ns(eld.max);
      msg.lag_mean = ns(eld.mean);
      msg.lag_stddev = ns(eld.stddev);
      msg.lag_p50 = ns(eld.percentile(50));
      msg.lag_p90 = ns(eld.percentile(90));
      msg.lag_p99 = ns(eld.percentile(99));
      eld.reset();
    }
    try {
      const handles = process._getActiveHandles().filter((h) => h !== sock);
      msg.handles = handles.length;
      msg.handles_by_type = countByType(handles);
      const requests = process._getActiveRequests();
      msg.requests = requests.length;
      msg.requests_by_type = countByType(requests);
    } catch (_) { /* private APIs gone */ }
    if (typeof process.getActiveResourcesInfo === 'function') {
      const res = process.getActiveResourcesInfo();
      msg.resources = res.length;
      const byType = {};
      for (const r of res) byType[r] = (byType[r] || 0) + 1;
      msg.resources_by_type = byType;
    }
    send(msg);
  }

  const timer = setInterval(() => {
    const start = process.hrtime.bigint();
    setImmediate(() => sample(Number(process.hrtime.bigint() - start) / 1e9));
  }, intervalMs);
  timer.unref();

  // Readiness: report when any server starts listening (http, https, net).
  const origListen = net.Server.prototype.listen;
  net.Server.prototype.listen = function patchedListen(...args) {
    this.once('listening', () => {
      let address = null;
      try { address = this.address(); } catch (_) { /* closed already */ }
      send({ t: 'listening', address });
    });
    return origListen.apply(this, args);
  };

  function onCommand(cmd) {
    if (cmd.cmd === 'write_snapshot') {
      // In-process snapshot: no port, and V8's object ids stay stable across snapshots
      // (an inspector session that disconnects runs HeapProfiler.disable, which clears them,
      // so a later snapshot could not be matched with the baseline by id).
      try {
        const path = v8.writeHeapSnapshot(cmd.path);
        send({ t: 'snapshot_written', id: cmd.id, path });
      } catch (e) {
        send({ t: 'error', id: cmd.id, message: String(e && e.message || e) });
      }
    }
  }

  let pending = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.trim()) continue;
      let cmd;
      try { cmd = JSON.parse(line); } catch (_) { continue; }
      onCommand(cmd);
    }
  });

  const hs = v8.getHeapStatistics();
  send({ t: 'hello', pid: process.pid, node: process.version, heap_limit: hs.heap_size_limit, argv: process.argv.slice(1) });
})();

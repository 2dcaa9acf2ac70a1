#!/usr/bin/env bash
# Capture benchmark: `leakhound snapshot PID` against the same process writing
# `v8.writeHeapSnapshot` in-process (same heap), for heaps of ~100 MB and ~300 MB.
#
#   bench/capture/run.sh                 # builds the release binary, 3 runs per size
#   SIZES="100" RUNS=5 bench/capture/run.sh
#   LEAKHOUND=/path/to/leakhound bench/capture/run.sh
#
# Prints per size: in-process time (measured inside node), leakhound time (wall, whole
# command: resolve + SIGUSR1 + GC + capture + fsync + closing the inspector) for the
# default route (a PID on this machine writes its own snapshot, v8.writeHeapSnapshot called
# over the inspector), for --stream (HeapProfiler.takeHeapSnapshot chunks over the
# WebSocket) and for --stream --no-gc; the ratio to in-process, and leakhound's peak RSS
# (/usr/bin/time -v). Target: ratio <= 1.1, RSS bounded whatever the snapshot size.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZES=${SIZES:-"100 300"}
RUNS=${RUNS:-3}
OUT=${OUT:-$ROOT/bench/out/capture}
mkdir -p "$OUT"

if [ -z "${LEAKHOUND:-}" ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
  (cd "$ROOT" && cargo build --release -q -p leakhound)
  LEAKHOUND=$CARGO_TARGET_DIR/release/leakhound
fi
[ -x "$LEAKHOUND" ] || { echo "no leakhound binary at $LEAKHOUND" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

NODE_PID=
cleanup() { [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null || true; rm -f "$OUT"/*.heapsnapshot; }
trap cleanup EXIT

RESULTS=$OUT/results.tsv
printf 'size_mb\trun\tmethod\tseconds\tfile_bytes\tpeak_rss_kb\n' > "$RESULTS"

for MB in $SIZES; do
  PORT=$(free_port)
  READY=$OUT/ready.$MB.json
  node --inspect-port="$PORT" "$ROOT/tests/capture/app.js" --hold-mb "$MB" > "$READY" 2> "$OUT/node.$MB.log" &
  NODE_PID=$!
  for _ in $(seq 1 600); do [ -s "$READY" ] && break; sleep 0.1; done
  HTTP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["httpPort"])' "$READY")
  HEAP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["heapUsed"])' "$READY")
  echo "== ~${MB} MB heap (heapUsed $((HEAP / 1048576)) MB), node pid $NODE_PID, inspect port $PORT" >&2

  for RUN in $(seq 1 "$RUNS"); do
    # In-process: node measures v8.writeHeapSnapshot itself.
    F=$OUT/inproc.heapsnapshot
    J=$(curl -sf "http://127.0.0.1:$HTTP/write?path=$F")
    MS=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ms"]/1000)' "$J")
    printf '%s\t%s\tin-process\t%s\t%s\t\n' "$MB" "$RUN" "$MS" "$(stat -c %s "$F")" >> "$RESULTS"
    rm -f "$F"

    for MODE in default stream stream-no-gc; do
      F=$OUT/leakhound.heapsnapshot
      EXTRA=()
      [ "$MODE" = stream ] && EXTRA=(--stream)
      [ "$MODE" = stream-no-gc ] && EXTRA=(--stream --no-gc)
      T0=$(now)
      /usr/bin/time -v -o "$OUT/time.txt" "$LEAKHOUND" snapshot "$NODE_PID" -o "$F" \
        --inspect-port "$PORT" "${EXTRA[@]}" --json > "$OUT/report.json"
      T1=$(now)
      RSS=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$OUT/time.txt")
      SECS=$(python3 -c "print($T1 - $T0)")
      printf '%s\t%s\tleakhound-%s\t%s\t%s\t%s\n' "$MB" "$RUN" "$MODE" "$SECS" "$(stat -c %s "$F")" "$RSS" >> "$RESULTS"
      rm -f "$F"
    done
    echo "  run $RUN done" >&2
  done
  kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=
done

python3 - "$RESULTS" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
sizes = sorted({int(r['size_mb']) for r in rows})
print(f"{'heap':>6} {'method':<21} {'median s':>9} {'ratio':>6} {'file MB':>8} {'peak RSS MB':>12}")
for mb in sizes:
    def med(method, key='seconds'):
        vals = [float(r[key]) for r in rows if int(r['size_mb']) == mb and r['method'] == method and r[key]]
        return statistics.median(vals) if vals else None
    base = med('in-process')
    for method in ('in-process', 'leakhound-default', 'leakhound-stream', 'leakhound-stream-no-gc'):
        s = med(method)
        if s is None:
            continue
        size = med(method, 'file_bytes') / 1048576
        rss = [float(r['peak_rss_kb']) for r in rows
               if int(r['size_mb']) == mb and r['method'] == method and r['peak_rss_kb']]
        rss_s = f"{max(rss) / 1024:.1f}" if rss else "-"
        print(f"{mb:>4}MB {method:<21} {s:>9.2f} {s / base:>6.2f} {size:>8.1f} {rss_s:>12}")
PY
echo "raw results: $RESULTS" >&2

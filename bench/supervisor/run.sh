#!/usr/bin/env bash
# leakhound run's own cost while it watches a busy node app.
#
# Starts `leakhound run --metrics ... -- node tests/supervisor/busy-server.js` (1 s sampling,
# agent on), drives the app with bench/supervisor/load.js for DURATION seconds (default 60),
# scrapes /metrics every 5 s like a Prometheus would, and reads /proc/<leakhound pid>/stat
# and status at the start and end of the window.
#
# Prints: CPU% of one core used by leakhound itself, its RSS and peak RSS (VmHWM), the
# app's request rate, and the ratios to the targets (< 1% of a core, < 20 MB RSS).
#
# Usage: bench/supervisor/run.sh [DURATION]
#   LEAKHOUND=path/to/leakhound   binary to measure (default: release build in $CARGO_TARGET_DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-60}
TARGET=${CARGO_TARGET_DIR:-target}
if [[ -z "${LEAKHOUND:-}" ]]; then
  cargo build --release -p leakhound >&2
  LEAKHOUND=$TARGET/release/leakhound
fi
work=$(mktemp -d)
trap 'kill $lh 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
APP_PORT=$(free_port)
METRICS_PORT=$(free_port)

PORT=$APP_PORT "$LEAKHOUND" run --interval 1s --warmup 10s --snapshot-dir "$work/snaps" \
  --metrics "127.0.0.1:$METRICS_PORT" --no-auto-snapshots \
  -- node tests/supervisor/busy-server.js >"$work/app.log" 2>"$work/lh.log" &
lh=$!
# Wait for the app.
for _ in $(seq 100); do
  grep -q "busy-server" "$work/app.log" 2>/dev/null && break
  sleep 0.1
done
sleep 3

clk=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

node bench/supervisor/load.js "$APP_PORT" "$DURATION" 16 >"$work/load.json" &
load=$!
t0=$(date +%s.%N); c0=$(ticks $lh)
scrapes=0
while kill -0 $load 2>/dev/null; do
  curl -s -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics" && scrapes=$((scrapes + 1))
  sleep 5
done
wait $load
t1=$(date +%s.%N); c1=$(ticks $lh)
rss=$(kb $lh VmRSS); hwm=$(kb $lh VmHWM)
app_rss=$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk '/^process_resident_memory_bytes/ {print $2}')
kill -TERM $lh; wait $lh || true

python3 - "$t0" "$t1" "$c0" "$c1" "$clk" "$rss" "$hwm" "$work/load.json" "$scrapes" "${app_rss:-0}" <<'PY'
import json, sys
t0, t1, c0, c1, clk, rss, hwm = map(float, sys.argv[1:8])
load = json.load(open(sys.argv[8]))
scrapes = int(sys.argv[9]); app_rss = float(sys.argv[10])
wall = t1 - t0
cpu = (c1 - c0) / clk / wall * 100
print(f"window            {wall:.1f} s, app served {load['requests']} requests ({load['rps']} req/s, {load['errors']} errors), {scrapes} scrapes")
print(f"leakhound CPU     {cpu:.3f} % of one core   (target < 1 %:  ratio {cpu / 1.0:.2f})")
print(f"leakhound RSS     {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f} MiB)   (target < 20 MB: ratio {rss / 1024 / 20:.2f})")
print(f"app RSS           {app_rss / 2**20:.1f} MiB (as leakhound reports it)")
PY

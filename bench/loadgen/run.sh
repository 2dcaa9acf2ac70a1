#!/usr/bin/env bash
# Built-in load generator vs autocannon 8.0.0 (npm) on a trivial node server, one run each,
# same connections and duration. Prints req/s and p50/p99 latency for both, and the ratios
# (leakhound / autocannon; within 15% means 0.85..1.15).
#
#   bench/loadgen/run.sh [CONNECTIONS] [SECONDS]      (PROFILE=dev for a debug build)
# Needs: node, `npm install` in bench/loadgen (autocannon), cargo.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
C="${1:-10}"
D="${2:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

autocannon="$here/node_modules/.bin/autocannon"
if [[ ! -x "$autocannon" ]]; then
  echo "autocannon missing: run (cd bench/loadgen && npm install)" >&2
  exit 2
fi
# PROFILE=dev reuses a debug build (dependencies are optimised in dev too; see Cargo.toml).
PROFILE="${PROFILE:-release}"
if [[ "$PROFILE" == release ]]; then
  cargo build --quiet --release -p leakhound-check --example loadgen
  loadgen="$CARGO_TARGET_DIR/release/examples/loadgen"
else
  cargo build --quiet -p leakhound-check --example loadgen
  loadgen="$CARGO_TARGET_DIR/debug/examples/loadgen"
fi

log="$(mktemp)"
node "$here/server.js" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening' "$log" && break
  sleep 0.05
done
port="$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$log")"
[[ -n "$port" ]] || { echo "server did not start" >&2; cat "$log" >&2; exit 2; }
url="http://127.0.0.1:$port/"
echo "node $(node --version) trivial server on $url; $C connections, ${D}s each; $(nproc) cores"

# Warm the server's JIT so neither tool pays for it.
"$autocannon" -c "$C" -d 2 "$url" >/dev/null 2>&1

ac="$("$autocannon" -c "$C" -d "$D" -j "$url" 2>/dev/null | tail -n 1)"
lh="$("$loadgen" -c "$C" -d "$D" "$url")"

node - "$ac" "$lh" <<'JS'
const ac = JSON.parse(process.argv[2]);
const lh = JSON.parse(process.argv[3]);
const a = { rps: ac.requests.total / ac.duration, p50: ac.latency.p50, p99: ac.latency.p99, err: ac.errors + ac.timeouts + ac.non2xx };
const b = { rps: lh.rps, p50: lh.p50_ms, p99: lh.p99_ms, err: lh.errors + lh.non_2xx };
const row = (n, x) => console.log(`${n.padEnd(12)} ${x.rps.toFixed(0).padStart(9)} req/s   p50 ${x.p50.toFixed(3).padStart(7)} ms   p99 ${x.p99.toFixed(3).padStart(7)} ms   errors ${x.err}`);
row('autocannon', a);
row('leakhound', b);
const r = (x, y) => (y > 0 ? (x / y).toFixed(3) : 'n/a');
console.log(`ratio (leakhound/autocannon): req/s ${r(b.rps, a.rps)}   p50 ${r(b.p50, a.p50)}   p99 ${r(b.p99, a.p99)}`);
JS

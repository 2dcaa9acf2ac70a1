#!/usr/bin/env bash
# Built-in load generator vs autocannon 8.0.0 (npm) on a trivial node server, one run each,
# same connections and duration. Prints req/s and p50/p99 latency for both, and the ratios
# (leakhound / autocannon; within 15% means 0.85..1.15).
#
#   bench/loadgen/run.sh [CONNECTIONS] [SECONDS]      (PROFILE=dev for a debug build)
#   PIN=0 bench/loadgen/run.sh ...                    (do not pin server and clients to CPUs)
#   DELAY_MS=10 bench/loadgen/run.sh 100 10           (the server answers after 10 ms)
# autocannon reports latency in whole milliseconds: use enough connections (e.g. 100) for
# latencies of several ms when comparing percentiles.
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

# PIN=1 (the default when taskset exists and there are 2+ cores): the server runs on CPU 0
# and each load generator on CPU 1, so the server is the bottleneck for both and the
# comparison measures the clients, not how much CPU each leaves to the server.
server_cpu=()
client_cpu=()
if [[ "${PIN:-1}" == 1 ]] && command -v taskset >/dev/null && [[ "$(nproc)" -ge 2 ]]; then
  server_cpu=(taskset -c 0)
  client_cpu=(taskset -c 1)
fi

log="$(mktemp)"
"${server_cpu[@]}" node "$here/server.js" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening' "$log" && break
  sleep 0.05
done
port="$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$log")"
[[ -n "$port" ]] || { echo "server did not start" >&2; cat "$log" >&2; exit 2; }
url="http://127.0.0.1:$port/"
pinning="not pinned"
[[ ${#server_cpu[@]} -gt 0 ]] && pinning="server on CPU 0, clients on CPU 1"
echo "node $(node --version) trivial server on $url (answers after ${DELAY_MS:-0} ms); $C connections, ${D}s each; $(nproc) cores, $pinning"

# Warm the server's JIT so neither tool pays for it.
"${client_cpu[@]}" "$autocannon" -c "$C" -d 2 "$url" >/dev/null 2>&1

ac="$("${client_cpu[@]}" "$autocannon" -c "$C" -d "$D" -j "$url" 2>/dev/null | tail -n 1)"
lh="$("${client_cpu[@]}" "$loadgen" -c "$C" -d "$D" "$url")"
# wrk (C, microsecond latencies; Debian package `wrk`), when installed, as a second reference.
wrk_out=""
if command -v wrk >/dev/null; then
  wrk_out="$("${client_cpu[@]}" wrk -t1 -c "$C" -d "${D}s" --latency "$url" 2>&1 || true)"
fi

node - "$ac" "$lh" "$wrk_out" <<'JS'
const ac = JSON.parse(process.argv[2]);
const lh = JSON.parse(process.argv[3]);
const wrkText = process.argv[4] || '';
const a = { rps: ac.requests.total / ac.duration, p50: ac.latency.p50, p99: ac.latency.p99, err: ac.errors + ac.timeouts + ac.non2xx };
const b = { rps: lh.rps, p50: lh.p50_ms, p99: lh.p99_ms, err: lh.errors + lh.non_2xx };
const row = (n, x) => console.log(`${n.padEnd(12)} ${x.rps.toFixed(0).padStart(9)} req/s   p50 ${x.p50.toFixed(3).padStart(7)} ms   p99 ${x.p99.toFixed(3).padStart(7)} ms   errors ${x.err}`);
row('autocannon', a);
row('leakhound', b);
const r = (x, y) => (y > 0 ? (x / y).toFixed(3) : 'n/a');
console.log(`ratio (leakhound/autocannon): req/s ${r(b.rps, a.rps)}   p50 ${r(b.p50, a.p50)}   p99 ${r(b.p99, a.p99)}`);
// wrk prints e.g. "     50%  10.12ms" and "Requests/sec:  8995.12".
const ms = (v, u) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[u] ?? NaN);
const pct = (p) => {
  const m = wrkText.match(new RegExp(`^\\s*${p}%\\s+([0-9.]+)(us|ms|s)\\s*$`, 'm'));
  return m ? ms(m[1], m[2]) : NaN;
};
const rps = wrkText.match(/Requests\/sec:\s+([0-9.]+)/);
if (rps) {
  const errs = wrkText.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const w = { rps: Number(rps[1]), p50: pct(50), p99: pct(99), err: errs ? errs.slice(1).reduce((s, x) => s + Number(x), 0) : 0 };
  row('wrk', w);
  console.log(`ratio (leakhound/wrk):        req/s ${r(b.rps, w.rps)}   p50 ${r(b.p50, w.p50)}   p99 ${r(b.p99, w.p99)}`);
}
JS

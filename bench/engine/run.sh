#!/usr/bin/env bash
# Snapshot engine benchmark: `leakhound summary` vs Chrome DevTools' heap
# snapshot worker (heap-snapshot-toolkit in node) vs memlab's full heap load
# (parse + dominators + retained sizes), on synthetic snapshots written by
# bench/gen/gen-heap.js.
#
#   bench/engine/run.sh [SIZE_MB ...]     default: 350 950
#   bench/engine/run.sh --huge            the >= 40M-node (~4 GB) file (a V8 snapshot
#                                         tiled 30x): leakhound, then DevTools to
#                                         record whether it copes
#
# Needs: node 20, /usr/bin/time (apt-get install time), the peers
# (PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix bench/engine) and a release build
# (built here if missing). Files go to bench/out/ (git-ignored) and are reused.
# Environment: LEAKHOUND=path to the binary; NODE_HEAP_MB (default 16000) for the
# peers' --max-old-space-size; SKIP_MEMLAB=1 / SKIP_DEVTOOLS=1 to leave a peer out;
# FORCE_PEERS=1 runs DevTools even when MemAvailable looks too small for it.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/bench/out"
ENGINE="$ROOT/bench/engine"
GEN="$ROOT/bench/gen/gen-heap.js"
NODE_HEAP_MB="${NODE_HEAP_MB:-16000}"
LEAKHOUND_DEFAULT="${CARGO_TARGET_DIR:-$ROOT/target}/release/leakhound"
# gen-heap.js writes ~813 bytes and ~9.6 nodes per unit (435,000 units -> 353.7 MB).
BYTES_PER_UNIT=813.2
# The huge file: a 170,000-unit snapshot written by V8 (~1.6M nodes), tiled 30
# times by bench/gen/tile-heap.js (V8 itself would need ~20 GB of RAM to write
# a 40M-node snapshot).
HUGE_TEMPLATE_UNITS=170000
HUGE_COPIES=30

huge=0
sizes=()
for arg in "$@"; do
  case "$arg" in
    --huge) huge=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*|'') echo "run.sh: not a size in MB: $arg" >&2; exit 2 ;;
    *) sizes+=("$arg") ;;
  esac
done
[ ${#sizes[@]} -eq 0 ] && [ $huge -eq 0 ] && sizes=(350 950)

die() { echo "run.sh: $*" >&2; exit 2; }
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
command -v node >/dev/null || die "node is not on PATH"
if [ ! -d "$ENGINE/node_modules/heap-snapshot-toolkit" ] || [ ! -d "$ENGINE/node_modules/@memlab/heap-analysis" ]; then
  die "peers not installed: PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix bench/engine"
fi
if [ -z "${LEAKHOUND:-}" ]; then
  LEAKHOUND="$LEAKHOUND_DEFAULT"
  if [ ! -x "$LEAKHOUND" ]; then
    echo "building leakhound (release) ..." >&2
    (cd "$ROOT" && cargo build --release -p leakhound) || die "cargo build --release failed"
  fi
fi
mkdir -p "$OUT"

# generate NAME UNITS [NODE_FLAGS]: writes $OUT/heap-NAME.heapsnapshot unless present.
generate() {
  local name="$1" units="$2" heap_mb="$3" file="$OUT/heap-$1.heapsnapshot"
  [ -s "$file" ] && return 0
  local need_mb=$(( units * 2 / 1000 + 2000 ))   # file (~0.8 KB/unit) + headroom
  local avail_mb
  avail_mb=$(df -Pm "$OUT" | awk 'NR==2 {print $4}')
  [ "$avail_mb" -gt "$need_mb" ] || die "not enough disk for $file: ${avail_mb} MB free, need ~${need_mb} MB"
  # V8's snapshot writer peaks at ~4.7 KB of RSS per unit (2.0 GB for 435,000
  # units): refuse rather than push a shared machine into the OOM killer.
  local need_ram_mb=$(( units * 47 / 10000 + 1000 )) ram_mb
  ram_mb=$(awk '/MemAvailable/ {printf "%d", $2/1024}' /proc/meminfo)
  [ "$ram_mb" -gt "$need_ram_mb" ] || die "not enough memory to write $file: ${ram_mb} MB available, V8 needs ~${need_ram_mb} MB"
  echo "generating $file ($units units) ..." >&2
  /usr/bin/time -f "%e %M" -o "$OUT/gen-$name.time" \
    node --expose-gc --max-old-space-size="$heap_mb" "$GEN" "$file" "$units" > "$OUT/gen-$name.json" \
    || die "gen-heap.js failed for $file"
  echo "  $(cat "$OUT/gen-$name.json")  (wall s, peak KB: $(cat "$OUT/gen-$name.time"))" >&2
}

# measure TOOL FILE CMD...: runs CMD under /usr/bin/time; sets R_WALL R_CPU R_RSS R_NODES R_STATUS.
measure() {
  local tool="$1" file="$2"; shift 2
  local base="$OUT/run-$(basename "$file" .heapsnapshot)-$tool"
  echo "  $tool ..." >&2
  /usr/bin/time -f "%e %M %U %S" -o "$base.time" "$@" > "$base.out" 2> "$base.err"
  local rc=$?
  R_WALL=$(awk 'END {print $1}' "$base.time" 2>/dev/null)
  R_RSS=$(awk 'END {printf "%d", $2/1024}' "$base.time" 2>/dev/null)
  R_CPU=$(awk 'END {printf "%.2f", $3 + $4}' "$base.time" 2>/dev/null)
  R_NODES=$(grep -o '"\(nodes\|node_count\)": *[0-9]*' "$base.out" | head -1 | cut -d: -f2 | tr -d ' ')
  if [ $rc -eq 0 ]; then
    R_STATUS=ok
  elif grep -q 'Invalid string length' "$base.err"; then
    R_STATUS="failed: Invalid string length"
  elif grep -qi 'heap out of memory\|Allocation failed\|out of memory' "$base.err" || [ $rc -eq 137 ]; then
    R_STATUS="failed: out of memory"
  elif grep -q 'Set maximum size exceeded\|Map maximum size exceeded' "$base.err"; then
    R_STATUS="failed: $(grep -o '[A-Za-z]* maximum size exceeded' "$base.err" | head -1)"
  else
    R_STATUS="failed (exit $rc): $(grep -v '^\s*$' "$base.err" | tail -1 | cut -c1-80)"
  fi
}

declare -A WALL CPU RSS
rows=()
bench_file() {
  local label="$1" file="$2" peers="$3"
  local mb
  mb=$(( $(stat -c %s "$file") / 1000000 ))
  echo "benchmarking $file ($mb MB)" >&2
  local nodes=""
  # Warm the page cache so that the first tool does not pay for the disk alone.
  cat "$file" >/dev/null
  measure leakhound "$file" "$LEAKHOUND" summary "$file" --json
  rows+=("leakhound|$mb|${R_NODES:-?}|$R_WALL|$R_CPU|$R_RSS|$R_STATUS")
  if [ "$R_STATUS" = ok ]; then
    WALL[$label,leakhound]=$R_WALL; CPU[$label,leakhound]=$R_CPU; RSS[$label,leakhound]=$R_RSS
    [ -n "$R_NODES" ] && nodes=$R_NODES
  fi
  for peer in $peers; do
    case "$peer" in
      devtools) [ "${SKIP_DEVTOOLS:-0}" = 1 ] && continue
        # DevTools needs ~330 bytes of RSS per node (1.4 GB for 4.36M nodes);
        # on a shared machine do not let it push others into the OOM killer.
        local need_mb=$(( $(stat -c %s "$file") / 1000000 * 4 + 1000 )) ram_mb
        ram_mb=$(awk '/MemAvailable/ {printf "%d", $2/1024}' /proc/meminfo)
        if [ "$ram_mb" -lt "$need_mb" ] && [ "${FORCE_PEERS:-0}" != 1 ]; then
          rows+=("devtools|$mb|?|||~${need_mb}|skipped: needs ~${need_mb} MB RAM, ${ram_mb} MB available (FORCE_PEERS=1 runs it)")
          continue
        fi
        measure devtools "$file" node --max-old-space-size="$NODE_HEAP_MB" "$ENGINE/devtools-peer.mjs" "$file" ;;
      memlab) [ "${SKIP_MEMLAB:-0}" = 1 ] && continue
        measure memlab "$file" node --max-old-space-size="$NODE_HEAP_MB" "$ENGINE/memlab-peer.js" "$file" ;;
    esac
    [ -z "$nodes" ] && [ -n "$R_NODES" ] && nodes=$R_NODES
    rows+=("$peer|$mb|${R_NODES:-?}|$R_WALL|$R_CPU|$R_RSS|$R_STATUS")
    if [ "$R_STATUS" = ok ]; then WALL[$label,$peer]=$R_WALL; CPU[$label,$peer]=$R_CPU; RSS[$label,$peer]=$R_RSS; fi
  done
  rows+=("ratios|$label|$nodes||||$(ratios "$label")")
}

ratio() { # ratio A B -> A/B with 1 decimal, or "-" if either is missing
  if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; else echo -n "-"; fi
}
ratios() {
  local l="$1"
  echo -n "devtools/leakhound wall $(ratio "${WALL[$l,devtools]:-}" "${WALL[$l,leakhound]:-}")"
  echo -n ", cpu $(ratio "${CPU[$l,devtools]:-}" "${CPU[$l,leakhound]:-}")"
  echo -n ", leakhound/devtools RSS $(ratio "${RSS[$l,leakhound]:-}" "${RSS[$l,devtools]:-}")"
  echo -n ", memlab/leakhound wall $(ratio "${WALL[$l,memlab]:-}" "${WALL[$l,leakhound]:-}")"
  echo -n ", cpu $(ratio "${CPU[$l,memlab]:-}" "${CPU[$l,leakhound]:-}")"
  echo -n ", leakhound/memlab RSS $(ratio "${RSS[$l,leakhound]:-}" "${RSS[$l,memlab]:-}")"
}

for size in "${sizes[@]}"; do
  units=$(awk -v s="$size" -v b="$BYTES_PER_UNIT" 'BEGIN { printf "%d", s * 1000000 / b }')
  generate "$size" "$units" 16000
  bench_file "$size" "$OUT/heap-$size.heapsnapshot" "devtools memlab"
done
if [ $huge -eq 1 ]; then
  if [ ! -s "$OUT/heap-huge.heapsnapshot" ]; then
    generate template "$HUGE_TEMPLATE_UNITS" 16000
    avail_mb=$(df -Pm "$OUT" | awk 'NR==2 {print $4}')
    [ "$avail_mb" -gt 6000 ] || die "not enough disk for the huge file: ${avail_mb} MB free, need ~6000 MB"
    echo "tiling $OUT/heap-template.heapsnapshot x $HUGE_COPIES -> $OUT/heap-huge.heapsnapshot ..." >&2
    /usr/bin/time -f "%e %M" -o "$OUT/gen-huge.time" \
      node --max-old-space-size=8000 "$ROOT/bench/gen/tile-heap.js" "$OUT/heap-template.heapsnapshot" "$HUGE_COPIES" \
      "$OUT/heap-huge.heapsnapshot" > "$OUT/gen-huge.json" || die "tile-heap.js failed"
    echo "  $(cat "$OUT/gen-huge.json")  (wall s, peak KB: $(cat "$OUT/gen-huge.time"))" >&2
  fi
  bench_file huge "$OUT/heap-huge.heapsnapshot" "devtools"
fi

echo
echo "cpu s = user + sys (less sensitive to other load than wall s)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB RAM, load $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version)"
{
  echo "tool|file MB|nodes|wall s|cpu s|peak RSS MB|status"
  for r in "${rows[@]}"; do echo "$r"; done
} | column -t -s '|'
